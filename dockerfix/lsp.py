"""`dockerfix lsp`: the language server. A thin shell over the pipeline: diagnostics are the findings, quick fixes
are their fixes, fix-all is the engine's fix loop; positions are converted to the client's encoding here only."""

from __future__ import annotations

import asyncio
import difflib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from . import __version__
from .cli import is_dockerfile_name
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


@dataclass
class Analysis:
    """One document version as the pipeline sees it."""

    version: int | None
    source: Source
    result: FileResult | None
    error: SourceError | None
    fixed: bool

    @cached_property
    def document(self) -> Document:
        return parse(self.source)


class DockerfixServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("dockerfix", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.overrides: dict[str, Any] = {}
        self.pull_diagnostics = False
        self.pending: dict[str, asyncio.Task] = {}
        self.cache: dict[str, Analysis] = {}

    def settings_for(self, path: Path) -> Settings:
        try:
            settings = discover(path)
        except ConfigError as error:
            self.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Warning, message=str(error)))
            settings = Settings()
        try:
            options = rule_option_values(self.overrides, "the client's dockerfix settings")
        except ConfigError as error:
            self.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Warning, message=str(error)))
            options = {}
        return settings.override(self.overrides.get("select"), self.overrides.get("ignore"), self.overrides.get("unsafeFixes"), options)

    def analyse(self, document: TextDocument, apply_fixes: bool = False) -> Analysis:
        """Findings for the document's current text (cached per version); with ``apply_fixes`` also the text after
        the fix loop, which only fix-all needs."""
        cached = self.cache.get(document.uri)
        if cached is not None and cached.version == document.version and cached.source.text == document.source and (
            not apply_fixes or cached.fixed
        ):
            return cached
        path = Path(document.path)
        source = Source(document.source, str(path))
        try:
            result = pipeline.run_source(
                source, self.settings_for(path), pipeline.context_for(path.parent, path), path, apply_fixes=apply_fixes
            )
            analysis = Analysis(document.version, source, result, None, apply_fixes)
        except SourceError as error:
            analysis = Analysis(document.version, source, None, error, apply_fixes)
        self.cache[document.uri] = analysis
        return analysis


server = DockerfixServer()


def handles(document: TextDocument) -> bool:
    return (document.language_id or "").lower() in LANGUAGE_IDS or is_dockerfile_name(Path(document.path).name)


class Positions:
    """Our 1-based (line, column in code points) as LSP positions in the negotiated encoding, for one text."""

    def __init__(self, document: TextDocument) -> None:
        self.codec = document.position_codec
        self.lines = document.lines

    def position(self, line: int, column: int) -> lsp.Position:
        zero_line = max(line - 1, 0)
        if zero_line >= len(self.lines):
            return lsp.Position(line=len(self.lines), character=0)
        return self.codec.position_to_client_units(self.lines, lsp.Position(line=zero_line, character=max(column - 1, 0)))

    def range(self, span: Range) -> lsp.Range:
        return lsp.Range(start=self.position(span.start.line, span.start.column), end=self.position(span.end.line, span.end.column))


def diagnostics(document: TextDocument, analysis: Analysis) -> list[lsp.Diagnostic]:
    positions = Positions(document)
    if analysis.error is not None:
        position = positions.position(analysis.error.line, analysis.error.column)
        return [lsp.Diagnostic(range=lsp.Range(start=position, end=position), message=analysis.error.message,
                               severity=lsp.DiagnosticSeverity.Error, source="dockerfix")]
    start = lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0))
    rule_failures = [
        # a rule that failed reported nothing here: the editor must not show the file as clean
        lsp.Diagnostic(range=start, message=f"dockerfix rule bug (its findings are missing; please report it): {failure}",
                       severity=lsp.DiagnosticSeverity.Error, source="dockerfix")
        for failure in analysis.result.rule_failures
    ]
    return rule_failures + [
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


def publish(ls: DockerfixServer, uri: str) -> None:
    document = ls.workspace.get_text_document(uri)
    if not handles(document):
        return
    analysis = ls.analyse(document)
    ls.text_document_publish_diagnostics(
        lsp.PublishDiagnosticsParams(uri=uri, version=document.version, diagnostics=diagnostics(document, analysis))
    )


@server.feature(lsp.INITIALIZE)
def initialize(ls: DockerfixServer, params: lsp.InitializeParams) -> None:
    capabilities = params.capabilities.text_document
    ls.pull_diagnostics = capabilities is not None and capabilities.diagnostic is not None
    options = params.initialization_options or {}
    ls.overrides = dict(options.get("dockerfix", options)) if isinstance(options, dict) else {}


@server.feature(lsp.INITIALIZED)
async def initialized(ls: DockerfixServer, params: lsp.InitializedParams) -> None:
    await pull_configuration(ls)


async def pull_configuration(ls: DockerfixServer) -> None:
    """Ask the client for the `dockerfix` section when it can answer `workspace/configuration`."""
    workspace = ls.client_capabilities.workspace
    if workspace is None or not workspace.configuration:
        return
    try:
        (section,) = await ls.workspace_configuration_async(lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="dockerfix")]))
    except Exception as error:  # a client that fails the request keeps the initialization options
        ls.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Warning, message=f"workspace/configuration: {error}"))
        return
    if isinstance(section, dict) and section:
        ls.overrides = dict(section)
        refresh(ls)


def refresh(ls: DockerfixServer) -> None:
    """Settings changed: recompute every open document's diagnostics (or ask a pull client to)."""
    ls.cache.clear()
    if ls.pull_diagnostics:
        ls.workspace_diagnostic_refresh(None)
        return
    for uri in list(ls.workspace.text_documents):
        publish(ls, uri)


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: DockerfixServer, params: lsp.DidChangeConfigurationParams) -> None:
    settings = params.settings if isinstance(params.settings, dict) else {}
    if settings:
        ls.overrides = dict(settings.get("dockerfix", settings))
        refresh(ls)
    else:
        await pull_configuration(ls)


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: DockerfixServer, params: lsp.DidOpenTextDocumentParams) -> None:
    if not ls.pull_diagnostics:
        publish(ls, params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: DockerfixServer, params: lsp.DidSaveTextDocumentParams) -> None:
    if not ls.pull_diagnostics:
        publish(ls, params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: DockerfixServer, params: lsp.DidChangeTextDocumentParams) -> None:
    """Coalesce bursts of edits: only the last change of a document within the debounce window is analysed."""
    if ls.pull_diagnostics:
        return
    uri = params.text_document.uri
    previous = ls.pending.pop(uri, None)
    if previous is not None:
        previous.cancel()

    async def later() -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        ls.pending.pop(uri, None)
        publish(ls, uri)

    ls.pending[uri] = asyncio.ensure_future(later())


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: DockerfixServer, params: lsp.DidCloseTextDocumentParams) -> None:
    ls.cache.pop(params.text_document.uri, None)
    if not ls.pull_diagnostics:
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


@server.feature(
    lsp.TEXT_DOCUMENT_DIAGNOSTIC,
    lsp.DiagnosticOptions(identifier="dockerfix", inter_file_dependencies=False, workspace_diagnostics=False),
)
def pull(ls: DockerfixServer, params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
    document = ls.workspace.get_text_document(params.text_document.uri)
    items = diagnostics(document, ls.analyse(document)) if handles(document) else []
    return lsp.RelatedFullDocumentDiagnosticReport(items=items)


def overlaps(positions: Positions, finding: ReportedFinding, wanted: lsp.Range) -> bool:
    found = positions.range(finding.range)
    return (found.start.line, found.start.character) <= (wanted.end.line, wanted.end.character) and (
        wanted.start.line, wanted.start.character) <= (found.end.line, found.end.character)


def edit_for(document: TextDocument, edits: list[lsp.TextEdit]) -> lsp.WorkspaceEdit:
    """Edits versioned against the document they were computed for."""
    identifier = lsp.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version)
    return lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(text_document=identifier, edits=edits)])


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
        edit=edit_for(document, [lsp.TextEdit(range=lsp.Range(start=position, end=position), new_text=comment)]),
    )


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False),
)
def code_action(ls: DockerfixServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    document = ls.workspace.get_text_document(params.text_document.uri)
    if not handles(document):
        return []
    analysis = ls.analyse(document)
    if analysis.result is None:
        return []
    only = params.context.only
    positions = Positions(document)
    actions: list[lsp.CodeAction] = []
    wants_quick_fixes = not only or any(kind.startswith("quickfix") for kind in only)
    if wants_quick_fixes:
        for finding in analysis.result.findings:
            if not overlaps(positions, finding, params.range):
                continue
            if finding.fix is not None and finding.fix.applicability != "display-only":
                unsafe = finding.fix.applicability == "unsafe"
                edits = [lsp.TextEdit(range=positions.range(edit.range), new_text=edit.content) for edit in finding.fix.edits]
                actions.append(lsp.CodeAction(
                    title=f"{finding.code}: {finding.fix.title}" + (" (unsafe)" if unsafe else ""),
                    kind=lsp.CodeActionKind.QuickFix,
                    is_preferred=not unsafe,
                    edit=edit_for(document, edits),
                ))
            actions.append(suppression(document, positions, analysis, finding))
            actions.append(lsp.CodeAction(
                title=f"Show documentation for {finding.code}",
                kind=lsp.CodeActionKind.QuickFix,
                command=lsp.Command(title=f"Explain {finding.code}", command=EXPLAIN_COMMAND, arguments=[finding.code]),
            ))
    if not only or any(FIX_ALL.startswith(kind) for kind in only):
        analysis = ls.analyse(document, apply_fixes=True)
    if analysis.result is not None and analysis.result.changed:
        actions.append(lsp.CodeAction(
            title="dockerfix: apply all fixes",
            kind=FIX_ALL,
            edit=edit_for(document, minimal_edits(positions, analysis.source.text, analysis.result.new_text)),
        ))
    return actions


@server.command(EXPLAIN_COMMAND)
def explain(ls: DockerfixServer, code: str) -> None:
    rule = rule_by_code(code)
    text = f"{rule.code} {rule.name}: {rule.summary}\n\n{rule.documentation()}" if rule else f"no rule {code}"
    ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Info, message=text))


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: DockerfixServer, params: lsp.HoverParams) -> lsp.Hover | None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    if not handles(document):
        return None
    analysis = ls.analyse(document)
    if analysis.result is None:
        return None
    point = lsp.Range(start=params.position, end=params.position)
    positions = Positions(document)
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
