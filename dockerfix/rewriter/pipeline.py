"""The one data path every surface uses: bytes -> Source -> Document -> findings and fixes -> new text and diff.

Results are plain data (positions already 1-based lines and columns) so they cross process boundaries and
serialise to the JSON shape the CLI, the LSP server and the bot share.
"""

from __future__ import annotations

import bisect
import difflib
import os
from collections import Counter, OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Literal

from msgspec import Struct, field
from msgspec.structs import asdict, replace

from . import engine
from .budget import OverBudget, time_budget
from .config import MAX_FILE_SIZE, Settings
from .context import BuildContext, ComposeListings
from .discovery import TEMPLATE_MARKUP, unrendered_template
from .document import parse
from .files import (
    ContextFileError,
    FileError,
    FileTooLarge,
    Snapshot,
    describe,
    read_regular,
    replace_file,
    write_in_context,
)
from .fixes import ContentChange, Finding, Savings
from .rule import Rule
from .source import Source, SourceError

JSON_VERSION = 1


class Position(Struct, frozen=True):
    line: int
    column: int


class Range(Struct, frozen=True):
    start: Position
    end: Position

    @classmethod
    def of(cls, source: Source, start: int, end: int) -> Range:
        return cls(Position(*source.position(start)), Position(*source.position(end)))

    def as_json(self) -> dict:
        return {
            "start": {"line": self.start.line, "column": self.start.column},
            "end": {"line": self.end.line, "column": self.end.column},
        }


class ReportedEdit(Struct, frozen=True):
    range: Range
    content: str


class ReportedFile(Struct, frozen=True):
    """A fix's new text for another file of the build context (``path`` relative to the context; ``original`` the
    text it replaces, None when the file is created)."""

    path: str
    original: str | None
    content: str

    def as_json(self) -> dict:
        return {"path": self.path, "created": self.original is None, "content": self.content}


class ReportedFix(Struct, frozen=True):
    applicability: str
    title: str
    edits: tuple[ReportedEdit, ...]
    files: tuple[ReportedFile, ...] = ()


class ReportedFinding(Struct, frozen=True):
    code: str
    name: str
    message: str
    range: Range
    fix: ReportedFix | None
    savings: dict | None
    fixable: bool

    @classmethod
    def of(cls, source: Source, finding: Finding, fixable: bool) -> ReportedFinding:
        fix = None
        if finding.fix is not None:
            fix = ReportedFix(
                finding.fix.applicability.label,
                finding.fix.title,
                tuple(ReportedEdit(Range.of(source, edit.start, edit.end), edit.content) for edit in finding.fix.edits),
                tuple(ReportedFile(file.path, file.original, file.content) for file in finding.fix.files),
            )
        return cls(
            finding.code,
            finding.name,
            finding.message,
            Range.of(source, finding.start, finding.end),
            fix,
            None if finding.savings is None else asdict(finding.savings),
            fixable,
        )

    @property
    def claim(self) -> str:
        """What the finding claims, in a few words ("" for none): the same text on every surface."""
        return "" if self.savings is None else Savings(**self.savings).describe()

    def as_json(self) -> dict:
        fix = None
        if self.fix is not None:
            fix = {
                "applicability": self.fix.applicability,
                "title": self.fix.title,
                "edits": [{"range": edit.range.as_json(), "content": edit.content} for edit in self.fix.edits],
            }
            if self.fix.files:
                fix["files"] = [file.as_json() for file in self.fix.files]
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "range": self.range.as_json(),
            "fix": fix,
            "savings": self.savings,
        }


class AppliedFix(Struct, frozen=True):
    """A fix the fix loop applied (in any pass), with the content change it declares."""

    code: str
    title: str
    applicability: str
    changes: ContentChange | None

    @classmethod
    def of(cls, finding: Finding) -> AppliedFix:
        fix = finding.required_fix  # the fix loop applies only findings with a fix
        return cls(finding.code, fix.title, fix.applicability.label, fix.changes)


class OtherFile(Struct, frozen=True):
    """Another file of the build context the applied fixes change: ``path`` as the user names it (the context
    folder joined with ``relative``), ``original`` None when it is created."""

    path: str
    relative: str
    original: str | None
    content: str

    @property
    def diff(self) -> str:
        return unified_diff(self.path, self.original or "", self.content, created=self.original is None)

    def as_json(self) -> dict:
        return {"path": self.path, "created": self.original is None, "diff": self.diff}


class FileResult(Struct, frozen=True):
    path: str
    findings: tuple[ReportedFinding, ...] = ()
    diff: str = ""
    new_text: str | None = None
    changed: bool = False
    written: bool = False
    error: str | None = None
    rule_failures: tuple[str, ...] = field(default=())
    converged: bool = True
    applied: tuple[AppliedFix, ...] = field(default=())
    other_files: tuple[OtherFile, ...] = field(default=())  # ``diff`` and ``changed`` include them
    warnings: tuple[str, ...] = field(default=())  # what made the result less complete than it could be
    unwritten: bool = False  # ``error`` says why the fixes found were not written (the file itself was read)

    @property
    def rewrites_dockerfile(self) -> bool:
        """Whether the Dockerfile itself changes: ``diff`` is its diff followed by the other files' diffs."""
        return len(self.diff) > sum(len(other.diff) for other in self.other_files)

    def as_json(self) -> dict:
        data = {
            "path": self.path,
            "changed": self.changed,
            "diff": self.diff,
            "findings": [finding.as_json() for finding in self.findings],
        }
        if self.other_files:
            data["other_files"] = [file.as_json() for file in self.other_files]
        if self.error is not None:
            data["error"] = self.error
        if self.rule_failures:
            data["rule_failures"] = list(self.rule_failures)
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data


def unified_diff(path: str, old: str, new: str, created: bool = False) -> str:
    """A unified diff that, like git's, marks a last line without a line ending (and a created file's old side as
    ``/dev/null``)."""
    if old == new and not created:
        return ""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    before = "/dev/null" if created else f"a/{path}"
    lines = [f"--- {before}\n", f"+++ b/{path}\n"]
    for group in _AnchoredMatcher(None, old_lines, new_lines).get_grouped_opcodes(DIFF_CONTEXT_LINES):
        lines.append(f"@@ -{_hunk_range(group[0][1], group[-1][2])} +{_hunk_range(group[0][3], group[-1][4])} @@\n")
        for tag, old_start, old_end, new_start, new_end in group:
            if tag == "equal":
                lines.extend(" " + line for line in old_lines[old_start:old_end])
                continue
            lines.extend("-" + line for line in old_lines[old_start:old_end])
            lines.extend("+" + line for line in new_lines[new_start:new_end])
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


DIFF_CONTEXT_LINES = 3


def _hunk_range(start: int, end: int) -> str:
    """A hunk's side as unified diffs write it: `first,length`, the first line alone for one line, `line before,0`
    for none."""
    length = end - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


_Opcode = tuple[Literal["replace", "delete", "insert", "equal"], int, int, int, int]


class _AnchoredMatcher(difflib.SequenceMatcher[str]):
    """difflib's matcher run only between anchors: the lines that occur once in each text, the longest chain of
    them in the same order (as patience diff anchors), each extended by the equal lines around it. difflib alone
    looks for the longest match again in all that follows each match it takes: quadratic in the lines when the
    changes are spread over the file (a fix on every other line of 8,000 RUNs: 1.4 s)."""

    # set by difflib from the lines given (typeshed does not declare them)
    a: list[str]
    b: list[str]

    def get_opcodes(self) -> list[_Opcode]:
        old, new = self.a, self.b
        opcodes: list[_Opcode] = []
        old_start = new_start = 0
        for old_anchor, new_anchor in [*_unique_common_lines(old, new), (len(old), len(new))]:
            if old_anchor == old_start and new_anchor == new_start and old_anchor < len(old):
                # the next line of both: it extends the equal stretch (most anchors, in the unchanged parts)
                if opcodes and opcodes[-1][0] == "equal":
                    opcodes[-1] = ("equal", opcodes[-1][1], old_anchor + 1, opcodes[-1][3], new_anchor + 1)
                else:
                    opcodes.append(("equal", old_anchor, old_anchor + 1, new_anchor, new_anchor + 1))
                old_start, new_start = old_anchor + 1, new_anchor + 1
                continue
            # the equal lines next to an anchor belong to its match, as they would to difflib's longest match
            after = 0
            while (
                old_start + after < old_anchor
                and new_start + after < new_anchor
                and old[old_start + after] == new[new_start + after]
            ):
                after += 1
            before = 0
            while (
                old_anchor - before > old_start + after
                and new_anchor - before > new_start + after
                and old[old_anchor - before - 1] == new[new_anchor - before - 1]
            ):
                before += 1
            middle_old, middle_new = old_start + after, new_start + after
            pieces: list[_Opcode] = [("equal", old_start, middle_old, new_start, middle_new)]
            pieces += _changes_between(old, middle_old, old_anchor - before, new, middle_new, new_anchor - before)
            pieces.append(("equal", old_anchor - before, old_anchor, new_anchor - before, new_anchor))
            if old_anchor < len(old):
                pieces.append(("equal", old_anchor, old_anchor + 1, new_anchor, new_anchor + 1))
            for piece in pieces:
                if opcodes and piece[0] == "equal" == opcodes[-1][0]:
                    opcodes[-1] = ("equal", opcodes[-1][1], piece[2], opcodes[-1][3], piece[4])
                elif piece[1] < piece[2] or piece[3] < piece[4]:
                    opcodes.append(piece)
            old_start, new_start = old_anchor + 1, new_anchor + 1
        return opcodes


def _changes_between(
    old: list[str], old_start: int, old_end: int, new: list[str], new_start: int, new_end: int
) -> list[_Opcode]:
    """difflib's opcodes for ``old[old_start:old_end]`` against ``new[new_start:new_end]``, in whole-text indexes.
    Most stretches between anchors are empty on one side or both (a fix adds or removes lines), which needs no
    matcher: making one for each took most of the diff's time (12,900 matchers for the 503 diffs of the corpus)."""
    if old_start == old_end or new_start == new_end:
        if old_start == old_end and new_start == new_end:
            return []
        return [("insert" if old_start == old_end else "delete", old_start, old_end, new_start, new_end)]
    matched = difflib.SequenceMatcher(None, old[old_start:old_end], new[new_start:new_end]).get_opcodes()
    return [(tag, i1 + old_start, i2 + old_start, j1 + new_start, j2 + new_start) for tag, i1, i2, j1, j2 in matched]


def _unique_common_lines(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """(index in ``old``, index in ``new``) of the lines that occur exactly once in each, the longest chain of them
    in the same order in both (a longest increasing subsequence, O(n log n))."""
    old_counts, new_counts = Counter(old), Counter(new)
    new_index = {line: index for index, line in enumerate(new) if new_counts[line] == 1}
    pairs = [(index, new_index[line]) for index, line in enumerate(old) if old_counts[line] == 1 and line in new_index]
    tails: list[int] = []  # tails[k]: the new index ending the best chain of length k + 1 found so far
    tail_pair: list[int] = []  # which pair ends it
    previous: list[int] = []  # for each pair, the pair before it in its chain (-1 for none)
    for position, (_, index) in enumerate(pairs):
        length = bisect.bisect_left(tails, index)
        previous.append(tail_pair[length - 1] if length else -1)
        if length == len(tails):
            tails.append(index)
            tail_pair.append(position)
        else:
            tails[length] = index
            tail_pair[length] = position
    chain = []
    position = tail_pair[-1] if tail_pair else -1
    while position != -1:
        chain.append(pairs[position])
        position = previous[position]
    return chain[::-1]


def run_source(
    source: Source,
    settings: Settings,
    build_context: BuildContext | None = None,
    file: Path | None = None,
    apply_fixes: bool = True,
    other_files: bool = True,
    context_folder: Path | None = None,
) -> FileResult:
    """Check and fix one decoded file; the result says what would change (nothing is written here). Without
    ``apply_fixes`` only the findings are computed (what an editor needs on every keystroke). Fixes change other
    files of the build context only with ``other_files`` and a context that is a folder (see ``engine.check``).
    ``context_folder`` is the context folder as the user names it (for the paths of those files).

    The analysis has ``settings.time_budget`` seconds: past it, the file gets a rule failure naming the rule that was
    running, and nothing of it is fixed."""
    try:
        with time_budget(settings.time_budget):
            return _analyse(source, settings, build_context, file, apply_fixes, other_files, context_folder)
    except OverBudget as over:
        culprit = f"{over.rule}: this rule" if over.rule else "engine: the analysis"
        return FileResult(
            path=source.path,
            rule_failures=(
                f"{culprit} did not finish within the time budget of {settings.time_budget:g} s (the `time-budget` "
                "setting); the file is not fixed",
            ),
            warnings=context_warnings(build_context),
        )


def _analyse(
    source: Source,
    settings: Settings,
    build_context: BuildContext | None,
    file: Path | None,
    apply_fixes: bool,
    other_files: bool,
    context_folder: Path | None,
) -> FileResult:
    template = unrendered_template(parse(source)) if any(mark in source.text for mark in TEMPLATE_MARKUP) else None
    if template is not None:
        return FileResult(
            path=source.path,
            warnings=(
                f"line {template.start_line}: template markup (`{template.keyword}`) BuildKit cannot read: an "
                "unrendered template, not checked (check the Dockerfile it renders)",
            ),
        )
    rules, gate = _checked_by(settings, settings.selection_for(file))
    threshold = engine.fix_threshold(settings.unsafe_fixes)
    warnings = context_warnings(build_context)
    if not apply_fixes:
        failures: list[engine.RuleFailure] = []
        found = engine.check(parse(source), rules, build_context, failures, settings.options, other_files, gate)
        return FileResult(
            path=source.path,
            findings=tuple(
                ReportedFinding.of(source, f, f.fix is not None and f.fix.applicability >= threshold) for f in found
            ),
            rule_failures=tuple(f"{failure.code}: {failure.message}" for failure in failures),
            warnings=warnings,
        )
    result = engine.fix(
        source,
        rules,
        build_context,
        unsafe_fixes=settings.unsafe_fixes,
        options=settings.options,
        other_files=other_files,
        gate=gate,
    )
    findings = tuple(
        ReportedFinding.of(source, finding, finding.fix is not None and finding.fix.applicability >= threshold)
        for finding in result.findings
    )
    others: tuple[OtherFile, ...] = ()
    if result.files:
        folder = context_folder or (build_context.root if build_context is not None else None)
        assert folder is not None, "fixes change other files only in a build context that is a folder"
        others = tuple(
            OtherFile(Path(folder, file.path).as_posix(), file.path, file.original, file.content)
            for file in result.files
        )
    return FileResult(
        path=source.path,
        findings=findings,
        diff=unified_diff(source.path, source.text, result.text) + "".join(other.diff for other in others),
        new_text=result.text,
        changed=result.changed,
        rule_failures=tuple(f"{failure.code}: {failure.message}" for failure in result.failures),
        converged=result.converged,
        applied=tuple(AppliedFix.of(finding) for finding in result.applied),
        other_files=others,
        warnings=warnings,
    )


@lru_cache(maxsize=64)
def _checked_by(settings: Settings, selection: engine.Selection) -> tuple[tuple[Rule, ...], engine.Gate]:
    """The rules a file's selection runs and the gate its findings pass: the same few for every file of a run (rules
    keep nothing between checks)."""
    return selection.rules(), engine.Gate.of(selection, settings.options)


def context_warnings(build_context: BuildContext | None) -> tuple[str, ...]:
    """A build context whose ignore file Docker would refuse (or dockerfix will not read) is treated as empty: the
    rules that read the context stay quiet, which the user must hear of."""
    if build_context is None or not build_context.error:
        return ()
    return (f"the build context is not read ({build_context.error}): rules that need its files report nothing",)


def too_large(path: str, limit: int) -> SourceError:
    return SourceError(path, 1, 1, f"is larger than {limit:,} bytes (the `max-file-size` setting): not read")


def read_snapshot(path: Path, limit: int = MAX_FILE_SIZE) -> tuple[Source, Snapshot]:
    """Read a Dockerfile of at most ``limit`` bytes (a regular file only: never blocks on a FIFO); every way this
    fails becomes a located ``SourceError``. The snapshot lets a later write notice that the file changed meanwhile."""
    display = str(path)
    try:
        snapshot = read_regular(path, limit=limit)
    except FileTooLarge:
        raise too_large(display, limit) from None
    except FileError as error:
        raise SourceError(display, 1, 1, str(error)) from None
    return Source.decode(snapshot.data, display), snapshot


def read_source(path: Path, limit: int = MAX_FILE_SIZE) -> Source:
    """Read a Dockerfile that will not be written back."""
    return read_snapshot(path, limit)[0]


class BuildContexts:
    """The build contexts of one run (a command, a worker process, a bot's checkout): Dockerfiles sharing a folder
    (and no ignore file of their own) share its context, so a folder of many Dockerfiles is listed once per run, not
    once per file. Nothing outlives the run: a later run, or one on a checkout deleted since, reads the disk again.
    The most recently used ``KEPT`` folders are kept: Dockerfiles come folder by folder."""

    KEPT = 32

    def __init__(self) -> None:
        self._by_folder: OrderedDict[Path, BuildContext] = OrderedDict()
        self._compose_listings: ComposeListings = {}
        self._resolved: dict[Path, Path] = {}  # each folder of the run as given, resolved

    def for_dockerfile(self, folder: Path, dockerfile: Path, resolved: Path | None = None) -> BuildContext:
        """The build context of ``dockerfile`` built from ``folder`` (``resolved``: the folder resolved, when the
        caller has it)."""
        if os.path.exists(f"{dockerfile}.dockerignore"):  # on the string: a Path built per Dockerfile cost more
            return BuildContext.from_directory(folder, dockerfile, self._compose_listings)
        folder = resolved or self._resolved_folder(folder)
        context = self._by_folder.pop(folder, None) or BuildContext.from_directory(
            folder, compose_listings=self._compose_listings
        )
        self._by_folder[folder] = context
        if len(self._by_folder) > self.KEPT:
            self._by_folder.popitem(last=False)
        return context

    def _resolved_folder(self, folder: Path) -> Path:
        """``folder`` resolved once in the run, as the folder's context is read once: a folder of many Dockerfiles
        was resolved for each of them (a system call per part of its path: 0.03 s of the 1,519 real files)."""
        if folder not in self._resolved:
            self._resolved[folder] = folder.resolve()
        return self._resolved[folder]

    def forget(self, folder: Path) -> None:
        """Files in ``folder`` changed (dockerfix wrote one): its context is read again when next asked for, so the
        next Dockerfile building from it sees what the last one's fixes wrote, as a second run would."""
        self._by_folder.pop(self._resolved_folder(folder), None)

    def rewritten_in_place(self, folder: Path) -> None:
        """A file in ``folder`` was rewritten in place (a Dockerfile): the names and the ignore file are as they
        were, so its listing serves on and only what was worked out from contents is read again (a folder of many
        Dockerfiles is not listed again after each one's fixes)."""
        folder = self._resolved_folder(folder)
        if folder in self._by_folder:
            self._by_folder[folder] = self._by_folder[folder].with_contents_read_again()


def context_for(folder: Path, dockerfile: Path) -> BuildContext:
    """The build context of one Dockerfile checked on its own."""
    return BuildContexts().for_dockerfile(folder, dockerfile)


def run_path(
    path: Path,
    settings: Settings,
    write: bool = False,
    context_dir: Path | None = None,
    contexts: BuildContexts | None = None,
    resolved_context: Path | None = None,
) -> FileResult:
    """Check (and with ``write``, fix in place) one file; errors are returned, never raised. ``contexts`` are the
    build contexts of the run the file is part of (none: a run of its own); ``resolved_context`` is the context
    folder resolved, when the caller has it."""
    contexts = BuildContexts() if contexts is None else contexts
    folder = context_dir or path.parent
    try:
        source, snapshot = read_snapshot(path, settings.max_file_size)
        build_context = contexts.for_dockerfile(folder, path, resolved_context)
        result = run_source(source, settings, build_context, path, context_folder=folder)
    except SourceError as error:
        return FileResult(path=str(path), error=str(error))
    if write and result.changed:
        # what is written below, even in part, changes the context the next file reads
        if result.other_files:
            contexts.forget(folder)
        else:
            contexts.rewritten_in_place(folder)
        try:
            for other in result.other_files:  # first: a refused one leaves the Dockerfile untouched too
                assert build_context.root is not None, "a context made from a folder has it as its root"
                write_in_context(build_context.root, other.relative, other.original, other.content)
            if result.new_text != source.text:
                replace_file(path, source.encode(result.new_text), snapshot)
        except FileError as error:
            return _unwritten(result, f"{path}:1:1: {error}")
        except ContextFileError as error:
            return _unwritten(result, str(error))
        except OSError as error:
            return _unwritten(result, f"{path}:1:1: cannot write: {describe(error)}")
        return replace(result, written=True)
    return result


def _unwritten(result: FileResult, error: str) -> FileResult:
    """The findings stay reported: the file was read and checked, only its fixes could not be written."""
    return FileResult(
        path=result.path,
        findings=result.findings,
        rule_failures=result.rule_failures,
        warnings=result.warnings,
        error=error,
        unwritten=True,
    )
