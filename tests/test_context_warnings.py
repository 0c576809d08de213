"""A build context dockerfix does not read (an ignore file Docker would refuse, or one linking out of the context)
leaves the context rules quiet; every surface says so instead of reporting the file as clean."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

DOCKERFILE = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
FOLDER = Path(tempfile.mkdtemp(prefix="dockerfix-context-warning-"))
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "dockerfix", "lsp"])


def refused_context(folder: Path) -> Path:
    (folder / "Dockerfile").write_text(DOCKERFILE)
    (folder / "package.json").write_text("{}\n")
    (folder / ".dockerignore").write_text("node_modules\nsrc/[a-\n")  # an unclosed character class
    return folder / "Dockerfile"


def dockerfix(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dockerfix", "--no-progress", *arguments], capture_output=True, text=True
    )


def test_the_cli_and_its_json_say_the_context_was_not_read(tmp_path: Path):
    dockerfile = refused_context(tmp_path)
    text = dockerfix(str(dockerfile))
    assert (
        f"{dockerfile}: warning: the build context is not read ({tmp_path / '.dockerignore'}: syntax error in pattern"
        in text.stdout
    )
    assert "bad character class" in text.stdout
    (file,) = json.loads(dockerfix("--output-format", "json", str(dockerfile)).stdout)["files"]
    assert len(file["warnings"]) == 1 and "rules that need its files report nothing" in file["warnings"][0]
    github = dockerfix("--output-format", "github", str(dockerfile)).stdout
    assert f"::warning file={dockerfile},title=dockerfix::the build context is not read" in github.replace("%3A", ":")


def test_the_diff_keeps_the_warning_on_stderr_and_stdout_a_patch(tmp_path: Path):
    """Issue 19, item 13: `--diff` printed no warning, so a refused context looked like a clean one."""
    dockerfile = refused_context(tmp_path)
    for arguments in (["--diff", str(dockerfile)], ["--diff", "-", "--stdin-filename", str(dockerfile)]):
        run = subprocess.run(
            [sys.executable, "-m", "dockerfix", "--no-progress", *arguments],
            input=DOCKERFILE,
            capture_output=True,
            text=True,
        )
        assert f"{dockerfile}: warning: the build context is not read" in run.stderr, arguments
        assert "warning" not in run.stdout


def test_a_readable_context_gives_no_warning(tmp_path: Path):
    dockerfile = refused_context(tmp_path)
    (tmp_path / ".dockerignore").write_text("node_modules\n")
    assert "warning" not in dockerfix(str(dockerfile)).stdout


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_editor_shows_the_warning(client: LanguageClient):
    uri = refused_context(FOLDER).as_uri()
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            text_document=lsp.TextDocumentItem(uri=uri, language_id="dockerfile", version=1, text=DOCKERFILE)
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    warnings = [
        diagnostic for diagnostic in client.diagnostics[uri] if "the build context is not read" in diagnostic.message
    ]
    assert len(warnings) == 1 and warnings[0].severity == lsp.DiagnosticSeverity.Warning
