"""Build every verify fixture before and after its fixes and print the measured table (as root, with Debian's
docker.io and debootstrap installed): `python bench/verify_fixtures.py [--engines current,packaged] [--write]`.
Engines: `current` (Debian trixie's, prepared by `python3 dockerfix/verify/current_engine.py prepare`), `packaged`
(the host's docker.io 20.10), `auto` (the default: current when prepared). On the current engine it also measures
the cache-mount pairs on a rebuild: the hand-written apt pair (`tests/verify_fixtures/apt-cache-mount/`) after a
dependency change, DF118's uv pair (`tests/verify_fixtures/uv-cache-mount/`) after a requirement is added (its
wheels, downloaded here with pip, served over plain HTTP on the engine's own bridge: builds reach no HTTPS index),
and DF205's go pair (`tests/verify_fixtures/go-build-cache/`) after a source edit. `--write` also saves the tables
in docs/verify-results.md, the evidence the README links to."""

from __future__ import annotations

import contextlib
import functools
import http.server
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dockerfix.rewriter.config import discover  # noqa: E402
from dockerfix.verify import BuildFailed, current_engine, measured_table  # noqa: E402
from dockerfix.verify.rebuild_cost import dependency_rebuild  # noqa: E402
from dockerfix.verify.render import size, verdict  # noqa: E402
from dockerfix.verify.sandbox import PrivateDaemon, base_tarball, build_python_images  # noqa: E402

FIXTURES = ROOT / "tests" / "verify_fixtures"
DEPENDENCY_ADDED = "jq"
REQUIREMENT_ADDED = "requests"
UV_PAIR = FIXTURES / "uv-cache-mount"
WHEEL_INDEX = (current_engine.BRIDGE_ADDRESS.split("/")[0], 8765)  # the uv pair's Dockerfiles name it
# (fixture folder, the file changed between the two builds, its new text from the old)
CACHE_MOUNT_PAIRS = (
    (FIXTURES / "apt-cache-mount", "packages.txt", lambda text: text + DEPENDENCY_ADDED + "\n"),
    (UV_PAIR, "requirements.txt", lambda text: text + REQUIREMENT_ADDED + "\n"),
    (FIXTURES / "go-build-cache", "main.go", lambda text: text.replace('"hello"', '"hello, again"')),
)
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
                f"| {len(before.layers)} → {len(after.layers)} | {size(before.content_bytes)} → "
                f"{size(after.content_bytes)} "
                f"| {size(before.gzip_bytes)} → {size(after.gzip_bytes)} "
                f"| {size(before.context_bytes)} → {size(after.context_bytes)} | {_rebuild(before)} → "
                f"{_rebuild(after)} "
                f"| {verdict(report)} | {time.monotonic() - started:.0f} |"
            )
        print(rows[-1], flush=True)
    return rows


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *arguments: object) -> None:
        pass


@contextlib.contextmanager
def wheel_index() -> Iterator[None]:
    """The wheels the uv pair installs (uv itself, its requirements and the one added), downloaded with this
    machine's pip and served as a plain folder on the current engine's bridge while the pairs are measured."""
    address = f"http://{WHEEL_INDEX[0]}:{WHEEL_INDEX[1]}/"
    for variant in ("before", "after"):
        if address not in (UV_PAIR / f"{variant}.Dockerfile").read_text():
            raise SystemExit(f"{UV_PAIR}/{variant}.Dockerfile does not name the wheel folder {address}")
    requirements = (UV_PAIR / "requirements.txt").read_text().split()
    with tempfile.TemporaryDirectory(prefix="dockerfix-wheels-") as folder:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary=:all:",
                "--dest",
                folder,
                "uv",
                *requirements,
                REQUIREMENT_ADDED,
            ],
            check=True,
        )
        server = http.server.ThreadingHTTPServer(WHEEL_INDEX, functools.partial(_QuietHandler, directory=folder))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield
        finally:
            server.shutdown()
            server.server_close()


def _cache_mount_rows(daemon: PrivateDaemon, engine: str) -> list[str]:
    rows = []
    for folder, changed, change in CACHE_MOUNT_PAIRS:
        text = (folder / changed).read_text()
        for variant in ("before", "after"):
            rebuild = dependency_rebuild(
                daemon.client,
                folder / f"{variant}.Dockerfile",
                folder,
                changed,
                change(text),
                current_engine.bridge_sent_bytes,
            )
            rows.append(
                f"| {folder.name}/{variant}.Dockerfile | {engine} | {rebuild.seconds:.1f} | "
                f"{size(rebuild.downloaded_bytes)} "
                f"| {len(rebuild.steps_rerun)} | {size(rebuild.image_bytes)} |"
            )
            print(rows[-1], flush=True)
    return rows


def write_results(engines: str, fixture_rows: list[str], cache_rows: list[str], write: bool) -> str:
    """The two tables, saved in docs/verify-results.md with what was measured when ``write``."""
    fixtures = (
        "\n".join(
            [
                "| fixture | engine | fixes | layers | size | gzip size | context sent | after a source edit (re-run, "
                "changed layers) | equivalence | seconds |",
                "|---|---|---|---|---|---|---|---|---|---:|",
                *fixture_rows,
            ]
        )
        + "\n"
    )
    cache = (
        "\n".join(
            [
                "| Dockerfile | engine | seconds | downloaded | steps re-run | image size |",
                "|---|---|---:|---:|---:|---:|",
                *cache_rows,
            ]
        )
        + "\n"
    )
    if write:
        RESULTS.write_text(
            "# `dockerfix verify` on its fixtures\n\n"
            f"Measured by `python bench/verify_fixtures.py --engines={engines} --write`: each fixture of\n"
            "`tests/verify_fixtures/` built before and after its fixes (settings from its `.dockerfix.toml`) by a "
            "private\n"
            "Docker engine (BuildKit; the engine column is its version: 26.1 is Debian trixie's docker.io run from "
            "its own\n"
            "root filesystem, 20.10 the host's Debian bookworm package) on a debootstrap Debian bookworm base.\n"
            "`python:3.11` and `python:3.11-slim` are stand-ins built on that base from Debian's python3.11 packages\n"
            "(`PYTHON_STAND_INS` in `dockerfix/verify/sandbox.py`: the slim one has the interpreter, venv and a "
            "`python`\n"
            "command, the full one adds pip and the headers), not the official images. Size: the layers' file bytes "
            "(as\n"
            "`docker history` counts them); gzip: the compressed layers (what a push uploads); context sent: the "
            "build\n"
            "context the first build of each transferred, as BuildKit reports it (DF204's `.dockerignore` is written "
            "into\n"
            "the fixed build's context); the source edit appends a\n"
            "line to the file `verify` chose. Declared differences are the ones the applied fix says it makes (DF304: "
            "the\n"
            "build image's files and the venv's PATH entry). The same fixtures on 20.10.24 before the engine column\n"
            "existed: this file at commit 64bcaa4 (same layer counts, sizes within 0.1 MB; `heredoc` is new).\n\n"
            + fixtures
            + "\n## A cache mount on a rebuild after a dependency change or a source edit\n\n"
            "`tests/verify_fixtures/apt-cache-mount/`: a hand-written pair, `before.Dockerfile` (`apt-get update`,\n"
            "install the packages of `packages.txt`, remove the lists) and `after.Dockerfile` (the same with cache "
            "mounts\n"
            "on `/var/cache/apt` and `/var/lib/apt/lists`, `sharing=locked`, and the image's `docker-clean` hook "
            "removed\n"
            "so the downloaded packages stay in the cache). Each is built, then `packages.txt` gains\n"
            f"`{DEPENDENCY_ADDED}` and it is built again on the same engine; the row is that second build: its "
            "seconds, the\n"
            "bytes its steps downloaded (counted on the engine's own bridge), the steps it re-ran and its image's "
            "size.\n"
            "The after image differs from the before one by the removed `/etc/apt/apt.conf.d/docker-clean`. The after\n"
            "rebuild re-runs one step: its `COPY packages.txt` is the before rebuild's, same file on the same base, "
            "from\n"
            "the build cache.\n\n"
            "`tests/verify_fixtures/uv-cache-mount/`: DF118's two fixes of one Dockerfile (a test holds them to the "
            "rule's\n"
            "output): `before.Dockerfile` runs `uv pip install --no-cache` (target legacy), `after.Dockerfile` mounts "
            "a\n"
            "cache over `/root/.cache/uv` (target buildkit). The wheels (uv, then numpy and flask from "
            "`requirements.txt`)\n"
            "come from a plain folder this bench serves on the engine's bridge, since builds here reach no HTTPS "
            "index.\n"
            "From such a folder uv downloads about twice the wheels' size, in both variants alike (a first run: 36.5 "
            "MB\n"
            "for 18.2 MB of wheels; the bridge counter was checked against one 16.9 MB file: 17.0 MB). Each is built,\n"
            f"then `requirements.txt` gains `{REQUIREMENT_ADDED}` and it is built again.\n\n"
            "`tests/verify_fixtures/go-build-cache/`: `before.Dockerfile` installs go and `golang.org/x/text` from\n"
            "Debian's packages (so no build step downloads anything) and builds a program using it in GOPATH mode;\n"
            "`after.Dockerfile` is DF205's fix of it (a cache mount over `/root/.cache/go-build`; a test holds it to "
            "the\n"
            "rule's output). Each is built, then `main.go` is edited and it is built again; the row is that second "
            "build.\n"
            "The after image lacks the 5.6 MB build cache the before image keeps in its last layer; as above, the "
            "after\n"
            "rebuild finds the edited `COPY main.go` in the build cache from the before rebuild.\n\n" + cache
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
                with wheel_index():
                    cache_rows += _cache_mount_rows(daemon, engine)
        finally:
            daemon.stop()
    print(write_results(engines, fixture_rows, cache_rows, "--write" in sys.argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
