"""Benchmark: fuzz the engine with randomly mutated corpus Dockerfiles (the mutations and checks of
tests/fuzzing.py, which tests/test_fuzz.py runs a bounded number of times in CI) and print a table.

Run: `python bench/fuzz.py` (`--examples 50000 --workers 2 --seed 1`; `--save problems.json` keeps every input
that broke a promise, with the file it came from and what went wrong).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzzing import corpus_files, judge, mutate, random_mutations  # noqa: E402

COLUMNS = (
    ("examples", lambda verdict: True),
    ("inputs BuildKit accepted", lambda verdict: verdict.input_accepted),
    ("outputs rejected", lambda verdict: verdict.output_rejected),
    ("exceptions", lambda verdict: verdict.exception is not None),
    ("hangs", lambda verdict: verdict.hang is not None),
    ("parser disagreements", lambda verdict: verdict.parser_disagreement is not None),
    ("non-idempotent", lambda verdict: verdict.not_idempotent),
    ("invariant violations", lambda verdict: bool(verdict.invariant_violations)),
    ("rule failures", lambda verdict: bool(verdict.rule_failures)),
)


def run_batch(job: tuple[int, int]) -> tuple[list[int], list[dict]]:
    """``count`` examples from the random stream ``seed``: the column counts and the examples with problems."""
    seed, count = job
    random = Random(seed)
    files = corpus_files()
    counts = [0] * len(COLUMNS)
    problems = []
    for _ in range(count):
        corpus_file = files[random.randrange(len(files))]
        text = mutate(corpus_file.text, random_mutations(random))
        verdict = judge(text, corpus_file.context)
        for index, (_, applies) in enumerate(COLUMNS):
            counts[index] += applies(verdict)
        if verdict.problems:
            problems.append({"file": str(corpus_file.path), "text": text, "problems": verdict.problems})
    return counts, problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=250, help="examples per job")
    parser.add_argument("--save", type=Path, help="write every problem found to this JSON file")
    arguments = parser.parse_args()
    if not corpus_files():
        print("no corpus beside the repository (../shared/corpus)", file=sys.stderr)
        return 2
    jobs: list[tuple[int, int]] = []
    left = arguments.examples
    while left > 0:
        jobs.append((arguments.seed * 1_000_003 + len(jobs), min(arguments.batch, left)))
        left -= arguments.batch
    totals = [0] * len(COLUMNS)
    problems: list[dict] = []
    start = time.perf_counter()
    # spawn, not fork: the parent has loaded the `dockerfile` package's Go runtime, whose threads a fork loses
    with multiprocessing.get_context("spawn").Pool(arguments.workers) as pool:
        for counts, found in pool.imap_unordered(run_batch, jobs):
            totals = [total + count for total, count in zip(totals, counts, strict=True)]
            problems.extend(found)
            print(f"\r{totals[0]:,} examples, {len(problems)} with problems", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print("| " + " | ".join(name for name, _ in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    print("| " + " | ".join(f"{total:,}" for total in totals) + " |")
    print(f"\n{time.perf_counter() - start:.0f} s wall, {arguments.workers} workers, seed {arguments.seed}")
    if arguments.save:
        arguments.save.write_text(json.dumps(problems, indent=1))
    for problem in problems[:5]:
        print(f"\n{problem['file']}: {problem['problems'][0][:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
