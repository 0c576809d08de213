"""Benchmark: time and peak memory of one file through the whole pipeline (parse, every rule, fix loop, diff)
against the number of instructions and against the length of one RUN line; both should grow linearly.

Each row runs in a fresh process (so peak memory is that row's and no parse cache carries over) with a time limit.
Seconds are the process's CPU time: on a machine shared with other work, wall time measures the neighbours too.
Run: `python bench/scale.py` (`--limit SECONDS` per row, default 120; `--quick` for the smaller sizes only).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

INSTRUCTION_COUNTS = (1_000, 10_000, 50_000, 200_000)
LINE_LENGTHS = (10_000, 100_000, 1_000_000)
NON_ASCII = "é"


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


CLEANUP_COUNTS = (1_000, 4_000, 20_000)


def cleanup_runs_text(count: int) -> str:
    """``count`` RUNs that each remove a file nothing earlier names, with a download now and then: the worst case for
    a rule that looks back for the RUN that made what a cleanup removes (DF110)."""
    lines = ["FROM debian:bookworm"]
    for index in range(count):
        if index % 50 == 0:
            lines.append(f"RUN curl -o /tmp/archive{index}.tgz https://example.invalid/{index}.tgz")
        lines.append(f"RUN rm -f /tmp/scratch{index}")
    return "\n".join(lines) + "\n"


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


def measure(text: str) -> dict:
    from dockerfix.rewriter.config import Settings
    from dockerfix.rewriter.pipeline import run_source
    from dockerfix.rewriter.registry import all_rules
    from dockerfix.rewriter.source import Source

    all_rules()  # importing the rules is a constant cost, not the file's
    start = time.process_time()
    result = run_source(Source(text), Settings())
    elapsed = time.process_time() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": elapsed, "peak_mib": peak_kib / 1024, "findings": len(result.findings), "failures": len(result.rule_failures)}


def row(kind: str, size: int, limit: float) -> dict | None:
    command = [sys.executable, __file__, "--one", kind, str(size)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return None
    return json.loads(completed.stdout)


def text_for(kind: str, size: int) -> str:
    if kind == "instructions":
        return instructions_text(size)
    if kind == "cleanup-runs":
        return cleanup_runs_text(size)
    return long_line_text(size, non_ascii=kind == "line-non-ascii")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=float, default=120.0, help="seconds per row before giving up")
    parser.add_argument("--quick", action="store_true", help="skip the largest size of each series")
    arguments = parser.parse_args()
    if arguments.one:
        kind, size = arguments.one
        print(json.dumps(measure(text_for(kind, int(size)))))
        return 0
    series = [("instructions", INSTRUCTION_COUNTS), ("cleanup-runs", CLEANUP_COUNTS), ("line-ascii", LINE_LENGTHS), ("line-non-ascii", LINE_LENGTHS)]
    print("| series | size | bytes | CPU seconds | µs per byte | peak MiB | findings | rule failures |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, sizes in series:
        for size in sizes[:-1] if arguments.quick else sizes:
            length = len(text_for(kind, size).encode("utf-8"))
            measured = row(kind, size, arguments.limit)
            if measured is None:
                print(f"| {kind} | {size:,} | {length:,} | > {arguments.limit:.0f} | | | | |", flush=True)
                continue
            print(
                f"| {kind} | {size:,} | {length:,} | {measured['seconds']:.2f} | {measured['seconds'] * 1e6 / length:.2f} "
                f"| {measured['peak_mib']:.0f} | {measured['findings']:,} | {measured['failures']} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
