"""Precision on Dockerfiles written by experts: what dockerfix reports on ../shared/corpus/expert/.

Prints files with findings, findings per rule and their fixes (safe, unsafe, display-only, none), and findings per
file. `--list` also prints every finding (`folder/Dockerfile:line CODE message`), the list docs/expert-review.md
reviews one by one. `--corpus real` prints the same table for ../shared/corpus/real/ (its `.context.txt` listings as
build contexts), to see what a change costs on the real smells.
Run: `python bench/expert_precision.py [--list] [--corpus expert|real]`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.pipeline import FileResult, read_source, run_path, run_source
from dockerfix.rewriter.source import SourceError

SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
APPLICABILITIES = ("safe", "unsafe", "display-only", "none")


def expert_results(settings: Settings) -> list[tuple[str, FileResult]]:
    root = SHARED_CORPUS / "expert"
    rows = [line.split("\t") for line in (root / "PROVENANCE.tsv").read_text().splitlines()[1:] if line.strip()]
    return [
        (f"{folder}/{dockerfile}", run_path(root / folder / dockerfile, settings)) for folder, dockerfile, *_ in rows
    ]


def real_results(settings: Settings) -> list[tuple[str, FileResult]]:
    results = []
    for path in sorted((SHARED_CORPUS / "real").glob("*.Dockerfile")):
        listing = path.with_name(path.name.replace(".Dockerfile", ".context.txt"))
        context = BuildContext.from_file_list(listing.read_text().splitlines()) if listing.exists() else None
        try:
            results.append((path.name, run_source(read_source(path), settings, context, path)))
        except SourceError as error:
            results.append((path.name, FileResult(path=str(path), error=str(error))))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("expert", "real"), default="expert")
    parser.add_argument("--list", action="store_true", help="print every finding")
    arguments = parser.parse_args()
    if not (SHARED_CORPUS / arguments.corpus).is_dir():
        print(f"no corpus at {SHARED_CORPUS / arguments.corpus}", file=sys.stderr)
        return 2
    settings = Settings()
    results = (expert_results if arguments.corpus == "expert" else real_results)(settings)
    per_rule: dict[str, Counter] = defaultdict(Counter)
    errors = failures = 0
    for name, result in results:
        errors += result.error is not None
        failures += len(result.rule_failures)
        for finding in result.findings:
            per_rule[finding.code][finding.fix.applicability if finding.fix else "none"] += 1
            if arguments.list:
                print(f"{name}:{finding.range.start.line} {finding.code} {finding.message}")
    total = sum(sum(counts.values()) for counts in per_rule.values())
    with_findings = sum(1 for _, result in results if result.findings)
    print(
        f"\n{arguments.corpus} corpus: {len(results)} files, {with_findings} with findings, {total} findings, "
        f"{total / max(len(results), 1):.2f} per file; {errors} unreadable, {failures} rule failures\n"
    )
    print(f"| rule | findings | {' | '.join(APPLICABILITIES)} |")
    print(f"|---|---:|{'---:|' * len(APPLICABILITIES)}")
    for code in sorted(per_rule):
        counts = per_rule[code]
        print(f"| {code} | {sum(counts.values())} | {' | '.join(str(counts[kind]) for kind in APPLICABILITIES)} |")
    totals: Counter[str] = Counter()
    for counts in per_rule.values():
        totals.update(counts)
    print(f"| all | {total} | {' | '.join(str(totals[kind]) for kind in APPLICABILITIES)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
