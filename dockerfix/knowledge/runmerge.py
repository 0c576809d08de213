"""Merging consecutive RUN instructions: what a merge claims, whether the RUNs can be joined without changing what
the build does, and the rewrite. Two rules share it: DF101 reports the merges whose claim goes beyond a layer (the
package index update with its install, files a later RUN removes or rewrites that the earlier RUN wrote), DF120
those whose only claim is one layer fewer (hadolint's DL3059), outside the default selection."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

from msgspec import Struct

from dockerfix.knowledge.runstyle import Style
from dockerfix.knowledge.shelledits import (
    SHELL_ESCAPE,
    append_blocker,
    closed_line,
    command_end,
    command_text,
    list_needs_grouping,
    script_line_indent,
    subshell,
    trailing_comment,
)
from dockerfix.knowledge.shellfacts import (
    SHELLS,
    STATE_CHANGING_BUILTINS,
    Role,
    changes_shell_state,
    command_role,
    manager_of,
)
from dockerfix.rewriter.document import Comment, Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, Edit, Finding, Savings, Unknown
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import TARGET_STAGE, Rule, RuleContext
from dockerfix.rewriter.shell import Script, SimpleCommand
from dockerfix.rewriter.stages import base_stages, shipped_offset_test

POSIX_SHELLS = SHELLS | {"busybox"}
WINDOWS_IMAGE_MARKERS = ("windows", "nanoserver", "servercore", "powershell")

# What a merge gains (a finding claims one of these).
CACHE_CLAIM = "the package index update would be in the layer of the install that needs it"
BYTES_CLAIM = "files the earlier RUN wrote and the later one removes or rewrites would no longer ship in its layer"
LAYERS_CLAIM = "one layer fewer"
CACHE_CORRECTNESS = (
    "an index update in a RUN of its own is kept by the build cache when the install after it changes, which then "
    "reads stale package lists"
)

# hadolint's DL3059 ignores RUNs of more than two commands: an author who chains commands and still writes several
# RUNs chose the layers. Merging such RUNs claims one layer fewer and nothing else, so no rule proposes it.
MAX_COMMANDS_FOR_LAYER_CLAIM = 2

# How many RUNs before a removal its files are looked for (a merge chain is read in linear time): what a RUN
# removes was written close to it, as a cleanup follows the install or the download it tidies.
MERGE_LOOKBACK = 16

# Linux limits one argument, here the command of `sh -c`, to 128 KiB (MAX_ARG_STRLEN). The longest RUN of the
# corpora is 4.6 kB; a merge stops at a quarter of the limit (decisions.md, "DF101 reports a merge only for what it
# gains").
MAX_MERGED_COMMAND_BYTES = 32 * 1024

# A comment between two RUNs that speaks of layers, the build cache or keeping steps apart explains why they are
# two RUNs (`# separate layer so the one above is shared`); a comment that names the next step does not.
SEPARATION_REASON = LazyPattern(
    r"\b(layers?|separate(ly)?|split|apart|own (run|step|layer)|invalidat\w*|rebuilds?|re-?used?|"
    r"(build|docker|layer|image) cache|pre-?cache|to cache|cached)\b",
    re.IGNORECASE,
)

# Where a glob starts: a path is written by whoever names the folder before it.
GLOB_CHARACTER = LazyPattern(r"[*?\[]")
# Commands whose first operand is not a file: the mode, the owner, the group.
_LEADING_NON_PATH = {"chmod": 1, "chown": 1, "chgrp": 1}
# Commands whose paths hold no content of weight: an empty folder, an empty file, a link, a mode or an owner.
CONTENTLESS_COMMANDS = frozenset({"mkdir", "touch", "ln", "chmod", "chown", "chgrp", "rmdir", "test", "[", "ls", "cat"})
FOLDER_CHANGES = frozenset({"cd", "pushd"})
# Programs that run the script their first operand names (reading it).
INTERPRETERS = SHELLS | {"busybox", "python", "python3", "perl", "ruby", "node", "php"}
# What `apt-get update` writes, which no command names.
APT_LISTS = "/var/lib/apt/lists"


class RunMergeRule(Rule):
    """A rule that merges consecutive RUNs for some of the claims a merge can make (``claims``)."""

    claims: ClassVar[frozenset[str]]

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        shipped = shipped_offset_test(document, self.option(context, TARGET_STAGE.name))
        for stage in document.stages:
            ships = shipped(stage.from_instruction.start)
            groups = [group for group in consecutive_runs(stage, context, self.code) if self.claims_any(group, ships)]
            if not groups:  # most stages have no RUNs whose merge claims what this rule reports: no SHELL to look up
                continue
            shell = effective_shell(document, stage)
            if not posix_shell(document, stage, shell):
                continue
            errexit = shell_errexit(shell)
            for group in groups:
                yield from self.check_group(document, context, group, errexit, ships)

    def claim(self, earlier: list[Instruction], after: Instruction, ships: bool) -> str | None:
        """What joining ``after`` to the ``earlier`` RUNs gains that this rule reports. In a stage that does not
        ship, layers and bytes are nobody's concern: only the cache claim counts."""
        if LAYERS_CLAIM not in self.claims and not gains_beyond_a_layer(earlier[-1], after):
            return None  # most pairs: the claim could only be one layer fewer, which this rule does not report
        claim = merge_claim(earlier, after)
        if claim not in self.claims or not ships and claim != CACHE_CLAIM:
            return None
        return claim

    def claims_any(self, group: list[Instruction], ships: bool) -> bool:
        """Whether ``check_group`` can find anything in ``group``: until a pair claims, it asks each pair's claim of
        the earlier RUN alone (a pair that claims nothing starts a new segment), the question asked here."""
        return any(
            self.claim([before], after, ships) is not None for before, after in zip(group, group[1:], strict=False)
        )

    def check_group(
        self, document: Document, context: RuleContext, group: list[Instruction], errexit: bool, ships: bool = True
    ) -> Iterator[Finding]:
        """Split the group where a merge claims nothing this rule reports, where the author explained the split, or
        where the RUNs cannot be joined; merge the segments between. A pair that cannot be joined is reported only
        when merging it would have removed bytes or fixed the cache (a note about one layer more proposes nothing
        worth doing)."""
        segment = [group[0]]
        for before, after in zip(group, group[1:], strict=False):
            claim = self.claim(segment[-MERGE_LOOKBACK:], after, ships)
            if claim is not None and explained_apart(document, before, after):
                claim = None
            blocker = (
                None
                if claim is None
                else (suppression_between(document, context, before, after) or join_blocker(before, after, errexit))
            )
            if claim is not None and blocker is None:
                segment.append(after)
                continue
            if claim in (BYTES_CLAIM, CACHE_CLAIM):
                yield self.finding(
                    f"merged with the RUN before it, {claim}; not merged automatically: {blocker}",
                    after.start,
                    after.header_end,
                    savings=merge_savings([before, after], ships, layers=False),
                )
            yield from self.check_segment(document, segment, ships)
            segment = [after]
        yield from self.check_segment(document, segment, ships)

    def check_segment(self, document: Document, group: list[Instruction], ships: bool) -> Iterator[Finding]:
        if len(group) < 2:  # most segments: one RUN the claims kept apart from its neighbours
            return
        pays = [merge_pays(runs_before(group, position), after) for position, after in enumerate(group[1:], start=1)]
        if any(reason is not None for reason in pays):
            # Merge only the runs where merging pays; what remains is offered unsafe on a later pass.
            segment = [group[0]]
            reasons: list[str] = []
            for run, reason in zip(group[1:], pays, strict=True):
                if reason is not None:
                    segment.append(run)
                    reasons.append(reason)
                    continue
                yield from self.merge(document, segment, reasons, Applicability.SAFE, ships)
                segment, reasons = [run], []
            yield from self.merge(document, segment, reasons, Applicability.SAFE, ships)
            return
        yield from self.merge(
            document,
            group,
            ["couples steps that may change at different rates: a change to one reruns both"],
            Applicability.UNSAFE,
            ships,
        )

    def merge(
        self, document: Document, runs: list[Instruction], reasons: list[str], applicability: Applicability, ships: bool
    ) -> Iterable[Finding]:
        """One finding per stretch of RUNs whose merged command stays within ``MAX_MERGED_COMMAND_BYTES``."""
        stretch: list[Instruction] = []
        size = 0
        for previous, run in zip([None, *runs], runs, strict=False):
            added = size_bound(document, previous if stretch else None, run)
            if stretch and size + added > MAX_MERGED_COMMAND_BYTES:
                yield from self.merge_stretch(document, stretch, reasons, applicability, ships)
                stretch, added = [], size_bound(document, None, run)
                size = 0
            stretch.append(run)
            size += added
        yield from self.merge_stretch(document, stretch, reasons, applicability, ships)

    def merge_stretch(
        self, document: Document, runs: list[Instruction], reasons: list[str], applicability: Applicability, ships: bool
    ) -> Iterable[Finding]:
        if len(runs) < 2:
            return
        count = len(runs)
        why = "; ".join(dict.fromkeys(reasons))
        claims = [claim for claim in pair_claims(runs) if claim in self.claims]
        message = f"{count} consecutive RUN instructions make {count} layers; in one RUN, {' and '.join(claims)}"
        if not ships:
            message = (
                "the package index update is a RUN of its own, which the build cache keeps when the install after it "
                "changes (the install then reads stale package lists): merge it with the install that needs it"
            )
        yield self.finding(
            message,
            runs[0].start,
            runs[-1].header_end,
            self.fix(
                f"Merge {count} RUN instructions into one ({why})",
                [
                    merged_into_script(document, runs)
                    if runs[0].script_heredoc
                    else Edit(runs[0].arguments_start, runs[-1].header_end, merged_text(document, runs))
                ],
                applicability,
            ),
            merge_savings(runs, ships),
        )


def runs_before(runs: list[Instruction], position: int) -> list[Instruction]:
    """The RUNs a merge joins ``runs[position]`` to that may have written what it removes (``MERGE_LOOKBACK``)."""
    return runs[max(0, position - MERGE_LOOKBACK) : position]


def pair_claims(runs: list[Instruction]) -> list[str]:
    """What joining each of ``runs`` to the ones before it gains, each claim once, in order."""
    found = (merge_claim(runs_before(runs, position), after) for position, after in enumerate(runs[1:], start=1))
    return list(dict.fromkeys(claim for claim in found if claim is not None))


def merge_savings(runs: list[Instruction], ships: bool, layers: bool = True) -> Savings:
    """The claim of merging ``runs`` as numbers: the layers it saves (where the stage ships), cache correctness when
    an index update joins its install, and the bytes of what a RUN removes or rewrites that the RUN before it wrote:
    unknown, since only a build measures them."""
    claims = pair_claims(runs)
    others: dict[str, Any] = {
        "layers": len(runs) - 1 if layers and ships else None,
        "cache_correctness": CACHE_CORRECTNESS if CACHE_CLAIM in claims else None,
    }
    rewritten = [
        (after, targets)
        for position, after in enumerate(runs[1:], start=1)
        if ships and (targets := rewritten_output(runs_before(runs, position), after))
    ]
    if not rewritten:
        return Savings(**others)
    reason = "; ".join(
        f"what the RUNs before line {after.start_line} leave in {', '.join(targets)}, which it removes or rewrites, "
        "is measured only by a build"
        for after, targets in rewritten
    )
    return Savings.of(Unknown(reason), **others)


def effective_shell(document: Document, stage: Stage) -> Instruction | None:
    """The SHELL instruction in force for the stage's RUNs (its own, or inherited from the stage it is built on)."""
    for current in (stage, *base_stages(document, stage)):
        for instruction in reversed(current.instructions):
            if instruction.cmd == "shell":
                return instruction
    return None


def sets_errexit(arguments: list[str | None]) -> bool:
    """`set -e`, `set -eux`, `set -o errexit` (and the same options given to the shell itself)."""
    return (
        any(
            argument is not None and argument.startswith("-") and not argument.startswith("--") and "e" in argument[1:]
            for argument in arguments
        )
        or "errexit" in arguments
    )


def shell_errexit(shell: Instruction | None) -> bool:
    """Whether the SHELL in force (``effective_shell``) runs the RUNs under `set -e`."""
    return shell is not None and sets_errexit(list(shell.value[1:]))


def errexit_sequence(run: Instruction, shell_errexit_on: bool) -> str | None:
    """Under `set -e` a `;` list stops at a failing command, but not when the list is the left side of `&&`, where a
    merge puts every RUN but the last: such a RUN may only end a merged RUN."""
    script = run.shell_script
    errexit = shell_errexit_on or any(
        c.name_literal == "set" and sets_errexit(c.argument_literals) for c in script.commands
    )
    if errexit and script.has_sequence:
        return f"`set -e` would no longer stop the RUN on line {run.start_line} at a failing command"
    return None


def posix_shell(document: Document, stage: Stage, shell_instruction: Instruction | None) -> bool:
    """Whether RUNs of the stage run in a POSIX shell (``shell_instruction``, the SHELL in force), where `&&`, `( )`
    and `{ }` mean what the fix needs."""
    if document.escape == "`" or any(marker in stage.base_image.lower() for marker in WINDOWS_IMAGE_MARKERS):
        return False
    if shell_instruction is None:
        return True
    executable = shell_instruction.value[0].rsplit("/", 1)[-1] if shell_instruction.value else ""
    return executable in POSIX_SHELLS


def consecutive_runs(stage: Stage, context: RuleContext, code: str) -> Iterator[list[Instruction]]:
    """Runs of adjacent shell-form RUNs with identical flags and no suppression between them."""
    group: list[Instruction] = []
    for instruction in stage.instructions:
        if instruction.cmd != "run":
            if len(group) > 1:
                yield group
            group = []
            continue
        joinable = not instruction.parsed.json and not instruction.heredocs
        suppressed = context.is_suppressed(instruction, code)
        if joinable and group and not suppressed and same_flags(group[-1], instruction):
            group.append(instruction)
            continue
        if len(group) > 1:
            yield group
        # a heredoc script takes the RUNs after it in; it cannot move into one line of another RUN
        opens = joinable or instruction.script_heredoc is not None
        group = [instruction] if opens and not suppressed else []
    if len(group) > 1:
        yield group


def same_flags(first: Instruction, second: Instruction) -> bool:
    if not first.flags and not second.flags:  # most RUNs
        return True
    return sorted(flag.text for flag in first.flags) == sorted(flag.text for flag in second.flags)


def needs_isolation(script: Script) -> bool:
    """Whether a later command in the same shell could see a state change this script makes."""
    if script.defines_function or script.has_arithmetic or _loop_variable(script.source):
        return True
    for command in script.simple_commands():
        if command.in_subshell:
            continue
        if command.name is None and command.assignments:
            return True
        name = command.name.literal if command.name is not None else None
        if command.name is not None and changes_shell_state(name, [word.literal for word in command.arguments]):
            return True
    return (
        "${" in script.source and any(op in script.source for op in (":=", "=")) and _assigning_expansion(script.source)
    )


def _loop_variable(text: str) -> bool:
    """`for name in ...` and `select name in ...` leave the variable set after the loop (read from the text: a
    false match only adds a subshell)."""
    return re.search(r"(^|[\s;&|(){}])(for|select)\s+[A-Za-z_]", text) is not None


def _assigning_expansion(text: str) -> bool:
    """`${name:=value}` / `${name=value}` assign as a side effect."""
    return re.search(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?=", text) is not None


def piece(document: Document, run: Instruction, isolate: bool, group: bool, one_line: bool = False) -> str:
    """The RUN's own command text, trailing `;` dropped, wrapped as its position in the merged RUN requires. On
    ``one_line`` (a line of a heredoc script) it is what `sh -c` received, continuations and comment lines removed
    by BuildKit: inside a heredoc the shell, not BuildKit, would read them."""
    text = run.shell_script.source[: run.shell_script.content_end] if one_line else command_text(document, run)
    if isolate and needs_isolation(run.shell_script):
        return subshell(text)
    return f"{{ {text}; }}" if group and list_needs_grouping(run.shell_script) else text


def merged_into_script(document: Document, runs: list[Instruction]) -> Edit:
    """The RUNs after a heredoc script as lines at its end, each joined to the one before with `&&` (as
    ``shelledits.append_edit`` adds one line), the comments between them kept as comment lines of the script."""
    script_run = runs[0]
    heredoc = script_run.script_heredoc
    assert heredoc is not None, "merge_stretch calls this only for RUNs that a heredoc script opens"
    indent = script_line_indent(document, script_run)
    newline = document.source.newline
    end = command_end(script_run)
    lines = []
    last = len(runs) - 1
    for position, (previous, run) in enumerate(zip(runs, runs[1:], strict=False), start=1):
        lines += [indent + comment.lstrip() for comment in between_comments(document, previous, run)]
        command = closed_line(piece(document, run, isolate=position < last, group=True, one_line=True), SHELL_ESCAPE)
        comment = trailing_comment(run)
        lines.append(indent + command + (" &&" if position < last else "") + (f" {comment}" if comment else ""))
    body = f" &&{document.text[end : heredoc.end]}" + "".join(line + newline for line in lines)
    return Edit(end, runs[-1].span[1], body + document.text[heredoc.end : script_run.span[1]])


def merged_text(document: Document, runs: list[Instruction]) -> str:
    """The arguments of one RUN doing what ``runs`` did, in the file's continuation style."""
    style = Style.of_runs(document, runs)
    last = len(runs) - 1
    pieces = [piece(document, run, isolate=position < last, group=position > 0) for position, run in enumerate(runs)]
    text = pieces[0]
    for previous, run, command in zip(runs, runs[1:], pieces[1:], strict=False):
        moved = trailing_comment(previous)
        comments = ([style.indent + moved] if moved else []) + between_comments(document, previous, run)
        text += style.join(document, comments, command)
    if trailing_comment(runs[-1]):  # it still ends the RUN: kept as written, spacing included
        return text + document.text[command_end(runs[-1]) : runs[-1].header_end]
    return closed_line(text, document.escape)


def size_bound(document: Document, previous: Instruction | None, run: Instruction) -> int:
    """Bytes ``run`` adds to a merged RUN after ``previous`` (None: it starts it), at most: its command with the
    widest wrapping (`{ ...; }`), the continuation and the comment lines moved in. An upper bound of what `sh -c`
    receives, since BuildKit removes continuations and comment lines."""
    written = run.shell_script.source if run.script_heredoc else document.text[run.arguments_start : run.header_end]
    size = len(written.encode("utf-8")) + len("{ ; } && ")
    if previous is not None:
        size += len(
            Style.of_runs(document, [previous, run])
            .join(document, between_comments(document, previous, run), "")
            .encode("utf-8")
        )
        size += len((trailing_comment(previous) or "").encode("utf-8"))
    return size


def comments_between(document: Document, previous: Instruction, run: Instruction) -> list[Comment]:
    return document.comments_between(previous.span[1], run.span[0])


def between_comments(document: Document, previous: Instruction, run: Instruction) -> list[str]:
    """The comment lines between two RUNs, as written."""
    return [
        document.text[comment.line.start : comment.line.content_end]
        for comment in comments_between(document, previous, run)
    ]


def run_roles(run: Instruction) -> tuple[Role, ...]:
    return run.facts(_run_roles)


def _run_roles(run: Instruction) -> tuple[Role, ...]:
    return tuple(command_role(command) for command in run.shell_script.simple_commands())


def merge_pays(earlier: list[Instruction], after: Instruction) -> str | None:
    """Why joining ``after`` to the ``earlier`` RUNs costs the build cache nothing, or None when it is a judgement
    call."""
    before_roles, after_roles = run_roles(earlier[-1]), run_roles(after)
    if after_roles and rewritten_output(earlier, after):
        # a RUN that only removes or changes what the RUNs before it wrote reruns whenever they do: merged, it
        # costs the cache nothing
        if all(r is Role.CLEANUP for r in after_roles):
            return "cleanup in the layer that created the files"
        if all(
            r is Role.CLEANUP or rewrites_files(c.name_literal, c.argument_literals)
            for r, c in zip(after_roles, after.shell_script.simple_commands(), strict=True)
        ):
            return "changes to files in the layer that created them"
    if before_roles and before_roles[-1] is Role.UPDATE and Role.INSTALL in after_roles:
        return "the package index update with the install that needs it"
    if all(r in (Role.LIGHT, Role.CLEANUP) for r in (*before_roles, *after_roles)):
        return "quick housekeeping commands"
    return None


def index_updates(run: Instruction) -> frozenset[str]:
    """The package managers whose index this RUN updates (`apt` for `apt-get update`)."""
    return merge_reading(run).updates


def managers_run(run: Instruction) -> frozenset[str]:
    """The package managers any command of this RUN runs."""
    return run.facts(_managers_run)


def _managers_run(run: Instruction) -> frozenset[str]:
    return frozenset(
        manager.name
        for manager in map(manager_of, (command.name_literal for command in run.shell_script.simple_commands()))
        if manager is not None
    )


def installs_on_the_index_it_finds(run: Instruction) -> set[str]:
    """The package managers this RUN installs with before running anything that might refresh their index itself (a
    shell running a downloaded script, `add-apt-repository`, any command not known to be housekeeping)."""
    found = set()
    for command in run.shell_script.simple_commands():
        name = command.name_literal
        manager, kind = manager_of(name), command_role(command)
        if name is None or name.rsplit("/", 1)[-1] in SHELLS or kind is Role.OTHER and manager is None:
            break
        if kind is Role.INSTALL and manager is not None:
            found.add(manager.name)
    return found


def rewritten_output(earlier: Sequence[Instruction], after: Instruction) -> list[str]:
    """What ``after`` removes or rewrites, before it runs anything but shell set-up (`set -eux`, `cd`), that the
    ``earlier`` RUNs wrote: paths they name (the package lists, when they updated them), or the packages and cache
    of a package manager they ran. In a later layer such files still ship in the earlier one (rewritten ones
    twice). Files they do not name may well come from the base image, where a merge saves nothing."""
    found: list[str] = []
    for removal in removals(after):
        if removal.manager is not None:
            if any(removal.manager in managers_run(run) for run in earlier):
                found.append(f"{removal.manager}'s packages and cache")
        else:
            found += [path for path in removal.paths if written_by(earlier, path)]
    return found


class Removal(Struct, frozen=True):
    """A command that removes or rewrites files: a package manager's cleanup of its packages and cache
    (``manager``), or a removal or rewrite of the files it names (``paths``, its literal file operands)."""

    manager: str | None
    paths: tuple[str, ...] = ()


def removals(run: Instruction) -> tuple[Removal, ...]:
    """What ``run`` removes or rewrites before it runs anything but shell set-up (`set -eux`, `cd`), in order. Most
    RUNs remove nothing."""
    return merge_reading(run).removals


class MergeReading(Struct, frozen=True):
    """What the merge claims read of one RUN, once (each is asked of every RUN of a run of RUNs, as the earlier or
    the later of a pair): the indexes it updates, what it removes first, how many commands it runs."""

    updates: frozenset[str]
    removals: tuple[Removal, ...]
    command_count: int


def merge_reading(run: Instruction) -> MergeReading:
    return run.facts(_read_for_merge)


def _read_for_merge(run: Instruction) -> MergeReading:
    """One walk over the commands (a RUN runs two on average: the walk, not the commands, is what costs)."""
    updates: list[str] = []
    removals: list[Removal] = []
    removing = True  # what the RUN removes or rewrites counts until it runs anything but shell set-up
    count = 0
    for command in run.shell_script.commands:
        count += command.name is not None
        name = command.name_literal
        manager = manager_of(name)
        # after the removals, only an index update matters: a manager without an index (pip, npm) updates none
        if not removing and (manager is None or not manager.update):
            continue
        kind = command_role(command)
        if kind is Role.UPDATE and manager is not None:
            updates.append(manager.name)
        if not removing:
            continue
        if kind is Role.CLEANUP and manager is not None:
            removals.append(Removal(manager.name))
        elif kind is Role.CLEANUP or rewrites_files(name, command.argument_literals):
            removals.append(Removal(None, tuple(file_operands(name, command.argument_literals))))
        else:
            removing = name is not None and name in STATE_CHANGING_BUILTINS
    return MergeReading(frozenset(updates), tuple(removals), count)


def file_operands(name: str | None, arguments: list[str | None]) -> list[str]:
    """The literal file operands of a removal or rewrite (`chmod 755 /a` -> `/a`; `sed -i -e s/x/y/ f` -> `f`)."""
    operands: list[str] = []
    expression_next = False
    for argument in arguments:
        if expression_next:
            expression_next = False
        elif argument is not None and name == "sed" and argument in ("-e", "--expression"):
            expression_next = True
        elif argument is not None and not argument.startswith("-"):
            operands.append(argument)
    if name == "sed" and "-e" not in arguments and "--expression" not in arguments:
        return operands[1:]
    return operands[_LEADING_NON_PATH.get(name or "", 0) :]


def written_by(runs: Sequence[Instruction], path: str) -> bool:
    """Whether one of ``runs`` wrote ``path`` as far as its words tell: an argument of a command that makes content
    names the path or the folder its glob starts in (not `/` alone), or the path is the package lists and the RUN
    updated them. Housekeeping such as `mkdir`, `touch` or `ln` makes files that weigh nothing; `cd` names the folder
    the commands after it write in, if any of them makes content; a script a shell runs (`bash ./install.sh`) is
    read, not written: it came from an earlier layer."""
    folder = GLOB_CHARACTER.split(path, maxsplit=1)[0].rstrip("/")
    if folder in ("", "."):
        return False
    if folder.startswith(APT_LISTS):
        return any("apt" in index_updates(run) for run in runs)
    named = folder.removeprefix("./")
    return any(names_as_a_whole(argument, named) for run in runs for argument in content_arguments(run))


def names_as_a_whole(argument: str, path: str) -> bool:
    """Whether ``path`` occurs in ``argument`` as a whole name: no word character, `.` or `-` on either side
    (`/opt/app` in `--prefix=/opt/app/bin`, not in `/opt/application`). A plain search, as the regular expression
    it replaces would be compiled for every path the merge claims ask about."""
    start = argument.find(path)
    while start != -1:
        end = start + len(path)
        if (start == 0 or not _name_character(argument[start - 1])) and (
            end == len(argument) or not _name_character(argument[end])
        ):
            return True
        start = argument.find(path, start + 1)
    return False


def _name_character(character: str) -> bool:
    """What `\\w`, `.` and `-` match in a regular expression over text: a letter or digit of any script, `_`, `.`,
    `-`."""
    return character.isalnum() or character in "_.-"


def content_arguments(run: Instruction) -> tuple[str, ...]:
    """The literal arguments of ``run`` that may name where it writes content (see ``written_by``)."""
    return run.facts(_content_arguments)


def _content_arguments(run: Instruction) -> tuple[str, ...]:
    commands = run.shell_script.simple_commands()
    return tuple(
        argument
        for position, command in enumerate(commands)
        if makes_content(command)
        or command.name_literal in FOLDER_CHANGES
        and any(map(makes_content, commands[position + 1 :]))
        for argument in written_arguments(command)
        if argument is not None
    )


def makes_content(command: SimpleCommand) -> bool:
    return command.name_literal not in CONTENTLESS_COMMANDS and command.name_literal not in FOLDER_CHANGES


def written_arguments(command: SimpleCommand) -> list[str | None]:
    """The arguments of a command that may name what it writes: all of them, but the script an interpreter runs."""
    arguments = command.argument_literals
    if (command.name_literal or "").rsplit("/", 1)[-1] in INTERPRETERS:
        script = next(
            (index for index, argument in enumerate(arguments) if not (argument or "-").startswith("-")), None
        )
        if script is not None:
            return arguments[:script] + arguments[script + 1 :]
    return arguments


def rewrites_files(name: str | None, arguments: list[str | None]) -> bool:
    """Commands that copy a file into the new layer to change it: ownership, modes, a move, an in-place edit."""
    if name in ("chmod", "chown", "chgrp", "mv"):
        return True
    return name == "sed" and any(a is not None and (a == "-i" or a.startswith(("-i", "--in-place"))) for a in arguments)


def gains_beyond_a_layer(before: Instruction, after: Instruction) -> bool:
    """Whether joining ``after`` to the RUNs up to ``before`` may claim more than a layer: the cache claim needs an
    index update in ``before``, the bytes claim a removal in ``after`` (a test of each RUN's reading alone)."""
    return bool(merge_reading(before).updates or merge_reading(after).removals)


def merge_claim(earlier: list[Instruction], after: Instruction) -> str | None:
    """What joining ``after`` to the ``earlier`` RUNs before it gains, or None when it gains nothing a maintainer
    would merge for. A fact of the RUNs: each merge rule asks it of every pair."""
    return after.facts(_merge_claim, tuple(earlier))


def _merge_claim(after: Instruction, earlier: tuple[Instruction, ...]) -> str | None:
    before = earlier[-1]
    # the RUNs before the last one were read when they joined the segment
    if before.shell_script.has_error or after.shell_script.has_error:
        return None
    before_reading, after_reading = merge_reading(before), merge_reading(after)
    updated = before_reading.updates
    if updated and updated & after.facts(installs_on_the_index_it_finds) - after_reading.updates:
        return CACHE_CLAIM
    if after_reading.removals and rewritten_output(earlier, after):
        return BYTES_CLAIM
    if max(before_reading.command_count, after_reading.command_count) <= MAX_COMMANDS_FOR_LAYER_CLAIM:
        return LAYERS_CLAIM
    return None


def explained_apart(document: Document, before: Instruction, after: Instruction) -> bool:
    """Whether a comment line between the two RUNs explains why they are apart (the author has decided)."""
    return any(SEPARATION_REASON.search(comment.text) for comment in comments_between(document, before, after))


def suppression_between(
    document: Document, context: RuleContext, before: Instruction, after: Instruction
) -> str | None:
    """A suppression comment above ``after`` would stop applying to it once inside a merged RUN."""
    for comment in comments_between(document, before, after):
        if context.suppressions is not None and comment.line.number in context.suppressions.per_line:
            return f"the suppression comment on line {comment.line.number} belongs to the RUN after it"
    return None


def join_blocker(before: Instruction, after: Instruction, shell_errexit_on: bool) -> str | None:
    """Why ``after`` cannot be joined to ``before`` in one RUN (checked for the pair, as the merge joins pairs). Only
    the last command of a heredoc script comes before `&&`, and ``append_blocker`` checks it; but the script's
    shell is the one the later RUN would run in."""
    if before.script_heredoc is not None:
        if needs_isolation(before.shell_script):
            return (
                f"the heredoc script on line {before.start_line} changes the shell's state (`set`, `cd`, variables) "
                "for the RUN after it"
            )
        if after.shell is not None and after.shell.source.strip() == before.script_heredoc.name:
            return f"the RUN's command would end the heredoc {before.script_heredoc.name!r}"
        return append_blocker(before) or append_blocker(after)
    return append_blocker(before) or append_blocker(after) or errexit_sequence(before, shell_errexit_on)
