"""scripts/repo_info_sizes.py: the shipped size table is what the script reads from a repo-info checkout."""

from __future__ import annotations

import csv
import datetime
import importlib.util
import subprocess
import sys

import pytest
from conftest import REPO

spec = importlib.util.spec_from_file_location("repo_info_sizes", REPO / "scripts" / "repo_info_sizes.py")
assert spec is not None and spec.loader is not None
repo_info_sizes = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = repo_info_sizes  # dataclasses look their module up there
spec.loader.exec_module(repo_info_sizes)

SHIPPED = REPO / "dockerfix" / "data" / "official-image-sizes.tsv"


def shipped_row(image: str, tag: str) -> dict[str, str]:
    with open(SHIPPED, newline="") as handle:
        return next(row for row in csv.DictReader(handle, delimiter="\t") if (row["image"], row["tag"]) == (image, tag))


def layer(digest_byte: str, date: str, size: int) -> str:
    return (
        f"\t-\t`sha256:{digest_byte * 64}`  \n\t\tLast Modified: {date}  \n"
        f"\t\tSize: {size / 1e6:.1f} MB ({size} bytes)  \n\t\tMIME: x\n"
    )


def remote_file(row: dict[str, str], layer_sizes: list[int], dates: list[str]) -> str:
    """A repo-info `remote/<tag>.md` in the layout repo-info writes, describing ``row``: the index, the amd64 entry
    and an attestation entry (whose sizes must not count)."""
    name = f"{row['image']}:{row['tag']}"
    amd64_layers = "".join(
        layer(str(index), date, size) for index, (size, date) in enumerate(zip(layer_sizes, dates, strict=True))
    )
    return (
        f"## `{name}`\n\n```console\n$ docker pull {row['image']}@{row['index_digest']}\n```\n\n"
        f"-\tPlatforms: 2\n\t-\tlinux; amd64\n\t-\tunknown; unknown\n\n"
        f"### `{name}` - linux; amd64\n\n```console\n$ docker pull {row['image']}@{row['amd64_digest']}\n```\n\n"
        f"-\tTotal Size: **{sum(layer_sizes) / 1e6:.1f} MB ({sum(layer_sizes)} bytes)**  \n"
        "\t(compressed transfer size, not on-disk size)\n\n"
        f'```dockerfile\nCMD ["python3"]\n```\n\n-\tLayers:\n{amd64_layers}\n'
        f"### `{name}` - unknown; unknown\n\n```console\n$ docker pull {row['image']}@sha256:{'e' * 64}\n```\n\n"
        "-\tTotal Size: **2.2 MB (2170406 bytes)**  \n\n-\tLayers:\n"
        f"{layer('f', 'Fri, 25 Sep 2026 01:12:42 GMT', 2170406)}"
    )


def git(checkout, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), *arguments], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_regenerating_a_shipped_row_from_its_repo_info_file(tmp_path):
    row = shipped_row("python", "3.12-slim")
    total, count = int(row["compressed_bytes_amd64"]), int(row["layers_amd64"])
    sizes = [total // count] * (count - 1) + [total - total // count * (count - 1)]
    newest = datetime.date.fromisoformat(row["newest_layer_date"])
    dates = [
        f"{day.strftime('%a, %d %b %Y')} 23:52:43 GMT"
        for day in [newest - datetime.timedelta(days=1)] * (count - 1) + [newest]
    ]
    checkout = tmp_path / "repo-info"
    path = checkout / "repos" / "python" / "remote" / "3.12-slim.md"
    path.parent.mkdir(parents=True)
    path.write_text(remote_file(row, sizes, dates))
    git(checkout.parent, "init", "-q", str(checkout))
    git(checkout, "add", ".")
    git(checkout, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "sizes")
    output = tmp_path / "sizes.tsv"
    assert repo_info_sizes.main([str(checkout), "python:3.12-slim", "--output", str(output)]) == 0
    with open(output, newline="") as handle:
        [regenerated] = list(csv.DictReader(handle, delimiter="\t"))
    assert regenerated["source"] == f"repos/python/remote/3.12-slim.md@{git(checkout, 'rev-parse', 'HEAD')}"
    assert {key: value for key, value in regenerated.items() if key != "source"} == {
        key: value for key, value in row.items() if key != "source"
    }


def test_a_file_without_an_amd64_entry_is_an_error():
    with pytest.raises(repo_info_sizes.RepoInfoError, match="no linux; amd64 entry"):
        repo_info_sizes.row_from(
            "## `busybox:latest`\n\n$ docker pull busybox@sha256:" + "a" * 64 + "\n", "busybox", "latest", "x"
        )
