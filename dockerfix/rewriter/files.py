"""Reading and replacing the user's files without surprises.

Reading takes regular files only, checked on the opened descriptor (a FIFO, a device or a socket named
``Dockerfile`` would block or never end), optionally bounded in size. Replacing goes through a temporary file in the
same folder and a rename, and refuses what a rename would silently get wrong: a read-only file, a file edited since
it was read, a file whose owner the rename would change, a file with other hard links. A symbolic link is kept and its
target rewritten.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from msgspec import Struct

_GROWTH_CHUNK = 1 << 16
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class FileError(Exception):
    """A file that cannot be read or replaced; the message says why (the caller adds where)."""


class FileTooLarge(FileError):
    """A file above the size limit it was read with."""


class Snapshot(Struct, frozen=True):
    """A file's bytes and what its status said when they were read, to notice a later change."""

    data: bytes
    info: os.stat_result

    def still_current(self, path: Path) -> bool:
        """Whether ``path`` still holds exactly what was read (same file, size, modification time and bytes)."""
        try:
            now = read_regular(path)
        except FileError:
            return False
        before, after = self.info, now.info
        same_file = (before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns) == (
            after.st_dev,
            after.st_ino,
            after.st_size,
            after.st_mtime_ns,
        )
        return same_file and now.data == self.data


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):  # nearly every file read: no other kind to test
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular(path: Path | str, limit: int | None = None, follow_symlinks: bool = True) -> Snapshot:
    """The bytes of a regular file, read without ever blocking: the file is opened non-blocking and checked on its
    descriptor, so a FIFO swapped in after a check cannot stall the read. More than ``limit`` bytes is an error."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise FileError(f"cannot read: {describe(error)}") from None
    info = os.fstat(descriptor)
    kind = kind_of(info.st_mode)
    if kind is not None:
        os.close(descriptor)
        raise FileError(f"is {kind}, not a regular file")
    try:
        data = _read_to_end(descriptor, info.st_size, limit)
    except OSError as error:
        raise FileError(f"cannot read: {describe(error)}") from None
    finally:
        os.close(descriptor)
    if limit is not None and len(data) > limit:
        raise FileTooLarge(f"is larger than {limit:,} bytes")
    return Snapshot(data, info)


def _read_to_end(descriptor: int, size: int, limit: int | None) -> bytes:
    """The bytes up to the end of the file, or its first ``limit + 1``: read straight from the descriptor, as a
    buffered file object would read them, without building one per file. ``size`` (from the status) is only the first
    request: a file that grew since is read on to its end."""
    most = sys.maxsize if limit is None else limit + 1
    chunks = []
    total = 0
    request = size + 1  # a byte more than the status said: one read usually takes it all
    while total < most:
        chunk = os.read(descriptor, min(request, most - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        request = max(total, _GROWTH_CHUNK)  # as much again: a few reads even for a file that grew a lot
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def describe(error: OSError) -> str:
    """Never empty: a message the user can act on even when the error carries no text."""
    return error.strerror or str(error) or type(error).__name__


def _write_protected(info: os.stat_result) -> bool:
    """Whether the mode bits deny writing to this process. Root passes every access check, so for root (and the
    owner) the owner's bit decides: a 0444 file is read-only for everyone, as `rm` and editors treat it."""
    user = os.geteuid()
    if user == 0 or user == info.st_uid:
        bit = stat.S_IWUSR
    elif info.st_gid in (os.getegid(), *os.getgroups()):
        bit = stat.S_IWGRP
    else:
        bit = stat.S_IWOTH
    return not info.st_mode & bit


def replace_file(path: Path, data: bytes, snapshot: Snapshot) -> None:
    """Replace the file ``snapshot`` was read from by ``data``, atomically, keeping mode, owner and group.

    Through a symbolic link the target is replaced and the link kept. Refused (``FileError``, nothing changed): a
    read-only file, a hard-linked file, a file changed since ``snapshot``, and a file whose owner or group the process
    cannot keep.
    """
    target = Path(os.path.realpath(path))
    info = snapshot.info
    if _write_protected(info):
        raise FileError(f"is read-only (mode {stat.S_IMODE(info.st_mode):04o}): not rewritten")
    if info.st_nlink > 1:  # a rename would give this name new text and leave the other names the old one
        raise FileError(f"has {info.st_nlink} hard links; replacing it would separate them: not rewritten")

    def keep_owner_and_mode(descriptor: int) -> None:
        _keep_owner(descriptor, info)
        os.fchmod(descriptor, stat.S_IMODE(info.st_mode))

    temporary = _written_beside(target, data, keep_owner_and_mode)
    try:
        if not snapshot.still_current(target):
            raise FileError("changed on disk while dockerfix ran: not rewritten (run dockerfix again)")
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def _written_beside(target: Path, data: bytes, settle: Callable[[int], None]) -> str:
    """The name of a new file beside ``target`` (same file system: it can be renamed or linked into place) holding
    ``data``, flushed to disk, its mode and owner set by ``settle``; removed again when any of it fails."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".dockerfix", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            settle(handle.fileno())
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def _keep_owner(descriptor: int, info: os.stat_result) -> None:
    """Give the new file the old one's owner and group; when the process may not and they would change, refuse
    rather than hand someone else's file to this user."""
    try:
        os.fchown(descriptor, info.st_uid, info.st_gid)
    except PermissionError:
        now = os.fstat(descriptor)
        if (now.st_uid, now.st_gid) != (info.st_uid, info.st_gid):
            raise FileError(
                f"belongs to uid {info.st_uid} gid {info.st_gid}; rewriting it as uid {now.st_uid} gid {now.st_gid} "
                "would change its owner: not rewritten"
            ) from None


class ContextFileError(Exception):
    """A file of the build context that a fix may not write; the message names it and says why."""


def write_in_context(root: Path, relative: str, original: str | None, content: str) -> None:
    """Create (``original`` None) or replace the file at ``relative`` below ``root`` with ``content``, atomically.

    Never through a symbolic link (neither the file nor a folder on the way: the write would land outside the
    context) and never over a file that changed since the fix read it (or that appeared, when it is created). A file
    that already holds exactly ``content`` is left as it is, a success: Dockerfiles sharing a build context propose
    the same ignore file, and the first of them to be written has done the work of all.
    """
    target = Path(root, *relative.split("/"))
    for folder in [Path(root, *relative.split("/")[:depth]) for depth in range(1, relative.count("/") + 1)]:
        try:
            mode = os.lstat(folder).st_mode
        except OSError as error:
            raise ContextFileError(f"{target}:1:1: cannot write: {describe(error)}") from None
        if not stat.S_ISDIR(mode):
            raise ContextFileError(
                f"{target}:1:1: {folder} is not a folder of the build context (a symbolic link?): not written"
            )
    data = content.encode("utf-8", "surrogateescape")
    try:
        if original is None:
            try:
                _create(target, data)
            except FileExistsError:
                if not _holds(target, data):
                    raise ContextFileError(
                        f"{target}:1:1: appeared on disk while dockerfix ran: not written (run dockerfix again)"
                    ) from None
            return
        if stat.S_ISLNK(os.lstat(target).st_mode):
            raise ContextFileError(f"{target}:1:1: is a symbolic link: not written")
        snapshot = read_regular(target, follow_symlinks=False)
        if snapshot.data == data:
            return
        if snapshot.data.decode("utf-8", "surrogateescape") != original:
            raise ContextFileError(
                f"{target}:1:1: changed on disk while dockerfix ran: not rewritten (run dockerfix again)"
            )
        replace_file(target, data, snapshot)
    except FileError as error:
        raise ContextFileError(f"{target}:1:1: {error}") from None
    except OSError as error:
        raise ContextFileError(f"{target}:1:1: cannot write: {describe(error)}") from None


def _create(target: Path, data: bytes) -> None:
    """A new file, whole or not at all: written beside, then linked into place (a link never replaces a name that
    appeared meanwhile, a rename would: then ``FileExistsError``)."""
    umask = os.umask(0)
    os.umask(umask)
    temporary = _written_beside(target, data, lambda descriptor: os.fchmod(descriptor, 0o666 & ~umask))
    try:
        os.link(temporary, target)
    finally:
        os.unlink(temporary)


def _holds(target: Path, data: bytes) -> bool:
    """Whether ``target`` is a regular file (not a symbolic link) holding exactly ``data``."""
    try:
        return read_regular(target, limit=len(data), follow_symlinks=False).data == data
    except FileError:
        return False
