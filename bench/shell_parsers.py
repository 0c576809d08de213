"""Measure the shell parsers we considered on every shell-form RUN of ../shared/corpus/real/ and print a table."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import bashlex

from dockerfix.rewriter.document import parse
from dockerfix.rewriter.shell import parse_shell
from dockerfix.rewriter.source import Source, SourceError

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real"


def commands() -> list[str]:
    found: list[str] = []
    for path in sorted(CORPUS.glob("*.Dockerfile")):
        try:
            document = parse(Source.decode(path.read_bytes(), str(path)))
        except SourceError:
            continue
        found.extend(
            i.arguments for i in document.instructions if i.cmd == "run" and not i.is_json and i.arguments.strip()
        )
    return found


def measure(name: str, parser, scripts: list[str]) -> tuple[str, int, int, float, float]:
    failures = 0
    timings = []
    for script in scripts:
        start = time.perf_counter()
        try:
            result = parser(script)
            failures += bool(getattr(result, "has_error", False))
        except Exception:
            failures += 1
        timings.append(time.perf_counter() - start)
    return name, len(scripts), failures, sum(timings) * 1000, statistics.median(timings) * 1000


def main() -> int:
    scripts = commands()
    if not scripts:
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 2
    rows = [measure("tree-sitter-bash (parse_shell)", parse_shell, scripts), measure("bashlex", bashlex.parse, scripts)]
    print(f"{len(scripts)} shell-form RUN commands from {CORPUS}\n")
    print(f"| {'parser':<32} | {'commands':>8} | {'failures':>8} | {'total ms':>9} | {'median ms':>9} |")
    print(f"|{'-' * 34}|{'-' * 10}|{'-' * 10}|{'-' * 11}|{'-' * 11}|")
    for name, count, failures, total, median in rows:
        print(f"| {name:<32} | {count:>8} | {failures:>8} | {total:>9.0f} | {median:>9.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
