"""The language server and fixes of other files: a client that can create files gets a CreateFile and the file's
text in the workspace edit; any other client gets the finding as display-only (no quick fix)."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient
from test_lsp import document_changes, document_edit, edit_of, served_actions, text_edits

FOLDER = Path(tempfile.mkdtemp(prefix="dockerfix-lsp-files-"))
# a merge saves only a layer: the project asks for DF101 by its code, so every merge is reported (min-gain)
(FOLDER / ".dockerfix.toml").write_text('extend-select = ["DF101"]\n')
NODE = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
pytestmark = pytest.mark.asyncio
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "dockerfix", "lsp"])
OPTIONS = {"unsafeFixes": True, "select": ["DF204"]}
CREATES = lsp.ClientCapabilities(
    workspace=lsp.WorkspaceClientCapabilities(
        workspace_edit=lsp.WorkspaceEditClientCapabilities(
            document_changes=True, resource_operations=[lsp.ResourceOperationKind.Create]
        )
    )
)


def context(name: str, ignore: str | None = None) -> str:
    folder = FOLDER / name
    (folder / "node_modules/a").mkdir(parents=True)
    (folder / "node_modules/a/index.js").write_text("1\n")
    (folder / ".env").write_text("KEY=1\n")
    if ignore is not None:
        (folder / ".dockerignore").write_text(ignore)
    (folder / "Dockerfile").write_text(NODE)
    return (folder / "Dockerfile").as_uri()


@pytest_lsp.fixture(config=SERVER)
async def creating_client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=CREATES, initialization_options=OPTIONS))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def plain_client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        lsp.InitializeParams(capabilities=lsp.ClientCapabilities(), initialization_options=OPTIONS)
    )
    yield
    await lsp_client.shutdown_session()


async def code_actions(
    client: LanguageClient, uri: str, only: list[str] | None = None
) -> Sequence[lsp.Command | lsp.CodeAction]:
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="dockerfile", version=1, text=NODE)
        )
    )
    everything = lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=4, character=0))
    return served_actions(
        await client.text_document_code_action_async(
            lsp.CodeActionParams(
                text_document=lsp.TextDocumentIdentifier(uri=uri),
                range=everything,
                context=lsp.CodeActionContext(diagnostics=[], only=only),
            )
        )
    )


async def test_a_client_that_creates_files_gets_the_new_ignore_file(creating_client: LanguageClient):
    uri = context("create")
    ignore_uri = (FOLDER / "create" / ".dockerignore").as_uri()
    (action,) = [
        action for action in await code_actions(creating_client, uri, ["quickfix"]) if action.title.startswith("DF204:")
    ]
    create, edit = document_changes(edit_of(action))
    assert isinstance(create, lsp.CreateFile) and create.uri == ignore_uri
    assert create.options is not None and not create.options.overwrite
    assert document_edit(edit).text_document.uri == ignore_uri and document_edit(edit).text_document.version is None
    (text_edit,) = text_edits(edit)
    assert text_edit.new_text == "**/node_modules\nDockerfile*\n.env\n.dockerignore\n"
    assert text_edit.range == lsp.Range(start=lsp.Position(line=0, character=0), end=lsp.Position(line=0, character=0))
    (fix_all,) = await code_actions(creating_client, uri, ["source.fixAll.dockerfix"])
    assert [type(change) for change in document_changes(edit_of(fix_all))] == [lsp.CreateFile, lsp.TextDocumentEdit]
    assert not (FOLDER / "create" / ".dockerignore").exists()  # the client writes, not the server


async def test_an_existing_ignore_file_is_replaced_whole(creating_client: LanguageClient):
    uri = context("extend", ignore="*.log\n!keep.log")
    (action,) = [
        action for action in await code_actions(creating_client, uri, ["quickfix"]) if action.title.startswith("DF204:")
    ]
    (edit,) = document_changes(edit_of(action))
    (text_edit,) = text_edits(edit)
    assert text_edit.range.end == lsp.Position(line=1, character=len("!keep.log"))
    assert text_edit.new_text == "*.log\n!keep.log\n**/node_modules\nDockerfile*\n.env\n"


async def test_a_client_that_cannot_create_files_gets_a_display_only_finding(plain_client: LanguageClient):
    uri = context("plain")
    found = await code_actions(plain_client, uri)
    titles = [action.title for action in found]
    assert "Suppress DF204 for this instruction" in titles
    assert not [title for title in titles if title.startswith("DF204:") or title == "dockerfix: apply all fixes"]


async def test_an_ignore_file_with_a_byte_order_mark_is_edited_without_it(creating_client: LanguageClient):
    """An editor shows a file's BOM as its encoding, not as text (issue 19, item 12): the edit neither counts it in
    positions nor sends U+FEFF, which would add a second one."""
    folder = FOLDER / "bom"
    folder.mkdir()
    (folder / ".dockerignore").write_bytes("\ufeff*.log".encode())
    uri = context("bom")
    (quick_fix,) = [
        action for action in await code_actions(creating_client, uri, ["quickfix"]) if action.title.startswith("DF204:")
    ]
    (fix_all,) = await code_actions(creating_client, uri, ["source.fixAll.dockerfix"])
    for action in (quick_fix, fix_all):
        (edit,) = [
            change
            for change in document_changes(edit_of(action))
            if document_edit(change).text_document.uri.endswith("/.dockerignore")
        ]
        (text_edit,) = text_edits(edit)
        assert text_edit.range.end == lsp.Position(line=0, character=len("*.log"))
        assert text_edit.new_text == "*.log\n**/node_modules\nDockerfile*\n.env\n"


async def test_an_ignore_file_that_is_no_utf8_is_never_edited(creating_client: LanguageClient):
    """Its text cannot travel in JSON as it is: the editor would write U+FFFD over the user's byte 0xff. The finding
    stays, display-only."""
    folder = FOLDER / "latin1"
    folder.mkdir()
    (folder / ".dockerignore").write_bytes(b"*.log\n# caf\xe9\n")
    uri = context("latin1")
    found = await code_actions(creating_client, uri)
    titles = [action.title for action in found]
    assert "Suppress DF204 for this instruction" in titles
    assert not [title for title in titles if title.startswith("DF204:") or title == "dockerfix: apply all fixes"]
