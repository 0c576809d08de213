"""verify without an engine: progress parsing, image reading, comparison, declarations, output and errors."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from dockerfix.command import main
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse, parse_text
from dockerfix.rewriter.engine import Selection, check, fix
from dockerfix.rewriter.fixes import Applicability, ContentChange
from dockerfix.rewriter.pipeline import AppliedFix
from dockerfix.rewriter.registry import all_rules
from dockerfix.rewriter.source import Source
from dockerfix.rules.df304_multi_stage_split import MultiStageSplit
from dockerfix.verify.compare import compare_config, compare_files, covers, not_reproduced
from dockerfix.verify.current_engine import apt_mirror
from dockerfix.verify.engine import build_outcome, context_sent, failure_of
from dockerfix.verify.image import Entry, Image, read_layer
from dockerfix.verify.measure import (
    LayerRow,
    Measurement,
    Rebuild,
    Report,
    default_touch,
    manifests_of,
    rejects_heredocs,
    without_syntax_directive,
)
from dockerfix.verify.render import markdown

APT_THREE_RUNS = "FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n"
PROGRESS = """\
#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
#4 [1/4] FROM docker.io/library/debian:bookworm
#4 DONE 0.0s
#5 [2/4] RUN pip install -r requirements.txt
#5 CACHED
#6 [build 3/4] COPY . /app
#6 DONE 0.1s
#7 [4/4] RUN python3 -m compileall /app
#7 0.512 Listing '/app'...
#7 DONE 0.7s
#8 exporting to image
#8 DONE 0.1s
"""

FAILED = """\
#5 [2/3] RUN apt-get install -y nothing-such
#5 0.301 Reading package lists...
#5 0.402 E: Unable to locate package nothing-such
#5 ERROR: executor failed running [/bin/sh -c apt-get install -y nothing-such]: exit code: 100
------
 > [2/3] RUN apt-get install -y nothing-such:
------
"""


def test_progress_counts_the_steps_that_ran_and_the_cached_ones_but_not_from_or_internal_steps():
    outcome = build_outcome("sha256:1", PROGRESS)
    assert outcome.steps_run == ("[build 3/4] COPY . /app", "[4/4] RUN python3 -m compileall /app")
    assert outcome.steps_cached == ("[2/4] RUN pip install -r requirements.txt",)


def test_the_context_sent_is_the_last_transfer_line_in_decimal_units():
    log = PROGRESS.replace(
        "#1 DONE 0.0s\n",
        "#1 DONE 0.0s\n#2 [internal] load build context\n"
        "#2 transferring context: 35.65MB 2.0s\n#2 transferring context: 120.3MB 4.1s done\n#2 DONE 4.2s\n",
    )
    assert context_sent(log) == 120_300_000 and build_outcome("sha256:1", log).context_bytes == 120_300_000
    assert context_sent("#5 [internal] load build context\n#5 transferring context: 79.7kB done\n") == 79_700
    assert context_sent("#5 transferring context: 2B done\n") == 2
    assert context_sent(PROGRESS) is None and build_outcome("sha256:1", PROGRESS).context_bytes is None


def test_a_failed_build_names_the_step_and_shows_its_log_tail():
    failure = failure_of("fixed", FAILED)
    assert failure.step == "[2/3] RUN apt-get install -y nothing-such"
    assert "E: Unable to locate package nothing-such" in failure.log_tail
    assert str(failure).startswith(
        "the fixed Dockerfile failed to build at `[2/3] RUN apt-get install -y nothing-such`"
    )


def _tar(members: list[tuple[str, bytes | None, dict]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data, attributes in members:
            info = tarfile.TarInfo(name)
            for key, value in attributes.items():
                setattr(info, key, value)
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def test_layers_apply_in_order_with_whiteouts_opaque_folders_and_hard_links():
    base = _tar(
        [
            ("etc", None, {"type": tarfile.DIRTYPE, "mode": 0o40755}),
            ("etc/keep", b"k", {"mode": 0o100644}),
            ("etc/gone", b"g", {}),
            ("cache", None, {"type": tarfile.DIRTYPE}),
            ("cache/a", b"a", {}),
        ]
    )
    top = _tar(
        [
            ("etc/.wh.gone", b"", {}),
            ("cache/.wh..wh..opq", b"", {}),
            ("cache/b", b"bb", {}),
            ("bin/tool", b"tool", {"mode": 0o755}),
            ("bin/alias", None, {"type": tarfile.LNKTYPE, "linkname": "bin/tool"}),
            ("bin/link", None, {"type": tarfile.SYMTYPE, "linkname": "tool"}),
        ]
    )
    lower = read_layer(io.BytesIO(base), "sha256:" + hashlib.sha256(base).hexdigest(), "")
    upper = read_layer(io.BytesIO(top), "", "RUN x")
    files = Image((lower, upper), {}).root_filesystem()
    assert sorted(files) == ["/bin/alias", "/bin/link", "/bin/tool", "/cache", "/cache/b", "/etc", "/etc/keep"]
    assert files["/etc"].mode == 0o755  # Go's tar writer puts the type bits in the mode; they are not compared
    assert files["/bin/alias"].digest == files["/bin/tool"].digest == hashlib.sha256(b"tool").hexdigest()
    assert files["/bin/link"].kind == "symlink"
    assert upper.content_bytes == 6 and upper.tar_bytes == len(top) and 0 < upper.gzip_bytes < len(top)


def test_a_layer_whose_content_does_not_match_its_diff_id_is_refused():
    with pytest.raises(ValueError, match="does not match"):
        read_layer(io.BytesIO(_tar([("a", b"a", {})])), "sha256:" + "0" * 64, "")


def _file(content: bytes, mode: int = 0o644) -> Entry:
    return Entry("file", mode, 0, 0, len(content), hashlib.sha256(content).hexdigest())


def test_differences_are_classified_noise_is_left_out_and_declared_changes_are_attributed():
    before = {
        "/usr/bin/curl": _file(b"curl"),
        "/var/lib/apt/lists/index": _file(b"index"),
        "/var/log/dpkg.log": _file(b"10:00 install"),
        "/etc/hostname": _file(b"builder"),
        "/app/__pycache__/app.cpython-311.pyc": _file(b"mtime 1"),
        "/app/run": _file(b"run", 0o755),
    }
    after = {
        "/usr/bin/curl": _file(b"curl"),
        "/var/log/dpkg.log": _file(b"10:01 install"),
        "/app/__pycache__/app.cpython-311.pyc": _file(b"mtime 2"),
        "/app/run": _file(b"run", 0o700),
        "/app/new": _file(b"new"),
    }
    applied = [AppliedFix("DF102", "Append rm", "unsafe", ContentChange(removes=("/var/lib/apt/lists",)))]
    differences = {difference.path: difference for difference in compare_files(before, after, applied)}
    assert sorted(differences) == ["/app/new", "/app/run", "/var/lib/apt/lists/index"]
    assert differences["/var/lib/apt/lists/index"].change == "removed"
    assert differences["/var/lib/apt/lists/index"].declared_by == "DF102"
    assert differences["/app/run"].change == "changed" and differences["/app/run"].declared_by is None
    assert differences["/app/new"].change == "added" and differences["/app/new"].declared_by is None


def test_npm_debug_logs_named_by_the_time_of_the_run_are_build_noise():
    # measured on ../shared/corpus/projects/00284: each build's `npm ci` leaves a log named by its start time
    log = Entry("file", 0o644, 0, 0, 41832, "b90d73e7")
    before = {"/root/.npm/_logs/2026-12-06T22_10_01_100Z-debug-0.log": log, "/app/server.js": log}
    after = {
        "/root/.npm/_logs/2026-12-06T22_11_47_661Z-debug-0.log": log,
        "/home/node/.npm/_logs/x-debug-0.log": log,
        "/app/server.js": log,
    }
    assert compare_files(before, after, ()) == []


def test_a_folder_emptied_by_a_declared_removal_goes_with_it_and_no_other_folder_does():
    # measured on ../shared/corpus/projects/00115: DF105's cache mount over /root/.cache/pip left no /root/.cache
    folder, file = Entry("dir", 0o755, 0, 0, 0, ""), Entry("file", 0o644, 0, 0, 3, "abc")
    before = {
        "/root/.cache": folder,
        "/root/.cache/pip": folder,
        "/root/.cache/pip/wheel": file,
        "/srv": folder,
        "/srv/data": file,
    }
    pip_cache = AppliedFix("DF105", "cache mount", "unsafe", ContentChange(removes=("/root/.cache/pip",)))
    differences = compare_files(before, {}, (pip_cache,))
    assert {difference.path: difference.declared_by for difference in differences} == {
        "/root/.cache": "DF105",
        "/root/.cache/pip": "DF105",
        "/root/.cache/pip/wheel": "DF105",
        "/srv": None,
        "/srv/data": None,
    }
    # a file left out of the comparison (one the build does not reproduce) goes with its folder too
    before["/root/.cache/pip/selfcheck.json"] = file
    differences = compare_files(before, {}, (pip_cache,), unreproducible=("/root/.cache/pip/selfcheck.json",))
    assert all(
        difference.declared_by == "DF105" for difference in differences if difference.path.startswith("/root/.cache")
    )


def _built(folder: Path, files: dict[str, bytes]) -> dict[str, Entry]:
    """The root filesystem of an image whose one layer holds ``files``, written to ``folder`` and packed as a build
    packs them."""
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as archive:
        archive.add(folder / "app", arcname="app")
    layer = read_layer(io.BytesIO(packed.getvalue()), "sha256:" + hashlib.sha256(packed.getvalue()).hexdigest(), "")
    return Image((layer,), {}).root_filesystem()


def test_files_named_by_their_content_that_two_builds_of_the_original_disagree_on_are_noise_in_their_folder(tmp_path):
    # measured on ../shared/corpus/projects/00157 (SvelteKit and Vite): each build names its bundles by a hash of
    # their content (entry.OMLxb-g0.js), and a third build, the fixed one, makes a third name
    stable = {"app/build/index.html": b"<html>", "app/build/chunks/vendor.js": b"vendor", "app/src/main.js": b"x"}

    def build(name: str, bundle: bytes, changed: dict[str, bytes] | None = None) -> dict[str, Entry]:
        return _built(
            tmp_path / name, {**stable, f"app/build/chunks/entry.{bundle.hex()[-8:]}.js": bundle, **(changed or {})}
        )

    first, again = build("first", b"build one"), build("again", b"build two")
    unreproducible = not_reproduced(first, again)
    assert compare_files(first, build("fixed", b"build three"), (), unreproducible) == []
    # the folder's other files are still compared, and a file on one side only elsewhere is still a difference
    harmful = build("harmful", b"build four", {"app/build/chunks/vendor.js": b"other", "app/build/extra.js": b"new"})
    differences = compare_files(first, harmful, (), unreproducible)
    assert [(difference.path, difference.change) for difference in differences] == [
        ("/app/build/chunks/vendor.js", "changed"),
        ("/app/build/extra.js", "added"),
    ]


def test_a_removal_declaration_does_not_excuse_an_added_or_changed_file():
    applied = [AppliedFix("DF102", "t", "unsafe", ContentChange(removes=("/var/lib/apt/lists",)))]
    differences = compare_files({"/var/lib/apt/lists/a": _file(b"1")}, {"/var/lib/apt/lists/a": _file(b"2")}, applied)
    assert [difference.declared_by for difference in differences] == [None]


def test_declared_patterns_cover_folders_and_match_one_component_per_star():
    assert covers("/", "/usr/share/doc/x")
    assert covers("/var/lib/gems/*/doc", "/var/lib/gems/3.1.0/doc/rake/ri")
    assert not covers("/var/lib/gems/*/doc", "/var/lib/gems/3.1.0/gems/rake")
    assert not covers("/var/lib/apt/lists", "/var/lib/apt/listsx")


def test_config_fields_are_compared_one_by_one():
    before = {"Cmd": ["curl"], "User": None, "Env": ["A=1"]}
    after = {"Cmd": ["curl"], "User": "app", "Env": ["A=1"]}
    assert [(d.field, d.before, d.after) for d in compare_config(before, after)] == [("User", None, "app")]


def test_environment_variables_are_compared_one_by_one_and_only_the_declared_ones_are_accepted():
    before = {"Cmd": ["app"], "Env": ["PATH=/usr/bin", "LANG=C.UTF-8", "GOPATH=/go"]}
    after = {"Cmd": ["app"], "Env": ["LANG=C.UTF-8", "PATH=/opt/venv/bin:/usr/bin"]}
    venv = [AppliedFix("DF304", "Split", "unsafe", ContentChange(environment=("PATH",)))]
    found = [(d.field, d.before, d.after, d.declared_by) for d in compare_config(before, after, venv)]
    assert found == [("Env GOPATH", "/go", None, None), ("Env PATH", "/usr/bin", "/opt/venv/bin:/usr/bin", "DF304")]
    anything = [AppliedFix("DF304", "Split", "unsafe", ContentChange(environment=("*",)))]
    assert {d.declared_by for d in compare_config(before, after, anything)} == {"DF304"}
    assert compare_config({"Env": ["A=1", "B=2"]}, {"Env": ["B=2", "A=1"]}) == []


def test_the_split_declares_what_it_drops_precisely_per_runtime_image():
    def changes(text: str) -> ContentChange:
        [finding] = check(parse_text(text), [MultiStageSplit()])
        assert finding.fix is not None and finding.fix.changes is not None
        return finding.fix.changes

    python = changes(
        "FROM python:3.11\nRUN apt-get update && apt-get install -y gcc\nWORKDIR /app\nCOPY . .\n"
        'RUN pip install -r requirements.txt\nCMD ["python", "app.py"]\n'
    )
    assert python.removes == ("/",) and "/opt/venv" in python.alters and python.environment == ("PATH",)
    go = changes(
        'FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /out/app .\nCMD ["/out/app"]\n'
    )
    assert go.removes == ("/",) and go.environment == ("*",) and "/opt/venv" not in go.alters


def test_every_fix_that_removes_or_changes_files_declares_it():
    """The unsafe fixes of the layer rules change the image's files; each must say which, for verify."""
    declaring = {
        "DF102",
        "DF103",
        "DF104",
        "DF105",
        "DF106",
        "DF107",
        "DF108",
        "DF109",
        "DF111",
        "DF112",
        "DF113",
        "DF114",
        "DF116",
    }
    seen = set()
    for rule in all_rules():
        if rule.code not in declaring:
            continue
        for example in rule.invalid:
            if example.fixed is None:
                continue
            result = fix(
                Source.decode(example.before.encode(), "Dockerfile"),
                Selection(select=(rule.code,)).rules(),
                unsafe_fixes=True,
            )
            for finding in result.applied:
                assert finding.fix is not None and finding.fix.applicability == Applicability.UNSAFE
                assert finding.fix.changes is not None and finding.fix.changes.removes, (rule.code, finding.fix.title)
                seen.add(rule.code)
    assert seen == declaring


def test_default_touch_prefers_source_code_and_skips_manifests_hidden_files_and_the_dockerfile():
    document = parse(Source.decode(b"FROM debian\nCOPY . /app\nRUN pip install -r requirements.txt\n", "Dockerfile"))
    manifests = manifests_of(document)
    assert "requirements.txt" in manifests
    files = ("Dockerfile", ".dockerfix.toml", "README", "requirements.txt", "pkg/mod.py", "app.py")
    assert default_touch(files, manifests, "Dockerfile") == "app.py"
    assert default_touch(("Dockerfile", "requirements.txt"), manifests, "Dockerfile") is None


def test_the_file_edited_by_default_is_one_a_copy_sends_not_a_readme_the_image_never_receives(tmp_path: Path):
    from dockerfix.verify import measure

    for relative, text in (
        ("README.md", "# app\n"),
        ("requirements.txt", "flask\n"),
        ("app/main.py", "print(1)\n"),
        ("docs/notes.py", "\n"),
        ("Dockerfile", ""),
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    dockerfile = (
        "FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY app/ ./app\n"
    )
    document = parse(Source.decode(dockerfile.encode(), "Dockerfile"))
    context = BuildContext.from_directory(tmp_path, tmp_path / "Dockerfile")
    assert measure.touch_for(document, context, tmp_path, "Dockerfile") == "app/main.py"
    only_the_manifest = parse(
        Source.decode(
            b"FROM python:3.11-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n", "Dockerfile"
        )
    )
    assert measure.touch_for(only_the_manifest, context, tmp_path, "Dockerfile") is None


def test_the_syntax_directive_is_left_out_of_what_is_built():
    document = parse(Source.decode(b"# syntax=docker/dockerfile:1\nFROM debian\n", "Dockerfile"))
    assert without_syntax_directive(document) == "FROM debian\n"


def test_the_mirror_comes_from_the_apt_sources(tmp_path: Path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n"
    )
    assert apt_mirror(tmp_path) == "http://mirror.invalid/debian"
    (tmp_path / "sources.list").write_text("# old\ndeb [arch=amd64] http://one-line.invalid/debian bookworm main\n")
    assert apt_mirror(tmp_path) == "http://one-line.invalid/debian"


def _report(undeclared: bool) -> Report:
    from dockerfix.verify.compare import Difference

    rows = (LayerRow("", 100_000_000, 40_000_000), LayerRow("RUN a", 50_000_000, 20_000_000))
    differences = (Difference("/x", "added", None, _file(b"x"), None),) if undeclared else ()
    return Report(
        dockerfile="Dockerfile",
        diff="",
        applied=(AppliedFix("DF101", "Merge", "safe", None),),
        touched="app.py",
        original=Measurement(rows, Rebuild(("[3/4] COPY", "[4/4] RUN pip"), 2, 3_100_000, 1_000_000)),
        fixed=Measurement(rows[:1], Rebuild(("[4/4] COPY",), 1, 77, 300)),
        differences=differences,
        config_differences=(),
        engine="26.1.5+dfsg1",
    )


def test_markdown_table_for_pull_requests():
    text = markdown(_report(undeclared=False))
    assert "| layers | 2 | 1 |" in text
    assert "| size | 150.0 MB | 100.0 MB |" in text
    assert "| steps re-run after editing app.py | 2 | 1 |" in text
    assert "| changed layers after the edit | 3.1 MB (1.0 MB gzip) | 77 B (300 B gzip) |" in text
    assert "equivalent: same files, same config" in text
    assert "on Docker 26.1.5+dfsg1" in text and _report(undeclared=False).as_json()["engine"] == "26.1.5+dfsg1"
    assert "NOT equivalent: 1 undeclared" in markdown(_report(undeclared=True))
    assert json.loads(json.dumps(_report(undeclared=True).as_json()))["equivalent"] is False


def test_cli_reports_an_unreachable_engine_clearly(tmp_path: Path, monkeypatch, capsys):
    (tmp_path / "Dockerfile").write_text(APT_THREE_RUNS)
    (tmp_path / ".dockerfix.toml").write_text('extend-select = ["DF101"]\n')  # its merges, asked for by code
    fake = tmp_path / "docker"
    fake.write_text(
        "#!/bin/sh\n"
        "echo 'Cannot connect to the Docker daemon at unix:///nowhere.sock. Is the docker daemon running?' >&2\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("DOCKERFIX_DOCKER", str(fake))
    assert main(["verify", str(tmp_path / "Dockerfile")]) == 2
    error = capsys.readouterr().err
    assert "no Docker engine reachable" in error and "Cannot connect to the Docker daemon" in error


def test_cli_says_when_there_is_nothing_to_verify(tmp_path: Path, capsys):
    (tmp_path / "Dockerfile").write_text("FROM debian\nRUN apt-get install -y curl\n")
    assert main(["verify", str(tmp_path / "Dockerfile")]) == 0
    assert "no fix applies (try --unsafe-fixes); nothing to compare" in capsys.readouterr().err


def test_touch_must_name_a_file_of_the_context(tmp_path: Path, capsys):
    (tmp_path / "Dockerfile").write_text(APT_THREE_RUNS)
    (tmp_path / ".dockerfix.toml").write_text('extend-select = ["DF101"]\n')  # its merges, asked for by code
    assert main(["verify", str(tmp_path / "Dockerfile"), "--touch", "missing.py"]) == 2
    assert "--touch missing.py: not a file of the build context" in capsys.readouterr().err


def test_engines_before_docker_23_are_the_ones_that_reject_heredocs():
    assert rejects_heredocs("20.10.24+dfsg1")
    assert not rejects_heredocs("26.1.5+dfsg1") and not rejects_heredocs("23.0.0")
    assert not rejects_heredocs("dev")


def test_the_current_engine_is_used_only_once_its_root_is_prepared_with_this_recipe(tmp_path: Path, monkeypatch):
    from dockerfix.verify import current_engine

    monkeypatch.setenv(current_engine.CACHE_VARIABLE, str(tmp_path))
    assert current_engine.prepared_root() is None
    root = tmp_path / "rootfs"
    root.mkdir()
    (root / current_engine.READY_MARKER).write_text("0\n")  # an older recipe
    assert current_engine.prepared_root() is None
    (root / current_engine.READY_MARKER).write_text(current_engine.RECIPE + "\n")
    assert current_engine.prepared_root() == root


def test_asking_for_the_current_engine_when_it_is_not_prepared_says_how_to_prepare_it(tmp_path: Path, monkeypatch):
    from dockerfix.verify import current_engine
    from dockerfix.verify.sandbox import PrivateDaemon, SandboxUnavailable

    monkeypatch.setenv(current_engine.CACHE_VARIABLE, str(tmp_path))
    with pytest.raises(SandboxUnavailable, match="root" if os.geteuid() else "current_engine.py prepare"):
        PrivateDaemon.start("current")
    with pytest.raises(ValueError, match="one of auto, current, packaged"):
        PrivateDaemon.start("newest")
