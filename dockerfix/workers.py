"""The worker processes of a run over many files. Only such a run imports this module: the process pool's libraries
(concurrent.futures, multiprocessing, pickle, sockets) take longer to import than a small file takes to check."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

from .rewriter.pipeline import BuildContexts, FileResult

if TYPE_CHECKING:
    from .cli import Job

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def may_have_written(result: FileResult) -> bool:
    """Whether the run of a file with --write may have written into its context: a write, or perhaps part of one."""
    return result.written or result.unwritten or result.error is not None


class _Schedule:
    """Which file a free worker takes next. Files that only check go in the order given. Files whose fixes are
    written go one build context at a time: the next file of a context starts once the one before has written, and
    its worker hears how many writes went into that context (a listing it holds from before them is stale), so one
    run over a folder of Dockerfiles writes and reports what one run per Dockerfile would."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.waiting: dict[Path | None, deque[int]] = {}  # by context folder when written, else all under None
        for index, job in enumerate(jobs):
            self.waiting.setdefault(job.written_context, deque()).append(index)
        self.running: set[Path] = set()
        self.writes: Counter[Path] = Counter()

    def take(self) -> tuple[int, int] | None:
        """The next file's index and the writes into its context so far; None while every waiting file must wait."""
        for folder, queue in self.waiting.items():
            if folder in self.running:
                continue
            index = queue.popleft()
            if not queue:
                del self.waiting[folder]
            if folder is None:
                return index, 0
            self.running.add(folder)
            return index, self.writes[folder]
        return None

    def retry(self, index: int) -> None:
        """A file handed to a worker that died before starting it: it is the next of its queue again."""
        folder = self.jobs[index].written_context
        if folder is not None:
            self.running.discard(folder)
        self.waiting.setdefault(folder, deque()).appendleft(index)

    def finished(self, index: int, result: FileResult) -> None:
        folder = self.jobs[index].written_context
        if folder is None:
            return
        self.running.discard(folder)
        self.writes[folder] += may_have_written(result)


# Files a worker holds at once: it starts the next the moment it hands one back. With one, each hand-off left the
# worker idle for about 0.6 ms, 0.45 s of each worker's 2.2 s over the real corpus.
HELD_PER_WORKER = 2


def run_in_workers(jobs: list[Job], workers: int, record: Callable[[int, FileResult], None]) -> None:
    """A worker that dies (a native crash, the OOM killer) costs only the file it was checking, which gets an error:
    a worker checks the files it holds in the order given, so that file is the oldest it held, and the others, never
    started, go to the worker that replaces it. (A worker killed between two files costs the next one, which it had
    not started.)"""
    schedule = _Schedule(jobs)
    running: dict[Future, int] = {}
    held: dict[ProcessPoolExecutor, deque[Future]] = {}  # each worker's files, the one it is checking first

    def new_worker() -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(max_workers=1, initializer=_worker_started, initargs=(os.getpid(),))
        held[pool] = deque()
        return pool

    def died(pool: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """Its oldest file gets the error; the files it never started go back to the schedule."""
        futures = held.pop(pool)
        pool.shutdown(wait=False)
        if futures:
            index = running.pop(futures.popleft())
            path = jobs[index].path
            result = FileResult(
                path=str(path), error=f"{path}:1:1: the process checking this file died (a crash or a kill)"
            )  # a write is a rename, so the file is whole: its old text, or (killed after the rename) fixed
            schedule.finished(index, result)
            record(index, result)
        for future in reversed(futures):
            schedule.retry(running.pop(future))
        return new_worker()

    def fill(pool: ProcessPoolExecutor) -> None:
        while len(held[pool]) < HELD_PER_WORKER and (item := schedule.take()) is not None:
            index, writes_before = item
            try:
                future = pool.submit(_process_in_worker, jobs[index], writes_before)
            except BrokenProcessPool:  # its worker died after handing back its last file
                schedule.retry(index)
                pool = died(pool)
                continue
            running[future] = index
            held[pool].append(future)

    def pool_of(future: Future) -> ProcessPoolExecutor:
        return next(pool for pool, futures in held.items() if future in futures)

    try:
        for _ in range(workers):
            new_worker()
        for pool in list(held):
            fill(pool)
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                if future not in running:  # given back to the schedule when its worker died
                    continue
                pool = pool_of(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    died(pool)
                    continue
                except Exception as error:  # a bug, not the file's fault: the other files go on
                    path = jobs[running[future]].path
                    result = FileResult(
                        path=str(path), error=f"{path}:1:1: internal error: {type(error).__name__}: {error}"
                    )
                held[pool].remove(future)
                index = running.pop(future)
                schedule.finished(index, result)
                record(index, result)
            for pool in list(held):
                fill(pool)
    finally:
        for pool in held:  # interrupted (work still running): leave at once; else let the idle workers exit cleanly
            pool.shutdown(wait=not running, cancel_futures=True)


class _ParentGone(BaseException):
    """Raised in a worker whose parent died, so a write in progress removes its temporary file."""


_busy = False


def _worker_started(parent: int) -> None:
    """Workers die with the command: without this, after `kill -9` of the command they would go on rewriting files
    (and wait forever for more work)."""
    signal.signal(signal.SIGTERM, _on_parent_gone)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)


def _on_parent_gone(signum: int, frame: object) -> None:
    if _busy:
        raise _ParentGone
    os._exit(1)


# the build contexts this worker has read, and how many writes into each folder it knows of
_contexts = BuildContexts()
_writes_seen: dict[Path, int] = {}


def _process_in_worker(job: Job, writes_before: int) -> FileResult:
    global _busy
    folder = job.written_context
    if folder is not None and _writes_seen.get(folder, writes_before) != writes_before:  # another worker wrote there
        _contexts.forget(folder)
    _busy = True
    try:
        result = job.run(_contexts)
    except _ParentGone:
        os._exit(1)
    finally:
        _busy = False
    if folder is not None:  # this worker's contexts know of its own writes: the parent's count of them is no news
        _writes_seen[folder] = writes_before + may_have_written(result)
    return result
