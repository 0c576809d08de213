"""The analysis every rule shares, computed once per node and kept with it (``Analysed.facts``): what each command
runs (program, verb, arguments), each RUN's mounts, each stage's shell RUNs and the WORKDIR and USER in force. Rules
ask here instead of walking the document again; the values of ENV and ARG in force are ``cleanups.stage_settings``
(they are read the way cleanup paths are normalised). The stage queries that need no cache live here too: the
stages built on a stage, the COPY of the whole build context and the build steps from it to the stage's end."""

from __future__ import annotations

import bisect
import csv
import posixpath
import re
from collections.abc import Collection, Iterator, Sequence
from typing import TypeVar

from msgspec import Struct

from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.shell import SimpleCommand

from .shellfacts import python_module_command

Setting = TypeVar("Setting")


def verb_index(arguments: Sequence[str | None]) -> int | None:
    """Index of the first argument that is not an option: `apt-get -y install x` -> 1; None when a word that is not
    literal comes first, or none is left."""
    for index, argument in enumerate(arguments):
        if argument is None:
            return None
        if not argument.startswith("-"):
            return index
    return None


class Invocation(Struct, frozen=True):
    """What a simple command runs: the program (`python -m pip` read as `pip`, a path like /usr/bin/pip as `pip`),
    its arguments as literals (None for a word that depends on an expansion) and where its verb is."""

    tool: str | None
    arguments: list[str | None]
    verb_at: int | None
    shift: int  # how many of the command's own words the reading dropped (`-m pip` of `python -m pip`)

    @staticmethod
    def of(command: SimpleCommand) -> Invocation:
        return command.facts(_read_invocation)

    @property
    def verb(self) -> str | None:
        return None if self.verb_at is None else self.arguments[self.verb_at]

    @property
    def after_verb(self) -> list[str | None]:
        """The arguments after the verb (none without one)."""
        return [] if self.verb_at is None else self.arguments[self.verb_at + 1 :]

    def runs(self, tools: Collection[str], verbs: Collection[str]) -> bool:
        """Whether the command is one of ``tools`` with one of ``verbs``."""
        return self.tool in tools and self.verb in verbs

    def own_index(self, index: int) -> int:
        """The position among the command's own words of argument ``index`` (`python -m pip` shifts them)."""
        return index + self.shift


def _read_invocation(command: SimpleCommand) -> Invocation:
    name = command.name_literal
    if name is None:
        arguments = command.argument_literals
    else:
        name, read = python_module_command(name.rsplit("/", 1)[-1], command.argument_literals)
        arguments = list(read)
    return Invocation(name, arguments, verb_index(arguments), len(command.arguments) - len(arguments))


def tool_and_arguments(command: SimpleCommand) -> tuple[str | None, list[str | None]]:
    """The program a command runs and its arguments (see ``Invocation``)."""
    invocation = Invocation.of(command)
    return invocation.tool, invocation.arguments


# BuildKit's other names for a mount's fields (`parseMount`)
_FIELD_ALIASES = {"dst": "target", "destination": "target", "src": "source"}


def mount_options(run: Instruction) -> list[dict[str, str]]:
    """The options of each `--mount` flag of the RUN as BuildKit's ``parseMount`` reads them, before variables are
    expanded: the flag as BuildKit extracts it (its quotes removed), then CSV fields (a field may be quoted), keys in
    any case, `dst` and `destination` as `target`, `src` as `source`, the type `bind` unless given (in lower case,
    as BuildKit compares it); a later field wins."""
    return run.facts(_read_mount_options)


def _read_mount_options(run: Instruction) -> list[dict[str, str]]:
    found = []
    for flag in run.parsed.flags:
        name, equals, value = flag[2:].partition("=")
        if name.lower() != "mount" or not equals:
            continue
        try:
            fields = next(csv.reader([value]), [])
        except csv.Error:
            fields = []
        options = {"type": "bind"}
        for field in fields:
            key, _, text = field.partition("=")
            key = key.lower()
            options[_FIELD_ALIASES.get(key, key)] = text
        options["type"] = options["type"].lower()
        found.append(options)
    return found


def cache_mount_targets(run: Instruction) -> list[str]:
    """Targets of `--mount=type=cache` flags as written: what is cached there never reaches the image."""
    return [options.get("target", "") for options in mount_options(run) if options["type"] == "cache"]


def shell_runs(stage: Stage) -> Iterator[tuple[Instruction, list[SimpleCommand]]]:
    """Shell-form RUNs of a stage that parsed, with their commands (a list of its own for each caller)."""
    for instruction, commands in stage.facts(_shell_runs):
        yield instruction, list(commands)


def _shell_runs(stage: Stage) -> tuple[tuple[Instruction, tuple[SimpleCommand, ...]], ...]:
    return tuple(
        (instruction, script.commands)
        for instruction in stage.instructions
        if instruction.cmd == "run"
        and not instruction.parsed.json
        and (script := instruction.shell) is not None
        and not script.has_error
    )


def runs_running(stage: Stage, tools: Collection[str]) -> Iterator[tuple[Instruction, list[SimpleCommand]]]:
    """The stage's shell RUNs (as ``shell_runs`` gives them, in file order) with a command that runs one of
    ``tools`` (its ``Invocation.tool``): a rule about some programs reads only these, from an index of the stage
    built once for every rule. Each rule asks it of every stage in every check, and most stages run none of them:
    that answer costs one look-up per tool."""
    by_tool = stage.facts(_runs_by_tool)
    found = [by_tool[tool] for tool in tools if tool in by_tool]
    if not found:
        return iter(())
    runs = stage.facts(_shell_runs)
    positions = found[0] if len(found) == 1 else sorted(set().union(*found))
    return ((runs[position][0], list(runs[position][1])) for position in positions)


def commands_running(stage: Stage, tools: Collection[str]) -> Iterator[tuple[Instruction, list[SimpleCommand], int]]:
    """Each command of the stage's shell RUNs that runs one of ``tools``, in file order: its RUN, the RUN's commands
    (as ``runs_running`` gives them) and its position among them. A rule about one command and what follows it in
    its RUN reads these, not every command of every RUN in every check."""
    for run, commands in runs_running(stage, tools):
        for position, command in enumerate(commands):
            if Invocation.of(command).tool in tools:
                yield run, commands, position


def stages_running(document: Document, tools: Collection[str]) -> Iterator[Stage]:
    """The stages with a shell RUN that runs one of ``tools`` (see ``runs_running``). Most documents run none of
    the programs a rule is about: one look-up in an index of the document answers for all of its stages."""
    if document.facts(_tools_run).isdisjoint(tools):
        return iter(())
    return (stage for stage in document.stages if not stage.facts(_runs_by_tool).keys().isdisjoint(tools))


def _tools_run(document: Document) -> frozenset[str]:
    """Every program the document's shell RUNs run."""
    return frozenset(tool for stage in document.stages for tool in stage.facts(_runs_by_tool))


def _runs_by_tool(stage: Stage) -> dict[str, list[int]]:
    """Each program the stage's shell RUNs run, with the positions (in ``_shell_runs``) of the RUNs that run it, in
    order."""
    found: dict[str, list[int]] = {}
    for position, (_, commands) in enumerate(stage.facts(_shell_runs)):
        for tool in {Invocation.of(command).tool for command in commands}:
            if tool is not None:
                found.setdefault(tool, []).append(position)
    return found


def workdir_at(stage: Stage, instruction: Instruction) -> str | None:
    """The WORKDIR in effect at ``instruction``; None when it is unknowable here (set by the base image, which
    may set its own, or through a variable)."""
    return _in_force(stage.facts(_workdirs), instruction)


def _workdirs(stage: Stage) -> tuple[list[int], list[str | None]]:
    """Each WORKDIR of the stage (its index) and the folder in effect after it."""
    indexes: list[int] = []
    folders: list[str | None] = []
    folder: str | None = None
    for instruction in stage.instructions:
        if instruction.cmd == "workdir" and instruction.value:
            target = instruction.value[0]
            if "$" in target or (folder is None and not target.startswith("/")):
                folder = None
            else:
                folder = posixpath.normpath(posixpath.join(folder or "/", target))
            indexes.append(instruction.index)
            folders.append(folder)
    return indexes, folders


def copy_destination(stage: Stage, copy: Instruction) -> str | None:
    """Where a COPY/ADD writes, absolute and normalised (a relative destination is below the WORKDIR); None when a
    variable or an unknown WORKDIR hides it."""
    destination = copy.value[-1]
    workdir = "/" if destination.startswith("/") else workdir_at(stage, copy)
    if "$" in destination or workdir is None:
        return None
    return posixpath.normpath(posixpath.join(workdir, destination))


# ADD's flags that COPY does not take, and the source names ADD extracts as archives
ADD_ONLY_FLAGS = {"checksum", "keep-git-dir", "unpack"}
ARCHIVE_NAME = LazyPattern(r"\.(tar|gz|tgz|bz2|tbz2?|xz|txz|zst|lz4)$|\.tar\.", re.IGNORECASE)


def add_does_more_than_copy(add: Instruction, sources: Sequence[str]) -> bool:
    """Whether this ADD of ``sources`` fetches a URL or a git repository, extracts an archive (by its name) or takes
    a flag COPY does not: then it is no COPY."""
    return any(flag.name in ADD_ONLY_FLAGS for flag in add.flags) or any(
        "://" in source or source.startswith("git@") or ARCHIVE_NAME.search(source) for source in sources
    )


def _users(stage: Stage) -> tuple[list[int], list[str]]:
    """The stage's USER instructions (index, value as written) in order."""
    indexes, users = [], []
    for instruction in stage.instructions:
        if instruction.cmd == "user" and instruction.value:
            indexes.append(instruction.index)
            users.append(instruction.value[0])
    return indexes, users


def run_user(stage: Stage, run: Instruction) -> str | None:
    """The USER in effect at ``run`` as written (`name[:group]`), None when the stage sets none."""
    return _in_force(stage.facts(_users), run)


def _in_force(settings: tuple[list[int], list[Setting]], instruction: Instruction) -> Setting | None:
    """The value of the last of ``settings`` (instruction indexes, values, in order) before ``instruction``."""
    indexes, values = settings
    position = bisect.bisect_left(indexes, instruction.index)
    return values[position - 1] if position else None


def stages_built_on(document: Document, stage: Stage) -> list[Stage]:
    """The stages whose FROM names this stage, directly or through another such stage, in file order."""
    names = {stage.name} if stage.name else set()
    found = []
    for later in document.stages[stage.index + 1 :]:
        if later.base_image.lower() in names:
            found.append(later)
            if later.name:
                names.add(later.name)
    return found


WHOLE_CONTEXT = {".", "./"}


def source_copies(stage: Stage) -> tuple[Instruction, ...]:
    """The stage's COPY/ADD instructions of the whole build context, in order: the volatile steps that any source
    edit invalidates. Read once per stage for the rules that ask in every check (most stages have none)."""
    return stage.facts(_source_copies)


def _source_copies(stage: Stage) -> tuple[Instruction, ...]:
    return tuple(
        instruction
        for instruction in stage.instructions
        if instruction.cmd in ("copy", "add")
        and instruction.flag("from") is None
        and len(instruction.value) == 2
        and instruction.value[0] in WHOLE_CONTEXT
    )


def steps_from(stage: Stage, first: Instruction) -> int:
    """Build steps (RUN, COPY, ADD) from ``first`` to the end of the stage: what a change to the files ``first``
    copies makes BuildKit run again."""
    return sum(1 for i in stage.instructions if i.index >= first.index and i.cmd in ("run", "copy", "add"))
