"""DF101: merge consecutive RUN instructions."""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, Edit, Finding, Savings
from dockerfix.rewriter.rule import Example, Rule, RuleContext
from dockerfix.rewriter.shell import Script

from .runedit import Style, append_blocker, appendable_text, command_end, command_text, trailing_comment
from .shellfacts import Role, changes_shell_state, role

POSIX_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"})
WINDOWS_IMAGE_MARKERS = ("windows", "nanoserver", "servercore", "powershell")


class MergeConsecutiveRun(Rule):
    """Merge consecutive RUN instructions into one.

    What it does
        Finds RUN instructions that follow each other in a stage (only comments and blank lines between them, the same
        flags, shell form, a POSIX shell) and rewrites them as one RUN whose commands are joined with `&&`, one command
        per continuation line in the file's own style, comments kept as comment lines inside the continuation.

    Why
        Every RUN makes a layer. Files deleted in a later layer still weigh in the image, and each layer costs pull
        time and metadata; one RUN that updates, installs and cleans up leaves only what it kept.

    Example
        RUN apt-get update
        RUN apt-get install -y curl
        becomes
        RUN apt-get update \\
            && apt-get install -y curl

    Fix safety
        Each RUN starts a fresh shell in WORKDIR and the build stops at the first failing one. The fix keeps both: a
        RUN that changes the shell's state (`cd`, `export`, `set`, `umask`, variables, `source`, `exit`, ...) is wrapped
        in a subshell `( ... )` so later commands do not see it, and a later RUN made of a `;` or `||` list is grouped
        `{ ...; }` so it still runs only when the earlier ones succeeded. A shell comment that ends a RUN becomes a
        comment line of the continuation. A RUN with a background `&`, a comment before a continuation (it swallows
        the rest of the RUN), a heredoc or a command the shell parser cannot read stays on its own and is reported;
        its neighbours on either side are still merged. A `;` list under `set -e` (set by the RUN or by SHELL) may
        only end a merged RUN: on the left of `&&` the shell ignores `set -e`. The fix is safe when the merge
        also pays for the build cache: an index update with the install that needs it, cleanup with the layer that
        made the files, or quick housekeeping commands. Merging a slow, stable step with one that may change more often
        makes every rebuild rerun both, so that fix is unsafe (applied with `--unsafe-fixes`).
    """

    code = "DF101"
    layer_rule = True
    name = "merge-consecutive-run"
    summary = "Consecutive RUN instructions make a layer each; merge them without changing what they do."
    hadolint = ("DL3059",)
    valid = (
        "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
        'FROM debian\nRUN ["apt-get", "update"]\nRUN ["apt-get", "install", "-y", "curl"]\n',
        "FROM debian\nRUN --mount=type=cache,target=/var/cache/apt apt-get update\nRUN apt-get install -y curl\n",
        "FROM debian\nRUN apt-get update\nENV DEBIAN_FRONTEND=noninteractive\nRUN apt-get install -y curl\n",
        "FROM debian\nRUN <<EOF\napt-get update\nEOF\nRUN apt-get install -y curl\n",
        'FROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN echo one\nRUN echo two\n',
        'FROM debian\nSHELL ["pwsh", "-Command"]\nRUN echo one\nRUN echo two\n',
        "FROM debian\nRUN apt-get update\n# dockerfix: ignore=DF101\nRUN apt-get install -y curl\n",
    )
    invalid = (
        Example(
            "FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\n",
            "FROM debian\nRUN apt-get update \\\n    && apt-get install -y curl\n",
        ),
        Example(
            "FROM debian\n# index\nRUN apt-get update\n\n# tools\nRUN apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n",
            "FROM debian\n# index\nRUN apt-get update \\\n# tools\n    && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n",
        ),
        Example(
            "FROM alpine\nWORKDIR /src\nRUN cd /tmp && touch marker\nRUN touch here\n",
            "FROM alpine\nWORKDIR /src\nRUN (cd /tmp && touch marker) \\\n    && touch here\n",
        ),
        Example(
            "FROM alpine\nRUN mkdir -p /a; echo ok\nRUN test -d /a || mkdir /a\nRUN chmod 755 /a\n",
            "FROM alpine\nRUN mkdir -p /a; echo ok \\\n    && { test -d /a || mkdir /a; } \\\n    && chmod 755 /a\n",
        ),
        Example(
            "FROM debian\nRUN apt-get install -y build-essential && \\\n    gcc --version\nRUN make -C /src\n",
            "FROM debian\nRUN apt-get install -y build-essential && \\\n    gcc --version && \\\n    make -C /src\n",
            unsafe=True,
        ),
        Example("FROM alpine\nRUN sleep 100 &\nRUN echo done\n", None),
        Example(
            "FROM alpine\nRUN touch /a\nRUN touch /b\nRUN sleep 100 &\nRUN touch /c\nRUN touch /d\n",
            "FROM alpine\nRUN touch /a \\\n    && touch /b\nRUN sleep 100 &\nRUN touch /c \\\n    && touch /d\n",
        ),
        Example("FROM alpine\nRUN set -e; mkdir /a; touch /a/b\nRUN touch /c\n", None),
        Example(
            "FROM alpine\nRUN mkdir /a\nRUN set -e; touch /a/b; touch /a/c\nRUN touch /d\n",
            "FROM alpine\nRUN mkdir /a \\\n    && { set -e; touch /a/b; touch /a/c; }\nRUN touch /d\n",
        ),
        Example(
            "FROM alpine\nRUN echo one # first\nRUN echo two  # second\n",
            "FROM alpine\nRUN echo one \\\n    # first\n    && echo two  # second\n",
        ),
        Example("FROM alpine\nRUN echo one # first \\\n    && echo two\nRUN echo three\n", None),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in document.stages:
            if not posix_shell(document, stage):
                continue
            errexit = shell_errexit(document, stage)
            for group in consecutive_runs(stage, context, self.code):
                yield from self.check_group(document, group, errexit)

    def check_group(self, document: Document, group: list[Instruction], errexit: bool) -> Iterator[Finding]:
        """A RUN after which nothing may be appended splits the group: it stays on its own (reported), and a RUN
        whose `;` list relies on `set -e` may only end a merged RUN; the segments between them are merged."""
        segment: list[Instruction] = []
        for run in group:
            blocker = append_blocker(run)
            if blocker is not None:
                yield self.finding(
                    f"RUN instructions next to this one could share its layer; not merged automatically: {blocker}",
                    run.start, run.header_end,
                )
                yield from self.check_segment(document, segment)
                segment = []
                continue
            segment.append(run)
            ending = errexit_sequence(run, errexit)
            if ending is not None:
                if len(segment) == 1 and run is not group[-1]:
                    yield self.finding(
                        f"RUN instructions after this one could share its layer; not merged automatically: {ending}",
                        run.start, run.header_end,
                    )
                yield from self.check_segment(document, segment)
                segment = []
        yield from self.check_segment(document, segment)

    def check_segment(self, document: Document, group: list[Instruction]) -> Iterator[Finding]:
        pays = [merge_pays(before, after) for before, after in zip(group, group[1:])]
        if any(reason is not None for reason in pays):
            # Merge only the runs where merging pays; what remains is offered unsafe on a later pass.
            segment = [group[0]]
            reasons: list[str] = []
            for run, reason in zip(group[1:], pays):
                if reason is not None:
                    segment.append(run)
                    reasons.append(reason)
                    continue
                yield from self.merge(document, segment, reasons, Applicability.SAFE)
                segment, reasons = [run], []
            yield from self.merge(document, segment, reasons, Applicability.SAFE)
            return
        yield from self.merge(
            document, group,
            ["couples steps that may change at different rates: a change to one reruns both"],
            Applicability.UNSAFE,
        )

    def merge(
        self, document: Document, runs: list[Instruction], reasons: list[str], applicability: Applicability
    ) -> Iterable[Finding]:
        if len(runs) < 2:
            return
        style = Style.of_runs(document, runs)
        last = len(runs) - 1
        pieces = [piece(document, run, isolate=position < last, group=position > 0) for position, run in enumerate(runs)]
        text = pieces[0]
        for previous, run, command in zip(runs, runs[1:], pieces[1:]):
            moved = trailing_comment(previous)
            comments = ([style.indent + moved] if moved else []) + between_comments(document, previous, run)
            text += style.join(document, comments, command)
        if trailing_comment(runs[-1]):  # it still ends the RUN: kept as written, spacing included
            text += document.text[command_end(runs[-1]):runs[-1].header_end]
        why = "; ".join(dict.fromkeys(reasons))
        count = len(runs)
        yield self.finding(
            f"{count} consecutive RUN instructions make {count} layers; one RUN does the same in one layer",
            runs[0].start,
            runs[-1].header_end,
            self.fix(f"Merge {count} RUN instructions into one ({why})", [Edit(runs[0].arguments_start, runs[-1].header_end, text)], applicability),
            Savings(layers=count - 1),
        )


def effective_shell(document: Document, stage: Stage) -> Instruction | None:
    """The SHELL instruction in force for the stage's RUNs (its own, or inherited from the stage it is built on)."""
    current: Stage | None = stage
    seen = set()
    while current is not None and current.index not in seen:
        seen.add(current.index)
        shells = [i for i in current.instructions if i.cmd == "shell"]
        if shells:
            return shells[-1]
        current = next((s for s in document.stages[: current.index] if s.name and s.name == current.base_image.lower()), None)
    return None


def sets_errexit(arguments: list[str | None]) -> bool:
    """`set -e`, `set -eux`, `set -o errexit` (and the same options given to the shell itself)."""
    return any(
        argument is not None and argument.startswith("-") and not argument.startswith("--") and "e" in argument[1:]
        for argument in arguments
    ) or "errexit" in arguments


def shell_errexit(document: Document, stage: Stage) -> bool:
    shell = effective_shell(document, stage)
    return shell is not None and sets_errexit(list(shell.value[1:]))


def errexit_sequence(run: Instruction, shell_errexit_on: bool) -> str | None:
    """Under `set -e` a `;` list stops at a failing command, but not when the list is the left side of `&&`, where a
    merge puts every RUN but the last: such a RUN may only end a merged RUN."""
    script = run.shell
    errexit = shell_errexit_on or any(c.name_literal == "set" and sets_errexit(c.argument_literals) for c in script.commands)
    if errexit and script.has_sequence:
        return f"`set -e` would no longer stop the RUN on line {run.start_line} at a failing command"
    return None


def posix_shell(document: Document, stage: Stage) -> bool:
    """Whether RUNs of the stage run in a POSIX shell, where `&&`, `( )` and `{ }` mean what the fix needs."""
    if document.escape == "`" or any(marker in stage.base_image.lower() for marker in WINDOWS_IMAGE_MARKERS):
        return False
    shell_instruction = effective_shell(document, stage)
    if shell_instruction is None:
        return True
    executable = shell_instruction.value[0].rsplit("/", 1)[-1] if shell_instruction.value else ""
    return executable in POSIX_SHELLS


def consecutive_runs(stage: Stage, context: RuleContext, code: str) -> Iterator[list[Instruction]]:
    """Runs of adjacent shell-form RUNs with identical flags and no suppression between them."""
    group: list[Instruction] = []
    for instruction in stage.instructions:
        joinable = instruction.cmd == "run" and not instruction.is_json and not instruction.heredocs
        if joinable and group and same_flags(group[-1], instruction) and not context.is_suppressed(instruction, code):
            group.append(instruction)
            continue
        if len(group) > 1:
            yield group
        group = [instruction] if joinable and not context.is_suppressed(instruction, code) else []
    if len(group) > 1:
        yield group


def same_flags(first: Instruction, second: Instruction) -> bool:
    return sorted(flag.text for flag in first.flags) == sorted(flag.text for flag in second.flags)


def needs_isolation(script: Script) -> bool:
    """Whether a later command in the same shell could see a state change this script makes."""
    if script.defines_function or script.has_arithmetic:
        return True
    for command in script.simple_commands():
        if command.in_subshell:
            continue
        if command.name is None and command.assignments:
            return True
        name = command.name.literal if command.name is not None else None
        if command.name is not None and changes_shell_state(name, [word.literal for word in command.arguments]):
            return True
    return "${" in script.source and any(op in script.source for op in (":=", "=")) and _assigning_expansion(script.source)


def _assigning_expansion(text: str) -> bool:
    """`${name:=value}` / `${name=value}` assign as a side effect."""
    return re.search(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?=", text) is not None


def piece(document: Document, run: Instruction, isolate: bool, group: bool) -> str:
    """The RUN's own command text, trailing `;` dropped, wrapped as its position in the merged RUN requires."""
    if isolate and needs_isolation(run.shell):
        return f"({command_text(document, run)})"
    return appendable_text(document, run) if group else command_text(document, run)


def between_comments(document: Document, previous: Instruction, run: Instruction) -> list[str]:
    """The comment lines between two RUNs, as written."""
    return [document.text[comment.line.start:comment.line.content_end] for comment in document.comments_between(previous.span[1], run.span[0])]


def run_roles(run: Instruction) -> list[Role]:
    return [role(c.name.literal if c.name else None, [w.literal for w in c.arguments]) for c in run.shell.simple_commands()]


def merge_pays(before: Instruction, after: Instruction) -> str | None:
    """Why merging these two RUNs costs the build cache nothing, or None when it is a judgement call."""
    before_roles, after_roles = run_roles(before), run_roles(after)
    if after_roles and all(r is Role.CLEANUP for r in after_roles):
        return "cleanup in the layer that created the files"
    if before_roles and before_roles[-1] is Role.UPDATE and Role.INSTALL in after_roles:
        return "the package index update with the install that needs it"
    if all(r in (Role.LIGHT, Role.CLEANUP) for r in before_roles + after_roles):
        return "quick housekeeping commands"
    return None
