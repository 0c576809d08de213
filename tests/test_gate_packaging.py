"""The package as users install it: a wheel built with `python -m build`, checked by twine, installed in a fresh
virtual environment and run, with only the CLI's dependencies; the release workflow and the Actions valid against
GitHub's schemas (as check-jsonschema ships them)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import REPO

EXTRA_ONLY = {"pygls", "lsprotocol", "httpx", "pyjwt", "cryptography", "cffi"}


def run(*command, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """sdist and wheel of the committed tree, built in a clone (a build writes into the tree it builds)."""
    clone = tmp_path_factory.mktemp("clone") / "dockerfix"
    run("git", "clone", "-q", REPO, clone)
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, clone)
    return out


def test_the_wheel_passes_twine_check_and_carries_license_and_data(dist):
    files = sorted(dist.iterdir())
    assert sorted(path.suffix for path in files) == [".gz", ".whl"]
    run(sys.executable, "-m", "twine", "check", "--strict", *files)
    names = zipfile.ZipFile(next(dist.glob("*.whl"))).namelist()
    assert any(name.endswith("licenses/LICENSE") for name in names)
    assert any(name.startswith("dockerfix/templates/") for name in names)
    assert "dockerfix/rules/df002_buildkit_refuses.py" in names


def test_the_wheel_installs_in_a_fresh_environment_with_only_the_cli_dependencies_and_runs(dist, tmp_path):
    venv = tmp_path / "fresh"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "pip", "install", "-q", next(dist.glob("*.whl")))
    installed = {line.split("==")[0].lower() for line in run(venv / "bin" / "pip", "freeze").stdout.split()}
    assert not installed & EXTRA_ONLY, installed & EXTRA_ONLY
    dockerfix = venv / "bin" / "dockerfix"
    assert run(dockerfix, "--version").stdout.startswith("dockerfix ")
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:bookworm\nRUN curl -fsSLo /a https://example.invalid/a\nRUN chmod 755 /a\n"
    )
    check = subprocess.run(
        [dockerfix, "check", "Dockerfile"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 1 and "DF101" in check.stdout
    for command, extra in (("lsp", "lsp"), ("bot", "bot")):
        missing = subprocess.run(
            [dockerfix, command], cwd=tmp_path, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )
        assert missing.returncode == 2 and f"pip install 'dockerfix[{extra}]'" in missing.stderr, missing.stderr


@pytest.mark.parametrize(
    "path, schema",
    [
        (".github/workflows/release.yml", "vendor.github-workflows"),
        ("action.yml", "vendor.github-actions"),
        ("lint/action.yml", "vendor.github-actions"),
    ],
)
def test_workflows_and_actions_are_valid(path, schema):
    run(sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, REPO / path)


def test_the_release_publishes_with_trusted_publishing_and_the_lint_action_uploads_sarif():
    release = yaml.safe_load((REPO / ".github/workflows/release.yml").read_text())
    publish = release["jobs"]["publish"]
    assert publish["permissions"]["id-token"] == "write"
    [upload] = [step for step in publish["steps"] if step.get("uses", "").startswith("pypa/gh-action-pypi-publish")]
    assert "password" not in upload.get("with", {})  # no stored token: PyPI trusts the workflow's identity
    image = release["jobs"]["image"]  # dockerfix's own image, pushed with the workflow's token on the same tags
    assert image["needs"] == "build" and image["permissions"]["packages"] == "write"
    builds = [step["with"] for step in image["steps"] if step.get("uses", "").startswith("docker/build-push-action")]
    assert {build["file"] for build in builds} == {"docker/Dockerfile"} and any(build.get("push") for build in builds)
    lint = (REPO / "lint/action.yml").read_text()
    assert "github/codeql-action/upload-sarif" in lint and "--output-format sarif" in lint


def test_the_bot_action_installs_the_bot_extra():
    """`pip install dockerfix` is the CLI alone: the bot's Action must ask for the bot's dependencies."""
    bot = (REPO / "action.yml").read_text()
    assert 'install -q "$GITHUB_ACTION_PATH[bot]"' in bot and 'dockerfix" bot' in bot
