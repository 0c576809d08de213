"""DF101 on the shared corpora: findings by applicability, and what its fixes do to the real corpus.

Run: `python bench/df101_corpus.py` (expert and real corpora beside the checkout, read-only). Prints, per corpus,
files, DF101 findings (safe, unsafe, display-only), findings per file, and the same counts for all rules on the
expert corpus (the precision issue's goal is at most 0.3 findings per expert file, all rules together).
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.pipeline import context_for, read_source, run_source
from dockerfix.rewriter.source import SourceError

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def expert_files() -> list[Path]:
    with open(SHARED / "expert" / "PROVENANCE.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [SHARED / "expert" / row["folder"] / row["dockerfile"] for row in rows]


def real_files() -> list[Path]:
    return sorted((SHARED / "real").glob("*.Dockerfile"))


def kind(finding) -> str:
    return finding.fix.applicability if finding.fix is not None else "display-only"


def count(files: list[Path], select: tuple[str, ...]) -> tuple[int, Counter]:
    settings = Settings(select=select)
    counts: Counter = Counter()
    parsed = 0
    for path in files:
        try:
            source = read_source(path)
        except SourceError:
            continue
        try:
            result = run_source(source, settings, context_for(path.parent, path), file=path, apply_fixes=False)
        except SourceError:
            continue
        parsed += 1
        for finding in result.findings:
            counts[(finding.code, kind(finding))] += 1
    return parsed, counts


def row(name: str, files: int, counts: Counter, code_prefix: str) -> str:
    by_kind = Counter()
    for (code, applicability), number in counts.items():
        if code.startswith(code_prefix):
            by_kind[applicability] += number
    total = sum(by_kind.values())
    return (f"| {name:<18} | {files:>5} | {total:>8} | {by_kind['safe']:>5} | {by_kind['unsafe']:>6} | "
            f"{by_kind['display-only']:>12} | {total / files if files else 0:>8.2f} |")


def main() -> int:
    expert, real = expert_files(), real_files()
    expert_parsed, expert_all = count(expert, ("DF",))
    real_parsed, real_df101 = count(real, ("DF101",))
    print(f"| {'corpus / rules':<18} | {'files':>5} | {'findings':>8} | {'safe':>5} | {'unsafe':>6} | {'display-only':>12} | {'per file':>8} |")
    print(f"|{'-' * 20}|{'-' * 7}|{'-' * 10}|{'-' * 7}|{'-' * 8}|{'-' * 14}|{'-' * 10}|")
    print(row("expert DF101", expert_parsed, expert_all, "DF101"))
    print(row("expert all rules", expert_parsed, expert_all, "DF"))
    print(row("real DF101", real_parsed, real_df101, "DF101"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
