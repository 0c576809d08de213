"""The byte gains the default rules state over ../shared/corpus/real (or expert), to choose `min-gain` from.

Runs every default rule, each selected by its code (so no finding is held back, whatever it claims), and prints, per
rule, how its findings claim: a stated byte gain (count, median, smallest, largest), an unknown byte gain, only rebuild
steps or cache correctness, only layers, nothing. Then, for each candidate threshold, how many findings with a stated
byte gain it keeps and in how many files.
Run: `python bench/gain_distribution.py [--corpus real|expert]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict

from expert_precision import SHARED_CORPUS, expert_results, real_results

from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.fixes import Savings
from dockerfix.rewriter.registry import MIN_GAIN, all_rules

THRESHOLDS = (0, 100_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000)
KINDS = ("bytes", "unknown", "steps/cache", "layers only", "no claim")


def kind(savings: Savings | None) -> str:
    if savings is None:
        return "no claim"
    if savings.bytes is not None:
        return "bytes"
    if savings.bytes_unknown is not None:
        return "unknown"
    if savings.saves_rebuild_steps or savings.cache_correctness:
        return "steps/cache"
    return "layers only" if savings.layers else "no claim"


def megabytes(count: float) -> str:
    return f"{count / 1_000_000:,.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("real", "expert"), default="real")
    arguments = parser.parse_args()
    if not (SHARED_CORPUS / arguments.corpus).is_dir():
        print(f"no corpus at {SHARED_CORPUS / arguments.corpus}", file=sys.stderr)
        return 2
    # every default rule named by its code: the gate then keeps every finding, whatever it claims
    default_rules = tuple(rule.code for rule in all_rules() if not rule.opt_in)
    settings = Settings(select=default_rules, options={MIN_GAIN.name: 0})
    results = (real_results if arguments.corpus == "real" else expert_results)(settings)
    kinds: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    gains: dict[str, list[int]] = defaultdict(list)
    stated: list[tuple[str, int]] = []  # (file, bytes) of every finding with a stated byte gain
    for name, result in results:
        for finding in result.findings:
            savings = None if finding.savings is None else Savings(**finding.savings)
            kinds[finding.code][kind(savings)] += 1
            if savings is not None and savings.bytes is not None:
                gains[finding.code].append(savings.bytes)
                stated.append((name, savings.bytes))
    print(f"{len(results)} files of ../shared/corpus/{arguments.corpus}, the default rules, every finding\n")
    print("| rule | " + " | ".join(KINDS) + " | median MB | min MB | max MB |")
    print("|---" * (len(KINDS) + 4) + "|")
    for code in sorted(kinds):
        sizes = gains[code]
        spread = (
            (megabytes(statistics.median(sizes)), megabytes(min(sizes)), megabytes(max(sizes))) if sizes else ("-",) * 3
        )
        print(f"| {code} | " + " | ".join(str(kinds[code][k]) for k in KINDS) + " | " + " | ".join(spread) + " |")
    print("\n| min-gain | findings with a stated byte gain kept | files with one |")
    print("|---:|---:|---:|")
    for threshold in THRESHOLDS:
        kept = [(name, size) for name, size in stated if size >= threshold]
        print(f"| {megabytes(threshold)} MB | {len(kept)} of {len(stated)} | {len({name for name, _ in kept})} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
