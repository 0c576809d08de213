"""Shared ways to look at and edit a RUN instruction, and the two shapes most layer rules take: "append a cleanup
command to the RUN that made the mess" and "add a flag to a package-manager command". Rules subclass these and
supply the facts; the editing, the safety checks and the file's formatting style live here once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from dockerfix.rewriter.document import Document, Heredoc, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, ContentChange, Edit, Finding, Fix, Gain, Savings, Unknown
from dockerfix.rewriter.rule import Rule, RuleContext
from dockerfix.rewriter.shell import Script, SimpleCommand, parse_shell

from .analysis import Invocation, cache_mount_targets, shell_runs, tool_and_arguments
from .gains import package_cache_gain

if TYPE_CHECKING:  # cachemounts reads base images, whose knowledge formats RUNs with this module's Style
    from .cachemounts import CacheMount


@dataclass(frozen=True)
class Style:
    """How the file writes continuation lines: the indentation and where `&&` goes."""

    indent: str
    leading_operator: bool

    @classmethod
    def of(cls, document: Document) -> Style:
        """Every layer rule asks for the style of the same document: it is measured once."""
        return document.facts(cls.measure)

    @classmethod
    def of_runs(cls, document: Document, runs: Sequence[Instruction]) -> Style:
        """The style of these RUNs when one of them spans lines (a RUN is continued the way it was written),
        else the file's."""
        if any(len(run.lines) > 1 for run in runs):
            return cls.measure(document, runs)
        return cls.of(document)

    @classmethod
    def measure(cls, document: Document, instructions: Sequence[Instruction] | None = None) -> Style:
        indents: Counter[str] = Counter()
        leading = trailing = 0
        for instruction in document.instructions if instructions is None else instructions:
            if instruction.cmd != "run" or len(instruction.lines) < 2:
                continue
            for line in instruction.lines:
                content = document.text[line.start : line.content_end]
                stripped = content.lstrip(" \t")
                if line is not instruction.lines[0] and stripped and not stripped.startswith("#"):
                    indents[content[: len(content) - len(stripped)]] += 1
                    leading += stripped.startswith(("&&", "||"))
                trailing += content.rstrip(" \t" + document.escape).endswith("&&")
        indent = indents.most_common(1)[0][0] if indents else "    "
        return cls(indent or "    ", leading_operator=leading >= trailing)

    def join(self, document: Document, comments: Sequence[str], command: str) -> str:
        """Text that continues a RUN with `&& command` on a new continuation line, comment lines (their text, `#`
        included) before it."""
        newline = document.source.newline
        escape = document.escape
        comment_lines = "".join(comment + newline for comment in comments)
        if self.leading_operator:
            return f" {escape}{newline}{comment_lines}{self.indent}&& {command}"
        return f" && {escape}{newline}{comment_lines}{self.indent}{command}"


def append_blocker(run: Instruction) -> str | None:
    """Why text cannot safely be added after this RUN's command, or None."""
    if run.cmd != "run" or run.is_json:
        return "an exec-form RUN"
    if run.heredocs and run.script_heredoc is None:
        return "a heredoc that is not the RUN's shell script"
    script = run.shell
    if script is None or script.has_error:
        return "the shell command could not be parsed"
    if run.script_heredoc is None and script.comments and trailing_comment(run) is None:
        return "a shell comment would swallow what follows it"
    if script.has_background:
        return "a command runs in the background (`&`)"
    if script.has_heredoc:
        return "a shell heredoc"
    if not run.arguments.strip() or not script.items:
        return "an empty RUN"
    if run.comment_lines and run.comment_lines[-1].number == run.lines[-1].number:
        return "the RUN ends with a comment line"
    if run.script_heredoc is not None:
        return script_append_blocker(script)
    return None


def _compound_last_item(script: Script) -> bool:
    """Whether the script's last item holds a list of its own (a loop, an `if`, a group over lines or with `;`); a
    command continued over lines with `\\` is one command."""
    last = script.items[-1]
    text = script.source[last.start : last.end]
    return "\n" in text.replace("\\\n", "") or parse_shell(text).has_sequence


def script_append_blocker(script: Script) -> str | None:
    """Why a command cannot be added at the end of a heredoc script, or None (see ``_append_to_script``)."""
    if script.items[-1].operator is not None:
        return "the heredoc script ends with `;`"
    if _compound_last_item(script):
        return "the heredoc script ends with a compound command (`set -e` would stop acting inside it)"
    return None


def trailing_comment(run: Instruction) -> str | None:
    """The shell comment that ends a RUN on its last line (`RUN make # build it`), which can become a comment line
    of the continuation when a command is added after the RUN's own; None when there is none or it is elsewhere."""
    script = run.shell
    if script is None or len(script.comments) != 1:
        return None
    start, end = script.comments[0]
    if start < script.content_end or run.arguments_to_source(start) < run.lines[-1].start:
        return None
    return script.source[start:end].rstrip()


def command_end(run: Instruction) -> int:
    """Source offset where the RUN's last command ends, before a trailing `;`, whitespace or comment."""
    return run.arguments_to_source(run.shell_script.content_end, end=True)


def command_text(document: Document, run: Instruction) -> str:
    """The RUN's command as written (continuations included), without a trailing `;` or whitespace."""
    return document.text[run.arguments_start : command_end(run)]


def subshell(text: str) -> str:
    """``text`` run in a subshell. A command that itself starts with `(` gets a blank after the new one: `((` starts
    arithmetic in ksh and some ash builds (bash reads `((cd /x && make) && y)` as two subshells only after failing
    to read arithmetic, and ShellCheck reports it as an error)."""
    return f"( {text})" if text.startswith("(") else f"({text})"


def closed_line(text: str, escape: str) -> str:
    """``text`` made safe to end a physical line: BuildKit reads an escape character followed only by blanks at a
    line end as a continuation (`echo foo\\ ;` without its `;` would swallow the next instruction), so such a
    command keeps a `;` after it, which ends a shell command without changing it."""
    if re.search(re.escape(escape) + r"[ \t]*$", text):
        return text + ";"
    return text


def list_needs_grouping(script: Script) -> bool:
    """A `;` or `||` at the top level would bind differently after `A && `."""
    return any(operator in (";", "||", "\n") for operator in script.top_level_operators())


def appendable_text(document: Document, run: Instruction) -> str:
    """A RUN's command in a form that can follow `&&` and still mean the same."""
    text = command_text(document, run)
    return f"{{ {text}; }}" if list_needs_grouping(run.shell_script) else text


def append_edit(document: Document, run: Instruction, command: str) -> Edit:
    """Append `&& command` to a RUN (check ``append_blocker`` first), continued the way the RUN is written.
    `a; b && c` still runs c only if b succeeded, and the RUN fails exactly when it failed before, so nothing that
    ran before changes."""
    if run.script_heredoc is not None:
        return _append_to_script(document, run, run.script_heredoc, command)
    style = Style.of_runs(document, [run])
    comment = trailing_comment(run)
    joined = style.join(document, [style.indent + comment] if comment else [], closed_line(command, document.escape))
    return Edit(command_end(run), run.header_end, joined)


# Inside a heredoc body the shell, not BuildKit, reads the lines: its escape character is the backslash.
SHELL_ESCAPE = "\\"


def _append_to_script(document: Document, run: Instruction, script: Heredoc, command: str) -> Edit:
    """Add ``command`` to a heredoc script on a line of its own before the terminator, indented like the script's
    last line. A heredoc script runs without `set -e` unless it says so, and its status is that of its last
    command: the last command gets a trailing `&&`, so the new one runs only after it succeeded and the RUN fails
    exactly when it failed before. A bare new line would run after a failure and hide it, even under `set -e` when
    `a && b` (or a loop or an `if` that fails in such a list) ends the script, so ``script_append_blocker``
    refuses a last command that holds a list of its own: on the left of `&&`, `set -e` stops acting inside it."""
    new_line = f"{script_line_indent(document, run)}{closed_line(command, SHELL_ESCAPE)}{document.source.newline}"
    end = command_end(run)
    return Edit(end, script.end, f" &&{document.text[end : script.end]}{new_line}")


def script_line_indent(document: Document, run: Instruction) -> str:
    """The indentation of the line of a heredoc script's last command (tabs that `<<-` strips included)."""
    last_start = run.arguments_to_source(run.shell_script.items[-1].start)
    line_start = document.text.rfind("\n", 0, last_start) + 1
    before = document.text[line_start:last_start]
    return before[: len(before) - len(before.lstrip(" \t"))]


def insert_after(run: Instruction, command: SimpleCommand, index: int, text: str) -> Edit:
    """Insert ` text` right after the argument ``index`` of a command of this RUN."""
    word = command.arguments[index]
    return Edit.insert(run.arguments_to_source(word.end, end=True), f" {text}")


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


def removes_path(commands: Sequence[SimpleCommand], pattern: str) -> bool:
    """Whether some `rm` among the commands removes a path matching the regular expression ``pattern``."""
    regex = re.compile(pattern)
    for command in commands:
        name, arguments = tool_and_arguments(command)
        if name == "rm" and any(argument is not None and regex.search(argument) for argument in arguments):
            return True
    return False


class CacheRule(Rule):
    """A layer rule about a cache a RUN leaves in the image: what its fix removes, and how a build cache mount may
    hold the cache instead."""

    cached_paths: ClassVar[tuple[str, ...]] = ()

    def content_change(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        """What the fix removes from this RUN's image (`dockerfix verify` accepts exactly that)."""
        return ContentChange(removes=self.cached_paths)

    @property
    def cache_mount(self) -> CacheMount | None:
        """How a build cache mount holds the cache instead of the rule's own fix (``cachemounts.CacheMount``)."""
        return None

    def gain(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> Gain:
        """The bytes the fix takes out of the shipped image, from measured or cited data (``knowledge.gains``)."""
        return Unknown(f"the size of {', '.join(self.cached_paths) or 'the cache'} after this install was not measured")

    def savings(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> Savings:
        return Savings.of(self.gain(document, stage, run, commands))

    def removed_content(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        """``content_change``, with the folders the stage or the RUN moved a mountable cache to."""
        declared = self.content_change(stage, run, commands)
        mount = self.cache_mount
        return declared if mount is None else mount.content_change(declared, stage, run, commands)

    def mount_fix(
        self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand], context: RuleContext
    ) -> Fix | None:
        mount = self.cache_mount
        return None if mount is None else mount.fix(self, document, stage, run, commands, context)


class AppendCleanupRule(CacheRule):
    """A RUN that installs with a package manager but leaves its cache behind gets the cleanup appended."""

    cleanup: ClassVar[str] = ""

    def creates_mess(self, command: SimpleCommand) -> bool:
        raise NotImplementedError

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        """Whether the RUN already removes the mess (or keeps it out of the image)."""
        raise NotImplementedError

    def blocker(self, document: Document, stage: Stage, run: Instruction) -> str | None:
        """A rule-specific reason not to fix this RUN (the finding is still reported)."""
        return None

    def follow_up(self, document: Document, stage: Stage, run: Instruction) -> tuple[list[Edit], str]:
        """Edits elsewhere that the cleanup needs to keep later instructions working, and what the title says of
        them (checked by ``blocker`` first)."""
        return [], ""

    def cleanup_command(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> str:
        """The command that cleans up after this RUN's commands (``blocker`` says when none can be written)."""
        return self.cleanup

    def cleared_folders(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> tuple[str, ...]:
        """The folders the appended cleanup removes, as the fix's title names them."""
        return self.cached_paths

    def message(self, cleanup: str) -> str:
        return f"this RUN leaves the package manager's cache in the layer; `{cleanup}` in the same RUN removes it"

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in document.stages:
            for run, commands in shell_runs(stage):
                culprit = next((command for command in commands if self.creates_mess(command)), None)
                if culprit is None or self.cleaned_up(stage, run, commands):
                    continue
                if (
                    any(
                        target.rstrip("/").startswith(self.cached_paths)
                        for target in cache_mount_targets(run)
                        if target
                    )
                    and self.cached_paths
                ):
                    continue
                start = run.arguments_to_source(culprit.start)
                end = run.arguments_to_source(culprit.end, end=True)
                cleanup = self.cleanup_command(document, stage, run, commands)
                savings = self.savings(document, stage, run, commands)
                mounted = (
                    self.mount_fix(document, stage, run, commands, context)
                    if self.blocker(document, stage, run) is None
                    else None
                )
                if mounted is not None:
                    companions, note = self.follow_up(document, stage, run)
                    fix = self.fix(
                        mounted.title + note, [*mounted.edits, *companions], mounted.applicability, mounted.changes
                    )
                    yield self.finding(self.message(cleanup), start, end, fix, savings)
                    continue
                reason = append_blocker(run) or self.blocker(document, stage, run)
                if reason is not None:
                    yield self.finding(
                        f"{self.message(cleanup)} (not fixed automatically: {reason})", start, end, None, savings
                    )
                    continue
                companions, note = self.follow_up(document, stage, run)
                cleared = self.cleared_folders(stage, run, commands)
                fix = self.fix(
                    f"Append `{cleanup}` (removes {', '.join(cleared) or 'the cache'} from the image){note}",
                    [append_edit(document, run, cleanup), *companions],
                    Applicability.UNSAFE,
                    self.removed_content(stage, run, commands),
                )
                yield self.finding(self.message(cleanup), start, end, fix, savings)


# Options of an install that take a value (the next word, unless written `--option=value`), by package manager.
_VALUE_OPTIONS = {
    "pip": {
        "-c",
        "--constraint",
        "-t",
        "--target",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--prefix",
        "--root",
        "--cache-dir",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
        "--trusted-host",
        "--src",
        "--upgrade-strategy",
        "--progress-bar",
        "--log",
        "--timeout",
        "--retries",
    },
    "npm": {"--prefix", "--registry", "--cache", "--omit", "--include", "--userconfig", "-C", "--workspace", "-w"},
    "gem": {"-v", "--version", "-i", "--install-dir", "-n", "--bindir", "-s", "--source", "--platform", "-g", "--file"},
}
# Options whose value is a file of requirements: what the install takes from it is not in the Dockerfile.
_FILE_OPTIONS = {"pip": {"-r", "--requirement", "-e", "--editable"}, "npm": set(), "gem": {"-g", "--file"}}
_VERSION_SUFFIX = {
    "pip": re.compile(r"\s*(\[.*)?([<>=!~;].*)?$"),
    "gem": re.compile(r"$"),
    "npm": re.compile(r"(?<=.)@.*$"),
}
_NPM_SCOPED = re.compile(r"^@[^/@]+/[^/]+$")


def install_operands(manager: str, invocation: Invocation) -> list[str] | None:
    """What an install names after its options (packages, paths, URLs), or None when what it installs is not all
    written there: a requirements file, or a word that depends on an expansion."""
    operands: list[str] = []
    value_next = False
    for argument in invocation.after_verb:
        if argument is None:
            return None
        if value_next:
            value_next = False
        elif argument.partition("=")[0] in _FILE_OPTIONS[manager]:
            return None
        elif argument.startswith("-"):
            value_next = argument in _VALUE_OPTIONS.get(manager, ())
        else:
            operands.append(argument)
    return operands


def installed_packages(manager: str, invocation: Invocation) -> list[str] | None:
    """The package names an install names (`pip install flask==3.0` -> flask), or None when what it installs is not
    all written there: a requirements file, a path, a URL, a word that depends on an expansion, or no name at all
    (`npm ci` installs the project's lockfile)."""
    operands = install_operands(manager, invocation)
    if operands is None:
        return None
    names: list[str] = []
    for argument in operands:
        if ("/" in argument and not _NPM_SCOPED.match(argument)) or argument.startswith(".") or ":" in argument:
            return None
        names.append(_VERSION_SUFFIX[manager].sub("", argument))
    return names or None


def package_cache_savings(manager: str, invocations: list[Invocation]) -> Savings:
    """What not keeping ``manager``'s cache saves for these installs: ``gains.package_cache_gain`` of the packages
    they name, or unknown when they do not name them all."""
    named = [installed_packages(manager, invocation) for invocation in invocations]
    gain: Gain
    if not named or any(names is None for names in named):
        gain = Unknown(
            f"what {manager} installs here is not all named in the Dockerfile (a requirements file, a lockfile, a"
            " path); its cache was measured only for named packages"
        )
    else:
        gain = package_cache_gain(manager, [name for names in named for name in names or ()])
    return Savings.of(gain)


class AddFlagRule(CacheRule):
    """A package-manager command gets a flag that keeps its cache (or extras) out of the image."""

    flag: ClassVar[str]
    effect: ClassVar[str]

    def wants_flag(self, invocation: Invocation) -> bool:
        """The command is one this rule is about (the flag's absence is checked separately)."""
        raise NotImplementedError

    def has_flag(self, arguments: list[str | None]) -> bool:
        return self.flag in arguments

    def exempt(self, stage: Stage, run: Instruction) -> bool:
        return False

    def exempt_command(self, stage: Stage, run: Instruction, position: int) -> bool:
        """Whether the command at ``position`` of the RUN is left alone (what the variables it sees say)."""
        return False

    def set_by_base(self, document: Document, stage: Stage) -> bool:
        """Whether what the stage is built on (an earlier stage, a base image whose ENV the data knows) already does
        what the flag does."""
        return False

    def depends_on_base(self, document: Document, stage: Stage) -> str | None:
        """What the claim depends on that the Dockerfile does not show (a setting of an unknown base image), said
        in the message; None when the file shows all."""
        return None

    def _unflagged(self, commands: list[SimpleCommand]) -> list[tuple[int, SimpleCommand, Invocation]]:
        """The RUN's commands (position, command, what it runs) that want the flag and do not have it."""
        found = []
        for position, command in enumerate(commands):
            invocation = Invocation.of(command)
            if self.wants_flag(invocation) and not self.has_flag(invocation.arguments):
                found.append((position, command, invocation))
        return found

    def flag_index(self, invocation: Invocation) -> int | None:
        """The argument the flag goes after: the verb (`pip install`), or the last word of a longer subcommand."""
        return invocation.verb_at

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        # the cheap per-command test first: most RUNs run no command that wants the flag, and what the stage, the
        # RUN and its mounts say (each a pure question) is asked only of those that do
        for stage in document.stages:
            wanting = [
                (run, commands, unflagged)
                for run, commands in shell_runs(stage)
                if (unflagged := self._unflagged(commands))
            ]
            if not wanting or self.set_by_base(document, stage):
                continue
            caveat = self.depends_on_base(document, stage)
            for run, commands, unflagged in wanting:
                if self.cached_paths and any(
                    target.startswith(self.cached_paths) for target in cache_mount_targets(run) if target
                ):
                    continue
                if self.exempt(stage, run):
                    continue
                mounted = self.mount_fix(document, stage, run, commands, context)
                for position, command, invocation in unflagged:
                    arguments = invocation.arguments
                    if self.exempt_command(stage, run, position):
                        continue
                    verb, after = invocation.verb_at, self.flag_index(invocation)
                    if verb is None or after is None:
                        continue
                    start = run.arguments_to_source(command.start)
                    end = run.arguments_to_source(command.end, end=True)
                    edit = insert_after(run, command, invocation.own_index(after), self.flag)
                    fix = mounted or self.fix(
                        f"Add `{self.flag}` ({self.effect})",
                        [edit],
                        Applicability.UNSAFE,
                        self.removed_content(stage, run, commands),
                    )
                    verb_words = [
                        word for word in arguments[verb : after + 1] if word is not None and not word.startswith("-")
                    ]
                    command_words = " ".join([str(invocation.tool), *verb_words])
                    yield self.finding(
                        f"`{command_words}` without `{self.flag}`; with it, {self.effect}"
                        + (f" ({caveat})" if caveat else ""),
                        start,
                        end,
                        fix,
                        self.savings(document, stage, run, commands),
                    )


WHOLE_CONTEXT = {".", "./"}


def source_copy(instruction: Instruction) -> bool:
    """A COPY/ADD of the whole build context: the volatile step that any source edit invalidates."""
    return (
        instruction.cmd in ("copy", "add")
        and instruction.flag("from") is None
        and len(instruction.value) == 2
        and instruction.value[0] in WHOLE_CONTEXT
    )


def steps_from(stage: Stage, first: Instruction) -> int:
    """Build steps (RUN, COPY, ADD) from ``first`` to the end of the stage: what a change to the files ``first``
    copies makes BuildKit run again."""
    return sum(1 for i in stage.instructions if i.index >= first.index and i.cmd in ("run", "copy", "add"))
