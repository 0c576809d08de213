"""Turning file results into text, JSON, SARIF, GitHub annotations, a GitLab Code Quality report or JUnit XML."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import __version__
from .levels import LEVELS, level, rule_level, value_rank
from .rewriter.pipeline import JSON_VERSION, FileResult, Range
from .rewriter.registry import all_rules

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SOURCE_ROOT = "%SRCROOT%"  # the uriBaseId of every path: the folder dockerfix ran in (code scanning: the checkout)
GITHUB_ANNOTATIONS = 10  # GitHub shows ten annotations of a kind per step: the rest go to the job summary
GITLAB_SEVERITY = {"error": "critical", "warning": "minor", "note": "info"}
GITHUB_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def _most_valuable_first(pairs):
    """(result, finding) pairs by level, then by value (``value_rank``), then by rule, file and position."""
    return sorted(
        pairs,
        key=lambda pair: (
            LEVELS.index(level(pair[1])),
            *value_rank(pair[1]),
            pair[1].code,
            pair[0].path,
            pair[1].range.start.line,
        ),
    )


def text_findings(results: Sequence[FileResult], show_fix_hint: bool = True) -> str:
    lines = []
    for result in results:
        for finding in result.findings:
            marker = " [*]" if finding.fixable else ""
            claim = f" ({finding.claim})" if finding.claim else ""
            start = finding.range.start
            lines.append(f"{result.path}:{start.line}:{start.column}: {finding.code} {finding.message}{claim}{marker}")
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
    notes = (
        _files_note(unreadable, "could not be read or parsed"),
        _files_note(unwritten, "could not be written"),
        rule_failures_note(results),
    )
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
        f"{count} rule failure{'s' if count != 1 else ''} in {files} file{'s' if files != 1 else ''} "
        "(`rule bug` lines): "
        "those rules reported nothing or their fixes were dropped, so this result is incomplete; please report them."
    )


def statistics(results: Sequence[FileResult]) -> str:
    """Findings counted by rule, most first, as ruff's `--statistics`: count, code, fixable marker, name."""
    counts = Counter((finding.code, finding.name) for result in results for finding in result.findings)
    fixable = {finding.code for result in results for finding in result.findings if finding.fixable}
    return "".join(
        f"{count:>5}\t{code}\t{'[*]' if code in fixable else '   '}\t{name}\n"
        for (code, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )


def coloured(text: str) -> str:
    """The text findings with colour codes, for a person at a terminal (rich loads only then)."""
    from io import StringIO

    from rich.console import Console
    from rich.highlighter import RegexHighlighter
    from rich.theme import Theme

    class FindingHighlighter(RegexHighlighter):
        base_style = "dockerfix."
        highlights = [r"^(?P<path>[^\n]+?:\d+:\d+:) (?P<code>DF\d{3})", r"(?P<fixable>\[\*\])$"]

    buffer = StringIO()
    theme = Theme({"dockerfix.path": "bold", "dockerfix.code": "bold red", "dockerfix.fixable": "cyan"})
    console = Console(file=buffer, force_terminal=True, highlighter=FindingHighlighter(), theme=theme, soft_wrap=True)
    for line in text.splitlines():
        console.print(line, markup=False, emoji=False, highlight=True)
    return buffer.getvalue()


def as_json(results: Sequence[FileResult]) -> str:
    return json.dumps({"version": JSON_VERSION, "files": [result.as_json() for result in results]}, indent=2) + "\n"


def as_github(results: Sequence[FileResult]) -> str:
    """Workflow commands that become annotations: the errors, then the findings most valuable first (by level, then
    the largest byte gains, steps saved, cache correctness, unknown gains), ten in all (GitHub drops the rest); one
    plain line says how many more the job summary lists. A file name can hold anything, a newline and `::` included,
    so every value is escaped as GitHub's toolkit does (`escapeProperty`, `escapeData`): nothing in it can end the
    command or start another."""
    lines = []
    for result in results:
        file = _property(result.path)
        if result.error is not None:
            lines.append(f"::error file={file},title=dockerfix::{_data(result.error)}")
        for failure in result.rule_failures:
            lines.append(f"::error file={file},title=dockerfix rule bug::{_data(failure)}")
        lines.extend(f"::warning file={file},title=dockerfix::{_data(warning)}" for warning in result.warnings)
    findings = _most_valuable_first((result, finding) for result in results for finding in result.findings)
    for result, finding in findings:
        r = finding.range
        lines.append(
            f"::{GITHUB_COMMAND[level(finding)]} file={_property(result.path)},"
            f"line={r.start.line},col={r.start.column},endLine={r.end.line},"
            f"endColumn={r.end.column},title={_property(f'{finding.code} {finding.name}')}::{_data(finding.message)}"
        )
    shown = lines[:GITHUB_ANNOTATIONS]
    if len(lines) > len(shown):
        shown.append(f"dockerfix: {len(lines) - len(shown)} more annotations are listed in the job summary.")
    return "\n".join(shown) + ("\n" if shown else "")


def as_github_summary(results: Sequence[FileResult]) -> str:
    """Every finding as a Markdown table for `$GITHUB_STEP_SUMMARY`, most valuable first, as the annotations."""
    findings = _most_valuable_first((result, finding) for result in results for finding in result.findings)
    problems = [
        (result.path, text)
        for result in results
        for text in ([result.error] if result.error else []) + list(result.rule_failures)
    ]
    lines = [f"## dockerfix: {len(findings)} finding{'s' if len(findings) != 1 else ''}", ""]
    if findings:
        lines += ["| level | rule | location | message |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {level(f)} | {f.code} {f.name} | {_cell(r.path)}:{f.range.start.line}:{f.range.start.column} "
            f"| {_cell(f.message)} |"
            for r, f in findings
        ]
    if problems:
        lines += ["", "### Errors", ""] + [f"- {_cell(path)}: {_cell(text)}" for path, text in problems]
    return "\n".join(lines) + "\n\n"


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell and shows as written."""
    return "".join("\\" + char if char in "\\`*_[]<>|#" else " " if char in "\r\n" else char for char in text)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


@lru_cache(maxsize=1)
def _documentation_url() -> str | None:
    """The project's documentation address from the installed package's metadata (`[project.urls]`), if any."""
    # SARIF only: the library (and the email package it reads metadata with) takes 10 ms to import, a small check 20
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata("dockerfix").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    return next(
        (url.split(",", 1)[1].strip() for url in urls if url.split(",", 1)[0].strip().lower() == "documentation"), None
    )


def _artifact(path: str, root: Path) -> dict:
    """A file's location as code scanning wants it: relative to the source root, percent-encoded; a file outside
    the root keeps an absolute `file:` URI."""
    absolute = Path(os.path.abspath(path))
    if root in absolute.parents:
        return {"uri": quote(absolute.relative_to(root).as_posix()), "uriBaseId": SOURCE_ROOT}
    return {"uri": absolute.as_uri()}


def as_sarif(results: Sequence[FileResult]) -> str:
    """SARIF 2.1.0, with fixes as artifact changes, for code-scanning dashboards."""
    root = Path.cwd()
    documentation = _documentation_url()
    rules = []
    for rule in all_rules():
        descriptor = {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.documentation()},
            "help": {"text": rule.documentation(), "markdown": rule.documentation()},
            "defaultConfiguration": {"level": rule_level(rule.code)},
        }
        if documentation:
            descriptor["helpUri"] = f"{documentation.rstrip('/')}/rules/{rule.code}"
        rules.append(descriptor)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    sarif_results = []
    for result in results:
        location = _artifact(result.path, root)
        for finding in result.findings:
            entry: dict[str, Any] = {
                "ruleId": finding.code,
                "level": level(finding),
                "message": {"text": finding.message},
                "locations": [{"physicalLocation": {"artifactLocation": location, "region": _region(finding.range)}}],
            }
            if finding.code in index:
                entry["ruleIndex"] = index[finding.code]
            if finding.savings is not None:
                entry["properties"] = {"savings": finding.savings, "claim": finding.claim}
            if finding.fix is not None:
                entry["fixes"] = [
                    {
                        "description": {"text": f"{finding.fix.title} ({finding.fix.applicability})"},
                        "artifactChanges": [
                            {
                                "artifactLocation": location,
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
        {"level": "warning", "message": {"text": f"{result.path}: {warning}"}}
        for result in results
        for warning in result.warnings
    ]
    driver = {"name": "dockerfix", "version": __version__, "rules": rules}
    if documentation:
        driver["informationUri"] = documentation
    run = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {SOURCE_ROOT: {"uri": root.as_uri() + "/"}},
        "results": sarif_results,
        "invocations": [
            {"executionSuccessful": not notifications, "toolExecutionNotifications": notifications + warnings}
        ],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _region(range_: Range) -> dict[str, int]:
    return {
        "startLine": range_.start.line,
        "startColumn": range_.start.column,
        "endLine": range_.end.line,
        "endColumn": range_.end.column,
    }


def as_gitlab(results: Sequence[FileResult]) -> str:
    """A GitLab Code Quality report. A fingerprint names rule, file, message and which of its equals the finding is,
    not its line, so a merge request that moves a step does not show it as new."""
    import hashlib  # starting OpenSSL costs milliseconds that a report without fingerprints need not pay

    seen: Counter = Counter()
    issues = []
    for result in results:
        for finding in result.findings:
            key = (finding.code, result.path, finding.message)
            seen[key] += 1
            issues.append(
                {
                    "type": "issue",
                    "check_name": finding.code,
                    "description": f"{finding.code} {finding.message}",
                    "categories": ["Performance"],
                    "severity": GITLAB_SEVERITY[level(finding)],
                    "fingerprint": hashlib.sha256("\0".join((*key, str(seen[key]))).encode()).hexdigest(),
                    "location": {
                        "path": Path(result.path).as_posix(),
                        "lines": {"begin": finding.range.start.line, "end": finding.range.end.line},
                    },
                }
            )
    return json.dumps(issues, indent=2) + "\n"


def as_junit(results: Sequence[FileResult]) -> str:
    """JUnit XML: one test suite, a test case per file and finding (a file without findings is a passing case), the
    failure's text `path:line:column: level: code message` as compilers print; unreadable files and rule failures
    are errors."""
    from xml.etree import ElementTree  # this report only

    suite = ElementTree.Element("testsuite", name="dockerfix")
    failures = errors = tests = 0
    for result in results:
        problems = ([result.error] if result.error else []) + list(result.rule_failures)
        for problem in problems:
            case = ElementTree.SubElement(suite, "testcase", classname=result.path, name="dockerfix")
            ElementTree.SubElement(case, "error", message=problem).text = problem
        for finding in result.findings:
            start = finding.range.start
            case = ElementTree.SubElement(
                suite, "testcase", classname=result.path, name=f"{finding.code} line {start.line}"
            )
            ElementTree.SubElement(
                case, "failure", message=finding.message, type=finding.code
            ).text = f"{result.path}:{start.line}:{start.column}: {level(finding)}: {finding.code} {finding.message}"
        if not problems and not result.findings:
            ElementTree.SubElement(suite, "testcase", classname=result.path, name="dockerfix")
        tests += max(1, len(problems) + len(result.findings))
        failures += len(result.findings)
        errors += len(problems)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    root = ElementTree.Element(
        "testsuites", name="dockerfix", tests=str(tests), failures=str(failures), errors=str(errors)
    )
    root.append(suite)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


WRITERS: dict[str, Callable[[Sequence[FileResult]], str]] = {
    "json": as_json,
    "sarif": as_sarif,
    "gitlab": as_gitlab,
    "junit": as_junit,
}
FORMATS = ("text", "github", *WRITERS)
