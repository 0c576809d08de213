"""bench/effect.py on the two quickest real projects of ../shared/corpus/projects/ (one Python, one Node), built before
and after their fixes on the current engine with the stand-in base images, and on project-like folders whose fixes
(from a rule plugin, harmful on purpose) break the build or change the image: their rows must say so.

Skipped, with the reason, where the current engine is not prepared (``python3 dockerfix/verify/current_engine.py
prepare``, as root; CI's ``.ci/run`` does it). The stand-ins a project builds on are made on first use and kept
(``python bench/effect.py prepare`` makes them all). Each run of the bench is bounded by ``RUN_SECONDS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import plugin_site

from dockerfix.rewriter.config import discover
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.pipeline import context_for, read_source, run_source
from dockerfix.rewriter.source import Source
from dockerfix.verify import current_engine

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = Path("../shared/corpus/projects")
# One bench run of two projects: waiting for the engine (another run may hold it, up to sandbox.LOCK_SECONDS, then
# it skips), making a stand-in the first time, then the builds. Measured on the 2-core machine shared with other
# work (load average about 5): the two real projects 331 s, the two harmful ones 309 s, at least 155 s of them spent
# waiting for another test's engine; the file 642 s.
RUN_SECONDS = 1500
STOP_SECONDS = 120

pytestmark = pytest.mark.verify_build

# Rules that a plugin adds, each as a rule with a careless fix would: one deletes a COPY a later step reads, the
# other rewrites what a step writes. Both say nothing of what they change, as a harmful fix would not.
HARMFUL_RULES = '''
from dockerfix.rewriter.fixes import Edit, Savings
from dockerfix.rewriter.rule import Rule

# a careless rule claims a gain, as a harmful one would, so the default gate lets its fix through
CLAIMED = Savings(bytes=5_000_000, bytes_basis="claimed by a careless plugin")


class DropsACopiedFile(Rule):
    """What it does: deletes `COPY greeting.txt .`. Why: a test's harmful fix (the next step reads the file).
    Example: COPY greeting.txt . Fix safety: breaks the build on purpose."""

    code = "DF961"
    name = "drops-a-copied-file"
    summary = "Deletes a COPY that a later step needs."

    def check(self, document, context):
        for instruction in document.instructions:
            if instruction.cmd == "copy" and "greeting.txt" in instruction.logical:
                start, end = instruction.span
                fix = self.fix("Delete the COPY of greeting.txt", [Edit.delete(start, end)])
                yield self.finding("greeting.txt is not needed", instruction.start, instruction.end, fix, CLAIMED)


class RewritesAWrittenFile(Rule):
    """What it does: writes `bye` where a step wrote `hello`. Why: a test's harmful fix (the image differs).
    Example: RUN echo hello > /etc/motd. Fix safety: changes the image on purpose."""

    code = "DF962"
    name = "rewrites-a-written-file"
    summary = "Changes what a step writes."

    def check(self, document, context):
        for instruction in document.instructions:
            if instruction.cmd == "run" and "echo hello" in instruction.logical:
                start = document.text.index("hello", instruction.start, instruction.end)
                fix = self.fix("Say bye", [Edit(start, start + len("hello"), "bye")])
                yield self.finding("say bye", instruction.start, instruction.end, fix, CLAIMED)
'''


def _effect():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import effect
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return effect


def _bench(folders: list[Path], environment: dict[str, str] | None = None) -> dict[str, dict]:
    """The rows of ``bench/effect.py --only`` for each folder (one engine for all), by folder name, run as CI would:
    in its own process, stopped after RUN_SECONDS."""
    if os.geteuid() != 0:
        pytest.skip("building the projects needs root (a private dockerd)")
    if current_engine.prepared_root() is None:
        pytest.skip(
            f"the current engine is not prepared in {current_engine.root_folder()} "
            "(python3 dockerfix/verify/current_engine.py prepare)"
        )
    command = [sys.executable, str(ROOT / "bench" / "effect.py")]
    for folder in folders:
        command += ["--only", str(folder)]
    bench = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(environment or {})}
    )
    try:
        stdout, stderr = bench.communicate(timeout=RUN_SECONDS)
    except subprocess.TimeoutExpired:
        bench.terminate()  # SIGTERM: the bench stops its engine and removes its folders before it exits
        bench.communicate(timeout=STOP_SECONDS)
        pytest.fail(f"bench/effect.py {' '.join(command[2:])} took more than {RUN_SECONDS} s")
    if bench.returncode == 2 and "another private dockerd held" in stderr:
        pytest.skip(f"the engine was busy: {stderr.strip()}")
    assert bench.returncode == 0, stderr[-3000:]
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert [row["id"] for row in rows] == [folder.name for folder in folders]
    return {row["id"]: row for row in rows}


def _holds_up(row: dict, selection: str) -> dict:
    assert row["status"] == "equivalent", json.dumps(row, indent=1)[:4000]
    variant = _effect().variant_of(row, selection)
    assert variant["applied"] and variant["undeclared_count"] == 0
    original, fixed = variant["original"], variant["fixed"]
    for measured in (original, fixed):
        assert measured["bytes"] > 50_000_000 and measured["layers"] > 1
        assert measured["build_seconds"] > 0 and measured["downloaded_bytes"] > 0
        assert measured["after_edit"]["steps_rerun"] >= 1
    # the edited file is one the image receives: the rebuild re-sends it and makes a new layer
    assert variant["touched"] and original["after_edit"]["context_bytes"] > 0
    assert original["after_edit"]["changed_bytes"] > 0
    assert row["commit"]
    return variant


def test_a_python_and_a_node_project_build_both_ways_and_measure_their_rebuilds():
    # alirafiei75/Advanced-Blog (python:3.8-slim-buster, Django from requirements.txt) and dockersamples/example-
    # voting-app's result (node:18-slim, package-lock.json): the quickest to build both ways of each kind. Their
    # fixes are DF105's and DF107's, opt-in since blind review B: built here with every rule selected, each CI run
    # is the real-build evidence a later review of them needs
    rows = _bench([PROJECTS / "00166", PROJECTS / "00284"])
    python, node = rows["00166"], rows["00284"]
    assert python["opt_in_fixes"] == ["DF105"] and node["opt_in_fixes"] == ["DF107"]
    _holds_up(python, "every_rule")
    dependency = python["dependency_change"]
    assert dependency["manifest"] == "requirements.txt"
    for label in ("original", "every_rule"):
        assert dependency[label]["steps_rerun"] >= 1 and dependency[label]["downloaded_bytes"] > 0
    assert node["bases"] == {"node:18-slim": "dockerfix-effect/node-slim"}
    _holds_up(node, "every_rule")


def test_each_project_is_fixed_with_the_default_rules_and_with_every_rule_and_one_text_is_built_once():
    effect = _effect()
    found = {}
    for project in ("00018", "00019", "00027", "00097"):
        dockerfile = effect.dockerfile_of(PROJECTS / project)
        source = read_source(dockerfile)
        chosen = effect.selections(discover(dockerfile))
        results = {
            name: run_source(source, settings, context_for(PROJECTS / project, dockerfile), dockerfile)
            for name, settings in chosen.items()
        }
        codes = {name: {fix.code for fix in result.applied} for name, result in results.items()}
        assert all(effect.NOT_BUILT[0] not in applied for applied in codes.values())
        texts = {name: result.new_text for name, result in results.items() if result.changed}
        found[project] = (codes["unsafe"], codes["every_rule"], effect.shared_builds(texts))
    assert found == {
        "00018": (set(), set(), {}),  # nothing to fix: not built
        "00019": (set(), {"DF107"}, {"every_rule": "every_rule"}),  # an opt-in rule's fix only
        "00027": ({"DF203"}, {"DF107", "DF203"}, {"unsafe": "unsafe", "every_rule": "every_rule"}),
        "00097": ({"DF119"}, {"DF119"}, {"unsafe": "unsafe", "every_rule": "unsafe"}),  # one text, one build
    }


def _project(folder: Path, dockerfile: str) -> Path:
    """A small project: a Dockerfile and the files it copies."""
    folder.mkdir()
    (folder / "Dockerfile").write_text(dockerfile)
    (folder / "greeting.txt").write_text("hello\n")
    (folder / "app.py").write_text("print(open('/etc/greeting').read())\n")
    return folder


def test_a_fix_that_breaks_the_build_or_changes_the_image_is_reported_so(tmp_path):
    breaks = _project(
        tmp_path / "breaks-the-build",
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY greeting.txt .\nRUN cp greeting.txt /etc/greeting\n"
        'COPY app.py .\nCMD ["python", "app.py"]\n',
    )
    changes = _project(
        tmp_path / "changes-a-file",
        'FROM python:3.11-slim\nWORKDIR /app\nRUN echo hello > /etc/motd\nCOPY app.py .\nCMD ["python", "app.py"]\n',
    )
    site = plugin_site(tmp_path, HARMFUL_RULES, module="harmful_rules")
    rows = _bench([breaks, changes], {"PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])})

    broken = rows[breaks.name]
    assert broken["status"] == "broken", json.dumps(broken, indent=1)[:3000]
    assert "DF961" in broken["unsafe_fixes"]
    assert "RUN cp greeting.txt /etc/greeting" in broken["reason"] and "greeting.txt" in broken["evidence"]

    different = rows[changes.name]
    assert different["status"] == "different", json.dumps(different, indent=1)[:3000]
    assert "DF962" in different["unsafe_fixes"]
    changed = [entry for entry in different["unsafe"]["undeclared"] if entry["path"].endswith("etc/motd")]
    assert changed and changed[0]["change"] == "changed" and changed[0]["declared_by"] is None


def test_a_base_image_named_through_a_global_arg_gets_the_stand_in_of_its_default():
    effect = _effect()
    document = parse(read_source(PROJECTS / "00157" / "Dockerfile"))  # ARG NODE_VERSION=23.4.0, node:${...}-slim
    assert effect.stand_ins_of(document) == {"node:23.4.0-slim": "dockerfix-effect/node-slim"}
    without_default = parse(Source.decode(b"ARG NODE_VERSION\nFROM node:${NODE_VERSION}-slim\n"))
    with pytest.raises(effect.Unbuildable, match="build argument without a default"):
        effect.stand_ins_of(without_default)


def test_the_report_says_what_was_found_about_a_row_that_is_not_equivalent(tmp_path, monkeypatch):
    effect = _effect()
    row = dict(effect.measured_rows()["00019"])  # a measured row (DF107's fix, opt-in), made not equivalent
    row["status"] = "different"
    row["every_rule"] = {**row["every_rule"], "equivalent": False, "undeclared_count": 1}
    row["every_rule"]["undeclared"] = [{"path": "/app/build/entry.OMLxb-g0.js", "change": "added"}]
    results, explained = tmp_path / "results.jsonl", tmp_path / "explained.tsv"
    results.write_text(json.dumps(row) + "\n")
    explained.write_text("id\texplanation\n00019\tA build output named by its content hash.\n")
    monkeypatch.setattr(effect, "RESULTS", results)
    monkeypatch.setattr(effect, "EXPLAINED", explained)
    assert (
        "- 00019: every rule, opt-in included: 1 undeclared differences (`/app/build/entry.OMLxb-g0.js`, ...); "
        "fixes applied: DF107 (opt-in: DF107). A build output named by its content hash." in effect.report()
    )
