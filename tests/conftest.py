from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
REAL = SHARED_CORPUS / "real"
BUILDKIT = SHARED_CORPUS / "buildkit-parser"


def real_dockerfiles() -> list[Path]:
    return sorted(REAL.glob("*.Dockerfile"))


def buildkit_inputs() -> list[Path]:
    return sorted(BUILDKIT.rglob("Dockerfile"))


def all_corpus_files() -> list[Path]:
    return real_dockerfiles() + buildkit_inputs()


def corpus_id(path: Path) -> str:
    return path.relative_to(SHARED_CORPUS).as_posix()


requires_corpus = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"shared corpus not found at {SHARED_CORPUS} (tests run from a checkout beside ../shared)"
)
