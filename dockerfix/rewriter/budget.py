"""A wall-clock budget for one file's analysis, so a rule that never ends costs that file, not the run.

Every surface runs the pipeline on a different thread (the CLI's main thread or a worker process, the language
server's analysis thread, the bot's main thread), and a rule stuck in a loop cannot be asked to stop: it has no
cancellation point. So when the budget runs out, a watchdog thread raises ``OverBudget`` in the analysing thread
(CPython's ``PyThreadState_SetAsyncExc``, which takes effect at the thread's next bytecode). It derives from
``BaseException`` so that a rule's own ``except Exception`` cannot swallow it. A loop inside a single C call (a
regular expression that backtracks for ever) is interrupted only when that call returns; the input size limit bounds
those.

One watchdog serves every budget of the process: starting a timer thread per file cost more than checking a small
file (1,519 thread starts, each waiting to be scheduled on a busy machine).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from msgspec import Struct

# Far above the slowest file of both corpora (docs/decisions.md, section 29), so only a runaway rule reaches it.
DEFAULT_TIME_BUDGET = 60.0


class OverBudget(BaseException):
    """The analysis of one file ran past its wall-clock budget. ``rule`` names the rule that was running, when one
    was (set by the engine as the exception passes through it)."""

    rule: str | None = None


def _raise_in(thread_id: int, exception: type[BaseException]) -> None:
    import ctypes  # only a file that runs out of its budget needs it

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exception))


# Bytecodes enough for CPython to deliver an interruption already sent: it checks at every backward jump.
_DELIVERY_LOOPS = 100


def _take_a_late_interruption() -> None:
    """Raise here, and swallow, an ``OverBudget`` sent to this thread and not yet raised.

    Withdrawing it instead (``PyThreadState_SetAsyncExc`` with NULL) leaves CPython 3.11's "pending" flag set with
    no exception behind it: every later check of the eval loop finds nothing to raise, and with a trace function
    (coverage, a debugger, a profiler) the interpreter loops for ever on one instruction.
    """
    try:
        for _ in range(_DELIVERY_LOOPS):
            pass
    except OverBudget:
        pass


class _Budget(Struct, eq=False):
    thread_id: int
    deadline: float  # time.monotonic()
    fired: bool = False


class _Watchdog:
    """The budgets running in this process and the one thread that interrupts those past their deadline. The thread
    sleeps until the earliest deadline; a budget that ends first is only removed (no thread is woken for it)."""

    def __init__(self) -> None:
        self.condition = threading.Condition(threading.Lock())
        self.budgets: set[_Budget] = set()
        self.thread: threading.Thread | None = None
        self.waking_at = float("inf")

    def start(self, seconds: float) -> _Budget:
        budget = _Budget(threading.get_ident(), time.monotonic() + seconds)
        with self.condition:
            self.budgets.add(budget)
            if self.thread is None:
                self.thread = threading.Thread(target=self._watch, name="dockerfix-time-budget", daemon=True)
                self.thread.start()
            elif budget.deadline < self.waking_at:
                self.condition.notify()
        return budget

    def end(self, budget: _Budget) -> bool:
        """Remove ``budget``; whether an interruption was sent to its thread (raised or still on its way)."""
        with self.condition:
            self.budgets.discard(budget)
            return budget.fired

    def _watch(self) -> None:
        with self.condition:
            while True:  # the process's lifetime: a daemon thread, asleep but for a deadline or a new budget
                now = time.monotonic()
                for budget in [budget for budget in self.budgets if budget.deadline <= now]:
                    budget.fired = True
                    self.budgets.discard(budget)  # even if its thread is interrupted before it removes it itself
                    _raise_in(budget.thread_id, OverBudget)
                self.waking_at = min((budget.deadline for budget in self.budgets), default=float("inf"))
                self.condition.wait(None if not self.budgets else self.waking_at - now)


_watchdog = _Watchdog()


def _new_watchdog_in_child() -> None:
    """A forked child has no watchdog thread, and its lock may have been held by the parent's at the fork."""
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_new_watchdog_in_child)


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Run the block with at most ``seconds`` of wall-clock time (no bound for None), else raise ``OverBudget`` in it.
    An interruption that arrives as the block ends is either raised there or withdrawn, never raised later."""
    if seconds is None:
        yield
        return
    watchdog = _watchdog
    budget = watchdog.start(seconds)
    try:
        yield
    finally:
        if watchdog.end(budget):
            _take_a_late_interruption()
