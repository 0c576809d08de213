"""Every run ends. Issue 19, item 8: `FROM golang AS golang` (a stage named like its base image, a real file) sent
DF117's walk up the stage chain into an endless loop, and the whole run hung, in every surface. The walks over stage
chains now end by construction, and a rule that still does not end costs its own file, not the run: each file's
analysis has a wall-clock budget (`time-budget`), past which the file gets a rule failure (exit 2) and the others go
on. The rule that never ends here is a real plugin, found through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from bot_fake_github import REPO, TOKEN, FakeGitHub, Remote
from conftest import language_client, open_document, plugin_environment, plugin_installed_from, plugin_site
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from dockerfix.bot.command import main as bot_main
from dockerfix.rewriter.budget import OverBudget, time_budget
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.engine import fix
from dockerfix.rewriter.registry import all_rules
from dockerfix.rewriter.source import Source

NEVER_ENDING_PLUGIN = '''
    from dockerfix.rewriter.rule import Rule

    class NeverEnds(Rule):
        """What it does: loops for ever, catching every Exception. Why: a test. Example: any file.
        Fix safety: no fix."""
        code = "DF952"
        name = "never-ends"
        summary = "Never ends."

        def check(self, document, context):
            while True:
                try:
                    sum(range(1000))
                except Exception:
                    pass
'''
MERGEABLE = "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n"
SITE = plugin_site(Path(tempfile.mkdtemp(prefix="dockerfix-plugin-")), NEVER_ENDING_PLUGIN, module="never_ending_rules")
ENVIRONMENT = plugin_environment(SITE)
BUDGET = "time-budget = 1\n"


def dockerfix(
    *arguments: str, cwd: Path, environment: dict | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dockerfix", *arguments],
        cwd=cwd,
        input=stdin,
        env=environment or {**os.environ, "CI": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "text",
    [
        "FROM golang AS golang\nRUN echo hi\n",
        "FROM golang AS golang\nRUN apt-get update && apt-get install -y gcc && gcc -o /x /x.c\n",
        "FROM debian AS base\nFROM base AS Base\nRUN apt-get install -y gcc && gcc -o /x /x.c\n",
    ],
)
def test_a_stage_named_like_its_base_image_ends(tmp_path, text):
    (tmp_path / "Dockerfile").write_text(text)
    run = dockerfix("--unsafe-fixes", "Dockerfile", cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr
    assert "rule bug" not in run.stdout


STAGE_NAMES = st.sampled_from(["golang", "base", "Base", "debian", "build", "${IMAGE}", "$BASE", "scratch", "node:20"])


@settings(max_examples=150, deadline=None)
@given(
    stages=st.lists(
        st.tuples(STAGE_NAMES, st.one_of(st.none(), st.sampled_from(["golang", "base", "BASE", "debian", "build"]))),
        min_size=1,
        max_size=6,
    ),
    argument=st.one_of(st.none(), STAGE_NAMES),
)
def test_every_walk_over_stage_chains_ends(stages, argument):
    """Any chain of names (a stage named like its image, like a later stage, a name given twice, an ARG base with or
    without a default): every rule finishes well inside a short budget."""
    lines = [f"ARG IMAGE={argument}\nARG BASE\n" if argument else "ARG BASE\n"]
    for image, name in stages:
        lines.append(
            f"FROM {image}{f' AS {name}' if name else ''}\nRUN apt-get install -y gcc && gcc -o /x /x.c\nCOPY . /src\n"
        )
    source = Source.decode("".join(lines).encode(), "Dockerfile")
    with time_budget(20):
        fix(source, [rule() for rule in all_rules()], unsafe_fixes=True)


def test_the_budget_interrupts_a_loop_that_catches_every_exception():
    started = time.monotonic()
    with pytest.raises(OverBudget):
        with time_budget(0.2):
            while True:
                try:
                    sum(range(1000))
                except Exception:
                    pass
    assert time.monotonic() - started < 10


def test_an_interruption_is_raised_inside_the_block_or_never():
    for seconds in (0.0001, 0.001, 0.01):
        for _ in range(100):
            try:
                with time_budget(seconds):
                    sum(range(1000))
            except OverBudget:
                pass
            for _ in range(2000):  # an interruption delivered late would be raised here, outside its block
                sum(range(10))


def test_the_budget_interrupts_the_thread_that_analyses_not_the_caller():
    outcome = []

    def analyse():
        try:
            with time_budget(0.2):
                while True:
                    pass
        except OverBudget:
            outcome.append("interrupted")

    worker = threading.Thread(target=analyse)
    worker.start()
    worker.join(10)
    assert outcome == ["interrupted"]


# Fires a budget (a loop that catches every exception), then runs traced code, as coverage or a debugger would
AFTER_AN_INTERRUPTION_TRACED = """
import sys
from dockerfix.rewriter.budget import OverBudget, time_budget
try:
    with time_budget(0.05):
        while True:
            try:
                sum(range(100))
            except Exception:
                pass
except OverBudget:
    pass
def trace(frame, event, argument):
    return trace
sys.settrace(trace)
print(sum(len(str(number)) for number in range(20000)))
"""


def test_a_process_whose_budget_fired_still_runs_traced_code():
    # before: the interruption was withdrawn with PyThreadState_SetAsyncExc(NULL), which leaves CPython 3.11's pending
    # flag set: under a trace function the next instruction looped for ever (pytest hung running test_scale, which
    # counts lines with sys.settrace, after this file)
    run = subprocess.run(
        [sys.executable, "-c", AFTER_AN_INTERRUPTION_TRACED], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0 and run.stdout.strip() == "88890", run.stderr


@pytest.fixture
def never_ending_folder(tmp_path):
    (tmp_path / ".dockerfix.toml").write_text(BUDGET)
    for name in ("Dockerfile", *(f"{index}.Dockerfile" for index in range(9))):  # nine: past the worker threshold
        (tmp_path / name).write_text(MERGEABLE)
    return tmp_path


def test_command_line_reports_the_rule_and_goes_on_with_the_other_files(never_ending_folder):
    run = dockerfix("--output-format", "json", ".", cwd=never_ending_folder, environment=ENVIRONMENT)
    assert run.returncode == 2, run.stderr
    files = json.loads(run.stdout)["files"]
    assert len(files) == 10
    for file in files:
        (failure,) = file["rule_failures"]
        assert failure.startswith("DF952: this rule did not finish within the time budget of 1 s")


def test_command_line_on_one_file_and_on_standard_input(never_ending_folder):
    single = dockerfix("--write", "Dockerfile", cwd=never_ending_folder, environment=ENVIRONMENT)
    assert single.returncode == 2 and "DF952: this rule did not finish" in single.stdout
    assert (never_ending_folder / "Dockerfile").read_text() == MERGEABLE
    piped = dockerfix("-", cwd=never_ending_folder, environment=ENVIRONMENT, stdin=MERGEABLE)
    assert piped.returncode == 2 and piped.stdout == MERGEABLE


def test_a_bad_budget_is_a_configuration_error(tmp_path):
    (tmp_path / "Dockerfile").write_text(MERGEABLE)
    for value in ("0", "-1", "true", '"60"'):
        (tmp_path / ".dockerfix.toml").write_text(f"time-budget = {value}\n")
        run = dockerfix("Dockerfile", cwd=tmp_path)
        assert run.returncode == 2 and "`time-budget` must be a number of seconds" in run.stderr, (value, run.stderr)


def test_the_default_budget_is_far_above_the_slowest_corpus_file():
    assert Settings().time_budget >= 30


client = language_client(ENVIRONMENT)


@pytest.mark.asyncio
async def test_language_server_answers_after_a_rule_that_never_ends(client: LanguageClient, never_ending_folder):
    uri = (never_ending_folder / "Dockerfile").as_uri()
    open_document(client, uri, MERGEABLE)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert any(
        "DF952" in diagnostic.message and "time budget" in diagnostic.message for diagnostic in client.diagnostics[uri]
    )
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=MERGEABLE + "# edited\n")],
        )
    )
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)  # the analysis thread is free again


plugin_installed = plugin_installed_from(SITE)


def test_bot_exits_2_and_names_the_rule(plugin_installed, tmp_path, capsys, monkeypatch):
    remote = Remote(tmp_path, {"Dockerfile": MERGEABLE, ".dockerfix.toml": BUDGET})
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    forge = FakeGitHub(TOKEN)
    forge.host(REPO, remote.bare)
    code = bot_main(["--repo", REPO, "--dry-run"], transport=forge.transport())
    _, err = capsys.readouterr()
    assert code == 2
    assert "DF952: this rule did not finish within the time budget of 1 s" in err


def test_one_watchdog_thread_serves_every_budget():
    """A thread started per file cost more than checking a small file (issue 22): the budgets of a whole run share
    one thread (started by the first budget of the process, maybe an earlier test's)."""
    before = set(threading.enumerate())
    seen: set[threading.Thread] = set()  # kept alive, so a finished thread's identity is not reused
    for _ in range(20):
        with time_budget(30):
            seen.update(threading.enumerate())
    assert len(seen - before) <= 1
