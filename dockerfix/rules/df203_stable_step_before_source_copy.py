"""DF203: a RUN that reads nothing the source COPY wrote belongs above it."""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Iterator

from msgspec import Struct

from dockerfix.knowledge.analysis import copy_destination, mount_options, source_copies, steps_from, tool_and_arguments
from dockerfix.knowledge.shellfacts import PackageManager, manager_of, subcommand
from dockerfix.rewriter.document import BlankLine, Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, Edit, Finding, Savings
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Example, Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand

# Folders that package installs, users and the system write to: a source copied into one of them may be overwritten
# or merged with what a moved step writes there, in an order the move would change.
SYSTEM_FOLDERS = (
    "/etc",
    "/var",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/dev",
    "/proc",
    "/sys",
    "/run",
    "/tmp",
    "/srv/www",
)
# ... except folders inside the conventional source folders below them, which no package installs into
SOURCE_FOLDERS_UNDER_SYSTEM = ("/usr/src", "/usr/local/src")
# Folders that hold what packages and users add (`/opt/<package>`, `/home/<user>`): the source may go below them,
# not into them
SHARED_FOLDERS = ("/opt", "/home", "/srv", "/mnt", "/media", "/usr/src", "/usr/local/src")
# Instructions that only set image configuration: a RUN may move across them (when they expand no variable that a
# moved ENV/ARG would then set earlier)
CONFIG_ONLY = frozenset({"label", "expose", "cmd", "entrypoint", "healthcheck", "stopsignal", "maintainer", "onbuild"})
# Instructions that change what a RUN after them does and cannot move along: user, working folder, shell; and a
# VOLUME, after which the classic builder discards what a RUN writes there
BLOCKING = frozenset({"user", "workdir", "shell", "volume", "copy", "add"})
OS_PACKAGE_MANAGERS = ("apt", "apk", "yum", "zypper")
# Commands that write only the paths they are given (absolute, checked against the source's folder)
PATH_COMMANDS = frozenset({"mkdir", "rm", "rmdir", "touch", "chmod", "chown", "chgrp", "ln"})
USER_COMMANDS = frozenset({"useradd", "adduser", "groupadd", "addgroup", "usermod", "groupmod"})
# Options of those commands that take no value and name no path
PATH_COMMAND_OPTION = LazyPattern(r"^(-[prRfsvnhLPH]+|--(parents|recursive|force|symbolic|verbose|no-dereference))$")
# Commands that touch only system state and read no path they are not given
SYSTEM_COMMANDS = frozenset({"true", ":", "set", "ldconfig", "update-ca-certificates", "locale-gen", "echo"})
# pip options whose value is a path or a file of requirements, read from the working folder when relative
PIP_PATH_OPTIONS = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-e",
        "--editable",
        "-f",
        "--find-links",
        "-t",
        "--target",
        "--prefix",
        "--root",
        "--src",
        "--build",
        "-b",
    }
)
PIP_VALUE_OPTIONS = frozenset(
    {
        "-i",
        "--index-url",
        "--extra-index-url",
        "--trusted-host",
        "--timeout",
        "--default-timeout",
        "--retries",
        "--progress-bar",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
    }
)
# pip installs a name with one of these endings as a local archive file
ARCHIVE_ENDINGS = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".tar.lz")
# folders whose copied files tools read as user configuration (`~/.config/pip/pip.conf`, `~/.pip/pip.conf`)
HOME_FOLDERS = ("/root", "/home")
PLAIN_VARIABLE = LazyPattern(r'^"?\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})"?$')
LITERAL_ASSIGNMENT = LazyPattern(r"^[A-Za-z_][A-Za-z0-9_]*=[\w.:/,=+@%-]*$")
# What may stand between the commands of a RUN: operators, blanks, and redirections that read and write nothing
HARMLESS_REDIRECTION = LazyPattern(r"\d*>>?\s*/dev/null|&>>?\s*/dev/null|\d*>&\d|<\s*/dev/null")
BETWEEN_COMMANDS = LazyPattern(r"^[\s;&|]*$")
GLOB_CHARACTERS = LazyPattern(r"[*?\[]")


def related(path: str, folder: str) -> bool:
    """Whether the absolute ``path`` (up to its first glob) and ``folder`` contain one another: writing one may
    write into the other."""
    components = []
    for component in posixpath.normpath(path).split("/"):
        if GLOB_CHARACTERS.search(component):
            break
        components.append(component)
    fixed = "/".join(components) or "/"
    return fixed == folder or fixed.startswith(folder.rstrip("/") + "/") or folder.startswith(fixed.rstrip("/") + "/")


def under(folder: str, roots: tuple[str, ...]) -> bool:
    return any(folder == root or folder.startswith(root + "/") for root in roots)


def system_folder(folder: str) -> bool:
    inside_source_folder = any(folder.startswith(root + "/") for root in SOURCE_FOLDERS_UNDER_SYSTEM)
    return folder == "/" or folder in SHARED_FOLDERS or (under(folder, SYSTEM_FOLDERS) and not inside_source_folder)


def names_folder_in_variables(stage: Stage, folder: str) -> bool:
    """Whether an ENV or ARG of the stage names the folder: through PATH, PYTHONPATH, HOME, PIP_CONFIG_FILE and the
    like a command finds programs and configuration there, which the COPY may have replaced."""
    settings = [
        instruction.logical
        for instruction in stage.instructions
        if instruction.cmd in ("env", "arg") and folder in instruction.logical
    ]
    if not settings:  # a mention is the folder's own text: most stages' ENV and ARG hold none (no pattern to build)
        return False
    mention = re.compile(rf"(?<![\w./-]){re.escape(folder)}(?![\w.-])")
    return any(mention.search(text) for text in settings)


class Destination(Struct, frozen=True):
    """The absolute folder a source COPY fills, and whether it names owners that a moved step could change."""

    folder: str
    chown: bool


class StableStepBeforeSourceCopy(Rule):
    """Move RUNs that read nothing the source COPY wrote above it.

    What it does
        Finds a COPY/ADD of the whole build context followed, in the same stage, by RUNs whose every command it
        understands and which read and write nothing in the folder the source lands in: OS package management
        (apt, apk, yum/dnf, zypper) of named packages, users and groups (`useradd`, `adduser`, `groupadd`, ...),
        and `mkdir`/`rm`/`chmod`/`chown`/`ln`/`touch` of absolute paths outside that folder. They move above the
        COPY with the ENV and ARG instructions between them, so their variables stay as they were. It stops at the
        first RUN it cannot prove independent (a relative path, a glob or path under the folder, a script, `cd`, a
        download, any command it does not know, a heredoc, a mount other than a cache outside the folder), and at a
        USER, WORKDIR, SHELL, VOLUME, COPY or ADD: moving across those would change the RUN's user, working folder
        or shell. It leaves alone a source copied to `/`, to a system folder (`/etc`, `/var`, `/usr` but `/usr/src`,
        ...) where packages may write, to an unknown folder (a variable, a relative path under the base image's
        WORKDIR), and user commands when the COPY sets an owner by name or the source lands under `/home`.

    Why
        BuildKit re-runs every step after the first one whose input changed. An `apt-get install` placed after
        `COPY . .` re-runs on every source edit although it reads none of the source; above the COPY it stays cached.

    Example
        WORKDIR /app
        COPY . .
        RUN apt-get update && apt-get install -y curl
        becomes
        WORKDIR /app
        RUN apt-get update && apt-get install -y curl
        COPY . .

    Gain
        Build steps a source edit re-runs before and after the fix (the stable steps moved above the source COPY
        stay cached); no byte claim.

    Fix safety
        Unsafe: the image keeps the same files only if the moved commands write nothing where the source lands,
        which rests on the model of what they write (a package's install scripts run code of their own, and a
        symbolic link in the base image can lead a path outside the folder into it), and the moved step gets a new
        cache key, so its next build re-runs it once.
    """

    code = "DF203"
    name = "stable-step-before-source-copy"
    summary = "A RUN that reads none of the source, placed after copying it, re-runs on every source edit."
    valid = (
        "FROM debian:12\nWORKDIR /app\nRUN apt-get update && apt-get install -y curl\nCOPY . .\n",
        "FROM debian:12\nWORKDIR /app\nCOPY . .\nRUN make\n",
        "FROM debian:12\nWORKDIR /app\nCOPY . .\nRUN mkdir -p /app/data\n",
        "FROM debian:12\nWORKDIR /app\nCOPY . .\nRUN chmod +x run.sh\n",
        "FROM debian:12\nWORKDIR /app\nCOPY . .\nRUN apt-get install -y ./vendor/tool.deb\n",
        "FROM debian:12\nWORKDIR /app\nCOPY . .\nVOLUME /data\nRUN mkdir -p /data/cache\n",
        "FROM debian:12\nWORKDIR /app\nCOPY . .\nRUN cd /tmp && mkdir x\n",
        "FROM debian:12\nCOPY . /\nRUN apt-get update\n",
        "FROM httpd:2.4\nCOPY . /var/www/html\nRUN apt-get update && apt-get install -y php\n",
        "FROM debian:12\nCOPY . /home/app\nRUN useradd -m app\n",
        "FROM debian:12\nCOPY --chown=app . /srv/app\nRUN useradd app\n",
        "FROM debian:12\nCOPY . .\nRUN apt-get update\n",
        "FROM debian:12\nWORKDIR /app\nCOPY . .\nRUN ./setup.sh\nRUN apt-get update\n",
        "FROM debian:12\nWORKDIR /app\nCOPY . .\nRUN apt-get install -y $(cat packages.txt)\n",
        "FROM debian:12\nCOPY . /opt/app\nRUN rm -rf /opt/*\n",
    )
    invalid = (
        Example(
            "FROM debian:12\nWORKDIR /app\nCOPY . .\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends curl \\\n"
            '    && rm -rf /var/lib/apt/lists/*\nCMD ["./run.sh"]\n',
            "FROM debian:12\nWORKDIR /app\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n"
            '    && rm -rf /var/lib/apt/lists/*\nCOPY . .\nCMD ["./run.sh"]\n',
            unsafe=True,
        ),
        Example(
            "FROM python:3.12-slim\n# the application\nCOPY . /srv/app\nENV DEBIAN_FRONTEND=noninteractive\nARG EXTRA\n"
            "RUN apt-get update && apt-get install -y $EXTRA\nEXPOSE 8000\n# a user to run as\n"
            "RUN useradd -r appuser\nRUN python /srv/app/setup.py\n",
            "FROM python:3.12-slim\nENV DEBIAN_FRONTEND=noninteractive\nARG EXTRA\n"
            "RUN apt-get update && apt-get install -y $EXTRA\n"
            "# a user to run as\nRUN useradd -r appuser\n# the application\nCOPY . /srv/app\nEXPOSE 8000\n"
            "RUN python /srv/app/setup.py\n",
            unsafe=True,
        ),
        Example(
            "FROM alpine:3.20\nWORKDIR /usr/src/app\nCOPY . .\n"
            "RUN apk add --no-cache git && mkdir -p /data && ln -s /usr/src/app/bin/tool /usr/local/bin/tool",
            "FROM alpine:3.20\nWORKDIR /usr/src/app\n"
            "RUN apk add --no-cache git && mkdir -p /data && ln -s /usr/src/app/bin/tool /usr/local/bin/tool\n"
            "COPY . .\n",
            unsafe=True,
        ),
        Example(
            "FROM debian:12\nWORKDIR /app\nCOPY . .\nRUN apt-get update\nWORKDIR /app/sub\n"
            "RUN apt-get install -y curl\n",
            "FROM debian:12\nWORKDIR /app\nRUN apt-get update\nCOPY . .\nWORKDIR /app/sub\n"
            "RUN apt-get install -y curl\n",
            unsafe=True,
        ),
        Example("FROM debian:12\nWORKDIR /app\nCOPY . .\nUSER app\nRUN mkdir -p /home/app/cache\n", None),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in document.stages:
            for copy in source_copies(stage):
                destination = self.destination(stage, copy)
                if destination is None:
                    continue
                moved, stopper = self.movable_after(stage, copy, destination)
                runs = [instruction for instruction in moved if instruction.cmd == "run"]
                before = steps_from(stage, copy)
                if runs:
                    lines = self.lines(runs)
                    message = (
                        f"{lines} {self.independence(len(runs))}: {before} steps re-run, {before - len(runs)} "
                        f"with {'them' if len(runs) > 1 else 'it'} above the COPY"
                    )
                    fix = self.fix(
                        f"Move {lines} above the source COPY", self.edits(document, copy, moved), Applicability.UNSAFE
                    )
                    yield self.finding(
                        message, copy.start, runs[-1].header_end, fix, Savings.rebuilt_steps(before, before - len(runs))
                    )
                elif stopper is not None and stopper.cmd in ("user", "workdir", "shell"):
                    run = self.independent_run_after(stage, stopper, destination)
                    if run is not None:
                        yield self.finding(
                            f"{self.lines([run])} {self.independence(1)}: {before} steps re-run, "
                            f"{before - 1} with it above the COPY (not fixed automatically: the "
                            f"{stopper.keyword.upper()} on line "
                            f"{stopper.start_line} between them would no longer apply to it)",
                            copy.start,
                            run.header_end,
                            savings=Savings.rebuilt_steps(before, before - 1),
                        )

    @staticmethod
    def independence(count: int) -> str:
        if count == 1:
            return "reads nothing this COPY writes but re-runs on every source edit"
        return "read nothing this COPY writes but re-run on every source edit"

    @staticmethod
    def lines(runs: list[Instruction]) -> str:
        if len(runs) == 1:
            return f"the RUN on line {runs[0].start_line}"
        return f"the RUNs on lines {', '.join(str(run.start_line) for run in runs)}"

    def independent_run_after(self, stage: Stage, stopper: Instruction, destination: Destination) -> Instruction | None:
        """The first RUN after ``stopper`` when nothing but ENV/ARG and configuration stands between and it is
        independent of the source."""
        for instruction in stage.following(stopper):
            if instruction.cmd == "run":
                return instruction if self.independent(instruction, destination) else None
            if instruction.cmd not in CONFIG_ONLY | {"env", "arg"}:
                return None
        return None

    @staticmethod
    def destination(stage: Stage, copy: Instruction) -> Destination | None:
        """Where the source lands, when it is known and no system step writes there."""
        folder = copy_destination(stage, copy)
        if folder is None or system_folder(folder) or names_folder_in_variables(stage, folder):
            return None
        owner = copy.flag("chown")
        named_owner = owner is not None and not re.fullmatch(r"[0-9]+(:[0-9]+)?", owner.value or "")
        return Destination(folder, named_owner)

    def movable_after(
        self, stage: Stage, copy: Instruction, destination: Destination
    ) -> tuple[list[Instruction], Instruction | None]:
        """The RUNs right after the source COPY that read and write nothing in its folder, with the ENV/ARG
        instructions before each of them, and the first instruction that cannot be crossed (None: the stage ends)."""
        moved: list[Instruction] = []
        pending: list[Instruction] = []
        expands_variables = "$" in copy.logical
        for instruction in stage.following(copy):
            if instruction.cmd in BLOCKING:
                return moved, instruction
            if instruction.cmd in ("env", "arg"):
                if expands_variables:
                    return moved, instruction
                pending.append(instruction)
            elif instruction.cmd in CONFIG_ONLY:
                # a later ENV/ARG moved above it would change what it expands
                expands_variables = expands_variables or "$" in instruction.logical
            elif instruction.cmd == "run" and self.independent(instruction, destination):
                moved += pending + [instruction]
                pending = []
            else:
                return moved, instruction
        return moved, None

    def independent(self, run: Instruction, destination: Destination) -> bool:
        """Whether every command of the RUN is one this rule understands and none reads or writes the folder."""
        if run.is_json or run.heredocs or not self.flags_allowed(run, destination.folder):
            return False
        script = run.shell
        if script is None or script.has_error or script.has_background or script.has_heredoc or script.comments:
            return False
        if script.defines_function or script.has_arithmetic or not script.commands:
            return False
        if not self.only_commands(script.source, script.commands):
            return False
        return all(self.command_independent(command, destination) for command in script.commands)

    @staticmethod
    def flags_allowed(run: Instruction, folder: str) -> bool:
        if any(
            flag.name not in ("network", "mount") or (flag.name == "mount" and flag.value is None) for flag in run.flags
        ):
            return False
        return all(
            options["type"] in ("cache", "tmpfs")
            and options.get("target", "").startswith("/")
            and not related(options["target"], folder)
            for options in mount_options(run)
        )

    @staticmethod
    def only_commands(source: str, commands: tuple[SimpleCommand, ...]) -> bool:
        """Whether the script is simple commands joined by operators and pipes: no compound command, subshell or
        redirection into a file (what stands outside the commands' own text is checked)."""
        outside = []
        cursor = 0
        for command in sorted(commands, key=lambda command: command.start):
            if command.start >= cursor:
                outside.append(source[cursor : command.start])
                cursor = command.end
            else:
                cursor = max(cursor, command.end)
        outside.append(source[cursor:])
        return all(BETWEEN_COMMANDS.match(HARMLESS_REDIRECTION.sub(" ", text)) for text in outside)

    def command_independent(self, command: SimpleCommand, destination: Destination) -> bool:
        if any(not LITERAL_ASSIGNMENT.match(assignment.text) for assignment in command.assignments):
            return False
        if command.name is None:
            return True
        name = command.name_literal
        arguments = command.argument_literals
        if name is None or ("/" in name and (not name.startswith("/") or related(name, destination.folder))):
            return False
        tool, tool_arguments = tool_and_arguments(command)
        if tool in ("pip", "pip3"):
            return not under(destination.folder, HOME_FOLDERS) and self.pip_named_install(tool_arguments)
        manager = manager_of(name)
        if manager is not None:
            return manager.name in OS_PACKAGE_MANAGERS and self.package_command(manager, command)
        if name in PATH_COMMANDS:
            return self.path_command(name, arguments, destination.folder)
        if name in USER_COMMANDS:
            literal = [argument for argument in arguments if argument is not None]
            return (
                not destination.chown
                and not under(destination.folder, HOME_FOLDERS)
                and len(literal) == len(arguments)
                and not any(argument.startswith("/") and related(argument, destination.folder) for argument in literal)
            )
        return name in SYSTEM_COMMANDS and all(argument is not None and "/" not in argument for argument in arguments)

    @staticmethod
    def package_command(manager: PackageManager, command: SimpleCommand) -> bool:
        """An update, install or clean-up of named packages (no local package file, no package list read from a
        file). A plain variable names packages (it is set by an ENV or ARG that moves along, or by the base image)."""
        verb = subcommand(command.argument_literals)
        if verb is None and command.argument_literals and command.argument_literals[0] is not None:
            return False
        if verb not in manager.update | manager.install | manager.clean and not (
            manager.name == "apk" and verb == "cache"
        ):
            return False
        for word in command.arguments:
            literal = word.literal
            if literal is None:
                if not PLAIN_VARIABLE.match(word.text):
                    return False
            elif "/" in literal and not re.match(r"^(--[\w-]+=)?https?://", literal):
                return False
        return True

    @staticmethod
    def pip_named_install(arguments: list[str | None]) -> bool:
        """`pip install` of packages named on the command line: nothing read from a path (a name with a slash, a
        leading dot or an archive's ending is a local path to pip)."""
        if subcommand(arguments) != "install":
            return False
        expects_value = False
        for argument in arguments:
            if argument is None:
                return False
            if expects_value:
                expects_value = False
                if "/" in argument and not re.match(r"^https?://", argument):
                    return False
                continue
            option, equals, value = argument.partition("=")
            if argument.startswith("-"):
                if option in PIP_PATH_OPTIONS or (
                    option.startswith("-") and not option.startswith("--") and option[1:2] in "rcef" and len(option) > 2
                ):
                    return False
                if equals and "/" in value and not re.match(r"^https?://", value):
                    return False
                expects_value = option in PIP_VALUE_OPTIONS and not equals
            elif (
                "/" in argument
                or argument.startswith(".")
                or argument.lower().endswith(ARCHIVE_ENDINGS)
                or argument.startswith("@")
            ):
                return False
        return True

    @staticmethod
    def path_command(name: str, arguments: list[str | None], folder: str) -> bool:
        """Every path operand absolute and unrelated to the folder; `ln -s` stores its target without reading it."""
        literal = [argument for argument in arguments if argument is not None]
        if len(literal) < len(arguments):
            return False
        operands = [argument for argument in literal if not argument.startswith("-")]
        options = [argument for argument in literal if argument.startswith("-")]
        if not all(PATH_COMMAND_OPTION.match(option) for option in options):
            return False
        if name in ("chmod", "chown", "chgrp"):
            if not operands or "/" in operands[0]:
                return False
            operands = operands[1:]
        symbolic = any(option == "--symbolic" or (not option.startswith("--") and "s" in option) for option in options)
        if name == "ln" and symbolic and len(operands) > 1:
            operands = operands[1:]
        return bool(operands) and all(operand.startswith("/") and not related(operand, folder) for operand in operands)

    @staticmethod
    def edits(document: Document, copy: Instruction, moved: list[Instruction]) -> list[Edit]:
        """The moved instructions (with their comments) go right above the COPY and its comments, in their order;
        the blank lines that set one apart from what came before now set it apart from what follows."""
        newline = document.source.newline
        starts = [element.span[0] for element in document.elements]
        pieces = []
        edits = []
        for instruction in moved:
            start = instruction.leading_comments[0].line.start if instruction.leading_comments else instruction.span[0]
            position = bisect.bisect_left(starts, start)
            blank_start = start
            while position > 0 and isinstance(document.elements[position - 1], BlankLine):
                position -= 1
                blank_start = document.elements[position].span[0]
            text = document.text[start : instruction.span[1]]
            pieces.append((text if text.endswith("\n") else text + newline) + document.text[blank_start:start])
            edits.append(Edit.delete(blank_start, instruction.span[1]))
        copy_start = copy.leading_comments[0].line.start if copy.leading_comments else copy.span[0]
        return [Edit.insert(copy_start, "".join(pieces)), *edits]
