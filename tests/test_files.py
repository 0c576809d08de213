"""Hostile and unlucky files for the command line: what is read, what `--write` replaces, and what it refuses
(issue 15 items 4, 11-14; README's promises about files). Real files, real subprocesses."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from test_cli import CLEAN, MERGEABLE, MERGED, MERGES, dockerfix, write

from dockerfix.rewriter.files import FileError, read_regular, replace_file

OTHER_USER, OTHER_GROUP = 12345, 12346


def test_a_fifo_named_dockerfile_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "Dockerfile")
    given = dockerfix(*MERGES, "Dockerfile", cwd=tmp_path)
    assert given.returncode == 2 and "Dockerfile:1:1: is a FIFO, not a regular file" in given.stderr.decode()
    write(tmp_path / "svc/Dockerfile", MERGEABLE)
    found = dockerfix(*MERGES, "--write", ".", cwd=tmp_path)
    assert found.returncode == 2 and "Dockerfile:1:1: is a FIFO" in found.stderr.decode()
    assert (tmp_path / "svc/Dockerfile").read_text() == MERGED  # the other files are still fixed


def test_a_fifo_as_ignore_file_does_not_block(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    os.mkfifo(tmp_path / ".dockerignore")
    os.mkfifo(tmp_path / "Dockerfile.dockerignore")
    result = dockerfix(*MERGES, "--write", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "Dockerfile").read_text() == MERGED


def test_devices_are_refused(tmp_path):
    result = dockerfix(*MERGES, "/dev/zero", "/dev/null", cwd=tmp_path)
    assert result.returncode == 2
    assert "/dev/zero:1:1: is a character device" in result.stderr.decode()
    assert "/dev/null:1:1: is a character device" in result.stderr.decode()


def test_reading_goes_on_to_the_end_whatever_size_the_status_gave(tmp_path):
    """The status's size is only where reading starts: procfs files say 0 bytes and hold more, a file can grow."""
    assert os.stat("/proc/self/status").st_size == 0
    status = read_regular("/proc/self/status").data
    assert status.startswith(b"Name:") and status.endswith(b"\n") and b"\nPid:" in status
    big = write(tmp_path / "big", "x" * 200_000)
    assert read_regular(big).data == read_regular(big, limit=200_000).data == b"x" * 200_000
    with pytest.raises(FileError, match="is larger than 199,999 bytes"):
        read_regular(big, limit=199_999)


def test_write_through_a_symbolic_link_rewrites_its_target(tmp_path):
    target = write(tmp_path / "docker/real.Dockerfile", MERGEABLE)
    link = tmp_path / "Dockerfile"
    link.symlink_to("docker/real.Dockerfile")
    result = dockerfix(*MERGES, "--write", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "docker/real.Dockerfile"
    assert target.read_text() == MERGED
    assert sorted(path.name for path in (tmp_path / "docker").iterdir()) == ["real.Dockerfile"]


def test_a_read_only_file_is_refused(tmp_path):
    target = write(tmp_path / "Dockerfile", MERGEABLE)
    target.chmod(0o444)
    result = dockerfix(*MERGES, "--write", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 2
    assert "Dockerfile:1:1: is read-only (mode 0444): not rewritten" in result.stderr.decode()
    assert target.read_text() == MERGEABLE and stat.S_IMODE(target.stat().st_mode) == 0o444
    assert [path.name for path in tmp_path.iterdir()] == ["Dockerfile"]


def test_a_hard_linked_file_is_refused(tmp_path):
    target = write(tmp_path / "Dockerfile", MERGEABLE)
    os.link(target, tmp_path / "copy")
    result = dockerfix(*MERGES, "--write", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 2 and "Dockerfile:1:1: has 2 hard links" in result.stderr.decode()
    assert target.read_text() == (tmp_path / "copy").read_text() == MERGEABLE
    assert target.stat().st_ino == (tmp_path / "copy").stat().st_ino


def test_a_file_edited_after_it_was_read_is_not_replaced(tmp_path):
    target = write(tmp_path / "Dockerfile", MERGEABLE)
    snapshot = read_regular(target)
    edited = MERGEABLE + "USER nobody\n"
    target.write_text(edited)
    with pytest.raises(FileError, match="changed on disk while dockerfix ran"):
        replace_file(target, MERGED.encode(), snapshot)
    assert target.read_text() == edited
    assert [path.name for path in tmp_path.iterdir()] == ["Dockerfile"]
    same_size = MERGEABLE.replace("755", "700")  # same size: only the bytes tell
    target.write_text(same_size)
    os.utime(target, ns=(snapshot.info.st_atime_ns, snapshot.info.st_mtime_ns))
    with pytest.raises(FileError, match="changed on disk"):
        replace_file(target, MERGED.encode(), snapshot)
    assert target.read_text() == same_size


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_owner_and_group_are_kept_when_root_rewrites_another_users_file(tmp_path):
    target = write(tmp_path / "Dockerfile", MERGEABLE)
    os.chown(target, OTHER_USER, OTHER_GROUP)
    target.chmod(0o664)
    result = dockerfix(*MERGES, "--write", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    info = target.stat()
    assert target.read_text() == MERGED
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (OTHER_USER, OTHER_GROUP, 0o664)


@pytest.mark.skipif(os.geteuid() != 0, reason="running as another user needs root")
def test_a_user_who_cannot_keep_the_owner_leaves_the_file_alone():
    """A group-writable file in a shared folder: the rename would succeed and make the writer its owner."""
    folder = Path(tempfile.mkdtemp())
    try:
        folder.chmod(0o1777)
        target = write(folder / "Dockerfile", MERGEABLE)
        os.chown(target, OTHER_USER, OTHER_GROUP)
        target.chmod(0o666)
        result = dockerfix_as(OTHER_USER + 1, *MERGES, "--write", "Dockerfile", cwd=folder)
        assert result.returncode == 2
        assert f"Dockerfile:1:1: belongs to uid {OTHER_USER} gid {OTHER_GROUP}" in result.stderr.decode()
        assert "would change its owner: not rewritten" in result.stderr.decode()
        assert target.read_text() == MERGEABLE and target.stat().st_uid == OTHER_USER
        assert [path.name for path in folder.iterdir()] == ["Dockerfile"]
    finally:
        shutil.rmtree(folder)


def dockerfix_as(user: int, *arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    """The command line run by ``user``. The interpreter's own files may be readable by root only (a per-user Python
    install), so the child loads dockerfix and its rules as root and then gives up root before running."""
    program = (
        "import locale, os, sys\n"  # argparse's gettext imports locale on first use
        "import dockerfix.cli\n"  # the command loads the check on demand: here, while the child is root
        "from dockerfix.command import main\n"
        "from dockerfix.rewriter.registry import all_rules\n"
        "all_rules()\n"
        f"os.setgroups([]); os.setgid({user}); os.setuid({user})\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run([sys.executable, "-c", program, *arguments], cwd=cwd, capture_output=True, timeout=120)


def test_line_endings_bom_and_untouched_text_are_kept(tmp_path):
    """Everything a fix does not change stays byte for byte: CRLF, a BOM, trailing blanks, no final newline."""
    original = (
        "\ufeffFROM debian:bookworm  \r\n# keep  me\r\nRUN curl -fsSLo /app https://example.invalid/app\r\n"
        'RUN chmod 755 /app\r\nCMD ["sh"]'
    )
    target = write(tmp_path / "Dockerfile", original.encode())
    assert dockerfix("--write", "Dockerfile", cwd=tmp_path).returncode == 0
    expected = (
        "\ufeffFROM debian:bookworm  \r\n# keep  me\r\nRUN curl -fsSLo /app https://example.invalid/app \\\r\n"
        '    && chmod 755 /app\r\nCMD ["sh"]'
    )
    assert target.read_bytes() == expected.encode()


def test_files_without_fixes_or_with_errors_are_never_written(tmp_path):
    clean = write(tmp_path / "Dockerfile", CLEAN)
    broken = write(tmp_path / "broken.Dockerfile", "FROM a\nRUN <<EOF\nmkdir x\n")
    before = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in (clean, broken)}
    assert dockerfix(*MERGES, "--write", ".", cwd=tmp_path).returncode == 2
    assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in (clean, broken)} == before


def test_the_bot_reads_a_hostile_repository_without_hanging(tmp_path):
    """Issue 15 items 5 and 17 through the bot: an ignore file linked to /dev/zero (it ate memory until the bot died
    with an empty message) and a requirements file including itself from above (it looped forever)."""
    repository = tmp_path / "repository"
    write(
        repository / "Dockerfile",
        "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n" + MERGEABLE.split("\n", 1)[1],
    )
    write(repository / "requirements.txt", "-r ../requirements.txt\nflask\n")
    (repository / ".dockerignore").symlink_to("/dev/zero")
    git = ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for arguments in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "start"]):
        subprocess.run([*git, *arguments], check=True, capture_output=True)
    result = dockerfix("bot", "--path", "repository", "--select", "DF101", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "curl -fsSLo /app https://example.invalid/app \\" in result.stdout.decode()
        and "&& chmod 755 /app" in result.stdout.decode()
    )
