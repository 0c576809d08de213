"""What rules produce: findings, each with an optional fix made of text edits and an applicability."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import pairwise


class Applicability(enum.IntEnum):
    """How sure a fix is, ordered so that ``>=`` selects "at least this sure"."""

    DISPLAY_ONLY = 0
    UNSAFE = 1
    SAFE = 2

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True, order=True)
class Edit:
    """Replace ``text[start:end]`` with ``content`` (offsets into the document text the rule saw)."""

    start: int
    end: int
    content: str

    @classmethod
    def insert(cls, offset: int, content: str) -> Edit:
        return cls(offset, offset, content)

    @classmethod
    def delete(cls, start: int, end: int) -> Edit:
        return cls(start, end, "")


@dataclass(frozen=True)
class ContentChange:
    """What a fix knowingly changes in the image it builds (its title says it in words), so `dockerfix verify` can
    tell it from a mistake: absolute paths it may remove, paths whose content it may alter (package manager
    records, for instance; a path that appears counts as altered), and the names of image config ENV variables it
    may set, change or drop. A folder stands for everything below it; ``*`` matches within one path component or
    name."""

    removes: tuple[str, ...] = ()
    alters: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileEdit:
    """A fix's change to a file beside the Dockerfile (``.dockerignore``, for instance): ``path`` is relative to the
    build context, ``original`` the text the rule read (None: the file does not exist and is created) and ``content``
    the whole new text. Carrying ``original`` lets a writer refuse when the file changed since the rule read it."""

    path: str
    original: str | None
    content: str

    def __post_init__(self) -> None:
        parts = self.path.split("/")
        if not self.path or self.path.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"a file edit's path must be a plain path inside the build context, not {self.path!r}")


@dataclass(frozen=True)
class Fix:
    """Text edits of the Dockerfile and, optionally, ``files``: whole new texts of other files of the build context."""

    title: str
    edits: tuple[Edit, ...]
    applicability: Applicability
    changes: ContentChange | None = None
    files: tuple[FileEdit, ...] = ()

    def __post_init__(self) -> None:
        if len({file.path for file in self.files}) != len(self.files):
            raise ValueError(f"fix {self.title!r} edits one file twice")
        ordered = tuple(sorted(self.edits))
        for before, after in pairwise(ordered):
            if after.start < before.end:
                raise ValueError(f"fix {self.title!r} has overlapping edits")
        object.__setattr__(self, "edits", ordered)

    @property
    def start(self) -> int:
        """Where its first edit starts (0 for a fix that only changes other files)."""
        return self.edits[0].start if self.edits else 0

    @property
    def end(self) -> int:
        return max((edit.end for edit in self.edits), default=0)

    def display_only(self) -> Fix:
        """This fix as a suggestion only (for a caller that cannot write its other files)."""
        return replace(self, applicability=Applicability.DISPLAY_ONLY)


@dataclass(frozen=True)
class Savings:
    """What applying the fix is estimated to save; ``None`` where the rule cannot tell. ``rebuilt_steps_before``
    and ``rebuilt_steps_after`` are the build steps a source edit re-runs without and with the fix; their difference
    is ``rebuilt_steps_after_source_edit``."""

    layers: int | None = None
    bytes: int | None = None
    rebuilt_steps_after_source_edit: int | None = None
    rebuilt_steps_before: int | None = None
    rebuilt_steps_after: int | None = None

    @classmethod
    def rebuilt_steps(cls, before: int, after: int) -> Savings:
        return cls(
            rebuilt_steps_after_source_edit=before - after, rebuilt_steps_before=before, rebuilt_steps_after=after
        )


@dataclass(frozen=True)
class Finding:
    """One thing a rule reports, over ``text[start:end]`` of the document it saw."""

    code: str
    name: str
    message: str
    start: int
    end: int
    fix: Fix | None = None
    savings: Savings | None = field(default=None)

    @property
    def required_fix(self) -> Fix:
        """``fix`` where the caller has kept only findings that have one (the fix loop); raises ValueError otherwise."""
        if self.fix is None:
            raise ValueError(f"{self.code} at offset {self.start}: the finding has no fix")
        return self.fix


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits (any order) to ``text``."""
    pieces = []
    cursor = 0
    for edit in sorted(edits):
        if edit.start < cursor:
            raise ValueError("overlapping edits")
        pieces.append(text[cursor : edit.start])
        pieces.append(edit.content)
        cursor = edit.end
    pieces.append(text[cursor:])
    return "".join(pieces)
