"""The engine: run the selected rules, pick non-overlapping fixes, apply them, re-parse, repeat to a fixpoint.

Every surface (CLI, LSP server, bot, verify) calls ``check`` and ``fix``; none re-implements a step.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from msgspec import Struct, field
from msgspec.structs import replace

from .budget import OverBudget
from .context import BuildContext
from .document import Document, Instruction, parse, reparse
from .fixes import Applicability, ByteGain, Edit, FileEdit, Finding, Unknown, apply_edits
from .registry import MIN_GAIN, all_rules, hadolint_map, opt_in_codes
from .rule import CODE_PATTERN, TARGET_STAGE, Rule, RuleContext, Suppressions
from .source import Source, SourceError
from .stages import shipped_offset_test

MAX_PASSES = 20


class Selection(Struct, frozen=True):
    """Which rules run, by code prefix: the longest matching prefix decides; ignore wins a tie."""

    select: tuple[str, ...] = ("DF",)
    ignore: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        best_select = max((len(prefix) for prefix in self.select if code.startswith(prefix.upper())), default=-1)
        best_ignore = max((len(prefix) for prefix in self.ignore if code.startswith(prefix.upper())), default=-1)
        return best_select >= 0 and best_select > best_ignore

    def rules(self, rules: Sequence[type[Rule]] | None = None) -> tuple[Rule, ...]:
        return tuple(rule() for rule in _enabled_rules(self, tuple(all_rules() if rules is None else rules)))

    def named(self) -> frozenset[str]:
        """The codes selected by themselves, not by a prefix: the user asked for exactly that advice."""
        return frozenset(code for code in self.select if CODE_PATTERN.match(code))


@lru_cache(maxsize=64)
def _enabled_rules(selection: Selection, rules: tuple[type[Rule], ...]) -> tuple[type[Rule], ...]:
    """The rules a selection enables: asked again for every file, with the same few selections in a run."""
    return tuple(rule for rule in rules if selection.enabled(rule.code))


class Gate(Struct, frozen=True):
    """What a finding must claim to be reported, fixed and counted by `--check`: a byte gain of at least
    ``min_gain``, rebuild steps saved after a source edit, cache correctness, or a byte gain the data cannot state
    (reported as unknown); a DF0xx finding (a file BuildKit refuses) always passes, and so does every finding of a
    rule in ``named`` (selected by its exact code). Layers alone, or bytes below ``min_gain``, do not."""

    min_gain: int = MIN_GAIN.default
    named: frozenset[str] = frozenset()

    @classmethod
    def of(cls, selection: Selection, options: Mapping[str, Any]) -> Gate:
        """The gate of a run: an opt-in rule an option asks for (`pin-digests = true`) counts as named."""
        asked_by_options = opt_in_codes() - opt_in_codes(options)
        return cls(options.get(MIN_GAIN.name, MIN_GAIN.default), selection.named() | asked_by_options)

    def admits(self, finding: Finding) -> bool:
        if finding.code.startswith("DF0") or finding.code in self.named:
            return True
        savings = finding.savings
        if savings is None:
            return False
        gain = savings.byte_gain
        return (
            savings.saves_rebuild_steps
            or bool(savings.cache_correctness)
            or isinstance(gain, Unknown)
            or (isinstance(gain, ByteGain) and gain.bytes >= self.min_gain)
        )


class RuleFailure(Struct, frozen=True):
    """A rule crashed or its fix broke the file: a bug in that rule, reported and never applied."""

    code: str
    message: str


class FixResult(Struct, frozen=True):
    source: Source
    document: Document
    findings: tuple[Finding, ...]
    text: str
    applied: tuple[Finding, ...]
    remaining: tuple[Finding, ...]
    failures: tuple[RuleFailure, ...] = field(default=())
    converged: bool = True
    files: tuple[FileEdit, ...] = field(default=())  # the other files of the build context the applied fixes change

    @property
    def changed(self) -> bool:
        return self.text != self.source.text or bool(self.files)


def check(
    document: Document,
    rules: Sequence[Rule],
    build_context: BuildContext | None = None,
    failures: list[RuleFailure] | None = None,
    options: Mapping[str, Any] | None = None,
    other_files: bool = True,
    gate: Gate | None = None,
) -> tuple[Finding, ...]:
    """All findings of ``rules`` on ``document`` that no suppression comment silences and ``gate`` (when given)
    admits, in source order. ``options`` are the configured rule options (``Settings.options``). Without
    ``other_files`` (the caller cannot write files beside the Dockerfile: standard input, an editor that cannot
    create files) a fix that changes one is display-only. The gate applies before a rule reviews the others'
    findings, so a summary of them counts only those that pass."""
    suppressions = Suppressions.from_document(document, hadolint_map(tuple(map(type, rules))))
    context = RuleContext(build_context=build_context, suppressions=suppressions, options=options or {})
    findings: list[Finding] = []
    in_shipped_stage = shipped_offset_test(document, context.options.get(TARGET_STAGE.name, TARGET_STAGE.default))
    for rule in rules:
        try:
            produced = list(rule.check(document, context))
        except OverBudget as over:
            over.rule = rule.code
            raise
        except Exception as error:  # a broken rule must not take the file down with it
            if failures is None:
                raise
            failures.append(RuleFailure(rule.code, f"{type(error).__name__}: {error}"))
            continue
        if not produced:  # most rules on most files
            continue
        if rule.layer_rule:
            produced = [finding for finding in produced if in_shipped_stage(finding.start)]
        if gate is not None:
            produced = [finding for finding in produced if gate.admits(finding)]
        findings.extend(finding for finding in produced if not _suppressed(document, suppressions, finding))
    reported = tuple(sorted(findings, key=lambda finding: (finding.start, finding.code, finding.end)))
    for rule in rules:
        try:
            reviewed = rule.review(document, reported, context)
        except OverBudget as over:
            over.rule = rule.code
            raise
        if reviewed is not None:
            reported = tuple(finding for finding in reviewed if not _suppressed(document, suppressions, finding))
    if (
        not other_files or build_context is None or build_context.root is None
    ):  # a names-only context is nowhere to write
        reported = tuple(_display_only_if_other_files(finding) for finding in reported)
    return reported


def _display_only_if_other_files(finding: Finding) -> Finding:
    if finding.fix is None or not finding.fix.files:
        return finding
    return replace(finding, fix=finding.fix.display_only())


def _suppressed(document: Document, suppressions: Suppressions, finding: Finding) -> bool:
    if not suppressions.silences_anything:  # most files: skip the search for the finding's instructions
        return False
    return any(
        suppressions.suppresses(instruction, finding.code)
        for instruction in document.instructions_overlapping(finding.start, finding.end)
    ) or (suppressions.file_all or finding.code in suppressions.file_codes)


class _ClaimedRanges:
    """The source ranges of the fixes chosen so far in a pass: disjoint and apart, so both their starts and their
    ends are sorted, and a new range is checked with one binary search (a pass with thousands of fixes stays
    linear)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def free(self, start: int, end: int) -> bool:
        """No claimed range overlaps or touches ``[start, end]``."""
        first_reaching = bisect.bisect_left(self.ends, start)
        return first_reaching == len(self.ends) or self.starts[first_reaching] > end

    def claim(self, start: int, end: int) -> None:
        position = bisect.bisect_right(self.starts, start)  # after an edit of the same fix that this one touches
        self.starts.insert(position, start)
        self.ends.insert(position, end)


def _select_fixes(findings: Iterable[Finding], threshold: Applicability) -> list[Finding]:
    """The fixes at or above ``threshold``, in order, leaving out those that touch or overlap an earlier choice or
    change another file an earlier choice changes (they wait for the next pass)."""
    chosen: list[Finding] = []
    claimed = _ClaimedRanges()
    claimed_files: set[str] = set()
    for finding in findings:
        if (
            finding.fix is None
            or finding.fix.applicability < threshold
            or finding.fix.applicability == Applicability.DISPLAY_ONLY
        ):
            continue
        paths = {file.path for file in finding.fix.files}
        if all(claimed.free(edit.start, edit.end) for edit in finding.fix.edits) and not paths & claimed_files:
            for edit in finding.fix.edits:
                claimed.claim(edit.start, edit.end)
            claimed_files |= paths
            chosen.append(finding)
    return chosen


class _PendingFiles:
    """The other files the applied fixes change, by path, with the rule that owns each. Rules read the build
    context as it was, so a later pass recomputes a file's whole new text: it replaces the earlier one when it comes
    from the same rule, and another rule's edit of that file is left out (two rules would undo each other)."""

    def __init__(self) -> None:
        self.by_path: dict[str, tuple[str, FileEdit]] = {}

    def allows(self, finding: Finding) -> bool:
        return all(
            self.by_path.get(file.path, (finding.code,))[0] == finding.code for file in finding.required_fix.files
        )

    def news(self, finding: Finding) -> bool:
        """Whether the fix changes a file differently from what is already pending."""
        return any(self.by_path.get(file.path, (None, None))[1] != file for file in finding.required_fix.files)

    def record(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            for file in finding.required_fix.files:
                self.by_path[file.path] = (finding.code, file)

    def changes(self) -> tuple[FileEdit, ...]:
        return tuple(
            file
            for _, file in sorted(self.by_path.values(), key=lambda item: item[1].path)
            if file.content != file.original
        )


def _parsed(source: Source, before: Document, edits: Sequence[Edit], text: str) -> Document | SourceError:
    """The document of ``text``, ``before``'s text with ``edits`` applied: ``before``'s elements up to the first
    edit are kept (with their facts), not parsed again."""
    try:
        return reparse(source.with_text(text), before, min((edit.start for edit in edits), default=len(text)))
    except SourceError as error:
        return error


def disturbed_instruction(before: Document, edits: Sequence[Edit], after: Document) -> Instruction | None:
    """The first instruction of ``before`` that no edit touches and that ``after`` no longer has as the same
    instruction (same keyword, same text, same lines, shifted only by the edits before it); None when all are kept.

    Parsing is not enough: an edit leaving an escape character at a line end makes the next instruction part of
    the edited one, and the output still parses. One sweep over the sorted edits and instructions."""
    after_by_start = {instruction.span[0]: instruction for instruction in after.instructions}
    ordered = sorted(edits)
    next_edit = 0
    shift = 0
    for instruction in before.instructions:
        start, end = instruction.span
        while next_edit < len(ordered) and ordered[next_edit].end <= start:
            edit = ordered[next_edit]
            shift += len(edit.content) - (edit.end - edit.start)
            next_edit += 1
        if next_edit < len(ordered) and (ordered[next_edit].start < end or ordered[next_edit].start == instruction.end):
            continue  # the fix edits it (appending at the end of a last line without a line ending included)
        kept = after_by_start.get(start + shift)
        if (
            kept is None
            or kept.span[1] != end + shift
            or kept.logical != instruction.logical
            or kept.keyword != instruction.keyword
        ):
            return instruction
    return None


class _Attempt(Struct, frozen=True):
    """Edits applied to a document: the new text and, when it is sound, its document; else why it is not and
    where in the original text it went wrong."""

    text: str
    document: Document | None
    fault: str | None = None
    where: int = 0

    @classmethod
    def of(cls, source: Source, before: Document, edits: Sequence[Edit]) -> _Attempt:
        text = apply_edits(before.text, edits)
        after = _parsed(source, before, edits, text)
        if isinstance(after, SourceError):
            return cls(
                text,
                None,
                "produced a Dockerfile that does not parse",
                _original_offset(edits, source.with_text(text).offset(after.line, after.column)),
            )
        disturbed = disturbed_instruction(before, edits, after)
        if disturbed is not None:
            first_line = before.text[disturbed.lines[0].start : disturbed.lines[0].content_end].strip()
            return cls(
                text,
                None,
                f"changed line {disturbed.start_line} (`{first_line}`), which none of its edits touch",
                disturbed.span[0],
            )
        return cls(text, after)


def _original_offset(edits: Sequence[Edit], offset: int) -> int:
    """Where an offset of the edited text was before the edits (an offset inside an edit maps to its start)."""
    shift = 0
    for edit in sorted(edits):
        new_start = edit.start + shift
        if offset < new_start:
            break
        if offset < new_start + len(edit.content):
            return edit.start
        shift += len(edit.content) - (edit.end - edit.start)
    return offset - shift


def _edits(findings: Iterable[Finding]) -> list[Edit]:
    return [edit for finding in findings for edit in finding.required_fix.edits]


def fix_threshold(unsafe_fixes: bool) -> Applicability:
    return Applicability.UNSAFE if unsafe_fixes else Applicability.SAFE


def fix(
    source: Source,
    rules: Sequence[Rule],
    build_context: BuildContext | None = None,
    unsafe_fixes: bool = False,
    options: Mapping[str, Any] | None = None,
    other_files: bool = True,
    gate: Gate | None = None,
) -> FixResult:
    """Findings on ``source`` and the text after applying their fixes to a fixpoint (at most ``MAX_PASSES``), with
    the new texts of the other files those fixes change (none without ``other_files``, as in ``check``). Only the
    findings ``gate`` admits are reported and fixed.

    Raises ``SourceError`` when the input itself does not parse.
    """
    threshold = fix_threshold(unsafe_fixes)
    failures: list[RuleFailure] = []
    document = parse(source)
    findings = check(document, rules, build_context, failures, options, other_files, gate)
    original_document, original_findings = document, findings
    applied: list[Finding] = []
    broken: set[tuple[str, str]] = set()
    pending = _PendingFiles()
    converged = False
    for _ in range(MAX_PASSES):
        # filter first: a fix known broken or blocked must not reserve the text a sound neighbour needs
        candidates = [
            finding
            for finding in findings
            if finding.fix is not None
            and (finding.code, finding.fix.title) not in broken
            and pending.allows(finding)
            and (finding.fix.edits or pending.news(finding))
        ]
        chosen = _select_fixes(candidates, threshold)
        if not chosen:
            converged = True
            break
        attempt = _Attempt.of(source, document, _edits(chosen))
        culprits_before = len(broken)
        if attempt.document is None:
            chosen, attempt = _keep_sound(source, document, chosen, attempt, failures, broken)
        files_change = any(pending.news(finding) for finding in chosen)
        if attempt.document is None or (attempt.text == document.text and not files_change):
            if attempt.document is not None and len(broken) > culprits_before:
                continue  # the fixes the dropped culprits kept out get their turn
            converged = attempt.text == document.text
            break
        applied.extend(chosen)
        pending.record(chosen)
        if attempt.text != document.text:
            document = attempt.document
            findings = check(document, rules, build_context, failures, options, other_files, gate)
    remaining = findings
    return FixResult(
        source=source,
        document=original_document,
        findings=original_findings,
        text=document.text,
        applied=tuple(applied),
        remaining=remaining,
        failures=tuple(dict.fromkeys(failures)),
        converged=converged,
        files=pending.changes(),
    )


def _keep_sound(
    source: Source,
    document: Document,
    chosen: list[Finding],
    attempt: _Attempt,
    failures: list[RuleFailure],
    broken: set[tuple[str, str]],
) -> tuple[list[Finding], _Attempt]:
    """Drop fixes until the pass's output is sound. A fix whose output alone does not parse or disturbs an
    instruction it does not edit is a bug of its rule: reported once, and no fix with its title is applied again.
    The fixes nearest to where the output went wrong are tried alone first, so a big file with one buggy fix title
    costs a few parses, not one per fix; only when they are innocent is every fix tried."""
    while attempt.document is None and chosen:
        nearest = _nearest(chosen, attempt.where)
        culprits = [
            (finding, fault)
            for finding in nearest
            if (fault := _Attempt.of(source, document, finding.required_fix.edits).fault)
        ]
        if not culprits:
            culprits = [
                (finding, fault)
                for finding in chosen
                if (fault := _Attempt.of(source, document, finding.required_fix.edits).fault)
            ]
        if not culprits:
            break  # each fix is sound alone but not with the others: leave this pass
        for finding, fault in culprits:
            if (finding.code, finding.required_fix.title) not in broken:
                broken.add((finding.code, finding.required_fix.title))
                failures.append(RuleFailure(finding.code, f"fix {finding.required_fix.title!r} {fault}; not applied"))
        chosen = [finding for finding in chosen if (finding.code, finding.required_fix.title) not in broken]
        attempt = _Attempt.of(source, document, _edits(chosen))
    return chosen, attempt


def _nearest(chosen: list[Finding], offset: int) -> list[Finding]:
    """The fixes whose edits start last before ``offset`` and first after it."""
    ordered = sorted(chosen, key=lambda finding: finding.required_fix.start)
    index = bisect.bisect_right([finding.required_fix.start for finding in ordered], offset)
    return ordered[max(index - 1, 0) : index + 1]
