"""bench/effect.py on two small real projects (one Python, one Node) of ../shared/corpus/projects/, built before and
after their fixes on the current engine with the stand-in base images.

Skipped, with the reason, where the current engine or the stand-ins are not prepared (``python3
dockerfix/verify/current_engine.py prepare`` and ``python bench/effect.py prepare``, as root). Each run is bounded
by ``RUN_SECONDS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockerfix.verify import current_engine

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = Path("../shared/corpus/projects")
# one project's builds (about 6 minutes on a loaded 2-core machine) after waiting for the engine, which another run
# may hold for up to sandbox.LOCK_SECONDS
RUN_SECONDS = 1800
STOP_SECONDS = 120

pytestmark = pytest.mark.verify_build


def _effect():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import effect
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return effect


def _row(project: str) -> dict:
    if not os.environ.get("DOCKERFIX_EFFECT_TESTS"):
        # measured on this 2-core machine under load: one project took 66 to 786 s to build both ways, and this test
        # has not yet passed inside CI's 30-minute budget (issue 21); run it by hand until a smaller pair is chosen
        pytest.skip("set DOCKERFIX_EFFECT_TESTS=1 to build real projects (each takes minutes; not yet fitted into CI)")
    if os.geteuid() != 0:
        pytest.skip("building the projects needs root (a private dockerd)")
    if current_engine.prepared_root() is None:
        pytest.skip(
            f"the current engine is not prepared in {current_engine.root_folder()} (python3 "
            "dockerfix/verify/current_engine.py prepare)"
        )
    if not _effect().stand_ins_tarball().exists():
        pytest.skip("the stand-in base images are not prepared (python bench/effect.py prepare)")
    bench = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "effect.py"), "--only", str(PROJECTS / project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = bench.communicate(timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired:
        bench.terminate()  # SIGTERM: the bench stops its engine and removes its folders before it exits
        bench.communicate(timeout=STOP_SECONDS)
        pytest.fail(f"bench/effect.py --only {project} took more than {RUN_SECONDS} s")
    assert bench.returncode == 0, stderr[-3000:]
    return json.loads(stdout)


def _holds_up(row: dict) -> dict:
    assert row["status"] == "equivalent", json.dumps(row, indent=1)[:4000]
    variant = row["unsafe"]
    assert variant["applied"] and variant["undeclared_count"] == 0
    original, fixed = variant["original"], variant["fixed"]
    for measured in (original, fixed):
        assert measured["bytes"] > 50_000_000 and measured["layers"] > 1
        assert measured["build_seconds"] > 0 and measured["downloaded_bytes"] > 0
        assert measured["after_edit"]["steps_rerun"] >= 1
    # the edited file is one the image receives: the rebuild re-sends it and makes a new layer
    assert variant["touched"] and original["after_edit"]["context_bytes"] > 0
    assert original["after_edit"]["changed_bytes"] > 0
    return variant


def test_a_python_project_builds_both_ways_and_measures_its_rebuilds():
    row = _row("00168")  # alirahman-mit/alemeno-intern: python:3.11-slim, gcc from apt, requirements.txt
    variant = _holds_up(row)
    assert variant["touched"].endswith(".py")
    dependency = row["dependency_change"]
    assert dependency["manifest"] == "requirements.txt"
    for label in ("original", "fixed"):
        assert dependency[label]["steps_rerun"] >= 1 and dependency[label]["downloaded_bytes"] > 0


def test_a_node_project_builds_both_ways_and_measures_its_rebuild():
    row = _row("00284")  # dockersamples/example-voting-app result: node:18-slim, package-lock.json
    assert row["bases"] == {"node:18-slim": "dockerfix-effect/node-slim"}
    _holds_up(row)
