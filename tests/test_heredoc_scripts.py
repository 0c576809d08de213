"""`RUN <<EOF`: the body is the RUN's shell script. Rules see its commands at their place in the body, and a
command added to it keeps what the script did (run in a real shell and compared)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import dockerfile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerfix.knowledge.shelledits import append_blocker, append_edit
from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.engine import Selection
from dockerfix.rewriter.fixes import apply_edits
from dockerfix.rewriter.source import Source

EXAMPLES = int(os.environ.get("DOCKERFIX_EXAMPLES", "150"))


@pytest.mark.parametrize(
    "text, script",
    [
        ("FROM a\nRUN <<EOF\napt-get update\nEOF\n", "apt-get update\n"),
        ("FROM a\nRUN --mount=type=cache,target=/x <<'EOT'\necho $HOME\nEOT\n", "echo $HOME\n"),
        ("FROM a\nRUN <<-EOF\n\t\tset -e\n\techo  one\nEOF\n", "set -e\necho  one\n"),
        ("FROM a\nRUN <<-EOF\n\tapk add curl\n\tEOF\n", "apk add curl\n"),
        ("FROM a\nRUN python3 <<EOF\nprint(1)\nEOF\n", None),  # the body is python3's stdin
        ("FROM a\nRUN cat <<EOF > /etc/motd\nhello\nEOF\n", None),
        ("FROM a\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n", None),  # run with its own interpreter
        ("FROM a\nRUN <<EOF\n#!/bin/sh -e\nfalse\nEOF\n", None),  # not the SHELL: its own options
        ("FROM a\nRUN <<A <<B\necho a\nA\necho b\nB\n", None),  # the shell reads both heredocs as stdin
        ("FROM a\nCOPY <<EOF /x\napt-get update\nEOF\n", None),
    ],
)
def test_which_heredoc_is_the_script(text, script):
    run = parse_text(text).instructions[1]
    heredoc = run.script_heredoc
    assert (heredoc.text if heredoc else None) == script
    if script is not None:
        assert run.shell is not None and run.shell.source == script and not run.shell.has_error


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "\t", "\t\t", "  ", "\t "]),
            st.sampled_from(["apt-get update", "echo é && ls /x", "rm -rf /tmp/*", "x=1"]),
        ),
        min_size=1,
        max_size=5,
    ),
    st.booleans(),
)
def test_commands_map_to_their_place_in_the_body(lines, chomp):
    """Every command of the script maps back to the same text in the Dockerfile, `<<-` stripping tabs or not."""
    body = "".join(f"{indent}{command}\n" for indent, command in lines)
    text = f"FROM a\nRUN <<{'-' if chomp else ''}EOF\n{body}EOF\n"
    document = parse_text(text)
    run = document.instructions[1]
    assert run.shell is not None and run.shell.commands
    for command in run.shell.commands:
        source = text[run.arguments_to_source(command.start) : run.arguments_to_source(command.end, end=True)]
        assert source == run.shell.source[command.start : command.end]
    assert run.shell.source == "".join(
        (line.lstrip("\t") if chomp else line) for line in body.splitlines(keepends=True)
    )


def test_rules_read_the_script_of_the_issue():
    """Issue 14: an apt install in a heredoc RUN got "All checks passed"; DF102 now appends the cleanup inside
    the body, before the terminator, for the classic builder; for BuildKit it mounts the lists as a cache."""
    text = 'FROM debian:12\nRUN <<EOF\napt-get update && apt-get install -y curl\nEOF\nCMD ["curl"]\n'
    rules = Selection(select=("DF102",)).rules()
    result = engine.fix(Source(text), rules, unsafe_fixes=True, options={"target": "legacy"})
    assert [finding.code for finding in result.findings] == ["DF102"]
    assert result.text == (
        "FROM debian:12\nRUN <<EOF\napt-get update && apt-get install -y curl &&\nrm -rf /var/lib/apt/lists/*\nEOF\n"
        'CMD ["curl"]\n'
    )
    mounted = engine.fix(Source(text), rules, unsafe_fixes=True).text
    assert mounted.startswith("FROM debian:12\nRUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked ")
    assert mounted.endswith(' <<EOF\napt-get update && apt-get install -y curl\nEOF\nCMD ["curl"]\n')


def test_a_continued_last_command_is_one_command():
    text = "FROM debian\nRUN <<EOF\napt-get install -y \\\n    git\nEOF\n"
    document = parse_text(text)
    assert append_blocker(document.instructions[1]) is None
    result = apply_edits(text, [append_edit(document, document.instructions[1], "rm -rf /var/lib/apt/lists/*")])
    assert result == "FROM debian\nRUN <<EOF\napt-get install -y \\\n    git &&\nrm -rf /var/lib/apt/lists/*\nEOF\n"


def test_appended_line_keeps_the_body_indentation_and_chomp():
    text = "FROM alpine\nRUN <<-EOF\n\tset -eux\n\tapk update\n\t\tapk add curl # tools\nEOF\n"
    document = parse_text(text)
    result = apply_edits(text, [append_edit(document, document.instructions[1], "rm -rf /var/cache/apk/*")])
    assert (
        result == "FROM alpine\nRUN <<-EOF\n\tset -eux\n\tapk update\n\t\tapk add curl && # tools\n"
        "\t\trm -rf /var/cache/apk/*\nEOF\n"
    )
    assert [command.cmd for command in dockerfile.parse_string(result)] == ["FROM", "RUN"]


@pytest.mark.parametrize(
    "body, reason",
    [
        ("make;\n", "ends with `;`"),
        ("for f in a b; do\n  touch $f\ndone\n", "compound command"),
        ("set -e\nif true; then false; fi\n", "compound command"),
        ("sleep 1 &\n", "background"),
        ("cat > /x <<X\nhi\nX\n", "shell heredoc"),
    ],
)
def test_scripts_nothing_can_follow(body, reason):
    run = parse_text(f"FROM a\nRUN <<EOF\n{body}EOF\n").instructions[1]
    assert reason in (append_blocker(run) or "")


# Lines of a heredoc script: failures, `set -e`, lists whose left side `set -e` ignores, comments and blank lines.
LINES = [
    "touch f1",
    "echo a >> log",
    "false",
    "true",
    "set -e",
    "set +e",
    "set -eux",
    "false && true",
    "true && false",
    "! true",
    "false || echo rescued >> log",
    "exit 0",
    "exit 3",
    "echo b >> log # a note",
    "# a comment",
    "",
    "ls >> log | cat",
    "cd /nonexistent-dir",
    "test -f f1 && echo f1 >> log",
    "touch \\\n  f2",
    "echo 'a\nb' >> log",
    "for f in 1 2; do\n  false\ndone",
]


def run_script(script: str, shell: list[str]) -> tuple[int, dict]:
    """Run a script as BuildKit runs a heredoc RUN (its body given to the SHELL); the status and the files made."""
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.run(
            [*shell, script], cwd=folder, env={"PATH": os.environ["PATH"]}, capture_output=True, timeout=20
        )
        files = {path.name: path.read_text() for path in sorted(Path(folder).iterdir())}
        return process.returncode, files


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(LINES), min_size=1, max_size=6),
    st.sampled_from([["sh", "-c"], ["sh", "-e", "-c"], ["bash", "-c"]]),
)
def test_appended_command_runs_only_after_success_and_keeps_the_status(lines, shell):
    """What a rule appends (here `echo cleanup >> log`) runs exactly when the script succeeded (unless an `exit`
    ended it first), and the RUN fails exactly when it failed before, with or without `set -e` (in the script or
    the SHELL)."""
    text = "FROM alpine\nRUN <<EOF\n" + "".join(f"{line}\n" for line in lines) + "EOF\n"
    document = parse_text(text)
    run = document.instructions[1]
    if append_blocker(run) is not None:
        return
    fixed = parse_text(apply_edits(text, [append_edit(document, run, "echo cleanup >> log")])).instructions[1]
    assert run.shell is not None and fixed.shell is not None
    status, files = run_script(run.shell.source, shell)
    fixed_status, fixed_files = run_script(fixed.shell.source, shell)
    if status == 0 and not any(line.startswith("exit") for line in lines):
        files["log"] = files.get("log", "") + "cleanup\n"
    assert (fixed_status, fixed_files) == (status, files), fixed.shell.source
