"""`dockerfix lsp`: the language server. A thin shell over the pipeline: diagnostics are the findings, quick fixes
are their fixes, fix-all is the engine's fix loop; positions are converted to the client's encoding here only.

It must never go deaf: frames are read by our own forgiving reader (one bad frame costs that frame, not the
session), a request whose params do not validate is answered with InvalidParams, and analyses run on a worker thread
so the protocol loop keeps answering while a big document is analysed; above `maxDocumentSize` a document is not
analysed at all (docs/decisions.md, section 16)."""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import queue
import re
import sys
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable
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
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument

from . import __version__
from .rewriter.discovery import is_dockerfile_name
from .rewriter import pipeline
from .rewriter.config import ConfigError, Settings, discover, rule_option_values
from .rewriter.document import Document, parse
from .rewriter.pipeline import FileResult, Range, ReportedFinding
from .rewriter.registry import rule_by_code
from .rewriter.source import Source, SourceError

FIX_ALL = "source.fixAll.dockerfix"
EXPLAIN_COMMAND = "dockerfix.explain"
DEBOUNCE_SECONDS = 0.2
LANGUAGE_IDS = {"dockerfile", "containerfile"}
BYTE_ORDER_MARK = "\ufeff"
MAX_DOCUMENT_SIZE = 64 * 1024  # bytes of UTF-8; the measurement behind it is docs/decisions.md, section 16
READ_SIZE = 64 * 1024
MAX_HEADER_LINE = 8192
MAX_LENGTH_DIGITS = 15  # int() refuses strings of more than 4,300 digits, and no body has a petabyte
# a body that stops arriving for this long had a Content-Length larger than what was sent
STALL_SECONDS = 2.0
# code points that are no character: half of a UTF-16 pair, which JSON carries ("\ud800"), and the bytes of a file
# that are no UTF-8 (read with surrogateescape); no UTF-8 text holds them, so no editor can hold them as they are
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*\r?\n")
# JSON cannot hold this (a raw newline is not allowed in a JSON string), so after noise it starts the next frame
FRAME_START = re.compile(rb"content-length:[ \t]*\d+[ \t]*\r?\n", re.IGNORECASE)


class FrameReader:
    """The base protocol's frames (header lines, an empty line, `Content-Length` bytes of body) from the chunks the
    input thread queues. Accepted as a robust reader should: header names in any case (they are HTTP's) and lines
    ended by LF alone. Anything else is noise: the bytes up to the next `Content-Length` header are skipped and
    reported once, so one bad frame costs that frame only. A body whose bytes stop arriving for `STALL_SECONDS` is
    handed over as far as it came (its length lied); the caller resumes at a frame found inside it."""

    def __init__(self, chunks: asyncio.Queue[bytes], report: Callable[[str], None]) -> None:
        self.chunks = chunks
        self.report = report
        self.buffer = bytearray()
        self.ended = False
        self.noise: tuple[str, int] | None = None  # the first problem and the bytes skipped since

    async def body(self) -> bytes | None:
        """The next frame's body, or None when the input has ended."""
        while True:
            header = self._header()
            if isinstance(header, tuple):
                if self.noise is not None:
                    self._report_noise(0)
                length, start = header
                while len(self.buffer) < start + length and await self._more(STALL_SECONDS):
                    pass
                body = bytes(self.buffer[start:start + length])
                del self.buffer[:start + length]
                return body
            if isinstance(header, str) and self._skip_to_frame(header):
                continue
            if not await self._more():
                if self.noise is not None:
                    self._report_noise(len(self.buffer))
                return None

    def resume_inside(self, body: bytes) -> None:
        """A body that is no JSON may have swallowed the frames after it: read on from the first one inside it."""
        found = FRAME_START.search(body)
        if found is not None:
            self.buffer[:0] = body[found.start():]

    async def _more(self, timeout: float | None = None) -> bool:
        """Append the next chunk; False at the end of the input or after ``timeout`` seconds without one."""
        if self.ended:
            return False
        try:
            chunk = await asyncio.wait_for(self.chunks.get(), timeout)
        except asyncio.TimeoutError:
            return False
        if not chunk:
            self.ended = True
            return False
        self.buffer += chunk
        return True

    def _header(self) -> tuple[int, int] | str | None:
        """(body length, body offset) when the buffer starts with a whole header block, what is wrong when it starts
        with something else, None when it needs more bytes."""
        offset, length = 0, None
        while (end := self.buffer.find(b"\n", offset)) >= 0:
            line = bytes(self.buffer[offset:end + 1])
            offset = end + 1
            if line in (b"\n", b"\r\n"):
                return (length, offset) if length is not None else "a frame without a Content-Length header"
            header = HEADER_LINE.fullmatch(line)
            if header is None:
                return f"not a header line: {line[:60]!r}"
            name, value = header.groups()
            if name.lower() == b"content-length":
                if not value.isdigit() or len(value) > MAX_LENGTH_DIGITS:
                    return f"Content-Length is not a number of bytes: {value[:60]!r}"
                length = int(value)
        if len(self.buffer) - offset > MAX_HEADER_LINE:
            return f"a header line longer than {MAX_HEADER_LINE} bytes"
        return None

    def _skip_to_frame(self, problem: str) -> bool:
        """Drop the noise before the next `Content-Length` header (not the one the noise may start with); without
        one, keep only an unfinished last line short enough to become one. True when the buffer now starts with a
        header."""
        found = FRAME_START.search(self.buffer, 1)
        if found is not None:
            skipped = found.start()
        else:
            skipped = max(self.buffer.rfind(b"\n") + 1, len(self.buffer) - 64, 0)
        first_problem, skipped_before = self.noise or (problem, 0)
        self.noise = (first_problem, skipped_before + skipped)
        del self.buffer[:skipped]
        return found is not None

    def _report_noise(self, more: int) -> None:
        problem, skipped = self.noise
        self.noise = None
        self.report(f"skipped {skipped + more} bytes of input that are no LSP frame ({problem})")


class Superseded(Exception):
    """The document changed before its analysis started: a newer one is on its way."""


class Worker:
    """Runs analyses one at a time on a daemon thread, off the protocol loop, so the server keeps reading and
    answering while one runs (and exits without waiting for it). A job whose document moved on before it started is
    skipped; a running one cannot be interrupted (the engine has no cancellation point), which is what the size limit
    bounds."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def run(self, job: Callable[[], Any], wanted: Callable[[], bool]) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self.thread is None:
            self.thread = threading.Thread(target=self._serve, name="dockerfix-analysis", daemon=True)
            self.thread.start()
        self.jobs.put((loop, future, job, wanted))
        return future

    def _serve(self) -> None:
        while True:
            loop, future, job, wanted = self.jobs.get()
            try:
                if not wanted():
                    raise Superseded()
                outcome, failed = job(), False
            except Exception as error:
                outcome, failed = error, True
            try:
                loop.call_soon_threadsafe(settle, future, outcome, failed)
            except RuntimeError:  # the loop is gone: the server is exiting
                return


def settle(future: asyncio.Future, outcome: Any, failed: bool) -> None:
    if future.done():
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


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


WHERE = "the client's dockerfix settings"


@dataclass(frozen=True)
class ClientSettings:
    """What the client's `dockerfix` settings override, checked once when they arrive."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    unsafe_fixes: bool | None = None
    options: dict[str, Any] = field(default_factory=dict)
    max_document_size: int = MAX_DOCUMENT_SIZE

    @classmethod
    def parse(cls, section: Any, warnings: list[str]) -> "ClientSettings":
        """A value of the wrong type is a warning and is ignored, never a reason to stop serving."""
        if not isinstance(section, dict):
            warnings.append(f"{WHERE} must be an object, not {section!r}; ignored")
            return cls()
        values: dict[str, Any] = {}
        for key, name in (("select", "select"), ("ignore", "ignore")):
            codes = section.get(key)
            if codes is None:
                continue
            if isinstance(codes, list) and all(isinstance(code, str) for code in codes):
                values[name] = tuple(codes)
            else:
                warnings.append(f"{WHERE}: `{key}` must be a list of rule codes or prefixes, not {codes!r}; ignored")
        unsafe = section.get("unsafeFixes")
        if isinstance(unsafe, bool):
            values["unsafe_fixes"] = unsafe
        elif unsafe is not None:
            warnings.append(f"{WHERE}: `unsafeFixes` must be true or false, not {unsafe!r}; ignored")
        size = section.get("maxDocumentSize")
        if isinstance(size, int) and not isinstance(size, bool) and size > 0:
            values["max_document_size"] = size
        elif size is not None:
            warnings.append(f"{WHERE}: `maxDocumentSize` must be a positive number of bytes, not {size!r}; ignored")
        try:
            values["options"] = rule_option_values(section, WHERE)
        except ConfigError as error:
            warnings.append(f"{error}; rule options ignored")
        return cls(**values)

    def settings_for(self, file: Path | None, warnings: list[str]) -> Settings:
        """The configuration files' settings for ``file`` (none for a document that is no file), with the client's
        on top."""
        settings = Settings()
        if file is not None:
            try:
                settings = discover(file)
            except ConfigError as error:
                warnings.append(str(error))
        return settings.override(self.select, self.ignore, self.unsafe_fixes, self.options)


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


def analyse(
    source: Source, file: Path | None, client: ClientSettings, version: int | None, apply_fixes: bool, other_files: bool = False
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
    return SourceError(source.path, line, column, (
        f"U+{ord(source.text[offset]):04X} is half of a UTF-16 surrogate pair, no character: a Dockerfile (UTF-8) "
        "cannot hold it; dockerfix does not analyse this text"))


class DockerfixServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("dockerfix", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.client_settings = ClientSettings()
        self.generation = 0  # of the settings and build contexts: an analysis under older ones is not reused
        self.pull_diagnostics = False
        self.refreshes_diagnostics = False  # the pull client can be asked to pull again (workspace/diagnostic/refresh)
        self.creates_files = False  # the client applies workspace edits that create files (documentChanges + create)
        self.pending: dict[str, asyncio.Task] = {}
        self.running: dict[tuple, asyncio.Future] = {}
        self.cache: dict[str, Analysis] = {}
        self.worker = Worker()
        self.shutdown_requested = False

    def log(self, message: str, kind: lsp.MessageType = lsp.MessageType.Warning) -> None:
        self.window_log_message(lsp.LogMessageParams(type=kind, message=message))

    def configure(self, settings: Any) -> None:
        """The client's settings: its `dockerfix` section, or the section itself."""
        warnings: list[str] = []
        self.client_settings = ClientSettings.parse(settings.get("dockerfix", settings) if isinstance(settings, dict) else settings, warnings)
        self.generation += 1
        for warning in warnings:
            self.log(warning)

    def open_document(self, uri: str) -> TextDocument | None:
        """An open document; anything else is not read (a URI naming a FIFO or a device must not block the loop)."""
        document = self.workspace.text_documents.get(unquote(uri))
        return document if document is not None and handles(document) else None

    async def analysis(self, document: TextDocument, apply_fixes: bool = False) -> Analysis:
        """The analysis of the document as it is now: cached per version, computed on the worker and shared by every
        request for the same text. Raises Superseded when the document changes before the analysis starts."""
        uri, version, text = document.uri, document.version, document.source
        cached = self.cache.get(uri)
        if cached is not None and cached.version == version and cached.source.text == text and (not apply_fixes or cached.fixed):
            return cached
        file = file_at(uri)
        source = Source(text, document.path)
        size = len(text.encode("utf-8", "surrogatepass"))
        limit = self.client_settings.max_document_size
        if size > limit:
            self.cache[uri] = Analysis(version, source, fixed=True, not_analysed=(
                f"dockerfix: not analysed, the document is {size:,} bytes, above maxDocumentSize ({limit:,})"))
            return self.cache[uri]
        surrogate = LONE_SURROGATE.search(text)
        if surrogate is not None:
            self.cache[uri] = Analysis(version, source, fixed=True, error=lone_surrogate_error(source, surrogate.start()))
            return self.cache[uri]
        key = (uri, version, hash(text), apply_fixes, self.generation)
        running = self.running.get(key)
        if running is None:
            client = self.client_settings
            running = self.worker.run(
                lambda: analyse(source, file, client, version, apply_fixes, self.creates_files),
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

    def files_changed(self, uris: Iterable[str]) -> None:
        """Files changed on disk: the folders of open Dockerfiles that hold one are read again, and those documents'
        diagnostics recomputed (fix-all creating `.dockerignore` must end DF204 and its `CreateFile`)."""
        open_in: dict[Path, list[str]] = {}
        for uri, document in self.workspace.text_documents.items():
            file = file_at(uri) if handles(document) else None
            if file is not None:
                open_in.setdefault(file.parent, []).append(uri)
        changed = {folder for file in map(file_at, uris) if file is not None for folder in file.parents if folder in open_in}
        if not changed:
            return
        self.generation += 1
        for folder in changed:
            pipeline.forget_context(folder)
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
            await publish(self, uri)
        except Superseded:
            pass
        except Exception as error:  # a notification has nobody to answer: say it in the client's log
            self.log(f"dockerfix could not analyse {uri}: {type(error).__name__}: {error}", lsp.MessageType.Error)
        finally:
            if self.pending.get(uri) is asyncio.current_task():
                del self.pending[uri]

    def start_io(self, stdin=None, stdout=None) -> None:
        """pygls' stdio server with our own frame reader (pygls' own goes deaf after one malformed frame)."""
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(self.read_frames((stdin or sys.stdin.buffer).fileno()))
        except BrokenPipeError:
            pass
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    async def read_frames(self, descriptor: int) -> None:
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[bytes] = asyncio.Queue()

        def read() -> None:  # blocking reads on a daemon thread, so exiting never waits for the client
            chunk = b"-"
            while chunk:
                try:
                    chunk = os.read(descriptor, READ_SIZE)
                except OSError:
                    chunk = b""
                try:
                    loop.call_soon_threadsafe(chunks.put_nowait, chunk)
                except RuntimeError:  # the loop is gone: the server is exiting
                    return

        threading.Thread(target=read, name="dockerfix-stdin", daemon=True).start()
        reader = FrameReader(chunks, lambda problem: self.log(problem, lsp.MessageType.Error))
        while not self._stop_event.is_set() and (body := await reader.body()) is not None:
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
            detail = "; ".join(transform_error(cause)) if isinstance(cause, BaseValidationError) else f"{error.message} ({cause!r:.200})"
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
        """An error response written as a plain object: pygls' messages drop a null id, which JSON-RPC requires."""
        self.protocol._send_data({"jsonrpc": "2.0", "id": identifier, "error": {"code": error.code, "message": error.message}})


server = DockerfixServer()


def handles(document: TextDocument) -> bool:
    return (document.language_id or "").lower() in LANGUAGE_IDS or is_dockerfile_name(Path(document.path).name)


class Positions:
    """Our 1-based (line, column in code points) as LSP positions in the negotiated encoding, for one text."""

    def __init__(self, document: TextDocument, analysis: Analysis) -> None:
        self.codec = document.position_codec
        self.lines = analysis.source.text.splitlines(keepends=True)

    def position(self, line: int, column: int) -> lsp.Position:
        zero_line = max(line - 1, 0)
        if zero_line >= len(self.lines):
            return lsp.Position(line=len(self.lines), character=0)
        return self.codec.position_to_client_units(self.lines, lsp.Position(line=zero_line, character=max(column - 1, 0)))

    def range(self, span: Range) -> lsp.Range:
        return lsp.Range(start=self.position(span.start.line, span.start.column), end=self.position(span.end.line, span.end.column))


def whole_document_diagnostic(message: str, severity: lsp.DiagnosticSeverity) -> lsp.Diagnostic:
    start = lsp.Position(line=0, character=0)
    return lsp.Diagnostic(range=lsp.Range(start=start, end=start), message=message, severity=severity, source="dockerfix")


def diagnostics(positions: Positions, analysis: Analysis) -> list[lsp.Diagnostic]:
    if analysis.not_analysed is not None:
        return [whole_document_diagnostic(analysis.not_analysed, lsp.DiagnosticSeverity.Information)]
    if analysis.error is not None:
        position = positions.position(analysis.error.line, analysis.error.column)
        return [lsp.Diagnostic(range=lsp.Range(start=position, end=position), message=analysis.error.message,
                               severity=lsp.DiagnosticSeverity.Error, source="dockerfix")]
    # a rule that failed reported nothing here: the editor must not show the file as clean
    failures = [
        whole_document_diagnostic(f"dockerfix rule bug (its findings are missing; please report it): {failure}", lsp.DiagnosticSeverity.Error)
        for failure in analysis.result.rule_failures
    ]
    warnings = [whole_document_diagnostic(warning, lsp.DiagnosticSeverity.Warning) for warning in analysis.result.warnings]
    return failures + warnings + [
        lsp.Diagnostic(
            range=positions.range(finding.range),
            message=finding.message,
            severity=lsp.DiagnosticSeverity.Warning,
            code=finding.code,
            source="dockerfix",
            data={"code": finding.code, "name": finding.name},
        )
        for finding in analysis.result.findings
    ]


async def publish(ls: DockerfixServer, uri: str) -> None:
    document = ls.open_document(uri)
    if document is None:
        return
    analysis = await ls.analysis(document)
    if analysis.version != document.version:  # the newer text has its own publication coming
        return
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
        uri=uri, version=analysis.version, diagnostics=diagnostics(Positions(document, analysis), analysis)))


@server.feature(lsp.INITIALIZE)
def initialize(ls: DockerfixServer, params: lsp.InitializeParams) -> None:
    capabilities = params.capabilities.text_document
    ls.pull_diagnostics = capabilities is not None and capabilities.diagnostic is not None
    workspace = params.capabilities.workspace
    ls.refreshes_diagnostics = ls.pull_diagnostics and bool(
        workspace is not None and workspace.diagnostics is not None and workspace.diagnostics.refresh_support)
    ls.creates_files = creates_files(params.capabilities)
    ls.configure(params.initialization_options or {})


@server.feature(lsp.SHUTDOWN)
def shutdown(ls: DockerfixServer, params: None) -> None:
    ls.shutdown_requested = True


@server.feature(lsp.INITIALIZED)
async def initialized(ls: DockerfixServer, params: lsp.InitializedParams) -> None:
    await asyncio.gather(watch_files(ls), pull_configuration(ls))


async def watch_files(ls: DockerfixServer) -> None:
    """Ask the client to report changed files, when it can register a watcher: any file may be in a build context."""
    workspace = ls.client_capabilities.workspace
    watching = workspace.did_change_watched_files if workspace is not None else None
    if watching is None or not watching.dynamic_registration:
        return
    watcher = lsp.Registration(
        id="dockerfix-build-contexts", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=[lsp.FileSystemWatcher(glob_pattern="**/*")]))
    try:
        await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[watcher]))
    except Exception as error:  # a client that refuses keeps the refresh on save
        ls.log(f"client/registerCapability: {error}")


async def pull_configuration(ls: DockerfixServer) -> None:
    """Ask the client for the `dockerfix` section when it can answer `workspace/configuration`."""
    workspace = ls.client_capabilities.workspace
    if workspace is None or not workspace.configuration:
        return
    try:
        (section,) = await ls.workspace_configuration_async(lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="dockerfix")]))
    except Exception as error:  # a client that fails the request keeps the initialization options
        ls.log(f"workspace/configuration: {error}")
        return
    if isinstance(section, dict) and section:
        ls.configure(section)
        refresh(ls)


def refresh(ls: DockerfixServer) -> None:
    """Settings changed: recompute every open document's diagnostics (or ask a pull client to)."""
    ls.cache.clear()
    if ls.pull_diagnostics:
        ls.workspace_diagnostic_refresh(None)
        return
    for uri in list(ls.workspace.text_documents):
        ls.schedule_publication(uri)


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: DockerfixServer, params: lsp.DidChangeConfigurationParams) -> None:
    settings = params.settings if isinstance(params.settings, dict) else {}
    if settings:
        ls.configure(settings)
        refresh(ls)
    else:
        await pull_configuration(ls)


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: DockerfixServer, params: lsp.DidOpenTextDocumentParams) -> None:
    """Its folder is read again: nothing watched it while none of its documents was open."""
    uri = params.text_document.uri
    file = file_at(uri)
    if file is not None and ls.open_document(uri) is not None:
        pipeline.forget_context(file.parent)
    if not ls.pull_diagnostics:
        ls.schedule_publication(uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: DockerfixServer, params: lsp.DidSaveTextDocumentParams) -> None:
    ls.files_changed([params.text_document.uri])


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: DockerfixServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    ls.files_changed(change.uri for change in params.changes)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: DockerfixServer, params: lsp.DidChangeTextDocumentParams) -> None:
    """Coalesce bursts of edits: only the last change of a document within the debounce window is analysed."""
    if not ls.pull_diagnostics:
        ls.schedule_publication(params.text_document.uri, DEBOUNCE_SECONDS)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: DockerfixServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.cache.pop(uri, None)
    pending = ls.pending.pop(uri, None)
    if pending is not None:
        pending.cancel()
    if not ls.pull_diagnostics:
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(
    lsp.TEXT_DOCUMENT_DIAGNOSTIC,
    lsp.DiagnosticOptions(identifier="dockerfix", inter_file_dependencies=False, workspace_diagnostics=False),
)
async def pull(ls: DockerfixServer, params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
    document = ls.open_document(params.text_document.uri)
    if document is None:
        return lsp.RelatedFullDocumentDiagnosticReport(items=[])
    analysis = await ls.current_analysis(document)
    return lsp.RelatedFullDocumentDiagnosticReport(items=diagnostics(Positions(document, analysis), analysis))


def overlaps(positions: Positions, finding: ReportedFinding, wanted: lsp.Range) -> bool:
    found = positions.range(finding.range)
    return (found.start.line, found.start.character) <= (wanted.end.line, wanted.end.character) and (
        wanted.start.line, wanted.start.character) <= (found.end.line, found.end.character)


def end_of(document: TextDocument, text: str) -> lsp.Position:
    """The position after the last character of ``text``, in the client's position encoding."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[-1] != lines[-1].rstrip("\r\n"):
        return lsp.Position(line=len(lines), character=0)
    return document.position_codec.position_to_client_units(lines, lsp.Position(line=len(lines) - 1, character=len(lines[-1])))


def creates_files(capabilities: lsp.ClientCapabilities) -> bool:
    """Whether the client applies a workspace edit that creates a file and then edits it."""
    edit = capabilities.workspace.workspace_edit if capabilities.workspace is not None else None
    return bool(edit is not None and edit.document_changes and lsp.ResourceOperationKind.Create in (edit.resource_operations or ()))


def edit_for(document: TextDocument, analysis: Analysis, edits: list[lsp.TextEdit], files: tuple[tuple[str, str | None, str], ...] = ()) -> lsp.WorkspaceEdit:
    """Edits versioned against the text they were computed for, and the whole new texts of other files of the build
    context (``(path relative to the Dockerfile's folder, text the fix read or None, new text)``): a missing file is
    created first, and must still be missing then. An editor holds a file's byte order mark as its encoding, not as
    text: the edit neither counts it nor sends it (a second U+FEFF would land in the file)."""
    identifier = lsp.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=analysis.version)
    changes: list = [lsp.TextDocumentEdit(text_document=identifier, edits=edits)] if edits else []
    folder = Path(document.path).parent
    for relative, original, content in files:
        uri = from_fs_path(str(folder / relative))
        if original is None:
            changes.append(lsp.CreateFile(uri=uri, options=lsp.CreateFileOptions(overwrite=False, ignore_if_exists=False)))
        whole = lsp.Range(start=lsp.Position(line=0, character=0), end=end_of(document, (original or "").removeprefix(BYTE_ORDER_MARK)))
        file_identifier = lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
        edit = lsp.TextEdit(range=whole, new_text=content.removeprefix(BYTE_ORDER_MARK))
        changes.append(lsp.TextDocumentEdit(text_document=file_identifier, edits=[edit]))
    return lsp.WorkspaceEdit(document_changes=changes)


def minimal_edits(positions: Positions, old: str, new: str) -> list[lsp.TextEdit]:
    """Line-level edits turning ``old`` into ``new`` (what fix-all sends instead of the whole text)."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    edits = []
    source = Source(old)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        start = sum(len(line) for line in old_lines[:i1])
        end = start + sum(len(line) for line in old_lines[i1:i2])
        span = pipeline.Range.of(source, start, end)
        edits.append(lsp.TextEdit(range=positions.range(span), new_text="".join(new_lines[j1:j2])))
    return edits


def suppression(document: TextDocument, positions: Positions, analysis: Analysis, finding: ReportedFinding) -> lsp.CodeAction:
    """`# dockerfix: ignore=CODE` on its own line above the instruction (a `#` is a comment only at line start)."""
    source = analysis.source
    offset = source.offset(finding.range.start.line, finding.range.start.column)
    instruction = next((i for i in analysis.document.instructions if i.span[0] <= offset < max(i.span[1], i.span[0] + 1)), None)
    line_start = instruction.span[0] if instruction is not None else source.line_start(finding.range.start.line)
    line_text = source.text[line_start:source.text.find("\n", line_start) if "\n" in source.text[line_start:] else len(source.text)]
    indent = line_text[: len(line_text) - len(line_text.lstrip(" \t"))]
    position = positions.position(source.position(line_start)[0], 1)
    comment = f"{indent}# dockerfix: ignore={finding.code}{source.newline}"
    return lsp.CodeAction(
        title=f"Suppress {finding.code} for this instruction",
        kind=lsp.CodeActionKind.QuickFix,
        edit=edit_for(document, analysis, [lsp.TextEdit(range=lsp.Range(start=position, end=position), new_text=comment)]),
    )


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False),
)
async def code_action(ls: DockerfixServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    document = ls.open_document(params.text_document.uri)
    if document is None:
        return []
    analysis = await ls.current_analysis(document)
    if analysis.result is None:
        return []
    only = params.context.only
    positions = Positions(document, analysis)
    actions: list[lsp.CodeAction] = []
    wants_quick_fixes = not only or any(kind.startswith("quickfix") for kind in only)
    if wants_quick_fixes:
        for finding in analysis.result.findings:
            if not overlaps(positions, finding, params.range):
                continue
            if finding.fix is not None and finding.fix.applicability != "display-only":
                unsafe = finding.fix.applicability == "unsafe"
                edits = [lsp.TextEdit(range=positions.range(edit.range), new_text=edit.content) for edit in finding.fix.edits]
                files = tuple((file.path, file.original, file.content) for file in finding.fix.files)
                actions.append(lsp.CodeAction(
                    title=f"{finding.code}: {finding.fix.title}" + (" (unsafe)" if unsafe else ""),
                    kind=lsp.CodeActionKind.QuickFix,
                    is_preferred=not unsafe,
                    edit=edit_for(document, analysis, edits, files),
                ))
            actions.append(suppression(document, positions, analysis, finding))
            actions.append(lsp.CodeAction(
                title=f"Show documentation for {finding.code}",
                kind=lsp.CodeActionKind.QuickFix,
                command=lsp.Command(title=f"Explain {finding.code}", command=EXPLAIN_COMMAND, arguments=[finding.code]),
            ))
    if not only or any(FIX_ALL.startswith(kind) for kind in only):
        fixed = await ls.current_analysis(document, apply_fixes=True)
        if fixed.version != analysis.version:
            raise JsonRpcContentModified("the document changed; ask again")
        analysis = fixed
    if analysis.result is not None and analysis.result.changed:
        actions.append(lsp.CodeAction(
            title="dockerfix: apply all fixes",
            kind=FIX_ALL,
            edit=edit_for(
                document, analysis, minimal_edits(positions, analysis.source.text, analysis.result.new_text),
                tuple((file.relative, file.original, file.content) for file in analysis.result.other_files),
            ),
        ))
    return actions


@server.command(EXPLAIN_COMMAND)
def explain(ls: DockerfixServer, code: str) -> None:
    rule = rule_by_code(code)
    text = f"{rule.code} {rule.name}: {rule.summary}\n\n{rule.documentation()}" if rule else f"no rule {code}"
    ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Info, message=text))


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
async def hover(ls: DockerfixServer, params: lsp.HoverParams) -> lsp.Hover | None:
    document = ls.open_document(params.text_document.uri)
    if document is None:
        return None
    analysis = await ls.current_analysis(document)
    if analysis.result is None:
        return None
    point = lsp.Range(start=params.position, end=params.position)
    positions = Positions(document, analysis)
    parts = []
    for finding in analysis.result.findings:
        if not overlaps(positions, finding, point):
            continue
        rule = rule_by_code(finding.code)
        text = f"**{finding.code} {finding.name}**: {finding.message}"
        if finding.savings:
            saved = ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in finding.savings.items() if value is not None)
            text += f"\n\nEstimated saving: {saved}"
        if rule is not None:
            text += f"\n\n{rule.documentation()}"
        parts.append(text)
    if not parts:
        return None
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))


def serve(argv: list[str]) -> int:
    """Speak LSP over stdio until the client says exit."""
    server.start_io()
    return 0
