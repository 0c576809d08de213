"""DF103: `apt-get install --no-install-recommends`, keeping what the rest of the stage needs."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator, Sequence

from msgspec import Struct

from dockerfix.knowledge.analysis import Invocation, shell_runs, stages_built_on, tool_and_arguments
from dockerfix.knowledge.baseimages import gain_on_base, instruction_commands, stage_operating_system
from dockerfix.knowledge.gains import debian_index, debian_releases, recommends_drop
from dockerfix.knowledge.shelledits import insert_after
from dockerfix.knowledge.shellfacts import SHELLS, compiles
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, ContentChange, Edit, Finding, Savings
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Example, Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand, parse_shell

# apt-get's options that make `install` only print what it would do.
SIMULATE_OPTIONS = frozenset({"-s", "--simulate", "--dry-run", "--just-print", "--no-act", "--recon"})
# Short options that take a value: in a cluster such as `-ys` the letters after one of them are its value.
SHORT_OPTIONS_WITH_VALUE = frozenset("oct")
LONG_OPTIONS_WITH_VALUE = frozenset({"--option", "--config-file", "--target-release", "--default-release"})
# `name=version`, `name/release`, `name:arch`: the package is `name`
PACKAGE_NAME = LazyPattern(r"^[a-z0-9][a-z0-9+.\-]*")
SCRIPT_SUFFIXES = (".sh", ".bash")
LARGEST_SCRIPT = 256 * 1024
NAMED_AT_MOST = 8


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


def requested_packages(arguments: Sequence[str | None]) -> tuple[list[str], bool]:
    """The package names an `install` asks for (versions, releases and architectures left out), and whether every
    one could be read (a word built from a variable cannot)."""
    names: list[str] = []
    readable = True
    words = iter(arguments)
    for word in words:
        if word is None:
            readable = False
        elif word in LONG_OPTIONS_WITH_VALUE or (len(word) == 2 and word[0] == "-" and word[1] in "oct"):
            next(words, None)
        elif not word.startswith("-"):
            match = PACKAGE_NAME.match(word)
            rest = word[match.end() :] if match else word
            names.append(match.group(0) if match and (not rest or rest[0] in "=/:") else word)
    return names, readable


def uses_version_control(name: str | None, arguments: Sequence[str | None]) -> bool:
    """git, hg, svn or ssh, or a URL that an installer fetches with one (`git+https://`, `git@host:`)."""
    return name in ("git", "hg", "svn", "ssh", "scp") or any(
        argument is not None and argument.startswith(("git+", "git@", "git://", "hg+", "svn+", "ssh://"))
        for argument in arguments
    )


class Capability(Struct, frozen=True):
    """Recommended packages that give the image something a program may rely on without naming the package. They
    are kept when a package asked for recommends them itself (they belong to what it does: gcc's C library headers,
    pip's compilers), when a later command uses them (``used_by``), or always (``always``)."""

    description: str
    packages: LazyPattern
    used_by: Callable[[str | None, Sequence[str | None]], bool] | None = None
    always: bool = False


CAPABILITIES = (
    # Any program of the image (a Go or Java service, a script at start) may verify TLS against the system's trust
    # store; nothing in a Dockerfile shows that it does not.
    Capability("TLS certificates", LazyPattern(r"^ca-certificates$"), always=True),
    Capability(
        "compilers and headers",
        LazyPattern(
            r"^(build-essential|make|dpkg-dev|binutils(-.+)?|(gcc|g\+\+|cpp|clang|gfortran)(-\d+)?"
            r"|lib\S+-dev|linux-libc-dev|python3(\.\d+)?-dev|pkg-config|pkgconf)$"
        ),
        compiles,
    ),
    Capability("version control", LazyPattern(r"^(git|mercurial|subversion|openssh-client)$"), uses_version_control),
    Capability("a debugger and debugging symbols", LazyPattern(r"^gdb$|-dbg$|-dbgsym$")),
)


Command = tuple[str | None, Sequence[str | None]]


class StageNeeds(Struct, frozen=True):
    """What runs after an install in its stage and in the stages built on it: commands (program, arguments), and the
    scripts among them whose text could not be read."""

    commands: tuple[Command, ...]
    unreadable_scripts: tuple[str, ...]

    def use(self, capability: Capability) -> bool:
        return capability.used_by is not None and any(capability.used_by(*command) for command in self.commands)


def script_path(name: str | None, arguments: Sequence[str | None]) -> str | None:
    """The script a command runs: itself (`/start.sh`) or a shell's file argument (`bash install.sh`)."""
    if name is None:
        return None
    if name.endswith(SCRIPT_SUFFIXES):
        return name
    if name in SHELLS and arguments and arguments[0] is not None and not arguments[0].startswith("-"):
        return arguments[0]
    return None


def copied_source(stage: Stage, path: str, context: BuildContext) -> str | None:
    """The file of the build context that a COPY/ADD of the stage puts at ``path``, found by its name: the source
    itself, or the one file of that name inside a copied folder; None when no copy or several files fit."""
    name = posixpath.basename(path)
    for instruction in stage.instructions:
        if instruction.cmd not in ("copy", "add") or instruction.flag("from") is not None:
            continue
        for source in instruction.value[:-1]:
            source = posixpath.normpath(source).lstrip("/")
            if posixpath.basename(source) == name and context.exists(source):
                return source
            folder = "" if source == "." else source + "/"
            inside = [file for file in context.files() if file.startswith(folder) and posixpath.basename(file) == name]
            if len(inside) == 1:
                return inside[0]
    return None


def script_commands(text: str) -> list[Command]:
    return [tool_and_arguments(command) for command in parse_shell(text).simple_commands()]


def stage_needs(
    document: Document, stage: Stage, run: Instruction, later_in_run: Sequence[SimpleCommand], context: RuleContext
) -> StageNeeds:
    commands: list[Command] = [tool_and_arguments(command) for command in later_in_run]
    unreadable: list[str] = []
    for current in (stage, *stages_built_on(document, stage)):
        for instruction in current.instructions:
            if instruction.cmd in ("cmd", "entrypoint") or (instruction.cmd == "run" and instruction.index > run.index):
                commands.extend(instruction_commands(instruction))
    build_context = context.build_context
    for name, arguments in list(commands):
        path = script_path(name, arguments)
        if path is None:
            continue
        source = None
        if build_context is not None and build_context.has_contents:
            source = copied_source(stage, path, build_context)
        text = None if source is None or build_context is None else build_context.read_text(source, LARGEST_SCRIPT)
        if text is None:
            unreadable.append(path)
        else:
            commands.extend(script_commands(text))
    return StageNeeds(tuple(commands), tuple(unreadable))


def _named(packages: Sequence[str]) -> str:
    shown = ", ".join(packages[:NAMED_AT_MOST])
    more = len(packages) - NAMED_AT_MOST
    return f"{shown} and {more} more" if more > 0 else shown


class AptNoInstallRecommends(Rule):
    """Install only the packages asked for: `apt-get install --no-install-recommends`, keeping what is needed.

    What it does
        Flags `apt-get install` (and `apt install`) without `--no-install-recommends` when apt would also install
        recommended packages, and names them, with the bytes they take (the Installed-Size of Debian's index for
        the releases shipped in `dockerfix/data/`, walked as apt walks Depends and Recommends). The fix adds the
        flag and installs explicitly the recommended packages the rest of the stage needs: `ca-certificates`
        always (any program may verify TLS at run time); compilers, headers and version control when a later
        command of the stage, of a stage built on it, or of a CMD/ENTRYPOINT script read from the build context
        compiles or fetches with them, or when a package asked for recommends them itself (gcc's `libc6-dev`,
        pip's `build-essential` and `python3-dev`, valgrind's debugging symbols). Nothing is reported when nothing
        would be dropped. A simulated install (`-s`, `--simulate`, `--dry-run`, `--just-print`, `--no-act`,
        `--recon`) installs nothing and is left alone.

    Why
        By default apt also installs every package the requested ones recommend: documentation, optional tools and
        modules, often hundreds of megabytes the image never uses.

    Example
        FROM debian:bookworm
        RUN apt-get install -y curl
        becomes
        FROM debian:bookworm
        RUN apt-get install --no-install-recommends -y curl ca-certificates

    Fix safety
        Unsafe, and it says so: the image gets fewer packages. The byte gain is Debian's: on Ubuntu, and on images
        that hold more than Debian's minimal set, Debian's relations decide what to keep and the gain is unknown.
        Display-only when what the stage needs cannot be read: a package the index does not know, a package name
        built from a variable, a script that runs but is not in the build context.
    """

    code = "DF103"
    opt_in = True  # harmful or false positive in the blind review of sample A (docs/expert-review.md)
    layer_rule = True
    name = "apt-no-install-recommends"
    summary = "apt-get install without --no-install-recommends installs packages nobody asked for."
    hadolint = ("DL3015",)
    flag = "--no-install-recommends"
    valid = (
        "FROM debian\nRUN apt-get install -y --no-install-recommends curl\n",
        "FROM debian\nRUN apt-get -o APT::Install-Recommends=false install -y curl\n",
        "FROM debian\nRUN apt-get update\n",
        'FROM debian\nRUN if apt-get install -s "postgresql-$PG_MAJOR-jit" > /dev/null 2>&1; then echo jit; fi\n',
        "FROM debian\n"
        "RUN apt-get install --dry-run curl && apt-get -qs install git && apt-get install --just-print jq\n",
        # neither recommends anything
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y make ca-certificates\n",
    )
    invalid = (
        Example(
            "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n",
            "FROM debian:bookworm\n"
            "RUN apt-get update && apt-get install --no-install-recommends -y curl ca-certificates\n",
            unsafe=True,
        ),
        Example(
            "FROM ubuntu:24.04\nRUN apt-get -qq install \\\n      git\n",
            "FROM ubuntu:24.04\n"
            "RUN apt-get -qq install --no-install-recommends \\\n      git ca-certificates openssh-client\n",
            unsafe=True,
        ),
        Example(
            "FROM debian:bookworm\nRUN apt-get update && apt-get install -y python3-pip\n",
            "FROM debian:bookworm\nRUN apt-get update && apt-get install --no-install-recommends -y python3-pip "
            "build-essential python3-dev\n",
            unsafe=True,
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in document.stages:
            for run, commands in shell_runs(stage):
                for position, command in enumerate(commands):
                    invocation = Invocation.of(command)
                    if (
                        invocation.runs(("apt-get", "apt"), ("install",))
                        and not simulates(invocation.arguments)
                        and not self.has_flag(invocation.arguments)
                    ):
                        finding = self.install_finding(
                            document, stage, run, commands[position + 1 :], command, invocation, context
                        )
                        if finding is not None:
                            yield finding

    def has_flag(self, arguments: list[str | None]) -> bool:
        return any(
            argument is not None and (argument == self.flag or "Install-Recommends" in argument)
            for argument in arguments
        )

    def install_finding(
        self,
        document: Document,
        stage: Stage,
        run: Instruction,
        later_in_run: Sequence[SimpleCommand],
        command: SimpleCommand,
        invocation: Invocation,
        context: RuleContext,
    ) -> Finding | None:
        requested, readable = requested_packages(invocation.after_verb)
        if not requested:
            return None
        reference, system = stage_operating_system(document, stage)
        distribution = system.distribution if system else "debian"
        release = (system.release if system else None) or debian_releases()[-1]
        everything = recommends_drop(requested, distribution=distribution, release=release)
        needs = stage_needs(document, stage, run, later_in_run, context)
        keep = self.kept(everything.dropped, requested, needs, release)
        drop = recommends_drop(requested, distribution=distribution, release=release, keep=keep)
        reasons = self.unreadable_needs(readable, drop.not_in_index, needs)
        if not drop.dropped and not reasons:
            return None
        gain = gain_on_base(drop.gain, reference, system)
        dropped = _named(drop.dropped) or "recommended packages not known here"
        message = f"`{invocation.tool} install` without `{self.flag}` also installs {dropped} ({gain.describe()})"
        if keep:
            groups = {
                description: [name for name in keep if keep[name] == description] for description in keep.values()
            }
            kept = "; ".join(f"{', '.join(names)} ({description})" for description, names in groups.items())
            message += f"; the fix keeps {kept}"
        assert invocation.verb_at is not None, "check matched the command by its verb, install"
        verb = invocation.own_index(invocation.verb_at)
        last = command.arguments[-1]
        edits = [
            insert_after(run, command, verb, self.flag),
            *([Edit.insert(run.arguments_to_source(last.end, end=True), " " + " ".join(keep))] if keep else []),
        ]
        title = f"Add `{self.flag}`" + (f" and install {', '.join(keep)} explicitly" if keep else "")
        applicability = Applicability.UNSAFE
        if reasons:
            message += f" (not fixed automatically: {'; '.join(reasons)})"
            applicability = Applicability.DISPLAY_ONLY
        fix = self.fix(title, edits, applicability, self.content_change())
        start = run.arguments_to_source(command.start)
        end = run.arguments_to_source(command.end, end=True)
        return self.finding(message, start, end, fix, Savings.of(gain))

    @staticmethod
    def unreadable_needs(readable: bool, not_in_index: Sequence[str], needs: StageNeeds) -> list[str]:
        """Why what the stage needs cannot be read, if it cannot."""
        reasons = []
        if not readable:
            reasons.append("a package name is built from a variable")
        if not_in_index:
            reasons.append(f"{', '.join(not_in_index)} not in Debian's index: what it recommends is not known")
        if needs.unreadable_scripts:
            scripts = ", ".join(sorted(set(needs.unreadable_scripts)))
            reasons.append(f"{scripts} runs and cannot be read from the build context")
        return reasons

    @staticmethod
    def kept(dropped: Sequence[str], requested: Sequence[str], needs: StageNeeds, release: str) -> dict[str, str]:
        """The dropped packages the fix installs explicitly, each with what it gives (see ``Capability``), by the
        relations of ``release``'s index or, where it is not shipped (Ubuntu, older Debian), the newest one's, as
        ``recommends_drop`` reads them. Only packages something recommends are named: what they depend on comes with
        them. A recommendation names a package or what packages provide (git's `ssh-client`): both count."""
        index = debian_index(release) or debian_index(debian_releases()[-1])
        assert index is not None, "debian_releases names only releases whose index is shipped"

        def recommended_by(names: Iterable[str]) -> set[str]:
            return {
                candidate
                for found in map(index.candidate, names)
                if found is not None
                for relation in index.package(found).recommends
                for name in relation
                for candidate in (name, index.candidate(name))
                if candidate is not None
            }

        by_request = recommended_by(requested)
        by_any = recommended_by(index.walk(requested, recommends=True, installed=index.minbase).installed)
        kept: dict[str, str] = {}
        for package in sorted(dropped):
            capability = next((capability for capability in CAPABILITIES if capability.packages.search(package)), None)
            if (
                package in by_any
                and capability is not None
                and (capability.always or package in by_request or needs.use(capability))
            ):
                kept[package] = capability.description
        return kept

    @staticmethod
    def content_change() -> ContentChange:
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
