"""What the client sees of an analysis: the findings, errors and warnings as diagnostics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from ..levels import level

if TYPE_CHECKING:
    from .analysis import Analysis
    from .positions import Positions

# a note (a gain under the warning's bar, or one the data cannot state) must not look like a warning in the editor
SEVERITY = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "note": lsp.DiagnosticSeverity.Information,
}


def whole_document_diagnostic(message: str, severity: lsp.DiagnosticSeverity) -> lsp.Diagnostic:
    start = lsp.Position(line=0, character=0)
    return lsp.Diagnostic(
        range=lsp.Range(start=start, end=start), message=message, severity=severity, source="dockerfix"
    )


def diagnostics(positions: Positions, analysis: Analysis) -> list[lsp.Diagnostic]:
    if analysis.not_analysed is not None:
        return [whole_document_diagnostic(analysis.not_analysed, lsp.DiagnosticSeverity.Information)]
    if analysis.error is not None:
        position = positions.position(analysis.error.line, analysis.error.column)
        return [
            lsp.Diagnostic(
                range=lsp.Range(start=position, end=position),
                message=analysis.error.message,
                severity=lsp.DiagnosticSeverity.Error,
                source="dockerfix",
            )
        ]
    result = analysis.result
    assert result is not None, "a document the pipeline analysed without a source error has its result"
    # a rule that failed reported nothing here: the editor must not show the file as clean
    failures = [
        whole_document_diagnostic(
            f"dockerfix rule bug (its findings are missing; please report it): {failure}", lsp.DiagnosticSeverity.Error
        )
        for failure in result.rule_failures
    ]
    warnings = [whole_document_diagnostic(warning, lsp.DiagnosticSeverity.Warning) for warning in result.warnings]
    return (
        failures
        + warnings
        + [
            lsp.Diagnostic(
                range=positions.range(finding.range),
                message=finding.message,
                severity=SEVERITY[level(finding)],
                code=finding.code,
                source="dockerfix",
                data={"code": finding.code, "name": finding.name},
            )
            for finding in result.findings
        ]
    )
