"""A rule that fails never leaves a run looking clean: the command line (text, JSON, SARIF, GitHub, stdin), the
language server and the bot all say so. Issue 15: 13 rules failed on a deep shell script and the run said
"All checks passed." and exited 0. The failing rule is a real plugin, found through its entry point."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from bot_fake_github import ASKS_FOR_MERGES, REPO, TOKEN, FakeGitHub, Remote
from conftest import language_client, open_document, plugin_environment, plugin_installed_from, plugin_site
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from dockerfix.bot.command import main as bot_main

CRASHING_PLUGIN = '''
    from dockerfix.rewriter.rule import Rule

    class Crashes(Rule):
        """What it does: crashes. Why: a test. Example: any file. Fix safety: no fix."""
        code = "DF951"
        name = "crashes"
        summary = "Crashes."

        def check(self, document, context):
            raise RecursionError("maximum recursion depth exceeded")
'''
MERGEABLE = "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n"
CLEAN = "FROM debian:bookworm\nCOPY . /app\n"
SITE = plugin_site(Path(tempfile.mkdtemp(prefix="dockerfix-plugin-")), CRASHING_PLUGIN)
ENVIRONMENT = plugin_environment(SITE)


def dockerfix(*arguments: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dockerfix", *arguments],
        cwd=cwd,
        input=stdin,
        env=ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_command_line_exits_2_and_says_the_result_is_incomplete(tmp_path):
    (tmp_path / "Dockerfile").write_text(CLEAN)
    for mode in ([], ["--check"], ["--write"], ["--diff"]):
        run = dockerfix(*mode, "Dockerfile", cwd=tmp_path)
        assert run.returncode == 2, (mode, run.stdout, run.stderr)
        assert "All checks passed" not in run.stdout
    text = dockerfix("Dockerfile", cwd=tmp_path).stdout
    assert "Dockerfile: rule bug: DF951: RecursionError" in text
    assert "1 rule failure in 1 file" in text and "incomplete" in text


def test_fixes_still_apply_and_the_summary_counts_the_failure(tmp_path):
    (tmp_path / "Dockerfile").write_text(MERGEABLE)
    run = dockerfix("--extend-select", "DF101", "--write", "Dockerfile", cwd=tmp_path)
    assert run.returncode == 2
    assert "rewrote 1 file. 1 rule failure in 1 file" in run.stdout
    assert (tmp_path / "Dockerfile").read_text() != MERGEABLE


def test_machine_readable_outputs_carry_the_failure(tmp_path):
    (tmp_path / "Dockerfile").write_text(CLEAN)
    as_json = json.loads(dockerfix("--output-format", "json", "Dockerfile", cwd=tmp_path).stdout)
    assert as_json["files"][0]["rule_failures"] == ["DF951: RecursionError: maximum recursion depth exceeded"]
    sarif = json.loads(dockerfix("--output-format", "sarif", "Dockerfile", cwd=tmp_path).stdout)
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "rule bug: DF951" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    github = dockerfix("--output-format", "github", "Dockerfile", cwd=tmp_path).stdout
    assert github.startswith("::error file=Dockerfile,title=dockerfix rule bug::DF951: RecursionError")


def test_standard_input_keeps_the_text_and_exits_2(tmp_path):
    piped = dockerfix("-", cwd=tmp_path, stdin=CLEAN)
    assert piped.returncode == 2 and "rule bug: DF951" in piped.stderr and piped.stdout == CLEAN


client = language_client(ENVIRONMENT)


@pytest.mark.asyncio
async def test_language_server_shows_the_failure_as_an_error(client: LanguageClient, tmp_path):
    uri = (tmp_path / "Dockerfile").as_uri()
    open_document(client, uri, CLEAN)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diagnostic,) = client.diagnostics[uri]
    assert (
        diagnostic.severity == lsp.DiagnosticSeverity.Error
        and "rule bug" in diagnostic.message
        and "DF951" in diagnostic.message
    )


plugin_installed = plugin_installed_from(SITE)


def test_bot_exits_2_and_names_the_failure(plugin_installed, tmp_path, capsys, monkeypatch):
    remote = Remote(tmp_path, {"Dockerfile": MERGEABLE, **ASKS_FOR_MERGES})
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    forge = FakeGitHub(TOKEN)
    forge.host(REPO, remote.bare)
    code = bot_main(["--repo", REPO, "--dry-run"], transport=forge.transport())
    out, err = capsys.readouterr()
    assert code == 2
    assert out.startswith(f"{REPO}: would open a pull request (Dockerfile)")  # the other rules' fixes still come
    assert f"error: {REPO}: rule bug: Dockerfile: DF951: RecursionError" in err
