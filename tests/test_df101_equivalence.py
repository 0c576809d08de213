"""DF101's merged RUN does what the separate RUNs did: run both in a real shell and compare the results."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.source import Source
from dockerfix.rules.df101_merge_consecutive_run import MergeConsecutiveRun

# Commands that leave traces (files, their modes, a log) and change the shell's state in every way a merge must
# not leak: directory, variables, options, umask, functions, early exits.
COMMANDS = [
    "mkdir -p sub", "cd sub", "cd /nonexistent-dir", "touch f1", "touch f2", "echo a >> log", "pwd >> log",
    "export V=1", "V=2", "test -n \"$V\" && echo v=$V >> log", "echo ${W:=w} >> log", "umask 077", "set -e",
    "true", "false", "exit 0", "exit 3", "ls >> log", "f() { echo f >> log; }", "f", "alias q=true", ": ${Q:=q}",
    "(cd sub && touch inner)", "echo $PWD >> log", "printf '%s\\n' x >> log", "rm -f f1", "[ -d sub ] || echo nosub >> log",
    "echo 'export S=1' > env.sh", ". ./env.sh", "echo s=$S >> log", "exec true", "exec sh -c 'echo exec >> log'", "echo c >> log # a note",
]
OPERATORS = [" && ", " || ", "; "]


@st.composite
def run_command(draw) -> str:
    parts = draw(st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=3))
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(OPERATORS)) + part
    if draw(st.integers(0, 9)) == 0:
        text += ";"
    return text


def snapshot(folder: Path, temporary: str) -> dict:
    """Every path with its mode and content (the temporary folder's name, which differs per run, masked)."""
    state = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        mode = path.stat().st_mode & 0o777
        state[relative] = (mode, path.read_text().replace(temporary, "<tmp>") if path.is_file() else None)
    return state


def build(commands: list[str], shell: list[str]) -> tuple[bool, dict]:
    """Run each command as BuildKit runs a RUN: a fresh `sh -c` in WORKDIR, stopping at the first failure."""
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder) / "work"
        workdir.mkdir()
        environment = {"PATH": os.environ["PATH"], "HOME": folder}
        succeeded = True
        for command in commands:
            process = subprocess.run([*shell, command], cwd=workdir, env=environment, capture_output=True, timeout=20)
            if process.returncode != 0:
                succeeded = False
                break
        return succeeded, snapshot(workdir, folder)


@settings(max_examples=int(os.environ.get("DOCKERFIX_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(run_command(), min_size=2, max_size=4), st.sampled_from([["sh", "-c"], ["sh", "-e", "-c"]]))
def test_merged_run_behaves_like_separate_runs(commands, shell):
    """Each RUN is `SHELL + [command]` (default `sh -c`; with `SHELL ["sh", "-e", "-c"]` errexit is on)."""
    shell_line = "" if shell == ["sh", "-c"] else 'SHELL ["sh", "-e", "-c"]\n'
    text = "FROM alpine\n" + shell_line + "".join(f"RUN {command}\n" for command in commands)
    result = engine.fix(Source(text), [MergeConsecutiveRun()], unsafe_fixes=True)
    merged = [instruction.arguments for instruction in parse_text(result.text).instructions if instruction.cmd == "run"]
    assert build(merged, shell) == build(commands, shell), result.text
