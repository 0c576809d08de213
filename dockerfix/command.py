"""The `dockerfix` command: which command runs is decided before any of them loads. The check's pipeline takes longer
to import than the language server's handshake, and `dockerfix lsp`, `bot`, `verify` and `completion` need none of
it until their own code asks for it."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
COMMANDS = {
    "check": "find (and with --write fix) what makes images big and builds slow; the default command",
    "lsp": "run the language server on standard input and output, for editors",
    "bot": "open, and keep up to date, a pull request with the fixes",
    "verify": "build a Dockerfile before and after its fixes and compare the images",
    "completion": 'print a shell completion script: `eval "$(dockerfix completion bash)"`',
}
COMPLETION_SHELLS = ("bash", "zsh", "fish", "tcsh", "powershell")
# A check allocates millions of short-lived objects and almost no cycles: with the default threshold (700 allocations)
# the collector ran 464 times over the 1,519 real files, 0.13-0.26 s of a 3 s pass; with this one 3 times, 0.02-0.04 s.
# Cycles are still collected. It is set before the check's modules load (their import made the collector run ~50
# times, 2% of a one-file check's instructions) and workers are forked after it is set.
COLLECTOR_THRESHOLD = 50_000


def _lsp(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dockerfix lsp", description=COMMANDS["lsp"] + ".")
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="speak over standard input and output (the only transport; editors pass it)",
    )
    parser.parse_args(argv)
    with _extra("lsp"):
        import lsprotocol.types  # noqa: F401 (the [lsp] extra; the server imports them only once it starts)
        import pygls.lsp.server  # noqa: F401

        from .lsp import serve  # the server's dependencies load only for the server

    return serve(argv)


def _verify(argv: list[str]) -> int:
    from .verify.cli import main as verify  # builds with the Docker engine; loads only when asked

    return verify(argv)


def _bot(argv: list[str]) -> int:
    with _extra("bot"):
        from .bot.command import main as bot_main  # the forge client loads only for the bot

    return bot_main(argv)


@contextmanager
def _extra(name: str) -> Iterator[None]:
    """A command whose dependencies are an extra that is not installed ends with how to install it."""
    try:
        yield
    except ModuleNotFoundError as error:
        sys.stderr.write(f"error: `dockerfix {name}` needs {error.name}: pip install 'dockerfix[{name}]'\n")
        raise SystemExit(EXIT_ERROR) from None


def _completion(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dockerfix completion", description=COMMANDS["completion"] + ".")
    parser.add_argument("shell", choices=COMPLETION_SHELLS)
    shell = parser.parse_args(argv).shell
    import shtab  # generates the script from the parser itself, so it cannot fall behind the options

    from .cli import _parser

    sys.stdout.write(shtab.complete(_parser(), shell))
    return EXIT_CLEAN


SUBCOMMANDS = {"lsp": _lsp, "verify": _verify, "bot": _bot, "completion": _completion}


def main(argv: Sequence[str] | None = None) -> int:
    """The one dispatch point of every command (the console script's and `python -m dockerfix`'s, through
    `process_main`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    gc.set_threshold(COLLECTOR_THRESHOLD)
    from .cli import main as check  # the default command

    if argv[:1] == ["check"]:
        return check(argv[1:], prog="dockerfix check")
    return check(argv)


def process_main() -> NoReturn:
    """The `dockerfix` process: the installed command and `python -m dockerfix`. At exit the interpreter's collector
    walks and frees every module, class and function the run loaded, about a tenth of a one-file check
    (bench/startup.py); frozen, they are left to the operating system, which frees the whole process at once. Unlike
    `os._exit`, the exit still runs atexit handlers and flushes the standard streams; only garbage caught in
    reference cycles is not finalized (every file dockerfix opens is closed by its `with`)."""
    status = main()
    gc.freeze()
    sys.exit(status)
