"""The analysis thread (docs/decisions.md, section 16)."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any


class Superseded(Exception):
    """The document changed before its analysis started: a newer one is on its way."""


class Worker:
    """Runs analyses one at a time on a daemon thread, off the protocol loop, so the server keeps reading and
    answering while one runs (and exits without waiting for it). A job whose document moved on before it started is
    skipped; a running one cannot be interrupted (the engine has no cancellation point), which is what the size limit
    bounds."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def run(self, job: Callable[[], Any], wanted: Callable[[], bool]) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self.thread is None:
            self.thread = threading.Thread(target=self._serve, name="dockerfix-analysis", daemon=True)
            self.thread.start()
        self.jobs.put((loop, future, job, wanted))
        return future

    def _serve(self) -> None:
        while True:
            loop, future, job, wanted = self.jobs.get()
            try:
                if not wanted():
                    raise Superseded()
                outcome, failed = job(), False
            except Exception as error:
                outcome, failed = error, True
            try:
                loop.call_soon_threadsafe(settle, future, outcome, failed)
            except RuntimeError:  # the loop is gone: the server is exiting
                return


def settle(future: asyncio.Future, outcome: Any, failed: bool) -> None:
    if future.done():
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
