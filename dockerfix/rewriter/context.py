"""The build context: the files ``docker build`` sends, after ``.dockerignore``.

Pattern semantics follow Docker's pattern matcher (moby/patternmatcher, used by BuildKit): patterns are cleaned
paths relative to the context root, ``*`` and ``?`` stay within one path segment, ``**`` spans segments, ``!``
re-includes, the last matching pattern wins, and a pattern that matches a folder excludes everything below it. A
``<Dockerfile name>.dockerignore`` next to the Dockerfile takes precedence over the root ``.dockerignore``.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable

SKIPPED_FOLDERS = frozenset({".git"})
MAX_FILES = 200_000


@dataclass(frozen=True)
class IgnorePattern:
    pattern: str
    exclusion: bool
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, line: str) -> "IgnorePattern | None":
        text = line.strip()
        if not text or text.startswith("#"):
            return None
        exclusion = text.startswith("!")
        if exclusion:
            text = text[1:].strip()
        text = posixpath.normpath(text) if text else text
        if len(text) > 1 and text.startswith("/"):
            text = text.lstrip("/")
        if text.startswith("./"):
            text = text[2:]
        return cls(text, exclusion, re.compile(_translate(text)))

    def matches(self, path: str) -> bool:
        """The path itself or one of its parent folders matches."""
        if self.regex.match(path):
            return True
        parts = path.split("/")
        return any(self.regex.match("/".join(parts[:index])) for index in range(1, len(parts)))


def _translate(pattern: str) -> str:
    """A Docker ignore pattern as an anchored regular expression."""
    regex = "^"
    index = 0
    length = len(pattern)
    while index < length:
        char = pattern[index]
        if char == "*":
            if index + 1 < length and pattern[index + 1] == "*":
                index += 1
                if index + 1 < length and pattern[index + 1] == "/":
                    index += 1
                    regex += "(.*/)?"
                else:
                    regex += ".*"
            else:
                regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "\\" and index + 1 < length:
            index += 1
            regex += re.escape(pattern[index])
        elif char == "[":
            closing = pattern.find("]", index + 1)
            if closing == -1:
                regex += re.escape(char)
            else:
                body = pattern[index + 1:closing]
                if body.startswith("^"):
                    body = "!" + body[1:]
                regex += "[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]"
                index = closing
        else:
            regex += re.escape(char)
        index += 1
    return regex + "$"


def parse_ignore(text: str) -> tuple[IgnorePattern, ...]:
    return tuple(pattern for line in text.splitlines() if (pattern := IgnorePattern.parse(line)) is not None)


def _normal(path: str) -> str:
    cleaned = posixpath.normpath("/" + path).lstrip("/")
    return "" if cleaned == "." else cleaned


class BuildContext:
    """What a rule may ask about the context: which files exist (and are not ignored), and their small texts."""

    def __init__(self, listed: Iterable[str] | None, patterns: tuple[IgnorePattern, ...] = (), root: Path | None = None) -> None:
        """``listed`` None means: walk ``root`` the first time a rule asks (most files never need it)."""
        self._given = None if listed is None else tuple(listed)
        self.patterns = patterns
        self.root = root

    @cached_property
    def _listed(self) -> tuple[str, ...]:
        paths = _walk(self.root) if self._given is None and self.root is not None else (self._given or ())
        return tuple(sorted({normal for path in paths if (normal := _normal(path))}))

    @classmethod
    def from_file_list(cls, paths: Iterable[str], ignore_text: str | None = None) -> "BuildContext":
        return cls(paths, parse_ignore(ignore_text or ""))

    @classmethod
    def from_directory(cls, root: Path, dockerfile: Path | None = None) -> "BuildContext":
        patterns: tuple[IgnorePattern, ...] = ()
        candidates = []
        if dockerfile is not None:
            candidates.append(dockerfile.with_name(dockerfile.name + ".dockerignore"))
        candidates.append(root / ".dockerignore")
        for candidate in candidates:
            try:
                patterns = parse_ignore(candidate.read_text(encoding="utf-8", errors="replace"))
                break
            except OSError:
                continue
        return cls(None, patterns, root)

    @property
    def has_contents(self) -> bool:
        """Whether file contents can be read (a folder on disk), not just names (a file list)."""
        return self.root is not None

    def is_ignored(self, path: str) -> bool:
        path = _normal(path)
        ignored = False
        for pattern in self.patterns:
            if pattern.matches(path):
                ignored = not pattern.exclusion
        return ignored

    @cached_property
    def _files(self) -> tuple[str, ...]:
        return tuple(path for path in self._listed if not self.is_ignored(path))

    @cached_property
    def _folders(self) -> frozenset[str]:
        folders = set()
        for path in self._files:
            parts = path.split("/")
            folders.update("/".join(parts[:index]) for index in range(1, len(parts)))
        return frozenset(folders)

    def files(self) -> tuple[str, ...]:
        return self._files

    def exists(self, path: str) -> bool:
        path = _normal(path)
        return path == "" or path in self._folders or (path in self._file_set and not self.is_ignored(path))

    @cached_property
    def _file_set(self) -> frozenset[str]:
        return frozenset(self._files)

    def glob(self, pattern: str) -> tuple[str, ...]:
        """Context paths (files and folders) matching a COPY source pattern, segment by segment."""
        pattern = _normal(pattern)
        segments = pattern.split("/")
        candidates = sorted(self._file_set | self._folders)
        return tuple(
            path for path in candidates
            if len(path.split("/")) == len(segments)
            and all(fnmatch.fnmatchcase(part, glob) for part, glob in zip(path.split("/"), segments))
        )

    def read_bytes(self, path: str, limit: int) -> bytes | None:
        """Up to ``limit + 1`` bytes of a context file; None when absent, ignored, a folder or unreadable."""
        if self.root is None or _normal(path) not in self._file_set:
            return None
        try:
            with open(self.root / _normal(path), "rb") as handle:
                return handle.read(limit + 1)
        except OSError:
            return None

    def read_text(self, path: str, limit: int = 1_000_000) -> str | None:
        data = self.read_bytes(path, limit)
        if data is None or len(data) > limit or b"\x00" in data:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None


def _walk(root: Path) -> list[str]:
    """Relative paths of the files under ``root``, without following symbolic links out of it."""
    found: list[str] = []
    for folder, subfolders, files in os.walk(root, onerror=lambda error: None):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_FOLDERS and not os.path.islink(os.path.join(folder, name))]
        relative = os.path.relpath(folder, root)
        for name in files:
            found.append(name if relative == "." else f"{relative}/{name}".replace(os.sep, "/"))
            if len(found) >= MAX_FILES:
                return found
    return found
