"""What the shipped-stage filter and DF001 (generated files) change on ../shared/corpus/real/ and expert/.

For each corpus: files, files whose header says they are generated, the layer findings (DF1xx) that fall in stages
that do not ship (dropped by the engine, per rule), and the findings and fixes reported with `generated-files`
"fix" (every file treated alike) and with the default "summary". Run: `python bench/shipped_and_generated.py`.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import expert_dockerfiles, real_dockerfiles  # noqa: E402

from dockerfix.rewriter.config import Settings  # noqa: E402
from dockerfix.rewriter.document import parse  # noqa: E402
from dockerfix.rewriter.engine import Selection  # noqa: E402
from dockerfix.rewriter.pipeline import BuildContexts, read_source, run_source  # noqa: E402
from dockerfix.rewriter.rule import RuleContext  # noqa: E402
from dockerfix.rewriter.source import SourceError  # noqa: E402
from dockerfix.rewriter.stages import shipped_offset_test  # noqa: E402
from dockerfix.rules.df001_generated_file import generated_header  # noqa: E402


def unshipped_layer_findings(document, build_context) -> Counter[str]:
    shipped = shipped_offset_test(document)
    context = RuleContext(build_context=build_context)
    layer_rules = [rule for rule in Selection().rules() if rule.layer_rule]
    return Counter(
        finding.code for rule in layer_rules for finding in rule.check(document, context) if not shipped(finding.start)
    )


@dataclass
class Tally:
    """What one corpus gives: files read, files marked generated, layer findings dropped in unshipped stages, findings
    by `generated-files` mode, and the applicability of the fixes offered with the default mode."""

    files: int = 0
    generated: int = 0
    unshipped: Counter[str] = field(default_factory=Counter)
    findings: dict[str, Counter[str]] = field(default_factory=lambda: {"fix": Counter(), "summary": Counter()})
    fixes: Counter[str] = field(default_factory=Counter)


def measure(files: list[Path]) -> Tally:
    tally = Tally()
    contexts = BuildContexts()  # one run: the corpus folder is one context for all its files
    for path in files:
        try:
            source = read_source(path)
            document = parse(source)
        except SourceError:
            continue
        build_context = contexts.for_dockerfile(path.parent, path)
        tally.files += 1
        tally.generated += generated_header(document) is not None
        tally.unshipped += unshipped_layer_findings(document, build_context)
        for mode, found in tally.findings.items():
            settings = Settings(unsafe_fixes=True, options={"generated-files": mode})
            result = run_source(source, settings, build_context, path, apply_fixes=False)
            found.update(finding.code for finding in result.findings)
            if mode == "summary":
                tally.fixes.update(finding.fix.applicability if finding.fix else "none" for finding in result.findings)
    return tally


def main() -> int:
    print(
        "| corpus | files | marked generated | layer findings in unshipped stages (dropped) | findings, "
        "generated-files=fix | findings, default | fixes offered (default) |"
    )
    print("|---|---|---|---|---|---|---|")
    tallies = {name: measure(files) for name, files in (("real", real_dockerfiles()), ("expert", expert_dockerfiles()))}
    for name, tally in tallies.items():
        unshipped = ", ".join(f"{code} {count}" for code, count in sorted(tally.unshipped.items()))
        fixes = ", ".join(f"{kind} {count}" for kind, count in sorted(tally.fixes.items()))
        print(
            f"| {name} | {tally.files} | {tally.generated} | {tally.unshipped.total()} ({unshipped}) "
            f"| {tally.findings['fix'].total()} | {tally.findings['summary'].total()} | {fixes} |"
        )
    print()
    print("| corpus | rule | generated-files=fix | default |")
    print("|---|---|---|---|")
    for name, tally in tallies.items():
        fix, summary = tally.findings["fix"], tally.findings["summary"]
        for code in sorted(set(fix) | set(summary)):
            print(f"| {name} | {code} | {fix[code]} | {summary[code]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
