"""bench/startup.py, the whole-process start-up benchmark of issue 22: its `--compare` row must time the compared
checkout, wherever the benchmark is started from (`python -m` puts the working folder first on the path)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_compared_row_runs_the_compared_checkout_when_started_from_this_one(tmp_path):
    if shutil.which("hadolint", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("hadolint comes with the bench extra")
    compared = tmp_path / "compared"
    (compared / "dockerfix").mkdir(parents=True)
    ran = tmp_path / "ran"
    (compared / "dockerfix" / "__init__.py").write_text("")
    (compared / "dockerfix" / "__main__.py").write_text(f"open({str(ran)!r}, 'a').write('ran\\n')\n")
    subprocess.run(
        [sys.executable, "bench/startup.py", "--rounds", "1", "--compare", str(compared)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert ran.read_text() == "ran\n" * 2  # once to write the bytecode, once timed
