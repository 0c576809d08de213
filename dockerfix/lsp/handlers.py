"""What the server answers: one handler per LSP method it serves, each a thin shell over the server's analysis
(diagnostics are the findings, quick fixes their fixes, fix-all the engine's fix loop)."""

from __future__ import annotations

import asyncio
import difflib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcContentModified
from pygls.uris import from_fs_path
from pygls.workspace import TextDocument

from ..rewriter.fixes import Applicability
from .diagnostics import diagnostics
from .positions import Positions, end_of, split_lines
from .server import DEBOUNCE_SECONDS, DockerfixServer, analysis_layer, file_at

if TYPE_CHECKING:
    from ..rewriter.pipeline import ReportedFinding
    from .analysis import Analysis

FIX_ALL = "source.fixAll.dockerfix"
EXPLAIN_COMMAND = "dockerfix.explain"
BYTE_ORDER_MARK = "\ufeff"

server = DockerfixServer()


@server.feature(lsp.INITIALIZE)
def initialize(ls: DockerfixServer, params: lsp.InitializeParams) -> None:
    capabilities = params.capabilities.text_document
    ls.pull_diagnostics = capabilities is not None and capabilities.diagnostic is not None
    workspace = params.capabilities.workspace
    ls.refreshes_diagnostics = ls.pull_diagnostics and bool(
        workspace is not None and workspace.diagnostics is not None and workspace.diagnostics.refresh_support
    )
    ls.creates_files = creates_files(params.capabilities)
    ls.initialization_options = params.initialization_options or {}


@server.feature(lsp.SHUTDOWN)
def shutdown(ls: DockerfixServer, params: None) -> None:
    ls.shutdown_requested = True


@server.feature(lsp.INITIALIZED)
async def initialized(ls: DockerfixServer, params: lsp.InitializedParams) -> None:
    """The settings are read here, not in `initialize`: they need the analysis layer, and LSP has the client wait for
    the answer to `initialize`, not for this notification, before it sends anything else."""
    ls.configure(ls.initialization_options)
    await asyncio.gather(watch_files(ls), pull_configuration(ls))


async def watch_files(ls: DockerfixServer) -> None:
    """Ask the client to report changed files, when it can register a watcher: any file may be in a build context."""
    workspace = ls.client_capabilities.workspace
    watching = workspace.did_change_watched_files if workspace is not None else None
    if watching is None or not watching.dynamic_registration:
        return
    watcher = lsp.Registration(
        id="dockerfix-build-contexts",
        method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=lsp.DidChangeWatchedFilesRegistrationOptions(
            watchers=[lsp.FileSystemWatcher(glob_pattern="**/*")]
        ),
    )
    try:
        await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[watcher]))
    except Exception as error:  # a client that refuses keeps the refresh on save
        ls.log(f"client/registerCapability: {error}")
        return
    ls.watching = True
    ls.contexts.clear()  # a file may have changed before the watcher was in place


async def pull_configuration(ls: DockerfixServer) -> None:
    """Ask the client for the `dockerfix` section when it can answer `workspace/configuration`."""
    workspace = ls.client_capabilities.workspace
    if workspace is None or not workspace.configuration:
        return
    try:
        (section,) = await ls.workspace_configuration_async(
            lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="dockerfix")])
        )
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
    """Its folder is read again unless the client reports the changes of its files: nothing else tells of a file
    written outside the editor."""
    uri = params.text_document.uri
    ls.count_lines_as_lsp_does(params.text_document)
    file = file_at(uri)
    if file is not None and ls.open_document(uri) is not None and not ls.reports_changes_of(file):
        ls.contexts.forget(file)
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
    ls.documents_closed()
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
        wanted.start.line,
        wanted.start.character,
    ) <= (found.end.line, found.end.character)


def creates_files(capabilities: lsp.ClientCapabilities) -> bool:
    """Whether the client applies a workspace edit that creates a file and then edits it."""
    edit = capabilities.workspace.workspace_edit if capabilities.workspace is not None else None
    return bool(
        edit is not None
        and edit.document_changes
        and lsp.ResourceOperationKind.Create in (edit.resource_operations or ())
    )


@dataclass(frozen=True)
class ContextFileEdit:
    """Another file of the build context a fix rewrites as a whole: where it is from the Dockerfile's folder (the build
    context's), the text the fix read (None: the fix creates the file) and its new text."""

    relative: str
    original: str | None
    content: str


def edit_for(
    document: TextDocument, analysis: Analysis, edits: list[lsp.TextEdit], files: Iterable[ContextFileEdit] = ()
) -> lsp.WorkspaceEdit:
    """Edits versioned against the text they were computed for, and the whole new texts of other files of the build
    context: a missing file is created first, and must still be missing then. An editor holds a file's byte order mark
    as its encoding, not as text: the edit neither counts it nor sends it (a second U+FEFF would land in the file)."""
    identifier = lsp.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=analysis.version)
    changes: list = [lsp.TextDocumentEdit(text_document=identifier, edits=edits)] if edits else []
    for file in files:
        uri = from_fs_path(str(Path(document.path).parent / file.relative))
        if file.original is None:
            changes.append(
                lsp.CreateFile(uri=uri, options=lsp.CreateFileOptions(overwrite=False, ignore_if_exists=False))
            )
        whole = lsp.Range(
            start=lsp.Position(line=0, character=0),
            end=end_of(document.position_codec, (file.original or "").removeprefix(BYTE_ORDER_MARK)),
        )
        file_identifier = lsp.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
        edit = lsp.TextEdit(range=whole, new_text=file.content.removeprefix(BYTE_ORDER_MARK))
        changes.append(lsp.TextDocumentEdit(text_document=file_identifier, edits=[edit]))
    return lsp.WorkspaceEdit(document_changes=changes)


def minimal_edits(positions: Positions, old: str, new: str) -> list[lsp.TextEdit]:
    """Line-level edits turning ``old`` into ``new`` (what fix-all sends instead of the whole text)."""
    old_lines, new_lines = split_lines(old), split_lines(new)
    old_starts = list(itertools.accumulate(map(len, old_lines), initial=0))
    return [
        positions.text_edit(old_starts[i1], old_starts[i2], "".join(new_lines[j1:j2]))
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False).get_opcodes()
        if tag != "equal"
    ]


def suppression(
    document: TextDocument, positions: Positions, analysis: Analysis, finding: ReportedFinding
) -> lsp.CodeAction:
    """`# dockerfix: ignore=CODE` on its own line above the instruction (a `#` is a comment only at line start)."""
    source = analysis.source
    offset = source.offset(finding.range.start.line, finding.range.start.column)
    instructions = analysis.document.instructions_overlapping(offset, offset)
    line_start = instructions[0].span[0] if instructions else source.line_start(finding.range.start.line)
    line_end = source.text.find("\n", line_start)
    line_text = source.text[line_start : line_end if line_end >= 0 else len(source.text)]
    indent = line_text[: len(line_text) - len(line_text.lstrip(" \t"))]
    position = positions.position(source.position(line_start)[0], 1)
    comment = f"{indent}# dockerfix: ignore={finding.code}{source.newline}"
    return lsp.CodeAction(
        title=f"Suppress {finding.code} for this instruction",
        kind=lsp.CodeActionKind.QuickFix,
        edit=edit_for(
            document, analysis, [lsp.TextEdit(range=lsp.Range(start=position, end=position), new_text=comment)]
        ),
    )


def quick_fix(
    document: TextDocument, positions: Positions, analysis: Analysis, finding: ReportedFinding
) -> lsp.CodeAction | None:
    """The finding's fix as a quick fix; an unsafe one is marked and not preferred, a display-only one is none."""
    if finding.fix is None:
        return None
    applicability = analysis_layer().applicability(finding.fix)
    if applicability == Applicability.DISPLAY_ONLY:
        return None
    unsafe = applicability == Applicability.UNSAFE
    edits = [positions.edit(edit.range, edit.content) for edit in finding.fix.edits]
    files = [ContextFileEdit(file.path, file.original, file.content) for file in finding.fix.files]
    return lsp.CodeAction(
        title=f"{finding.code}: {finding.fix.title}" + (" (unsafe)" if unsafe else ""),
        kind=lsp.CodeActionKind.QuickFix,
        is_preferred=not unsafe,
        edit=edit_for(document, analysis, edits, files),
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
            fix = quick_fix(document, positions, analysis, finding)
            if fix is not None:
                actions.append(fix)
            actions.append(suppression(document, positions, analysis, finding))
            actions.append(
                lsp.CodeAction(
                    title=f"Show documentation for {finding.code}",
                    kind=lsp.CodeActionKind.QuickFix,
                    command=lsp.Command(
                        title=f"Explain {finding.code}", command=EXPLAIN_COMMAND, arguments=[finding.code]
                    ),
                )
            )
    wants_fix_all = not only or any(FIX_ALL.startswith(kind) for kind in only)
    # the fix loop (two analyses or more) starts from these findings: when none has a fix it applies, it changes nothing
    if wants_fix_all and any(finding.fixable for finding in analysis.result.findings):
        fixed = await ls.current_analysis(document, apply_fixes=True)
        if fixed.version != analysis.version:
            raise JsonRpcContentModified("the document changed; ask again")
        analysis = fixed
    if analysis.result is not None and analysis.result.changed and analysis.result.new_text is not None:
        actions.append(
            lsp.CodeAction(
                title="dockerfix: apply all fixes",
                kind=FIX_ALL,
                edit=edit_for(
                    document,
                    analysis,
                    minimal_edits(positions, analysis.source.text, analysis.result.new_text),
                    [
                        ContextFileEdit(file.relative, file.original, file.content)
                        for file in analysis.result.other_files
                    ],
                ),
            )
        )
    return actions


@server.command(EXPLAIN_COMMAND)
def explain(ls: DockerfixServer, code: str) -> None:
    rule = analysis_layer().rule_by_code(code)
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
    rule_by_code = analysis_layer().rule_by_code
    parts = []
    for finding in analysis.result.findings:
        if not overlaps(positions, finding, point):
            continue
        rule = rule_by_code(finding.code)
        text = f"**{finding.code} {finding.name}**: {finding.message}"
        if finding.claim:
            text += f"\n\nClaim: {finding.claim}"
        if rule is not None:
            text += f"\n\n{rule.documentation()}"
        parts.append(text)
    if not parts:
        return None
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))
