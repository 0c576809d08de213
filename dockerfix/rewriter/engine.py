"""The engine: run the selected rules, pick non-overlapping fixes, apply them, re-parse, repeat to a fixpoint.

Every surface (CLI, LSP server, bot, verify) calls ``check`` and ``fix``; none re-implements a step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .context import BuildContext
from .document import Document, parse
from .fixes import Applicability, Finding, apply_edits
from .registry import all_rules, hadolint_map
from .rule import TARGET_STAGE, Rule, RuleContext, Suppressions
from .source import Source, SourceError
from .stages import shipped_offset_test

MAX_PASSES = 20


@dataclass(frozen=True)
class Selection:
    """Which rules run, by code prefix: the longest matching prefix decides; ignore wins a tie."""

    select: tuple[str, ...] = ("DF",)
    ignore: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        best_select = max((len(prefix) for prefix in self.select if code.startswith(prefix.upper())), default=-1)
        best_ignore = max((len(prefix) for prefix in self.ignore if code.startswith(prefix.upper())), default=-1)
        return best_select >= 0 and best_select > best_ignore

    def rules(self, rules: Sequence[type[Rule]] | None = None) -> tuple[Rule, ...]:
        return tuple(rule() for rule in (all_rules() if rules is None else rules) if self.enabled(rule.code))


@dataclass(frozen=True)
class RuleFailure:
    """A rule crashed or its fix broke the file: a bug in that rule, reported and never applied."""

    code: str
    message: str


@dataclass(frozen=True)
class FixResult:
    source: Source
    document: Document
    findings: tuple[Finding, ...]
    text: str
    applied: tuple[Finding, ...]
    remaining: tuple[Finding, ...]
    failures: tuple[RuleFailure, ...] = field(default=())
    converged: bool = True

    @property
    def changed(self) -> bool:
        return self.text != self.source.text


def check(
    document: Document,
    rules: Sequence[Rule],
    build_context: BuildContext | None = None,
    failures: list[RuleFailure] | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[Finding, ...]:
    """All findings of ``rules`` on ``document`` that no suppression comment silences, in source order. ``options``
    are the configured rule options (``Settings.options``)."""
    suppressions = Suppressions.from_document(document, hadolint_map(tuple(type(rule) for rule in rules)))
    context = RuleContext(build_context=build_context, suppressions=suppressions, options=options or {})
    findings = []
    in_shipped_stage = shipped_offset_test(document, context.options.get(TARGET_STAGE.name, TARGET_STAGE.default))
    for rule in rules:
        try:
            produced = list(rule.check(document, context))
        except Exception as error:  # a broken rule must not take the file down with it
            if failures is None:
                raise
            failures.append(RuleFailure(rule.code, f"{type(error).__name__}: {error}"))
            continue
        if rule.layer_rule:
            produced = [finding for finding in produced if in_shipped_stage(finding.start)]
        findings.extend(finding for finding in produced if not _suppressed(document, suppressions, finding))
    reported = tuple(sorted(findings, key=lambda finding: (finding.start, finding.code, finding.end)))
    for rule in rules:
        reviewed = rule.review(document, reported, context)
        if reviewed is not None:
            reported = tuple(finding for finding in reviewed if not _suppressed(document, suppressions, finding))
    return reported


def _suppressed(document: Document, suppressions: Suppressions, finding: Finding) -> bool:
    if not suppressions.silences_anything:  # most files: skip the scan over every instruction
        return False
    return any(
        suppressions.suppresses(instruction, finding.code)
        for instruction in document.instructions
        if instruction.span[0] <= finding.end and finding.start < instruction.span[1]
    ) or (suppressions.file_all or finding.code in suppressions.file_codes)


def _conflict(first: Finding, second: Finding) -> bool:
    """Fixes touching or overlapping each other wait for the next pass."""
    return any(a.start <= b.end and b.start <= a.end for a in first.fix.edits for b in second.fix.edits)


def _select_fixes(findings: Iterable[Finding], threshold: Applicability) -> list[Finding]:
    chosen: list[Finding] = []
    for finding in findings:
        if finding.fix is None or finding.fix.applicability < threshold or finding.fix.applicability == Applicability.DISPLAY_ONLY:
            continue
        if not any(_conflict(finding, other) for other in chosen):
            chosen.append(finding)
    return chosen


def _parsed(source: Source, text: str) -> Document | None:
    try:
        return parse(source.with_text(text))
    except SourceError:
        return None


def fix_threshold(unsafe_fixes: bool) -> Applicability:
    return Applicability.UNSAFE if unsafe_fixes else Applicability.SAFE


def fix(
    source: Source,
    rules: Sequence[Rule],
    build_context: BuildContext | None = None,
    unsafe_fixes: bool = False,
    options: Mapping[str, Any] | None = None,
) -> FixResult:
    """Findings on ``source`` and the text after applying their fixes to a fixpoint (at most ``MAX_PASSES``).

    Raises ``SourceError`` when the input itself does not parse.
    """
    threshold = fix_threshold(unsafe_fixes)
    failures: list[RuleFailure] = []
    document = parse(source)
    findings = check(document, rules, build_context, failures, options)
    original_document, original_findings = document, findings
    applied: list[Finding] = []
    broken: set[tuple[str, str]] = set()
    text = source.text
    converged = False
    for _ in range(MAX_PASSES):
        chosen = [finding for finding in _select_fixes(findings, threshold) if (finding.code, finding.fix.title) not in broken]
        if not chosen:
            converged = True
            break
        candidate = apply_edits(text, [edit for finding in chosen for edit in finding.fix.edits])
        candidate_document = _parsed(source, candidate)
        if candidate_document is None:
            chosen = _keep_parsing(source, text, chosen, failures, broken)
            candidate = apply_edits(text, [edit for finding in chosen for edit in finding.fix.edits])
            candidate_document = _parsed(source, candidate)
        if candidate == text or candidate_document is None:
            converged = candidate == text
            break
        applied.extend(chosen)
        text = candidate
        document = candidate_document
        findings = check(document, rules, build_context, failures, options)
    remaining = findings
    return FixResult(
        source=source,
        document=original_document,
        findings=original_findings,
        text=text,
        applied=tuple(applied),
        remaining=remaining,
        failures=tuple(dict.fromkeys(failures)),
        converged=converged,
    )


def _keep_parsing(
    source: Source, text: str, chosen: list[Finding], failures: list[RuleFailure], broken: set[tuple[str, str]]
) -> list[Finding]:
    """Drop each fix whose output alone no longer parses, reporting it as a bug of its rule."""
    kept = []
    for finding in chosen:
        if _parsed(source, apply_edits(text, finding.fix.edits)) is not None:
            kept.append(finding)
        else:
            broken.add((finding.code, finding.fix.title))
            failures.append(RuleFailure(finding.code, f"fix {finding.fix.title!r} produced a Dockerfile that does not parse; not applied"))
    return kept
