"""A wall-clock budget for one file's analysis, so a rule that never ends costs that file, not the run.

Every surface runs the pipeline on a different thread (the CLI's main thread or a worker process, the language
server's analysis thread, the bot's main thread), and a rule stuck in a loop cannot be asked to stop: it has no
cancellation point. So when the budget runs out, a timer thread raises ``OverBudget`` in the analysing thread
(CPython's ``PyThreadState_SetAsyncExc``, which takes effect at the thread's next bytecode). It derives from
``BaseException`` so that a rule's own ``except Exception`` cannot swallow it. A loop inside a single C call (a
regular expression that backtracks for ever) is interrupted only when that call returns; the input size limit bounds
those.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Far above the slowest file of both corpora (docs/decisions.md, section 29), so only a runaway rule reaches it.
DEFAULT_TIME_BUDGET = 60.0


class OverBudget(BaseException):
    """The analysis of one file ran past its wall-clock budget. ``rule`` names the rule that was running, when one
    was (set by the engine as the exception passes through it)."""

    rule: str | None = None


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Run the block with at most ``seconds`` of wall-clock time (no bound for None), else raise ``OverBudget`` in it.
    An interruption that arrives as the block ends is either raised there or withdrawn, never raised later."""
    if seconds is None:
        yield
        return
    thread_id = threading.get_ident()
    lock = threading.Lock()
    state = {"armed": True, "fired": False}

    def interrupt() -> None:
        with lock:
            if state["armed"]:
                state["fired"] = True
                _raise_in(thread_id, OverBudget)

    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    try:
        timer.start()
        yield
    finally:
        timer.cancel()
        with lock:
            state["armed"] = False
            if state["fired"]:
                _raise_in(thread_id, None)
