"""DF117: a compiler installed in the shipped stage to build, and never removed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from msgspec import Struct

from dockerfix.knowledge.analysis import (
    Invocation,
    commands_running,
    shell_runs,
    stages_built_on,
    stages_running,
    tool_and_arguments,
)
from dockerfix.knowledge.baseimages import (
    gain_on_base,
    identify,
    instruction_commands,
    resolved_reference,
    stage_operating_system,
)
from dockerfix.knowledge.gains import debian_releases, removal_gain
from dockerfix.knowledge.shelledits import append_blocker, append_edit
from dockerfix.knowledge.shellfacts import COMPILING_PROGRAMS, SHELLS, compiles
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, Finding, Gain, Savings, Unknown
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Example, Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand
from dockerfix.rewriter.stages import base_stages

TOOLCHAIN_PACKAGES = frozenset({"build-essential", "build-base", "alpine-sdk", "gcc", "g++", "clang", "gcc-c++"})
VERSIONED_TOOLCHAIN = LazyPattern(r"^(gcc|g\+\+|clang)-\d[\d.]*$")
# What the name of every package above starts with (a version may follow it: `gcc=4:12.2.0-3`, `gcc-12`)
TOOLCHAIN_PREFIXES = tuple(TOOLCHAIN_PACKAGES)
# Images that already ship gcc and make (the full official variants are built on buildpack-deps): a compiler
# installed there adds next to nothing, and removing it frees nothing.
TOOLCHAIN_IMAGES = frozenset({"buildpack-deps", "gcc"})
TOOLCHAIN_FAMILIES = frozenset({"python", "node", "ruby", "golang", "rust"})
MANAGERS = {"apt-get": "apt", "apt": "apt", "aptitude": "apt", "apk": "apk"}
INSTALL_VERBS = {"apt": {"install"}, "apk": {"add"}}
REMOVE_VERBS = {"apt": {"purge", "remove", "autoremove"}, "apk": {"del"}}
OPTIONS_WITH_VALUE = {
    "-o",
    "-t",
    "-c",
    "--target-release",
    "--config-file",
    "--virtual",
    "-X",
    "--repository",
    "-p",
    "--root",
}
DPKG_REMOVALS = {"-r", "-P", "--remove", "--purge"}
VERSION = LazyPattern(r"[=~<>].*$")
# A Dockerfile whose own name says it is a build environment: `Dockerfile.build`, `builder.Dockerfile`.
BUILD_ENVIRONMENT_NAME = LazyPattern(
    r"^(dockerfile[._-](build|builder|buildenv|build-env)|(build|builder|buildenv|build-env)[._-]dockerfile)$"
)
# A shell or a language's interactive toplevel: an image started with one bare is a place to work in.
INTERACTIVE_PROGRAMS = SHELLS | frozenset(
    {"ghci", "python", "python3", "ipython", "node", "irb", "iex", "erl", "R", "julia", "swift", "jshell", "scala"}
)
# Commands whose product is a package or an archive to be taken out of the image, by their verbs (None: any).
ARTIFACT_COMMANDS: dict[str, frozenset[str] | None] = {
    "zip": None,
    "dpkg-deb": frozenset({"--build", "-b", "--root-owner-group"}),
    "dpkg-buildpackage": None,
    "debuild": None,
    "rpmbuild": None,
    "makepkg": None,
    "npm": frozenset({"pack"}),
    "cargo": frozenset({"package"}),
    "pip": frozenset({"wheel"}),
    "pip3": frozenset({"wheel"}),
}


class PackageCall(Struct, frozen=True):
    """A package manager command read as its manager, verb, literal package names and `--virtual` group."""

    manager: str
    verb: str
    packages: tuple[str, ...]
    virtual: str | None
    recommends: bool  # apt installs the packages' Recommends too

    @classmethod
    def of(cls, command: SimpleCommand) -> PackageCall | None:
        name, arguments = tool_and_arguments(command)
        manager = MANAGERS.get(name or "")
        if manager is None:
            return None
        verb = virtual = None
        packages = []
        words = iter(arguments)
        for word in words:
            if word is None:
                continue
            if word in OPTIONS_WITH_VALUE:
                value = next(words, None)
                virtual = value if word in ("--virtual", "-t") and manager == "apk" else virtual
            elif word.startswith("--virtual="):
                virtual = word.partition("=")[2]
            elif word.startswith("-"):
                continue
            elif verb is None:
                verb = word
            else:
                packages.append(VERSION.sub("", word))
        recommends = manager == "apt" and not any(
            word is not None and ("--no-install-recommends" in word or "Install-Recommends=false" in word)
            for word in arguments
        )
        return None if verb is None else cls(manager, verb, tuple(packages), virtual, recommends)

    @property
    def installs(self) -> bool:
        return self.verb in INSTALL_VERBS[self.manager]

    @property
    def removes(self) -> bool:
        return self.verb in REMOVE_VERBS[self.manager]

    @property
    def compilers(self) -> tuple[str, ...]:
        return tuple(
            package for package in self.packages if package in TOOLCHAIN_PACKAGES or VERSIONED_TOOLCHAIN.match(package)
        )

    def removal_text(self) -> str:
        if self.manager == "apk":
            return f"apk del --no-network {self.virtual or ' '.join(self.compilers)}"
        return f"apt-get purge -y --auto-remove {' '.join(self.compilers)}"


def makes_artifact(name: str | None, arguments: list[str | None]) -> bool:
    """Whether a command packs a build's product to be taken out: an archive (`tar -c`, `zip`), a Debian or RPM
    package, a wheel, an npm or crate package, a Python distribution (`python -m build`, `setup.py sdist`)."""
    if name is None:
        return False
    words = [word for word in arguments if word is not None]
    if name == "tar":
        first = words[0] if words else ""
        return "--create" in words or "-c" in words or bool(re.fullmatch(r"-?[A-Za-z]*c[A-Za-z]*", first))
    if name.startswith("python"):
        return words[:2] == ["-m", "build"] or (
            words[:1] == ["setup.py"] and any(word.startswith(("sdist", "bdist")) for word in words)
        )
    if name not in ARTIFACT_COMMANDS:
        return False
    verbs = ARTIFACT_COMMANDS[name]
    return verbs is None or any(word in verbs for word in words)


def image_command(stage_chain: tuple[Stage, ...], keyword: str) -> tuple[str | None, list[str | None]] | None:
    """The program (its name) and arguments of the CMD or ENTRYPOINT in force at the end of the stage chain."""
    instruction = next((i for current in stage_chain for i in reversed(current.instructions) if i.cmd == keyword), None)
    commands = instruction_commands(instruction) if instruction is not None else []
    if not commands:
        return None
    name, arguments = commands[0]
    return (name.rsplit("/", 1)[-1] if name else name), arguments


def offers_a_build_environment(document: Document, stage: Stage) -> bool:
    """Whether the image is there to build in: its CMD or ENTRYPOINT starts a shell or a language's interactive
    toplevel with no program to run, or a compiler. Its compilers are then what it offers (GHC links with gcc)."""
    chain = (stage, *base_stages(document, stage))
    for keyword in ("entrypoint", "cmd"):
        command = image_command(chain, keyword)
        if command is None:
            continue
        name, arguments = command
        bare = all(argument is not None and argument.startswith("-") for argument in arguments)
        return name in COMPILING_PROGRAMS or (name in INTERACTIVE_PROGRAMS and bare)
    return False


def builds_artifact_only(document: Document, stage: Stage) -> bool:
    """Whether the stage is a build environment whose product is taken out rather than run: the Dockerfile's name
    says so (`Dockerfile.build`), or neither the stage nor a stage it is built on sets CMD or ENTRYPOINT and one
    of its RUNs packs an archive or a package."""
    if BUILD_ENVIRONMENT_NAME.match(PurePosixPath(document.source.path.replace("\\", "/")).name.lower()):
        return True
    chain = (stage, *base_stages(document, stage))
    if any(instruction.cmd in ("cmd", "entrypoint") for current in chain for instruction in current.instructions):
        return False
    return any(
        makes_artifact(*tool_and_arguments(command)) for _, commands in shell_runs(stage) for command in commands
    )


def removes_packages(command: SimpleCommand) -> bool:
    """apt purge/remove/autoremove, apk del or dpkg --purge/--remove, whatever it names."""
    name, arguments = tool_and_arguments(command)
    if name == "dpkg":
        return any(argument in DPKG_REMOVALS for argument in arguments)
    call = PackageCall.of(command)
    return call is not None and call.removes


def compiler_install(command: SimpleCommand) -> PackageCall | None:
    """The command as a package install that names a compiler or build tool, when it is one. Kept with the command,
    which the fix loop's re-checks share while its RUN's text is unchanged."""
    return command.facts(_compiler_install)


def _compiler_install(command: SimpleCommand) -> PackageCall | None:
    """Asked of every apt and apk command: one that names no word a compiler's package name can start with is not
    read further."""
    if not any(
        argument is not None and argument.startswith(TOOLCHAIN_PREFIXES)
        for argument in Invocation.of(command).arguments
    ):
        return None
    call = PackageCall.of(command)
    return call if call is not None and call.installs and call.compilers else None


class Step(Struct, frozen=True):
    run: Instruction
    command: SimpleCommand


class CompilerLeftInstalled(Rule):
    """Remove the compilers a stage installed to build, in the RUN that built.

    What it does
        Flags a stage that installs a compiler (`build-essential`, `build-base`, `alpine-sdk`, `gcc`, `g++`,
        `clang`) with apt or apk, then compiles with it (make, cmake, configure, gcc, phpize, docker-php-ext-install,
        or an installer that builds native extensions: pip, pecl, gem, bundle, npm, yarn, cargo, go) and never
        removes a package afterwards (`apt-get purge`/`remove`/`autoremove`, `apk del`, `dpkg --purge`). It states
        what removing them saves: the Installed-Size of the packages the compilers brought (Debian's index, on
        Debian's own images of the releases shipped), else unknown. Left alone: stages other stages are built on
        (the report belongs to the last one), stages on images that already ship a compiler (buildpack-deps, gcc,
        and the full python, node, ruby, golang and rust images), and build environments whose product is taken
        out rather than run: a Dockerfile named as one (`Dockerfile.build`, `builder.Dockerfile`), or a stage that
        sets no CMD or ENTRYPOINT (nor do the stages it is built on) and packs an archive or a package (`tar -c`,
        `zip`, `dpkg-deb --build`, `pip wheel`, `python -m build`, `npm pack`, ...); and images that are there to
        build in, whose CMD or ENTRYPOINT starts a shell or an interactive toplevel bare (`bash`, `ghci`) or a
        compiler: their compilers are what they offer.

    Why
        A compiler and its companions (binutils, libc headers, the `-dev` packages that come with a build) weigh
        hundreds of megabytes and serve no purpose once the program is built. The official images install them,
        build and remove them in one RUN (`apt-get purge -y --auto-remove`, `apk del .build-deps`); removed in a
        later RUN they still weigh in the image.

    Example
        FROM python:3.12-slim
        RUN apt-get update && apt-get install -y build-essential && pip install --no-cache-dir uwsgi
        is reported, with the proposal
        RUN apt-get update && apt-get install -y build-essential && pip install --no-cache-dir uwsgi \\
            && apt-get purge -y --auto-remove build-essential

    Fix safety
        Display-only, never applied: the running program may need the compiler (an image that installs packages or
        compiles at run time), and `--auto-remove` also removes libraries the built program loads unless they are
        marked as manually installed first (`apt-mark manual`, as the official images do from `ldd`/`scanelf`);
        neither can be read from the Dockerfile. The proposal is offered only when the compilers are installed and
        used in one RUN; builds spread over several RUNs need a separate build stage instead (DF304).
    """

    code = "DF117"
    name = "compiler-left-installed"
    summary = "Compilers installed to build in the shipped stage stay in the image."
    layer_rule = True
    valid = (
        'FROM debian:bookworm-slim\nRUN set -eux; savedAptMark="$(apt-mark showmanual)"; apt-get update; '
        "apt-get install -y --no-install-recommends gcc make; make -C /src install; apt-mark auto '.*' > /dev/null; "
        "apt-mark manual $savedAptMark; apt-get purge -y --auto-remove; rm -rf /var/lib/apt/lists/*\n",
        "FROM alpine:3.20\n"
        "RUN apk add --no-cache --virtual .build-deps gcc musl-dev make && make -C /src install && apk del "
        "--no-network .build-deps\n",
        "FROM debian:bookworm-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf "
        "/var/lib/apt/lists/*\n",
        "FROM python:3.12\n"
        "RUN apt-get update && apt-get install -y gcc && pip install --no-cache-dir uwsgi && rm -rf "
        "/var/lib/apt/lists/*\n",
        "FROM python:3.12-slim AS build\nRUN apt-get update && apt-get install -y gcc && pip wheel -w /wheels uwsgi\n"
        "FROM build AS test\nRUN pip install /wheels/*\n",
    )
    invalid = (
        Example(
            "FROM python:3.12-slim\n"
            "RUN apt-get update && apt-get install -y build-essential && pip install --no-cache-dir uwsgi\n",
            None,
        ),
        Example(
            "FROM alpine:3.20\nRUN apk add --no-cache --virtual .build-deps gcc musl-dev && make -C /src install\n",
            None,
        ),
        Example(
            "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y gcc g++ make\nCOPY . /src\n"
            "RUN make -C /src install\n",
            None,
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in stages_running(document, MANAGERS):
            # the apt and apk commands first (a stage-wide index): 45% of the real corpus's stages install nothing
            # with them and 70% of the others no compiler; the stage's other facts are read for the rest (505 of 2,617)
            installs = [
                (run, commands, position, call)
                for run, commands, position in commands_running(stage, MANAGERS)
                if (call := compiler_install(commands[position]))
            ]
            if not installs or stages_built_on(document, stage) or self.image_has_compiler(document, stage):
                continue
            run, commands, position, _ = installs[0]
            later = [Step(run, command) for command in commands[position + 1 :]] + [
                Step(other, command)
                for other, others in shell_runs(stage)
                if other.index > run.index
                for command in others
            ]
            if any(removes_packages(step.command) for step in later):
                continue
            builds = [step for step in later if compiles(*tool_and_arguments(step.command))]
            if builds and not builds_artifact_only(document, stage) and not offers_a_build_environment(document, stage):
                calls = [call for *_, call in installs]
                yield self.report(document, stage, Step(run, commands[position]), calls, builds)

    @staticmethod
    def image_has_compiler(document: Document, stage: Stage) -> bool:
        chain = base_stages(document, stage)
        reference = resolved_reference(document, chain[-1] if chain else stage)
        if reference is None:
            return False
        if reference.official_name in TOOLCHAIN_IMAGES:
            return True
        identified = identify(reference)
        return identified is not None and identified.family in TOOLCHAIN_FAMILIES and identified.variant.name == "full"

    @staticmethod
    def gain(document: Document, stage: Stage, calls: list[PackageCall]) -> Gain:
        """What purging the compilers frees: the Installed-Size of the packages they brought (Debian's index)."""
        if any(call.manager != "apt" for call in calls):
            return Unknown("Alpine's archive was not measured: Debian's sizes are not its sizes")
        reference, system = stage_operating_system(document, stage)
        release = (system.release if system else None) or debian_releases()[-1]
        removed = sorted({package for call in calls for package in call.compilers})
        freed = removal_gain(
            removed,
            installed_with=[package for call in calls for package in call.packages],
            recommends=any(call.recommends for call in calls),
            distribution=system.distribution if system else "debian",
            release=release,
        )
        return gain_on_base(freed, reference, system)

    def report(
        self, document: Document, stage: Stage, install: Step, calls: list[PackageCall], builds: list[Step]
    ) -> Finding:
        compilers = sorted({package for call in calls for package in call.compilers})
        # the clearest evidence first: a compiler or build tool rather than an installer that may only download
        build = next((step for step in builds if tool_and_arguments(step.command)[0] in COMPILING_PROGRAMS), builds[0])
        start = install.run.arguments_to_source(install.command.start)
        end = install.run.arguments_to_source(install.command.end, end=True)
        message = (
            f"{', '.join(f'`{name}`' for name in compilers)} installed on line {install.run.start_line} to build "
            f"(line {build.run.start_line}: `{build.command.name_literal}`) "
            f"{'stays' if len(compilers) == 1 else 'stay'} in the shipped image; "
            f"remove {'it' if len(compilers) == 1 else 'them'} in the RUN that builds, after marking what the built "
            "program loads as manually installed, "
            "or build in a separate stage and copy the result"
        )
        gain = self.gain(document, stage, calls)
        savings = Savings.of(gain)
        single_run = len(calls) == 1 and all(step.run is install.run for step in builds)
        if not single_run or append_blocker(install.run) is not None:
            return self.finding(message, start, end, savings=savings)
        removal = calls[0].removal_text()
        fix = self.fix(
            f"Append `{removal}` (check first that the program runs without them)",
            [append_edit(document, install.run, removal)],
            Applicability.DISPLAY_ONLY,
        )
        return self.finding(message, start, end, fix, savings)
