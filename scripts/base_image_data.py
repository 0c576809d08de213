"""Write the base-image data ``dockerfix/knowledge/baseimages.py`` loads from the TOML kept in ``data/``.

    python scripts/base_image_data.py           # rewrite dockerfix/data/base_images.json from data/base_images.toml
    python scripts/base_image_data.py --check   # exit 1 when the shipped JSON is not what the TOML makes

``data/base_images.toml`` is the file people edit (its comments cite where each fact comes from). Parsing it with
tomllib took ~3 ms of every start and importing tomllib ~2 ms more (bench/startup.py); the package ships the same
tables as JSON, which msgspec decodes in under 0.1 ms.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from dockerfix.rewriter.toml import parse_toml

ROOT = Path(__file__).resolve().parent.parent
KEPT = ROOT / "data" / "base_images.toml"
SHIPPED = ROOT / "dockerfix" / "data" / "base_images.json"


def shipped_form(toml_text: str) -> bytes:
    """The JSON of the TOML's tables, indented so that a change reads as a diff."""
    return msgspec.json.format(msgspec.json.encode(parse_toml(toml_text)), indent=1) + b"\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the shipped JSON is stale")
    arguments = parser.parse_args()
    made = shipped_form(KEPT.read_text(encoding="utf-8"))
    if not arguments.check:
        SHIPPED.write_bytes(made)
    elif not SHIPPED.is_file() or SHIPPED.read_bytes() != made:
        stale = f"{SHIPPED.relative_to(ROOT)} is not what {KEPT.relative_to(ROOT)} makes"
        sys.exit(f"{stale}: run python scripts/base_image_data.py")


if __name__ == "__main__":
    main()
