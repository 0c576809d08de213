"""The language server reads a folder's build context again when files in it change (issue 19, item 10): after a
fix-all that creates `.dockerignore`, DF204 must not be reported again nor a `CreateFile` offered for a file that now
exists (an editor following the specification rejects the whole edit). Driven over stdio (tests/lsp_wire.py)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from lsp_wire import WireClient

NODE = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
OPTIONS = {"unsafeFixes": True, "select": ["DF204"]}
CREATES_FILES = {"workspaceEdit": {"documentChanges": True, "resourceOperations": ["create"]}}
WATCHES = {**CREATES_FILES, "didChangeWatchedFiles": {"dynamicRegistration": True}}
CREATED = 1
FIX_ALL = "source.fixAll.dockerfix"


def node_context(folder: Path) -> str:
    """A folder whose `COPY . .` sends node_modules (DF204), and the URI of its Dockerfile."""
    (folder / "node_modules/a").mkdir(parents=True)
    (folder / "node_modules/a/index.js").write_text("1\n")
    (folder / "Dockerfile").write_text(NODE)
    return (folder / "Dockerfile").as_uri()


def codes(client: WireClient, uri: str) -> set[str]:
    """The codes of the next diagnostics published for ``uri``."""
    published = client.next_message(
        lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
    )
    return {diagnostic.get("code") for diagnostic in published["params"]["diagnostics"]}


def code_actions(client: WireClient, uri: str, only: list[str] | None = None) -> list[dict]:
    everything = {"start": {"line": 0, "character": 0}, "end": {"line": 4, "character": 0}}
    return client.request(
        "textDocument/codeAction",
        {"textDocument": {"uri": uri}, "range": everything, "context": {"diagnostics": [], "only": only}},
    )["result"]


def path_of(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def apply_to_disk(edit: dict) -> None:
    """What an editor does with the server's edit of another file: create it, then replace its whole (empty) text."""
    for change in edit["documentChanges"]:
        if change.get("kind") == "create":
            assert not path_of(change["uri"]).exists()
            path_of(change["uri"]).write_text("")
        elif change["textDocument"]["uri"].endswith("/.dockerignore"):
            (text_edit,) = change["edits"]
            assert text_edit["range"]["end"] == {"line": 0, "character": 0}
            path_of(change["textDocument"]["uri"]).write_text(text_edit["newText"])


def test_fix_all_creating_the_ignore_file_is_seen_through_the_registered_watcher(tmp_path: Path):
    uri = node_context(tmp_path)
    ignore_uri = (tmp_path / ".dockerignore").as_uri()
    client = WireClient()
    client.initialize({"workspace": WATCHES}, options=OPTIONS)
    registration = client.next_message(lambda m: m.get("method") == "client/registerCapability")
    (registered,) = registration["params"]["registrations"]
    assert registered["method"] == "workspace/didChangeWatchedFiles"
    assert [watcher["globPattern"] for watcher in registered["registerOptions"]["watchers"]] == ["**/*"]
    client.open(uri, NODE)
    assert "DF204" in codes(client, uri)
    (fix_all,) = code_actions(client, uri, [FIX_ALL])
    apply_to_disk(fix_all["edit"])
    client.forget()
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": ignore_uri, "type": CREATED}]})
    assert "DF204" not in codes(client, uri)
    assert code_actions(client, uri) == []
    client.close()


def test_saving_the_dockerfile_reads_its_folder_again(tmp_path: Path):
    """A client without watchers: the ignore file written meanwhile counts from the next save on."""
    uri = node_context(tmp_path)
    client = WireClient()
    client.initialize({"workspace": CREATES_FILES}, options=OPTIONS)
    client.open(uri, NODE)
    assert "DF204" in codes(client, uri)
    (tmp_path / ".dockerignore").write_text("node_modules\nDockerfile\n.dockerignore\n")
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert "DF204" not in codes(client, uri)
    registrations = [m for m in client.backlog if m.get("method") == "client/registerCapability"]
    assert registrations == []  # the client cannot register watchers dynamically: it is not asked to
    client.close()


def test_reopening_a_document_reads_its_folder_again(tmp_path: Path):
    """A file that changed while no document of its folder was open (so nothing was watched for it)."""
    uri = node_context(tmp_path)
    client = WireClient()
    client.initialize({"workspace": CREATES_FILES}, options=OPTIONS)
    client.open(uri, NODE)
    assert "DF204" in codes(client, uri)
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert codes(client, uri) == set()  # closing clears its diagnostics
    (tmp_path / ".dockerignore").write_text("node_modules\nDockerfile\n.dockerignore\n")
    client.open(uri, NODE)
    assert "DF204" not in codes(client, uri)
    client.close()


def test_a_pull_client_is_asked_to_pull_again_and_gets_the_new_findings(tmp_path: Path):
    uri = node_context(tmp_path)
    client = WireClient()
    client.initialize(
        {"workspace": {**WATCHES, "diagnostics": {"refreshSupport": True}}, "textDocument": {"diagnostic": {}}},
        options=OPTIONS,
    )
    client.open(uri, NODE)
    pull = {"textDocument": {"uri": uri}}
    assert "DF204" in {item.get("code") for item in client.request("textDocument/diagnostic", pull)["result"]["items"]}
    (tmp_path / ".dockerignore").write_text("node_modules\nDockerfile\n.dockerignore\n")
    client.notify(
        "workspace/didChangeWatchedFiles",
        {"changes": [{"uri": (tmp_path / ".dockerignore").as_uri(), "type": CREATED}]},
    )
    client.next_message(lambda m: m.get("method") == "workspace/diagnostic/refresh")
    assert "DF204" not in {
        item.get("code") for item in client.request("textDocument/diagnostic", pull)["result"]["items"]
    }
    client.close()
