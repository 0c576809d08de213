"""Index the Debian Packages texts kept in ``data/`` into the files ``dockerfix/knowledge/gains.py`` loads.

    python scripts/debian_index.py           # rewrite each stale dockerfix/data/debian-RELEASE-...-index.sqlite
    python scripts/debian_index.py --check   # exit 1 when a shipped index is not what its kept text makes

``gain_data.py debian`` keeps, per release, the fields the gains need of Debian's ``main/binary-amd64/Packages``
(``gains.json`` names the kept text, its source, the index's date and checksum). Indexing that text (xz, 12-16 MB,
~65,000 stanzas) cost 0.25 s (bookworm) and 0.35 s (trixie) of CPU in every process that walked the relations;
this script does it once. Each package keeps what the walk reads, parsed by the loader's own ``DebianIndex.package``
and written back without versions (one index holds one version of each package, so the walk never reads them), and
the providers of each virtual name are listed in the order of the text. The result is an SQLite file that the
loader reads by lookup (``gains.ShippedPackagesIndex``): a process reads the few hundred packages its walks reach, not
the whole index. Whether a shipped index is stale is decided by what it holds, read by the loader, not by its bytes,
which depend on the SQLite library that wrote them. Run it with the project installed (``pip install -e .``): it
reads the text with the package's parser.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import sqlite3
import sys
from collections.abc import Iterable, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import msgspec

from dockerfix.knowledge.gains import DebianIndex, IndexUnavailable, Package, PackagesIndex, ShippedPackagesIndex

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "dockerfix" / "data"
PACKAGE_FIELD = "Package: "
# SQLite's page: 16 KiB pages make the file 10% smaller than its default 4 KiB (bookworm 13.8 -> 12.5 MB; beyond,
# 64 KiB saves 1% more), and a lookup reads no slower
PAGE_BYTES = 16384


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


def is_shipped(indexed: PackagesIndex, shipped: Path) -> bool:
    """Whether the file ``shipped`` holds ``indexed``, every stanza and every list of providers in its order."""
    try:
        loaded = ShippedPackagesIndex(shipped)
        return dict(loaded.stanzas) == indexed.stanzas and dict(loaded.providers) == indexed.providers
    except (IndexUnavailable, sqlite3.DatabaseError):  # missing, not an SQLite file, or without these tables
        return False


def write_shipped(indexed: PackagesIndex, shipped: Path) -> None:
    """``indexed`` as the SQLite file the loader reads, written beside ``shipped`` and then moved over it."""
    written = shipped.with_name(shipped.name + ".new")
    written.unlink(missing_ok=True)
    tables: dict[str, Iterable[tuple[str, str]]] = {
        "stanzas": indexed.stanzas.items(),
        "providers": ((virtual, msgspec.json.encode(names).decode()) for virtual, names in indexed.providers.items()),
    }
    with closing(sqlite3.connect(written)) as database:
        database.execute(f"PRAGMA page_size = {PAGE_BYTES}")
        for table, rows in tables.items():
            database.execute(f"CREATE TABLE {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
            database.executemany(f"INSERT INTO {table} VALUES (?, ?)", sorted(rows))
        database.commit()
        database.execute("VACUUM")  # pages filled in key order, and no free pages shipped
    os.replace(written, shipped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a shipped index is stale")
    arguments = parser.parse_args()
    stale = []
    for release, description in json.loads((DATA / "gains.json").read_text(encoding="utf-8"))["debian"].items():
        packages = description["packages"]
        text = lzma.decompress((ROOT / packages["text"]).read_bytes()).decode("utf-8")
        indexed = packages_index(release, description, text)
        shipped = DATA / packages["file"]
        if is_shipped(indexed, shipped):
            continue
        if arguments.check:
            stale.append(f"{shipped.relative_to(ROOT)} is not what {packages['text']} makes")
        else:
            write_shipped(indexed, shipped)
    if stale:
        sys.exit("\n".join([*stale, "run: python scripts/debian_index.py"]))


if __name__ == "__main__":
    main()
