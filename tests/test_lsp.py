"""The language server, driven by a real LSP client (pytest-lsp) over stdio."""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from dockerfix.rewriter import pipeline
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.source import Source

FOLDER = Path(tempfile.mkdtemp(prefix="dockerfix-lsp-"))
# a merge saves only a layer: the project asks for DF101 by its code, so every merge is reported (min-gain)
(FOLDER / ".dockerfix.toml").write_text('extend-select = ["DF101"]\n')
URI = (FOLDER / "Dockerfile").as_uri()
MERGEABLE = "FROM debian:bookworm\nRUN mkdir -p /app\nRUN chmod 755 /app\n"
MERGED = "FROM debian:bookworm\nRUN mkdir -p /app \\\n    && chmod 755 /app\n"
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "dockerfix", "lsp"])


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


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


def open_document(client: LanguageClient, text: str, uri: str = URI, version: int = 1) -> None:
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="dockerfile", version=version, text=text)
        )
    )


def offset(text: str, position: lsp.Position) -> int:
    """Offset of a UTF-16 position (the default encoding)."""
    lines = text.splitlines(keepends=True) or [""]
    if position.line >= len(lines):
        return len(text)
    line = lines[position.line]
    units = 0
    for index, char in enumerate(line):
        if units >= position.character:
            return sum(len(previous) for previous in lines[: position.line]) + index
        units += len(char.encode("utf-16-le")) // 2
    return sum(len(previous) for previous in lines[: position.line]) + len(line)


def apply(text: str, edit: lsp.WorkspaceEdit) -> str:
    (change,) = edit.document_changes
    for text_edit in sorted(change.edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = (
            text[: offset(text, text_edit.range.start)] + text_edit.new_text + text[offset(text, text_edit.range.end) :]
        )
    return text


def whole(text: str) -> lsp.Range:
    return lsp.Range(
        start=lsp.Position(line=0, character=0), end=lsp.Position(line=len(text.splitlines()), character=0)
    )


async def actions(client: LanguageClient, text: str, only: list[str] | None = None) -> list[lsp.CodeAction]:
    params = lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=URI),
        range=whole(text),
        context=lsp.CodeActionContext(diagnostics=[], only=only),
    )
    return await client.text_document_code_action_async(params)


@pytest.mark.asyncio
async def test_push_diagnostics_quick_fix_fix_all_suppress_and_hover(client: LanguageClient):
    open_document(client, MERGEABLE)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diagnostic,) = client.diagnostics[URI]
    assert diagnostic.code == "DF101" and diagnostic.source == "dockerfix"
    assert diagnostic.range.start == lsp.Position(line=1, character=0)

    found = await actions(client, MERGEABLE)
    quick = next(a for a in found if a.title.startswith("DF101:"))
    assert quick.is_preferred and apply(MERGEABLE, quick.edit) == MERGED
    assert quick.edit.document_changes[0].text_document.version == 1
    suppress = next(a for a in found if a.title.startswith("Suppress DF101"))
    assert apply(MERGEABLE, suppress.edit) == MERGEABLE.replace("RUN mkdir", "# dockerfix: ignore=DF101\nRUN mkdir")
    assert any(a.title == "Show documentation for DF101" for a in found)

    (fix_all,) = await actions(client, MERGEABLE, only=["source.fixAll.dockerfix"])
    expected = pipeline.run_source(
        Source(MERGEABLE, str(FOLDER / "Dockerfile")), Settings(extend_select=("DF101",))
    ).new_text
    assert apply(MERGEABLE, fix_all.edit) == expected == MERGED

    hover = await client.text_document_hover_async(
        lsp.HoverParams(text_document=lsp.TextDocumentIdentifier(uri=URI), position=lsp.Position(line=1, character=2))
    )
    assert "DF101" in hover.contents.value and "1 layer fewer" in hover.contents.value


@pytest.mark.asyncio
async def test_incremental_changes_update_diagnostics(client: LanguageClient):
    open_document(client, MERGEABLE)
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
    open_document(client, "FROM debian\nRUN <<EOF\necho never closed\n")
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diagnostic,) = client.diagnostics[URI]
    assert diagnostic.severity == lsp.DiagnosticSeverity.Error and "unterminated heredoc" in diagnostic.message
    assert diagnostic.range.start.line == 1


@pytest.mark.asyncio
async def test_utf16_positions(client: LanguageClient):
    text = "FROM debian\nRUN echo 😀é && pip install flask\n"
    open_document(client, text)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    diagnostic = next(d for d in client.diagnostics[URI] if d.code == "DF105")
    line = text.splitlines()[1]
    assert diagnostic.range.start.character == len(line[: line.index("pip install")].encode("utf-16-le")) // 2


@pytest.mark.asyncio
async def test_pull_diagnostics_and_random_edits(pull_client: LanguageClient):
    text = MERGEABLE + "RUN apt-get update && apt-get install -y curl\n"
    open_document(pull_client, text)
    report = await pull_client.text_document_diagnostic_async(
        lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=URI))
    )
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
    try:
        expected = {
            f.code
            for f in pipeline.run_source(Source(text, str(FOLDER / "Dockerfile")), Settings(unsafe_fixes=True)).findings
        }
    except Exception:
        expected = {None}
    assert {item.code for item in report.items} == expected


def position(text: str, index: int) -> lsp.Position:
    before = text[:index]
    line = before.count("\n")
    column = before[before.rfind("\n") + 1 :]
    return lsp.Position(line=line, character=len(column.encode("utf-16-le")) // 2)


@pytest_lsp.fixture(config=SERVER)
async def configured_client(lsp_client: LanguageClient):
    lsp_client.set_configuration({"select": ["DF105"]}, section="dockerfix")
    capabilities = lsp.ClientCapabilities(workspace=lsp.WorkspaceClientCapabilities(configuration=True))
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=capabilities))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_workspace_configuration_selects_rules(configured_client: LanguageClient):
    open_document(configured_client, MERGEABLE + "RUN pip install flask\n")
    for _ in range(3):  # the answer to workspace/configuration may arrive after the first publication
        await configured_client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if {d.code for d in configured_client.diagnostics[URI]} == {"DF105"}:
            break
    assert {d.code for d in configured_client.diagnostics[URI]} == {"DF105"}


async def assert_digest_pinned(client: LanguageClient, folder: Path, digest: str) -> None:
    """DF303 with pin-digests on: one diagnostic on the FROM and a quick fix that pins it."""
    uri, text = (folder / "Dockerfile").as_uri(), "FROM debian:bookworm\n"
    open_document(client, text, uri=uri)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.code == "DF303" and "not pinned by digest" in diagnostic.message
    params = lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri),
        range=whole(text),
        context=lsp.CodeActionContext(diagnostics=[]),
    )
    quick = next(a for a in await client.text_document_code_action_async(params) if a.title.startswith("DF303:"))
    assert apply(text, quick.edit) == f"# tag: debian:bookworm\nFROM debian:bookworm@{digest}\n"


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
