"""Base-image rules on the real corpus: slim suggestions for final stages and their summed estimated saving, alpine
and tag findings, multi-stage proposals, and whether every proposal parses with BuildKit's parser and keeps what the
final image declares.

    python bench/base_images.py [corpus folder]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import dockerfile

from dockerfix.knowledge.baseimages import MEGABYTE, identify, resolved_reference
from dockerfix.knowledge.multistage import plan
from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.fixes import Applicability
from dockerfix.rewriter.source import Source, SourceError
from dockerfix.rewriter.stages import target_stage
from dockerfix.rules.df301_slim_base_image import SlimBaseImage
from dockerfix.rules.df302_alpine_native_dependencies import AlpineNativeDependencies
from dockerfix.rules.df303_base_image_tag import BaseImageTag
from dockerfix.rules.df304_multi_stage_split import MultiStageSplit, keeps_promises

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"


def context_for(path: Path) -> BuildContext | None:
    listing = path.with_name(path.name.replace(".Dockerfile", ".context.txt"))
    return BuildContext.from_file_list(listing.read_text().splitlines()) if listing.exists() else None


def main(corpus: Path) -> None:
    rules = [SlimBaseImage(), AlpineNativeDependencies(), BaseImageTag(), MultiStageSplit()]
    counts: Counter[str] = Counter()
    saving = 0
    ecosystems: Counter[str] = Counter()
    bad: list[str] = []
    for path in sorted(corpus.glob("*.Dockerfile")):
        try:
            source = Source.decode(path.read_bytes(), str(path))
            document = parse(source)
        except SourceError:
            continue
        counts["files"] += 1
        stage = target_stage(document)
        reference = resolved_reference(document, stage) if stage is not None else None
        identified = identify(reference) if reference is not None else None
        if identified is not None:
            counts["final stage on a known family"] += 1
        for finding in engine.check(document, rules, context_for(path)):
            fixable = finding.fix is not None and finding.fix.applicability == Applicability.UNSAFE
            counts[f"{finding.code} findings"] += 1
            counts[f"{finding.code} with an unsafe fix"] += fixable
            if finding.code == "DF301":
                assert finding.savings is not None and finding.savings.bytes is not None, "DF301 states measured sizes"
                saving += finding.savings.bytes
            if finding.code == "DF304":
                split = plan(document, identified) if identified is not None else None
                assert stage is not None and split is not None and finding.fix is not None, "DF304 splits known stages"
                ecosystems[split.ecosystem] += 1
                proposal = source.text[: stage.from_instruction.start] + finding.fix.edits[0].content
                try:
                    dockerfile.parse_string(proposal)
                except Exception as error:  # the parser's own error types
                    bad.append(f"{path.name}: BuildKit rejects the proposal: {error}")
                    continue
                if not keeps_promises(document, proposal, split.added_env):
                    bad.append(f"{path.name}: the proposal loses a declaration of the final image")
    rows = [
        ("Dockerfiles parsed", counts["files"]),
        ("final stage on a known official family", counts["final stage on a known family"]),
        ("DF301 slim suggestions (final stages)", counts["DF301 findings"]),
        ("  with an unsafe fix (rest: display-only, reason given)", counts["DF301 with an unsafe fix"]),
        ("  summed estimated saving, MB (compressed)", saving // MEGABYTE),
        ("DF302 alpine risks", counts["DF302 findings"]),
        ("DF303 latest / missing tag", counts["DF303 findings"]),
        ("  with an unsafe fix (official families)", counts["DF303 with an unsafe fix"]),
        ("DF304 multi-stage proposals", counts["DF304 findings"]),
        ("  unsafe fix (rest: display-only)", counts["DF304 with an unsafe fix"]),
        ("  by ecosystem", ", ".join(f"{name} {count}" for name, count in sorted(ecosystems.items())) or "-"),
        (
            "  proposals BuildKit parses and that keep the final image's declarations",
            counts["DF304 findings"] - len(bad),
        ),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"| {'measure':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for label, value in rows:
        print(f"| {label:<{width}} | {value} |")
    for line in bad:
        print(line)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS)
