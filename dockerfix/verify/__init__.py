"""``dockerfix verify``: measured, not estimated. Build a Dockerfile before and after its fixes and compare.

For other surfaces (the bot): ``measured_table`` returns the report and its markdown table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockerfix.rewriter.config import Settings

from .context_copy import ContextCopyError
from .engine import BuildFailed, DockerClient, EngineError
from .measure import NothingToVerify, Report, verify
from .render import markdown

__all__ = [
    "BuildFailed",
    "ContextCopyError",
    "EngineError",
    "MeasuredTable",
    "NothingToVerify",
    "Report",
    "measured_table",
]


@dataclass(frozen=True)
class MeasuredTable:
    report: Report  # the data (``report.as_json()`` for JSON)
    markdown: str  # the side-by-side table and verdict, ready for a pull request body


def measured_table(
    dockerfile: Path, settings: Settings, context_dir: Path | None = None, client: DockerClient | None = None
) -> MeasuredTable:
    """Build ``dockerfile`` and its fixed version with ``client`` (default: ``docker`` and ``DOCKER_HOST`` from the
    environment) and measure both.

    Raises ``EngineError`` when no engine is reachable (``BuildFailed`` when a build fails), ``ContextCopyError`` when
    the context cannot be copied (too large, or holding a device or a socket) and ``NothingToVerify`` when no fix
    applies under ``settings``.
    """
    report = verify(dockerfile, settings, client or DockerClient.from_environment(), context_dir)
    return MeasuredTable(report, markdown(report))
