"""Build every verify fixture before and after its fixes and print the measured table (as root, with Debian's
docker.io and debootstrap installed): `python bench/verify_fixtures.py [--write]`. `--write` also saves it in
docs/verify-results.md, the evidence the README links to."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dockerfix.rewriter.config import discover  # noqa: E402
from dockerfix.verify import measured_table  # noqa: E402
from dockerfix.verify.render import size, verdict  # noqa: E402
from dockerfix.verify.sandbox import PrivateDaemon, base_tarball, build_python_images  # noqa: E402

FIXTURES = ROOT / "tests" / "verify_fixtures"
RESULTS = ROOT / "docs" / "verify-results.md"


def _rebuild(measurement) -> str:
    rebuild = measurement.rebuild
    if rebuild is None:
        return "–"
    count = len(rebuild.steps_rerun)
    return f"{count} step{'' if count == 1 else 's'}, {size(rebuild.changed_bytes)}"


def main() -> int:
    daemon = PrivateDaemon.start()
    try:
        daemon.load_base_image(base_tarball())
        build_python_images(daemon.client)
        engine = daemon.client.check()
        lines = [
            "| fixture | fixes | layers | size | gzip size | after a source edit (re-run, changed layers) | equivalence | seconds |",
            "|---|---|---|---|---|---|---|---:|",
        ]
        for folder in sorted(path for path in FIXTURES.iterdir() if (path / "Dockerfile").is_file()):
            dockerfile = folder / "Dockerfile"
            started = time.monotonic()
            report = measured_table(dockerfile, discover(dockerfile), client=daemon.client).report
            before, after = report.original, report.fixed
            lines.append(
                f"| {folder.name} | {', '.join(sorted({fix.code for fix in report.applied}))} "
                f"| {len(before.layers)} → {len(after.layers)} | {size(before.content_bytes)} → {size(after.content_bytes)} "
                f"| {size(before.gzip_bytes)} → {size(after.gzip_bytes)} | {_rebuild(before)} → {_rebuild(after)} "
                f"| {verdict(report)} | {time.monotonic() - started:.0f} |"
            )
            print(lines[-1], flush=True)
    finally:
        daemon.stop()
    table = "\n".join(lines) + "\n"
    print(table)
    if "--write" in sys.argv:
        RESULTS.write_text(
            "# `dockerfix verify` on its fixtures\n\n"
            "Measured by `python bench/verify_fixtures.py --write`: each fixture of `tests/verify_fixtures/` built before and\n"
            f"after its fixes (settings from its `.dockerfix.toml`) with a private Docker engine {engine} (BuildKit) on a\n"
            "debootstrap Debian bookworm base. `python:3.11` and `python:3.11-slim` are stand-ins built on that base from\n"
            "Debian's python3.11 packages (`PYTHON_STAND_INS` in `dockerfix/verify/sandbox.py`: the slim one has the\n"
            "interpreter, venv and a `python` command, the full one adds pip and the headers), not the official images.\n"
            "Size: the layers' file bytes (as `docker history` counts them); gzip: the compressed layers (what a push\n"
            "uploads); the source edit appends a line to the file `verify` chose. Declared differences are the ones the\n"
            "applied fix says it makes (DF304: the build image's files and the venv's PATH entry).\n\n"
            + table
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
