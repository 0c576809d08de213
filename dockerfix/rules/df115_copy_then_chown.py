"""DF115: a RUN that changes the owner or mode of what a COPY just wrote stores those files a second time."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator

from msgspec import Struct

from dockerfix.knowledge.analysis import (
    add_does_more_than_copy,
    copy_destination,
    runs_running,
    stages_running,
    tool_and_arguments,
    workdir_at,
)
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, ByteGain, Edit, Finding, Fix, Savings, Unknown, apply_edits
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import TARGET, Example, Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand
from dockerfix.rewriter.stages import base_stages

USER_COMMANDS = frozenset({"useradd", "adduser", "groupadd", "addgroup", "usermod"})
CHANGE_COMMANDS = ("chown", "chgrp", "chmod")
# Instructions that write no file and run nothing: the copied files are as the COPY left them until the next RUN.
PASSIVE = frozenset({"env", "arg", "label", "expose", "cmd", "entrypoint", "stopsignal", "healthcheck", "maintainer"})
# Folders every Linux base image has (FHS): a file copied into one creates no parent folder, so --chown/--chmod
# reaches exactly the files chown/chmod would. `FROM scratch` has none of them.
STANDARD_FOLDERS = frozenset(
    {
        "/",
        "/bin",
        "/sbin",
        "/etc",
        "/root",
        "/tmp",
        "/usr",
        "/usr/bin",
        "/usr/sbin",
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/sbin",
        "/var",
        "/home",
    }
)
# Folders packages install into: a recursive chown there also reaches what the base image or a package put there.
SYSTEM_FOLDERS = ("/etc", "/usr", "/lib", "/bin", "/sbin", "/var/lib", "/opt")
APPLICATION_FOLDERS = ("/usr/src", "/var/www", "/opt/app")
QUIET_OPTIONS = frozenset("vcf")
LONG_OPTIONS = {"--recursive": "R", "--verbose": "v", "--changes": "c", "--silent": "f", "--quiet": "f"}
# Octal modes as BuildKit parses them: a fourth digit (setuid, setgid, sticky) is not carried over into the file's mode.
OCTAL_MODE = LazyPattern(r"^0?[0-7]{3}$")
SYMBOLIC_MODE = LazyPattern(r"^[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*$")
NAME = LazyPattern(r"^[A-Za-z0-9_][A-Za-z0-9_-]*\$?$")
# `COPY --chmod` takes a symbolic mode (`+x`) from the dockerfile frontend 1.14 on; octal works in every BuildKit.
SYMBOLIC_CHMOD_SYNTAX = LazyPattern(r"^(?:docker\.io/)?docker/dockerfile(?::(?:1|1\.(?:1[4-9]|[2-9]\d)(?:\.\d+)?))?$")


class OwnerChange(Struct, frozen=True):
    """One chown/chgrp/chmod command of a RUN, read as the COPY flag it amounts to."""

    command: SimpleCommand
    flag: str  # "chown" or "chmod"
    user: str | None  # chown: the new owner (None: unchanged)
    group: str | None  # chown: the new group (None: unchanged)
    mode: str | None  # chmod: the mode as written
    recursive: bool
    targets: tuple[str, ...]  # absolute, normalised

    @property
    def symbolic(self) -> bool:
        return self.mode is not None and not OCTAL_MODE.match(self.mode)


def read_change(command: SimpleCommand, workdir: str | None) -> OwnerChange | None:
    """The owner or mode change a command makes, when every word of it is literal and understood."""
    name, words = tool_and_arguments(command)
    arguments = [argument for argument in words if argument is not None]
    if name not in CHANGE_COMMANDS or len(arguments) < len(words):
        return None
    letters: set[str] = set()
    positional: list[str] = []
    for argument in arguments:
        if argument in LONG_OPTIONS:
            letters.add(LONG_OPTIONS[argument])
        elif argument.startswith("-") and len(argument) > 1 and not positional:
            letters.update(argument[1:])
        else:
            positional.append(argument)
    if not letters <= QUIET_OPTIONS | {"R"} or len(positional) < 2:
        return None
    spec, paths = positional[0], positional[1:]
    if any(re.search(r"[*?\[]", path) for path in paths) or (
        workdir is None and not all(path.startswith("/") for path in paths)
    ):
        return None
    targets = tuple(posixpath.normpath(posixpath.join(workdir or "/", path)) for path in paths)
    recursive = "R" in letters
    if name == "chmod":
        if not (OCTAL_MODE.match(spec) or SYMBOLIC_MODE.match(spec)):
            return None
        return OwnerChange(command, "chmod", None, None, spec, recursive, targets)
    user, colon, group = spec.partition(":") if name == "chown" else ("", ":", spec)
    if (user and not NAME.match(user)) or (group and not NAME.match(group)) or (colon and not group):
        return None  # `user:` (the login group) and `user.group` need the passwd file to read
    return OwnerChange(command, "chown", user or None, group or None, None, recursive, targets)


class CopyTarget(Struct, frozen=True):
    """What a COPY/ADD wrote, as a chown/chmod target can name it."""

    instruction: Instruction
    destination: str  # absolute, normalised
    folder: bool  # the destination is a folder the sources go into (`/app/`, `.`, several sources)
    source: str | None  # the one source, relative to the context, when there is one without wildcards

    @property
    def file_path(self) -> str | None:
        """Where the one source lands when it is a file."""
        if self.source is None:
            return None
        return posixpath.join(self.destination, posixpath.basename(self.source)) if self.folder else self.destination


def sent_files(build_context: BuildContext | None) -> frozenset[str]:
    """The files the build context sends, when their contents can be read (none otherwise). Kept with the context,
    which every Dockerfile of the folder shares: made again for each file, the set of a folder of 1,900 files took
    0.14 s of the real corpus."""
    if build_context is None or not build_context.has_contents:
        return frozenset()
    return build_context.once(sent_files, lambda: frozenset(build_context.files()))


def copy_target(stage: Stage, instruction: Instruction) -> CopyTarget | None:
    """The COPY/ADD as a target, when its sources and destination are literal and ADD only copies local files."""
    if instruction.cmd not in ("copy", "add") or len(instruction.value) < 2 or instruction.heredocs:
        return None
    *sources, destination = instruction.value
    if any("$" in word or word.startswith("<<") for word in instruction.value):
        return None
    if instruction.cmd == "add" and add_does_more_than_copy(instruction, sources):
        return None
    absolute = copy_destination(stage, instruction)
    if absolute is None:
        return None
    single = posixpath.normpath(sources[0]).lstrip("/") if len(sources) == 1 else None
    if single is not None and (re.search(r"[*?\[]", single) or single in (".", "..", "") or sources[0].endswith("/")):
        single = None
    folder = destination.endswith("/") or posixpath.normpath(destination) in (".", "..") or single is None
    return CopyTarget(instruction, absolute, folder, single)


class Match(Struct, frozen=True):
    """A COPY whose files a RUN's chown/chmod commands change, and the flags that change them as they are copied."""

    target: CopyTarget
    kind: str  # "file" or "folder" (the context shows it), "unknown"
    chown: str | None
    chmod: str | None
    # a folder destination the stage made before the COPY (WORKDIR, mkdir): its own owner/mode is kept by the RUN
    existed: bool

    @property
    def written_flags(self) -> str:
        return " ".join(
            flag
            for flag in (f"--chown={self.chown}" if self.chown else "", f"--chmod={self.chmod}" if self.chmod else "")
            if flag
        )


def is_under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def source_kind(build_context: BuildContext | None, source: str | None, files: frozenset[str]) -> str:
    if build_context is None or not build_context.has_contents or source is None:
        return "unknown"
    if source in files:
        return "file"
    return "folder" if build_context.exists(source) else "unknown"


def named_users(changes: list[OwnerChange]) -> set[str]:
    """The user and group names the changes give (the ones a RUN may create: not ids, not root)."""
    return {
        name
        for change in changes
        for name in (change.user, change.group)
        if name and not name.isdigit() and name != "root"
    }


def creates_user(command: SimpleCommand, names: set[str]) -> bool:
    name, arguments = tool_and_arguments(command)
    return name in USER_COMMANDS and any(argument in names for argument in arguments)


def allows_symbolic_chmod(document: Document) -> bool:
    syntax = document.directive("syntax")
    return syntax is not None and bool(SYMBOLIC_CHMOD_SYNTAX.match(syntax.value.strip()))


def merged_chown(existing: str | None, changes: list[OwnerChange]) -> str | None:
    """The `--chown` value that gives the copied files the owner the changes leave them with (files are copied as
    0:0 without the flag); None when that cannot be told from the text."""
    user = "0"
    group: str | None = "0"
    if existing is not None:
        user, colon, group = existing.partition(":")
        if not colon:
            group = None  # `--chown=user` takes the user's id as group id: unknown here
    for change in changes:
        user = change.user or user
        group = change.group or group
    return None if group is None else f"{user}:{group}"


def merged_chmod(existing: str | None, changes: list[OwnerChange]) -> str | None:
    if len(changes) != 1 or (existing is not None and changes[0].symbolic):
        return None
    return changes[0].mode


class CopyThenChown(Rule):
    """Set owner and mode with `COPY --chown`/`--chmod` instead of a RUN that changes them after the copy.

    What it does
        Flags a RUN whose `chown`, `chgrp` or `chmod` changes exactly what the COPY/ADD instructions just before it
        wrote (their destination, recursively for a folder, or the one file copied), and moves the change into the
        COPY as `--chown=user:group` / `--chmod=mode`. The command leaves the RUN; the RUN goes when nothing else is
        left. When the RUN itself creates the user first (`useradd` ...) and does nothing else, the COPY moves below it.

    Why
        A layer stores every file that changed, and a new owner or mode is a change: `COPY . /app` then
        `RUN chown -R app:app /app` ships the application twice. With the flag the files are written once, already
        right. The saving is the size of the copied files (known with the build context, otherwise not).

    Example
        COPY . /app
        RUN chown -R app:app /app
        becomes
        COPY --chown=app:app . /app

    Gain
        The bytes of the copied files as the build context holds them (the layer that changes their owner stores
        them a second time); unknown when the context was not read. One layer fewer when the RUN goes away.

    Fix safety
        Safe only for one file the build context shows to be a regular file, copied from the context into a folder
        every base image has, with an octal mode: then the same file gets the same owner and mode. Copies of folders
        are unsafe: `chown -R` also reaches the destination folder itself and what was in it, and symbolic links,
        while the flags reach what is copied (a destination the stage made before, with WORKDIR or mkdir, keeps a
        non-recursive chown/chmod of itself). `--chmod` is only written for `target = "buildkit"`; a symbolic mode
        (`+x`) needs the dockerfile frontend 1.14 (`# syntax=docker/dockerfile:1.14` or `:1`), and without that
        directive the fix is display-only. `chown user` keeps the group, written `user:0`; `user:` and `user.group`
        need the passwd file and are left alone. Not reported: globs, variables, a subtree or a parent of the
        destination, other commands writing there before the change, a non-root USER, ADD of archives or URLs.
    """

    code = "DF115"
    layer_rule = True
    name = "copy-then-chown"
    summary = "A RUN that chowns/chmods what a COPY just wrote stores the files twice; use COPY --chown/--chmod."
    options = (TARGET,)
    buildkit_syntax = "`COPY --chmod` (a mode moved from a chmod; a chown alone is written for both builders)"
    valid = (
        "FROM debian\nCOPY . /app\nRUN chown -R app:app /app/data\n",
        "FROM debian\nCOPY . /app\nRUN npm ci && chown -R node:node /app\n",
        "FROM debian\nCOPY run.sh /usr/local/bin/\nRUN chmod 755 /usr/local/bin/*.sh\n",
        "FROM debian\nWORKDIR /app\nCOPY package.json .\nRUN npm ci\nCOPY . .\nRUN chown -R node /app\n",
        "FROM debian\nUSER app\nCOPY . /app\nRUN chown -R app /app\n",
        "FROM debian\nADD app.tar.gz /app\nRUN chown -R app /app\n",
        "FROM debian\nCOPY . /app\nRUN chown app /app\n",
    )
    invalid = (
        Example(
            "FROM debian\nRUN useradd app\nCOPY . /app\nRUN chown -R app:app /app\n",
            "FROM debian\nRUN useradd app\nCOPY --chown=app:app . /app\n",
            unsafe=True,
        ),
        Example(
            "FROM debian\nCOPY entrypoint.sh /usr/local/bin/\nRUN chmod 755 /usr/local/bin/entrypoint.sh && echo ok\n",
            "FROM debian\nCOPY --chmod=755 entrypoint.sh /usr/local/bin/\nRUN echo ok\n",
            context={"entrypoint.sh": "#!/bin/sh\n"},
        ),
        Example(
            "FROM debian\nWORKDIR /app\nCOPY . .\nRUN chown -R node /app\n",
            "FROM debian\nWORKDIR /app\nCOPY --chown=node:0 . .\nRUN chown node /app\n",
            unsafe=True,
        ),
        Example(
            "FROM alpine\nCOPY . /srv\nRUN addgroup -S web && adduser -S web -G web && chown -R web:web /srv\n",
            "FROM alpine\nRUN addgroup -S web && adduser -S web -G web\nCOPY --chown=web:web . /srv\n",
            unsafe=True,
        ),
        Example(
            "FROM debian\nCOPY run.sh /usr/local/bin/run.sh\nRUN chmod +x /usr/local/bin/run.sh\n",
            "FROM debian\nCOPY run.sh /usr/local/bin/run.sh\nRUN chmod +x /usr/local/bin/run.sh\n",
        ),
        Example(
            "FROM debian\nCOPY . /app\nRUN chown -R 1000:1000 /app && chmod -R 755 /app\n",
            "FROM debian\nCOPY --chown=1000:1000 --chmod=755 . /app\n",
            unsafe=True,
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        build_context = context.build_context
        legacy = self.option(context, "target") == "legacy"
        # only a RUN that runs chown, chgrp or chmod changes what a COPY wrote (``read_change``)
        for stage in stages_running(document, CHANGE_COMMANDS):
            runs = dict(runs_running(stage, CHANGE_COMMANDS))
            pending: list[Instruction] = []
            for instruction in stage.instructions[1:]:
                if instruction.cmd in ("copy", "add"):
                    pending.append(instruction)
                elif instruction.cmd in PASSIVE:
                    continue
                else:
                    if instruction in runs and pending:
                        copies = [target for copy in pending if (target := copy_target(stage, copy)) is not None]
                        if len(copies) == len(pending):
                            yield from self.check_run(
                                document, stage, instruction, runs[instruction], copies, build_context, legacy
                            )
                    pending = []

    def check_run(
        self,
        document: Document,
        stage: Stage,
        run: Instruction,
        commands: list[SimpleCommand],
        copies: list[CopyTarget],
        build_context: BuildContext | None,
        legacy: bool,
    ) -> Iterator[Finding]:
        """Match the RUN's changes to the COPYs before it, plan the move into their flags (`plan_move`), and report
        it with its fix (`move_fix`)."""
        touched = reaching_changes(commands, workdir_at(stage, run), copies)
        if not touched or non_root_user(document, stage, run):
            return
        by_copy = changes_by_copy(touched, copies)
        if by_copy is None or not self.movable(document, stage, run, commands, copies, touched, legacy):
            return
        files = sent_files(build_context)
        matches = []
        for copy in copies:
            if copy.instruction.index in by_copy:
                match = match_copy(document, stage, copy, by_copy[copy.instruction.index], build_context, files)
                if match is None:
                    return
                matches.append(match)
        move = plan_move(run, commands, touched, matches, copied_bytes(build_context, files, matches))
        yield self.report(document, stage, move)

    def movable(
        self,
        document: Document,
        stage: Stage,
        run: Instruction,
        commands: list[SimpleCommand],
        copies: list[CopyTarget],
        touched: list[OwnerChange],
        legacy: bool,
    ) -> bool:
        """Whether the changes can become COPY flags: the builder writes `--chmod` where one is needed, they leave
        the RUN cleanly, and nothing before the COPYs put files where they reach."""
        if (legacy and any(change.flag == "chmod" for change in touched)) or not self.in_place(run, commands, touched):
            return False
        return not any(
            earlier_writes(document, stage, copies[0].instruction, target)
            for change in touched
            for target in change.targets
        )

    @staticmethod
    def in_place(run: Instruction, commands: list[SimpleCommand], touched: list[OwnerChange]) -> bool:
        """Whether the changes can leave the RUN: each a whole item of a `&&` list, with only user management
        before them (a command there could write files the change also reaches)."""
        script = run.shell_script
        if (
            any(operator != "&&" for operator in script.top_level_operators())
            or script.has_background
            or script.has_heredoc
        ):
            return False
        starts = {(item.start, item.end) for item in script.items}
        if any((change.command.start, change.command.end) not in starts for change in touched):
            return False
        last = max(change.command.start for change in touched)
        moved = {id(change.command) for change in touched}
        return all(
            tool_and_arguments(command)[0] in USER_COMMANDS
            for command in commands
            if command.start < last and id(command) not in moved
        )

    def report(self, document: Document, stage: Stage, move: Move) -> Finding:
        if move.not_fixed is not None:
            return self.finding(
                f"{move.message} (not fixed: {move.not_fixed})", move.start, move.end, savings=move.savings
            )
        return self.finding(move.message, move.start, move.end, self.move_fix(document, stage, move), move.savings)

    def move_fix(self, document: Document, stage: Stage, move: Move) -> Fix:
        """The RUN without the changes, and each COPY with its flags (moved below the RUN when that creates the
        user)."""
        edits = run_edits(document, move.run, move.touched, move.residuals, move.removed_run)
        for match in move.matches:
            edits += moved_copy_edits(document, move.run, match) if move.created_here else flag_edits(match)
        applicability = self.applicability(document, stage, move.matches)
        return self.fix(fix_title(move, applicability), edits, applicability)

    @staticmethod
    def applicability(document: Document, stage: Stage, matches: list[Match]) -> Applicability:
        if any(m.chmod and not OCTAL_MODE.match(m.chmod) for m in matches) and not allows_symbolic_chmod(document):
            return Applicability.DISPLAY_ONLY
        provable = stage.base_image.lower() != "scratch" and all(
            m.kind == "file" and posixpath.dirname(m.target.file_path or "") in STANDARD_FOLDERS for m in matches
        )
        return Applicability.SAFE if provable else Applicability.UNSAFE


def residual_text(change: OwnerChange, matches: list[Match]) -> str | None:
    """The non-recursive command that keeps the change on destination folders the stage made before the COPY (the
    flags reach what is copied, not a folder that was already there)."""
    kept = [target for target in change.targets if any(m.existed and m.target.destination == target for m in matches)]
    if not kept:
        return None
    command = change.command
    assert command.name is not None, "read_change reads only commands it can name"
    words = [word for word in command.arguments if not word.text.startswith("-")]
    spec = words[0].text
    paths = [word.text for word, target in zip(words[1:], change.targets, strict=False) if target in kept]
    return f"{command.name.text} {spec} {' '.join(paths)}"


def run_edits(
    document: Document, run: Instruction, touched: list[OwnerChange], residuals: dict[int, str], removed_run: bool
) -> list[Edit]:
    """Remove the changes from the RUN (each a whole item of its `&&` list), or the RUN when nothing is left."""
    if removed_run:  # the comments above it stay: they may speak of what follows (the file's author decides)
        return [Edit.delete(*run.span)]
    items = list(run.shell_script.items)
    by_start = {change.command.start: change for change in touched}
    gone = [
        index
        for index, item in enumerate(items)
        if item.start in by_start and id(by_start[item.start].command) not in residuals
    ]
    edits = [
        Edit(
            run.arguments_to_source(change.command.start),
            run.arguments_to_source(change.command.end, end=True),
            residuals[id(change.command)],
        )
        for change in touched
        if id(change.command) in residuals
    ]
    trailing = len(items)
    while trailing and trailing - 1 in gone:
        trailing -= 1
    for index in gone:
        if index < trailing:
            edits.append(
                Edit.delete(
                    run.arguments_to_source(items[index].start), run.arguments_to_source(items[index + 1].start)
                )
            )
    if trailing < len(items):
        edits.append(
            Edit.delete(
                run.arguments_to_source(items[trailing - 1].end, end=True),
                run.arguments_to_source(items[-1].end, end=True),
            )
        )
    return edits


def flag_edits(match: Match) -> list[Edit]:
    instruction = match.target.instruction
    edits, added = [], []
    for name, value in (("chown", match.chown), ("chmod", match.chmod)):
        if value is None:
            continue
        existing = instruction.flag(name)
        if existing is not None:
            edits.append(Edit(existing.start, existing.end, f"--{name}={value}"))
        else:
            added.append(f"--{name}={value}")
    if added:
        edits.append(Edit.insert(instruction.start + len(instruction.keyword), " " + " ".join(added)))
    return edits


def copied_bytes(build_context: BuildContext | None, files: frozenset[str], matches: list[Match]) -> int | None:
    """The size of what the COPYs take from the build context (None when it is not known)."""
    if build_context is None or not files or any(m.target.instruction.flag("from") for m in matches):
        return None
    root = build_context.root
    assert root is not None, "files come only from a context with contents: a folder"
    total = 0
    for match in matches:
        for source in match.target.instruction.value[:-1]:
            found = False
            for path in build_context.glob(source):
                prefix = path.rstrip("/") + "/" if path else ""
                chosen = [path] if path in files else [name for name in files if name.startswith(prefix)]
                found = found or bool(chosen)
                total += sum(os.path.getsize(os.path.join(root, name)) for name in chosen)
            if not found:  # a source this context does not hold (a folder of many Dockerfiles): its size is unknown
                return None
    return total


def non_root_user(document: Document, stage: Stage, run: Instruction) -> bool:
    """Whether the RUN runs as another user than root (its chown would fail where the flag would not)."""
    users = [
        instruction
        for _, instruction in prior_instructions(document, stage, run)
        if instruction.cmd == "user" and instruction.value
    ]
    return bool(users) and users[-1].value[0].lower() not in ("root", "0", "0:0", "root:root")


def prior_instructions(document: Document, stage: Stage, copy: Instruction) -> Iterator[tuple[Stage, Instruction]]:
    """What ran before ``copy`` in its image: the stages it is built FROM (oldest first), then its own stage up to it
    (FROM lines excluded)."""
    for member in (*reversed(base_stages(document, stage)), stage):
        for instruction in member.instructions[1:]:
            if instruction.index >= copy.index:
                return
            yield member, instruction


def workdir_after(stage: Stage, workdir: Instruction) -> str | None:
    """The folder a WORKDIR instruction makes (None when it rests on a variable or an unknown base folder)."""
    position = workdir.index - stage.from_instruction.index + 1
    return workdir_at(stage, stage.instructions[position]) if position < len(stage.instructions) else None


def made_before(document: Document, stage: Stage, copy: Instruction, folder: str) -> bool:
    """Whether a WORKDIR or a `mkdir` made ``folder`` before the COPY."""
    for member, instruction in prior_instructions(document, stage, copy):
        if instruction.cmd == "workdir" and workdir_after(member, instruction) == folder:
            return True
        if (
            instruction.cmd == "run"
            and instruction.shell is not None
            and any(
                tool_and_arguments(command)[0] == "mkdir" and folder in tool_and_arguments(command)[1]
                for command in instruction.shell.simple_commands()
            )
        ):
            return True
    return False


def earlier_writes(document: Document, stage: Stage, first_copy: Instruction, target: str) -> bool:
    """Whether something before the COPYs may have put files where the change reaches (a recursive chown would
    change them too): a COPY/ADD there, a RUN that names the path or works below it, a WORKDIR inside it."""
    for member, instruction in prior_instructions(document, stage, first_copy):
        if instruction.cmd in ("copy", "add"):
            copy = copy_target(member, instruction)
            if copy is None or is_under(copy.destination, target):
                return True
        elif instruction.cmd == "workdir":
            following = workdir_after(member, instruction)
            if following is None or (is_under(following, target) and following != target):
                return True
        elif instruction.cmd == "run":
            workdir = workdir_at(member, instruction)
            if workdir is not None and is_under(workdir, target):
                return True
            if target in document.text[slice(*instruction.span)] and (
                instruction.shell is None
                or any(
                    tool_and_arguments(command)[0] != "mkdir"
                    and target in instruction.shell.source[command.start : command.end]
                    for command in instruction.shell.simple_commands()
                )
            ):
                return True
    return False


def reaching_changes(commands: list[SimpleCommand], workdir: str | None, copies: list[CopyTarget]) -> list[OwnerChange]:
    """The RUN's owner and mode changes whose targets meet what the COPYs wrote (inside it or around it)."""
    changes = [change for command in commands if (change := read_change(command, workdir)) is not None]
    return [
        change
        for change in changes
        if any(is_under(t, c.destination) or is_under(c.destination, t) for t in change.targets for c in copies)
    ]


def changes_by_copy(touched: list[OwnerChange], copies: list[CopyTarget]) -> dict[int, list[OwnerChange]] | None:
    """The changes each COPY's files get, by the COPY's index; None unless every target is exactly what a COPY wrote
    (its destination or its one file) and a folder destination changes with its contents."""
    matched: dict[int, list[OwnerChange]] = {}
    for change in touched:
        for target in change.targets:
            found = [c for c in copies if target in (c.destination, c.file_path)]
            if not found or any(is_under(c.destination, target) and c.destination != target for c in copies):
                return None
            for copy in found:
                if copy.folder and target == copy.destination and not change.recursive:
                    return None  # only the folder itself changes: nothing is stored twice
                matched.setdefault(copy.instruction.index, []).append(change)
    return matched


def match_copy(
    document: Document,
    stage: Stage,
    copy: CopyTarget,
    own: list[OwnerChange],
    build_context: BuildContext | None,
    files: frozenset[str],
) -> Match | None:
    """The flags that give the COPY's files what the changes ``own`` give them; None when no flag can, or when the
    changes reach more than the copied files."""
    flags = flags_for(copy, own)
    kind = (
        "folder"
        if copy.folder and copy.destination in {t for c in own for t in c.targets}
        else source_kind(build_context, copy.source, files)
    )
    if flags is None or changes_more_than_the_copy(copy, kind, own):
        return None
    if copy.instruction.flag("from"):
        kind = "unknown"
    existed = kind != "file" and made_before(document, stage, copy.instruction, copy.destination)
    return Match(copy, kind, *flags, existed)


def flags_for(copy: CopyTarget, own: list[OwnerChange]) -> tuple[str | None, str | None] | None:
    """The `--chown` and `--chmod` values the changes amount to, merged with the COPY's own flags; None when a change
    has no flag that says it."""
    chown_changes = [c for c in own if c.flag == "chown"]
    chmod_changes = [c for c in own if c.flag == "chmod"]
    chown_flag, chmod_flag = copy.instruction.flag("chown"), copy.instruction.flag("chmod")
    chown = merged_chown(chown_flag.value if chown_flag else None, chown_changes) if chown_changes else None
    chmod = merged_chmod(chmod_flag.value if chmod_flag else None, chmod_changes) if chmod_changes else None
    if (chown_changes and chown is None) or (chmod_changes and chmod is None):
        return None
    return chown, chmod


def changes_more_than_the_copy(copy: CopyTarget, kind: str, own: list[OwnerChange]) -> bool:
    """Whether the RUN changes files the flags would not: what a package or the base image put in a system folder, or
    a folder's own owner or mode (then nothing is stored twice)."""
    in_a_system_folder = (
        kind == "folder"
        and any(is_under(copy.destination, f) for f in SYSTEM_FOLDERS)
        and not any(is_under(copy.destination, f) for f in APPLICATION_FOLDERS)
    )
    folder_itself = not all(change.recursive for change in own) and (
        kind == "folder" or (kind == "unknown" and "." not in posixpath.basename(copy.source or ""))
    )
    return in_a_system_folder or folder_itself


class Move(Struct, frozen=True):
    """The changes of a RUN as they move into the COPYs' flags: what stays in the RUN, what is said, and why no fix is
    offered (``not_fixed``)."""

    run: Instruction
    touched: list[OwnerChange]
    matches: list[Match]
    residuals: dict[int, str]  # by the change's command: the non-recursive change kept for a folder made before
    created_here: bool  # the RUN creates the user the changes name: the COPY moves below it
    removed_run: bool
    flags: list[str]  # per match, as written on the COPY
    message: str
    savings: Savings
    start: int
    end: int
    not_fixed: str | None


def plan_move(
    run: Instruction,
    commands: list[SimpleCommand],
    touched: list[OwnerChange],
    matches: list[Match],
    size: int | None,
) -> Move:
    moved = {id(change.command) for change in touched}
    remaining = [command for command in commands if id(command) not in moved]
    residual_texts = {id(change.command): residual_text(change, matches) for change in touched}
    residuals = {key: text for key, text in residual_texts.items() if text}
    created_here = any(creates_user(command, named_users(touched)) for command in remaining)
    flags = [match.written_flags for match in matches]
    removed_run = not remaining and not residuals
    stored_again = (
        Unknown("the copied files are not in the build context dockerfix read")
        if size is None
        else ByteGain(size, "sizes of the copied files in the build context")
    )
    not_fixed = (
        "the user is created in this RUN, after the COPY, by a RUN that does more"
        if created_here and (residuals or keeps_the_copy_above(remaining, matches))
        else None
    )
    return Move(
        run,
        touched,
        matches,
        residuals,
        created_here,
        removed_run,
        flags,
        move_message(run, touched, matches, flags[0], size),
        Savings.of(stored_again, layers=1 if removed_run else None),
        run.arguments_to_source(touched[0].command.start),
        run.arguments_to_source(touched[-1].command.end, end=True),
        not_fixed,
    )


def move_message(
    run: Instruction, touched: list[OwnerChange], matches: list[Match], flag: str, size: int | None
) -> str:
    said = ", ".join(f"`{run.shell_script.source[c.command.start : c.command.end]}`" for c in touched)
    lines = ", ".join(str(m.target.instruction.start_line) for m in matches)
    copies = f"COPY on line {lines}" if len(matches) == 1 else f"COPYs on lines {lines}"
    return (
        f"{said} on files the {copies} wrote: this layer stores them again "
        f"({f'{size} bytes' if size is not None else 'the size of the copied files'}); `{flag}` on the COPY "
        "writes them once"
    )


def keeps_the_copy_above(remaining: list[SimpleCommand], matches: list[Match]) -> bool:
    """Whether a command left in the RUN does more than manage users, or names what the COPYs wrote: the COPY cannot
    move below the RUN then."""
    for command in remaining:
        name, arguments = tool_and_arguments(command)
        if name not in USER_COMMANDS or any(
            argument is not None and any(is_under(argument, m.target.destination) for m in matches)
            for argument in arguments
        ):
            return True
    return False


def moved_copy_edits(document: Document, run: Instruction, match: Match) -> list[Edit]:
    """The COPY, with its flags, taken out and put back right after the RUN that creates the user."""
    span_start, span_end = match.target.instruction.span
    shifted = [Edit(e.start - span_start, e.end - span_start, e.content) for e in flag_edits(match)]
    text = apply_edits(document.text[span_start:span_end], shifted)
    ending = "" if document.text[run.span[1] - 1 : run.span[1]] == "\n" else document.source.newline
    return [Edit.delete(span_start, span_end), Edit.insert(run.span[1], ending + text)]


def fix_title(move: Move, applicability: Applicability) -> str:
    names = sorted({flag.split("=")[0] for flags in move.flags for flag in flags.split()})
    title = f"Set {' and '.join(names)} on the COPY" + (
        " and move it below the RUN that creates the user" if move.created_here else ""
    )
    if applicability == Applicability.DISPLAY_ONLY:
        return title + " (a symbolic --chmod needs `# syntax=docker/dockerfile:1.14` or later)"
    if applicability == Applicability.UNSAFE:
        kinds = {m.kind for m in move.matches}
        return (
            title
            + " (unsafe: "
            + (
                "a folder copy: folders it creates and symbolic links may end with another owner or mode)"
                if "folder" in kinds
                else "the build context does not show that the source is one file)"
                if "unknown" in kinds
                else "the file's parent folder may not exist before the COPY, which would then create it)"
            )
        )
    return title
