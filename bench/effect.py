"""What dockerfix does to real projects, built before and after (as root, on the current engine verify runs:
Debian trixie's Docker 26.1 in its own root, ``python3 dockerfix/verify/current_engine.py prepare``).

    python bench/effect.py prepare          build the stand-in base images once and save them (about 5 minutes;
                                            a build otherwise makes those it needs on first use)
    python bench/effect.py --only FOLDER    build one project folder (a Dockerfile and its build context) and
                                            print its row as a line of JSON (--only repeated: each folder, one
                                            engine started once for all)
    python bench/effect.py run [ID ...]     build the projects of ../shared/corpus/projects/ (all, or those named),
                                            adding each row to bench/effect-results.jsonl as it is measured
    python bench/effect.py report           write docs/effect.md and bench/effect-unbuildable.tsv from those rows

Each project is fixed twice (through verify, the same pipeline): with the default rules, as ``dockerfix --write
--unsafe-fixes`` does, and with every rule, as ``--select ALL --unsafe-fixes`` does (the opt-in rules' fixes built
too: what a user who opts in needs to know, and the evidence a rule needs before it may report by default); a row
says which codes each gave and which are opt-in. Where both give the same Dockerfile it is built once; the safe fixes
alone are recorded, not built. verify builds the original (twice: the second build, every step run again, says what
the build does not reproduce), each fixed file, and each again after a one-line edit of a file a COPY sends; then
they are built again after a dependency change (a requirement added) where the project has a requirements file.
DF301's base-image swap is left out of the builds: the stand-ins below are not the registry's images, so a
slim/full delta here would be the stand-ins' (its sizes come from the registry data file; the report lists its
findings apart).

No registry of base images is reachable here: the tags the projects name (python:3.x-slim and full, node:NN-slim
and full, nginx, debian) are stand-ins built from Debian bookworm's packages on the debootstrapped base verify
already uses, with the local CA folder trusted (so pip and npm reach their indexes over HTTPS). They are saved
under their own names (``dockerfix-effect/...``) and aliased to the tag a project names just before it is built, so
they never collide with verify's own stand-ins. The same stand-in serves before and after: the deltas are real,
the absolute sizes are the stand-ins'.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dockerfix.rewriter.config import Settings, discover  # noqa: E402
from dockerfix.rewriter.document import parse  # noqa: E402
from dockerfix.rewriter.pipeline import context_for, read_source, run_source  # noqa: E402
from dockerfix.rewriter.registry import ALL, opt_in_codes  # noqa: E402
from dockerfix.rewriter.stages import expand_global_args  # noqa: E402
from dockerfix.verify import current_engine  # noqa: E402
from dockerfix.verify.context_copy import ContextCopyError  # noqa: E402
from dockerfix.verify.engine import BuildFailed, DockerClient, EngineError  # noqa: E402
from dockerfix.verify.measure import Measurement, Report, copied_files, manifests_of, verify, without_syntax_directive  # noqa: E402
from dockerfix.verify.rebuild_cost import dependency_rebuild  # noqa: E402
from dockerfix.verify.sandbox import PrivateDaemon, SandboxUnavailable, base_tarball, cache_folder  # noqa: E402

PROJECTS = ROOT.parent / "shared" / "corpus" / "projects"
RESULTS = ROOT / "bench" / "effect-results.jsonl"
UNBUILDABLE = ROOT / "bench" / "effect-unbuildable.tsv"
EXPLAINED = ROOT / "bench" / "effect-explained.tsv"
REPORT = ROOT / "docs" / "effect.md"
NAMESPACE = "dockerfix-effect"
STAND_IN_RECIPE = 1  # part of the saved tarball's name: a change to the recipes below makes it stale
COMMAND_SECONDS = 900  # one docker command (a build) at most
# Left out of the builds: its gain is the registry images' size difference, which stand-ins cannot show.
NOT_BUILT = ("DF301",)
REQUIREMENT_ADDED = "tomli-w"  # a small pure-Python package no project here names
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
TRUSTED = (
    f"ENV LANG=C.UTF-8 PIP_CERT={CA_BUNDLE} SSL_CERT_FILE={CA_BUNDLE} REQUESTS_CA_BUNDLE={CA_BUNDLE} "
    f"NODE_EXTRA_CA_CERTS={CA_BUNDLE}\n"
)
APT_INSTALL = "apt-get update && apt-get install -y --no-install-recommends"
# (name under NAMESPACE, Dockerfile). Like the official images: Python's pip installs freely (no EXTERNALLY-MANAGED
# marker; its own pip in /usr/local, so `pip install --upgrade pip` works), node has npm and yarn; the full variants
# add the compilers and headers of buildpack-deps.
STAND_INS = (
    (
        "python-slim",
        "FROM debian:bookworm\n"
        f"RUN {APT_INSTALL} ca-certificates python3 python3-pip python3-venv python-is-python3 \\\n"
        "    && rm -rf /var/lib/apt/lists/* /usr/lib/python3.11/EXTERNALLY-MANAGED\n"
        + TRUSTED
        + "RUN python3 -m pip install --no-cache-dir --ignore-installed pip setuptools wheel\n"
        'CMD ["python3"]\n',
    ),
    (
        "python-full",
        f"FROM {NAMESPACE}/python-slim\n"
        f"RUN {APT_INSTALL} build-essential python3-dev git curl wget pkg-config libpq-dev libffi-dev libssl-dev \\\n"
        "    default-libmysqlclient-dev libjpeg-dev zlib1g-dev && rm -rf /var/lib/apt/lists/*\n",
    ),
    (
        "node-slim",
        "FROM debian:bookworm\n"
        f"RUN {APT_INSTALL} ca-certificates nodejs npm && rm -rf /var/lib/apt/lists/*\n"
        + TRUSTED
        + "RUN npm install --global yarn && npm cache clean --force\n"
        'CMD ["node"]\n',
    ),
    (
        "node-full",
        f"FROM {NAMESPACE}/node-slim\n"
        f"RUN {APT_INSTALL} build-essential python3 git curl wget && rm -rf /var/lib/apt/lists/*\n",
    ),
    (
        "nginx",
        "FROM debian:bookworm\n"
        f"RUN {APT_INSTALL} nginx && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \\\n"
        "    && mkdir -p /usr/share/nginx/html \\\n"
        "    && cp /var/www/html/index.nginx-debian.html /usr/share/nginx/html/index.html \\\n"
        "    && printf 'server {\\n  listen 80;\\n  location / {\\n    root /usr/share/nginx/html;\\n"
        "    index index.html;\\n  }\\n}\\n' \\\n"
        "       > /etc/nginx/conf.d/default.conf\n"
        "EXPOSE 80\n"
        'CMD ["nginx", "-g", "daemon off;"]\n',
    ),
)


class Unbuildable(Exception):
    """The project cannot be built here at all (before any fix); the message says why."""


def stand_in_tarball(name: str) -> Path:
    return cache_folder() / f"effect-stand-in-{name}-{STAND_IN_RECIPE}.tar"


def stand_in_for(image: str) -> str | None:
    """The stand-in (under NAMESPACE) for a base image a project names; None when there is none here."""
    name, _, tag = image.partition(":")
    name = name.removeprefix("docker.io/").removeprefix("library/")
    if "alpine" in tag:
        return None  # no Alpine archive is reachable here
    if name in ("python", "node"):
        return f"{NAMESPACE}/{name}-{'slim' if 'slim' in tag else 'full'}"
    if name == "nginx":
        return f"{NAMESPACE}/nginx"
    if name == "debian" and tag in ("", "bookworm", "bookworm-slim", "12", "12-slim", "latest", "stable-slim"):
        return "debian:bookworm"
    return None


def started_daemon() -> PrivateDaemon:
    daemon = PrivateDaemon.start("current")
    daemon.client = dataclasses.replace(daemon.client, timeout=COMMAND_SECONDS)
    return daemon


def provide_stand_in(client: DockerClient, image: str) -> None:
    """Put a stand-in into the engine: loaded from its saved tarball, or built (on the stand-in it starts FROM, if
    one) and saved first. Each stand-in has a tarball of its own, so a project loads only what it builds on."""
    if not image.startswith(f"{NAMESPACE}/") or client.image_exists(image):
        return
    name = image.removeprefix(f"{NAMESPACE}/")
    tarball = stand_in_tarball(name)
    if tarball.exists():
        with tarball.open("rb") as handle:
            client.run("load", "--quiet", stdin=handle)
        return
    text = dict(STAND_INS)[name]
    provide_stand_in(client, text.split("\n", 1)[0].removeprefix("FROM "))
    with tempfile.TemporaryDirectory(prefix="dockerfix-effect-stand-in-") as folder:
        dockerfile = Path(folder) / "Dockerfile"
        dockerfile.write_text(text)
        client.build(dockerfile, Path(folder), image, f"stand-in {name}")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    partial = tarball.with_suffix(".partial")
    client.run("save", "--output", str(partial), image)
    partial.replace(tarball)


def prepare() -> list[Path]:
    """Prepare the current engine and build and save every stand-in (once; saved tarballs are reused)."""
    current_engine.prepare()

    def provide_stand_ins(client: DockerClient) -> None:
        for name, _ in STAND_INS:
            provide_stand_in(client, f"{NAMESPACE}/{name}")

    with_daemon(provide_stand_ins)
    return [stand_in_tarball(name) for name, _ in STAND_INS]


def provenance() -> dict[str, dict[str, str]]:
    """PROVENANCE.tsv of the projects folder, by id."""
    lines = (PROJECTS / "PROVENANCE.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return {row[0]: dict(zip(header, row, strict=False)) for row in (line.split("\t") for line in lines[1:] if line)}


def dockerfile_of(folder: Path) -> Path:
    """The Dockerfile PROVENANCE.tsv names for a project folder; ``Dockerfile`` for any other folder."""
    entry = provenance().get(folder.name) if folder.resolve().parent == PROJECTS.resolve() else None
    return folder / (entry["dockerfile"] if entry else "Dockerfile")


def base_images(document) -> list[str]:
    """The images the stages are built FROM (stage names and scratch left out)."""
    stages: set[str] = set()
    images: list[str] = []
    for instruction in document.instructions:
        if instruction.cmd != "from" or not instruction.value:
            continue
        arguments = [value for value in instruction.value if not value.startswith("--")]
        image = arguments[0]
        if image.lower() not in stages and image != "scratch" and image not in images:
            images.append(image)
        if len(arguments) >= 3 and arguments[1].lower() == "as":
            stages.add(arguments[2].lower())
    return images


def stand_ins_of(document) -> dict[str, str]:
    """The stand-in for each base image, by the name the engine looks for (the global ARGs' defaults put in);
    ``Unbuildable`` when one has none."""
    chosen = {}
    for named in base_images(document):
        image = expand_global_args(named, document)
        if image is None:
            raise Unbuildable(f"base image `{named}` comes from a build argument without a default")
        stand_in = stand_in_for(image)
        if stand_in is None:
            raise Unbuildable(f"no stand-in for `{image}` here (Alpine, or no Debian package of it)")
        chosen[image] = stand_in
    return chosen


def provide_bases(client: DockerClient, chosen: dict[str, str]) -> None:
    """Tag each stand-in (made or loaded first) under the base image name the Dockerfile uses."""
    for image, stand_in in chosen.items():
        provide_stand_in(client, stand_in)
        client.tag(stand_in, image)


def measurement_row(measurement) -> dict:
    rebuild = measurement.rebuild
    return {
        "bytes": measurement.content_bytes,
        "gzip_bytes": measurement.gzip_bytes,
        "layers": len(measurement.layers),
        "build_seconds": measurement.build_seconds,
        "downloaded_bytes": measurement.downloaded_bytes,
        "after_edit": None
        if rebuild is None
        else {
            "seconds": rebuild.seconds,
            "steps_rerun": len(rebuild.steps_rerun),
            "context_bytes": rebuild.context_bytes,
            "downloaded_bytes": rebuild.downloaded_bytes,
            "changed_bytes": rebuild.changed_bytes,
        },
    }


def variant_row(report: Report, original: Measurement) -> dict:
    """A selection's fixes, built: ``original`` is the original's first (cold) measurement, the same for each."""
    return {
        "applied": [
            {"code": fix.code, "applicability": fix.applicability, "title": fix.title} for fix in report.applied
        ],
        "touched": report.touched,
        "original": measurement_row(original),
        "fixed": measurement_row(report.fixed),
        "equivalent": report.equivalent,
        "declared_differences": sum(1 for difference in report.differences if difference.declared_by),
        "undeclared": [difference.as_json() for difference in report.undeclared[:20]],
        "undeclared_count": len(report.undeclared),
        "undeclared_config": [difference.as_json() for difference in report.undeclared_config],
        "unreproducible": len(report.unreproducible),
        "notes": list(report.notes),
        "diff": report.diff,
    }


def requirements_file(document, build_context) -> str | None:
    """A requirements file the Dockerfile installs from and a COPY sends (where a dependency can be added)."""
    names = manifests_of(document)
    sent = copied_files(document, build_context)
    found = sorted(path for path in sent if PurePosixPath(path).name in names and path.endswith(".txt"))
    return found[0] if found else None


def dependency_change(client: DockerClient, folder: Path, texts: dict[str, bytes], manifest: str) -> dict:
    """Each Dockerfile built, then again after ``manifest`` gains a requirement: that second build measured."""
    changed = (folder / manifest).read_text(encoding="utf-8").rstrip("\n") + f"\n{REQUIREMENT_ADDED}\n"
    measured: dict[str, object] = {"manifest": manifest, "added": REQUIREMENT_ADDED}
    for label, text in texts.items():
        dockerfile = client_folder(client) / f"{label}-dependency.Dockerfile"
        dockerfile.write_bytes(text)
        try:
            rebuild = dependency_rebuild(
                client, dockerfile, folder, manifest, changed, current_engine.bridge_sent_bytes
            )
        finally:
            dockerfile.unlink()
        measured[label] = {
            "seconds": rebuild.seconds,
            "downloaded_bytes": rebuild.downloaded_bytes,
            "steps_rerun": len(rebuild.steps_rerun),
            "image_bytes": rebuild.image_bytes,
        }
    return measured


def client_folder(client: DockerClient) -> Path:
    """A folder of the running daemon's, for the Dockerfiles this bench writes (next to its socket)."""
    assert client.host is not None, "the daemons this bench starts listen on a socket of their own"
    return Path(client.host.removeprefix("unix://")).parent


@functools.cache  # the rules are those imported when this process started
def built_on() -> str:
    """The commit of this checkout the fixes come from, ``+changes`` when files differ from it: rules change between
    runs, so a row says which rules made its fixed Dockerfile."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    changed = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--", "dockerfix"],
        capture_output=True,
        text=True,
    )
    return head.stdout.strip() + ("+changes" if changed.stdout.strip() else "")


def selections(settings: Settings) -> dict[str, Settings]:
    """The settings a project is fixed with, by its key in the row: ``unsafe``, the default rules with unsafe fixes
    (what a user gets without opting in); ``every_rule``, every rule with unsafe fixes, opt-in ones included (what a
    user who opts in gets: the evidence a review of an opt-in rule needs); ``safe``, the default rules' safe fixes
    alone (its codes recorded, not built). DF301 is left out of each (``NOT_BUILT``)."""
    ignored = [*settings.ignore, *NOT_BUILT]
    default = settings.override(ignore=ignored)
    return {
        "unsafe": default.override(unsafe_fixes=True),
        "every_rule": default.override(select=[ALL], ignore=ignored, unsafe_fixes=True),
        "safe": default,
    }


BUILT = ("unsafe", "every_rule")  # the selections whose fixed Dockerfiles are built, in this order


def shared_builds(texts: dict[str, str]) -> dict[str, str]:
    """For each built selection whose fixes changed the Dockerfile (``texts``: the fixed texts, by selection), the
    selection whose build it shares: itself, or the earlier one that gave the same text (one build serves both)."""
    first_with: dict[str, str] = {}
    return {name: first_with.setdefault(texts[name], name) for name in BUILT if name in texts}


def measure_project(client: DockerClient, folder: Path, dockerfile: Path) -> dict:
    """One project's row: its builds before and after each selection's fixes (``selections``), or why it has none.
    The row lists each selection's fix codes and which of them are opt-in."""
    started = time.monotonic()
    row: dict = {"id": folder.name, "dockerfile": dockerfile.name, "commit": built_on()}
    try:
        source = read_source(dockerfile)
        document = parse(source)
        row["bases"] = stand_ins_of(document)
        settings = discover(dockerfile)
        chosen = selections(settings)
        build_context = context_for(folder, dockerfile)
        texts: dict[str, str] = {}  # the selections whose fixes changed the Dockerfile
        for name, selection in chosen.items():
            result = run_source(source, selection, build_context, dockerfile)
            if result.changed and result.new_text is not None:
                texts[name] = result.new_text
            row[f"{name}_fixes"] = sorted({fix.code for fix in result.applied})
        row["opt_in_fixes"] = sorted(set(row["every_rule_fixes"]) & opt_in_codes(settings.options))
        row["not_built_findings"] = sorted(
            {
                finding.code
                for finding in run_source(
                    source, settings.override(select=list(NOT_BUILT)), build_context, dockerfile
                ).findings
            }
        )
        shared = shared_builds(texts)
        if not shared:
            row["status"] = "no fix"
            return row
        provide_bases(client, row["bases"])  # only now: making or loading a stand-in takes minutes here
        original = unreproducible = None  # measured by the first build of the original, reused by the next
        for name in (name for name, builds_with in shared.items() if builds_with == name):
            try:
                report = verify(
                    dockerfile,
                    chosen[name],
                    client,
                    folder,
                    downloaded=current_engine.bridge_sent_bytes,
                    unreproducible=unreproducible,
                )
            except BuildFailed as failure:
                if failure.label == "original":
                    raise Unbuildable(f"the original fails at `{failure.step}`: {failure.log_tail[-600:]}") from None
                row[name] = {"broken": f"fails at `{failure.step}`", "evidence": failure.log_tail[-2000:]}
                continue
            unreproducible = report.unreproducible
            # the original's later builds come from the build cache: the first, cold, measurement is its own
            original = original or report.original
            row[name] = variant_row(report, original)
        for name, builds_with in shared.items():
            row[name] = row[name] if builds_with == name else {"same_as": builds_with}
        variants = [row[name] for name, builds_with in shared.items() if builds_with == name]
        broken = [name for name in shared if "broken" in row[shared[name]]]
        if broken:
            first = row[shared[broken[0]]]
            row.update(
                status="broken",
                reason=f"with the {' and with the '.join(SELECTION_TITLES[name] for name in broken)}, the fixed "
                f"Dockerfile {first['broken']}",
                evidence=first["evidence"],
            )
            return row
        row["status"] = "equivalent" if all(variant["equivalent"] for variant in variants) else "different"
        manifest = requirements_file(document, build_context)
        if manifest is not None:
            row["dependency_change"] = dependency_change(
                client,
                folder,
                {
                    "original": source.encode(without_syntax_directive(document)),
                    **{
                        name: source.encode(without_syntax_directive(parse(source.with_text(texts[name]))))
                        for name, builds_with in shared.items()
                        if builds_with == name
                    },
                },
                manifest,
            )
    except Unbuildable as reason:
        row.update(status="unbuildable", reason=str(reason))
    except (EngineError, ContextCopyError) as error:  # a timeout, an engine that stopped answering: not the project's
        row.update(status="error", reason=str(error)[-1000:])
    finally:
        row["seconds"] = round(time.monotonic() - started, 1)
        row["load_average"] = round(os.getloadavg()[0], 1)  # the machine is shared: times say little without it
    return row


def with_daemon(work):
    """``work(client)`` on a fresh current engine with the Debian base loaded; the engine stops after."""
    daemon = started_daemon()
    try:
        daemon.load_base_image(base_tarball())
        return work(daemon.client)
    finally:
        daemon.stop()


def project_folders(ids: list[str]) -> list[Path]:
    known = provenance()
    unknown = [name for name in ids if name not in known]
    if unknown:
        raise SystemExit(f"not a project of {PROJECTS}: {', '.join(unknown)}")
    return [PROJECTS / name for name in (ids or sorted(known))]


def measured_rows() -> dict[str, dict]:
    """The rows measured so far, by project (a later row of a project replaces an earlier one)."""
    if not RESULTS.exists():
        return {}
    rows = (json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines() if line.strip())
    return {row["id"]: row for row in rows}


def superseded_findings() -> list[dict]:
    """Earlier rows of a project, measured again since, whose fixed image was broken or not equivalent: what a
    change to verify or to a rule answered (the row was kept as measured)."""
    if not RESULTS.exists():
        return []
    rows = [json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    latest = measured_rows()
    return [
        row
        for row in rows
        if row["status"] in ("broken", "different") and latest[row["id"]] is not row and latest[row["id"]] != row
    ]


def run(ids: list[str], again: bool) -> None:
    done = measured_rows()
    todo = [folder for folder in project_folders(ids) if again or folder.name not in done]

    def build_all(client: DockerClient) -> None:
        for folder in todo:
            row = measure_project(client, folder, dockerfile_of(folder))
            with RESULTS.open("a", encoding="utf-8") as results:
                results.write(json.dumps(row, sort_keys=True) + "\n")
            print(f"{row['id']}: {row['status']} in {row['seconds']:.0f} s {row.get('reason', '')[:200]}", flush=True)

    with_daemon(build_all)


def megabytes(count: float | None) -> str:
    """Decimal units, as BuildKit prints them; bytes and kB below a tenth of a megabyte (context re-sent, edits)."""
    if count is None:
        return "–"
    sign = "-" if count < 0 else ""
    if abs(count) < 1_000:
        return f"{sign}{abs(count):.0f} B"
    if abs(count) < 100_000:
        return f"{sign}{abs(count) / 1e3:.1f} kB"
    return f"{sign}{abs(count) / 1e6:.1f} MB"


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def _path(row: dict | None, *keys: str) -> Any:
    for key in keys:
        if row is None:
            return None
        row = row.get(key)
    return row


# (label, path in a measurement row, how to print it)
METRICS = (
    ("image size", ("bytes",), megabytes),
    ("image size, gzip", ("gzip_bytes",), megabytes),
    ("layers", ("layers",), str),
    ("cold build", ("build_seconds",), seconds),
    ("downloaded by the cold build", ("downloaded_bytes",), megabytes),
    ("rebuild after a source edit", ("after_edit", "seconds"), seconds),
    ("steps re-run after the edit", ("after_edit", "steps_rerun"), str),
    ("context re-sent after the edit", ("after_edit", "context_bytes"), megabytes),
    ("downloaded after the edit", ("after_edit", "downloaded_bytes"), megabytes),
    ("new layer bytes after the edit", ("after_edit", "changed_bytes"), megabytes),
)
DEPENDENCY_METRICS = (
    ("rebuild after a dependency change", "seconds", seconds),
    ("downloaded after the dependency change", "downloaded_bytes", megabytes),
    ("steps re-run after the dependency change", "steps_rerun", str),
)


def _delta(before, after, show) -> str:
    if before is None or after is None:
        return "–"
    difference = after - before
    if show is megabytes:
        return megabytes(difference) + (f" ({difference / before:+.1%})" if before else "")
    if show is seconds:
        return f"{difference:+.1f} s"
    return f"{difference:+d}"


# What each built selection is called in the report.
SELECTION_TITLES = {"unsafe": "default rules", "every_rule": "every rule, opt-in included"}


def variant_of(row: dict, name: str) -> dict | None:
    """A built selection's measurement in a row (the one it shares its build with, for the same text); None when
    the selection fixed nothing or its build broke."""
    variant = row.get(name)
    if variant and "same_as" in variant:
        variant = row.get(variant["same_as"])
    return variant if variant and "broken" not in variant else None


def project_table(row: dict, name: str) -> str:
    variant = variant_of(row, name)
    assert variant is not None, f"the {name} selection was built"
    lines = [f"| | original | fixed ({SELECTION_TITLES[name]}) | change |", "|---|---:|---:|---:|"]
    for label, path, show in METRICS:
        before, after = _path(variant["original"], *path), _path(variant["fixed"], *path)
        shown = ["–" if value is None else show(value) for value in (before, after)]
        lines.append(f"| {label} | {shown[0]} | {shown[1]} | {_delta(before, after, show)} |")
    dependency = row.get("dependency_change") or {}
    shared = row[name].get("same_as", name)
    for label, key, show in DEPENDENCY_METRICS if shared in dependency else ():
        before, after = dependency["original"][key], dependency[shared][key]
        lines.append(f"| {label} | {show(before)} | {show(after)} | {_delta(before, after, show)} |")
    return "\n".join(lines)


def _codes(variant: dict) -> tuple[str, ...]:
    return tuple(sorted({fix["code"] for fix in variant["applied"]}))


def _built_with(built: list[dict], name: str) -> list[dict]:
    """The measurements of one selection's fixes, over the rows where they were built."""
    return [variant for variant in (variant_of(row, name) for row in built) if variant is not None]


def _aggregate(variants: list[dict]) -> str:
    lines = ["| | median change | total change | projects |", "|---|---:|---:|---:|"]
    for label, path, show in METRICS:
        changes = [
            _path(variant["fixed"], *path) - _path(variant["original"], *path)
            for variant in variants
            if _path(variant["fixed"], *path) is not None and _path(variant["original"], *path) is not None
        ]
        if changes:
            median, total = statistics.median(changes), sum(changes)
            shown = (
                (megabytes(median), megabytes(total))
                if show is megabytes
                else ((f"{median:+.1f} s", f"{total:+.1f} s") if show is seconds else (f"{median:+g}", f"{total:+d}"))
            )
            lines.append(f"| {label} | {shown[0]} | {shown[1]} | {len(changes)} |")
    totals = [sum(variant[side]["bytes"] for variant in variants) for side in ("original", "fixed")]
    lines.append(
        f"| all images together | | {megabytes(totals[1] - totals[0])} of {megabytes(totals[0])} "
        f"({(totals[1] - totals[0]) / totals[0]:+.1%}) | {len(variants)} |"
    )
    return "\n".join(lines)


def _attribution(variants: list[dict]) -> str:
    """Bytes by rule: exact where one rule's fixes were the only ones applied; otherwise the set of rules shares it."""
    by_set: dict[tuple[str, ...], list[int]] = {}
    for variant in variants:
        by_set.setdefault(_codes(variant), []).append(variant["fixed"]["bytes"] - variant["original"]["bytes"])
    lines = ["| fixes applied | projects | image bytes changed, total | median |", "|---|---:|---:|---:|"]
    for codes, changes in sorted(by_set.items(), key=lambda item: sum(item[1])):
        total, median = megabytes(sum(changes)), megabytes(statistics.median(changes))
        lines.append(f"| {' + '.join(codes)} | {len(changes)} | {total} | {median} |")
    applied: dict[str, int] = {}
    for variant in variants:
        for code in _codes(variant):
            applied[code] = applied.get(code, 0) + 1
    lines += [
        "",
        "Projects each rule's fixes applied to: "
        + ", ".join(f"{code} {count}" for code, count in sorted(applied.items()))
        + ".",
    ]
    return "\n".join(lines)


def _load(rows) -> str:
    """The load averages the rows were measured under, in words."""
    loads = sorted(row["load_average"] for row in rows if "load_average" in row)
    if not loads:
        return "load average not recorded"
    median = statistics.median(loads)
    return f"load average {loads[0]:.1f} to {loads[-1]:.1f} at the end of a project's builds, median {median:.1f}"


def _overview(rows, known: dict[str, dict[str, str]]) -> str:
    """One line per project: what happened, each selection's fixes and image change, and the commit whose rules
    made the fixes."""
    lines = [
        "| project | bases | status | default fixes | opt-in fixes | image size change, default rules | "
        "image size change, every rule | layers, every rule | rebuild after an edit, every rule | seconds | commit |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in sorted(rows, key=lambda row: row["id"]):
        changes = []
        for name in BUILT:
            variant = variant_of(row, name)
            changes.append(
                "–" if variant is None else _delta(variant["original"]["bytes"], variant["fixed"]["bytes"], megabytes)
            )
        layers = rebuild = "–"
        variant = variant_of(row, "every_rule")
        if variant:
            before, after = variant["original"], variant["fixed"]
            layers = f"{before['layers']} -> {after['layers']}"
            edits = [_path(side, "after_edit", "seconds") for side in (before, after)]
            rebuild = "–" if None in edits else f"{seconds(edits[0])} -> {seconds(edits[1])}"
        repository = known.get(row["id"], {}).get("repo", "")
        lines.append(
            f"| {row['id']} ({repository}) | {', '.join(row.get('bases', {})) or '–'} | {row['status']} | "
            f"{', '.join(row.get('unsafe_fixes', [])) or '–'} | {', '.join(row.get('opt_in_fixes', [])) or '–'} | "
            f"{changes[0]} | {changes[1]} | {layers} | {rebuild} | {row['seconds']:.0f} | "
            f"{row.get('commit', 'not recorded')[:12]} |"
        )
    return "\n".join(lines)


def _timed_builds(row: dict) -> float:
    """Seconds of the builds a row times (the original's cold and edited builds, each distinct fixed Dockerfile's,
    the dependency change's second builds); the rest of a project's time is untimed builds (the original's second
    build, every step run again, the original's builds again from the cache for a second selection, and the
    dependency change's first builds) and reading the images (``docker save``, then every new layer hashed and
    compressed)."""
    timed = 0.0
    variants = [row[name] for name in BUILT if name in row and "same_as" not in row[name] and "broken" not in row[name]]
    sides = [variants[0]["original"], *(variant["fixed"] for variant in variants)] if variants else []
    for measured in sides:
        timed += measured["build_seconds"] or 0.0
        timed += _path(measured, "after_edit", "seconds") or 0.0
    dependency = row.get("dependency_change") or {}
    timed += sum(value["seconds"] for value in dependency.values() if isinstance(value, dict))
    return timed


def _where_time_goes(built: list[dict]) -> str:
    total = sum(row["seconds"] for row in built)
    timed = sum(_timed_builds(row) for row in built)
    downloads = [
        next(variant for name in BUILT if (variant := variant_of(row, name)))["original"]["downloaded_bytes"] or 0
        for row in built
    ]
    return (
        f"Of the {total / 60:.0f} minutes the {len(built)} projects built both ways took, {timed / 60:.0f} "
        f"({timed / total:.0%}) were the builds the tables time (each cold build, each rebuild after an edit, each "
        "rebuild after a dependency change). The rest is the original's second build (every step run again, to learn "
        "what the build does not reproduce), its builds again from the cache where a second selection gave another "
        "Dockerfile, the dependency change's first builds (from the cache), and reading the images: `docker save` "
        "writes every layer of every image measured, and each new layer is then hashed and compressed to measure it. "
        f"The original's cold builds downloaded {megabytes(statistics.median(downloads))} each (median; "
        f"{megabytes(sum(downloads))} in all), inside their timed seconds.\n"
    )


def _harm(row: dict) -> str:
    """What went wrong with a broken or not equivalent row: per selection, the build that failed or the paths that
    differ undeclared, and which of the fixes applied are opt-in."""
    said = []
    for name in BUILT:
        variant = row.get(name)
        if not variant or "same_as" in variant:
            continue
        if "broken" in variant:
            said.append(f"{SELECTION_TITLES[name]}: the fixed Dockerfile {variant['broken']}")
        elif not variant["equivalent"]:
            paths = ", ".join(f"`{difference['path']}`" for difference in variant["undeclared"][:3])
            said.append(
                f"{SELECTION_TITLES[name]}: {variant['undeclared_count']} undeclared differences ({paths}, ...)"
            )
    opt_in = ", ".join(row.get("opt_in_fixes", [])) or "none"
    applied = ", ".join(row.get("every_rule_fixes", row["unsafe_fixes"]))  # a row of the default rules alone has none
    return f"{'; '.join(said) or row.get('reason')}; fixes applied: {applied} (opt-in: {opt_in})"


def report() -> str:
    # a row measured before each project was fixed with both selections says nothing of either as the rules are now
    latest = measured_rows()
    stale = sorted(row["id"] for row in latest.values() if "every_rule_fixes" not in row)
    rows = {project: row for project, row in latest.items() if project not in stale}
    known = provenance()
    built = [row for row in rows.values() if row["status"] in ("equivalent", "different")]
    unbuildable = [row for row in rows.values() if row["status"] == "unbuildable"]
    broken = [row for row in rows.values() if row["status"] == "broken"]
    different = [row for row in built if row["status"] == "different"]
    unfixed = [row for row in rows.values() if row["status"] == "no fix"]
    errors = [row for row in rows.values() if row["status"] == "error"]
    seconds_total = sum(row["seconds"] for row in rows.values())
    parts = [
        "# dockerfix on real projects, built before and after\n",
        "Written by `python bench/effect.py report` from `bench/effect-results.jsonl` (`python bench/effect.py run`).\n"
        f"Projects: `../shared/corpus/projects/` ({len(known)}, each a Dockerfile with its build context at a pinned "
        "commit; `PROVENANCE.tsv` names repository and commit). Engine: Debian trixie's Docker 26.1 in its own root "
        f"(verify's current engine), on a 2-core machine shared with other work ({_load(rows.values())}), "
        "so times are indicative. The fixed file is built right after the original in the same engine: the steps above "
        "its first changed step come from the build cache, as they would on a developer's machine.\n",
        "Each project is fixed twice, both times with unsafe fixes: with the **default rules** (what `dockerfix "
        "--unsafe-fixes` does) and with **every rule**, the opt-in ones included (`--select ALL --unsafe-fixes`: what "
        "a user who opts in gets, and the evidence an opt-in rule needs before it may report by default). Where both "
        "give the same Dockerfile it is built once. Safe fixes alone are not built (their codes are in the rows).\n",
        "**Absolute sizes are those of stand-in base images** (Debian bookworm's Python 3.11 and Node.js 18 under the "
        "tags the projects name, see `bench/effect.py`), the same before and after: the changes are real, the totals "
        "are not the registry images'. DF301's base-image swap is not built (its sizes come from "
        "`dockerfix/data/official-image-sizes.tsv`); projects where it reports are listed apart.\n",
        "**DF105's rows understate it.** The package index as reached from this machine sends no caching headers, so "
        "pip's HTTP cache stores nothing and `--no-cache-dir` has nothing to leave out (its 84 B rows are pip's "
        "self-check file). Behind an index that sends PyPI's headers the same installs keep what pip downloaded "
        "(7,992,170 B for 7,904,593 B of wheels in a control): `docs/decisions.md` §55.\n",
        f"Measured: {len(rows)} projects in {seconds_total / 60:.0f} minutes of builds. Built both ways: {len(built)}; "
        f"fixed image not equivalent: {len(different)}; fixed build broken: {len(broken)}; no fix applied, even with "
        f"every rule: {len(unfixed)}; cannot be built here: {len(unbuildable)} (`bench/effect-unbuildable.tsv`); "
        f"stopped by the engine (a timeout): {len(errors)}.\n",
    ]
    if stale:
        parts.append(
            f"Not measured again since each project is fixed with both selections (left out of every table): "
            f"{', '.join(stale)}.\n"
        )
    parts += ["## Every project measured\n", _overview(rows.values(), known) + "\n"]
    for name in BUILT:
        variants = _built_with(built, name)
        if variants:
            parts += [
                f"## Aggregate, {SELECTION_TITLES[name]} (fixed minus original, unsafe fixes applied)\n",
                _aggregate(variants) + "\n",
                f"## Which fixes saved what, {SELECTION_TITLES[name]}\n",
                _attribution(variants) + "\n",
            ]
    if built:
        parts += ["## Where the time goes\n", _where_time_goes(built)]
    if broken or different:
        parts.append("## Broken or not equivalent after the fixes\n")
        explained = explanations()
        for row in broken + different:
            parts.append(f"- {row['id']}: {_harm(row)}. {explained.get(row['id'], 'Not yet explained.')}\n")
    earlier = superseded_findings()
    if earlier:
        parts.append("## Earlier findings, measured again since\n")
        # a finding measured twice (a run repeated) is said once
        parts += dict.fromkeys(
            f"- {row['id']} was {row['status']}: {_harm(row)}; now {latest[row['id']]['status']}.\n" for row in earlier
        )
    parts.append("## Per project\n")
    for row in sorted(built, key=lambda row: row["id"]):
        entry = known.get(row["id"], {})
        parts.append(
            f"### {row['id']}: {entry.get('repo', '')} `{entry.get('context_path', '')}/{row['dockerfile']}` "
            f"({', '.join(row['bases'])}), {row['seconds']:.0f} s\n"
        )
        for name in BUILT:
            variant = variant_of(row, name)
            if variant is None:
                continue
            shared = row[name].get("same_as")
            same = f" (the same Dockerfile as with the {SELECTION_TITLES[shared]})" if shared else ""
            parts += [
                f"{SELECTION_TITLES[name].capitalize()}{same}: fixes {', '.join(_codes(variant))}; edited "
                f"`{variant['touched']}`; {'equivalent' if variant['equivalent'] else 'NOT equivalent'} "
                f"({variant['declared_differences']} declared differences, {variant['unreproducible']} paths or "
                "folders not reproducible between two builds of the original).\n",
                project_table(row, name) + "\n",
            ]
    if unfixed:
        parts += [
            "## No fix applied, even with every rule\n",
            ", ".join(row["id"] for row in sorted(unfixed, key=lambda row: row["id"])) + "\n",
        ]
    swaps = sorted(row["id"] for row in rows.values() if row.get("not_built_findings"))
    parts += ["## DF301 (reported apart)\n", f"DF301 reports on {len(swaps)} projects: {', '.join(swaps) or 'none'}.\n"]
    return "\n".join(parts)


def explanations() -> dict[str, str]:
    """What was found about a broken or not equivalent row, by project (``EXPLAINED``, written by whoever looked)."""
    if not EXPLAINED.exists():
        return {}
    lines = EXPLAINED.read_text(encoding="utf-8").splitlines()[1:]
    return dict(line.split("\t", 1) for line in lines if line.strip())


def unbuildable_list() -> str:
    """The projects that cannot be built here: why (``EXPLAINED``, where someone looked) and what the build said."""
    rows = sorted(
        (row for row in measured_rows().values() if row["status"] == "unbuildable"), key=lambda row: row["id"]
    )
    explained = explanations()
    lines = ["id\twhy\tthe build's own words"] + [
        f"{row['id']}\t{explained.get(row['id'], 'not yet looked at')}\t{' '.join(row['reason'].split())[:300]}"
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _stop(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")  # unwinding stops the engine and removes its folders


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(prog="bench/effect.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        type=Path,
        action="append",
        metavar="FOLDER",
        help="build one project folder and print its row as a line of JSON (repeated: each, on one engine)",
    )
    parser.add_argument(
        "--dockerfile", help="the Dockerfile's name in each --only folder (default: PROVENANCE.tsv's, or Dockerfile)"
    )
    parser.add_argument("command", nargs="?", choices=("prepare", "run", "report"))
    parser.add_argument("ids", nargs="*", help="with run: the project ids to build (default: all)")
    parser.add_argument("--again", action="store_true", help="with run: build projects already measured again")
    arguments = parser.parse_intermixed_args(argv)
    try:
        if arguments.only:
            dockerfiles = [
                folder / arguments.dockerfile if arguments.dockerfile else dockerfile_of(folder)
                for folder in arguments.only
            ]
            for dockerfile in dockerfiles:
                if not dockerfile.is_file():
                    parser.error(f"{dockerfile}: no such Dockerfile")

            def measure_each(client: DockerClient) -> None:
                for folder, dockerfile in zip(arguments.only, dockerfiles, strict=True):
                    row = measure_project(client, folder, dockerfile)
                    print(json.dumps(row, sort_keys=True), flush=True)

            with_daemon(measure_each)
        elif arguments.command == "prepare":
            print("stand-in base images:", *prepare(), sep="\n  ")
        elif arguments.command == "run":
            run(arguments.ids, arguments.again)
        elif arguments.command == "report":
            REPORT.write_text(report(), encoding="utf-8")
            UNBUILDABLE.write_text(unbuildable_list(), encoding="utf-8")
            print(f"wrote {REPORT} and {UNBUILDABLE}")
        else:
            parser.error("name a command (prepare, run, report) or --only FOLDER")
    except (SandboxUnavailable, EngineError, current_engine.EngineSetupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
