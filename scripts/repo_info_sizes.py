"""Regenerate `dockerfix/data/official-image-sizes.tsv` from a checkout of docker-library/repo-info.

    python scripts/repo_info_sizes.py REPO_INFO_CHECKOUT [--output FILE] [image:tag ...]

Without tags it re-reads the tags the output file lists. Each row comes from `repos/<image>/remote/<tag>.md`: the
`linux; amd64` entry's `Total Size` (the compressed transfer size), its layer count, the tag's index digest, the
amd64 manifest digest and the newest `Last Modified` among the amd64 layers. `source` is that file's path and the
checkout's last commit that changed it. `on_disk_bytes_amd64` stays empty: repo-info gives the on-disk size only
rounded, in `local/`, and sometimes for another build.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
from dataclasses import astuple, dataclass, fields
from email.utils import parsedate_to_datetime
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[1] / "dockerfix" / "data" / "official-image-sizes.tsv"
_PULL = re.compile(r"^\$ docker pull \S+@(sha256:[0-9a-f]{64})$", re.MULTILINE)
_TOTAL = re.compile(r"Total Size: \*\*[^*(]*\((\d+) bytes\)\*\*|Total Size: \*\*(\d+)(?:\.0)? B\*\*")
_LAYER = re.compile(r"^\t-\t`sha256:[0-9a-f]{64}`", re.MULTILINE)
_MODIFIED = re.compile(r"Last Modified: (.+?)\s*$", re.MULTILINE)


class RepoInfoError(ValueError):
    """A repo-info file without what a row needs."""


@dataclass(frozen=True)
class Row:
    image: str
    tag: str
    compressed_bytes_amd64: int
    on_disk_bytes_amd64: str
    layers_amd64: int
    index_digest: str
    amd64_digest: str
    newest_layer_date: str
    source: str


def amd64_section(text: str, image: str, tag: str) -> str:
    heading = f"### `{image}:{tag}` - linux; amd64\n"
    start = text.find(heading)
    if start < 0:
        raise RepoInfoError(f"{image}:{tag}: no linux; amd64 entry")
    end = text.find("\n### ", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


def row_from(text: str, image: str, tag: str, source: str) -> Row:
    """The row for one `repos/<image>/remote/<tag>.md` text."""
    index = _PULL.search(text.split("\n### ", 1)[0])
    section = amd64_section(text, image, tag)
    digest = _PULL.search(section)
    total = _TOTAL.search(section)
    layers = section.split("-\tLayers:", 1)
    if index is None or digest is None or total is None or len(layers) != 2:
        raise RepoInfoError(f"{image}:{tag}: the amd64 entry lacks a digest, a total size or layers")
    dates = [parsedate_to_datetime(value) for value in _MODIFIED.findall(layers[1])]
    if not dates:
        raise RepoInfoError(f"{image}:{tag}: no layer dates")
    return Row(
        image,
        tag,
        int(total.group(1) or total.group(2)),
        "",
        len(_LAYER.findall(layers[1])),
        index.group(1),
        digest.group(1),
        max(dates).date().isoformat(),
        source,
    )


def last_commit(checkout: Path, path: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%H", "--", path], capture_output=True, text=True, check=True
    )
    if not result.stdout.strip():
        raise RepoInfoError(f"{path}: not in the checkout's history")
    return result.stdout.strip()


def rows(checkout: Path, tags: list[tuple[str, str]]) -> list[Row]:
    found = []
    for image, tag in tags:
        path = f"repos/{image}/remote/{tag}.md"
        try:
            text = (checkout / path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RepoInfoError(f"{image}:{tag}: {path} is not in the checkout") from None
        found.append(row_from(text, image, tag, f"{path}@{last_commit(checkout, path)}"))
    return found


def listed_tags(path: Path) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [(row["image"], row["tag"]) for row in csv.DictReader(handle, delimiter="\t")]


def write(path: Path, found: list[Row]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(field.name for field in fields(Row))
        writer.writerows(astuple(row) for row in found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a git checkout of docker-library/repo-info")
    parser.add_argument("tags", nargs="*", help="image:tag to measure (default: those the output file lists)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    tags = [tuple(tag.split(":", 1)) for tag in arguments.tags] if arguments.tags else listed_tags(arguments.output)
    try:
        found = rows(arguments.checkout, tags)
    except (RepoInfoError, subprocess.CalledProcessError) as error:
        print(f"repo_info_sizes: {error}", file=sys.stderr)
        return 1
    write(arguments.output, found)
    print(f"wrote {len(found)} rows to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
