"""README.md opens with the two set-up commands, and CI runs the second one."""

from __future__ import annotations

import re

from conftest import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert block and text.index(block.group(0)) < 40, "README must open with the set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands():
    install_and_run, install_and_test = readme_commands()
    assert "dockerfix corpus/" in install_and_run
    example = install_and_run.split("dockerfix ", 1)[1].split()[-1]
    assert (REPO / example).is_file()
    assert "pytest" in install_and_test


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci
