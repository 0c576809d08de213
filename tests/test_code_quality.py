"""The house's code checks, run the way CI runs everything (the README's pytest command): the formatter, the linter and
the type checker, each from this environment with the configuration in pyproject.toml, must have nothing to say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
# the test extra installs them next to the interpreter running the tests, so CI checks with the versions it pins
ENVIRONMENT_BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "format", "--check", "."],
        ["ruff", "check", "--no-fix", "--output-format=concise", "."],
        # what it checks is `files` in pyproject.toml's [tool.mypy]
        ["mypy"],
    ],
    ids=["ruff format", "ruff check", "mypy"],
)
def test_the_code_check_finds_nothing(command):
    executable, *arguments = command
    result = subprocess.run(
        [str(ENVIRONMENT_BIN / executable), *arguments],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
