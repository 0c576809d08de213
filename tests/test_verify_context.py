"""verify never writes to the user's build context (issue 19, item 1): it builds from a bounded copy of its own, copies
symbolic links as links (as BuildKit sends them) and never writes through one, refuses what it cannot copy with exit 2,
and leaves nothing of the user's edited whatever ends it. The engine is ``verify_fake_engine.py``: what verify does
with the user's files happens around the builds, so these tests need no image."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dockerfix.bot.verification import Original, measure
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.context import BuildContext
from dockerfix.verify.context_copy import ContextCopyError, append_to_file, copied_context, unsent_by
from dockerfix.verify.engine import DockerClient
from dockerfix.verify.rebuild_cost import dependency_rebuild

FAKE_ENGINE = Path(__file__).with_name("verify_fake_engine.py")
MERGEABLE = "FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\nCOPY . /app\n"
NAMED_MERGES = 'extend-select = ["DF101"]\n'  # merges save only layers: the projects ask for them by code


@pytest.fixture
def engine(tmp_path: Path) -> dict[str, str]:
    """The environment of a verify run on the fake engine, with a temporary folder of its own to look into."""
    program = tmp_path / "docker"
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_ENGINE}" "$@"\n')
    program.chmod(0o755)
    (tmp_path / "tmp").mkdir()
    return {
        **os.environ,
        "DOCKERFIX_DOCKER": str(program),
        "TMPDIR": str(tmp_path / "tmp"),
        "FAKE_DOCKER_LOG": str(tmp_path / "builds.jsonl"),
        "FAKE_DOCKER_READY": str(tmp_path / "ready"),
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A context whose first source file is a link to a read-only file outside it, and a regular source file."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "real.py").write_text("print('outside the context')\n")
    (elsewhere / "real.py").chmod(0o444)
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "Dockerfile").write_text(MERGEABLE)
    (folder.parent / ".dockerfix.toml").write_text(NAMED_MERGES)  # above the context: it is not sent
    (folder / "app.py").symlink_to(elsewhere / "real.py")
    (folder / "main.py").write_text("print('hello')\n")
    (folder / "main.py").chmod(0o444)
    return folder


def snapshot(*folders: Path) -> dict[str, tuple[int, bytes]]:
    """Every entry below ``folders`` by mode and content (a link by its text), read without following links."""
    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path).encode()
            elif stat.S_ISREG(info.st_mode):
                content = path.read_bytes()
            else:
                content = b""
            found[str(path)] = (info.st_mode, content)
    return found


def start_verify(environment: dict[str, str], *arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dockerfix", "verify", "--output-format", "json", *arguments],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run_verify(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    def bounded_memory() -> None:  # a read without end fails here instead of taking the machine's memory
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run(
        [sys.executable, "-m", "dockerfix", "verify", "--output-format", "json", *arguments],
        env=environment,
        capture_output=True,
        timeout=120,
        preexec_fn=bounded_memory,
    )


def builds(environment: dict[str, str]) -> list[dict]:
    return [json.loads(line) for line in Path(environment["FAKE_DOCKER_LOG"]).read_text().splitlines()]


def held_build(environment: dict[str, str], *arguments: str) -> tuple[subprocess.Popen, int]:
    """verify started and held in its first edited build; the fake engine's pid, to end it by its id."""
    environment = {**environment, "FAKE_DOCKER_HOLD": ":original-edited"}
    process = start_verify(environment, *arguments)
    ready = Path(environment["FAKE_DOCKER_READY"])
    deadline = time.monotonic() + 60
    while not ready.exists() or not ready.read_text():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "verify never reached its edited build"
        time.sleep(0.05)
    return process, int(ready.read_text())


def end_fake_engine(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_sigkill_during_the_edited_build_leaves_every_user_file_as_it_was(tmp_path: Path, engine, project):
    before = snapshot(project, tmp_path / "elsewhere")
    process, fake = held_build(engine, str(project / "Dockerfile"))
    try:
        process.kill()
        process.wait(timeout=30)
    finally:
        end_fake_engine(fake)
    assert snapshot(project, tmp_path / "elsewhere") == before
    left = [path.name for path in (tmp_path / "tmp").iterdir()]
    assert all(name.startswith("dockerfix-verify-") for name in left), left  # only verify's own folder may stay


def test_a_sigterm_during_a_build_removes_the_copies_and_is_not_the_images_differ_exit(tmp_path: Path, engine, project):
    before = snapshot(project, tmp_path / "elsewhere")
    process, fake = held_build(engine, str(project / "Dockerfile"))
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        end_fake_engine(fake)
    assert process.returncode == 128 + signal.SIGTERM
    assert snapshot(project, tmp_path / "elsewhere") == before
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_edit_marker_goes_into_verify_s_own_copy_of_a_regular_file_only(tmp_path: Path, engine, project):
    before = snapshot(project, tmp_path / "elsewhere")
    result = run_verify({**engine, "FAKE_DOCKER_WATCH": "main.py"}, str(project / "Dockerfile"))
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["touched"] == "main.py"  # app.py is a link: editing it would edit what it points to
    assert snapshot(project, tmp_path / "elsewhere") == before
    assert list((tmp_path / "tmp").iterdir()) == []
    seen = {build["tag"].rsplit(":", 1)[1]: build for build in builds(engine)}
    assert sorted(seen) == ["fixed", "fixed-edited", "original", "original-again", "original-edited"]
    assert all(Path(build["context"]).is_relative_to(tmp_path / "tmp") for build in seen.values())
    unedited = hashlib.sha256((project / "main.py").read_bytes()).hexdigest()
    # the second build of the original (the reproducibility check) sees the file as the first one did
    assert seen["original"]["watched"] == seen["fixed"]["watched"] == seen["original-again"]["watched"] == unedited
    edited = {seen["original-edited"]["watched"], seen["fixed-edited"]["watched"]}
    assert len(edited) == 2 and unedited not in edited  # each variant's copy got its own marker


def test_naming_a_symbolic_link_to_touch_is_refused_with_exit_2(tmp_path: Path, engine, project):
    before = snapshot(project, tmp_path / "elsewhere")
    result = run_verify(engine, str(project / "Dockerfile"), "--touch", "app.py")
    assert result.returncode == 2
    assert "--touch app.py: a symbolic link" in json.loads(result.stdout)["error"]
    assert snapshot(project, tmp_path / "elsewhere") == before


def test_a_source_linked_to_dev_zero_is_never_read(tmp_path: Path, engine):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "Dockerfile").write_text(MERGEABLE)
    (folder.parent / ".dockerfix.toml").write_text(NAMED_MERGES)  # above the context: it is not sent
    (folder / "app.py").symlink_to("/dev/zero")
    result = run_verify(engine, str(folder / "Dockerfile"))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    report = json.loads(result.stdout)
    assert report["touched"] is None
    assert "no source file in the build context to edit: cache reuse not measured" in report["notes"]


def test_a_fifo_is_copied_as_a_fifo_as_buildkit_sends_it_and_never_opened(tmp_path: Path, engine):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "Dockerfile").write_text(MERGEABLE)
    (folder.parent / ".dockerfix.toml").write_text(NAMED_MERGES)  # above the context: it is not sent
    (folder / "main.py").write_text("print('hello')\n")
    os.mkfifo(folder / "pipe")
    result = run_verify(engine, str(folder / "Dockerfile"))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    copy = copied_context(folder, tmp_path / "copy", {})
    assert stat.S_ISFIFO(os.lstat(copy / "pipe").st_mode)


def test_a_socket_in_the_context_is_refused_naming_it_with_exit_2(tmp_path: Path, engine):
    folder = tmp_path / "project"
    (folder / "run").mkdir(parents=True)
    (folder / "Dockerfile").write_text(MERGEABLE)
    (folder.parent / ".dockerfix.toml").write_text(NAMED_MERGES)  # above the context: it is not sent
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(folder / "run" / "s.sock"))
        result = run_verify(engine, str(folder / "Dockerfile"))
    finally:
        listener.close()
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert "run/s.sock" in error and "a socket" in error
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_context_over_the_size_bound_is_refused_naming_the_file_with_exit_2(tmp_path: Path, engine):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "Dockerfile").write_text(MERGEABLE)
    (folder.parent / ".dockerfix.toml").write_text(NAMED_MERGES)  # above the context: it is not sent
    (folder / "main.py").write_text("print('hello')\n")
    (folder / "data.bin").write_bytes(b"\0" * 2_000_000)
    result = run_verify(engine, str(folder / "Dockerfile"), "--max-context-size", "1MB")
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert "data.bin" in error and "1,000,000 bytes" in error and "--max-context-size" in error
    assert list((tmp_path / "tmp").iterdir()) == []
    assert run_verify(engine, str(folder / "Dockerfile"), "--max-context-size", "3MB").returncode == 0


def test_the_copy_keeps_links_as_links_modes_and_bytes_and_is_bounded(tmp_path: Path, project):
    (project / "lib").mkdir(mode=0o750)
    (project / "lib" / "util.py").write_bytes(b"x = 1\n")
    (project / "lib" / "run").symlink_to("../main.py")
    (project / "lib" / "dangling").symlink_to("/nowhere/at/all")
    (project / "lib").chmod(0o750)
    copy = copied_context(project, tmp_path / "copy", {})
    relative = {Path(path).relative_to(project): value for path, value in snapshot(project).items()}
    assert {Path(path).relative_to(copy): value for path, value in snapshot(copy).items()} == relative
    bounded = tmp_path / "bounded"
    (bounded / "big").mkdir(parents=True)
    (bounded / "a.txt").write_bytes(b"0123456789")
    (bounded / "big" / "b.bin").write_bytes(b"x" * 30)
    with pytest.raises(ContextCopyError, match=r"^big/b\.bin: the build context holds more than 20 bytes"):
        copied_context(bounded, tmp_path / "small", {}, max_bytes=20)


def test_files_put_into_the_copy_never_go_through_a_link_out_of_it(tmp_path: Path, project):
    (project / "conf").symlink_to(tmp_path / "elsewhere")
    before = snapshot(tmp_path / "elsewhere")
    with pytest.raises(ContextCopyError, match="conf"):
        copied_context(project, tmp_path / "copy", {"conf/.dockerignore": "*.pyc\n"})
    copy = copied_context(project, tmp_path / "second", {"app.py": "print('replaced')\n"})
    assert (copy / "app.py").read_text() == "print('replaced')\n" and not (copy / "app.py").is_symlink()
    assert snapshot(tmp_path / "elsewhere") == before


def test_the_marker_edit_replaces_the_copy_s_file_and_leaves_a_linked_copy_alone(tmp_path: Path, project):
    original = copied_context(project, tmp_path / "original", {})
    fixed = copied_context(original, tmp_path / "fixed", {}, share_files=True)
    append_to_file(original, "main.py", b"# edited\n")
    assert (original / "main.py").read_bytes() == b"print('hello')\n# edited\n"
    assert stat.S_IMODE(os.lstat(original / "main.py").st_mode) == 0o444
    assert (fixed / "main.py").read_bytes() == (project / "main.py").read_bytes() == b"print('hello')\n"
    with pytest.raises(ContextCopyError, match="app.py: a symbolic link"):
        append_to_file(original, "app.py", b"# edited\n")
    assert (tmp_path / "elsewhere" / "real.py").read_text() == "print('outside the context')\n"


def test_a_dependency_rebuild_changes_the_manifest_in_its_copy_not_through_a_link(tmp_path: Path, engine, project):
    (project / "requirements.txt").symlink_to(tmp_path / "elsewhere" / "real.py")
    before = snapshot(project, tmp_path / "elsewhere")
    client = DockerClient(engine["DOCKERFIX_DOCKER"])
    os.environ["FAKE_DOCKER_LOG"] = engine["FAKE_DOCKER_LOG"]
    try:
        dependency_rebuild(client, project / "Dockerfile", project, "requirements.txt", "jq\n", lambda: 0)
    finally:
        del os.environ["FAKE_DOCKER_LOG"]
    assert snapshot(project, tmp_path / "elsewhere") == before
    assert all(not Path(build["context"]).is_relative_to(project) for build in builds(engine))


def test_the_bot_reports_a_context_it_cannot_copy_in_one_line(tmp_path: Path, engine):
    folder = tmp_path / "checkout"
    folder.mkdir()
    (folder / "Dockerfile").write_text(MERGEABLE)
    (folder.parent / ".dockerfix.toml").write_text(NAMED_MERGES)  # above the context: it is not sent
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(folder / "s.sock"))
        original = Original("Dockerfile", folder / "Dockerfile", MERGEABLE.encode(), Settings(extend_select=("DF101",)))
        body = measure([original], DockerClient(engine["DOCKERFIX_DOCKER"]))
    finally:
        listener.close()
    assert body.startswith("`Dockerfile`: not measured:") and "s.sock" in body and "a socket" in body


def test_what_the_ignore_file_keeps_out_of_every_build_is_neither_copied_nor_counted(tmp_path: Path, engine):
    folder = tmp_path / "project"
    (folder / "data" / "keep").mkdir(parents=True)
    (folder / "Dockerfile").write_text(MERGEABLE)
    (folder.parent / ".dockerfix.toml").write_text(NAMED_MERGES)  # above the context: it is not sent
    (folder / "main.py").write_text("print('hello')\n")
    (folder / ".dockerignore").write_text(".dockerignore\ndata\n!data/keep/wanted.txt\n*.log\n")
    (folder / "data" / "big.bin").write_bytes(b"\0" * 2_000_000)
    (folder / "data" / "keep" / "wanted.txt").write_text("wanted\n")
    (folder / "run.log").write_text("log\n")
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(folder / "data" / "s.sock"))
        result = run_verify(engine, str(folder / "Dockerfile"), "--max-context-size", "1MB")
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    sent = {build["tag"].rsplit(":", 1)[1]: build["entries"] for build in builds(engine)}
    assert (
        sent["original"]
        == sent["fixed"]
        == [".dockerignore", "Dockerfile", "data", "data/keep", "data/keep/wanted.txt", "main.py"]
    )


def test_a_file_only_the_fixed_ignore_file_leaves_out_is_still_in_the_copy(tmp_path: Path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / ".dockerignore").write_text("*.log\n")
    (folder / "run.log").write_text("log\n")
    (folder / "cache.pyc").write_bytes(b"\0")
    original = BuildContext.from_directory(folder)
    unsent = unsent_by(original, original.with_ignore("*.log\n*.pyc\n"))
    copy = copied_context(folder, tmp_path / "copy", {}, unsent=unsent)
    assert sorted(path.name for path in copy.iterdir()) == [".dockerignore", "cache.pyc"]
    broken = folder / "broken"
    broken.mkdir()
    (broken / ".dockerignore").write_text("[\n")  # Docker refuses it: the build fails, nothing is left out
    (broken / "a.txt").write_text("a\n")
    copy = copied_context(broken, tmp_path / "broken-copy", {}, unsent=unsent_by(BuildContext.from_directory(broken)))
    assert sorted(path.name for path in copy.iterdir()) == [".dockerignore", "a.txt"]


def test_the_bot_copies_what_the_original_build_is_sent_not_what_its_ignore_file_excludes(tmp_path: Path, engine):
    folder = tmp_path / "checkout"
    (folder / "tmp").mkdir(parents=True)
    (folder / "Dockerfile").write_text(MERGEABLE)
    (folder.parent / ".dockerfix.toml").write_text(NAMED_MERGES)  # above the context: it is not sent
    (folder / ".dockerignore").write_text("tmp\n*.pyc\n")  # as the fixes left it: *.pyc was added
    (folder / "cache.pyc").write_bytes(b"\0")
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(folder / "tmp" / "s.sock"))
        original = Original(
            "Dockerfile",
            folder / "Dockerfile",
            MERGEABLE.encode(),
            Settings(extend_select=("DF101",)),
            ((".dockerignore", "tmp\n"),),
        )
        os.environ["FAKE_DOCKER_LOG"] = engine["FAKE_DOCKER_LOG"]
        try:
            body = measure([original], DockerClient(engine["DOCKERFIX_DOCKER"]))
        finally:
            del os.environ["FAKE_DOCKER_LOG"]
    finally:
        listener.close()
    assert "not measured" not in body, body
    sent = {build["tag"].rsplit(":", 1)[1]: build["entries"] for build in builds(engine)}
    assert sent["original"] == [".dockerignore", "Dockerfile", "cache.pyc"]  # the original build is sent the .pyc
