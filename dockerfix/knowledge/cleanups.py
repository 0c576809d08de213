"""What a RUN already does about the files it leaves behind, so that a rule understands the cleanup there before it
adds one: the paths the RUN removes (`rm`, `find ... -delete`, `apt-get dist-clean`), written literally, as globs or
through variables (`export COMPOSER_HOME="$(mktemp -d)"; ...; rm -rf "$COMPOSER_HOME"`), and the mounts that keep
a folder out of the image (`--mount=type=cache|tmpfs|bind`).

Paths are compared as text after a light normalisation: quotes dropped, `${NAME}` written `$NAME`, a variable whose
value the stage or the RUN gives literally replaced by it, and any other variable kept as the symbol `$NAME` (equal
only to itself), `~` as `$HOME`. A removal covers a path when it names the path or a folder above it, shell globs
(`*`, `?`, `[...]`) matched one path component at a time.
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from functools import lru_cache

from msgspec import Struct

from dockerfix.rewriter.arguments import expand_word
from dockerfix.rewriter.document import Instruction, Stage
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.shell import SimpleCommand, Word

from .analysis import Invocation, mount_options, tool_and_arguments, workdir_at

# What a folder the RUN reads is written from: the root, or a variable whose value cannot be read.
_ROOTS = ("/", "$")
_VARIABLE = LazyPattern(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_UNREADABLE = LazyPattern(r"\$\(|`|\$\{[^}]*[^A-Za-z0-9_}][^}]*\}|'")

# The programs whose own arguments name what they remove (``removals`` reads them).
_REMOVING_TOOLS = frozenset({"rm", "find"})
# Package managers' own commands that empty folders, as the paths they remove.
TOOL_CLEANUPS: Mapping[tuple[str | None, str | None], tuple[str, ...]] = {
    # apt 2.7+: `clean` plus the package lists (it keeps the files apt needs, such as lists/lock)
    ("apt-get", "dist-clean"): ("/var/lib/apt/lists/*", "/var/cache/apt/*"),
    ("apt", "dist-clean"): ("/var/lib/apt/lists/*", "/var/cache/apt/*"),
}

# `find` tests that only narrow which files it deletes in ways a path-and-name comparison can follow.
_FIND_NARROWING = {"-type", "-mindepth", "-maxdepth", "-name", "-iname", "-xdev", "-depth", "-print", "-o", "-or"}
_FIND_TESTS_WITH_VALUE = {"-type", "-mindepth", "-maxdepth", "-name", "-iname"}


class Removal(Struct, frozen=True):
    """Files a command removes: ``pattern`` (a normalised path or glob) and everything below it, or with ``name``
    only the files below it so named (`find PATTERN -name NAME -delete`)."""

    pattern: str
    name: str | None = None

    def covers(self, path: str, cwd: str | None = None) -> bool:
        pattern_parts, path_parts = _aligned(self.pattern, path, cwd)
        if pattern_parts is None or len(pattern_parts) > len(path_parts):
            return False
        if not all(_matches(part, glob) for part, glob in zip(path_parts, pattern_parts, strict=False)):
            return False
        if self.name is None:
            return True
        return len(path_parts) > len(pattern_parts) and any(
            _matches(part, self.name) for part in path_parts[len(pattern_parts) :]
        )


def _matches(name: str, glob: str) -> bool:
    """``fnmatchcase``, which makes a regular expression of every component it is given: most are literal (`var`,
    `lib`, `apt`), compared as they are (193 expressions were compiled in a pass over the corpus, for 5,700 tests)."""
    if "*" in glob or "?" in glob or "[" in glob:
        return fnmatchcase(name, glob)
    return name == glob


def _aligned(pattern: str, path: str, cwd: str | None) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """Both as path components, from the same folder: a relative one resolved against ``cwd``; when ``cwd`` is
    unknown a relative pattern is compared with the end of a rooted path (absolute, or below a variable whose value
    cannot be read: the RUN may well be there)."""
    if pattern.startswith(_ROOTS) != path.startswith(_ROOTS) and cwd is not None:
        pattern, path = (posixpath.join(cwd, p) if not p.startswith(_ROOTS) else p for p in (pattern, path))
    pattern_parts = _parts(pattern)
    path_parts = _parts(path)
    if pattern.startswith(_ROOTS) == path.startswith(_ROOTS):
        return pattern_parts, path_parts
    if not pattern.startswith(_ROOTS) and len(pattern_parts) <= len(path_parts):
        return pattern_parts, path_parts[len(path_parts) - len(pattern_parts) :]
    return None, path_parts


@lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[str, ...]:
    """Cached: a rule compares the same few paths (its cache folder, the common cleanups) in every RUN and pass."""
    return tuple(part for part in posixpath.normpath(path).split("/") if part not in ("", "."))


def normalised(text: str, environment: Mapping[str, str]) -> str | None:
    """A path as written in the shell (quotes included), normalised; None when it needs a command substitution,
    single quotes around a `$` or a parameter operation to read."""
    if "$" not in text and "~" not in text and '"' not in text and "\\" not in text:
        return text
    if "\\" in text or (_UNREADABLE.search(text) and "$" in text):
        return None
    text = text.replace('"', "").replace("'", "")
    if text == "~" or text.startswith("~/"):
        text = "$HOME" + text[1:]
    return _VARIABLE.sub(lambda match: environment.get(match[1] or match[2], "$" + (match[1] or match[2])), text)


def word_path(word: Word, environment: Mapping[str, str]) -> str | None:
    if word.literal is not None and "$" not in word.text and not word.text.startswith("~"):
        return word.literal
    return normalised(word.text, environment)


class _StageSettings:
    """Every value ENV and ARG give a name in one stage, in order, so that the value before any instruction is a
    look-up, not a scan (a stage may set thousands). An ARG is read as its default: a build argument may override
    it, and then a removal may be taken for cleanup that is not one, which only makes a rule quiet."""

    def __init__(self, stage: Stage) -> None:
        self.history: dict[str, tuple[list[int], list[str]]] = {}
        for instruction in stage.instructions:
            settings: list[tuple[str, str | None]]
            if instruction.cmd == "env":
                settings = list(zip(instruction.value[0::2], instruction.value[1::2], strict=True))
            elif instruction.cmd == "arg":
                settings = [
                    (name, default if equals else None)
                    for name, equals, default in (word.partition("=") for word in instruction.value)
                ]
            else:
                continue
            # the values of one instruction see the variables as they were before it
            before = Variables(self, instruction.index, {})
            for name, value in settings:
                indexes, values = self.history.setdefault(name, ([], []))
                indexes.append(instruction.index)
                values.append((normalised(value, before) if value is not None else None) or "$" + name)

    def value(self, name: str, before: int) -> str | None:
        indexes, values = self.history.get(name, ((), ()))
        position = bisect.bisect_left(indexes, before)
        return values[position - 1] if position else None


def stage_settings(stage: Stage) -> _StageSettings:
    """The ENV and ARG values of the stage, read once per stage."""
    return stage.facts(_StageSettings)


def env_set_before(stage: Stage, run: Instruction, name: str) -> bool:
    """Whether ENV or ARG sets ``name`` in the stage before ``run``."""
    indexes, _ = stage_settings(stage).history.get(name, ([], []))
    return bool(indexes) and indexes[0] < run.index


class Variables(Mapping[str, str]):
    """The variables a command sees: those the RUN and the command set (``local``), over the stage's ENV and ARG
    before instruction ``before``."""

    def __init__(self, stage: _StageSettings, before: int, local: Mapping[str, str]) -> None:
        self.stage = stage
        self.before = before
        self.local = local

    def __getitem__(self, name: str) -> str:
        if name in self.local:
            return self.local[name]
        value = self.stage.value(name, self.before)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        names = set(self.local) | {
            name for name in self.stage.history if self.stage.value(name, self.before) is not None
        }
        return iter(sorted(names))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def assignment(word: Word, environment: Mapping[str, str]) -> tuple[str, str]:
    """`NAME=value` as the name and the normalised value (the symbol `$NAME` when the value cannot be read)."""
    name, _, value = word.text.partition("=")
    return name, normalised(value, environment) or "$" + name


class RunReading(Struct, frozen=True):
    """One RUN read for cleanup, command by command (the positions of ``run.shell.simple_commands()``): the
    variables each command sees, the folder it runs in (None when unknown), and what it removes."""

    environments: tuple[Mapping[str, str], ...]
    folders: tuple[str | None, ...]
    removals: tuple[tuple[int, Removal], ...]

    def removed_after(self, position: int, path: str) -> bool:
        """Whether a command after ``position`` removes ``path`` (normalised like the RUN's words, e.g.
        `$COMPOSER_HOME/cache`; a relative path is read in the folder of the command at ``position``)."""
        folder = self.folders[position]
        if not path.startswith(_ROOTS) and folder is not None:
            path = posixpath.join(folder, path)
        return any(index > position and removal.covers(path, self.folders[index]) for index, removal in self.removals)


def reading(stage: Stage, run: Instruction) -> RunReading:
    """How the RUN reads (see ``RunReading``), once per RUN."""
    return stage.facts(_read_run, run)


def _read_run(stage: Stage, run: Instruction) -> RunReading:
    """The variables are the stage's, then what the RUN's top-level commands set (`export NAME=...`, `NAME=...`),
    then a command's own `NAME=value command` prefixes. The folder is the RUN's WORKDIR, then wherever a top-level
    `cd FOLDER` with a readable folder went; after any other `cd` it is unknown (a relative removal is then compared
    with the end of a path)."""
    settings = stage_settings(stage)
    local: dict[str, str] = {}
    folder = workdir_at(stage, run)
    environments: list[Mapping[str, str]] = []
    folders: list[str | None] = []
    found: list[tuple[int, Removal]] = []
    shared: Variables | None = None  # what the RUN has set so far, read again only once it sets more
    for index, command in enumerate(run.shell_script.simple_commands()):
        if shared is None:
            shared = Variables(settings, run.index, dict(local))
        own = (
            Variables(settings, run.index, {**local, **dict(assignment(word, shared) for word in command.assignments)})
            if command.assignments
            else shared
        )
        environments.append(own)
        folders.append(folder)
        found.extend((index, removal) for removal in removals(command, own))
        if command.name_literal in ("cd", "pushd", "popd"):
            folder = _changed_folder(command, own, folder)
        if command.in_subshell or not command.top_level:
            continue
        if command.name_literal in ("export", "declare", "typeset", "readonly"):
            local.update(
                assignment(word, shared)
                for word in command.arguments
                if "=" in word.text and not word.text.startswith("-")
            )
            shared = None
        elif command.name is None:
            local.update(assignment(word, shared) for word in command.assignments)
            shared = None
    return RunReading(tuple(environments), tuple(folders), tuple(found))


def removed_after(stage: Stage, run: Instruction, position: int, path: str) -> bool:
    """Whether a command of the RUN after command ``position`` removes ``path`` (see ``RunReading``). An absolute
    ``path`` removed by commands that name absolute paths without variables (most cleanups: `rm -rf
    /var/lib/apt/lists/*`) needs neither the variables nor the folders of the RUN's reading."""
    later = [index for index in removing_commands(run) if index > position]
    if not later:  # most RUNs a rule asks about
        return False
    if path.startswith("/"):
        commands = run.shell_script.simple_commands()
        found = [fixed_removals(commands[index]) for index in later]
        if all(removals is not None and all(r.pattern.startswith("/") for r in removals) for removals in found):
            return any(removal.covers(path) for removals in found for removal in removals or ())
    return reading(stage, run).removed_after(position, path)


def removing_commands(run: Instruction) -> tuple[int, ...]:
    """The positions of the RUN's commands that may remove files (the only ones ``removals`` reads), found from
    what each command runs, once per RUN: without one after a command, nothing is removed after it, and the
    variables and folders of the RUN's ``reading`` need not be worked out."""
    return run.facts(_find_removing_commands)


def _find_removing_commands(run: Instruction) -> tuple[int, ...]:
    return tuple(
        position for position, command in enumerate(run.shell_script.simple_commands()) if _may_remove(command)
    )


def _may_remove(command: SimpleCommand) -> bool:
    invocation = Invocation.of(command)
    return invocation.tool in _REMOVING_TOOLS or (invocation.tool, invocation.verb) in TOOL_CLEANUPS


def fixed_removals(command: SimpleCommand) -> tuple[Removal, ...] | None:
    """What the command removes when no variable decides it, None when one may: read once per command, which every
    pass of the fix loop over an unchanged RUN shares."""
    return command.facts(_read_fixed_removals)


def _read_fixed_removals(command: SimpleCommand) -> tuple[Removal, ...] | None:
    environment = _Unasked()
    found = removals(command, environment)
    return None if environment.asked else tuple(found)


class _Unasked(Mapping[str, str]):
    """Variables with no value that note whether they were asked for one: what a command removes without asking is
    what it removes whatever the variables are."""

    def __init__(self) -> None:
        self.asked = False

    def __getitem__(self, name: str) -> str:
        self.asked = True
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        self.asked = True
        return iter(())

    def __len__(self) -> int:
        self.asked = True
        return 0


def removals(command: SimpleCommand, environment: Mapping[str, str]) -> list[Removal]:
    """What one command removes, as far as it can be read."""
    invocation = Invocation.of(command)
    name = invocation.tool
    words = command.arguments[invocation.shift :]
    if name == "rm":
        options_done = False
        found = []
        for word in words:
            if not options_done and word.text == "--":
                options_done = True
            elif options_done or not word.text.startswith("-"):
                path = word_path(word, environment)
                if path is not None:
                    found.append(Removal(path))
        return found
    if name == "find":
        return _find_removals(words, environment)
    return [Removal(path) for path in TOOL_CLEANUPS.get((name, invocation.verb), ())]


def _find_removals(words: Sequence[Word], environment: Mapping[str, str]) -> list[Removal]:
    """`find ROOT... [-type t] [-mindepth n] [-name GLOB] -delete` (or `-exec rm ...`): files below each root, or
    only those so named; any other test (age, size, path) makes it unreadable."""
    roots: list[str] = []
    name: str | None = None
    deletes = False
    texts = [word.literal for word in words]
    index = 0
    while index < len(words) and not words[index].text.startswith(("-", "(", "!", "\\(")):
        root = word_path(words[index], environment)
        if root is None:
            return []
        roots.append(root)
        index += 1
    while index < len(texts):
        text = texts[index]
        if text == "-delete":
            deletes = True
        elif text in ("-exec", "-execdir"):
            deletes = index + 1 < len(texts) and texts[index + 1] == "rm"
            break
        elif text not in _FIND_NARROWING:
            return []
        elif text in _FIND_TESTS_WITH_VALUE:
            if text in ("-name", "-iname"):
                name = texts[index + 1] if index + 1 < len(texts) else None
                if name is None:
                    return []
            index += 1
        index += 1
    if not deletes:
        return []
    return [Removal(root.rstrip("/") or "/", name) for root in roots]


def _changed_folder(command: SimpleCommand, environment: Mapping[str, str], cwd: str | None) -> str | None:
    """The folder after a `cd`: known only for `cd FOLDER` at the top level, FOLDER absolute, a variable whose value
    cannot be read (`cd "$BUILD_TMP"`: the symbol `$BUILD_TMP` stands for a folder of its own, as in a later
    `rm -rf "$BUILD_TMP"`), or ``cwd`` known; never above such a variable's folder, whose parent is unknown."""
    if command.name_literal != "cd" or len(command.arguments) != 1 or not command.top_level or command.in_subshell:
        return None
    target = word_path(command.arguments[0], environment)
    if target is None or (cwd is None and not target.startswith(_ROOTS)):
        return None
    folder = posixpath.normpath(target if target.startswith(_ROOTS) else posixpath.join(cwd or "/", target))
    return folder if folder.startswith(_ROOTS) else None


class RunMount(Struct, frozen=True):
    """One `--mount` of a RUN: its type and its target as BuildKit resolves it (variables expanded, below the
    WORKDIR when relative, normalised as Go's path.Clean does). A variable with no value known here (a build
    argument without a default, the base image's ENV) stays `$NAME`, as in the RUN's reading, and a relative target
    stays relative when the WORKDIR is not known; None when the target cannot be read at all."""

    type: str
    target: str | None


# Where BuildKit puts a secret, or the n-th SSH agent socket of a RUN, when the mount names no target
_SECRETS_FOLDER = "/run/secrets"
_SSH_AGENT_SOCKET = "/run/buildkit/ssh_agent."
_VARIABLE_NAME = LazyPattern(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def run_mounts(stage: Stage, run: Instruction) -> tuple[RunMount, ...]:
    """The RUN's mounts, resolved once per RUN: a rule asks once for each path it checks."""
    if not run.parsed.flags:  # most RUNs: nothing to look up
        return ()
    return stage.facts(_resolve_mounts, run)


def _resolve_mounts(stage: Stage, run: Instruction) -> tuple[RunMount, ...]:
    found = mount_options(run)
    if not found:  # most RUNs: no WORKDIR or variables to read
        return ()
    workdir = workdir_at(stage, run)
    # the stage's ENV and ARG matter only to a mount that names a variable (`$NAME`, or `~` read as `$HOME`)
    named = any("$" in value or "~" in value for options in found for value in options.values())
    variables: Mapping[str, str] = Variables(stage_settings(stage), run.index, {}) if named else {}
    mounts: list[RunMount] = []
    for options in found:
        target: str | None = None  # BuildKit refuses a bind, cache or tmpfs mount without one
        if options.get("target"):
            target = _resolved(options["target"], variables, workdir)
        elif options["type"] == "secret":
            name = options.get("source") or options.get("id")
            name = name and _resolved(name, variables, None)
            # a secret whose name cannot be read is still a file in the secrets folder
            target = (
                posixpath.join(_SECRETS_FOLDER, posixpath.basename(name))
                if name and "$" not in name
                else _SECRETS_FOLDER
            )
        elif options["type"] == "ssh":
            target = _SSH_AGENT_SOCKET + str(sum(1 for mount in mounts if mount.type == "ssh"))
        mounts.append(RunMount(options["type"], target))
    return tuple(mounts)


def _resolved(text: str, variables: Mapping[str, str], workdir: str | None) -> str | None:
    """A mount option's path as BuildKit expands and resolves it (see ``RunMount``)."""
    names = _VARIABLE_NAME.findall(text)
    # a value that still names a variable is one a build argument or the base image sets
    known = {name: value for name in names if (value := variables.get(name)) is not None and "$" not in value}
    expanded = expand_word(text, known)
    if expanded is None:
        expanded = normalised(text, variables)
    elif not expanded.startswith("/") and workdir is not None:
        expanded = posixpath.join(workdir, expanded)
    # Go's path.Clean: unlike POSIX, a leading `//` is `/`
    return re.sub("^//+", "/", posixpath.normpath(expanded)) if expanded else None


def mount_targets(stage: Stage, run: Instruction) -> list[str]:
    """Targets of the RUN's `--mount` flags (as ``RunMount`` spells them): what is written below one never reaches
    the image, whatever the type (cache and tmpfs are not committed; a bind mount's writes are discarded)."""
    return [mount.target for mount in run_mounts(stage, run) if mount.target and mount.type not in ("secret", "ssh")]


def kept_out_by_mount(stage: Stage, run: Instruction, path: str) -> bool:
    targets = mount_targets(stage, run)
    if not targets:  # most RUNs: their WORKDIR is not worth looking up
        return False
    cwd = workdir_at(stage, run)
    return any(Removal(target).covers(path, cwd) for target in targets)


def removes_path(commands: Sequence[SimpleCommand], pattern: str) -> bool:
    """Whether some `rm` among the commands removes a path matching the regular expression ``pattern``."""
    regex = re.compile(pattern)
    for command in commands:
        name, arguments = tool_and_arguments(command)
        if name == "rm" and any(argument is not None and regex.search(argument) for argument in arguments):
            return True
    return False
