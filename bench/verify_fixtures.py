"""Build every verify fixture before and after its fixes and print the measured table (as root, with Debian's
docker.io and debootstrap installed): `python bench/verify_fixtures.py [--engines current,packaged] [--write]`.
Engines: `current` (Debian trixie's, prepared by `python3 dockerfix/verify/current_engine.py prepare`), `packaged`
(the host's docker.io 20.10), `auto` (the default: current when prepared). On the current engine it also measures
the hand-written apt cache-mount pair (`tests/verify_fixtures/apt-cache-mount/`) on a rebuild after a dependency
change. `--write` also saves the tables in docs/verify-results.md, the evidence the README links to."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dockerfix.rewriter.config import discover  # noqa: E402
from dockerfix.verify import BuildFailed, current_engine, measured_table  # noqa: E402
from dockerfix.verify.rebuild_cost import dependency_rebuild  # noqa: E402
from dockerfix.verify.render import size, verdict  # noqa: E402
from dockerfix.verify.sandbox import PrivateDaemon, base_tarball, build_python_images  # noqa: E402

FIXTURES = ROOT / "tests" / "verify_fixtures"
CACHE_MOUNT_PAIR = FIXTURES / "apt-cache-mount"
DEPENDENCY_ADDED = "jq"
RESULTS = ROOT / "docs" / "verify-results.md"


def _rebuild(measurement) -> str:
    rebuild = measurement.rebuild
    if rebuild is None:
        return "–"
    count = len(rebuild.steps_rerun)
    return f"{count} step{'' if count == 1 else 's'}, {size(rebuild.changed_bytes)}"


def _fixture_rows(daemon: PrivateDaemon, engine: str) -> list[str]:
    rows = []
    for folder in sorted(path for path in FIXTURES.iterdir() if (path / "Dockerfile").is_file()):
        dockerfile = folder / "Dockerfile"
        started = time.monotonic()
        try:
            report = measured_table(dockerfile, discover(dockerfile), client=daemon.client).report
        except BuildFailed as failure:
            rows.append(f"| {folder.name} | {engine} | not built: {failure.log_tail.splitlines()[-1]} | | | | | | | |")
        else:
            before, after = report.original, report.fixed
            rows.append(
                f"| {folder.name} | {report.engine} | {', '.join(sorted({fix.code for fix in report.applied}))} "
                f"| {len(before.layers)} → {len(after.layers)} | {size(before.content_bytes)} → {size(after.content_bytes)} "
                f"| {size(before.gzip_bytes)} → {size(after.gzip_bytes)} "
                f"| {size(before.context_bytes)} → {size(after.context_bytes)} | {_rebuild(before)} → {_rebuild(after)} "
                f"| {verdict(report)} | {time.monotonic() - started:.0f} |"
            )
        print(rows[-1], flush=True)
    return rows


def _cache_mount_rows(daemon: PrivateDaemon, engine: str) -> list[str]:
    manifest = (CACHE_MOUNT_PAIR / "packages.txt").read_text()
    rows = []
    for variant in ("before", "after"):
        rebuild = dependency_rebuild(
            daemon.client, CACHE_MOUNT_PAIR / f"{variant}.Dockerfile", CACHE_MOUNT_PAIR, "packages.txt",
            manifest + DEPENDENCY_ADDED + "\n", current_engine.bridge_sent_bytes,
        )
        rows.append(
            f"| {variant}.Dockerfile | {engine} | {rebuild.seconds:.1f} | {size(rebuild.downloaded_bytes)} "
            f"| {len(rebuild.steps_rerun)} | {size(rebuild.image_bytes)} |"
        )
        print(rows[-1], flush=True)
    return rows


def write_results(engines: str, fixture_rows: list[str], cache_rows: list[str], write: bool) -> str:
    """The two tables, saved in docs/verify-results.md with what was measured when ``write``."""
    fixtures = "\n".join([
        "| fixture | engine | fixes | layers | size | gzip size | context sent | after a source edit (re-run, changed layers) | equivalence | seconds |",
        "|---|---|---|---|---|---|---|---|---|---:|",
        *fixture_rows,
    ]) + "\n"
    cache = "\n".join([
        "| Dockerfile | engine | seconds | downloaded | steps re-run | image size |",
        "|---|---|---:|---:|---:|---:|",
        *cache_rows,
    ]) + "\n"
    if write:
        RESULTS.write_text(
            "# `dockerfix verify` on its fixtures\n\n"
            f"Measured by `python bench/verify_fixtures.py --engines={engines} --write`: each fixture of\n"
            "`tests/verify_fixtures/` built before and after its fixes (settings from its `.dockerfix.toml`) by a private\n"
            "Docker engine (BuildKit; the engine column is its version: 26.1 is Debian trixie's docker.io run from its own\n"
            "root filesystem, 20.10 the host's Debian bookworm package) on a debootstrap Debian bookworm base.\n"
            "`python:3.11` and `python:3.11-slim` are stand-ins built on that base from Debian's python3.11 packages\n"
            "(`PYTHON_STAND_INS` in `dockerfix/verify/sandbox.py`: the slim one has the interpreter, venv and a `python`\n"
            "command, the full one adds pip and the headers), not the official images. Size: the layers' file bytes (as\n"
            "`docker history` counts them); gzip: the compressed layers (what a push uploads); context sent: the build\n"
            "context the first build of each transferred, as BuildKit reports it (DF204's `.dockerignore` is written into\n"
            "the fixed build's context); the source edit appends a\n"
            "line to the file `verify` chose. Declared differences are the ones the applied fix says it makes (DF304: the\n"
            "build image's files and the venv's PATH entry). The same fixtures on 20.10.24 before the engine column\n"
            "existed: this file at commit 64bcaa4 (same layer counts, sizes within 0.1 MB; `heredoc` is new).\n\n"
            + fixtures
            + "\n## A cache mount on a rebuild after a dependency change\n\n"
            "`tests/verify_fixtures/apt-cache-mount/`: a hand-written pair, `before.Dockerfile` (`apt-get update`,\n"
            "install the packages of `packages.txt`, remove the lists) and `after.Dockerfile` (the same with cache mounts\n"
            "on `/var/cache/apt` and `/var/lib/apt/lists`, `sharing=locked`, and the image's `docker-clean` hook removed\n"
            "so the downloaded packages stay in the cache). Each is built, then `packages.txt` gains\n"
            f"`{DEPENDENCY_ADDED}` and it is built again on the same engine; the row is that second build: its seconds, the\n"
            "bytes its steps downloaded (counted on the engine's own bridge), the steps it re-ran and its image's size.\n"
            "The after image differs from the before one by the removed `/etc/apt/apt.conf.d/docker-clean`. The after\n"
            "rebuild re-runs one step: its `COPY packages.txt` is the before rebuild's, same file on the same base, from\n"
            "the build cache.\n\n"
            + cache
        )
    return fixtures + "\n" + cache


def main() -> int:
    engines = next((argument.split("=", 1)[1] for argument in sys.argv if argument.startswith("--engines=")), "auto")
    fixture_rows, cache_rows = [], []
    for choice in engines.split(","):
        daemon = PrivateDaemon.start(choice)
        try:
            daemon.load_base_image(base_tarball())
            build_python_images(daemon.client)
            engine = daemon.client.check()
            fixture_rows += _fixture_rows(daemon, engine)
            if daemon.root is not None:  # downloads are counted on the current engine's own bridge
                cache_rows += _cache_mount_rows(daemon, engine)
        finally:
            daemon.stop()
    print(write_results(engines, fixture_rows, cache_rows, "--write" in sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
