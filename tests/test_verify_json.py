"""`dockerfix verify --output-format json` prints one JSON document on stdout whatever happens (issue 15, item 24c)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def verify_json(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DOCKERFIX_DOCKER": str(tmp_path / "no-docker-here")}
    return subprocess.run(
        [sys.executable, "-m", "dockerfix", "verify", "--output-format", "json", *arguments],
        cwd=tmp_path,
        capture_output=True,
        env=environment,
        timeout=120,
    )


def test_nothing_to_verify_still_prints_json(tmp_path: Path):
    (tmp_path / "Dockerfile").write_text("FROM debian\nRUN apt-get install -y curl\n")
    result = verify_json(tmp_path, "Dockerfile")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["version"] == 1 and data["dockerfile"] == "Dockerfile"
    assert data["equivalent"] is True and data["applied_fixes"] == []
    assert "no fix applies" in data["message"]


def test_an_error_still_prints_json(tmp_path: Path):
    (tmp_path / "Dockerfile").write_text("FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\n")
    (tmp_path / ".dockerfix.toml").write_text(
        'extend-select = ["DF101"]\n'
    )  # merges save only layers: asked for by code
    result = verify_json(tmp_path, "Dockerfile")
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["dockerfile"] == "Dockerfile" and "no-docker-here" in data["error"]
    unreadable = verify_json(tmp_path, "missing")
    assert unreadable.returncode == 2 and "cannot read" in json.loads(unreadable.stdout)["error"]
