"""verify's report as rows (shared), a rich table (terminal) and a markdown table (pull requests, docs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .compare import ConfigDifference, Difference
from .measure import Measurement, Report

if TYPE_CHECKING:
    from rich.console import Console

UNDECLARED_SHOWN = 20


def size(count: int | None) -> str:
    if count is None:
        return "–"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def _rebuild(measurement: Measurement) -> tuple[str, str]:
    if measurement.rebuild is None:
        return "–", "–"
    rebuild = measurement.rebuild
    return str(len(rebuild.steps_rerun)), f"{size(rebuild.changed_bytes)} ({size(rebuild.changed_gzip_bytes)} gzip)"


def rows(report: Report) -> list[tuple[str, str, str]]:
    """(measure, original, fixed) rows of the side-by-side table."""
    original, fixed = report.original, report.fixed
    rerun_before, changed_before = _rebuild(original)
    rerun_after, changed_after = _rebuild(fixed)
    table = [
        ("layers", str(len(original.layers)), str(len(fixed.layers))),
        ("size", size(original.content_bytes), size(fixed.content_bytes)),
        ("gzip size", size(original.gzip_bytes), size(fixed.gzip_bytes)),
    ]
    if original.context_bytes != fixed.context_bytes:
        table.append(("build context sent", size(original.context_bytes), size(fixed.context_bytes)))
    if report.touched is not None:
        table += [
            (f"steps re-run after editing {report.touched}", rerun_before, rerun_after),
            ("changed layers after the edit", changed_before, changed_after),
        ]
    return table


def verdict(report: Report) -> str:
    differences: list[Difference | ConfigDifference] = [*report.differences, *report.config_differences]
    declared = [difference for difference in differences if difference.declared_by]
    if not report.equivalent:
        return (
            f"NOT equivalent: {len(report.undeclared)} undeclared file difference(s), "
            f"{len(report.undeclared_config)} undeclared config difference(s)"
        )
    if declared:
        codes = ", ".join(sorted({difference.declared_by for difference in declared if difference.declared_by}))
        return f"equivalent except {len(declared)} declared difference(s) ({codes})"
    return "equivalent: same files, same config"


def declared_summary(report: Report) -> list[str]:
    """The declared differences in a few lines: file counts per fix and kind of change, each config difference."""
    counts: dict[tuple[str, str], int] = {}
    for difference in report.differences:
        if difference.declared_by:
            key = (difference.declared_by, difference.change)
            counts[key] = counts.get(key, 0) + 1
    lines = [f"declared by {code}: {count} path(s) {change}" for (code, change), count in sorted(counts.items())]
    lines += [
        f"declared by {difference.declared_by}: config {difference.field}: "
        f"{difference.before!r} -> {difference.after!r}"
        for difference in report.config_differences
        if difference.declared_by
    ]
    return lines


def markdown(report: Report) -> str:
    """The measured table for a pull request body."""
    lines = ["| | original | fixed |", "|---|---:|---:|"]
    lines += [f"| {name} | {before} | {after} |" for name, before, after in rows(report)]
    lines += [
        "",
        f"Measured by building both with BuildKit on Docker {report.engine} (`dockerfix verify`): {verdict(report)}.",
    ]
    lines += [f"Note: {note}" for note in report.notes]
    declared = declared_summary(report)
    if declared:
        lines += ["", *(f"- {line}" for line in declared)]
    return "\n".join(lines) + "\n"


def print_rich(report: Report, console: Console) -> None:
    from rich.table import Table  # rich loads only for terminal output

    table = Table(title=f"dockerfix verify {report.dockerfile} (built by Docker {report.engine})")
    table.add_column("")
    table.add_column("original", justify="right")
    table.add_column("fixed", justify="right")
    for row in rows(report):
        table.add_row(*row)
    console.print(table)
    for label, measurement in (("original", report.original), ("fixed", report.fixed)):
        layers = Table(title=f"{label}: layers", show_header=True)
        layers.add_column("created by", overflow="fold")
        layers.add_column("size", justify="right")
        layers.add_column("gzip", justify="right")
        for layer in measurement.layers:
            layers.add_row(layer.created_by or "(base image)", size(layer.content_bytes), size(layer.gzip_bytes))
        console.print(layers)
    console.print("Applied fixes: " + "; ".join(f"{fix.code} {fix.title}" for fix in report.applied))
    for difference in report.undeclared[:UNDECLARED_SHOWN]:
        console.print(f"  {difference.change}: {difference.path}", markup=False)
    if len(report.undeclared) > UNDECLARED_SHOWN:
        console.print(f"  ... and {len(report.undeclared) - UNDECLARED_SHOWN} more (see --output-format json)")
    for config_difference in report.undeclared_config:
        console.print(
            f"  config {config_difference.field}: {config_difference.before!r} -> {config_difference.after!r}",
            markup=False,
        )
    for line in declared_summary(report):
        console.print(f"  {line}", markup=False)
    for note in report.notes:
        console.print(f"Note: {note}", markup=False)
    console.print(("[green]" if report.equivalent else "[red]") + verdict(report))
