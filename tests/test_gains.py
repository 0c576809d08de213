"""The shipped gain data and its loader: what --no-install-recommends drops (checked against apt's own answers on the
same indexes), the measured apt lists and package-manager caches, and "unknown" wherever the data does not reach."""

from __future__ import annotations

import json
import lzma
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable
from contextlib import closing
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerfix.knowledge import DATA as SHIPPED_DATA
from dockerfix.knowledge import gains

DATA = resources.files("dockerfix").joinpath("data")
ROOT = Path(__file__).resolve().parent.parent

# `apt-get install -s PACKAGE` minus `apt-get install -s --no-install-recommends PACKAGE` (new packages only), run in
# debootstrap --variant=minbase chroots over the indexes shipped (bench/gains_vs_apt.py prints the full comparison).
APT_DROPS = {
    ("bookworm", "curl"): {
        "ca-certificates",
        "krb5-locales",
        "libldap-common",
        "libsasl2-modules",
        "openssl",
        "publicsuffix",
    },
    ("trixie", "gcc"): {
        "libc-dev-bin",
        "libc6-dev",
        "libcrypt-dev",
        "linux-libc-dev",
        "manpages",
        "manpages-dev",
        "rpcsvc-proto",
    },
    ("trixie", "nginx"): {"krb5-locales", "libpam-cap"},
}


def kept_text(release: str) -> str:
    """The fields of Debian's Packages that gain_data.py keeps, from which the shipped index is made."""
    description = gains.sidecar()["debian"][release]["packages"]
    return lzma.decompress(ROOT.joinpath(description["text"]).read_bytes()).decode("utf-8")


def installed_sizes_in_kept_text(release: str, names: set[str]) -> int:
    """Installed-Size (KiB) of names, read from the kept text without the loader."""
    sizes = dict(re.findall(r"^Package: (\S+)\nInstalled-Size: (\d+)$", kept_text(release), re.MULTILINE))
    return sum(int(sizes[name]) for name in names)


def shipped_index(release: str) -> gains.DebianIndex:
    index = gains.debian_index(release)
    assert index is not None, f"the index of {release} is shipped"
    return index


def known(gain: gains.Gain) -> gains.ByteGain:
    assert isinstance(gain, gains.ByteGain), gain
    return gain


def test_no_install_recommends_drops_what_apt_drops():
    for (release, package), expected in APT_DROPS.items():
        drop = gains.recommends_drop([package], release=release)
        assert set(drop.dropped) == expected and drop.added == (), (release, package)
        gain = known(drop.gain)
        assert gain == gains.ByteGain(installed_sizes_in_kept_text(release, expected) * 1024, gain.basis)
        assert release in gain.basis and "Packages of" in gain.basis


def test_ca_certificates_comes_from_libcurl_recommends_in_the_data():
    index = shipped_index("bookworm")
    assert ("ca-certificates",) not in index.package("curl").recommends
    assert ("ca-certificates",) in index.package("libcurl4").recommends
    assert "ca-certificates" in gains.recommends_drop(["curl"], release="bookworm").dropped


def test_gcc_without_recommends_drops_libc6_dev_on_both_releases():
    for release in ("bookworm", "trixie"):
        assert "libc6-dev" in gains.recommends_drop(["gcc"], release=release).dropped


def test_a_virtual_package_resolves_to_the_provider_apt_picks():
    # apt-get install -s node-tap on bookworm installs zutty for x-terminal-emulator (its providers: cool-retro-term,
    # ..., zutty); picking the first one listed stated 215 MB more than apt installs
    index = shipped_index("bookworm")
    assert len(index.providers["x-terminal-emulator"]) > 1
    assert index.candidate("x-terminal-emulator") == "zutty"


def test_packages_the_fix_keeps_are_not_dropped_and_not_counted():
    everything = gains.recommends_drop(["curl"], release="bookworm")
    kept = gains.recommends_drop(["curl"], release="bookworm", keep=["ca-certificates"])
    # openssl is what ca-certificates depends on: kept with it
    assert set(everything.dropped) - set(kept.dropped) == {"ca-certificates", "openssl"}
    saved = installed_sizes_in_kept_text("bookworm", set(kept.dropped)) * 1024
    assert known(kept.gain).bytes == saved < known(everything.gain).bytes


def test_what_the_base_image_has_is_never_dropped():
    base = shipped_index("bookworm").minbase | {"ca-certificates", "openssl"}
    drop = gains.recommends_drop(["curl"], release="bookworm", installed=base)
    assert not {"ca-certificates", "openssl"} & set(drop.dropped)
    assert "publicsuffix" in drop.dropped


def test_no_recommends_anywhere_is_a_known_zero():
    index = shipped_index("trixie")
    assert not index.package("jq").recommends
    drop = gains.recommends_drop(["jq"], release="trixie")
    assert drop.dropped == () and drop.gain == gains.ByteGain(0, known(drop.gain).basis)


def test_ubuntu_uses_debian_relations_to_name_the_drops_but_its_bytes_are_unknown():
    drop = gains.recommends_drop(["curl"], distribution="ubuntu", release="noble")
    newest = gains.debian_releases()[-1]
    assert drop.dropped == gains.recommends_drop(["curl"], release=newest).dropped
    assert "ca-certificates" in drop.dropped
    assert isinstance(drop.gain, gains.Unknown) and "ubuntu noble" in drop.gain.reason


def test_a_package_outside_the_index_makes_the_gain_unknown():
    drop = gains.recommends_drop(["curl", "google-cloud-cli"], release="bookworm")
    assert drop.not_in_index == ("google-cloud-cli",)
    assert isinstance(drop.gain, gains.Unknown) and "google-cloud-cli" in drop.gain.reason
    assert "ca-certificates" in drop.dropped


def test_a_debian_release_not_shipped_is_unknown_not_another_release():
    drop = gains.recommends_drop(["curl"], release="bullseye")
    assert isinstance(drop.gain, gains.Unknown)
    assert isinstance(gains.apt_lists_gain("debian", "bullseye"), gains.Unknown)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_walks_end_and_the_gain_is_the_net_difference_of_the_two_installs(data):
    index = shipped_index("bookworm")
    names = sorted(index.names())
    requested = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4))
    with_recommends = index.walk(requested, recommends=True, installed=index.minbase)
    without = index.walk(requested, recommends=False, installed=index.minbase)
    assert not with_recommends.installed & index.minbase
    assert {index.candidate(name) for name in requested} - index.minbase <= without.installed
    drop = gains.recommends_drop(requested, release="bookworm")
    assert set(drop.dropped) == with_recommends.installed - without.installed
    assert set(drop.added) == without.installed - with_recommends.installed
    assert known(drop.gain).bytes == (index.installed_kib(drop.dropped) - index.installed_kib(drop.added)) * 1024


def test_apt_lists_are_measured_per_release_and_unknown_elsewhere():
    sizes = {}
    for release in ("bookworm", "trixie"):
        gain = known(gains.apt_lists_gain("debian", release))
        measured = gains.sidecar()["debian"][release]["apt_lists"]
        assert gain == gains.ByteGain(measured["bytes"], gain.basis) and measured["date"] in gain.basis
        assert "apt-get update" in measured["method"]
        sizes[release] = gain.bytes
    assert sizes["bookworm"] != sizes["trixie"]
    for distribution, release in (("ubuntu", "jammy"), ("alpine", "3.20")):
        assert isinstance(gains.apt_lists_gain(distribution, release), gains.Unknown)


def test_cache_gains_come_from_measurements_covering_the_install():
    express = known(gains.package_cache_gain("npm", ["express"]))
    row = next(row for row in gains.sidecar()["caches"]["npm"]["measurements"] if row["packages"] == ["express"])
    assert (
        express == gains.ByteGain(row["bytes"], express.basis) and not express.at_least and row["date"] in express.basis
    )
    more = known(gains.package_cache_gain("npm", ["express", "cors"]))
    assert more.at_least and more.bytes == express.bytes
    both = known(gains.package_cache_gain("pip", ["Flask", "requests"]))
    assert not both.at_least and both.bytes > known(gains.package_cache_gain("pip", ["requests"])).bytes
    assert isinstance(gains.package_cache_gain("pip", ["some-internal-package"]), gains.Unknown)


def test_unreached_registries_and_unmeasured_managers_are_unknown():
    for manager in ("gem", "composer"):
        gain = gains.package_cache_gain(manager, ["rack"])
        assert isinstance(gain, gains.Unknown) and "could not be reached" in gain.reason
    assert isinstance(gains.package_cache_gain("cargo", ["serde"]), gains.Unknown)


def test_every_shipped_gain_file_has_its_source_and_date_and_the_data_stays_small():
    described = {}
    for release, description in gains.sidecar()["debian"].items():
        packages = description["packages"]
        assert packages["source"] and packages["index_date"] and re.fullmatch(r"[0-9a-f]{64}", packages["index_sha256"])
        # the text is the index's source, kept in the repository: the package ships only what the script makes of it
        assert ROOT.joinpath(packages["text"]).is_file() and not packages["text"].startswith("dockerfix/")
        assert ROOT.joinpath(packages["indexed_by"]).is_file()
        assert description["minbase_packages"]["date"] and description["apt_lists"]["date"]
        described[packages["file"]] = release
    for description in gains.sidecar()["caches"].values():
        assert "unknown" in description or all(row["date"] and row["tool"] for row in description["measurements"])
    shipped = {path.name for path in DATA.iterdir() if path.name.startswith("debian-")}
    assert shipped == set(described)
    contents = [DATA.joinpath(name).read_bytes() for name in shipped | {"gains.json"}]
    # Installed, the indexes are read by lookup, uncompressed (29.8 MB for bookworm and trixie); in the wheel, deflated
    # as a wheel's zip does (5.8 MB). Both leave room for a third release.
    assert sum(map(len, contents)) < 50_000_000
    assert sum(len(zlib.compress(content, 6)) for content in contents) < 8_000_000


def test_the_shipped_indexes_are_what_the_script_makes_from_the_kept_texts():
    """The package ships each release's Packages text indexed once (issue 22: indexing the text took 0.25 s and 0.35 s
    of CPU in every process that walked the relations); the index must not drift from its text."""
    checked = index_script(ROOT, "--check")
    assert checked.returncode == 0, checked.stderr


def index_script(root: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/debian_index.py", *arguments], cwd=root, capture_output=True, text=True, timeout=300
    )


def copy_of_the_index_sources(root: Path, release: str) -> Path:
    """The script, the kept text and the shipped index of one release under ``root``, laid out as in the repository;
    returns the copied index."""
    description = gains.sidecar()["debian"][release]
    kept, shipped = description["packages"]["text"], f"dockerfix/data/{description['packages']['file']}"
    for path in ("scripts/debian_index.py", kept, shipped):
        root.joinpath(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / path, root / path)
    root.joinpath("dockerfix/data/gains.json").write_text(json.dumps({"debian": {release: description}}))
    return root / shipped


def changed(statement: str, *parameters: str) -> Callable[[Path], object]:
    """A change of one row of a shipped index."""

    def change(shipped: Path) -> None:
        with closing(sqlite3.connect(shipped)) as database:
            assert database.execute(statement, parameters).rowcount == 1
            database.commit()

    return change


def reverse_the_providers_of_awk(shipped: Path) -> None:
    with closing(sqlite3.connect(shipped)) as database:
        (providers,) = database.execute("SELECT value FROM providers WHERE key = 'awk'").fetchone()
    changed("UPDATE providers SET value = ? WHERE key = 'awk'", json.dumps(json.loads(providers)[::-1]))(shipped)


STALE_INDEXES: dict[str, Callable[[Path], object]] = {
    "a relation added": changed("UPDATE stanzas SET value = value || ', zlib1g' WHERE key = 'make'"),
    "a package left out": changed("DELETE FROM stanzas WHERE key = 'gcc'"),
    # apt picks the last provider listed (DebianIndex.candidate): their order is part of the index
    "providers in another order": reverse_the_providers_of_awk,
    "not an SQLite file": lambda shipped: shipped.write_bytes(zlib.compress(b'{"stanzas": {}, "providers": {}}')),
}


@pytest.mark.parametrize("change", STALE_INDEXES.values(), ids=STALE_INDEXES.keys())
def test_the_check_fails_when_one_entry_of_a_shipped_index_differs_from_its_text(tmp_path, change):
    change(copy_of_the_index_sources(tmp_path, "bookworm"))
    checked = index_script(tmp_path, "--check")
    assert checked.returncode == 1
    assert "dockerfix/data/debian-bookworm-main-amd64-index.sqlite is not what" in checked.stderr


def test_the_script_rewrites_a_stale_index_into_the_one_shipped(tmp_path):
    shipped = copy_of_the_index_sources(tmp_path, "bookworm")
    STALE_INDEXES["not an SQLite file"](shipped)
    for arguments in ((), ("--check",)):
        run = index_script(tmp_path, *arguments)
        assert run.returncode == 0, run.stderr
    rewritten = gains.DebianIndex(
        "bookworm", gains.sidecar()["debian"]["bookworm"], gains.ShippedPackagesIndex(shipped)
    )
    assert all(rewritten.package(name) == shipped_index("bookworm").package(name) for name in ("gcc", "make", "libc6"))
    assert [path.name for path in shipped.parent.iterdir() if path.suffix != ".json"] == [shipped.name]


def test_an_index_opened_by_one_thread_answers_another():
    """The language server checks documents on its analysis thread, whichever thread loaded the index first."""
    index = gains.ShippedPackagesIndex(SHIPPED_DATA / gains.sidecar()["debian"]["bookworm"]["packages"]["file"])
    answers: list[tuple[str, tuple[str, ...]]] = []
    reader = threading.Thread(target=lambda: answers.append((index.stanzas["make"], index.providers["awk"])))
    reader.start()
    reader.join(timeout=60)
    assert answers == [(index.stanzas["make"], index.providers["awk"])]


def test_only_a_process_that_reads_the_index_imports_sqlite():
    """Most checks never read the index: importing sqlite3 costs 1-4 ms of every check's start-up."""
    reads = "from dockerfix.knowledge import gains; import sys; print('sqlite3' in sys.modules, end=' ');"
    reads += "gains.removal_gain(['gcc'], installed_with=['gcc'], recommends=False, release='bookworm');"
    reads += "print('sqlite3' in sys.modules)"
    imported = subprocess.run([sys.executable, "-c", reads], capture_output=True, text=True, timeout=120, check=True)
    assert imported.stdout.split() == ["False", "True"]


def test_a_python_without_sqlite_reports_a_compiler_s_size_as_unknown_and_says_why():
    """Some self-built Pythons have no sqlite3 module: the finding stands with an unknown size, not a rule failure."""
    blocked = "import sys; sys.modules['sqlite3'] = None; from dockerfix.knowledge import gains;"
    blocked += "print(gains.removal_gain(['gcc'], installed_with=['gcc'], recommends=False, release='bookworm'))"
    run = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=120, check=True)
    assert "Unknown(" in run.stdout and "this Python has no sqlite3 module" in run.stdout, run.stdout


def test_an_index_that_cannot_be_opened_is_named_in_the_error(tmp_path):
    missing = tmp_path / "debian-bookworm-main-amd64-index.sqlite"
    with pytest.raises(gains.IndexUnavailable, match=re.escape(str(missing))):
        gains.ShippedPackagesIndex(missing)
    missing.write_bytes(b"not a database")
    with pytest.raises(gains.IndexUnavailable, match=re.escape(str(missing))):
        gains.ShippedPackagesIndex(missing)


def text_packages(text: str) -> dict[str, gains.Package]:
    """Every package of a Packages text as the relations' parsers read its fields, the later stanza of a name kept."""
    packages = {}
    for stanza in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines())
        packages[fields["Package"]] = gains.Package(
            name=fields["Package"],
            installed_kib=int(fields.get("Installed-Size", "0")),
            depends=gains._relations(fields.get("Pre-Depends", "")) + gains._relations(fields.get("Depends", "")),
            recommends=gains._relations(fields.get("Recommends", "")),
            provides=gains._relation_names(fields.get("Provides", "")),
        )
    return packages


def test_the_shipped_index_answers_for_every_package_what_the_text_says():
    for release in gains.debian_releases():
        expected = text_packages(kept_text(release))
        index = shipped_index(release)
        assert index.names() == set(expected)
        assert all(index.package(name) == package for name, package in expected.items())
        providers: dict[str, list[str]] = {}
        for package in expected.values():
            for virtual in package.provides:
                providers.setdefault(virtual, []).append(package.name)
        # in the text's order: apt picks among providers by their order in the index
        assert {virtual: list(names) for virtual, names in index.providers.items()} == providers


def test_an_install_is_walked_once_per_process():
    """DF103 and DF117 walk the same installs, again in every pass of the fix loop and for every file that has them
    (issue 22): a walk is kept, and a walk in another order of the same installed set is the same walk."""
    index = shipped_index("bookworm")
    first = index.walk(["gcc", "make"], recommends=True, installed=index.minbase)
    assert index.walk(("gcc", "make"), recommends=True, installed=set(index.minbase)) is first
    assert index.walk(["make", "gcc"], recommends=True, installed=index.minbase).installed == first.installed
    assert index.walk(["gcc", "make"], recommends=False, installed=index.minbase) is not first


def test_releases_that_are_not_shipped_never_evict_a_loaded_index():
    """A corpus names many releases we do not ship (buster, bullseye, ...): asking for them must not make a shipped
    index load again (with all rules on, bookworm's was loaded 2-3 times a pass)."""
    loaded = gains.debian_index("bookworm")
    assert loaded is not None
    for release in ("stretch", "buster", "bullseye", "sid", "jessie", "wheezy"):
        assert gains.debian_index(release) is None
    assert gains.debian_index("bookworm") is loaded
