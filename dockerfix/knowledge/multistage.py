"""Splitting a final stage that builds and then runs into a build stage and a runtime stage (DF304).

``plan`` reads the stage: which ecosystem builds (Go, Node, Python, Java, Rust), the build RUN, the artifact the
CMD/ENTRYPOINT uses, and which instructions go to which stage. ``render`` writes the two stages.
``promises`` is what the final image declares (CMD, ENTRYPOINT, USER, WORKDIR, ENV, EXPOSE, LABEL, VOLUME,
HEALTHCHECK, STOPSIGNAL, SHELL): the split must keep it, and the tests and the benchmark check that it does."""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Any

from msgspec import Struct, field

from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.shell import SimpleCommand

from .analysis import Invocation, shell_runs, tool_and_arguments, workdir_at
from .baseimages import Identified, apt_installed, data, installed_with, is_build_only_apt_package, measurements
from .dependencies import ContextFiles, json_object
from .shellfacts import Role, role

PROMISES = (
    "cmd",
    "entrypoint",
    "user",
    "workdir",
    "env",
    "expose",
    "label",
    "volume",
    "healthcheck",
    "stopsignal",
    "shell",
)
RUNTIME_ONLY = {"cmd", "entrypoint", "expose", "volume", "healthcheck", "stopsignal", "label", "maintainer", "onbuild"}
BOTH = {"env", "arg", "workdir", "user", "shell"}
ECOSYSTEM_OF_FAMILY = {
    "golang": "go",
    "node": "node",
    "python": "python",
    "rust": "rust",
    "maven": "java",
    "gradle": "java",
    "eclipse-temurin": "java",
    "openjdk": "java",
}
PATH_FOLDERS = ("/usr/local/bin", "/usr/bin", "/bin", "/go/bin", "/usr/local/sbin", "/usr/local/cargo/bin")
BUILD_NAMES = ("build", "builder", "compile", "build-stage")
# The programs a Node runtime image provides on PATH: any other bare name in CMD comes from the build stage
NODE_PROGRAMS = {"node", "npm", "npx", "yarn"}
# The Node package managers that run a package.json script by name (`npm start`, `npm run preview`, `yarn dev`)
SCRIPT_RUNNERS = {"npm", "yarn", "pnpm"}
NPM_VERBS_THAT_RUN_A_SCRIPT = {"start", "restart", "stop", "test"}
NPM_DEFAULT_START = "node server.js"  # what `npm start` runs when package.json has no start script
# Words of a script that run the words after them rather than a program of their own
RUNS_WHAT_FOLLOWS = {"exec", "env"}
# Commands after the build that write nothing but what a redirection sends (judged on its own)
WRITE_NOTHING = {
    "echo",
    "printf",
    "true",
    "false",
    ":",
    "test",
    "[",
    "ls",
    "cat",
    "du",
    "pwd",
    "id",
    "whoami",
    "exit",
    "set",
}
# Commands after the build that write only the paths they are given, after the options: every one (`all`), the
# destination (`last`), or all but a mode or owner (`skip_first`)
WRITES_PATHS = {
    "mkdir": "all",
    "touch": "all",
    "strip": "all",
    "chmod": "skip_first",
    "chown": "skip_first",
    "chgrp": "skip_first",
    "cp": "last",
    "mv": "last",
    "install": "last",
    "ln": "last",
}
DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr")


def promises(document: Document) -> dict[str, Any]:
    """What the final stage's own instructions declare, as the image config would hold it."""
    stage = document.stages[-1]
    config: dict[str, Any] = {"env": {}, "label": {}, "expose": set(), "volume": set()}
    for instruction in stage.instructions[1:]:
        cmd = instruction.cmd
        if cmd not in PROMISES:
            continue
        if cmd in ("env", "label"):
            values = instruction.value
            config[cmd].update(zip(values[0::2], values[1::2], strict=True))
        elif cmd in ("expose", "volume"):
            config[cmd].update(instruction.value)
        elif cmd == "workdir":
            target = instruction.value[0] if instruction.value else ""
            config["workdir"] = posixpath.normpath(posixpath.join(config.get("workdir", "/"), target))
        else:
            config[cmd] = (instruction.is_json, instruction.value)
    return config


class Plan(Struct):
    ecosystem: str
    values: dict[str, Any]
    incomplete: list[str] = field(default_factory=list)
    added_env: tuple[str, ...] = ()

    def render(self, newline: str) -> str:
        """Two stages from one: the original steps build in the first, the second starts from a smaller image and
        receives only the artifact, then every instruction that defines what the final image promises."""
        values = self.values
        setup, finish, artifact = _ecosystem_steps(self.ecosystem, values)
        runtime_apt = values["runtime_apt"]
        lines = [
            f"FROM {values['from_flags']}{values['build_image']} AS {values['build_name']}",
            *values["build_before"],
            *setup,
            *values["build_after"],
            *finish,
            "",
            f"FROM {values['from_flags']}{values['runtime_image']}",
            *(
                [
                    "RUN apt-get update \\",
                    f"    && apt-get install -y --no-install-recommends {' '.join(runtime_apt)} \\",
                    "    && rm -rf /var/lib/apt/lists/*",
                ]
                if runtime_apt
                else []
            ),
            *values["runtime_before"],
            *artifact,
            *values["runtime_after"],
        ]
        return "".join(f"{line}\n" for line in lines).replace("\r\n", "\n").replace("\n", newline)


def _ecosystem_steps(ecosystem: str, values: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """What an ecosystem adds to the split: the build stage's setup before the build (Python's venv) and its finish
    after it (Node's pruned dependencies), and the lines that copy the artifact into the runtime stage."""
    build_name, artifact = values["build_name"], values["artifact"]
    copy_artifact = f"COPY --from={build_name}{values['chown']} {artifact}"
    if ecosystem == "python":
        venv, on_path = values["venv"], f'ENV PATH="{values["venv"]}/bin:$PATH"'
        copies = [f"COPY --from={build_name} {venv} {venv}", on_path]
        return (
            [f"RUN python -m venv {venv}", on_path],
            [],
            copies + ([f"{copy_artifact} {artifact}"] if artifact else []),
        )
    if ecosystem == "node":
        return [], [f"RUN {values['prune']}"], [f"{copy_artifact} {artifact}"]
    if ecosystem == "java":
        return [], [], [f"{copy_artifact} {values['artifact_folder']}/"]
    # a static Go binary goes to `scratch`, which has no certificates: it gets the build image's
    certificates = f"COPY --from={build_name} /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/"
    static_go = ecosystem == "go" and values["static"]
    return [], [], [*([certificates] if static_go else []), f"{copy_artifact} {artifact}"]


def _text(document: Document, instruction: Instruction) -> str:
    """The instruction as written, with its comment lines, without the final line ending."""
    start = instruction.leading_comments[0].line.start if instruction.leading_comments else instruction.span[0]
    return document.text[start : instruction.end]


def _build_command(ecosystem: str, command: SimpleCommand) -> bool:
    name, arguments = tool_and_arguments(command)
    words = [a for a in arguments if a is not None]
    verb = Invocation.of(command).verb
    if ecosystem == "go":
        return name == "go" and verb == "build"
    if ecosystem == "node":
        return (name in ("npm", "yarn", "pnpm") and "build" in words[:2]) and (verb == "build" or verb == "run")
    if ecosystem == "java":
        if name in ("mvn", "mvnw", "./mvnw"):
            return any(goal in words for goal in ("package", "install", "verify"))
        return name in ("gradle", "gradlew", "./gradlew") and any(
            task in words for task in ("build", "bootJar", "shadowJar", "assemble", "jar", "installDist")
        )
    if ecosystem == "rust":
        return name == "cargo" and verb == "build" and "--release" in words
    return name in ("pip", "pip3") and verb == "install"


def _program(stage: Stage) -> tuple[Instruction, list[str]] | None:
    """The last ENTRYPOINT (or else CMD) and its words."""
    for keyword in ("entrypoint", "cmd"):
        found = [i for i in stage.instructions if i.cmd == keyword]
        if found:
            instruction = found[-1]
            words = list(instruction.value) if instruction.is_json else instruction.arguments.split()
            return (instruction, words) if words else None
    return None


def _absolute(path: str, folder: str | None) -> str | None:
    if path.startswith("/"):
        return posixpath.normpath(path)
    return None if folder is None else posixpath.normpath(posixpath.join(folder, path))


def _outputs(stage: Stage, build: Instruction, option: str) -> list[str]:
    """Literal values of ``option`` (e.g. `-o`) and the targets of cp/mv/install in the build RUN and later RUNs."""
    found = []
    for run, commands in shell_runs(stage):
        if run.index < build.index:
            continue
        folder = workdir_at(stage, run)
        for command in commands:
            name, arguments = tool_and_arguments(command)
            words = [a for a in arguments if a is not None]
            if name in ("cp", "mv", "install") and len(words) >= 2:
                found.append(_absolute(words[-1], folder) or "")
            for position, word in enumerate(words[:-1]):
                if word == option:
                    found.append(_absolute(words[position + 1], folder) or "")
    return [path for path in found if path]


def _artifact(
    ecosystem: str, stage: Stage, build: Instruction, program: list[str], workdir: str | None
) -> tuple[str | None, str | None]:
    """(artifact path, reason it is uncertain)."""
    if ecosystem in ("node", "python"):
        folder = workdir_at(stage, build)
        return (folder, None) if folder and folder != "/" else (None, "the build does not run in a WORKDIR of its own")
    if ecosystem == "java":
        jar = program[program.index("-jar") + 1] if "-jar" in program[:-1] else None
        path = _absolute(jar, workdir) if jar else None
        if path is None:
            return None, "the command does not run `java -jar` on a file under a known WORKDIR"
        return path, None if re.search(
            r"/(target|build/libs)/", path
        ) else f"`{jar}` is not where Maven or Gradle writes jars"
    executable = program[0]
    outputs = _outputs(stage, build, "-o")
    if "/" not in executable:
        matches = [
            path
            for path in outputs
            if posixpath.basename(path) == executable and posixpath.dirname(path) in PATH_FOLDERS
        ]
        return (
            (matches[-1], None)
            if matches
            else (None, f"`{executable}` is found through PATH and no build output names it")
        )
    path = _absolute(executable, workdir)
    if path is None:
        return None, "the program path is relative and the WORKDIR comes from the base image"
    if ecosystem == "rust" and "/target/release/" in path:
        return path, None
    return path, None if path in outputs else f"no build output is written to `{path}` that dockerfix can see"


def _published(reference: str) -> bool:
    """Whether the shipped measurements of official images list this tag: the proof that it exists."""
    return any(measurement.reference == reference for measurement in measurements())


def _runtime_image(ecosystem: str, identified: Identified, stage: Stage, static: bool) -> str:
    runtimes = data()["runtimes"]
    if identified.variant.name == "alpine":
        if ecosystem in ("go", "rust"):  # the program is the copied binary, linked against Alpine's musl
            return runtimes["alpine"]
        # node, python and java run the program with the image's own runtime: stay on it, or on the JRE variant
        # of the same family when the measurements show that tag
        jre = f"{identified.family}:{identified.version}-jre-alpine"
        return jre if ecosystem == "java" and _published(jre) else stage.from_instruction.value[0]
    if ecosystem == "go" and static:
        return "scratch"
    if ecosystem in ("go", "rust"):
        return runtimes["debian"].format(release=identified.release or "bookworm")
    if ecosystem == "java":
        match = re.search(r"(?:jdk|temurin-|openjdk-|corretto-)(\d+)", stage.base_image) or (
            re.match(r"(\d+)", identified.version) if identified.family in ("eclipse-temurin", "openjdk") else None
        )
        return runtimes["jre"].format(java=match.group(1) if match else runtimes["default_java"])
    family = data()["families"][identified.family]
    version = identified.version if identified.version and identified.version != "latest" else ""
    return f"{identified.family}:{identified.tag_for('slim') if version else family['default_runtime']}"


def _inside(path: str, artifact: str) -> bool:
    return path == artifact or path.startswith(artifact.rstrip("/") + "/")


def _written_paths(name: str, arguments: list[str | None]) -> list[str | None] | None:
    """The paths a command after the build writes (None where a path is not literal); None for a command whose
    effects dockerfix does not know."""
    if name in WRITE_NOTHING:
        return []
    shape = WRITES_PATHS.get(name)
    if shape is None:
        return None
    paths = [argument for argument in arguments if argument is None or not argument.startswith("-")]
    if shape == "skip_first":
        return paths[1:]
    return paths[-1:] if shape == "last" else paths


def _after_build(
    run: Instruction, commands: list[SimpleCommand], ecosystem: str, artifact: str, folder: str | None
) -> str | None:
    """Why what the build RUN does after its build command may be left behind in the build stage, or None: every
    later command and redirection must write inside the artifact (which is copied) or only remove files."""
    build = [command for command in commands if _build_command(ecosystem, command)][-1]
    if any(tool_and_arguments(command)[0] in ("cd", "pushd", "popd") for command in commands):
        folder = None  # relative paths no longer resolve against the WORKDIR
    for command in commands:
        if command.start < build.end:
            continue
        name, arguments = tool_and_arguments(command)
        if role(name, arguments) is Role.CLEANUP:
            continue
        written = _written_paths(name or "", arguments)
        paths = [_absolute(path, folder) if path is not None else None for path in written or ()]
        if written is None or not all(path is not None and _inside(path, artifact) for path in paths):
            shown = " ".join([name or "?", *(argument or "…" for argument in arguments)][:4])
            return (
                f"the build RUN on line {run.start_line} runs `{shown}` after the build: what it makes outside "
                f"`{artifact}` would stay behind in the build stage"
            )
    for target in run.shell_script.output_targets:
        path = _absolute(target.literal, folder) if target.literal is not None else None
        if target.start > build.start and path not in DEVICES and not (path and _inside(path, artifact)):
            return (
                f"the build RUN on line {run.start_line} writes `{target.text}` after the build: it would stay "
                f"behind in the build stage"
            )
    return None


def _new_stage_name(document: Document) -> str:
    """A build stage name nothing in the file uses (stage names, `--from` values and base images, compared
    case-insensitively as BuildKit does): one of ``BUILD_NAMES`` or the first free `build-N`."""
    used = {stage.name for stage in document.stages if stage.name} | {
        stage.base_image.lower() for stage in document.stages
    }
    used |= {
        flag.value.lower()
        for instruction in document.instructions
        for flag in instruction.flags
        if flag.name == "from" and flag.value
    }
    candidates = (*BUILD_NAMES, *(f"build-{number}" for number in range(2, len(used) + 3)))
    return next(name for name in candidates if name not in used)


def _prune(stage: Stage) -> str:
    tools = {tool_and_arguments(c)[0] for _, commands in shell_runs(stage) for c in commands}
    if "pnpm" in tools:
        return "pnpm prune --prod"
    if "yarn" in tools:
        return "yarn install --production --frozen-lockfile --ignore-scripts"
    return "npm prune --omit=dev"


def _script_name(command: list[str]) -> str | None:
    """The package.json script a command of a script runner runs (`npm run preview`: `preview`), or None."""
    runner, words = command[0], [word for word in command[1:] if not word.startswith("-")]
    if runner not in SCRIPT_RUNNERS or not words:
        return None
    if words[0] in ("run", "run-script"):
        return words[1] if len(words) > 1 else None
    if runner == "npm":
        return words[0] if words[0] in NPM_VERBS_THAT_RUN_A_SCRIPT else None
    return words[0]  # yarn and pnpm run a script named as their first word


def _script_commands(script: str) -> list[list[str]] | None:
    """The commands of a package script's shell line (`a && b | c`), each as its words from its program on; None
    when the line cannot be split (an unclosed quote)."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token and set(token) <= set("();<>|&"):
            commands.append([])
        elif commands[-1] or not re.match(r"[A-Za-z_][A-Za-z0-9_]*=", token):  # leading assignments set the env
            commands[-1].append(token)
    return [command for command in commands if command]


def _gone_after_prune(words: list[str], context: ContextFiles | None) -> str | None:
    """Why the Node runtime stage, which keeps the production dependencies only, may not have what a command that
    runs a package script (`npm run preview`) or a package's program (`npx vite`) needs; None when it has it all.
    Each script is read once, so scripts that run each other end."""
    text = context.read_text("package.json") if context is not None else None
    try:
        package = json_object(text) if text is not None else None
    except ValueError:
        package = None
    scripts = package.get("scripts") if package is not None else None
    scripts = scripts if isinstance(scripts, dict) else {}
    production = package.get("dependencies") if package is not None else None
    production = production if isinstance(production, dict) else {}
    pending, read = [words], set()
    while pending:
        command = pending.pop()
        while command and command[0] in RUNS_WHAT_FOLLOWS:
            command = command[1:]
        if not command:
            continue
        if package is None:
            return f"`{' '.join(words)}` runs what package.json names, and dockerfix cannot read package.json"
        name = _script_name(command)
        if name is not None:
            script = scripts.get(name, NPM_DEFAULT_START if (command[0], name) == ("npm", "start") else None)
            if name in read or not isinstance(script, str):
                continue  # read already, or no such script: the original fails the same way
            read.add(name)
            commands = _script_commands(script)
            if commands is None:
                return f"dockerfix cannot split the package script `{name}` (`{script}`)"
            pending += commands
            continue
        program = command[0]
        if program == "npx":
            program = next((word for word in command[1:] if not word.startswith("-")), "npx")
        if program in NODE_PROGRAMS or "/" in program or program in production:
            continue
        return (
            f"`{program}`, which `{' '.join(words)}` runs, is not a production dependency in package.json: the "
            "runtime stage keeps those only"
        )
    return None


class _Build(Struct, frozen=True):
    """What the final stage builds and runs: its toolchain, the build RUN, the program CMD/ENTRYPOINT starts and the
    artifact it uses, and what about them the split cannot settle (``notes``)."""

    stage: Stage
    ecosystem: str
    runs: list[tuple[Instruction, list[SimpleCommand]]]
    build: Instruction
    program: tuple[Instruction, list[str]]
    artifact: str
    installed: set[str]  # apt packages
    notes: list[str]


class _Layout(Struct):
    """The stage's instructions as the build and runtime stages take them (texts), split around the build RUN."""

    build_before: list[str] = field(default_factory=list)  # before the dependency setup
    build_after: list[str] = field(default_factory=list)
    runtime_before: list[str] = field(default_factory=list)  # before the build RUN
    runtime_after: list[str] = field(default_factory=list)
    runtime_runs: bool = False  # a RUN is kept in the runtime stage
    user: str | None = None  # the USER in force at the build
    notes: list[str] = field(default_factory=list)


def plan(document: Document, identified: Identified, context: ContextFiles | None = None) -> Plan | None:
    """How to split the final stage, or None when it does not build with a recognised toolchain. ``context``: the
    build context, where package.json says what a Node command's package script runs."""
    found = _build_in(document.stages[-1], identified, context)
    if found is None:
        return None
    stage, ecosystem = found.stage, found.ecosystem
    layout = _layout(document, found)
    runtime_apt = sorted(name for name in found.installed if not is_build_only_apt_package(name))
    static = (
        ecosystem == "go"
        and "CGO_ENABLED=0" in document.text[stage.from_instruction.start :]
        and not layout.runtime_runs
        and not runtime_apt
        and (layout.user is None or layout.user.split(":")[0].isdigit())
        and found.program[0].is_json
    )
    runtime_image = _runtime_image(ecosystem, identified, stage, static)
    incomplete = [*found.notes, *layout.notes, *_runtime_notes(found, runtime_image, runtime_apt)]
    from_value = stage.from_instruction.value
    if stage.name:
        # the name keeps the FROM line it was written on, and `--target` on it now stops before the runtime stage
        build_name = from_value[2]
        incomplete.append(
            f"the stage is named `{build_name}`: `docker build --target {build_name}` would build the build stage, "
            "not this image"
        )
    else:
        build_name = _new_stage_name(document)
    values = {
        "from_flags": "".join(f"{flag.text} " for flag in stage.from_instruction.flags),
        "build_image": from_value[0],
        "build_name": build_name,
        "runtime_image": runtime_image,
        "build_before": layout.build_before,
        "build_after": layout.build_after,
        "runtime_before": layout.runtime_before,
        "runtime_after": layout.runtime_after,
        "runtime_apt": runtime_apt,
        "artifact": found.artifact,
        "artifact_folder": posixpath.dirname(found.artifact),
        "chown": f" --chown={layout.user}" if layout.user and layout.user not in ("root", "0", "0:0") else "",
        "static": static,
        "prune": _prune(stage),
        "venv": "/opt/venv",
    }
    return Plan(ecosystem, values, incomplete, ("PATH",) if ecosystem == "python" else ())


def _build_in(stage: Stage, identified: Identified, context: ContextFiles | None) -> _Build | None:
    """The stage's build, when its toolchain is recognised and its program's artifact found (None otherwise, and for
    a Python stage that installs no compiler: a pip install without one needs no build stage)."""
    ecosystem = ECOSYSTEM_OF_FAMILY.get(identified.family)
    if ecosystem is None:
        return None
    runs = list(shell_runs(stage))
    builds = [run for run, commands in runs if any(_build_command(ecosystem, c) for c in commands)]
    installed = apt_installed(stage)
    if ecosystem == "python" and not any(is_build_only_apt_package(name) for name in installed):
        return None
    program = _program(stage)
    if not builds or program is None:
        return None
    build = builds[-1]
    artifact, uncertain = _artifact(ecosystem, stage, build, program[1], workdir_at(stage, program[0]))
    if artifact is None:
        return None
    notes = [uncertain] if uncertain else []
    build_commands = next(commands for run, commands in runs if run is build)
    left_behind = _after_build(build, build_commands, ecosystem, artifact, workdir_at(stage, build))
    if left_behind:
        notes.append(left_behind)
    executable = program[1][0]
    if ecosystem == "node" and "/" not in executable and executable not in NODE_PROGRAMS:
        notes.append(f"`{executable}` is found through PATH: dockerfix does not know that the runtime stage has it")
    if ecosystem == "node" and executable in SCRIPT_RUNNERS | {"npx"}:
        gone = _gone_after_prune(program[1], context)
        if gone:
            notes.append(gone)
    return _Build(stage, ecosystem, runs, build, program, artifact, installed, notes)


def _layout(document: Document, found: _Build) -> _Layout:
    """Runtime-only instructions go to the runtime stage; the rest up to the build RUN to the build stage (around the
    dependency setup, for Python the first pip build), and those the runtime needs too (ENV, USER, light RUNs) or
    that come after the build to the runtime stage."""
    layout = _Layout()
    commands_of = {run.index: commands for run, commands in found.runs}
    setup_index = (
        found.build.index
        if found.ecosystem != "python"
        else next(run.index for run, commands in found.runs if any(_build_command("python", c) for c in commands))
    )
    for instruction in found.stage.instructions[1:]:
        text = _text(document, instruction)
        after_build = instruction.index > found.build.index
        runtime = layout.runtime_after if after_build else layout.runtime_before
        if instruction.cmd == "user" and not after_build:
            layout.user = instruction.value[0] if instruction.value else None
        if instruction.cmd in RUNTIME_ONLY:
            runtime.append(text)
            continue
        if not after_build:
            (layout.build_before if instruction.index < setup_index else layout.build_after).append(text)
        kept, note = _runtime_keeps(instruction, commands_of.get(instruction.index), after_build)
        if kept:
            runtime.append(text)
            layout.runtime_runs = layout.runtime_runs or instruction.cmd == "run"
        if note:
            layout.notes.append(note)
    return layout


def _runtime_keeps(
    instruction: Instruction, commands: list[SimpleCommand] | None, after_build: bool
) -> tuple[bool, str | None]:
    """Whether the runtime stage also takes an instruction that is not runtime-only, and what to say about it: a RUN
    after the build is kept there, where the build tools are gone."""
    if instruction.cmd in BOTH:
        return True, None
    if instruction.cmd == "run":
        if commands is not None and all(role(*tool_and_arguments(c)) in (Role.LIGHT, Role.CLEANUP) for c in commands):
            return True, None
        if after_build:
            return True, (
                f"the RUN on line {instruction.start_line} runs after the build; it is kept in the runtime stage, "
                "where the build tools are gone"
            )
        return False, None
    return after_build and instruction.cmd in ("copy", "add"), None


def _runtime_notes(found: _Build, runtime_image: str, runtime_apt: list[str]) -> list[str]:
    """What the runtime stage may lack: libraries behind -dev headers, an image no measurement shows, apt packages on
    Alpine, packages added with apk."""
    notes = []
    headers = sorted(name for name in found.installed if name.endswith("-dev"))
    if headers:
        notes.append(f"the stage installs {', '.join(headers)}: the run-time libraries they link must be named by hand")
    if (
        found.ecosystem == "java"
        and runtime_image != found.stage.from_instruction.value[0]
        and not _published(runtime_image)
    ):
        notes.append(f"no measurement shipped with dockerfix shows that `{runtime_image}` exists")
    if runtime_image.startswith("alpine") and runtime_apt:
        notes.append("the runtime stage is Alpine: the apt packages must be named for apk")
    apk_runtime = sorted(
        name for name in installed_with(found.stage, ("apk",), "add") if not is_build_only_apt_package(name)
    )
    if apk_runtime:
        notes.append(f"the stage adds {', '.join(apk_runtime)} with apk: the runtime stage does not have them")
    return notes
