"""DF201 on every real Dockerfile that comes with its build-context file list: findings, fixes and rewrites per
ecosystem, and the steps a source edit re-runs before and after. Prints a table."""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import dockerfile

from dockerfix.knowledge.ecosystems import recognise
from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.source import Source, SourceError
from dockerfix.rules.df201_dependency_manifests_first import DependencyManifestsFirst

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real"


def main() -> int:
    rule = DependencyManifestsFirst()
    rows: dict[str, Counter] = defaultdict(Counter)
    files = rewritten = 0
    for listing in sorted(CORPUS.glob("*.context.txt")):
        path = listing.with_name(listing.name.replace(".context.txt", ".Dockerfile"))
        try:
            source = Source.decode(path.read_bytes(), str(path))
            document = parse(source)
        except (SourceError, OSError):
            continue
        files += 1
        context = BuildContext.from_file_list(listing.read_text().splitlines())
        findings = engine.check(document, [rule], context)
        result = engine.fix(source, [rule], context, unsafe_fixes=True)
        for finding in findings:
            run = next(
                i for i in document.instructions if i.start <= finding.end <= i.end or i.header_end == finding.end
            )
            assert run.shell is not None, "DF201 reports at the RUN that installs"
            ecosystem = next(
                (install.ecosystem for c in run.shell.simple_commands() if (install := recognise(c, context))), "?"
            )
            row = rows[ecosystem]
            row["findings"] += 1
            row[f"fix {finding.fix.applicability.label}" if finding.fix else "report only"] += 1
            steps = re.search(r"(\d+) steps", finding.message)
            assert steps is not None, f"DF201's message says how many steps rebuild: {finding.message}"
            before = int(steps.group(1))
            saved = (finding.savings.rebuilt_steps_after_source_edit or 0) if finding.fix and finding.savings else 0
            row["steps before"] += before
            row["steps after"] += before - saved
        if result.changed:
            rewritten += 1
            dockerfile.parse_string(result.text)
            assert engine.fix(Source(result.text), [rule], context, unsafe_fixes=True).text == result.text
    print(f"{files} Dockerfiles with a context file list\n")
    columns = ["findings", "fix safe", "fix unsafe", "report only", "steps before", "steps after"]
    print("| ecosystem | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for ecosystem, row in sorted(rows.items()):
        print(f"| {ecosystem} | " + " | ".join(str(row[column]) for column in columns) + " |")
    print(
        "\n"
        f"{rewritten} files rewritten (unsafe fixes on): each parses with BuildKit's parser and a second run changes "
        "nothing"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
