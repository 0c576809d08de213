"""DF205: go, cargo, maven and gradle keep their downloads and build cache in a BuildKit cache mount."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence

from msgspec import Struct

from dockerfix.knowledge.analysis import runs_running, stages_built_on, tool_and_arguments, verb_index, workdir_at
from dockerfix.knowledge.baseimages import Reference
from dockerfix.knowledge.cachemounts import (
    CARGO_GIT,
    CARGO_REGISTRY,
    GO_BUILD,
    GO_MODULES,
    GRADLE_CACHES,
    GRADLE_WRAPPER,
    MAVEN_REPOSITORY,
    Mount,
    ToolCache,
    base_image_environment,
    cache_mount,
    mount_edit,
    mounts_to_add,
    runs_as_root,
    taken_away,
    wants_mount,
)
from dockerfix.knowledge.cleanups import RunMount, reading, run_mounts
from dockerfix.knowledge.shellfacts import SHELLS
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, ContentChange, Edit, Finding, Savings
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Example, Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand
from dockerfix.rewriter.stages import base_stages, expand_global_args, shipped_stages

# Wrappers that run the tool itself: Docker's cross-compilation helpers, a wrapper script run through a shell
PROGRAMS = {
    "go": "go",
    "xx-go": "go",
    "cargo": "cargo",
    "xx-cargo": "cargo",
    "mvn": "maven",
    "mvnw": "maven",
    "gradle": "gradle",
    "gradlew": "gradle",
}
# The programs a command that uses a build tool runs: the tool, or a shell running its wrapper
TOOL_COMMANDS = frozenset(PROGRAMS) | SHELLS
GO_COMPILING = frozenset({"build", "install", "test", "run", "vet", "generate"})
GO_DOWNLOADING = frozenset({"list", "work"})
GO_MOD_DOWNLOADING = frozenset({"download", "tidy", "vendor", "verify", "graph", "why"})
CARGO_QUIET = frozenset(
    {"new", "init", "help", "version", "login", "logout", "owner", "yank", "search", "locate-project", "pkgid"}
)
VERSION_ONLY = frozenset({"-v", "--version", "-version", "-h", "--help"})
# Programs that run other build steps: they may run the tool without the mount, where its cache is then missing
DRIVERS = frozenset(
    {"make", "gmake", "just", "task", "mage", "goreleaser", "bazel", "bazelisk", "ant", "sbt", "npm", "yarn", "pnpm"}
)
# Java options that move the user's home or the tools' folders from outside the command line
JAVA_VARIABLES = (
    "MAVEN_OPTS",
    "MAVEN_ARGS",
    "MAVEN_CONFIG",
    "GRADLE_OPTS",
    "JAVA_OPTS",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
)
JAVA_FOLDER_PROPERTIES = LazyPattern(r"user\.home|maven\.repo\.local|gradle\.user\.home")
TOOLS = ("go", "cargo", "maven", "gradle")
WHAT_IS_REDONE = {
    GO_MODULES: "downloads every module",
    GO_BUILD: "recompiles every package",
    CARGO_REGISTRY: "downloads every crate",
    CARGO_GIT: "fetches every git dependency",
    MAVEN_REPOSITORY: "downloads every dependency and plugin",
    GRADLE_CACHES: "downloads every dependency",
    GRADLE_WRAPPER: "downloads the Gradle distribution",
}


# go 1.10 brought the build cache and 1.11 the module cache: an older golang image has neither to mount; from 1.16
# go runs in module mode unless told otherwise
FIRST_GO_WITH_CACHES = (1, 10)
FIRST_GO_IN_MODULE_MODE = (1, 16)
GO_VERSION = LazyPattern(r"^(\d+)\.(\d+)")


def golang_image_version(document: Document, stage: Stage) -> tuple[int, ...] | None:
    """The go version the tag of the official golang image the stage is built on names (``()`` for a tag without
    one, the newest); None for any other image."""
    root = (base_stages(document, stage) or [stage])[-1]
    image = expand_global_args(root.base_image, document)
    reference = Reference.parse(image) if image else None
    if (
        reference is None
        or reference.official_name != "golang"
        and not reference.repository.lower().endswith("library/golang")
    ):
        return None
    version = GO_VERSION.match(reference.tag or "")
    return (int(version[1]), int(version[2])) if version else ()


def go_without_caches(document: Document, stage: Stage) -> bool:
    version = golang_image_version(document, stage)
    return version is not None and bool(version) and version < FIRST_GO_WITH_CACHES


class ToolUse(Struct, frozen=True):
    """One command that runs a tool: which caches it reads and writes, whether it must find them filled (offline),
    a folder the command line itself names for one of them, and why its folders are not certain (if so)."""

    tool: str
    caches: tuple[ToolCache, ...]
    offline: bool = False
    folders: Mapping[ToolCache, str] | None = None
    doubt: str | None = None
    # `go get` downloads modules only in module mode; in GOPATH mode (GO111MODULE=off, go.mod-less folders before
    # go 1.16) it downloads into `$GOPATH/src`, where no cache mount may go
    needs_module_mode: bool = False


def _literal_folder(value: str | None) -> str | None:
    return (
        posixpath.normpath(value) if value and value.startswith("/") and not re.search(r"[$`'\"*?:]", value) else None
    )


def _option_value(arguments: Sequence[str | None], names: tuple[str, ...]) -> tuple[bool, str | None]:
    """Whether one of the options is given, and its value (`-g X`, `--gradle-user-home=X`, `-Dname=X`)."""
    for index, argument in enumerate(arguments):
        if argument is None:
            continue
        for name in names:
            if argument == name and not name.startswith("-D"):
                return True, arguments[index + 1] if index + 1 < len(arguments) else None
            if argument.startswith(name + "="):
                return True, argument[len(name) + 1 :]
    return False, None


def go_use(arguments: Sequence[str | None]) -> ToolUse | None:
    verb_at = verb_index(arguments)
    verb = arguments[verb_at] if verb_at is not None else None
    if verb in GO_COMPILING:
        return ToolUse("go", (GO_MODULES, GO_BUILD))
    if verb in GO_DOWNLOADING or (verb == "mod" and any(argument in GO_MOD_DOWNLOADING for argument in arguments)):
        return ToolUse("go", (GO_MODULES,))
    if verb == "get":
        return ToolUse("go", (GO_MODULES, GO_BUILD), needs_module_mode=True)
    if verb == "env" and any(argument in ("-w", "-u") for argument in arguments):
        return ToolUse("go", (), doubt="`go env -w` moves go's settings into a file the Dockerfile does not show")
    if verb == "clean" and any(argument in ("-modcache", "-cache") for argument in arguments):
        return ToolUse("go", (), doubt="`go clean` empties the cache")
    return None


def cargo_use(arguments: Sequence[str | None]) -> ToolUse | None:
    verb_at = verb_index(arguments)
    verb = arguments[verb_at] if verb_at is not None else None
    if verb is None or verb in CARGO_QUIET:
        return None
    return ToolUse(
        "cargo",
        (CARGO_REGISTRY, CARGO_GIT),
        offline=any(argument in ("--offline", "--frozen") for argument in arguments),
    )


def maven_use(arguments: Sequence[str | None]) -> ToolUse | None:
    if all(argument in VERSION_ONLY for argument in arguments):
        return None
    offline = any(argument in ("-o", "--offline") for argument in arguments)
    settings, _ = _option_value(arguments, ("-s", "--settings", "-gs", "--global-settings"))
    home, _ = _option_value(arguments, ("-Duser.home",))
    if settings or home or any(argument is None for argument in arguments):
        return ToolUse(
            "maven", (MAVEN_REPOSITORY,), offline, doubt="the command line may move Maven's local repository"
        )
    named, folder = _option_value(arguments, ("-Dmaven.repo.local",))
    literal_folder = _literal_folder(folder) if named else None
    if named and literal_folder is None:
        return ToolUse("maven", (MAVEN_REPOSITORY,), offline, doubt="`-Dmaven.repo.local` names no literal folder")
    return ToolUse(
        "maven",
        (MAVEN_REPOSITORY,),
        offline,
        {MAVEN_REPOSITORY: literal_folder} if literal_folder is not None else None,
    )


def gradle_use(wrapper: bool, arguments: Sequence[str | None]) -> ToolUse | None:
    version_only = all(argument in VERSION_ONLY for argument in arguments)
    caches = ((GRADLE_WRAPPER,) if wrapper else ()) + (() if version_only else (GRADLE_CACHES,))
    if not caches:
        return None
    offline = "--offline" in arguments
    home, _ = _option_value(arguments, ("-Duser.home",))
    if home or any(argument is None for argument in arguments):
        return ToolUse("gradle", caches, offline, doubt="the command line may move Gradle's user home")
    named, folder = _option_value(arguments, ("-g", "--gradle-user-home", "-Dgradle.user.home"))
    if named and _literal_folder(folder) is None:
        return ToolUse("gradle", caches, offline, doubt="the Gradle user home is not a literal folder")
    below = {GRADLE_CACHES: "caches", GRADLE_WRAPPER: "wrapper/dists"}
    return ToolUse(
        "gradle",
        caches,
        offline,
        {cache: posixpath.join(_literal_folder(folder) or "", below[cache]) for cache in caches} if named else None,
    )


def program_and_arguments(command: SimpleCommand) -> tuple[str | None, list[str | None]]:
    """The program as the rule reads it: `sh ./gradlew build` is the wrapper."""
    name, arguments = tool_and_arguments(command)
    if name in SHELLS and arguments and arguments[0] is not None and arguments[0].rsplit("/", 1)[-1] in PROGRAMS:
        return arguments[0].rsplit("/", 1)[-1], arguments[1:]
    return name, arguments


def tool_use(command: SimpleCommand) -> ToolUse | None:
    name, arguments = program_and_arguments(command)
    tool = PROGRAMS.get(name or "")
    if tool == "go":
        return go_use(arguments)
    if tool == "cargo":
        return cargo_use(arguments)
    if tool == "maven":
        return maven_use(arguments)
    if tool == "gradle":
        return gradle_use(name == "gradlew", arguments)
    return None


def uses_by_tool(stage: Stage) -> dict[str, list[tuple[Instruction, list[tuple[int, ToolUse]]]]]:
    """Each build tool the stage's RUNs use, with those RUNs and their commands (position, use) that use it: read
    once per stage, as every tool's family asks of the stages around it."""
    found: dict[str, list[tuple[Instruction, list[tuple[int, ToolUse]]]]] = {}
    for instruction in runs_to_read(stage):
        uses: dict[str, list[tuple[int, ToolUse]]] = {}
        for position, command in enumerate(instruction.shell_script.simple_commands()):
            use = tool_use(command)
            if use is not None:
                uses.setdefault(use.tool, []).append((position, use))
        for tool, tool_uses in uses.items():
            found.setdefault(tool, []).append((instruction, tool_uses))
    return found


def runs_to_read(stage: Stage) -> list[Instruction]:
    """The shell-form RUNs that may use a build tool, in file order: those the stage's index shows running one, or a
    shell that may run its wrapper (``program_and_arguments``), and those whose script did not parse, which the
    index leaves out (a family with one gets no mount). Most RUNs are neither: their commands are not read."""
    runs = [run for run, _ in runs_running(stage, TOOL_COMMANDS)]
    unparsed = [
        instruction
        for instruction in stage.instructions
        if instruction.cmd == "run" and (script := instruction.shell) is not None and script.has_error
    ]
    return sorted(runs + unparsed, key=lambda run: run.index) if unparsed else runs


def drives_builds(command: SimpleCommand) -> str | None:
    """The program, when the command may run a build tool out of sight: a build driver or a script."""
    name, arguments = tool_and_arguments(command)
    program = command.name_literal
    if name is None or program_and_arguments(command)[0] in PROGRAMS:
        return None
    if name in DRIVERS or name.endswith(".sh") or (program is not None and "/" in program and name not in PROGRAMS):
        return name
    if name in SHELLS and any(
        argument is None or not argument.startswith("-") or argument == "-c" for argument in arguments
    ):
        return name
    return None


def names_tool(words: Sequence[str], tool: str) -> bool:
    return any(PROGRAMS.get(word.rsplit("/", 1)[-1]) == tool for word in words)


def within(path: str, folder: str) -> bool:
    path, folder = posixpath.normpath(path), posixpath.normpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def related(path: str, folder: str) -> bool:
    """Whether either folder holds the other."""
    return within(path, folder) or within(folder, path)


class Family(Struct, frozen=True):
    """A stage whose RUNs use a tool and the later stages built on it: their RUNs share one cache, so they get the
    mount in one fix, or none."""

    stages: list[Stage]
    runs: list[tuple[Stage, Instruction, list[tuple[int, ToolUse]]]]


class MountPlan(Struct, frozen=True):
    """The mount edits of a family's RUNs, the targets they add in order, and the folder each tool cache is mounted
    at."""

    edits: list[Edit]
    targets: list[str]
    folders: dict[ToolCache, str]


class BuildCacheMount(Rule):
    """Keep go's, Cargo's, Maven's and Gradle's downloads and build cache in a BuildKit cache mount.

    What it does
        With `target = "buildkit"` (the default), finds RUNs that run `go` (`build`, `install`, `test`, `mod
        download`, ...), `cargo`, `mvn`/`./mvnw` or `gradle`/`./gradlew` in any stage, and mounts a build cache
        over what they download and compile: go's module cache (`GOMODCACHE`, else `$GOPATH/pkg/mod`, `~/go` by
        default) and build cache (`GOCACHE`, else `$XDG_CACHE_HOME/go-build`, `~/.cache/go-build`); Cargo's
        `$CARGO_HOME/registry` and `$CARGO_HOME/git` (`~/.cargo`), never the project's `target/`; Maven's
        `~/.m2/repository` (or `-Dmaven.repo.local`); Gradle's `$GRADLE_USER_HOME/caches` (`~/.gradle`) and, for
        the wrapper, `wrapper/dists`. Every RUN of the tool in the stage and in the stages built on it gets the mount
        in one fix. The official `golang` and `rust` images move the folders (`GOPATH=/go`,
        `CARGO_HOME=/usr/local/cargo`, as their Dockerfiles say); on `maven`, `gradle` and other images named after
        a tool, whose ENV is not known here, on a RUN as a named user, with a `settings.xml` copied in, or a
        variable set through something unreadable, it stays quiet. With `target = "legacy"` it never reports.

    Why
        A RUN re-runs whenever what was copied before it changes: after a source edit when it follows the source
        COPY, after a manifest edit otherwise. Each time, the tool downloads every dependency again, and go
        recompiles every package. A cache mount keeps them from one build to the next; in a stage that ships, it
        also keeps them out of the image.

    Example
        FROM golang:1.22 AS build
        RUN go mod download
        becomes
        FROM golang:1.22 AS build
        RUN --mount=type=cache,target=/go/pkg/mod go mod download

    Gain
        No claim of image size, rebuild steps or cache correctness: a cache mount makes repeated downloads
        cheaper, which dockerfix does not measure. Reported by default only when selected by its exact code
        (`--select DF205`).

    Fix safety
        Unsafe: it rests on the build machine keeping its cache (BuildKit may empty a cache mount between builds,
        the tool then downloads again), and in a stage that ships the image no longer holds the caches.
        Display-only (a suggestion) where something later may need them: the tool in CMD/ENTRYPOINT of a stage
        that ships (`go run`, `mvn spring-boot:run`), a later RUN of a build driver or a script that may run the
        tool without the mount, an offline run (`mvn -o`, `cargo --offline`, `gradle --offline`) that reads what
        an earlier RUN downloaded, a COPY into the folders or a `COPY --from` of them, or a RUN BuildKit runs as an
        exec form.
    """

    code = "DF205"
    name = "build-cache-mount"
    summary = "go, cargo, maven and gradle download and compile everything again each time their RUN re-runs."
    buildkit_syntax = "`RUN --mount=type=cache` over go's, Cargo's, Maven's and Gradle's caches"
    valid = (
        "FROM golang:1.22\n"
        "RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build go build ./...\n",
        "FROM golang:1.22\nRUN go version\n",
        "FROM maven:3.9-eclipse-temurin-21\nRUN mvn package\n",
        "FROM gradle:8-jdk21\nRUN gradle build\n",
        "FROM clux/muslrust:stable\nRUN cargo build --release\n",
        "FROM debian:12\nRUN apt-get install -y golang-go\nUSER builder\nRUN go build ./...\n",
        "FROM rust:1.80\n"
        "RUN --mount=type=cache,target=/usr/local/cargo/registry --mount=type=cache,target=/usr/local/cargo/git cargo "
        "fetch\n",
        "FROM eclipse-temurin:21\nCOPY settings.xml /root/.m2/settings.xml\nRUN ./mvnw package\n",
        "FROM golang:1.22\nENV GOMODCACHE=$HOME/mods\nRUN go mod download\n",
        "FROM golang:1.22\nRUN --mount=type=cache,target=/cache go build ./...\n",
        "FROM golang:1.8\nRUN go build ./...\n",
        "FROM eclipse-temurin:21\nRUN --mount=type=cache,target=/root/.m2/repository mvn -B package\n",
        "FROM eclipse-temurin:21\n"
        "RUN --mount=type=cache,target=/root/.gradle/caches --mount=type=cache,target=/root/.gradle/wrapper/dists "
        "./gradlew build\n",
        "FROM golang:1.15\nRUN go get github.com/example/tool\n",
        "FROM golang:1.22\nENV GO111MODULE=off\nCOPY go.mod .\nRUN go get -d ./...\n",
        "FROM golang:1.22\nRUN go build -o /app . && rm -rf /root/.cache/go-build\n",
    )
    invalid = (
        Example(
            "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\n"
            "RUN CGO_ENABLED=0 go build -o /out/app .\n"
            "FROM gcr.io/distroless/static\nCOPY --from=build /out/app /app\n",
            "FROM golang:1.22 AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\n"
            "RUN --mount=type=cache,target=/go/pkg/mod go mod download\n"
            "COPY . .\nRUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build "
            "CGO_ENABLED=0 go build -o /out/app .\nFROM gcr.io/distroless/static\nCOPY --from=build /out/app /app\n",
            unsafe=True,
        ),
        Example(
            "FROM debian:12\nRUN apt-get install -y golang-go\nENV GOPATH=/opt/go GOCACHE=/var/cache/go\nUSER 1000\n"
            "RUN go install example.com/tool@v1\n",
            "FROM debian:12\nRUN apt-get install -y golang-go\nENV GOPATH=/opt/go GOCACHE=/var/cache/go\nUSER 1000\n"
            "RUN --mount=type=cache,target=/opt/go/pkg/mod,uid=1000,gid=1000 "
            "--mount=type=cache,target=/var/cache/go,uid=1000,gid=1000 "
            "go install example.com/tool@v1\n",
            unsafe=True,
        ),
        Example(
            "FROM rust:1.80 AS build\nWORKDIR /app\nCOPY . .\nRUN cargo build --release\n",
            "FROM rust:1.80 AS build\nWORKDIR /app\nCOPY . .\n"
            "RUN --mount=type=cache,target=/usr/local/cargo/registry --mount=type=cache,target=/usr/local/cargo/git "
            "cargo build --release\n",
            unsafe=True,
        ),
        Example(
            "FROM debian:12\nRUN apt-get install -y cargo\nENV CARGO_HOME=/cargo\nRUN cargo install ripgrep\n",
            "FROM debian:12\nRUN apt-get install -y cargo\nENV CARGO_HOME=/cargo\n"
            "RUN --mount=type=cache,target=/cargo/registry --mount=type=cache,target=/cargo/git "
            "cargo install ripgrep\n",
            unsafe=True,
        ),
        Example(
            "FROM eclipse-temurin:21-jdk AS build\nWORKDIR /app\nCOPY . .\nRUN ./mvnw -B package -DskipTests\n",
            "FROM eclipse-temurin:21-jdk AS build\nWORKDIR /app\nCOPY . .\n"
            "RUN --mount=type=cache,target=/root/.m2/repository,sharing=locked ./mvnw -B package -DskipTests\n",
            unsafe=True,
        ),
        Example(
            "FROM eclipse-temurin:21-jdk\nWORKDIR /app\nCOPY . .\nRUN ./gradlew --no-daemon build\n"
            'CMD ["java", "-jar", "build/libs/app.jar"]\n',
            "FROM eclipse-temurin:21-jdk\nWORKDIR /app\nCOPY . .\n"
            "RUN --mount=type=cache,target=/root/.gradle/wrapper/dists --mount=type=cache,target=/root/.gradle/caches "
            "./gradlew --no-daemon build\n"
            'CMD ["java", "-jar", "build/libs/app.jar"]\n',
            unsafe=True,
        ),
        Example(
            "FROM eclipse-temurin:21-jdk\nENV GRADLE_USER_HOME=/gradle\nCOPY . .\nRUN gradle build\n",
            "FROM eclipse-temurin:21-jdk\nENV GRADLE_USER_HOME=/gradle\nCOPY . .\n"
            "RUN --mount=type=cache,target=/gradle/caches gradle build\n",
            unsafe=True,
        ),
        # the tool runs again when the container starts: the fix is only a suggestion
        Example(
            'FROM eclipse-temurin:21-jdk\nCOPY . .\nRUN mvn dependency:go-offline\nCMD ["mvn", "spring-boot:run"]\n',
            'FROM eclipse-temurin:21-jdk\nCOPY . .\nRUN mvn dependency:go-offline\nCMD ["mvn", "spring-boot:run"]\n',
            unsafe=True,
        ),
        # a script after the download may run go without the mount
        Example(
            "FROM golang:1.22\nCOPY go.mod ./\nRUN go mod download\nCOPY . .\nRUN make build\n",
            "FROM golang:1.22\nCOPY go.mod ./\nRUN go mod download\nCOPY . .\nRUN make build\n",
            unsafe=True,
        ),
        # a stage built on the stage that downloads gets the mount in the same fix
        Example(
            "FROM golang:1.22 AS deps\nRUN go mod download\nFROM deps AS build\nRUN go build -o /app\n",
            "FROM golang:1.22 AS deps\nRUN --mount=type=cache,target=/go/pkg/mod go mod download\nFROM deps AS build\n"
            "RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build go build -o "
            "/app\n",
            unsafe=True,
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        if not wants_mount(self, context):
            return
        used = {tool for stage in document.stages for tool in stage.facts(uses_by_tool)}
        if not used:  # most Dockerfiles: no family to look for
            return
        shipped = shipped_stages(document, self.option(context, "target-stage"))
        for tool in TOOLS:
            if tool not in used:
                continue
            claimed: set[int] = set()
            for stage in document.stages:
                if stage.index in claimed:
                    continue
                family = self.family(document, stage, tool)
                if family is None:
                    continue
                claimed.update(member.index for member in family.stages)
                plan = self.plan(document, family, tool)
                if plan is not None:
                    yield self.finding_for(document, family, tool, plan, shipped)

    @staticmethod
    def uses(stage: Stage, tool: str) -> list[tuple[Instruction, list[tuple[int, ToolUse]]]]:
        """The stage's RUNs that use ``tool``, each with its commands (position, use) that do."""
        return list(stage.facts(uses_by_tool).get(tool, ()))

    def family(self, document: Document, stage: Stage, tool: str) -> Family | None:
        """The stage and the stages built on it, when the stage uses the tool and no stage below it does."""
        if not self.uses(stage, tool) or any(self.uses(below, tool) for below in base_stages(document, stage)):
            return None
        stages = [stage, *stages_built_on(document, stage)]
        return Family(stages, [(member, run, uses) for member in stages for run, uses in self.uses(member, tool)])

    def plan(self, document: Document, family: Family, tool: str) -> MountPlan | None:
        """The mounts each RUN of the family gets; None when one of them cannot be mounted for certain, or the
        author already chose where the caches go."""
        edits = []
        targets: list[str] = []
        folders: dict[ToolCache, str] = {}
        for stage, run, uses in family.runs:
            if run.shell_script.has_error or any(use.doubt for _, use in uses):
                return None
            if any(
                use.needs_module_mode and not self.module_mode(document, stage, run, position) for position, use in uses
            ):
                return None
            image_environment = base_image_environment(document, stage)
            if image_environment is None or (tool == "go" and go_without_caches(document, stage)):
                return None
            mounts: list[Mount] = []
            for position, use in uses:
                for cache in self.caches(stage, run, position, use):
                    mount = self.mount(document, stage, run, position, use, cache, image_environment)
                    if (
                        mount is None
                        or folders.setdefault(cache, mount.target) != mount.target
                        # emptied or taken away, the cache would not be kept
                        or taken_away(stage, run, mount.target + "/x")
                    ):
                        return None
                    if mount not in mounts:
                        mounts.append(mount)
            missing = mounts_to_add(stage, run, mounts)
            if missing is None or any(self.authors_choice(held, mounts) for held in run_mounts(stage, run)):
                return None
            if missing:
                edits.append(mount_edit(run, missing))
                targets.extend(mount.target for mount in missing if mount.target not in targets)
        return MountPlan(edits, targets, folders) if edits else None

    def finding_for(
        self, document: Document, family: Family, tool: str, plan: MountPlan, shipped: frozenset[int]
    ) -> Finding:
        edits, targets, folders = plan.edits, plan.targets, plan.folders
        _, first_run, first_uses = family.runs[0]
        command = first_run.shell_script.simple_commands()[first_uses[0][0]]
        ships = any(stage.index in shipped for stage in family.stages)
        reason = self.later_need(document, family, tool, set(folders.values()), shipped)
        listed = ", ".join(f"`{target}`" for target in targets)
        runs = len(edits)
        title = (
            f"Mount build caches over {listed} in {runs} RUN{'s' if runs > 1 else ''} (needs BuildKit; the next build "
            f"reuses them{', and the image no longer holds them' if ships else ''})"
        )
        if reason:
            title += f"; check first: {reason}"
        redone = " and ".join(WHAT_IS_REDONE[cache] for cache in folders)
        message = (
            f"each time {'these RUNs re-run' if runs > 1 else 'this RUN re-runs'}, {tool} {redone}; a cache mount "
            f"over {listed} keeps them from one build to the next"
        )
        if ships:
            message += " (in this stage, which ships, it also keeps them out of the image)"
        fix = self.fix(
            title,
            edits,
            Applicability.DISPLAY_ONLY if reason else Applicability.UNSAFE,
            ContentChange(removes=tuple(targets)),
        )
        start = first_run.arguments_to_source(command.start)
        end = first_run.arguments_to_source(command.end, end=True)
        return self.finding(message, start, end, fix, Savings(layers=0, rebuilt_steps_after_source_edit=0))

    @staticmethod
    def authors_choice(held: RunMount, mounts: Sequence[Mount]) -> bool:
        """Whether a mount of the RUN says the author decided where the caches go, theirs to judge: a cache over a
        folder this rule does not expect, or another kind of mount over one it does (modules bound from another
        stage, a tmpfs that empties them)."""
        if held.type == "cache":
            return held.target not in {mount.target for mount in mounts}
        return held.target is not None and any(within(mount.target, held.target) for mount in mounts)

    @staticmethod
    def mount(
        document: Document,
        stage: Stage,
        run: Instruction,
        position: int,
        use: ToolUse,
        cache: ToolCache,
        image_environment: Mapping[str, str],
    ) -> Mount | None:
        if use.tool in ("maven", "gradle"):
            environment = reading(stage, run).environments[position]
            if any(JAVA_FOLDER_PROPERTIES.search(environment.get(name, "")) for name in JAVA_VARIABLES):
                return None
            if any(
                instruction.cmd in ("copy", "add") and any("settings.xml" in word for word in instruction.value)
                for member in (stage, *base_stages(document, stage))
                for instruction in member.instructions
            ):
                return None  # a settings.xml may name another local repository
        named = (use.folders or {}).get(cache)
        if named is not None:
            return Mount(named, cache.sharing) if runs_as_root(stage, run) else None
        return cache_mount(document, stage, run, position, cache, image_environment)

    @staticmethod
    def caches(stage: Stage, run: Instruction, position: int, use: ToolUse) -> tuple[ToolCache, ...]:
        """The caches the command uses: in GOPATH mode (GO111MODULE=off) go has no module cache."""
        if use.tool == "go" and reading(stage, run).environments[position].get("GO111MODULE") == "off":
            return tuple(cache for cache in use.caches if cache is not GO_MODULES)
        return use.caches

    @staticmethod
    def module_mode(document: Document, stage: Stage, run: Instruction, position: int) -> bool:
        """Whether go runs in module mode at that command, as far as the Dockerfile shows: GO111MODULE=on, a golang
        image of go 1.16 or later, or a go.mod copied in before (in the stage or a stage below), unless
        GO111MODULE=off."""
        setting = reading(stage, run).environments[position].get("GO111MODULE")
        if setting in ("on", "off"):
            return setting == "on"
        version = golang_image_version(document, stage)
        if version is not None and (version == () or version >= FIRST_GO_IN_MODULE_MODE):
            return True
        return any(
            instruction.cmd in ("copy", "add")
            and instruction.index < run.index
            and any(word.rstrip("/").endswith("go.mod") for word in instruction.value[:-1])
            for member in (stage, *base_stages(document, stage))
            for instruction in member.instructions
        )

    def later_need(
        self, document: Document, family: Family, tool: str, folders: set[str], shipped: frozenset[int]
    ) -> str | None:
        """What may need the cached folders without the mount, as a reason to check before applying; None if nothing."""
        if any(use.offline for _, _, uses in family.runs for _, use in uses):
            return "an offline run reads what was downloaded before it, which an emptied cache mount no longer holds"
        first_run = family.runs[0][1]
        names = {name for stage in family.stages for name in (stage.name, str(stage.index)) if name}
        for stage in family.stages:
            for instruction in stage.instructions:
                later = stage is not family.stages[0] or instruction.index > first_run.index
                if instruction.cmd == "run" and later:
                    if instruction.is_json and names_tool(instruction.value, tool):
                        return f"the exec-form RUN on line {instruction.start_line} runs {tool} without the mount"
                    driver = next(
                        (
                            name
                            for command in (instruction.shell.simple_commands() if instruction.shell else ())
                            if (name := drives_builds(command)) is not None
                        ),
                        None,
                    )
                    if driver is not None:
                        return f"`{driver}` on line {instruction.start_line} may run {tool} without the mount"
                if (
                    instruction.cmd in ("copy", "add")
                    and instruction.flag("from") is None
                    and len(instruction.value) > 1
                ):
                    destination = posixpath.join(workdir_at(stage, instruction) or "", instruction.value[-1])
                    if any(within(destination, folder) for folder in folders):
                        return f"the {instruction.keyword} on line {instruction.start_line} writes into a cached folder"
                if (
                    instruction.cmd in ("cmd", "entrypoint")
                    and stage.index in shipped
                    and self.runs_tool(instruction, tool)
                ):
                    return (
                        f"the container runs {tool} ({instruction.keyword} on line {instruction.start_line}) and "
                        "finds no cache"
                    )
        for stage in document.stages:
            for instruction in stage.instructions:
                source = instruction.flag("from")
                if instruction.cmd == "copy" and source is not None and (source.value or "").lower() in names:
                    if any(related(path, folder) for path in instruction.value[:-1] for folder in folders):
                        return f"the COPY --from on line {instruction.start_line} copies a cached folder"
        return None

    @staticmethod
    def runs_tool(instruction: Instruction, tool: str) -> bool:
        if instruction.is_json or instruction.shell is None:
            return names_tool(" ".join(instruction.value).split(), tool)
        return any(
            PROGRAMS.get(program_and_arguments(command)[0] or "") == tool
            for command in instruction.shell.simple_commands()
        )
