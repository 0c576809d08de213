"""The command as a CI gate and for people: real subcommands with their own help and no side effects, today's flags,
shell completion, colour only at a terminal, and a start-up that loads none of the other commands' libraries."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys

import pytest
from test_cli import MERGEABLE, MERGES, dockerfix, write


def test_help_lists_every_command(tmp_path):
    result = dockerfix("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("check", "lsp", "bot", "verify", "completion"):
        assert re.search(rf"^  {command}\s", result.stdout.decode(), re.MULTILINE), command


@pytest.mark.parametrize("command", ["check", "lsp", "bot", "verify", "completion"])
def test_each_command_prints_its_own_help_and_does_nothing_else(tmp_path, command):
    result = subprocess.run(
        [sys.executable, "-m", "dockerfix", command, "--help"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        capture_output=True,
        timeout=60,
        env={**os.environ, "CI": "true"},
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith(f"usage: dockerfix {command}")
    assert list(tmp_path.iterdir()) == []


def test_check_command_and_the_flags_without_it_agree(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    plain = dockerfix(*MERGES, "--check", "Dockerfile", cwd=tmp_path)
    command = dockerfix("check", *MERGES, "--check", "Dockerfile", cwd=tmp_path)
    assert plain.returncode == command.returncode == 1 and plain.stdout == command.stdout


def test_a_piped_check_loads_no_library_of_the_other_commands(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dockerfix", "check", *MERGES, "Dockerfile"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        env={**os.environ, "CI": "true"},
    )
    assert result.returncode == 1
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.decode().splitlines()
        if line.startswith("import time:")
    }
    assert "dockerfix.cli" in imported
    assert not {module.split(".")[0] for module in imported} & {"jinja2", "httpx", "pygls", "lsprotocol", "rich", "jwt"}


def on_a_terminal(arguments: list[str], cwd) -> str:
    """What the command prints to a real (pseudo) terminal, as a person would see it."""
    controller, terminal = pty.openpty()
    environment = {key: value for key, value in os.environ.items() if key not in {"CI", "NO_COLOR", "GITHUB_ACTIONS"}}
    process = subprocess.Popen(
        [sys.executable, "-m", "dockerfix", *arguments], cwd=cwd, stdout=terminal, stderr=terminal, env=environment
    )
    os.close(terminal)
    received = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the command has ended
            break
        if not chunk:
            break
        received += chunk
    process.wait(timeout=60)
    os.close(controller)
    return received.decode()


def test_colour_at_a_terminal_and_never_in_a_pipe(tmp_path):
    write(tmp_path / ":smile: [b]x" / "Dockerfile", MERGEABLE)
    shown = on_a_terminal([*MERGES, "--check", ":smile: [b]x/Dockerfile"], tmp_path)
    assert "\x1b[" in shown and ":smile: [b]x/Dockerfile" in re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert "\x1b[" not in dockerfix(*MERGES, "--check", ":smile: [b]x/Dockerfile", cwd=tmp_path).stdout.decode()


def test_a_progress_bar_at_a_terminal_for_a_folder_and_none_in_a_pipe(tmp_path):
    for index in range(3):
        write(tmp_path / f"s[/]{index}" / "Dockerfile", MERGEABLE)  # rich markup in a name is shown, not read
    shown = on_a_terminal([".", "--check"], tmp_path)
    assert "checking" in shown and "Traceback" not in shown
    piped = dockerfix(".", "--check", cwd=tmp_path)
    assert "checking" not in piped.stderr.decode() + piped.stdout.decode()


def test_bash_completion_completes_the_options(tmp_path):
    script = dockerfix("completion", "bash", cwd=tmp_path)
    assert script.returncode == 0
    completion = write(tmp_path / "completion.bash", script.stdout)
    probe = (
        f"source {completion}; COMP_WORDS=(dockerfix --sel); COMP_CWORD=1; COMP_LINE='dockerfix --sel'; COMP_POINT=15; "
        "_shtab_dockerfix dockerfix --sel dockerfix; printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    result = subprocess.run(["bash", "-c", probe], capture_output=True, timeout=60)
    assert "--select" in result.stdout.decode().split(), result.stderr.decode()
    assert dockerfix("completion", "nushell", cwd=tmp_path).returncode == 2
