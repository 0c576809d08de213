"""TOML text to tables, with the parser imported on first use: a check that reads no TOML file (no configuration
file, no pyproject.toml or Pipfile read from the build context) never loads it (~2 ms of a start, bench/startup.py)."""

from __future__ import annotations

import sys
from typing import Any


def parse_toml(text: str) -> dict[str, Any]:
    """The tables of ``text``; a ValueError (tomllib's TOMLDecodeError) when it is not TOML."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return tomllib.loads(text)
