"""Equivalence of two built images: root filesystems path by path and config field by field, leaving out build
noise and accepting exactly the changes the applied fixes declared."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from dockerfix.rewriter.fixes import ContentChange
from dockerfix.rewriter.pipeline import AppliedFix

from .image import Entry

# Paths whose presence and content depend on when and where a build ran, never on the Dockerfile.
IGNORED = (
    ("/.dockerenv", "marks a container, not an image"),
    ("/etc/hostname", "the engine mounts it into every RUN"),
    ("/etc/hosts", "the engine mounts it into every RUN"),
    ("/etc/resolv.conf", "the engine mounts it into every RUN"),
    ("/var/cache/ldconfig/aux-cache", "ldconfig's cache of inode numbers and times"),
    ("/home/*/.npm/_logs", "npm's debug logs, named by the time of the run"),
    ("/root/.npm/_logs", "npm's debug logs, named by the time of the run"),
)
# Paths compared by presence and type only: their content records times.
CONTENT_NOISE = (
    ("/var/log", "package-manager logs with timestamps"),
    ("*.pyc", "compiled Python embeds the source's modification time"),
)


@dataclass(frozen=True)
class Difference:
    path: str
    change: str  # added, removed, changed
    before: Entry | None
    after: Entry | None
    declared_by: str | None  # the code of the applied fix that declared it

    def as_json(self) -> dict:
        return {
            "path": self.path,
            "change": self.change,
            "before": self.before.as_json() if self.before else None,
            "after": self.after.as_json() if self.after else None,
            "declared_by": self.declared_by,
        }


@dataclass(frozen=True)
class ConfigDifference:
    field: str  # a config field (``User``), or ``Env NAME`` for one environment variable
    before: object
    after: object
    declared_by: str | None = None  # the code of the applied fix that declared it (only ENV variables can be)

    def as_json(self) -> dict:
        return {"field": self.field, "before": self.before, "after": self.after, "declared_by": self.declared_by}


def covers(pattern: str, path: str) -> bool:
    """``pattern`` names ``path`` or a folder above it; ``*`` and ``?`` match within one path component."""
    wanted = [part for part in pattern.split("/") if part]
    parts = [part for part in path.split("/") if part]
    return len(parts) >= len(wanted) and all(
        fnmatch.fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=False)
    )


def _noise(path: str) -> tuple[bool, bool]:
    """(ignored entirely, content is noise)."""
    if any(covers(ignored, path) for ignored, _ in IGNORED):
        return True, False
    name = path.rsplit("/", 1)[-1]
    return False, any(covers(noise, path) or fnmatch.fnmatchcase(name, noise) for noise, _ in CONTENT_NOISE)


def _declared(change: str, path: str, applied: Iterable[AppliedFix]) -> str | None:
    for fix in applied:
        declared = fix.changes or ContentChange()
        patterns = declared.alters + (declared.removes if change == "removed" else ())
        if any(covers(pattern, path) for pattern in patterns):
            return fix.code
    return None


def _same(before: Entry, after: Entry, content_is_noise: bool) -> bool:
    if content_is_noise:
        return before.kind == after.kind
    if before.kind == "dir":  # a folder's size is the file system's business
        return (before.mode, before.uid, before.gid) == (after.mode, after.uid, after.gid)
    return before == after


def compare_files(
    before: dict[str, Entry],
    after: dict[str, Entry],
    applied: Iterable[AppliedFix],
    unreproducible: Collection[str] = (),
    base_swap: Mapping[str, str] | None = None,
) -> list[Difference]:
    """Path by path; ``unreproducible`` paths (those two builds of the same Dockerfile already disagree on, as
    ``not_reproduced`` lists them) are left out, as a difference there says nothing about the fixes. ``base_swap``
    declares the paths on which a swapped base image differs from the one it replaced (path: the swap, in words)."""
    applied = tuple(applied)
    unreproducible = frozenset(unreproducible)
    differences = []
    for path in sorted(before.keys() | after.keys()):
        ignored, content_is_noise = _noise(path)
        old, new = before.get(path), after.get(path)
        if ignored or (old is not None and new is not None and _same(old, new, content_is_noise)):
            continue
        change = "added" if old is None else "removed" if new is None else "changed"
        if _not_reproduced(path, change, unreproducible):
            continue
        declared = _declared(change, path, applied) or (base_swap or {}).get(path)
        differences.append(Difference(path, change, old, new, declared))
    return _emptied_folders_declared(differences)


# Ends an entry of the unreproducible paths that names a folder rather than a path: the folder's files are named
# differently by each build (a bundler's content-hashed `entry.OMLxb-g0.js`), so a file there on one side only is noise.
NAMES_VARY = "/*"


def not_reproduced(first: dict[str, Entry], again: dict[str, Entry]) -> tuple[str, ...]:
    """What two builds of the same Dockerfile disagree on, as ``compare_files`` takes it: each path that differs,
    and ``FOLDER/*`` for each folder holding a path present in one build only."""
    differences = compare_files(first, again, ())
    varying = sorted(
        {posixpath.dirname(difference.path) for difference in differences if difference.change != "changed"}
    )
    return tuple(difference.path for difference in differences) + tuple(
        folder.rstrip("/") + NAMES_VARY for folder in varying
    )


def _not_reproduced(path: str, change: str, unreproducible: frozenset[str]) -> bool:
    if path in unreproducible:
        return True
    return change != "changed" and posixpath.dirname(path).rstrip("/") + NAMES_VARY in unreproducible


def _emptied_folders_declared(differences: list[Difference]) -> list[Difference]:
    """A removed folder all of whose content was removed by declared fixes goes with that content (a cache mount
    over ``/root/.cache/pip`` leaves no ``/root/.cache`` either), under the declaration of its content."""
    declared_removals = {
        difference.path: difference.declared_by
        for difference in differences
        if difference.change == "removed" and difference.declared_by
    }
    result = []
    for difference in differences:
        if (
            difference.change == "removed"
            and difference.declared_by is None
            and difference.before is not None  # as it is whenever the path was removed
            and difference.before.kind == "dir"
        ):
            prefix = difference.path.rstrip("/") + "/"
            # content the comparison left out (build noise, what the build does not reproduce) is gone too
            compared = [other.path for other in differences if other.path.startswith(prefix)]
            if compared and all(path in declared_removals for path in compared):
                difference = replace(difference, declared_by=declared_removals[compared[0]])
        result.append(difference)
    return result


def _environment(values: list[str] | None) -> dict[str, str]:
    return dict(value.partition("=")[::2] for value in values or ())


def compare_config(before: dict, after: dict, applied: Iterable[AppliedFix] = ()) -> list[ConfigDifference]:
    """Field by field; ``Env`` variable by variable (order aside), so a fix can declare the variables it changes."""
    applied = tuple(applied)
    differences = []
    for name in before:
        if name != "Env":
            if before[name] != after.get(name):
                differences.append(ConfigDifference(name, before[name], after.get(name)))
            continue
        old, new = _environment(before[name]), _environment(after.get(name))
        for variable in sorted(old.keys() | new.keys()):
            if old.get(variable) != new.get(variable):
                declared = next(
                    (
                        fix.code
                        for fix in applied
                        if any(
                            fnmatch.fnmatchcase(variable, pattern)
                            for pattern in (fix.changes or ContentChange()).environment
                        )
                    ),
                    None,
                )
                differences.append(ConfigDifference(f"Env {variable}", old.get(variable), new.get(variable), declared))
    return differences
