"""The worker processes of a run over many files. Only such a run imports this module: the process pool's libraries
(concurrent.futures, multiprocessing, pickle, sockets) take longer to import than a small file takes to check."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from .rewriter.pipeline import FileResult

if TYPE_CHECKING:
    from .cli import Job

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def run_in_workers(jobs: list[Job], workers: int, record: Callable[[int, FileResult], None]) -> None:
    """Each worker process holds one file at a time, so a worker that dies (a native crash, the OOM killer) costs
    only the file it held, which gets an error; the worker is replaced and the other files keep their results. (A
    worker killed between two files costs the next file given to it, which it never started.)"""
    pending = iter(enumerate(jobs))
    running: dict[Future, tuple[int, ProcessPoolExecutor]] = {}
    pools: set[ProcessPoolExecutor] = set()

    def new_worker() -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(max_workers=1, initializer=_worker_started, initargs=(os.getpid(),))
        pools.add(pool)
        return pool

    def replace(pool: ProcessPoolExecutor) -> ProcessPoolExecutor:
        pools.discard(pool)
        pool.shutdown(wait=False)
        return new_worker()

    def give_work(pool: ProcessPoolExecutor) -> None:
        item = next(pending, None)
        if item is None:
            return
        try:
            future = pool.submit(_process_in_worker, item[1])
        except BrokenProcessPool:  # its worker died after handing back its last file
            pool = replace(pool)
            future = pool.submit(_process_in_worker, item[1])
        running[future] = (item[0], pool)

    try:
        for _ in range(workers):
            give_work(new_worker())
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index, pool = running.pop(future)
                path = jobs[index].path
                try:
                    result = future.result()
                except BrokenProcessPool:
                    pool = replace(pool)
                    # a write is a rename, so the file is whole: its old text, or (killed after the rename) fixed
                    result = FileResult(
                        path=str(path), error=f"{path}:1:1: the process checking this file died (a crash or a kill)"
                    )
                except Exception as error:  # a bug, not the file's fault: the other files go on
                    result = FileResult(
                        path=str(path), error=f"{path}:1:1: internal error: {type(error).__name__}: {error}"
                    )
                record(index, result)
                give_work(pool)
    finally:
        for pool in pools:  # interrupted (work still running): leave at once; else let the idle workers exit cleanly
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


def _process_in_worker(job: Job) -> FileResult:
    global _busy
    _busy = True
    try:
        return job.run()
    except _ParentGone:
        os._exit(1)
    finally:
        _busy = False
