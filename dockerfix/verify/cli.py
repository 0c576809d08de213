"""``dockerfix verify``: build the Dockerfile before and after its fixes and show the measured difference."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from dockerfix.rewriter.config import ConfigError, discover
from dockerfix.rewriter.source import SourceError

from .context_copy import DEFAULT_MAX_BYTES, ContextCopyError, ContextTooLarge
from .engine import DECIMAL_UNITS, DockerClient, EngineError
from .measure import NothingToVerify, verify
from .render import print_rich

EXIT_EQUIVALENT, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2
# What ends a run from outside and can still be answered: the copies and images are removed, the exit is 128 + signal.
STOPPING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_SIZE = re.compile(r"(\d+)\s*(B|kB|MB|GB|TB)?")


class Stopped(BaseException):
    """A signal asked the run to end; a BaseException, so no handler of errors on the way takes it for one."""

    def __init__(self, number: int) -> None:
        super().__init__(f"stopped by {signal.Signals(number).name}")
        self.number = number


def _stop(number: int, frame: FrameType | None) -> None:
    for other in STOPPING_SIGNALS:  # a second signal must not cut the clean-up short
        signal.signal(other, signal.SIG_IGN)
    raise Stopped(number)


def _size(text: str) -> int:
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a size such as 500MB or 2GB (decimal units, as BuildKit prints them)"
        )
    return int(match.group(1)) * DECIMAL_UNITS[match.group(2) or "B"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dockerfix verify",
        description="Build a Dockerfile and its fixed version with the local Docker engine (DOCKER_HOST) and compare "
        "layers, sizes, cache reuse after a source edit and the images' contents.",
    )
    parser.add_argument("dockerfile", type=Path)
    parser.add_argument("--context", type=Path, help="build-context folder (default: the Dockerfile's folder)")
    parser.add_argument(
        "--touch",
        metavar="PATH",
        help="context file to edit for the cache measurement (default: a source file that is not a dependency "
        "manifest)",
    )
    parser.add_argument(
        "--max-context-size",
        type=_size,
        default=DEFAULT_MAX_BYTES,
        metavar="SIZE",
        help=f"largest build context to copy (each build runs from a copy; default {DEFAULT_MAX_BYTES // 10**9}GB)",
    )
    parser.add_argument("--unsafe-fixes", action="store_true", default=None, help="also apply fixes marked unsafe")
    parser.add_argument("--output-format", choices=("text", "json"), default="text")
    return parser


def main(argv: Sequence[str]) -> int:
    arguments = _parser().parse_args(argv)
    as_json = arguments.output_format == "json"
    previous = {number: signal.signal(number, _stop) for number in STOPPING_SIGNALS}
    try:
        settings = discover(arguments.dockerfile).override(unsafe_fixes=arguments.unsafe_fixes)
        report = verify(
            arguments.dockerfile,
            settings,
            DockerClient.from_environment(),
            arguments.context,
            arguments.touch,
            arguments.max_context_size,
        )
    except NothingToVerify as nothing:
        sys.stderr.write(f"{nothing}\n")
        if as_json:  # a script reading stdout gets a document whatever happened
            _print_json(
                {**_outcome(arguments.dockerfile), "equivalent": True, "applied_fixes": [], "message": str(nothing)}
            )
        return EXIT_EQUIVALENT
    except ContextTooLarge as error:
        return _error(arguments.dockerfile, f"{error} (--max-context-size raises the bound)", as_json, EXIT_ERROR)
    except (SourceError, ConfigError, EngineError, ContextCopyError, ValueError) as error:
        return _error(arguments.dockerfile, str(error), as_json, EXIT_ERROR)
    except Stopped as stopped:
        return _error(
            arguments.dockerfile,
            f"{stopped}; the copies of the build context and the images were removed",
            as_json,
            128 + stopped.number,
        )
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if as_json:
        _print_json(report.as_json())
    else:
        from rich.console import Console

        print_rich(report, Console())
    return EXIT_EQUIVALENT if report.equivalent else EXIT_DIFFERENT


def _error(dockerfile: Path, message: str, as_json: bool, code: int) -> int:
    sys.stderr.write(f"error: {message}\n")
    if as_json:
        _print_json({**_outcome(dockerfile), "error": message})
    return code


def _outcome(dockerfile: Path) -> dict:
    """The fields a JSON report has even when nothing was built."""
    return {"version": 1, "dockerfile": str(dockerfile)}


def _print_json(data: dict) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
