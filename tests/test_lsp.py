"""The language server, driven by a real LSP client (pytest-lsp) over stdio."""

from __future__ import annotations

import bisect
import random
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import pytest_lsp
from conftest import language_client, open_document
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from dockerfix.rewriter import pipeline
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.source import Source

FOLDER = Path(tempfile.mkdtemp(prefix="dockerfix-lsp-"))
# a merge saves only a layer: the project asks for DF101 by its code, so every merge is reported (min-gain)
(FOLDER / ".dockerfix.toml").write_text('extend-select = ["DF101"]\n')
URI = (FOLDER / "Dockerfile").as_uri()
MERGEABLE = "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n"
MERGED = "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app \\\n    && chmod 755 /app\n"
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "dockerfix", "lsp"])


client = language_client()


@pytest_lsp.fixture(config=SERVER)
async def pull_client(lsp_client: LanguageClient):
    capabilities = lsp.ClientCapabilities(
        text_document=lsp.TextDocumentClientCapabilities(diagnostic=lsp.DiagnosticClientCapabilities())
    )
    await lsp_client.initialize_session(
        lsp.InitializeParams(capabilities=capabilities, initialization_options={"unsafeFixes": True})
    )
    yield
    await lsp_client.shutdown_session()


# LSP's line ends, and only those (str.splitlines also breaks at \f, \v, U+2028, ...): the client speaks the spec
LSP_LINE_END = re.compile(r"\r\n|\r|\n")


def lsp_line_starts(text: str) -> list[int]:
    return [0] + [match.end() for match in LSP_LINE_END.finditer(text)]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def offset(text: str, position: lsp.Position) -> int:
    """Offset of a UTF-16 position (the default encoding)."""
    starts = lsp_line_starts(text)
    if position.line >= len(starts):
        return len(text)
    start = starts[position.line]
    end = len(text) if position.line + 1 == len(starts) else starts[position.line + 1]
    line = LSP_LINE_END.sub("", text[start:end])
    units = 0
    for index, char in enumerate(line):
        if units >= position.character:
            return start + index
        units += utf16_units(char)
    return start + len(line)


DocumentChange = lsp.TextDocumentEdit | lsp.CreateFile | lsp.RenameFile | lsp.DeleteFile


def served_actions(found: Sequence[lsp.Command | lsp.CodeAction] | None) -> Sequence[lsp.Command | lsp.CodeAction]:
    """The server's answer to a code-action request: code actions, and commands (a rule's documentation)."""
    assert found is not None
    return found


def edit_of(action: lsp.Command | lsp.CodeAction) -> lsp.WorkspaceEdit | None:
    assert isinstance(action, lsp.CodeAction), action
    return action.edit


def document_changes(edit: lsp.WorkspaceEdit | None) -> Sequence[DocumentChange]:
    """What a served edit changes: the server always sends documentChanges (versioned edits, file creations)."""
    assert edit is not None and edit.document_changes is not None, edit
    return edit.document_changes


def document_edit(change: DocumentChange) -> lsp.TextDocumentEdit:
    assert isinstance(change, lsp.TextDocumentEdit), change
    return change


def text_edits(change: DocumentChange) -> list[lsp.TextEdit | lsp.AnnotatedTextEdit]:
    """A change's text edits: plain or annotated, never snippets."""
    edits = document_edit(change).edits
    plain = [edit for edit in edits if isinstance(edit, (lsp.TextEdit, lsp.AnnotatedTextEdit))]
    assert len(plain) == len(edits), edits
    return plain


def apply(text: str, edit: lsp.WorkspaceEdit | None) -> str:
    (change,) = document_changes(edit)
    for text_edit in sorted(
        text_edits(change), key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        text = (
            text[: offset(text, text_edit.range.start)] + text_edit.new_text + text[offset(text, text_edit.range.end) :]
        )
    return text


def whole(text: str) -> lsp.Range:
    return lsp.Range(start=lsp.Position(line=0, character=0), end=position(text, len(text)))


async def actions(
    client: LanguageClient, text: str, only: list[str] | None = None
) -> Sequence[lsp.Command | lsp.CodeAction]:
    params = lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=URI),
        range=whole(text),
        context=lsp.CodeActionContext(diagnostics=[], only=only),
    )
    return served_actions(await client.text_document_code_action_async(params))


@pytest.mark.asyncio
async def test_push_diagnostics_quick_fix_fix_all_suppress_and_hover(client: LanguageClient):
    open_document(client, URI, MERGEABLE)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diagnostic,) = client.diagnostics[URI]
    assert diagnostic.code == "DF101" and diagnostic.source == "dockerfix"
    assert diagnostic.range.start == lsp.Position(line=1, character=0)

    found = await actions(client, MERGEABLE)
    quick = next(a for a in found if a.title.startswith("DF101:"))
    assert isinstance(quick, lsp.CodeAction) and quick.is_preferred and apply(MERGEABLE, quick.edit) == MERGED
    assert document_edit(document_changes(quick.edit)[0]).text_document.version == 1
    suppress = next(a for a in found if a.title.startswith("Suppress DF101"))
    assert apply(MERGEABLE, edit_of(suppress)) == MERGEABLE.replace("RUN curl", "# dockerfix: ignore=DF101\nRUN curl")
    assert any(a.title == "Show documentation for DF101" for a in found)

    (fix_all,) = await actions(client, MERGEABLE, only=["source.fixAll.dockerfix"])
    expected = pipeline.run_source(
        Source(MERGEABLE, str(FOLDER / "Dockerfile")), Settings(extend_select=("DF101",))
    ).new_text
    assert apply(MERGEABLE, edit_of(fix_all)) == expected == MERGED

    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=URI), position=lsp.Position(line=1, character=2))
    )
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    assert "DF101" in hover.contents.value and "1 layer fewer" in hover.contents.value


@pytest.mark.asyncio
async def test_each_diagnostic_s_severity_is_its_finding_s_level(client: LanguageClient):
    # the apt lists are a measured 19.9 MB on bookworm: a warning; the merge's bytes are unknown: a note, which an
    # editor must not paint as a warning
    text = MERGEABLE + "RUN apt-get update && apt-get install -y curl\n"
    open_document(client, URI, text)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    severities = {diagnostic.code: diagnostic.severity for diagnostic in client.diagnostics[URI]}
    assert severities == {"DF101": lsp.DiagnosticSeverity.Information, "DF102": lsp.DiagnosticSeverity.Warning}


@pytest.mark.asyncio
async def test_incremental_changes_update_diagnostics(client: LanguageClient):
    open_document(client, URI, MERGEABLE)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    # delete the third line: nothing to merge any more
    change = lsp.TextDocumentContentChangePartial(
        range=lsp.Range(start=lsp.Position(line=2, character=0), end=lsp.Position(line=3, character=0)), text=""
    )
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=2), content_changes=[change]
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[URI]) == []


@pytest.mark.asyncio
async def test_parse_error_is_one_diagnostic(client: LanguageClient):
    open_document(client, URI, "FROM debian\nRUN <<EOF\necho never closed\n")
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diagnostic,) = client.diagnostics[URI]
    assert diagnostic.severity == lsp.DiagnosticSeverity.Error and "unterminated heredoc" in diagnostic.message
    assert diagnostic.range.start.line == 1


@pytest.mark.asyncio
async def test_utf16_positions(configured_client: LanguageClient):
    # DF105 is opt-in: the client selects it by its code
    text = "FROM debian\nRUN echo 😀é && pip install flask\n"
    open_document(configured_client, URI, text)
    (diagnostic,) = await configured_diagnostics(configured_client, {"DF105"})
    line = text.splitlines()[1]
    assert diagnostic.range.start.character == len(line[: line.index("pip install")].encode("utf-16-le")) // 2


@pytest.mark.asyncio
async def test_pull_diagnostics_and_random_edits(pull_client: LanguageClient):
    text = MERGEABLE + "RUN apt-get update && apt-get install -y curl\n"
    open_document(pull_client, URI, text)
    report = await pull_client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=URI))
    )
    assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
    assert {item.code for item in report.items} >= {"DF101", "DF102"}
    assert URI not in pull_client.diagnostics  # pull clients are never pushed to

    generator = random.Random(7)
    pieces = [
        "RUN ",
        "apt-get install -y x",
        " \\\n",
        "\n",
        "<<EOF",
        "EOF\n",
        "COPY . .\n",
        "é",
        "# c\n",
        "&& ",
        '"',
        "FROM a\n",
    ]
    for version in range(2, 42):
        start = generator.randint(0, len(text))
        end = min(len(text), start + generator.randint(0, 6))
        insert = generator.choice(pieces)
        range_ = lsp.Range(start=position(text, start), end=position(text, end))
        text = text[:start] + insert + text[end:]
        pull_client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=URI, version=version),
                content_changes=[lsp.TextDocumentContentChangePartial(range=range_, text=insert)],
            )
        )
    report = await pull_client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=URI))
    )
    expected: set[int | str | None]
    try:
        expected = {
            f.code
            for f in pipeline.run_source(Source(text, str(FOLDER / "Dockerfile")), Settings(unsafe_fixes=True)).findings
        }
    except Exception:
        expected = {None}
    assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
    assert {item.code for item in report.items} == expected


def position(text: str, index: int) -> lsp.Position:
    """The UTF-16 position of offset ``index``, lines ended as LSP ends them."""
    starts = lsp_line_starts(text)
    line = bisect.bisect_right(starts, index) - 1
    return lsp.Position(line=line, character=utf16_units(text[starts[line] : index]))


@pytest_lsp.fixture(config=SERVER)
async def configured_client(lsp_client: LanguageClient):
    lsp_client.set_configuration({"select": ["DF105"]}, section="dockerfix")
    capabilities = lsp.ClientCapabilities(workspace=lsp.WorkspaceClientCapabilities(configuration=True))
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=capabilities))
    yield
    await lsp_client.shutdown_session()


async def configured_diagnostics(client: LanguageClient, codes: set[str]) -> Sequence[lsp.Diagnostic]:
    """The diagnostics of URI once their codes are ``codes``, or the third publication's: the answer to
    workspace/configuration may arrive after the first publication."""
    for _ in range(3):
        await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if {d.code for d in client.diagnostics[URI]} == codes:
            break
    return client.diagnostics[URI]


@pytest.mark.asyncio
async def test_workspace_configuration_selects_rules(configured_client: LanguageClient):
    open_document(configured_client, URI, MERGEABLE + "RUN pip install flask\n")
    assert {d.code for d in await configured_diagnostics(configured_client, {"DF105"})} == {"DF105"}


async def assert_digest_pinned(client: LanguageClient, folder: Path, digest: str) -> None:
    """DF303 with pin-digests on: one diagnostic on the FROM and a quick fix that pins it."""
    uri, text = (folder / "Dockerfile").as_uri(), "FROM debian:bookworm\n"
    open_document(client, uri, text)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.code == "DF303" and "not pinned by digest" in diagnostic.message
    params = lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=whole(text),
        context=lsp.CodeActionContext(diagnostics=[]),
    )
    found = served_actions(await client.text_document_code_action_async(params))
    quick = next(a for a in found if a.title.startswith("DF303:"))
    assert apply(text, edit_of(quick)) == f"# tag: debian:bookworm\nFROM debian:bookworm@{digest}\n"


@pytest.mark.asyncio
async def test_rule_options_from_the_workspace_configuration(client: LanguageClient):
    folder = Path(tempfile.mkdtemp(prefix="dockerfix-lsp-options-"))
    digest = "sha256:" + "ef" * 32
    (folder / ".dockerfix.toml").write_text(f'pin-digests = true\n[digests]\n"debian:bookworm" = "{digest}"\n')
    await assert_digest_pinned(client, folder, digest)


CLIENT_DIGEST = "sha256:" + "ab" * 32


@pytest_lsp.fixture(config=SERVER)
async def digest_client(lsp_client: LanguageClient):
    options = {"pin-digests": True, "digests": {"debian:bookworm": CLIENT_DIGEST}}
    await lsp_client.initialize_session(
        lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), initialization_options=options)
    )
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_rule_options_from_the_client(digest_client: LanguageClient):
    await assert_digest_pinned(
        digest_client, Path(tempfile.mkdtemp(prefix="dockerfix-lsp-client-options-")), CLIENT_DIGEST
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text",
    [
        "FROM debian:bookworm\r\nRUN curl -fsSLo /app https://example.invalid/app\r\nRUN chmod 755 /app\r\n"
        "RUN pip install flask\r\n",
        "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\rRUN x\nRUN chmod 755 /app\n"
        "RUN pip install flask\n",
    ],
)
async def test_quick_fixes_edit_what_the_pipeline_edits_whatever_the_line_ends(client: LanguageClient, text: str):
    """Each quick fix, applied by a client that counts lines as LSP does, gives the text the fix's own edits give."""
    open_document(client, URI, text)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    source = Source(text, str(FOLDER / "Dockerfile"))
    findings = pipeline.run_source(source, Settings()).findings
    fixed = [finding for finding in findings if finding.fix is not None and finding.fix.applicability == "safe"]
    assert fixed
    served = {action.title: action for action in await actions(client, text)}
    for finding in fixed:
        fix = finding.fix
        assert fix is not None
        expected = text
        for edit in sorted(fix.edits, key=lambda edit: (edit.range.start.line, edit.range.start.column))[::-1]:
            start = source.offset(edit.range.start.line, edit.range.start.column)
            end = source.offset(edit.range.end.line, edit.range.end.column)
            expected = expected[:start] + edit.content + expected[end:]
        assert apply(text, edit_of(served[f"{finding.code}: {fix.title}"])) == expected
