"""The folder run's worker processes under real signals (issue 15 items 6 and 15): a worker that dies costs only its
file, and workers die with the command."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import write
from test_other_files import shared_context

from dockerfix.cli import Job
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.pipeline import BuildContexts, run_path
from dockerfix.workers import _process_in_worker

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="watches worker processes through /proc")

FILES = 24
BIG = "FROM debian:bookworm\n" + "".join(
    f"RUN curl -fsSLo /app{index} https://example.invalid/app\nRUN chmod 755 /app{index}\n" for index in range(750)
)


def big_folder(root: Path) -> list[Path]:
    return [write(root / f"svc{index:02}/Dockerfile", BIG) for index in range(FILES)]


def start(root: Path, *arguments: str) -> subprocess.Popen:
    """The command on BIG's folder, its merges (a layer each) asked for by the rule's code."""
    return subprocess.Popen(
        [sys.executable, "-m", "dockerfix", "--extend-select", "DF101", *arguments],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "CI": "true"},
        start_new_session=True,
    )


def stop(command: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(command.pid, signal.SIGKILL)
    command.wait()


def children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has stopped; only its parent (here possibly init) removes the entry


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_worker_killed_mid_run_costs_only_its_file(tmp_path):
    dockerfiles = big_folder(tmp_path)
    command = start(tmp_path, "--write", "--output-format", "json", ".")
    try:
        assert wait_until(lambda: len(children(command.pid)) >= 2, 60)
        os.kill(children(command.pid)[0], signal.SIGKILL)
        out, err = command.communicate(timeout=300)
    finally:
        stop(command)
    assert command.returncode == 2
    files = {entry["path"]: entry for entry in json.loads(out)["files"]}
    assert len(files) == FILES
    failed = [path for path, entry in files.items() if "error" in entry]
    assert len(failed) == 1 and "the process checking this file died" in files[failed[0]]["error"]
    texts = {dockerfile.relative_to(tmp_path).as_posix(): dockerfile.read_text() for dockerfile in dockerfiles}
    assert texts.pop(failed[0]) == BIG
    assert len(set(texts.values())) == 1 and BIG not in texts.values()  # every other file fixed, the same way
    assert not list(tmp_path.rglob("*.dockerfix"))


def test_workers_die_with_the_command_and_leave_no_temporary_file(tmp_path):
    dockerfiles = big_folder(tmp_path)
    command = start(tmp_path, "--write", ".")
    try:
        assert wait_until(lambda: len(children(command.pid)) >= 2, 60)
        assert wait_until(lambda: any(path.read_text() != BIG for path in dockerfiles), 120)  # mid-run
        workers = children(command.pid)
        os.kill(command.pid, signal.SIGKILL)
        command.wait(timeout=30)
        assert wait_until(lambda: not any(alive(worker) for worker in workers), 20), "workers outlived the command"
    finally:
        stop(command)
    after = {path: path.read_text() for path in dockerfiles}
    assert len(set(after.values()) - {BIG}) == 1  # each file is whole: the old text or the one fixed text
    assert BIG in after.values(), "the run finished before the kill: nothing was tested"
    assert not list(tmp_path.rglob("*.dockerfix"))


def test_a_worker_reads_a_context_again_after_another_worker_wrote_into_it(tmp_path):
    # test_other_files' shared context: this worker read it (for a Dockerfile without findings) before the write
    folder = shared_context(tmp_path, 1)
    settings = Settings(select=("DF204",), unsafe_fixes=True)
    assert not _process_in_worker(Job(folder / "Dockerfile.quiet0", settings, True, None), 0).changed
    assert run_path(folder / "Dockerfile", settings, write=True, contexts=BuildContexts()).written  # another worker
    result = _process_in_worker(Job(folder / "Dockerfile.web", settings, True, None), 1)
    assert result.error is None and result.findings == () and not result.changed
