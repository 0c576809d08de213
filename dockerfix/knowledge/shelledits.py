"""Edits of the shell command of a RUN that keep what it runs: appending `&& command` (in the shell form or at the
end of a heredoc script), inserting an argument after a word, and the pieces a merge of RUNs is written with (the
command as written, grouped or in a subshell, a line end BuildKit cannot read as a continuation). Each edit has a
``*_blocker`` that says when it cannot be made safely."""

from __future__ import annotations

import re

from dockerfix.rewriter.document import Document, Heredoc, Instruction
from dockerfix.rewriter.fixes import Edit
from dockerfix.rewriter.shell import Script, SimpleCommand, parse_shell

from .runstyle import Style


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
