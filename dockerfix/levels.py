"""A finding's level, from what it gains: one definition for every surface (text, SARIF, GitHub, GitLab, JUnit and
the editor's diagnostics)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .rewriter.fixes import ByteGain, Savings, Unknown

if TYPE_CHECKING:
    from .rewriter.pipeline import ReportedFinding

# Levels, most severe first, from what a finding gains: an error is a file BuildKit refuses to build (DF0xx); a
# warning saves at least WARNING_BYTES of the shipped image, build steps a source edit re-runs, or a stale cache's
# mistake; a note is the rest: fewer bytes, a gain the data cannot state, or a layer alone.
LEVELS = ("error", "warning", "note")
# One `apt-get update`'s package lists (19.9 MB measured, data/gains.json) are worth a warning; one package's pip
# cache (0.6 MB for flask) is not.
WARNING_BYTES = 10_000_000


def rule_level(code: str) -> str:
    """A rule's level before any finding: its findings' levels come from their gains (``level``)."""
    return "error" if code.startswith("DF0") else "warning"


def level(finding: ReportedFinding) -> str:
    if rule_level(finding.code) == "error":
        return "error"
    savings = _savings(finding)
    gain = savings.byte_gain
    large = isinstance(gain, ByteGain) and gain.bytes >= WARNING_BYTES
    return "warning" if large or savings.saves_rebuild_steps or savings.cache_correctness else "note"


def value_rank(finding: ReportedFinding) -> tuple[int, int]:
    """Within a level, the most valuable first: the largest byte gains, then the most steps saved, then cache
    correctness, then gains the data cannot state, then the rest."""
    savings = _savings(finding)
    gain = savings.byte_gain
    if isinstance(gain, ByteGain):
        return 0, -gain.bytes
    if savings.saves_rebuild_steps:
        return 1, -(savings.rebuilt_steps_after_source_edit or 0)
    if savings.cache_correctness:
        return 2, 0
    if isinstance(gain, Unknown):
        return 3, 0
    return 4, 0


def _savings(finding: ReportedFinding) -> Savings:
    return Savings() if finding.savings is None else Savings(**finding.savings)
