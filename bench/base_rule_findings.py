"""Findings of the base-image and manifest rules (DF201, DF301, DF303) on the shared corpora, by fix applicability.

    python bench/base_rule_findings.py

`expert/` runs each Dockerfile with its folder as the build context; `real/` with the listed context
(`NNNNN.context.txt`) where there is one.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Iterable

from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.source import Source, SourceError
from dockerfix.rules.df201_dependency_manifests_first import DependencyManifestsFirst
from dockerfix.rules.df301_slim_base_image import SlimBaseImage
from dockerfix.rules.df303_base_image_tag import BaseImageTag

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
RULES = (DependencyManifestsFirst(), SlimBaseImage(), BaseImageTag())


def expert() -> Iterable[tuple[Path, BuildContext | None]]:
    with open(CORPUS / "expert" / "PROVENANCE.tsv", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            folder = CORPUS / "expert" / row["folder"]
            yield folder / row["dockerfile"], BuildContext.from_directory(folder, folder / row["dockerfile"])


def real() -> Iterable[tuple[Path, BuildContext | None]]:
    for path in sorted((CORPUS / "real").glob("*.Dockerfile")):
        listing = path.with_name(path.name.replace(".Dockerfile", ".context.txt"))
        yield path, BuildContext.from_file_list(listing.read_text().splitlines()) if listing.exists() else None


def count(files: Iterable[tuple[Path, BuildContext | None]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path, context in files:
        try:
            document = parse(Source.decode(path.read_bytes(), str(path)))
        except SourceError:
            continue
        counts["files"] += 1
        for finding in engine.check(document, RULES, context):
            kind = finding.fix.applicability.name.lower() if finding.fix else "no fix"
            counts[finding.code] += 1
            counts[f"{finding.code} {kind}"] += 1
    return counts


def main() -> None:
    results = {"expert": count(expert()), "real": count(real())}
    print("| corpus | files | " + " | ".join(rule.code for rule in RULES) + " |")
    print("|---|---|" + "---|" * len(RULES))
    for name, counts in results.items():
        cells = []
        for rule in RULES:
            kinds = ", ".join(f"{kind} {counts[f'{rule.code} {kind}']}" for kind in ("safe", "unsafe", "display_only", "no fix") if counts[f"{rule.code} {kind}"])
            cells.append(f"{counts[rule.code]} ({kinds})" if kinds else "0")
        print(f"| {name} | {counts['files']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
