"""Which files are Dockerfiles: by name, and under a folder (what the CLI, the language server and the bot check)."""

from __future__ import annotations

import os
from fnmatch import fnmatch
from pathlib import Path
from typing import Iterator, Sequence

DOCKERFILE_PATTERNS = ("Dockerfile", "*.Dockerfile", "Dockerfile.*", "*.dockerfile", "Containerfile", "Containerfile.*")
SKIPPED_FOLDERS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"}


def is_dockerfile_name(name: str) -> bool:
    return any(fnmatch(name, pattern) for pattern in DOCKERFILE_PATTERNS) and not name.endswith(".dockerignore")


def dockerfiles_under(folder: Path) -> list[Path]:
    """The Dockerfiles under a folder, sorted, skipping version-control, dependency and virtual-environment folders.

    A symbolic link is followed only to a file inside the folder that is not found under its own name too: a folder
    run never rewrites a file outside the folder, nor one file twice."""
    root = folder.resolve()
    found: dict[Path, Path] = {}
    for parent, subfolders, files in os.walk(folder):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_FOLDERS)
        for name in files:
            if not is_dockerfile_name(name):
                continue
            path = Path(parent) / name
            target = path.resolve()
            if root in target.parents and (target not in found or not path.is_symlink()):
                found[target] = path
    return sorted(found.values())


def discover_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Files named on the command line as given; Dockerfiles found under folders, sorted."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        found = dockerfiles_under(path)
        if not found:
            yield path  # reported as "is a directory": nothing to check there
        yield from found
