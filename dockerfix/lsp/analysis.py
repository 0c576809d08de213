"""The server's way into the analysis layer: one document version through the pipeline, with the settings that apply
to it. The server imports this module only after the handshake (`server.analysis_layer`): the layer takes longer to
import than pygls itself, and answering `initialize` needs none of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..rewriter import pipeline
from ..rewriter.document import Document, parse
from ..rewriter.fixes import Applicability
from ..rewriter.pipeline import FileResult, ReportedFix, forget_context
from ..rewriter.registry import rule_by_code
from ..rewriter.source import Source, SourceError
from .settings import ClientSettings

__all__ = [
    "LONE_SURROGATE",
    "Analysis",
    "ClientSettings",
    "analyse",
    "applicability",
    "forget_context",
    "lone_surrogate_error",
    "rule_by_code",
]

# code points that are no character: half of a UTF-16 pair, which JSON carries ("\ud800"), and the bytes of a file
# that are no UTF-8 (read with surrogateescape); no UTF-8 text holds them, so no editor can hold them as they are
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
APPLICABILITY_BY_LABEL = {member.label: member for member in Applicability}


def applicability(fix: ReportedFix) -> Applicability:
    """The pipeline reports a fix's applicability by its label (the JSON output's form); the server decides on the
    enum."""
    return APPLICABILITY_BY_LABEL[fix.applicability]


@dataclass
class Analysis:
    """One document version as the pipeline sees it (``not_analysed`` says why the pipeline did not run)."""

    version: int | None
    source: Source
    result: FileResult | None = None
    error: SourceError | None = None
    fixed: bool = False
    not_analysed: str | None = None

    @cached_property
    def document(self) -> Document:
        return parse(self.source)


def analyse(
    source: Source,
    file: Path | None,
    client: ClientSettings,
    version: int | None,
    apply_fixes: bool,
    other_files: bool = False,
) -> tuple[Analysis, list[str]]:
    """The pipeline on one text (runs on the worker), and the configuration warnings met on the way. Fixes of other
    files are offered only to a client that can create files (``other_files``); for others they are display-only."""
    warnings: list[str] = []
    settings = client.settings_for(file, warnings)
    context = pipeline.context_for(file.parent, file) if file is not None else None
    if context is not None and LONE_SURROGATE.search(context.ignore_text or ""):
        other_files = False  # bytes that are no UTF-8 cannot travel in JSON: the editor would write U+FFFD over them
    try:
        result = pipeline.run_source(source, settings, context, file, apply_fixes=apply_fixes, other_files=other_files)
    except SourceError as error:
        return Analysis(version, source, error=error, fixed=apply_fixes), warnings
    return Analysis(version, source, result=result, fixed=apply_fixes), warnings


def lone_surrogate_error(source: Source, offset: int) -> SourceError:
    """Why a text holding a lone surrogate at ``offset`` is not analysed (no rule could say what BuildKit reads)."""
    line, column = source.position(offset)
    return SourceError(
        source.path,
        line,
        column,
        (
            f"U+{ord(source.text[offset]):04X} is half of a UTF-16 surrogate pair, no character: a Dockerfile (UTF-8) "
            "cannot hold it; dockerfix does not analyse this text"
        ),
    )
