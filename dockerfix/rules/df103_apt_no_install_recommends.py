"""DF103: `apt-get install --no-install-recommends`."""

from __future__ import annotations

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.runedit import AddFlagRule
from dockerfix.rewriter.document import Instruction, Stage
from dockerfix.rewriter.fixes import ContentChange
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

# apt-get's options that make `install` only print what it would do.
SIMULATE_OPTIONS = frozenset({"-s", "--simulate", "--dry-run", "--just-print", "--no-act", "--recon"})
# Short options that take a value: in a cluster such as `-ys` the letters after one of them are its value.
SHORT_OPTIONS_WITH_VALUE = frozenset("oct")


def simulates(arguments: list[str | None]) -> bool:
    """Whether apt only simulates: `-s` (alone or in a cluster like `-qs`), its long names, or
    `-o APT::Get::Simulate=true`."""
    for argument in arguments:
        if argument is None:
            continue
        if argument in SIMULATE_OPTIONS or "apt::get::simulate=true" in argument.lower():
            return True
        if argument.startswith("-") and not argument.startswith("--") and argument[1:].isalpha():
            letters = argument[1:]
            value_at = min(
                (letters.index(letter) for letter in SHORT_OPTIONS_WITH_VALUE if letter in letters),
                default=len(letters),
            )
            if "s" in letters[: value_at + 1]:
                return True
    return False


class AptNoInstallRecommends(AddFlagRule):
    """Install only the packages asked for: `apt-get install --no-install-recommends`.

    What it does
        Flags `apt-get install` (and `apt install`) without `--no-install-recommends` and adds the flag after
        `install`. A simulated install (`-s`, `--simulate`, `--dry-run`, `--just-print`, `--no-act`, `--recon`)
        installs nothing and is left alone.

    Why
        By default apt also installs every package the requested ones recommend: documentation, optional tools,
        often hundreds of megabytes the image never uses.

    Example
        RUN apt-get install -y curl
        becomes
        RUN apt-get install --no-install-recommends -y curl

    Fix safety
        Unsafe, and it says so: the image gets fewer packages. Something the program needed only through a
        recommendation (ca-certificates for curl over https is the classic one) is then missing and must be named.
    """

    code = "DF103"
    opt_in = True  # harmful or false positive in the blind review of sample A (docs/expert-review.md)
    layer_rule = True
    name = "apt-no-install-recommends"
    summary = "apt-get install without --no-install-recommends installs packages nobody asked for."
    hadolint = ("DL3015",)
    flag = "--no-install-recommends"
    effect = "apt installs fewer packages: recommended ones, e.g. ca-certificates, are no longer pulled in"
    valid = (
        "FROM debian\nRUN apt-get install -y --no-install-recommends curl\n",
        "FROM debian\nRUN apt-get -o APT::Install-Recommends=false install -y curl\n",
        "FROM debian\nRUN apt-get update\n",
        'FROM debian\nRUN if apt-get install -s "postgresql-$PG_MAJOR-jit" > /dev/null 2>&1; then echo jit; fi\n',
        "FROM debian\n"
        "RUN apt-get install --dry-run curl && apt-get -qs install git && apt-get install --just-print jq\n",
    )
    invalid = (
        Example(
            "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
            "FROM debian\nRUN apt-get update && apt-get install --no-install-recommends -y curl\n",
            unsafe=True,
        ),
        Example(
            "FROM debian\nRUN apt-get -qq install \\\n      git\n",
            "FROM debian\nRUN apt-get -qq install --no-install-recommends \\\n      git\n",
            unsafe=True,
        ),
    )

    def content_change(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        # Fewer packages: any of their files may be missing, and the package managers' records of what is installed
        # differ (measured with `dockerfix verify` on `apt-get install -y curl`).
        return ContentChange(
            removes=("/",),
            alters=(
                "/var/lib/dpkg",
                "/var/lib/apt/extended_states",
                "/var/cache/debconf",
                "/var/log",
                "/etc/ld.so.cache",
            ),
        )

    def wants_flag(self, invocation: Invocation) -> bool:
        return invocation.runs(("apt-get", "apt"), ("install",)) and not simulates(invocation.arguments)

    def has_flag(self, arguments: list[str | None]) -> bool:
        return any(
            argument is not None and (argument == self.flag or "Install-Recommends" in argument)
            for argument in arguments
        )
