"""Every pass is linear in the size of its input (issue 19, item 9).

Time depends on the machine and its load, so these tests count work instead: the lines of dockerfix's own code a
run executes (a loop that walks a stage from its start for each RUN shows up as lines), or, where the cost is a
copy inside one line, the pages the process touches. Doubling the input may at most double the count, plus slack
for the constant part.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import dockerfix
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.pipeline import run_source
from dockerfix.rewriter.registry import all_rules
from dockerfix.rewriter.source import Source

PACKAGE = str(Path(dockerfix.__file__).parent)
# Linear work doubles with the input; a pass that rescans its input grows by 2.5x and more at these sizes
LINEAR_GROWTH = 2.2


def lines_executed(function: Callable[[], object]) -> int:
    """How many lines of dockerfix's code ``function`` executes (a tracer counts them; other code is not traced)."""
    count = 0

    def count_lines(frame, event, argument):
        nonlocal count
        count += event == "line"
        return count_lines

    def trace_ours(frame, event, argument):
        return count_lines if frame.f_code.co_filename.startswith(PACKAGE) else None

    all_rules()  # importing the rules is a constant cost, not the input's
    previous = sys.gettrace()
    sys.settrace(trace_ours)
    try:
        function()
    finally:
        sys.settrace(previous)
    return count


def growth(make_text: Callable[[int], str], size: int) -> float:
    """How much the pipeline's work grows from ``size`` to twice that size."""
    small, large = (lines_executed(lambda: run_source(Source(make_text(count)), Settings())) for count in (size, 2 * size))
    return large / small


def runs_in_stages(count: int) -> str:
    """``count`` RUNs of package managers whose caches the rules look at, half in a stage and half in a stage built
    on it, with a USER now and then (who a RUN runs as decides its cache folder)."""
    commands = (
        "pip install flask{i}",
        "apt-get update && apt-get install -y curl{i}",
        "npm install left-pad{i}",
        "echo {i} > /srv/file{i}",
        "rm -rf /tmp/scratch{i}",
    )
    lines = ["FROM debian:bookworm AS base"]
    for index in range(count):
        if index == count // 2:
            lines.append("FROM base")
        if index % 100 == 50:
            lines.append("USER root")
        lines.append("RUN " + commands[index % len(commands)].format(i=index))
    return "\n".join(lines) + "\n"


def test_work_grows_linearly_with_the_runs_of_a_stage():
    # before: cachemounts.run_user walked the stage from its start for each RUN (500 -> 1,000 RUNs: 2.6x the work)
    assert growth(runs_in_stages, 500) <= LINEAR_GROWTH
