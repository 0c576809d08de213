"""`--output-format github`: workflow commands whose values (a file name can hold anything) cannot end the command or
start another. The commands are read back the way GitHub's runner reads them (`ActionCommand.TryParseV2`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerfix.output import as_github
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.pipeline import FileResult, run_path

MERGEABLE = "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n"
FORGING = "x\n::error file=forged.py,line=1::owned\n::add-mask::%0A,:\r::stop-commands::t\nDockerfile"


def runner_commands(output: str) -> list[tuple[str, dict[str, str], str]]:
    """Each line that is a workflow command, as the runner splits and unescapes it: `::name properties::data`."""
    commands = []
    for line in _lines(output):
        line = line.lstrip()
        end = line.find("::", 2)
        if not line.startswith("::") or end < 0:
            continue
        name, _, properties = line[2:end].partition(" ")
        values = dict(pair.split("=", 1) for pair in properties.split(",") if "=" in pair)
        commands.append(
            (name, {key: _unescape_property(value) for key, value in values.items()}, _unescape_data(line[end + 2 :]))
        )
    return commands


def _lines(output: str) -> list[str]:
    """The runner reads its output by lines that \\n, \\r or \\r\\n end."""
    return re.split(r"\r\n|\r|\n", output.removesuffix("\n"))


def _unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return _unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def test_a_file_name_cannot_forge_annotations_or_workflow_commands(tmp_path):
    (tmp_path / FORGING).write_text(MERGEABLE)
    result = subprocess.run(
        [sys.executable, "-m", "dockerfix", "--extend-select", "DF101", "--output-format", "github", FORGING],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "CI": "true"}, timeout=120,
    )  # fmt: skip
    [(name, properties, message)] = runner_commands(result.stdout)
    assert len(_lines(result.stdout)) == 1
    assert (
        name == "notice" and properties["file"]
    )  # a merge that saves a layer alone is a note == FORGING and properties["title"] == "DF101 merge-consecutive-run"
    assert (properties["line"], properties["col"]) == ("2", "1") and message


@cache
def checked(folder: Path) -> FileResult:
    (folder / "Dockerfile").write_text(MERGEABLE)
    return run_path(folder / "Dockerfile", Settings(extend_select=("DF101",)))


@settings(deadline=None)  # the first example runs the pipeline once for all
@given(path=st.text(), error=st.none() | st.text())
def test_every_name_and_error_reads_back_unchanged_as_one_command_per_line(tmp_path_factory, path, error):
    real = checked(tmp_path_factory.getbasetemp())
    result = msgspec.structs.replace(real, path=path, error=error)
    output = as_github([result])
    commands = runner_commands(output)
    assert len(_lines(output)) == len(commands) == len(real.findings) + (error is not None)
    assert all(properties["file"] == path for _, properties, _ in commands)
    if error is not None:
        assert commands[0] == ("error", {"file": path, "title": "dockerfix"}, error)
