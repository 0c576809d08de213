"""What rules produce: findings, each with an optional fix made of text edits and an applicability."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

from msgspec import Struct, field
from msgspec.structs import force_setattr, replace


class Applicability(enum.IntEnum):
    """How sure a fix is, ordered so that ``>=`` selects "at least this sure"."""

    DISPLAY_ONLY = 0
    UNSAFE = 1
    SAFE = 2

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class Edit(Struct, frozen=True, order=True):
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


class ContentChange(Struct, frozen=True):
    """What a fix knowingly changes in the image it builds (its title says it in words), so `dockerfix verify` can
    tell it from a mistake: absolute paths it may remove, paths whose content it may alter (package manager
    records, for instance; a path that appears counts as altered), and the names of image config ENV variables it
    may set, change or drop. A folder stands for everything below it; ``*`` matches within one path component or
    name."""

    removes: tuple[str, ...] = ()
    alters: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()


class FileEdit(Struct, frozen=True):
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


class Fix(Struct, frozen=True):
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
        force_setattr(self, "edits", ordered)

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


class ByteGain(Struct, frozen=True):
    """Bytes a change removes from the shipped image, and the data the number rests on (which data, which release,
    measured when). ``at_least``: a lower bound (the data covers only part of what the change concerns)."""

    bytes: int
    basis: str
    at_least: bool = False

    def describe(self) -> str:
        amount = f"{self.bytes / 1_000_000:,.1f} MB" if self.bytes >= 100_000 else f"{self.bytes:,} bytes"
        return f"{'at least ' if self.at_least else ''}{amount} ({self.basis})"


class Unknown(Struct, frozen=True):
    """The data does not reach: why. Never zero, never a guess."""

    reason: str

    def describe(self) -> str:
        return f"unknown ({self.reason})"


Gain = ByteGain | Unknown


class Savings(Struct, frozen=True):
    """The claim a finding makes, as numbers: what applying its fix saves; ``None`` where it claims nothing of
    that kind. ``bytes`` leave the shipped image, on the data ``bytes_basis`` names (a lower bound when
    ``bytes_at_least``); ``bytes_unknown`` says why a byte claim cannot be stated. ``rebuilt_steps_before`` and
    ``rebuilt_steps_after`` are the build steps a source edit re-runs without and with the fix; their difference is
    ``rebuilt_steps_after_source_edit``. ``cache_correctness`` says what a stale build cache breaks that the fix
    prevents."""

    layers: int | None = None
    bytes: int | None = None
    rebuilt_steps_after_source_edit: int | None = None
    rebuilt_steps_before: int | None = None
    rebuilt_steps_after: int | None = None
    bytes_basis: str | None = None
    bytes_at_least: bool = False
    bytes_unknown: str | None = None
    cache_correctness: str | None = None

    @classmethod
    def rebuilt_steps(cls, before: int, after: int) -> Savings:
        return cls(
            rebuilt_steps_after_source_edit=before - after, rebuilt_steps_before=before, rebuilt_steps_after=after
        )

    @classmethod
    def of(cls, gain: Gain, **others: Any) -> Savings:
        """A byte claim from a ``ByteGain`` or an ``Unknown``, with the other kinds of saving given by name."""
        if isinstance(gain, Unknown):
            return cls(bytes_unknown=gain.reason, **others)
        return cls(bytes=gain.bytes, bytes_basis=gain.basis, bytes_at_least=gain.at_least, **others)

    @property
    def saves_rebuild_steps(self) -> bool:
        return bool(self.rebuilt_steps_after_source_edit and self.rebuilt_steps_after_source_edit > 0)

    def describe(self) -> str:
        """The claim in a few words, for people: "saves 19.9 MB (basis)", "gain unknown (reason)", steps, cache
        correctness, layers; "" when it claims nothing."""
        parts = []
        gain = self.byte_gain
        if isinstance(gain, ByteGain):
            parts.append(f"saves {gain.describe()}")
        elif isinstance(gain, Unknown):
            parts.append(f"gain {gain.describe()}")
        if self.saves_rebuild_steps and self.rebuilt_steps_before is not None and self.rebuilt_steps_after is not None:
            parts.append(
                f"a source edit re-runs {self.rebuilt_steps_after} step{'s' if self.rebuilt_steps_after != 1 else ''}"
                f" instead of {self.rebuilt_steps_before}"
            )
        elif self.saves_rebuild_steps:
            steps = self.rebuilt_steps_after_source_edit
            parts.append(f"a source edit re-runs {steps} step{'s' if steps != 1 else ''} fewer")
        if self.cache_correctness:
            parts.append(f"cache correctness: {self.cache_correctness}")
        if self.layers:
            parts.append(f"{self.layers} layer{'s' if self.layers != 1 else ''} fewer")
        return "; ".join(parts)

    @property
    def byte_gain(self) -> Gain | None:
        """The byte claim as a ``ByteGain`` or an ``Unknown``; None when the finding makes none."""
        if self.bytes is not None:
            return ByteGain(self.bytes, self.bytes_basis or "measured in the build context", self.bytes_at_least)
        if self.bytes_unknown is not None:
            return Unknown(self.bytes_unknown)
        return None


class Finding(Struct, frozen=True):
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
