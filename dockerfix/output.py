"""Turning file results into text, JSON, SARIF or GitHub annotations."""

from __future__ import annotations

import json
from typing import Sequence

from . import __version__
from .rewriter.pipeline import JSON_VERSION, FileResult
from .rewriter.registry import all_rules

FORMATS = ("text", "json", "sarif", "github")


def text_findings(results: Sequence[FileResult], show_fix_hint: bool = True) -> str:
    lines = []
    for result in results:
        for finding in result.findings:
            marker = " [*]" if finding.fixable else ""
            start = finding.range.start
            lines.append(f"{result.path}:{start.line}:{start.column}: {finding.code} {finding.message}{marker}")
        lines.extend(_incomplete(result))
    return "\n".join(lines) + ("\n" if lines else "")


def incompleteness(results: Sequence[FileResult]) -> str:
    """What made the results less complete than they could be (rule bugs, context warnings), for the outputs that
    carry only text changes (`--diff`) and so say it on stderr."""
    lines = [line for result in results for line in _incomplete(result)]
    return "\n".join(lines) + ("\n" if lines else "")


def _incomplete(result: FileResult) -> list[str]:
    return [f"{result.path}: rule bug: {failure}" for failure in result.rule_failures] + [
        f"{result.path}: warning: {warning}" for warning in result.warnings
    ]


def summary(results: Sequence[FileResult], unsafe_fixes: bool, written: bool) -> str:
    total = sum(len(result.findings) for result in results)
    fixable = sum(1 for result in results for finding in result.findings if finding.fixable)
    hidden = sum(
        1
        for result in results
        for finding in result.findings
        if not finding.fixable and finding.fix is not None and finding.fix.applicability == "unsafe"
    )
    unreadable = sum(1 for result in results if result.error is not None and not result.unwritten)
    unwritten = sum(1 for result in results if result.unwritten)
    notes = (_files_note(unreadable, "could not be read or parsed"), _files_note(unwritten, "could not be written"), rule_failures_note(results))
    problems = " ".join(part for part in notes if part)
    if total == 0:
        return problems or "All checks passed."
    text = f"Found {total} finding{'s' if total != 1 else ''}"
    if written:
        rewritten = sum(1 for result in results if result.written)
        text += f"; rewrote {rewritten} file{'s' if rewritten != 1 else ''}"
    elif fixable:
        text += f" ({fixable} fixable with `--write`)"
    if hidden and not unsafe_fixes:
        text += f"; {hidden} more fixable with `--unsafe-fixes`"
    return text + "." + (f" {problems}" if problems else "")


def _files_note(count: int, what: str) -> str:
    return f"{count} file{'s' if count != 1 else ''} {what} (errors on stderr)." if count else ""


def rule_failures_note(results: Sequence[FileResult]) -> str:
    """One sentence saying that rules failed (their findings or fixes are missing), or "" when none did."""
    count = sum(len(result.rule_failures) for result in results)
    if not count:
        return ""
    files = sum(1 for result in results if result.rule_failures)
    return (
        f"{count} rule failure{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''} (`rule bug` lines): "
        "those rules reported nothing or their fixes were dropped, so this result is incomplete; please report them."
    )


def as_json(results: Sequence[FileResult]) -> str:
    return json.dumps({"version": JSON_VERSION, "files": [result.as_json() for result in results]}, indent=2) + "\n"


def as_github(results: Sequence[FileResult]) -> str:
    """Workflow commands that become annotations. A file name can hold anything, a newline and `::` included, so every
    value is escaped as GitHub's toolkit does (`escapeProperty`, `escapeData`): nothing in it can end the command or
    start another."""
    lines = []
    for result in results:
        file = _property(result.path)
        if result.error is not None:
            lines.append(f"::error file={file},title=dockerfix::{_data(result.error)}")
        for failure in result.rule_failures:
            lines.append(f"::error file={file},title=dockerfix rule bug::{_data(failure)}")
        lines.extend(f"::warning file={file},title=dockerfix::{_data(warning)}" for warning in result.warnings)
        for finding in result.findings:
            r = finding.range
            lines.append(
                f"::warning file={file},line={r.start.line},col={r.start.column},endLine={r.end.line},"
                f"endColumn={r.end.column},title={_property(f'{finding.code} {finding.name}')}::{_data(finding.message)}"
            )
    return "\n".join(lines) + ("\n" if lines else "")


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def as_sarif(results: Sequence[FileResult]) -> str:
    """SARIF 2.1.0, with fixes as artifact changes, for code-scanning dashboards."""
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.documentation()},
            "help": {"text": rule.documentation()},
        }
        for rule in all_rules()
    ]
    sarif_results = []
    for result in results:
        for finding in result.findings:
            entry = {
                "ruleId": finding.code,
                "level": "warning",
                "message": {"text": finding.message},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": result.path}, "region": _region(finding.range)}}],
            }
            if finding.fix is not None:
                entry["fixes"] = [
                    {
                        "description": {"text": f"{finding.fix.title} ({finding.fix.applicability})"},
                        "artifactChanges": [
                            {
                                "artifactLocation": {"uri": result.path},
                                "replacements": [
                                    {"deletedRegion": _region(edit.range), "insertedContent": {"text": edit.content}}
                                    for edit in finding.fix.edits
                                ],
                            }
                        ],
                    }
                ]
            sarif_results.append(entry)
    notifications = [
        {"level": "error", "message": {"text": result.error}} for result in results if result.error is not None
    ] + [
        {"level": "error", "message": {"text": f"{result.path}: rule bug: {failure}"}}
        for result in results
        for failure in result.rule_failures
    ]
    warnings = [
        {"level": "warning", "message": {"text": f"{result.path}: {warning}"}} for result in results for warning in result.warnings
    ]
    run = {
        "tool": {"driver": {"name": "dockerfix", "version": __version__, "rules": rules}},
        "results": sarif_results,
        "invocations": [{"executionSuccessful": not notifications, "toolExecutionNotifications": notifications + warnings}],
    }
    document = {
        "version": "2.1.0",
        "runs": [run],
    }
    return json.dumps(document, indent=2) + "\n"


def _region(range_) -> dict:
    return {
        "startLine": range_.start.line,
        "startColumn": range_.start.column,
        "endLine": range_.end.line,
        "endColumn": range_.end.column,
    }
