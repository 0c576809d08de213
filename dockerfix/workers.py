"""The worker processes of a run over many files. Only such a run imports this module: multiprocessing and its pipes
take longer to import than a small file takes to check."""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import selectors
import signal
import sys
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec.structs import replace

from .cli import Job
from .rewriter.pipeline import BuildContexts, FileResult

if TYPE_CHECKING:
    from multiprocessing.context import ForkContext, SpawnContext

    from .rewriter.config import Settings

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def may_have_written(result: FileResult) -> bool:
    """Whether the run of a file with --write may have written into its context: a write, or perhaps part of one."""
    return result.written or result.unwritten or result.error is not None


class _Schedule:
    """Which file a free worker takes next. Files that only check go in the order given. Files whose fixes are
    written go one build context at a time: the next file of a context starts once the one before has written, and
    its worker hears how many writes went into that context (a listing it holds from before them is stale), so one
    run over a folder of Dockerfiles writes and reports what one run per Dockerfile would."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []  # in the order they came: a result's index is its job's here
        self.waiting: dict[Path | None, deque[int]] = {}  # by context folder when written, else all under None
        self.running: set[Path] = set()
        self.writes: Counter[Path] = Counter()

    def add(self, job: Job) -> None:
        """``job`` joins the jobs (its index is its place there) and waits its turn."""
        self.waiting.setdefault(job.written_context, deque()).append(len(self.jobs))
        self.jobs.append(job)

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

# Before Python 3.13, Windows waits for at most 63 handles at once (WaitForMultipleObjects), and the pool waits for
# two per worker: its results and its process.
MAX_WINDOWS_WORKERS = 31

# How long a worker may take to end once asked (an idle one ends at once; one interrupted mid-write removes its
# temporary file first) before it is killed.
STOP_SECONDS = 5.0


def _start_context() -> ForkContext | SpawnContext:
    """How a worker process starts, named rather than left to the default (Python 3.14 makes it forkserver on Linux).
    Fork where it is safe: a forked worker starts at once with the modules, rules and collector threshold the parent
    has, and reads the jobs without their being sent. It is not safe beside another thread (the progress bar's): the
    child would get the locks that thread held, held forever. macOS's system libraries are not fork-safe (spawn is
    its default since Python 3.8) and Windows has no fork: there, and beside a thread, spawn."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class _Worker:
    """A worker process, the pipes to and from it, and the indices of the files it holds, the one it is checking
    first (it checks them in the order given)."""

    def __init__(self, others: list[_Worker]) -> None:
        context = _start_context()
        orders_in, self.orders = context.Pipe(duplex=False)
        self.results, results_out = context.Pipe(duplex=False)
        # A forked child has copies of the parent's ends of every pipe: it closes them, so that the parent closing its
        # end (or dying) ends the worker, and a worker's death reads as the end of its results.
        inherited = [self.orders, self.results, *(end for other in others for end in other.ends)]
        self.process = context.Process(
            target=_serve,
            args=(
                orders_in,
                results_out,
                inherited if context.get_start_method() == "fork" else [],
                os.getpid(),
                gc.get_threshold(),
            ),
        )
        self.process.start()
        orders_in.close()
        results_out.close()
        self.held: deque[int] = deque()
        self.settings_sent: set[int] = set()  # the numbers of the settings it has been sent

    def send(self, job: Job, writes_before: int, settings_number: int) -> None:
        """The file to check next and the writes into its context so far. Its settings go only the first time (the
        files of a run share a few; unpickling them was a third of a job's hand-over)."""
        settings = None if settings_number in self.settings_sent else job.settings
        # paths as text: a pickled path is its parts, each saved and joined again (a fifth of the parent's work)
        order = (writes_before, str(job.path), job.write, _text(job.context), _text(job.resolved_context))
        self.orders.send((*order, settings_number, settings))
        self.settings_sent.add(settings_number)

    @property
    def ends(self) -> tuple[Connection, Connection]:
        return self.orders, self.results

    def ask_to_stop(self, at_once: bool) -> None:
        """Its orders end, so it ends once it has checked what it holds; or at once (SIGTERM: a write in progress
        removes its temporary file)."""
        self.orders.close()
        if at_once:
            self.process.terminate()

    def wait_until_stopped(self) -> None:
        self.process.join(STOP_SECONDS)
        if self.process.exitcode is None:
            self.process.kill()
            self.process.join()
        self.results.close()


class _Readiness:
    """Which workers have results to read or have ended, as file descriptors. On POSIX one selector serves the run,
    made again only when a worker is replaced: `multiprocessing.connection.wait` builds and fills a selector on every
    call (7 µs; with `Connection.poll`, some 7,400 calls over the real corpus, 50 ms of the parent's CPU beside the
    workers). Windows waits on handles, which its selectors do not take."""

    def __init__(self) -> None:
        self._selector: selectors.BaseSelector | None = None
        self._watched: list[_Worker] = []

    def of(self, workers: list[_Worker], at_once: bool = False) -> set[int]:
        """The ready ones; with ``at_once``, without waiting for one."""
        if sys.platform == "win32":
            handles = [handle for worker in workers for handle in (worker.results, worker.process.sentinel)]
            ready = wait(handles, 0 if at_once else None)
            return {handle if isinstance(handle, int) else handle.fileno() for handle in ready}
        if self._selector is None or self._watched != workers:
            self.close()
            self._selector, self._watched = selectors.DefaultSelector(), list(workers)
            for worker in workers:
                self._selector.register(worker.results.fileno(), selectors.EVENT_READ)
                self._selector.register(worker.process.sentinel, selectors.EVENT_READ)
        return {key.fd for key, _ in self._selector.select(0 if at_once else None)}

    def close(self) -> None:
        if self._selector is not None:
            self._selector.close()
            self._selector = None


class WorkerPool:
    """Worker processes that check the jobs, driven from the calling thread alone (no helper thread: each result wakes
    the parent once, and its files go out in the same turn). The workers start before the first job is known: the
    jobs are taken from ``jobs`` as its iterator finds them (a folder walk), and the first are checked while it goes
    on. A worker gets files one by one, a few at a time, and sends each result back as soon as it is known, without
    its new text.

    A worker that dies (a native crash, the OOM killer) costs only the file it was checking, which gets an error: it
    checks the files it holds in the order given, so that file is the oldest it held, and the others, never started,
    go to the worker that replaces it. (A worker killed between two files costs the next one, which it had not
    started.)"""

    def __init__(self, jobs: Iterable[Job], count: int) -> None:
        self.incoming = iter(jobs)
        self.count = min(count, MAX_WINDOWS_WORKERS) if sys.platform == "win32" else count
        self.schedule = _Schedule()
        self.workers: list[_Worker] = []
        self.settings_numbers: dict[int, int] = {}  # by the settings' identity: the few a run has, numbered
        self.settings_kept: list[Settings] = []  # keeps each numbered one alive, so that its identity stays its own

    @property
    def jobs(self) -> list[Job]:
        """The jobs taken so far (a result's index is its job's here)."""
        return self.schedule.jobs

    def __enter__(self) -> WorkerPool:
        try:
            for _ in range(self.count):
                self._start()
        except BaseException:
            self._stop_all(at_once=True)
            raise
        return self

    def __exit__(self, *failure: object) -> None:
        # interrupted (work still running): stop at once; else the idle workers end as their orders end
        self._stop_all(at_once=any(worker.held for worker in self.workers))

    def finished(self) -> Iterator[tuple[int, FileResult]]:
        """Each file's index and result, as they come."""
        readiness = _Readiness()
        try:
            for job in self.incoming:  # the workers check the first files while the rest are found
                self.schedule.add(job)
                for worker in self.workers:
                    self._fill(worker)
                yield from self._turn(readiness, at_once=True)
            for worker in self.workers:
                self._fill(worker)
            # a worker that died holding nothing (its orders could not be sent) is seen by its process's sentinel
            while self.schedule.waiting or any(worker.held for worker in self.workers):
                yield from self._turn(readiness, at_once=False)
                for worker in self.workers:
                    self._fill(worker)
        finally:
            readiness.close()

    def _turn(self, readiness: _Readiness, at_once: bool) -> Iterator[tuple[int, FileResult]]:
        """The results that are ready (with ``at_once``, none if none is; else at least one, or a worker's end)."""
        ready = readiness.of(self.workers, at_once)
        if not ready:
            return
        for worker in list(self.workers):  # as they were: a replacement started in this turn waits
            if worker.process.sentinel in ready:
                yield from self._received(worker)
                if worker in self.workers:
                    yield from self._replace(worker)
            elif worker.results.fileno() in ready:
                yield from self._received_one(worker)

    def _start(self) -> None:
        self.workers.append(_Worker(self.workers))

    def _fill(self, worker: _Worker) -> None:
        while len(worker.held) < HELD_PER_WORKER and (item := self.schedule.take()) is not None:
            index, writes_before = item
            try:
                job = self.jobs[index]
                worker.send(job, writes_before, self._settings_number(job))
            except OSError:  # it died: its sentinel says so
                self.schedule.retry(index)
                return
            worker.held.append(index)

    def _settings_number(self, job: Job) -> int:
        number = self.settings_numbers.get(id(job.settings))
        if number is None:
            number = self.settings_numbers[id(job.settings)] = len(self.settings_kept)
            self.settings_kept.append(job.settings)
        return number

    def _received(self, worker: _Worker) -> Iterator[tuple[int, FileResult]]:
        """The results ``worker`` has sent (it ended: none of them may be left behind)."""
        while worker in self.workers and worker.held and worker.results.poll():
            yield from self._received_one(worker)

    def _received_one(self, worker: _Worker) -> Iterator[tuple[int, FileResult]]:
        """The next result of ``worker``, whose results are ready to read (any more wake the next turn)."""
        if not worker.held:
            return
        try:
            result = worker.results.recv()
        except EOFError:  # it died, perhaps in the middle of sending
            yield from self._replace(worker)
            return
        index = worker.held.popleft()
        self.schedule.finished(index, result)
        yield index, result

    def _replace(self, worker: _Worker) -> Iterator[tuple[int, FileResult]]:
        """Its oldest file gets the error; the files it never started go back to the schedule, for a new worker."""
        self.workers.remove(worker)
        worker.ask_to_stop(at_once=True)
        worker.wait_until_stopped()
        never_started = list(worker.held)[1:]
        for index in reversed(never_started):
            self.schedule.retry(index)
        self._start()
        if worker.held:
            index = worker.held[0]
            path = self.jobs[index].path
            result = FileResult(
                path=str(path), error=f"{path}:1:1: the process checking this file died (a crash or a kill)"
            )  # a write is a rename, so the file is whole: its old text, or (killed after the rename) fixed
            self.schedule.finished(index, result)
            yield index, result

    def _stop_all(self, at_once: bool) -> None:
        for worker in self.workers:  # all asked first: they end side by side
            worker.ask_to_stop(at_once)
        for worker in self.workers:
            worker.wait_until_stopped()
        self.workers.clear()


def _serve(
    orders: Connection,
    results: Connection,
    inherited: list[Connection],
    parent: int,
    collector_threshold: tuple[int, int, int],
) -> None:
    """A worker's life: the files it is sent, in order, each result sent back at once, until its orders end."""
    for end in inherited:
        end.close()
    _worker_started(parent)
    gc.set_threshold(*collector_threshold)  # a spawned worker starts with the default
    settings: dict[int, Settings] = {}  # by number: each comes once
    while True:
        try:
            writes_before, path, write, context, resolved_context, settings_number, first_sent = orders.recv()
        except EOFError:
            return
        if settings_number not in settings:
            settings[settings_number] = first_sent
        job = Job(Path(path), settings[settings_number], write, _path(context), _path(resolved_context))
        # without its new text, which the command never reads (the worker wrote it, or the diff shows it): half the
        # bytes of the results over the real corpus (3.0 -> 1.4 MB), pickled and read again
        results.send(replace(_process_in_worker(job, writes_before), new_text=None))


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _path(text: str | None) -> Path | None:
    return None if text is None else Path(text)


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
    except Exception as error:  # a bug, not the file's fault: the other files go on
        result = FileResult(
            path=str(job.path), error=f"{job.path}:1:1: internal error: {type(error).__name__}: {error}"
        )
    finally:
        _busy = False
    if folder is not None:  # this worker's contexts know of its own writes: the parent's count of them is no news
        _writes_seen[folder] = writes_before + may_have_written(result)
    return result
