"""The one data path every surface uses: bytes -> Source -> Document -> findings and fixes -> new text and diff.

Results are plain data (positions already 1-based lines and columns) so they cross process boundaries and
serialise to the JSON shape the CLI, the LSP server and the bot share.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import engine
from .config import MAX_FILE_SIZE, Settings
from .context import BuildContext
from .document import parse
from .files import ContextFileError, FileError, FileTooLarge, Snapshot, describe, read_regular, replace_file, write_in_context
from .fixes import ContentChange, Finding
from .source import Source, SourceError

JSON_VERSION = 1


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position

    @classmethod
    def of(cls, source: Source, start: int, end: int) -> "Range":
        return cls(Position(*source.position(start)), Position(*source.position(end)))

    def as_json(self) -> dict:
        return {
            "start": {"line": self.start.line, "column": self.start.column},
            "end": {"line": self.end.line, "column": self.end.column},
        }


@dataclass(frozen=True)
class ReportedEdit:
    range: Range
    content: str


@dataclass(frozen=True)
class ReportedFile:
    """A fix's new text for another file of the build context (``path`` relative to the context; ``original`` the
    text it replaces, None when the file is created)."""

    path: str
    original: str | None
    content: str

    def as_json(self) -> dict:
        return {"path": self.path, "created": self.original is None, "content": self.content}


@dataclass(frozen=True)
class ReportedFix:
    applicability: str
    title: str
    edits: tuple[ReportedEdit, ...]
    files: tuple[ReportedFile, ...] = ()


@dataclass(frozen=True)
class ReportedFinding:
    code: str
    name: str
    message: str
    range: Range
    fix: ReportedFix | None
    savings: dict | None
    fixable: bool

    @classmethod
    def of(cls, source: Source, finding: Finding, fixable: bool) -> "ReportedFinding":
        fix = None
        if finding.fix is not None:
            fix = ReportedFix(
                finding.fix.applicability.label,
                finding.fix.title,
                tuple(ReportedEdit(Range.of(source, edit.start, edit.end), edit.content) for edit in finding.fix.edits),
                tuple(ReportedFile(file.path, file.original, file.content) for file in finding.fix.files),
            )
        savings = None
        if finding.savings is not None:
            savings = {
                "layers": finding.savings.layers,
                "bytes": finding.savings.bytes,
                "rebuilt_steps_after_source_edit": finding.savings.rebuilt_steps_after_source_edit,
                "rebuilt_steps_before": finding.savings.rebuilt_steps_before,
                "rebuilt_steps_after": finding.savings.rebuilt_steps_after,
            }
        return cls(finding.code, finding.name, finding.message, Range.of(source, finding.start, finding.end), fix, savings, fixable)

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


@dataclass(frozen=True)
class AppliedFix:
    """A fix the fix loop applied (in any pass), with the content change it declares."""

    code: str
    title: str
    applicability: str
    changes: ContentChange | None

    @classmethod
    def of(cls, finding: Finding) -> "AppliedFix":
        return cls(finding.code, finding.fix.title, finding.fix.applicability.label, finding.fix.changes)


@dataclass(frozen=True)
class OtherFile:
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


@dataclass(frozen=True)
class FileResult:
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
    lines = []
    before = "/dev/null" if created else f"a/{path}"
    for line in difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), before, f"b/{path}"):
        if line.endswith("\n"):
            lines.append(line)
        else:
            lines.append(line + "\n\\ No newline at end of file\n")
    return "".join(lines)


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
    ``context_folder`` is the context folder as the user names it (for the paths of those files)."""
    rules = settings.selection_for(file).rules()
    threshold = engine.fix_threshold(settings.unsafe_fixes)
    warnings = context_warnings(build_context)
    if not apply_fixes:
        failures: list[engine.RuleFailure] = []
        found = engine.check(parse(source), rules, build_context, failures, settings.options, other_files)
        return FileResult(
            path=source.path,
            findings=tuple(ReportedFinding.of(source, f, f.fix is not None and f.fix.applicability >= threshold) for f in found),
            rule_failures=tuple(f"{failure.code}: {failure.message}" for failure in failures),
            warnings=warnings,
        )
    result = engine.fix(source, rules, build_context, unsafe_fixes=settings.unsafe_fixes, options=settings.options, other_files=other_files)
    findings = tuple(
        ReportedFinding.of(source, finding, finding.fix is not None and finding.fix.applicability >= threshold)
        for finding in result.findings
    )
    others = tuple(
        OtherFile(Path(context_folder or build_context.root, file.path).as_posix(), file.path, file.original, file.content)
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


@lru_cache(maxsize=32)
def _folder_context(folder: Path) -> BuildContext:
    return BuildContext.from_directory(folder)


def context_for(folder: Path, dockerfile: Path) -> BuildContext:
    """The build context of a Dockerfile; Dockerfiles sharing a folder (and no ignore file of their own) share one,
    so a folder of many Dockerfiles is listed once per process, not once per file."""
    if dockerfile.with_name(dockerfile.name + ".dockerignore").exists():
        return BuildContext.from_directory(folder, dockerfile=dockerfile)
    return _folder_context(folder.resolve())


def run_path(path: Path, settings: Settings, write: bool = False, context_dir: Path | None = None) -> FileResult:
    """Check (and with ``write``, fix in place) one file; errors are returned, never raised."""
    try:
        source, snapshot = read_snapshot(path, settings.max_file_size)
        folder = context_dir or path.parent
        build_context = context_for(folder, path)
        result = run_source(source, settings, build_context, path, context_folder=folder)
    except SourceError as error:
        return FileResult(path=str(path), error=str(error))
    if write and result.changed:
        try:
            for other in result.other_files:  # first: a refused one leaves the Dockerfile untouched too
                write_in_context(Path(build_context.root), other.relative, other.original, other.content)
            if result.new_text != source.text:
                replace_file(path, source.encode(result.new_text), snapshot)
        except FileError as error:
            return FileResult(path=str(path), error=f"{path}:1:1: {error}")
        except ContextFileError as error:
            return FileResult(path=str(path), error=str(error))
        except OSError as error:
            return FileResult(path=str(path), error=f"{path}:1:1: cannot write: {describe(error)}")
        return FileResult(**{**result.__dict__, "written": True})
    return result
