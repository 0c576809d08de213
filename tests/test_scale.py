"""Every pass is linear in the size of its input (issue 19, item 9).

Time depends on the machine and its load, so these tests count work instead: the lines of dockerfix's own code a
run executes (a loop that walks a stage from its start for each RUN shows up as lines), or, where the cost is a
copy inside one line, the pages the process touches. Doubling the input may at most double the count, plus slack
for the constant part.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_cli import dockerfix

from dockerfix.rewriter import pipeline
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.registry import all_rules
from dockerfix.rewriter.source import Source

PACKAGE = str(Path(pipeline.__file__).parents[1])
# Linear work doubles with the input; each pass that rescanned its input grew it 2.3x to 4x at these sizes
LINEAR_GROWTH = 2.2


def lines_executed(function: Callable[[], object], code_in: tuple[str, ...] = (PACKAGE,)) -> int:
    """How many lines of dockerfix's code (or of the files and folders ``code_in``) ``function`` executes (a tracer
    counts them; other code is not traced)."""
    count = 0

    def count_lines(frame, event, argument):
        nonlocal count
        count += event == "line"
        return count_lines

    def trace_ours(frame, event, argument):
        return count_lines if frame.f_code.co_filename.startswith(code_in) else None

    all_rules()  # importing the rules is a constant cost, not the input's
    previous = sys.gettrace()
    sys.settrace(trace_ours)
    try:
        function()
    finally:
        sys.settrace(previous)
    return count


def growth(make_text: Callable[[int], str], size: int) -> float:
    """How much the pipeline's work grows from ``size`` to twice that size."""

    def run(count: int) -> object:
        return pipeline.run_source(Source(make_text(count)), Settings())

    small, large = (lines_executed(functools.partial(run, count)) for count in (size, 2 * size))
    return large / small


def runs_in_stages(count: int) -> str:
    """``count`` RUNs of package managers whose caches the rules look at, half in a stage and half in a stage built
    on it, with a USER now and then (who a RUN runs as decides its cache folder)."""
    commands = (
        "pip install flask{i}",
        "apt-get update && apt-get install -y curl{i}",
        "npm install left-pad{i}",
        "echo {i} > /srv/file{i}",
        "rm -rf /tmp/scratch{i}",
    )
    lines = ["FROM debian:bookworm AS base"]
    for index in range(count):
        if index == count // 2:
            lines.append("FROM base")
        if index % 100 == 50:
            lines.append("USER root")
        lines.append("RUN " + commands[index % len(commands)].format(i=index))
    return "\n".join(lines) + "\n"


def test_work_grows_linearly_with_the_runs_of_a_stage():
    # before: cachemounts.run_user walked the stage from its start for each RUN (500 -> 1,000 RUNs in two stages: 2.3x
    # the work)
    assert growth(runs_in_stages, 500) <= LINEAR_GROWTH


def copies_between_installs(count: int) -> str:
    """``count`` instructions: installs whose cache a fix may mount, between COPYs and WORKDIRs that may put files
    where a mount would hide them."""
    block = (
        "RUN apt-get update && apt-get install -y curl{i}",
        "COPY file{i}.txt /srv/app{i}/",
        "WORKDIR /srv/app{i}",
        "RUN pip install flask{i}",
    )
    return "FROM debian:bookworm\n" + "".join(
        block[index % len(block)].format(i=index) + "\n" for index in range(count)
    )


def test_work_grows_linearly_with_the_copies_before_each_install():
    # before: whether a COPY may hide a cache folder was asked of every earlier instruction for each RUN
    # (bench/scale.py's instructions series: slope 2.01; here 2.4x the work for twice the instructions)
    assert growth(copies_between_installs, 400) <= LINEAR_GROWTH


def test_the_diff_grows_linearly_with_the_lines_it_changes():
    # before: difflib looked for the longest match again in all that followed each match, so a fix on every other
    # line (DF105 on every pip install of a long file) cost work quadratic in the lines
    def diff_work(count: int) -> int:
        old = "".join(f"RUN pip install package{i}\nRUN echo {i}\n" for i in range(count))
        new = old.replace("pip install", "pip install --no-cache-dir")
        return lines_executed(
            lambda: pipeline.unified_diff("Dockerfile", old, new), code_in=(PACKAGE, difflib.__file__)
        )

    assert diff_work(2_000) <= LINEAR_GROWTH * diff_work(1_000)


def continued_run(count: int) -> str:
    """One RUN continued over ``count`` lines, one command each."""
    return (
        "FROM debian:bookworm\nRUN echo start \\\n"
        + "".join(f"    && echo word{i} \\\n" for i in range(count))
        + "    && true\n"
    )


# Run in a fresh process: the text is read from stdin, parsed, and the pages touched meanwhile printed
_PARSE_AND_COUNT_PAGES = """
import resource, sys
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.source import Source
source = Source(sys.stdin.read())
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
parse(source)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def pages_touched_parsing(text: str) -> int:
    """Memory pages a fresh process touches while parsing ``text``. With glibc's mmap threshold pinned low, every
    large allocation gets pages of its own, so the count grows with the bytes allocated and copied: building a
    string by copying it once per line shows up here, and in no count of lines executed."""
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(64 * 1024)}
    completed = subprocess.run(
        [sys.executable, "-c", _PARSE_AND_COUNT_PAGES],
        input=text,
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    return int(completed.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts page faults as glibc allocates on Linux")
def test_parsing_copies_a_continued_run_a_bounded_number_of_times():
    # before: the logical line was built by `+=` on a variable a closure also reads, so CPython copied it whole for
    # every continuation line (20,000 -> 40,000 lines: 4.4x the pages)
    small, large = (pages_touched_parsing(continued_run(count)) for count in (20_000, 40_000))
    assert large <= LINEAR_GROWTH * small


def test_work_grows_linearly_with_the_commands_of_one_run():
    # before: the program of each command was kept in a cache of 16,384 commands; past that, every rule read every
    # command again (10,000 -> 20,000 continuation lines, one command each)
    assert growth(continued_run, 10_000) <= LINEAR_GROWTH


def oversized_dockerfile(size: int) -> bytes:
    """A valid Dockerfile of more than ``size`` bytes with a finding on every RUN (what `--write` would change)."""
    return continued_run(size // 20).encode() + b"RUN curl -fsSLo /a https://example.invalid/a\nRUN chmod 755 /a\n"


def test_a_dockerfile_above_the_size_limit_is_refused_untouched(tmp_path):
    # before: read whole whatever its size (a 10 MB one-line RUN peaked at 2.97 GB, 11.5 MB of continuation
    # lines took 505 s)
    data = oversized_dockerfile(1_000_000)
    target = tmp_path / "Dockerfile"
    target.write_bytes(data)
    result = dockerfix("--write", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        "error: Dockerfile:1:1: is larger than 1,000,000 bytes (the `max-file-size` setting): not read"
        in result.stderr.decode()
    )
    assert target.read_bytes() == data


def test_standard_input_above_the_size_limit_comes_back_unchanged(tmp_path):
    data = oversized_dockerfile(1_000_000)
    result = dockerfix("-", "--stdin-filename", "Dockerfile", cwd=tmp_path, stdin=data)
    assert result.returncode == 2
    assert (
        "error: Dockerfile:1:1: is larger than 1,000,000 bytes (the `max-file-size` setting): not read"
        in result.stderr.decode()
    )
    assert result.stdout == data  # an editor replaces its buffer with what comes back


def test_the_size_limit_is_a_setting(tmp_path):
    (tmp_path / ".dockerfix.toml").write_text(
        'max-file-size = 2000\nextend-select = ["DF101"]\n'
    )  # merges: asked for by code
    small = tmp_path / "small" / "Dockerfile"
    small.parent.mkdir()
    small.write_bytes(oversized_dockerfile(1_000))
    large = tmp_path / "Dockerfile"
    large.write_bytes(oversized_dockerfile(3_000))
    result = dockerfix("--output-format", "json", "small/Dockerfile", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 2
    files = {file["path"]: file for file in json.loads(result.stdout)["files"]}
    assert "error" not in files["small/Dockerfile"] and files["small/Dockerfile"]["findings"]
    assert (
        files["Dockerfile"]["error"]
        == "Dockerfile:1:1: is larger than 2,000 bytes (the `max-file-size` setting): not read"
    )


@pytest.mark.parametrize("value", ["0", "-1", "true", '"1 MB"'])
def test_a_size_limit_that_is_no_positive_number_is_a_configuration_error(tmp_path, value):
    (tmp_path / ".dockerfix.toml").write_text(f"max-file-size = {value}\n")
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm\n")
    result = dockerfix("Dockerfile", cwd=tmp_path)
    assert result.returncode == 2
    assert "`max-file-size` must be a positive number of bytes" in result.stderr.decode()


SHARED_CONTEXT_DOCKERFILE = """FROM someorg/tool
FROM python:3.12
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . /app
CMD ["python", "/app/app.py"]
"""


def shared_context(root: Path, dockerfiles: int, files: int) -> list[Path]:
    """A folder of ``dockerfiles`` Dockerfiles that all build from it, with ``files`` source files (a tenth with a
    bytecode cache), a `.env` and a build script: what DF204 (ignore file) and DF303 (an image built here) read."""
    root.mkdir()
    (root / "requirements.txt").write_text("flask\n")
    (root / "app.py").write_text("print('app')\n")
    (root / ".env").write_text("TOKEN=1\n")
    (root / "build.sh").write_text("docker build -t someorg/other .\n")
    for index in range(files):
        folder = root / "src" / f"package{index % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"module{index}.py").write_text("value = 1\n")
        if index % 10 == 0:
            (folder / "__pycache__").mkdir(exist_ok=True)
            (folder / "__pycache__" / f"module{index}.cpython-312.pyc").write_bytes(b"\x00")
    paths = [root / f"Dockerfile.{index}" for index in range(dockerfiles)]
    for path in paths:
        path.write_text(SHARED_CONTEXT_DOCKERFILE)
    return paths


def work_for_shared_context(root: Path, dockerfiles: int, files: int) -> int:
    paths = shared_context(root, dockerfiles, files)

    def run() -> list[pipeline.FileResult]:
        contexts = pipeline.BuildContexts()  # one run: the Dockerfiles share their context
        return [pipeline.run_path(path, Settings(), contexts=contexts) for path in paths]

    return lines_executed(run)


def test_work_per_dockerfile_does_not_grow_with_the_context_they_share(tmp_path):
    # before: DF204 listed and ignore-matched the whole context for each Dockerfile, DF303 read each of its build
    # files for each Dockerfile: a Dockerfile cost work in proportion to the context's files
    def work_per_added_dockerfile(files: int) -> float:
        few, many = (work_for_shared_context(tmp_path / f"{files}-{count}", count, files) for count in (10, 20))
        return (many - few) / 10

    assert work_per_added_dockerfile(2_000) <= 1.2 * work_per_added_dockerfile(1_000)


def test_work_grows_linearly_with_the_dockerfiles_sharing_a_context(tmp_path):
    # the Dockerfiles are files of the context they share: before, 100 -> 200 of them was 2.5x the work
    small, large = (work_for_shared_context(tmp_path / str(count), count, 20) for count in (100, 200))
    assert large <= LINEAR_GROWTH * small


def test_work_grows_linearly_with_the_dockerfiles_of_one_context(tmp_path):
    """Each Dockerfile's base image is looked up among the images the context builds (DF303): the context's build
    files are read once per run, not once per base image asked (issue 22: 40 -> 80 Dockerfiles naming their own
    base images was 3.3x the work when every question read every file)."""

    def check_all(count: int) -> Callable[[], None]:
        folder = tmp_path / str(count)
        folder.mkdir()
        for index in range(count):
            (folder / f"service{index}.Dockerfile").write_text(f"FROM acme/service{index}\nRUN make\n")
        (folder / "build.sh").write_text("docker build -t acme/tools:1.0 .\n")

        def run() -> None:
            contexts = pipeline.BuildContexts()
            for index in range(count):
                path = folder / f"service{index}.Dockerfile"
                pipeline.run_path(path, Settings(select=("DF303",)), contexts=contexts)

        return run

    small, large = (lines_executed(check_all(count)) for count in (40, 80))
    assert large / small < LINEAR_GROWTH
