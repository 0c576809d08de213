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


PYTHON = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
INDEX_LOG = "a new index of the build context"


def initialize_in_workspace(client: WireClient, folder: Path, capabilities: dict) -> None:
    """A session whose workspace is ``folder``: the registered watcher reports the changes of the files below it."""
    client.request(
        "initialize",
        {
            "processId": None,
            "rootUri": folder.as_uri(),
            "workspaceFolders": [{"uri": folder.as_uri(), "name": folder.name}],
            "capabilities": capabilities,
            "initializationOptions": {"unsafeFixes": True},
        },
    )
    client.notify("initialized", {})
    client.next_message(lambda m: m.get("method") == "client/registerCapability")


def open_python_dockerfiles(client: WireClient, folder: Path, names: list[str]) -> dict[str, set[str]]:
    """Open each Dockerfile (written to disk as well) in turn; the codes of its first diagnostics by name."""
    found = {}
    for name in names:
        (folder / name).write_text(PYTHON)
        uri = (folder / name).as_uri()
        client.open(uri, PYTHON)
        found[name] = codes(client, uri)
    return found


def indexes_of(client: WireClient, folder: Path) -> int:
    """How many times the server has said it made a new index of ``folder``'s context (messages arrived so far)."""
    client.request("shutdown", None)  # answered after every notification sent before it: the logs are in
    return sum(
        1
        for message in client.backlog
        if message.get("method") == "window/logMessage"
        and INDEX_LOG in message["params"]["message"]
        and message["params"]["message"].endswith(str(folder.resolve()))
    )


def test_the_dockerfiles_of_one_context_share_its_index(tmp_path: Path):
    """Opening a second Dockerfile of a watched folder does not list the folder again (on main: once per opening)."""
    (tmp_path / "requirements.txt").write_text("flask\n")
    client = WireClient()
    initialize_in_workspace(client, tmp_path, {"workspace": WATCHES})
    found = open_python_dockerfiles(client, tmp_path, ["Dockerfile", "Dockerfile.dev", "Dockerfile.prod"])
    assert found == {name: {"DF201"} for name in found}
    assert indexes_of(client, tmp_path) == 1
    client.notify("exit", None)


def test_a_file_added_to_the_context_changes_the_next_diagnostics_of_every_dockerfile(tmp_path: Path):
    client = WireClient()
    initialize_in_workspace(client, tmp_path, {"workspace": WATCHES})
    assert open_python_dockerfiles(client, tmp_path, ["Dockerfile", "Dockerfile.dev"]) == {
        "Dockerfile": set(),
        "Dockerfile.dev": set(),
    }
    (tmp_path / "requirements.txt").write_text("flask\n")
    client.notify(
        "workspace/didChangeWatchedFiles",
        {"changes": [{"uri": (tmp_path / "requirements.txt").as_uri(), "type": CREATED}]},
    )
    assert codes(client, (tmp_path / "Dockerfile").as_uri()) == {"DF201"}
    assert codes(client, (tmp_path / "Dockerfile.dev").as_uri()) == {"DF201"}
    assert indexes_of(client, tmp_path) == 2
    client.notify("exit", None)


def test_without_a_watcher_opening_a_document_reads_its_folder_again(tmp_path: Path):
    """Nothing tells this server of files written outside the editor: a second Dockerfile opened after one was written
    sees it, though the first Dockerfile of the folder is still open."""
    client = WireClient()
    client.initialize({"workspace": CREATES_FILES}, options={"unsafeFixes": True})
    assert open_python_dockerfiles(client, tmp_path, ["Dockerfile"]) == {"Dockerfile": set()}
    (tmp_path / "requirements.txt").write_text("flask\n")
    assert open_python_dockerfiles(client, tmp_path, ["Dockerfile.dev"]) == {"Dockerfile.dev": {"DF201"}}
    client.close()
