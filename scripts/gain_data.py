"""Regenerate the measured data behind findings' gains: the files in ``dockerfix/data/`` that
``dockerfix/knowledge/gains.py`` reads.

    sudo python3 scripts/gain_data.py debian [--workdir DIR]   # Debian package fields, minbase sets, apt lists sizes
    python3 scripts/gain_data.py caches [--workdir DIR]        # pip / npm / gem / composer cache sizes

``debian`` needs root, ``debootstrap`` and an apt whose sources reach Debian's archive. For each release it builds a
minbase chroot with debootstrap (the same variant the official ``debian`` images are built from), gives it the
apt configuration and sources the official images ship (debuerreotype's ``debuerreotype-minimizing-config`` and
``debuerreotype-debian-sources-list``: compressed indexes, no translations, the release, its -updates and
-security suites, component main), runs ``apt-get update`` in it and measures ``/var/lib/apt/lists`` (apparent
bytes of the regular files: what a layer's tar holds). The same update yields the release's
``main/binary-amd64/Packages``, of which only the fields the gains need are kept, xz-compressed in ``data/`` (the
repository's, not the package's), with the index's date and checksum from the signed ``InRelease``; then run
``scripts/debian_index.py``, which makes from that text the index the package ships. The archive's address is read
from this machine's apt sources and is written nowhere.

``caches`` installs a few representative packages with each package manager in a clean HOME and measures the
cache folder the install leaves. A manager whose registry cannot be reached is recorded as unreachable, so the
data says unknown for it.

Both commands rewrite their own section of ``dockerfix/data/gains.json`` and keep the other.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "dockerfix" / "data"
SIDECAR = DATA / "gains.json"
RELEASES = ("bookworm", "trixie")
KEPT_FIELDS = ("Package", "Installed-Size", "Pre-Depends", "Depends", "Recommends", "Provides")
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# The settings of debuerreotype's minimizing config that decide what `apt-get update` leaves on disk.
OFFICIAL_IMAGE_APT_CONFIG = {
    "docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "docker-no-languages": 'Acquire::Languages "none";\n',
}
OFFICIAL_IMAGE_CONFIG_SOURCE = (
    "debuerreotype/debuerreotype scripts/debuerreotype-minimizing-config@027b65ff257b0639f44df55caca1cfd6ff6e464b"
)
PIP_SETS = (("requests",), ("flask",), ("flask", "requests"), ("django",), ("numpy",), ("pandas",), ("boto3",))
NPM_SETS = (("express",), ("lodash",), ("react", "react-dom"), ("typescript",), ("webpack",))
GEM_SETS = (("rack",), ("rails",))
COMPOSER_SETS = (("monolog/monolog",), ("symfony/console",))
COMMAND_TIMEOUT = 900


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, capture_output=True, timeout=COMMAND_TIMEOUT, **kwargs)


def archive_uris() -> tuple[str, str]:
    """The Debian archive's and its security archive's URIs, as this machine's apt sources name them."""
    text = run(["apt-get", "indextargets", "--no-release-info", "--format", "$(REPO_URI)\t$(RELEASE)"]).stdout
    archive = security = None
    for line in text.splitlines():
        uri, _, suite = line.partition("\t")
        if suite.endswith("-security"):
            security = security or uri
        elif "/debian" in uri:
            archive = archive or uri
    if archive is None:
        sys.exit("no Debian archive among apt's sources (apt-get indextargets)")
    return archive, security or archive.rstrip("/") + "-security/"


def tree_bytes(folder: Path) -> tuple[int, int]:
    """(apparent bytes, number) of the regular files under folder."""
    sizes = [path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink()]
    return sum(sizes), len(sizes)


def prepare_chroot(root: Path, release: str, archive: str, security: str) -> None:
    if not (root / "usr" / "bin" / "apt-get").exists():
        run(["debootstrap", "--variant=minbase", release, str(root), archive])
    config = root / "etc" / "apt" / "apt.conf.d"
    for name, text in OFFICIAL_IMAGE_APT_CONFIG.items():
        (config / name).write_text(text)
    (root / "etc" / "apt" / "sources.list").unlink(missing_ok=True)
    (root / "etc" / "apt" / "sources.list.d" / "debian.sources").write_text(
        f"Types: deb\nURIs: {archive}\nSuites: {release} {release}-updates\nComponents: main\n"
        f"Signed-By: {DEBIAN_KEYRING}\n\n"
        f"Types: deb\nURIs: {security}\nSuites: {release}-security\nComponents: main\nSigned-By: {DEBIAN_KEYRING}\n"
    )
    shutil.copyfile("/etc/resolv.conf", root / "etc" / "resolv.conf")


def in_chroot(root: Path, *command: str) -> str:
    return run(["chroot", str(root), *command]).stdout


def release_fields(in_release: str) -> dict[str, str]:
    fields = {}
    signed_text = in_release.split("\n\n", 1)[1]  # after the armor's "-----BEGIN PGP SIGNED MESSAGE-----" headers
    for line in signed_text.splitlines():
        if not line.startswith((" ", "-----")) and ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def packages_sha256(in_release: str, index_path: str) -> str:
    in_sha256 = False
    for line in in_release.splitlines():
        if not line.startswith(" "):
            in_sha256 = line.startswith("SHA256:")
        elif in_sha256 and line.split()[-1] == index_path:
            return line.split()[0]
    raise ValueError(f"{index_path} not listed in InRelease")


def kept_stanzas(packages: str) -> str:
    """Packages' stanzas with only KEPT_FIELDS, relations on one line each."""
    out = []
    for stanza in packages.split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in stanza.splitlines():
            if line.startswith((" ", "\t")):
                if current is not None and current in fields:
                    fields[current] += " " + line.strip()
                continue
            current, _, value = line.partition(":")
            if current in KEPT_FIELDS:
                fields[current] = value.strip()
        if "Package" in fields:
            out.append("".join(f"{name}: {fields[name]}\n" for name in KEPT_FIELDS if name in fields))
    return "\n".join(out)


def measure_debian(workdir: Path) -> dict:
    archive, security = archive_uris()
    section: dict[str, dict[str, Any]] = {}
    for release in RELEASES:
        root = workdir / release
        prepare_chroot(root, release, archive, security)
        lists = root / "var" / "lib" / "apt" / "lists"
        for entry in lists.iterdir():
            if entry.is_file() and entry.name != "lock":
                entry.unlink()
        in_chroot(root, "apt-get", "update")
        measured_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
        lists_bytes, lists_files = tree_bytes(lists)
        apt_version = in_chroot(root, "dpkg-query", "-W", "-f", "${Version}", "apt")
        minbase = sorted(in_chroot(root, "dpkg-query", "-W", "-f", "${Package}\n").split())

        main_release = next(path for path in lists.glob(f"*_dists_{release}_InRelease"))
        in_release = main_release.read_text(encoding="utf-8")
        index = next(lists.glob(f"*_dists_{release}_main_binary-amd64_Packages*"))
        packages = in_chroot(root, "/usr/lib/apt/apt-helper", "cat-file", "/var/lib/apt/lists/" + index.name)
        digest = packages_sha256(in_release, "main/binary-amd64/Packages")
        if hashlib.sha256(packages.encode("utf-8")).hexdigest() != digest:
            sys.exit(f"{release}: the Packages index does not match InRelease's SHA256")
        text = f"data/debian-{release}-main-amd64-packages.xz"
        (ROOT / text).write_bytes(lzma.compress(kept_stanzas(packages).encode("utf-8"), preset=9 | lzma.PRESET_EXTREME))
        header = release_fields(in_release)
        section[release] = {
            "packages": {
                "file": f"debian-{release}-main-amd64-index.sqlite",
                "text": text,
                "indexed_by": "scripts/debian_index.py",
                "fields": list(KEPT_FIELDS),
                "source": f"Debian archive, dists/{release}/main/binary-amd64/Packages (Release {header['Version']}),"
                " fetched by apt-get update",
                "index_date": header["Date"],
                "index_sha256": digest,
            },
            "minbase_packages": {
                "source": f"dpkg-query -W in a debootstrap --variant=minbase {release} chroot (the variant the official"
                " debian images are built from)",
                "date": measured_at,
                "names": minbase,
            },
            "apt_lists": {
                "bytes": lists_bytes,
                "files": lists_files,
                "date": measured_at,
                "method": f"apt-get update (apt {apt_version}) in a debootstrap --variant=minbase {release} chroot with"
                f" the official images' apt settings ({', '.join(sorted(OFFICIAL_IMAGE_APT_CONFIG))} from"
                f" {OFFICIAL_IMAGE_CONFIG_SOURCE}) and sources ({release}, {release}-updates,"
                f" {release}-security; main); apparent bytes of the regular files in /var/lib/apt/lists",
            },
        }
    return section


def folder_bytes_or_zero(folder: Path) -> int:
    return tree_bytes(folder)[0] if folder.is_dir() else 0


@dataclass(frozen=True)
class Place:
    """Where a package manager runs: this machine (root None) or a Debian chroot that has the tools this machine
    lacks. Scratch folders live under the place's /tmp so both sides see them."""

    root: Path | None

    def scratch(self, manager: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=f"{manager}-", dir=(self.root or Path("/")) / "tmp"))

    def inside(self, path: Path) -> str:
        return "/" + str(path.relative_to(self.root)) if self.root else str(path)

    def run(self, command: list[str], scratch_cwd: Path, **environment: str) -> str:
        """command in a login-like environment with nothing of this machine's package-manager settings."""
        clean = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", **environment}
        chroot = ["chroot", str(self.root)] if self.root else []
        line = chroot + ["env", "-i", "-C", self.inside(scratch_cwd)] + [f"{k}={v}" for k, v in clean.items()] + command
        return run(line).stdout


PIP_MEASURED = (
    "bytes of the distributions pip downloaded, which its HTTP cache keeps when the index sends PyPI's"
    " caching headers (pip's documentation, Caching)"
)


def measure_pip(place: Place, packages: tuple[str, ...], scratch: Path) -> dict:
    """The distributions pip downloads for the set: what its HTTP cache keeps when the index sends PyPI's
    Cache-Control headers. The cache folder is measured too: it stays empty where a proxy strips those headers."""
    home, downloads = scratch / "home", scratch / "downloads"
    home.mkdir()
    place.run([sys.executable, "-m", "venv", place.inside(scratch / "venv")], scratch)
    pip = [place.inside(scratch / "venv" / "bin" / "pip")]
    environment = {
        "HOME": place.inside(home),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
    }
    place.run(pip + ["download", "--quiet", "--dest", place.inside(downloads), *packages], scratch, **environment)
    version = place.run(pip + ["--version"], scratch, **environment).split()[1]
    return {
        "bytes": folder_bytes_or_zero(downloads),
        "measured": PIP_MEASURED,
        "cache_folder_bytes_here": folder_bytes_or_zero(home / ".cache" / "pip" / "http")
        + folder_bytes_or_zero(home / ".cache" / "pip" / "http-v2"),
        "folder": "~/.cache/pip",
        "tool": f"pip {version}, Python {sys.version.split()[0]}",
    }


def measure_npm(place: Place, packages: tuple[str, ...], scratch: Path) -> dict:
    home = scratch / "home"
    home.mkdir()
    environment = {"HOME": place.inside(home)}
    place.run(["npm", "init", "-y"], scratch, **environment)
    place.run(["npm", "install", "--no-audit", "--no-fund", *packages], scratch, **environment)
    version = place.run(["npm", "--version"], scratch, **environment).strip()
    return {
        "bytes": folder_bytes_or_zero(home / ".npm"),
        "measured": "bytes of ~/.npm after the install",
        "cacache_bytes": folder_bytes_or_zero(home / ".npm" / "_cacache"),
        "folder": "~/.npm",
        "tool": f"npm {version}",
    }


def measure_gem(place: Place, packages: tuple[str, ...], scratch: Path) -> dict:
    environment = {"HOME": place.inside(scratch / "home"), "GEM_HOME": place.inside(scratch / "gems")}
    place.run(["gem", "install", "--no-document", *packages], scratch, **environment)
    version = place.run(["gem", "--version"], scratch, **environment).strip()
    return {
        "bytes": folder_bytes_or_zero(scratch / "gems" / "cache"),
        "measured": "bytes of $GEM_HOME/cache",
        "folder": "$GEM_HOME/cache",
        "tool": f"gem {version}",
    }


def measure_composer(place: Place, packages: tuple[str, ...], scratch: Path) -> dict:
    environment = {"HOME": place.inside(scratch / "home"), "COMPOSER_ALLOW_SUPERUSER": "1"}
    place.run(["composer", "require", "--no-interaction", *packages], scratch, **environment)
    version = place.run(["composer", "--version"], scratch, **environment).split()[2]
    return {
        "bytes": folder_bytes_or_zero(scratch / "home" / ".cache" / "composer"),
        "measured": "bytes of ~/.cache/composer",
        "folder": "~/.cache/composer",
        "tool": f"composer {version}",
    }


# manager: (command, Debian packages providing it, package sets, measure)
MANAGERS = {
    "pip": ("python3", ("python3-venv",), PIP_SETS, measure_pip),
    "npm": ("npm", ("npm",), NPM_SETS, measure_npm),
    "gem": ("gem", ("ruby",), GEM_SETS, measure_gem),
    "composer": ("composer", ("composer",), COMPOSER_SETS, measure_composer),
}


def place_for(command: str, debian_packages: tuple[str, ...], workdir: Path) -> Place:
    """This machine when it has the command, else a bookworm chroot (copied from the `debian` step's) with the
    Debian packages that provide it."""
    if shutil.which(command):
        return Place(None)
    root = workdir / "tools-bookworm"
    if not root.exists():
        if not (workdir / "bookworm").exists():
            sys.exit(f"`{command}` is missing: run the `debian` step first (its bookworm chroot hosts the tools)")
        run(["cp", "-a", str(workdir / "bookworm"), str(root)])
    run(
        [
            "chroot",
            str(root),
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "ca-certificates",
            *debian_packages,
        ]
    )
    return Place(root)


def failure_reason(failure: subprocess.CalledProcessError) -> str:
    """Why an install failed, without the registry's address (which the data must not name)."""
    output = failure.stderr + failure.stdout
    if any(sign in output for sign in ("getaddrinfo", "Name or service not known", "Could not resolve host")):
        return "the registry could not be reached (its name does not resolve from here)"
    return f"exit status {failure.returncode}"


def measure_caches(workdir: Path) -> dict:
    section: dict[str, dict[str, Any]] = {}
    for manager, (command, debian_packages, package_sets, measure) in MANAGERS.items():
        place = place_for(command, debian_packages, workdir)
        where = "this machine" if place.root is None else "a Debian bookworm chroot"
        rows = []
        for packages in package_sets:
            scratch = place.scratch(manager)
            try:
                row = measure(place, packages, scratch)
            except subprocess.CalledProcessError as failure:
                section[manager] = {
                    "unknown": f"`{manager}` install of {' '.join(packages)} in {where} on"
                    f" {datetime.date.today().isoformat()}: {failure_reason(failure)}"
                }
                break
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            row.update(packages=list(packages), date=datetime.date.today().isoformat(), where=where)
            rows.append(row)
            print(manager, packages, row["bytes"], file=sys.stderr)
        else:
            section[manager] = {
                "measurements": rows,
                "method": "install into a fresh project or environment with an empty HOME and no"
                " package-manager configuration",
            }
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("debian", "caches"))
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "dockerfix-gain-data",
        help="chroots and scratch folders (kept between runs: the chroots are reused)",
    )
    arguments = parser.parse_args()
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    sidecar = json.loads(SIDECAR.read_text(encoding="utf-8")) if SIDECAR.exists() else {}
    sidecar[arguments.what] = (measure_debian if arguments.what == "debian" else measure_caches)(arguments.workdir)
    SIDECAR.write_text(json.dumps(sidecar, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
