"""The server: pygls' language server reading frames with our forgiving reader, answering what no valid message is
with JSON-RPC errors, and keeping one analysis per document version (computed on the worker, shared by every request
for the same text, published or pulled as diagnostics)."""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import os
import sys
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote

from cattrs import transform_error
from cattrs.errors import BaseValidationError
from lsprotocol import types as lsp
from pygls.exceptions import (
    JsonRpcContentModified,
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
)
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from .. import __version__
from ..rewriter.discovery import is_dockerfile_name
from ..rewriter.source import Source
from .diagnostics import diagnostics
from .framing import FrameReader, FrameWriter, read_chunks
from .positions import LineEndCodec, LineEndsDocument, Positions
from .worker import Superseded, Worker

if TYPE_CHECKING:
    from .analysis import Analysis, ContextIndexes
    from .settings import ClientSettings

DEBOUNCE_SECONDS = 0.2
SYNC_KIND = lsp.TextDocumentSyncKind.Incremental
LANGUAGE_IDS = {"dockerfile", "containerfile"}
ANALYSIS_LAYER = "dockerfix.lsp.analysis"


def analysis_layer() -> ModuleType:
    """The analysis layer, imported on first use: `initialize` is answered before it loads (it takes longer to import
    than pygls itself), and `initialized` loads it before any document arrives."""
    if ANALYSIS_LAYER not in sys.modules:
        importlib.import_module(ANALYSIS_LAYER)
        gc.freeze()  # its modules live as long as the process: no full collection need walk them again
    return sys.modules[ANALYSIS_LAYER]


def file_at(uri: str) -> Path | None:
    """The file a URI names, if it can name one: only those have a folder for a build context and configuration (an
    `untitled:` or `http:` URI would otherwise make the server's working directory, or `/`, the build context; a NUL
    or a lone surrogate is in no file's name)."""
    path = to_fs_path(uri)
    if path is None or "\0" in path:
        return None
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        return None
    return Path(path)


def handles(document: TextDocument) -> bool:
    return (document.language_id or "").lower() in LANGUAGE_IDS or is_dockerfile_name(Path(document.path).name)


class DockerfixServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("dockerfix", __version__, text_document_sync_kind=SYNC_KIND)
        self.client_settings: ClientSettings | None = None  # set by `configure`, once the analysis layer is loaded
        self.generation = 0  # of the settings and build contexts: an analysis under older ones is not reused
        self.pull_diagnostics = False
        self.refreshes_diagnostics = False  # the pull client can be asked to pull again (workspace/diagnostic/refresh)
        self.creates_files = False  # the client applies workspace edits that create files (documentChanges + create)
        self.watching = False  # the client took our watcher: it reports changes of files below its workspace folders
        self.pending: dict[str, asyncio.Task] = {}
        self.running: dict[tuple, asyncio.Future] = {}
        self.cache: dict[str, Analysis] = {}
        self.worker = Worker()
        self.shutdown_requested = False
        self.initialization_options: Any = {}  # read at `initialized` (see there)
        self.frames = FrameWriter(sys.stdout.buffer)

    def log(self, message: str, kind: lsp.MessageType = lsp.MessageType.Warning) -> None:
        self.window_log_message(lsp.LogMessageParams(type=kind, message=message))

    def configure(self, settings: Any) -> ClientSettings:
        """The client's settings: its `dockerfix` section, or the section itself."""
        warnings: list[str] = []
        section = settings.get("dockerfix", settings) if isinstance(settings, dict) else settings
        self.client_settings = analysis_layer().ClientSettings.parse(section, warnings)
        self.generation += 1
        for warning in warnings:
            self.log(warning)
        return self.client_settings

    def count_lines_as_lsp_does(self, opened: lsp.TextDocumentItem) -> None:
        """pygls has just put the opened document in the workspace as its TextDocument, whose lines are
        `str.splitlines`'; the same document with LSP's lines takes its place before any change to it arrives."""
        self.workspace.text_documents[unquote(opened.uri)] = LineEndsDocument(
            opened.uri,
            opened.text,
            opened.version,
            opened.language_id,
            sync_kind=SYNC_KIND,
            position_codec=LineEndCodec(self.workspace.position_encoding),
        )

    def open_document(self, uri: str) -> TextDocument | None:
        """An open document; anything else is not read (a URI naming a FIFO or a device must not block the loop)."""
        document = self.workspace.text_documents.get(unquote(uri))
        return document if document is not None and handles(document) else None

    async def analysis(self, document: TextDocument, apply_fixes: bool = False) -> Analysis:
        """The analysis of the document as it is now: cached per version, computed on the worker and shared by every
        request for the same text. Raises Superseded when the document changes before the analysis starts."""
        uri, version, text = document.uri, document.version, document.source
        cached = self.cache.get(uri)
        if (
            cached is not None
            and cached.version == version
            and cached.source.text == text
            and (not apply_fixes or cached.fixed)
        ):
            return cached
        layer = analysis_layer()
        client = self.client_settings or self.configure({})  # a client that never sent `initialized` gets the defaults
        file = file_at(uri)
        source = Source(text, document.path)
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > client.max_document_size:
            self.cache[uri] = layer.Analysis(
                version,
                source,
                fixed=True,
                not_analysed=(
                    f"dockerfix: not analysed, the document is {size:,} bytes, "
                    f"above maxDocumentSize ({client.max_document_size:,})"
                ),
            )
            return self.cache[uri]
        surrogate = layer.LONE_SURROGATE.search(text)
        if surrogate is not None:
            self.cache[uri] = layer.Analysis(
                version, source, fixed=True, error=layer.lone_surrogate_error(source, surrogate.start())
            )
            return self.cache[uri]
        key = (uri, version, hash(text), apply_fixes, self.generation)
        running = self.running.get(key)
        if running is None:
            contexts = self.contexts
            running = self.worker.run(
                lambda: layer.analyse(source, file, client, version, apply_fixes, contexts, self.creates_files),
                lambda: self.workspace.text_documents.get(unquote(uri)) is document and document.version == version,
            )
            self.running[key] = running
            running.add_done_callback(lambda done: self.analysed(key, done))
        analysis, _ = await asyncio.shield(running)
        return analysis

    def analysed(self, key: tuple, done: asyncio.Future) -> None:
        self.running.pop(key, None)
        if done.cancelled() or done.exception() is not None:
            return
        analysis, warnings = done.result()
        for warning in warnings:
            self.log(warning)
        if key[-1] == self.generation:
            self.cache[key[0]] = analysis

    async def current_analysis(self, document: TextDocument, apply_fixes: bool = False) -> Analysis:
        """For a request: an analysis the document's newer text made moot is ContentModified, as LSP says."""
        try:
            return await self.analysis(document, apply_fixes)
        except Superseded:
            raise JsonRpcContentModified("the document changed; ask again") from None

    @cached_property
    def contexts(self) -> ContextIndexes:
        """The build contexts' indexes; made on the protocol loop (the first analysis), announced from the worker."""
        loop = asyncio.get_running_loop()
        return analysis_layer().ContextIndexes(
            lambda message: loop.call_soon_threadsafe(self.log, message, lsp.MessageType.Log)
        )

    def open_dockerfiles(self) -> dict[Path, list[str]]:
        """The URIs of the open Dockerfiles that name a file, by folder."""
        open_in: dict[Path, list[str]] = {}
        for uri, document in self.workspace.text_documents.items():
            file = file_at(uri) if handles(document) else None
            if file is not None:
                open_in.setdefault(file.parent, []).append(uri)
        return open_in

    def reports_changes_of(self, file: Path) -> bool:
        """Whether the client tells us when ``file`` changes: our watcher covers the workspace folders only."""
        folders = [folder.uri for folder in self.workspace.folders.values()]
        if self.workspace.root_uri:
            folders.append(self.workspace.root_uri)
        return self.watching and any(
            file.is_relative_to(path) for path in (file_at(folder) for folder in folders) if path is not None
        )

    def documents_closed(self) -> None:
        """An index is kept while a document builds from it: closed documents' contexts are read again on opening."""
        self.contexts.keep_only(self.open_dockerfiles())

    def files_changed(self, uris: Iterable[str]) -> None:
        """Files changed on disk: the indexes of the contexts holding one are dropped, and the open Dockerfiles
        building from those recomputed (fix-all creating `.dockerignore` must end DF204 and its `CreateFile`)."""
        files = [file for file in map(file_at, uris) if file is not None]
        for file in files:
            self.contexts.forget(file)
        open_in = self.open_dockerfiles()
        changed = {folder for file in files for folder in file.parents if folder in open_in}
        if not changed:
            return
        self.generation += 1
        for folder in changed:
            for uri in open_in[folder]:
                self.cache.pop(uri, None)
                if not self.pull_diagnostics:
                    self.schedule_publication(uri, DEBOUNCE_SECONDS)  # a burst of changes is read once
        if self.refreshes_diagnostics:
            self.workspace_diagnostic_refresh(None)

    def schedule_publication(self, uri: str, delay: float = 0) -> None:
        """Publish the document's diagnostics after ``delay``; a newer call for the same document replaces this one."""
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.ensure_future(self.publish_later(uri, delay))

    async def publish_later(self, uri: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            await self.publish(uri)
        except Superseded:
            pass
        except Exception as error:  # a notification has nobody to answer: say it in the client's log
            self.log(f"dockerfix could not analyse {uri}: {type(error).__name__}: {error}", lsp.MessageType.Error)
        finally:
            if self.pending.get(uri) is asyncio.current_task():
                del self.pending[uri]

    async def publish(self, uri: str) -> None:
        document = self.open_document(uri)
        if document is None:
            return
        analysis = await self.analysis(document)
        if analysis.version != document.version:  # the newer text has its own publication coming
            return
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(
                uri=uri, version=analysis.version, diagnostics=diagnostics(Positions(document, analysis), analysis)
            )
        )

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """pygls' stdio server with our own frame reader (pygls' own goes deaf after one malformed frame). It ends
        when the input does, or when `exit` ends the process (pygls' handler raises SystemExit)."""
        if stdout is not None:
            self.frames = FrameWriter(stdout)
        self.protocol.set_writer(self.frames)
        try:
            asyncio.run(self.read_frames((stdin or sys.stdin.buffer).fileno()))
        except (BrokenPipeError, KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    async def read_frames(self, descriptor: int) -> None:
        chunks: asyncio.Queue[bytes] = asyncio.Queue()
        read_chunks(descriptor, asyncio.get_running_loop(), chunks)
        reader = FrameReader(chunks, lambda problem: self.log(problem, lsp.MessageType.Error))
        while (body := await reader.body()) is not None:
            self.dispatch(body, reader)
            # let the handler just started take its snapshot of the documents before the next message changes them
            await asyncio.sleep(0)

    def dispatch(self, body: bytes, reader: FrameReader) -> None:
        """One frame's body: JSON-RPC errors for what is no valid message (a request is always answered), the rest to
        pygls."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as error:
            reader.resume_inside(body)
            self.reply(None, JsonRpcParseError(f"the message body is no JSON: {error}"))
            return
        identifier = data.get("id") if isinstance(data, dict) else None
        if not isinstance(identifier, (int, str)) or isinstance(identifier, bool):
            identifier = None
        if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
            self.reply(identifier, JsonRpcInvalidRequest("not a JSON-RPC 2.0 message"))
            return
        if self.shutdown_requested and data.get("method", "exit") != "exit":
            # LSP: after shutdown only `exit` is served, a request is InvalidRequest (pygls would leave it unanswered)
            if "id" in data:
                self.reply(identifier, JsonRpcInvalidRequest(f"{data['method']}: the server is shutting down"))
            return
        try:
            message = self.protocol.structure_message(data)
        except JsonRpcException as error:
            cause = error.__cause__
            detail = (
                "; ".join(transform_error(cause))
                if isinstance(cause, BaseValidationError)
                else f"{error.message} ({cause!r:.200})"
            )
            problem = JsonRpcInvalidParams(f"invalid {data.get('method', 'message')}: {detail}")
            if "method" in data and identifier is not None:
                self.reply(identifier, problem)
            else:
                self.log(problem.message, lsp.MessageType.Error)
            return
        try:
            self.protocol.handle_message(message)
        except Exception as error:
            self.report_server_error(error, JsonRpcInternalError)

    def reply(self, identifier: int | str | None, error: JsonRpcException) -> None:
        """An error response written as a plain object (see `FrameWriter`)."""
        self.frames.send({"jsonrpc": "2.0", "id": identifier, "error": {"code": error.code, "message": error.message}})
