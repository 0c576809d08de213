"""The merged RUN of DF101 and DF120 (one merge, two claims) does what the separate RUNs did: run both in a real shell
and compare the results."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import dockerfile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerfix.knowledge.runmerge import MAX_MERGED_COMMAND_BYTES
from dockerfix.knowledge.shelledits import append_edit
from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.source import Source
from dockerfix.rules.df101_merge_consecutive_run import MergeConsecutiveRun
from dockerfix.rules.df120_merge_runs_for_a_layer import MergeRunsForALayer

# Both merge rules: whatever a merge claims, the merged RUN must do what the RUNs did.
MERGE_RULES = [MergeConsecutiveRun(), MergeRunsForALayer()]

# Commands that leave traces (files, their modes, a log) and change the shell's state in every way a merge must
# not leak: directory, variables, options, umask, functions, early exits.
COMMANDS = [
    "mkdir -p sub",
    "cd sub",
    "cd /nonexistent-dir",
    "touch f1",
    "touch f2",
    "echo a >> log",
    "pwd >> log",
    "export V=1",
    "V=2",
    'test -n "$V" && echo v=$V >> log',
    "echo ${W:=w} >> log",
    "umask 077",
    "set -e",
    "true",
    "false",
    "exit 0",
    "exit 3",
    "ls >> log",
    "f() { echo f >> log; }",
    "f",
    "alias q=true",
    ": ${Q:=q}",
    "(cd sub && touch inner)",
    "echo $PWD >> log",
    "printf '%s\\n' x >> log",
    "rm -f f1",
    "[ -d sub ] || echo nosub >> log",
    "echo 'export S=1' > env.sh",
    ". ./env.sh",
    "echo s=$S >> log",
    "exec true",
    "exec sh -c 'echo exec >> log'",
    "echo c >> log # a note",
    # an assignment in front of a special built-in persists in POSIX sh; prefixes run a command in this shell
    "PATH=/nowhere times",
    "V=3 :",
    "V=4 export W=4",
    "echo w=$W >> log",
    "time cd sub",
    "time -p cd sub",
    "! cd sub",
    "for V in 5; do true; done",
    "chmod 700 sub",
    "rm -rf sub",
]
OPERATORS = [" && ", " || ", "; "]
SHELLS = {
    ("sh", "-c"): "",
    ("sh", "-e", "-c"): 'SHELL ["sh", "-e", "-c"]\n',
    ("bash", "-c"): 'SHELL ["bash", "-c"]\n',  # `time` is a keyword in bash
}


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


EXAMPLES = int(os.environ.get("DOCKERFIX_EXAMPLES", "150"))


def fixed(commands: list[str], shell: tuple[str, ...]) -> str:
    text = "FROM alpine\n" + SHELLS[shell] + "".join(f"RUN {command}\n" for command in commands)
    return engine.fix(Source(text), MERGE_RULES, unsafe_fixes=True).text


def run_commands(text: str) -> list[str]:
    """What each RUN gives its shell: the command, or the body of a heredoc script."""
    return [
        instruction.shell.source if instruction.script_heredoc and instruction.shell else instruction.arguments
        for instruction in parse_text(text).instructions
        if instruction.cmd == "run"
    ]


def with_script(lines: list[str], commands: list[str], shell: tuple[str, ...]) -> str:
    body = "".join(f"{line}\n" for line in lines)
    return (
        "FROM alpine\n"
        + SHELLS[shell]
        + f"RUN <<EOF\n{body}EOF\n"
        + "".join(f"RUN {command}\n" for command in commands)
    )


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=3),
    st.lists(run_command(), min_size=1, max_size=3),
    st.sampled_from(sorted(SHELLS)),
)
def test_runs_merged_into_a_heredoc_script_behave_like_separate_runs(lines, commands, shell):
    """A heredoc script (its body run by the SHELL) followed by RUNs: merged into the script, the same result."""
    text = with_script(lines, commands, shell)
    merged = engine.fix(Source(text), MERGE_RULES, unsafe_fixes=True).text
    assert build(run_commands(merged), list(shell)) == build(run_commands(text), list(shell)), merged


def test_runs_are_merged_into_a_heredoc_script():
    """The property above is not vacuous: RUNs after a heredoc script do go into it, a multi-line one as the one
    line BuildKit gave the shell, a state-changing one in a subshell."""
    text = with_script(["mkdir -p sub", "touch f1 # first"], ["cd sub && \\\n    touch f2", "touch f3"], ("sh", "-c"))
    merged = engine.fix(Source(text), MERGE_RULES, unsafe_fixes=True).text
    assert (
        merged
        == "FROM alpine\nRUN <<EOF\nmkdir -p sub\ntouch f1 && # first\n(cd sub &&     touch f2) &&\ntouch f3\nEOF\n"
    )
    assert build(run_commands(merged), ["sh", "-c"]) == build(run_commands(text), ["sh", "-c"])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(run_command(), min_size=2, max_size=4), st.sampled_from(sorted(SHELLS)))
def test_merged_run_behaves_like_separate_runs(commands, shell):
    """Each RUN is `SHELL + [command]` (default `sh -c`; with `SHELL ["sh", "-e", "-c"]` errexit is on)."""
    text = fixed(commands, shell)
    assert build(run_commands(text), list(shell)) == build(commands, list(shell)), text


@pytest.mark.parametrize(
    "commands, shell",
    [
        (["PATH=/nowhere times", "ls >> log"], ("sh", "-c")),
        (["time cd /tmp", "touch here"], ("bash", "-c")),
        (["for V in 5; do true; done", 'test -n "$V" && echo v=$V >> log'], ("sh", "-c")),
    ],
)
def test_state_a_merge_must_not_leak(commands, shell):
    """Reproductions: the merge is made, and the later command does not see the earlier one's state."""
    text = fixed(commands, shell)
    assert len(run_commands(text)) == 1, text
    assert build(run_commands(text), list(shell)) == build(commands, list(shell)), text


PARENTHESISED = [
    "(cd sub && touch g)",
    "(true)",
    "( mkdir -p sub )",
    "(cd sub) && cd sub",
    "(umask 077) && umask 022",
    "touch f1",
]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.sampled_from(PARENTHESISED), min_size=2, max_size=4))
def test_merge_never_writes_arithmetic_parentheses(commands):
    """`((` starts arithmetic in ksh and some ash builds: a RUN that starts with `(` and needs a subshell is written
    `( (`, and every merged command still parses."""
    text = fixed(commands, ("sh", "-c"))
    assert "((" not in text, text
    for command in run_commands(text):
        assert subprocess.run(["bash", "-n", "-c", command], capture_output=True).returncode == 0, command


ESCAPE_ENDINGS = [
    "echo foo\\ ;",
    "echo foo\\\t;",
    "echo foo\\\\;",
    "echo 'a' \\\\ ;",
    "rm -rf /tmp/a",
    "touch /b",
    "echo c\\ # note",
]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.sampled_from(ESCAPE_ENDINGS), min_size=2, max_size=4))
def test_merge_never_ends_a_line_with_the_escape(commands):
    """BuildKit reads an escape followed by blanks at a line end as a continuation: the next instruction would
    become part of the RUN. Every instruction after the RUNs is still there, and no written line ends that way."""
    text = "FROM alpine:3.19\n" + "".join(f"RUN {command}\n" for command in commands) + "ENV X=1\nRUN touch /done\n"
    result = engine.fix(Source(text), MERGE_RULES, unsafe_fixes=True).text
    parsed = [(command.cmd, command.value) for command in dockerfile.parse_string(result)]
    assert parsed[-2:] == [("ENV", ("X", "1")), ("RUN", ("touch /done",))], result
    written = set(result.splitlines()) - set(text.splitlines())
    assert not [line for line in written if re.search(r"\\[ \t]*$", line) and not line.endswith(" \\")], result


def test_merged_commands_stay_under_the_argument_limit(tmp_path):
    """3,000 RUNs appending to one file would make a 198 kB command, over Linux's 128 KiB for one argument of
    `sh -c`: the merge stops before ``MAX_MERGED_COMMAND_BYTES``, and each merged RUN runs."""
    lines = [f"echo 'line {number} of the generated configuration file' >> /tmp/out" for number in range(3000)]
    text = "FROM alpine\n" + "".join(f"RUN {line}\n" for line in lines)
    merged = run_commands(engine.fix(Source(text), MERGE_RULES).text)
    assert 1 < len(merged) < 20
    assert max(len(command.encode()) for command in merged) <= MAX_MERGED_COMMAND_BYTES
    for command in merged:
        subprocess.run(["sh", "-c", command.replace("/tmp/out", str(tmp_path / "out"))], check=True)
    assert (tmp_path / "out").read_text().splitlines() == [
        f"line {number} of the generated configuration file" for number in range(3000)
    ]


@pytest.mark.parametrize("appended", ["echo foo\\ ", "echo foo\\\t", "echo foo\\\\"])
def test_appended_command_never_ends_a_line_with_the_escape(appended):
    """What a rule appends to a RUN through shelledits (DF110 appends a later RUN's command) ends its line safely."""
    text = "FROM alpine:3.19\nRUN touch /a\nENV X=1\n"
    document = parse_text(text)
    edit = append_edit(document, document.instructions[1], appended)
    result = text[: edit.start] + edit.content + text[edit.end :]
    assert [(command.cmd, command.value) for command in dockerfile.parse_string(result)][1:] == [
        ("RUN", (f"touch /a     && {appended};",)),
        ("ENV", ("X", "1")),
    ], result
