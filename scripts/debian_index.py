"""Index the Debian Packages texts kept in ``data/`` into the files ``dockerfix/knowledge/gains.py`` loads.

    python scripts/debian_index.py           # rewrite each release's dockerfix/data/debian-RELEASE-...-index.json.zlib
    python scripts/debian_index.py --check   # exit 1 when a shipped index is not what its kept text makes

``gain_data.py debian`` keeps, per release, the fields the gains need of Debian's ``main/binary-amd64/Packages``
(``gains.json`` names the kept text, its source, the index's date and checksum). Indexing that text (xz, 12-16 MB,
~65,000 stanzas) cost 0.25 s (bookworm) and 0.35 s (trixie) of CPU in every process that walked the relations;
this script does it once. Each package keeps what the walk reads, parsed by the loader's own ``DebianIndex.package``
and written back without versions (one index holds one version of each package, so the walk never reads them), and
the providers of each virtual name are listed in the order of the text. The result is JSON, zlib-compressed: zlib
decompresses about four times faster than xz, for ~40% more bytes. Run it with the project installed (``pip
install -e .``): it reads the text with the package's parser.
"""

from __future__ import annotations

import argparse
import json
import lzma
import sys
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from dockerfix.knowledge.gains import DebianIndex, Package, PackagesIndex

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "dockerfix" / "data"
PACKAGE_FIELD = "Package: "


def stanzas_by_name(text: str) -> dict[str, str]:
    """Each package's stanza by its name (every stanza of the kept texts starts with its Package field; a later
    stanza of a name replaces an earlier one)."""
    stanzas = {}
    for stanza in text.split("\n\n"):
        if stanza.startswith(PACKAGE_FIELD):
            stanzas[stanza[len(PACKAGE_FIELD) :].partition("\n")[0]] = stanza
    return stanzas


def versionless_stanza(package: Package) -> str:
    """The fields ``DebianIndex.package`` reads, from which it parses ``package`` again (Pre-Depends are in Depends:
    the walk follows both alike)."""
    relations = {
        "Depends": package.depends,
        "Recommends": package.recommends,
        "Provides": tuple((name,) for name in package.provides),
    }
    lines = [f"Installed-Size: {package.installed_kib}"]
    lines += [
        f"{field}: {', '.join(' | '.join(relation) for relation in listed)}"
        for field, listed in relations.items()
        if listed
    ]
    return "\n".join(lines)


def packages_index(release: str, description: Mapping[str, Any], text: str) -> PackagesIndex:
    """What ``DebianIndex`` answers from ``text``, indexed."""
    stanzas = stanzas_by_name(text)
    # an index over the whole stanzas, only to parse each package as the loader does; it has no providers yet
    parser = DebianIndex(release, description, PackagesIndex(stanzas, providers={}))
    packages = [parser.package(name) for name in stanzas]
    providers: dict[str, list[str]] = {}
    for package in packages:
        for virtual in package.provides:
            providers.setdefault(virtual, []).append(package.name)
    return PackagesIndex(
        {package.name: versionless_stanza(package) for package in packages},
        {virtual: tuple(names) for virtual, names in providers.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a shipped index is stale")
    arguments = parser.parse_args()
    stale = []
    for release, description in json.loads((DATA / "gains.json").read_text(encoding="utf-8"))["debian"].items():
        packages = description["packages"]
        text = lzma.decompress((ROOT / packages["text"]).read_bytes()).decode("utf-8")
        indexed = msgspec.json.encode(packages_index(release, description, text))
        shipped = DATA / packages["file"]
        if not arguments.check:
            shipped.write_bytes(zlib.compress(indexed, 9))
        elif not shipped.is_file() or zlib.decompress(shipped.read_bytes()) != indexed:
            stale.append(f"{shipped.relative_to(ROOT)} is not what {packages['text']} makes")
    if stale:
        sys.exit("\n".join([*stale, "run: python scripts/debian_index.py"]))


if __name__ == "__main__":
    main()
