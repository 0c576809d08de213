"""What ``--no-install-recommends`` drops: dockerfix's walk over the shipped indexes against apt's own answer.

    sudo python bench/gains_vs_apt.py [--workdir DIR] [--random N] [PACKAGE ...]

Needs the minbase chroots ``scripts/gain_data.py debian`` leaves in its workdir (their apt lists are the indexes the
data was cut from). For each release and package (the default list, the ones named, or N drawn at random with a
fixed seed), compares the new packages of ``apt-get install -s [--no-install-recommends] PACKAGE`` (upgrades of
installed packages left out: the walk counts packages added, not versions) with dockerfix's walk, in both modes;
prints the drops, the bytes dockerfix states, and any difference. Also times loading each index.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import time
from pathlib import Path

from dockerfix.knowledge import gains

DEFAULT_PACKAGES = (
    "curl",
    "wget",
    "git",
    "gcc",
    "build-essential",
    "python3",
    "python3-pip",
    "nginx",
    "postgresql-client",
    "imagemagick",
    "default-jre-headless",
    "locales",
    "sudo",
    "vim",
    "unzip",
)


def new_packages(chroot: Path, package: str, recommends: bool) -> set[str]:
    flags = [] if recommends else ["--no-install-recommends"]
    output = subprocess.run(
        ["chroot", str(chroot), "apt-get", "install", "-s", "-q", *flags, package],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    # "Inst name (version ...)" adds a package; "Inst name [old] (new ...)" upgrades one
    return {
        line.split()[1]
        for line in output.splitlines()
        if line.startswith("Inst ") and not line.split()[2].startswith("[")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("packages", nargs="*", default=DEFAULT_PACKAGES)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "dockerfix-gain-data")
    parser.add_argument("--random", type=int, default=0, help="this many packages drawn from each index (seed 20)")
    arguments = parser.parse_args()
    print("| release | package | packages dropped | bytes stated | difference from apt |")
    print("|---|---|---:|---:|---|")
    for release in gains.debian_releases():
        started = time.perf_counter()
        gains.debian_index(release)
        load_seconds = time.perf_counter() - started
        index = gains.debian_index(release)
        assert index is not None, f"{release} is one of the shipped releases"
        packages = (
            random.Random(20).sample(sorted(index.names()), arguments.random)
            if arguments.random
            else arguments.packages
        )
        agreeing = 0
        for package in packages:
            chroot = arguments.workdir / release
            differences = []
            for recommends in (True, False):
                by_apt = new_packages(chroot, package, recommends)
                ours = index.walk([package], recommends=recommends, installed=index.minbase).installed
                if by_apt and by_apt != ours:  # apt installs nothing when the package cannot be installed
                    differences.append(
                        f"{'with' if recommends else 'without'} recommends: apt only"
                        f" {sorted(by_apt - ours)}, ours only {sorted(ours - by_apt)}"
                    )
            agreeing += not differences
            drop = gains.recommends_drop([package], release=release)
            stated = f"{drop.gain.bytes:,}" if isinstance(drop.gain, gains.ByteGain) else drop.gain.describe()
            print(f"| {release} | {package} | {len(drop.dropped)} | {stated} | {'; '.join(differences) or 'none'} |")
        print(f"| {release} | (agreeing with apt) | {agreeing} of {len(packages)} | | |")
        print(f"| {release} | (index load) | | {load_seconds:.2f} s | |")


if __name__ == "__main__":
    main()
