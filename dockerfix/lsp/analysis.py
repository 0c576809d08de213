"""The server's way into the analysis layer: one document version through the pipeline, with the settings that apply
to it. The server imports this module only after the handshake (`server.analysis_layer`): the layer takes longer to
import than pygls itself, and answering `initialize` needs none of it."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..rewriter import pipeline
from ..rewriter.context import BuildContext
from ..rewriter.document import Document, parse
from ..rewriter.fixes import Applicability
from ..rewriter.pipeline import FileResult, ReportedFix
from ..rewriter.registry import rule_by_code
from ..rewriter.source import Source, SourceError
from .settings import ClientSettings

__all__ = [
    "LONE_SURROGATE",
    "Analysis",
    "ClientSettings",
    "ContextIndexes",
    "analyse",
    "applicability",
    "lone_surrogate_error",
    "rule_by_code",
]

# code points that are no character: half of a UTF-16 pair, which JSON carries ("\ud800"), and the bytes of a file
# that are no UTF-8 (read with surrogateescape); no UTF-8 text holds them, so no editor can hold them as they are
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
APPLICABILITY_BY_LABEL = {member.label: member for member in Applicability}
INDEX_MESSAGE = "a new index of the build context"  # logged with the context's folder, for whoever traces the server


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


class ContextIndexes:
    """One index of each build context the server analyses (its listing, ignore decisions and what rules memoise on
    it with `BuildContext.once`), shared by every Dockerfile that builds from it until a file in it changes. The
    worker asks for indexes while the protocol loop forgets them: a lock keeps the two apart."""

    def __init__(self, announce: Callable[[str], None]) -> None:
        """``announce`` hears of each new index (from the worker's thread)."""
        self._indexes: dict[tuple[Path, Path | None], BuildContext] = {}
        self._lock = threading.Lock()
        self._announce = announce

    def for_dockerfile(self, file: Path) -> BuildContext:
        """The context of `docker build` in the Dockerfile's folder; a Dockerfile with an ignore file of its own
        (``Dockerfile.dockerignore``, as `pipeline.context_for` finds it) has a context of its own."""
        root = file.parent.resolve()
        own_ignore = file.with_name(file.name + ".dockerignore")
        key = (root, own_ignore if own_ignore.exists() else None)
        with self._lock:
            index = self._indexes.get(key)
            if index is None:
                index = BuildContext.from_directory(root, dockerfile=file if key[1] is not None else None)
                self._indexes[key] = index
                own = f" with {own_ignore.name}" if key[1] is not None else ""
                self._announce(f"dockerfix: {INDEX_MESSAGE} {root}{own}")
        return index

    def forget(self, changed: Path) -> None:
        """``changed`` was written, created or deleted: each context holding it is indexed again when next asked. Its
        folders are resolved as the roots are; the name itself is not (the walk lists a link, never follows it)."""
        located = changed.parent.resolve() / changed.name
        with self._lock:
            for key in [key for key in self._indexes if key[0] == located or key[0] in located.parents]:
                del self._indexes[key]

    def keep_only(self, folders: Iterable[Path]) -> None:
        """Drop the indexes no Dockerfile in ``folders`` builds from (the open documents' folders): the server holds
        one per context in use, not one per context ever opened."""
        kept = {folder.resolve() for folder in folders}
        with self._lock:
            for key in [key for key in self._indexes if key[0] not in kept]:
                del self._indexes[key]

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()


def analyse(
    source: Source,
    file: Path | None,
    client: ClientSettings,
    version: int | None,
    apply_fixes: bool,
    contexts: ContextIndexes,
    other_files: bool = False,
) -> tuple[Analysis, list[str]]:
    """The pipeline on one text (runs on the worker), and the configuration warnings met on the way. Fixes of other
    files are offered only to a client that can create files (``other_files``); for others they are display-only."""
    warnings: list[str] = []
    settings = client.settings_for(file, warnings)
    context = contexts.for_dockerfile(file) if file is not None else None
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
