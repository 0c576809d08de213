"""verify's own copy of a build context: the only folder verify builds from and the only one it writes in.

The copy holds what BuildKit would be sent, entry by entry, and what the ignore file keeps out of every build
the copy serves is left out of it (Docker applies the ignore file again when it sends the copy): the client's walk
(``tonistiigi/fsutil``: ``mkstat`` on an ``lstat``) sends a symbolic link as its link text, never what it points to,
and a FIFO as its status alone (only regular files have content), so folders and regular files are copied, links are
copied as links and FIFOs are made anew, never opened. A device or a socket is refused: making one needs privileges
or means nothing, and it is no source a build should be measured with. The copy is bounded in bytes and entries; past
either it stops with an error naming the file.

Writing into a copy (the files the fixes change, verify's edit marker, a changed manifest) replaces the entry by a
new file: never through a link, never into a folder reached through one, never into a file another copy shares.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

from dockerfix.rewriter.context import MAX_ENTRIES, BuildContext
from dockerfix.rewriter.files import FileError, kind_of, read_regular

DEFAULT_MAX_BYTES = 1_000_000_000
_CHUNK = 1 << 20
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_FOLDER_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
ROOT_IGNORE_FILE = ".dockerignore"

# (path relative to the context, whether it is a folder) -> whether no build from the copy is sent it
Unsent = Callable[[str, bool], bool]


class ContextCopyError(Exception):
    """The build context cannot be copied, or a write into the copy would leave it; the message names the file."""


class ContextTooLarge(ContextCopyError):
    """The context holds more bytes or entries than the bound."""


class _Budget:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries = 0

    def take_entry(self, relative: str) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise ContextTooLarge(f"{relative}: the build context holds more than {MAX_ENTRIES:,} files and folders")

    def take_bytes(self, relative: str, count: int) -> None:
        self.bytes += count
        if self.bytes > self.max_bytes:
            raise ContextTooLarge(f"{relative}: the build context holds more than {self.max_bytes:,} bytes")


def unsent_by(*contexts: BuildContext) -> Unsent:
    """What no build from one of ``contexts`` (the same folder under each build's ignore file) is sent: a folder
    BuildKit's walk does not enter, a file the ignore rules exclude. The ignore files themselves stay (the client
    reads them from the copy, even one that excludes itself); with an ignore file Docker refuses, nothing is left out,
    so the build fails as it would."""
    if any(context.error for context in contexts):
        return lambda relative, is_folder: False
    kept = {ROOT_IGNORE_FILE, *(context.ignore_file for context in contexts)}

    def unsent(relative: str, is_folder: bool) -> bool:
        if relative in kept:
            return False
        if is_folder:
            return not any(context.enters(relative) for context in contexts)
        return all(context.is_ignored(relative) for context in contexts)

    return unsent


def unsent_under(folder: Path, files: Mapping[str, str | None]) -> Unsent:
    """What no build of ``folder`` is sent, under its root ignore file as it is and, when ``files`` (what a copy puts
    in) replaces that file, under the replacement too."""
    current = BuildContext.from_directory(folder)
    if ROOT_IGNORE_FILE not in files:
        return unsent_by(current)
    return unsent_by(current, current.with_ignore(files[ROOT_IGNORE_FILE] or ""))


def copied_context(
    source: Path,
    folder: Path,
    files: Mapping[str, str | None],
    max_bytes: int = DEFAULT_MAX_BYTES,
    share_files: bool = False,
    unsent: Unsent | None = None,
) -> Path:
    """A copy of the build context ``source`` at ``folder`` (which must not exist), without what ``unsent`` says no
    build is sent, with ``files`` (relative path: text, or None to remove it) put in place of what the copy holds.
    ``share_files`` hard-links the regular files instead of copying them: only for a ``source`` that is itself one
    of verify's copies, as every write here replaces a file."""
    budget = _Budget(max_bytes)
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.mkdir(folder, 0o700)
    descriptor = _open_folder(os.path.realpath(source), None, ".")  # the folder named, even through a link
    try:
        settled = _copy_folder(descriptor, folder, budget, share_files, unsent or (lambda relative, is_folder: False))
        _settle(folder, os.fstat(descriptor))
    finally:
        os.close(descriptor)
    for path, info in reversed(settled):
        _settle(path, info)
    for relative, text in files.items():
        put_file(folder, relative, None if text is None else text.encode("utf-8"))
    return folder


def _open_folder(name: str | Path, parent: int | None, relative: str) -> int:
    try:
        return os.open(name, _FOLDER_FLAGS, dir_fd=parent)
    except OSError as error:
        raise ContextCopyError(f"{relative}: cannot read the folder: {error.strerror}") from None


def _copy_folder(
    descriptor: int,
    destination: Path,
    budget: _Budget,
    share_files: bool,
    unsent: Unsent,
) -> list[tuple[Path, os.stat_result]]:
    """Copy the folder open as ``descriptor`` into ``destination``, depth first without recursion (the depth is the
    user's; only the folders on the current path are open); return the folders made, parents first, whose mode and
    times are set once their content is in."""
    made: list[tuple[Path, os.stat_result]] = []
    walking = [(descriptor, os.scandir(descriptor), destination, "")]
    try:
        while walking:
            current, entries, target, location = walking[-1]
            entry = next(entries, None)
            if entry is None:
                entries.close()
                if current != descriptor:
                    os.close(current)
                walking.pop()
                continue
            relative = f"{location}{entry.name}"
            info = entry.stat(follow_symlinks=False)
            if unsent(relative, stat.S_ISDIR(info.st_mode)):
                continue
            budget.take_entry(relative)
            copy = target / entry.name
            if stat.S_ISDIR(info.st_mode):
                os.mkdir(copy, 0o700)
                made.append((copy, info))
                child = _open_folder(entry.name, current, relative)
                walking.append((child, os.scandir(child), copy, relative + "/"))
            elif stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(entry.name, dir_fd=current), copy)
            elif stat.S_ISFIFO(info.st_mode):
                os.mkfifo(copy, 0o600)
                _settle(copy, info)
            elif stat.S_ISREG(info.st_mode):
                _copy_file(entry.name, current, copy, relative, budget, share_files)
            else:
                raise ContextCopyError(
                    f"{relative}: {kind_of(info.st_mode)}: verify copies what the build context sends and cannot "
                    "copy it; exclude it in .dockerignore or move it out of the folder"
                )
    finally:
        for current, entries, _, _ in walking:
            entries.close()
            if current != descriptor:
                os.close(current)
    return made


def _copy_file(name: str, folder: int, copy: Path, relative: str, budget: _Budget, share_files: bool) -> None:
    try:
        source = os.open(name, _READ_FLAGS, dir_fd=folder)
    except OSError as error:
        raise ContextCopyError(f"{relative}: cannot read: {error.strerror}") from None
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode):  # replaced since the folder was listed
            raise ContextCopyError(f"{relative}: {kind_of(info.st_mode)}, changed while it was copied")
        budget.take_bytes(relative, 0 if share_files else info.st_size)
        if share_files:
            os.link(name, copy, src_dir_fd=folder, follow_symlinks=False)
            return
        target = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            copied = 0
            while chunk := os.read(source, _CHUNK):
                copied += len(chunk)
                budget.take_bytes(relative, max(0, copied - info.st_size))  # a file that grows while it is read
                os.write(target, chunk)
            os.fchmod(target, stat.S_IMODE(info.st_mode))
        finally:
            os.close(target)
    finally:
        os.close(source)
    os.utime(copy, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)


def _settle(path: Path, info: os.stat_result) -> None:
    """Give a folder or FIFO of the copy the mode and times of the original (times are part of what COPY keeps)."""
    os.chmod(path, stat.S_IMODE(info.st_mode))  # a folder or FIFO verify made, never a link
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)


def _inside(folder: Path, relative: str) -> Path:
    """``relative`` below ``folder``, every folder on the way a real folder of the copy (made when missing): a path
    that climbs out or passes through a symbolic link is refused, so a write lands in the copy and nowhere else."""
    path = PurePosixPath(relative)
    if path.is_absolute() or not path.parts or ".." in path.parts:
        raise ContextCopyError(f"{relative}: not a path inside the build context")
    current = folder
    for part in path.parts[:-1]:
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current)
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise ContextCopyError(f"{relative}: {current.relative_to(folder)} is not a folder of the build context")
    return current / path.name


def put_file(folder: Path, relative: str, data: bytes | None, mode: int = 0o644) -> None:
    """Make ``relative`` in the copy ``folder`` a new regular file holding ``data`` (None: remove what is there). What
    was there, a link or a file shared with another copy, is replaced, never written into."""
    target = _inside(folder, relative)
    if data is None:
        target.unlink(missing_ok=True)  # a link goes, not what it points to
        return
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".dockerfix-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            os.fchmod(handle.fileno(), mode)
        os.replace(temporary, target)
    except OSError as error:
        os.unlink(temporary)
        raise ContextCopyError(
            f"{relative}: cannot write into the copy of the build context: {error.strerror}"
        ) from None


def append_to_file(folder: Path, relative: str, addition: bytes) -> None:
    """Add ``addition`` at the end of the regular file ``relative`` of the copy ``folder``, keeping its mode."""
    target = _inside(folder, relative)
    try:
        info = os.lstat(target)
    except OSError as error:
        raise ContextCopyError(f"{relative}: {error.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise ContextCopyError(f"{relative}: a symbolic link; only a regular file of the build context is edited")
    try:
        content = read_regular(target, follow_symlinks=False).data  # the copy's size is bounded already
    except FileError as error:
        raise ContextCopyError(f"{relative}: {error}") from None
    put_file(folder, relative, content + addition, stat.S_IMODE(info.st_mode))
