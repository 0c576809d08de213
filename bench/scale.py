"""Benchmark: every shape of input the pipeline is linear in, each measured at a size n and at 2n.

A row gives the CPU time and the peak memory per unit (a RUN, a line, a Dockerfile, a file) and, at 2n, the slope:
how much the time per unit grew when the size doubled (1.0 for linear work; the bound is 1.3, a total of 2.6x).
Memory per unit is the peak above the process at rest (interpreter, rules and the input itself already loaded).

Each row runs in a fresh process (so peak memory is that row's and no cache carries over) with a time limit, three
times, and keeps the fastest. "GC s" is the part of the CPU time the cyclic garbage collector took: its full
collections come when the objects alive grew by a quarter, each scanning all of them, so at two sizes their count
is a step (1 at 4,000 cleanup RUNs, 3 at 8,000) that a time slope shows without any pass being superlinear.
Seconds are the process's CPU time: on a machine shared with other work, wall time measures the neighbours too
(and CPU time still varies by a tenth or so).
Run: `python bench/scale.py` (`--limit SECONDS` per row, default 300; `--quick` for smaller sizes).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_scale import shared_context  # noqa: E402  (the shape the tests hold linear)

NON_ASCII = "é"
SLOPE_BOUND = 1.3
RUNS_PER_ROW = 3


def instructions_text(count: int) -> str:
    """``count`` instructions after FROM in a repeating, realistic mix: RUN pairs that DF101 merges, package
    installs the cleanup rules look at, ENV, COPY and WORKDIR between them."""
    block = (
        "RUN mkdir -p /srv/app{i}",
        "RUN apt-get update && apt-get install -y curl{i}",
        "ENV STEP{i}=value{i}",
        "COPY file{i}.txt /srv/app{i}/",
        "WORKDIR /srv/app{i}",
    )
    lines = ["FROM debian:bookworm"]
    lines.extend(block[index % len(block)].format(i=index) for index in range(count))
    return "\n".join(lines) + "\n"


def runs_text(count: int) -> str:
    """``count`` RUNs in one stage, each a package manager whose cache a rule may mount or clean (who the RUN runs
    as decides the cache's folder: a USER now and then), or a plain command."""
    commands = (
        "pip install flask{i}",
        "apt-get update && apt-get install -y curl{i}",
        "npm install left-pad{i}",
        "echo {i} > /srv/file{i}",
        "rm -rf /tmp/scratch{i}",
    )
    lines = ["FROM debian:bookworm"]
    for index in range(count):
        if index % 100 == 50:
            lines.append("USER root")
        lines.append("RUN " + commands[index % len(commands)].format(i=index))
    return "\n".join(lines) + "\n"


def cleanup_runs_text(count: int) -> str:
    """``count`` RUNs that each remove a file nothing earlier names, with a download now and then: the worst case for
    a rule that looks back for the RUN that made what a cleanup removes (DF110)."""
    lines = ["FROM debian:bookworm"]
    for index in range(count):
        if index % 50 == 0:
            lines.append(f"RUN curl -o /tmp/archive{index}.tgz https://example.invalid/{index}.tgz")
        lines.append(f"RUN rm -f /tmp/scratch{index}")
    return "\n".join(lines) + "\n"


def continued_run_text(count: int) -> str:
    """One RUN continued over ``count`` lines, one command each."""
    return (
        "FROM debian:bookworm\nRUN echo start \\\n"
        + "".join(f"    && echo word{i} \\\n" for i in range(count))
        + "    && true\n"
    )


def long_line_text(length: int, non_ascii: bool) -> str:
    """One RUN whose line is about ``length`` characters: many short words, one non-ASCII character if asked."""
    words = []
    size = 0
    index = 0
    while size < length:
        word = f"w{index}"
        words.append(word)
        size += len(word) + 1
        index += 1
    if non_ascii:
        words[0] = NON_ASCII + words[0]
    return "FROM debian:bookworm\nRUN echo " + " ".join(words) + " > /out.txt\n"


@dataclass(frozen=True)
class Series:
    name: str
    unit: str
    sizes: tuple[int, int]  # n and 2n
    quick_sizes: tuple[int, int]
    text: Callable[[int], str] | None = None  # one file of this size; else a build context
    context: Callable[[int], tuple[int, int]] | None = None  # size -> (Dockerfiles, files)


SERIES = (
    Series("RUNs per stage", "RUN", (4_000, 8_000), (1_000, 2_000), text=runs_text),
    Series("cleanup RUNs per stage", "RUN", (4_000, 8_000), (1_000, 2_000), text=cleanup_runs_text),
    Series("continuation lines of one RUN", "line", (16_000, 32_000), (4_000, 8_000), text=continued_run_text),
    Series("instructions", "instruction", (25_000, 50_000), (5_000, 10_000), text=instructions_text),
    Series(
        "characters of one RUN line (ASCII)",
        "character",
        (500_000, 1_000_000),
        (100_000, 200_000),
        text=lambda size: long_line_text(size, non_ascii=False),
    ),
    Series(
        "characters of one RUN line (one non-ASCII)",
        "character",
        (500_000, 1_000_000),
        (100_000, 200_000),
        text=lambda size: long_line_text(size, non_ascii=True),
    ),
    Series(
        "Dockerfiles sharing one build context", "Dockerfile", (200, 400), (50, 100), context=lambda size: (size, 100)
    ),
    Series(
        "files in a build context (10 Dockerfiles)",
        "file",
        (10_000, 20_000),
        (2_000, 4_000),
        context=lambda size: (10, size),
    ),
)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class CollectorTime:
    """The CPU time the cyclic garbage collector takes while it is registered (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started


def measure(series: Series, size: int) -> dict:
    from dockerfix.rewriter import pipeline
    from dockerfix.rewriter.config import Settings
    from dockerfix.rewriter.registry import all_rules
    from dockerfix.rewriter.source import Source

    all_rules()  # importing the rules is a constant cost, not the input's
    collector = CollectorTime()
    with tempfile.TemporaryDirectory() as folder:
        if series.text is not None:
            source = Source(series.text(size))
            rest = peak_mib()
            gc.callbacks.append(collector)
            start = time.process_time()
            results = [pipeline.run_source(source, Settings())]
        else:
            assert series.context is not None
            paths = shared_context(Path(folder) / "context", *series.context(size))
            rest = peak_mib()
            gc.callbacks.append(collector)
            start = time.process_time()
            run = pipeline.BuildContexts()  # one context, shared as the CLI's run shares it
            results = [pipeline.run_path(path, Settings(), contexts=run) for path in paths]
        elapsed = time.process_time() - start
        gc.callbacks.remove(collector)
    return {
        "seconds": elapsed,
        "gc_seconds": collector.seconds,
        "peak_mib": peak_mib(),
        "above_rest_mib": peak_mib() - rest,
        "findings": sum(len(result.findings) for result in results),
        "failures": sum(len(result.rule_failures) + (result.error is not None) for result in results),
    }


def row(series_index: int, size: int, limit: float) -> dict | None:
    """The fastest of ``RUNS_PER_ROW`` runs in fresh processes; None when one takes more than ``limit`` seconds."""
    command = [sys.executable, __file__, "--one", str(series_index), str(size)]
    runs = []
    for _ in range(RUNS_PER_ROW):
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=True)
        except subprocess.TimeoutExpired:
            return None
        runs.append(json.loads(completed.stdout))
    return min(runs, key=lambda measured: measured["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=2, type=int, metavar=("SERIES", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per row before giving up")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    arguments = parser.parse_args()
    if arguments.one:
        index, size = arguments.one
        print(json.dumps(measure(SERIES[index], size)))
        return 0
    print(
        "| series | size | CPU s | GC s | µs per unit | time slope | peak MiB | KiB per unit | memory slope | "
        "findings | failures |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    steep = []
    for index, series in enumerate(SERIES):
        previous = None
        for size in series.quick_sizes if arguments.quick else series.sizes:
            measured = row(index, size, arguments.limit)
            label = f"{size:,} {series.unit}s"
            if measured is None:
                print(f"| {series.name} | {label} | > {arguments.limit:.0f} | | | | | | | | |", flush=True)
                steep.append(series.name)
                break
            per_unit = measured["seconds"] / size
            memory = measured["above_rest_mib"] * 1024 / size
            time_slope = memory_slope = ""
            if previous is not None:
                time_slope = f"{per_unit / previous[0]:.2f}" if previous[0] else ""
                memory_slope = f"{memory / previous[1]:.2f}" if previous[1] else ""
                if previous[0] and per_unit / previous[0] > SLOPE_BOUND:
                    steep.append(series.name)
            print(
                f"| {series.name} | {label} | {measured['seconds']:.2f} | {measured['gc_seconds']:.2f} "
                f"| {per_unit * 1e6:.1f} | {time_slope} "
                f"| {measured['peak_mib']:.0f} | {memory:.2f} | {memory_slope} | {measured['findings']:,} | "
                f"{measured['failures']} |",
                flush=True,
            )
            previous = (per_unit, memory)
    if steep:
        print(f"\nslope above {SLOPE_BOUND} (or over the time limit): {', '.join(steep)}")
    return 1 if steep else 0


if __name__ == "__main__":
    sys.exit(main())
