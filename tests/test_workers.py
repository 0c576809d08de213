"""The folder run's worker processes under real signals (issue 15 items 6 and 15): a worker that dies costs only its
file, and workers die with the command."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SHARED_CORPUS
from msgspec.structs import replace
from test_cli import write
from test_other_files import shared_context

from dockerfix.cli import Job
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.pipeline import BuildContexts, run_path
from dockerfix.workers import WorkerPool, _process_in_worker

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


@contextlib.contextmanager
def mid_write(tmp_path: Path) -> Iterator[tuple[list[Path], subprocess.Popen, list[int]]]:
    """A `--write` run over a big folder, caught mid-run (some files fixed, others not yet): its Dockerfiles, the
    command and its workers."""
    dockerfiles = big_folder(tmp_path)
    command = start(tmp_path, "--write", ".")
    try:
        assert wait_until(lambda: len(children(command.pid)) >= 2, 60)
        assert wait_until(lambda: any(path.read_text() != BIG for path in dockerfiles), 120)
        yield dockerfiles, command, children(command.pid)
    finally:
        stop(command)


def test_workers_die_with_the_command_and_leave_no_temporary_file(tmp_path):
    with mid_write(tmp_path) as (dockerfiles, command, workers):
        os.kill(command.pid, signal.SIGKILL)
        command.wait(timeout=30)
        assert wait_until(lambda: not any(alive(worker) for worker in workers), 20), "workers outlived the command"
    after = {path: path.read_text() for path in dockerfiles}
    assert len(set(after.values()) - {BIG}) == 1  # each file is whole: the old text or the one fixed text
    assert BIG in after.values(), "the run finished before the kill: nothing was tested"
    assert not list(tmp_path.rglob("*.dockerfix"))


def test_ctrl_c_mid_write_stops_the_workers_and_leaves_every_file_whole(tmp_path):
    with mid_write(tmp_path) as (dockerfiles, command, workers):
        os.killpg(command.pid, signal.SIGINT)  # what a terminal sends the command and its workers
        command.wait(timeout=60)
        assert not any(alive(worker) for worker in workers), "the command ended before its workers"
    assert command.returncode != 0
    after = {path: path.read_text() for path in dockerfiles}
    assert len(set(after.values()) - {BIG}) == 1  # each file is whole: the old text or the one fixed text
    assert BIG in after.values(), "the run finished before the interruption: nothing was tested"
    assert not list(tmp_path.rglob("*.dockerfix"))


def test_a_worker_reads_a_context_again_after_another_worker_wrote_into_it(tmp_path):
    # test_other_files' shared context: this worker read it (for a Dockerfile without findings) before the write
    folder = shared_context(tmp_path, 1)
    settings = Settings(select=("DF204",), unsafe_fixes=True)
    assert not _process_in_worker(Job(folder / "Dockerfile.quiet0", settings, True, None), 0).changed
    assert run_path(folder / "Dockerfile", settings, write=True, contexts=BuildContexts()).written  # another worker
    result = _process_in_worker(Job(folder / "Dockerfile.web", settings, True, None), 1)
    assert result.error is None and result.findings == () and not result.changed


REAL_FILES = sorted((SHARED_CORPUS / "real").glob("*.Dockerfile"))[:12]


def checks(paths: list[Path]) -> list[Job]:
    return [Job(path, Settings(unsafe_fixes=True), False, None) for path in paths]


def in_one_process(jobs: list[Job]) -> dict[int, object]:
    """The results a pool's workers send: the new text stays with the worker (the command reads only the diff)."""
    contexts = BuildContexts()
    return {index: replace(job.run(contexts), new_text=None) for index, job in enumerate(jobs)}


def test_an_exception_in_a_worker_is_that_files_error_and_the_other_files_go_on():
    jobs = checks(REAL_FILES)
    # a job the pipeline cannot run raises, as a bug outside a rule's guard would
    jobs[3] = Job(REAL_FILES[3], None, False, None)  # type: ignore[arg-type]
    with WorkerPool(jobs, 2) as pool:
        results = dict(pool.finished())
    failed = results.pop(3)
    assert failed.path == str(REAL_FILES[3]) and failed.error is not None
    assert failed.error.startswith(f"{REAL_FILES[3]}:1:1: internal error: AttributeError: ")
    expected = in_one_process(checks(REAL_FILES))
    del expected[3]
    assert results == expected


def test_workers_started_beside_another_thread_are_spawned_and_check_the_same():
    """A fork beside a thread could hand the child a lock that thread held, held forever; a spawned worker is also
    how workers start on macOS and Windows."""
    jobs = checks(REAL_FILES)
    release = threading.Event()
    beside = threading.Thread(target=release.wait)
    beside.start()
    try:
        with WorkerPool(jobs, 2) as pool:
            assert {worker.process.__class__.__name__ for worker in pool.workers} == {"SpawnProcess"}
            results = dict(pool.finished())
    finally:
        release.set()
        beside.join()
    assert results == in_one_process(jobs)


def test_the_workers_check_the_first_jobs_while_the_rest_are_still_being_found():
    """A folder walk hands its Dockerfiles over as it finds them (issue 22): the workers are started before the first
    and check it while the walk goes on."""
    jobs = checks(REAL_FILES)

    def slowly_found() -> Iterator[Job]:
        for index, job in enumerate(jobs):
            if index == 2:  # a slow walk: it goes on once a worker has a result
                deadline = time.monotonic() + 60
                while not any(worker.results.poll() for worker in pool.workers) and time.monotonic() < deadline:
                    time.sleep(0.01)
            yield job

    results = {}
    found_at_first_result = None
    with WorkerPool(slowly_found(), 2) as pool:
        for index, result in pool.finished():
            if found_at_first_result is None:
                found_at_first_result = len(pool.jobs)
            results[index] = result
    assert found_at_first_result == 3
    assert results == in_one_process(jobs)


# In a process of its own: this one may have a thread by now (a file checked here starts the time budget's), and
# workers started beside a thread are spawned, never forked.
ENDING_BY_THEMSELVES = """
import sys
from pathlib import Path
from dockerfix.cli import Job
from dockerfix.rewriter.config import Settings
from dockerfix.workers import WorkerPool

jobs = [Job(Path(path), Settings(unsafe_fixes=True), False, None) for path in sys.argv[1:]]
with WorkerPool(jobs, 3) as pool:
    assert len(dict(pool.finished())) == len(jobs)
    processes = [worker.process for worker in pool.workers]
print([(type(process).__name__, process.exitcode) for process in processes])
"""


def test_forked_workers_end_by_themselves_when_the_pool_ends():
    """Each worker ends when its orders end: a forked worker holds no copy of its own or another worker's pipe ends,
    which would keep its orders open until it was killed."""
    run = subprocess.run(
        [sys.executable, "-c", ENDING_BY_THEMSELVES, *map(str, REAL_FILES)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str([("ForkProcess", 0)] * 3)
