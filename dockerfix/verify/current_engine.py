"""A current Docker engine for verify: Debian trixie's ``docker.io`` (26.1, BuildKit 0.13) installed into a
debootstrapped trixie root filesystem that is kept outside the repository, its daemon run from there with ``chroot``.
Nothing is installed on the host.

Standard library only, so CI can prepare the root before any virtual environment exists:
``python3 dockerfix/verify/current_engine.py prepare`` (``status`` says whether it is ready). The folder is
``$DOCKERFIX_ENGINE_CACHE`` or ``/var/cache/dockerfix/trixie-engine``; a prepared root is reused by later runs.

The daemon needs its root to be a mount point (bound onto itself) with ``/proc``, ``/sys`` and ``/dev`` in it, or it
fails with ``remount /, flags: 0x84000: invalid argument``; ``mounted_root`` makes those mounts private to that
root and ``release_root`` undoes them all. Its network is a bridge of its own (``BRIDGE``): dockerd's default,
``docker0``, belongs to the host's 20.10 engine when that one runs too.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

CACHE_VARIABLE = "DOCKERFIX_ENGINE_CACHE"
DEFAULT_CACHE = Path("/var/cache/dockerfix/trixie-engine")
SUITE = "trixie"
PACKAGES = ("docker.io", "docker-cli", "docker-buildx", "ca-certificates", "iptables")
# Part of the readiness marker: a change to how the root is made makes every prepared root stale.
RECIPE = "1"
READY_MARKER = ".dockerfix-engine-ready"
BOOTSTRAPPED_MARKER = ".dockerfix-debootstrapped"
LOCAL_CA_FOLDER = Path("usr/local/share/ca-certificates")
BRIDGE = "dfx-trixie0"
BRIDGE_ADDRESS = "172.29.254.1/24"
# Keeps the packages' maintainer scripts from starting services inside the root.
POLICY_RC = "#!/bin/sh\nexit 101\n"


class EngineSetupError(Exception):
    """The current engine's root cannot be made or used here; the message says why."""


def cache_folder() -> Path:
    return Path(os.environ.get(CACHE_VARIABLE) or DEFAULT_CACHE)


def root_folder() -> Path:
    return cache_folder() / "rootfs"


def prepared_root() -> Path | None:
    """The root filesystem with the engine installed, or None when it has not been prepared (or is stale)."""
    marker = root_folder() / READY_MARKER
    try:
        return root_folder() if marker.read_text().strip() == RECIPE else None
    except OSError:
        return None


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt sources use (one-line ``deb`` entries or deb822 ``.sources``)."""
    files = [
        sources / "sources.list",
        *sorted((sources / "sources.list.d").glob("*.list")),
        *sorted((sources / "sources.list.d").glob("*.sources")),
    ]
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError:
            continue
        if file.suffix == ".sources":
            for paragraph in re.split(r"\n\s*\n", text):
                fields = dict(re.findall(r"^(\S+):\s*(.*)$", paragraph, re.MULTILINE))
                if "deb" in fields.get("Types", "").split() and "bookworm" in fields.get("Suites", "").split():
                    return fields["URIs"].split()[0]
        else:
            for line in text.splitlines():
                match = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s", line)
                if match:
                    return match.group(1)
    raise EngineSetupError("no Debian bookworm mirror in the apt sources")


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise EngineSetupError(f"{what} failed (status {done.returncode}): {done.stdout[-1500:]}{done.stderr[-1500:]}")


def _is_mount_point(path: Path) -> bool:
    return subprocess.run(["mountpoint", "--quiet", str(path)]).returncode == 0


def mounted_root(root: Path) -> None:
    """Bind ``root`` onto itself (private, so nothing below it reaches the host's mounts) with /proc, /sys, /dev."""
    if _is_mount_point(root):
        release_root(root)  # left by a daemon that was killed: ours, since the caller holds the root's lock
    _run(["mount", "--bind", str(root), str(root)], "binding the engine root onto itself")
    try:
        _run(["mount", "--make-private", str(root)], "making the engine root's mounts private")
        _run(["mount", "-t", "proc", "proc", str(root / "proc")], "mounting /proc in the engine root")
        for shared in ("sys", "dev"):
            # A recursive bind brings /sys/fs/cgroup and /dev/pts along; as slaves, unmounting them here never
            # unmounts the host's.
            _run(["mount", "--rbind", f"/{shared}", str(root / shared)], f"binding /{shared} into the engine root")
            _run(["mount", "--make-rslave", str(root / shared)], f"making /{shared} in the engine root a slave")
    except BaseException:
        release_root(root)
        raise


def release_root(root: Path) -> None:
    """Unmount everything at and below ``root`` (the daemon's overlays and namespaces included)."""
    subprocess.run(["umount", "--recursive", "--lazy", str(root)], capture_output=True)


def make_bridge() -> str:
    """The engine's own bridge, made afresh (a leftover of a killed daemon is deleted first)."""
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        delete_bridge()
    _run(["ip", "link", "add", "name", BRIDGE, "type", "bridge"], f"creating the bridge {BRIDGE}")
    try:
        _run(["ip", "address", "add", BRIDGE_ADDRESS, "dev", BRIDGE], f"addressing the bridge {BRIDGE}")
        _run(["ip", "link", "set", BRIDGE, "up"], f"bringing up the bridge {BRIDGE}")
    except EngineSetupError:
        delete_bridge()
        raise
    return BRIDGE


def delete_bridge(name: str = BRIDGE) -> None:
    subprocess.run(["ip", "link", "delete", name], capture_output=True)


def bridge_sent_bytes() -> int:
    """Bytes the host has sent into the bridge: what the engine's containers (build steps) downloaded."""
    return int(Path(f"/sys/class/net/{BRIDGE}/statistics/tx_bytes").read_text())


def _debootstrap(partial: Path) -> None:
    if (partial / BOOTSTRAPPED_MARKER).exists():
        return
    if partial.exists():  # an interrupted debootstrap: start over
        release_root(partial)
        shutil.rmtree(partial)
    _run(["debootstrap", "--variant=minbase", SUITE, str(partial), apt_mirror()], f"debootstrap {SUITE}")
    (partial / BOOTSTRAPPED_MARKER).touch()


def _install_engine(partial: Path) -> None:
    # Builds reach HTTPS through an intercepting proxy: the engine's root trusts the host's local authorities too.
    target = partial / LOCAL_CA_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    host_authorities = Path("/") / LOCAL_CA_FOLDER
    for certificate in host_authorities.glob("*.crt") if host_authorities.is_dir() else ():
        shutil.copyfile(certificate, target / certificate.name)
    shutil.copyfile("/etc/resolv.conf", partial / "etc/resolv.conf")
    policy = partial / "usr/sbin/policy-rc.d"
    policy.write_text(POLICY_RC)
    policy.chmod(0o755)
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    mounted_root(partial)
    try:
        for command in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES],
            ["apt-get", "clean"],
        ):
            done = subprocess.run(["chroot", str(partial), *command], capture_output=True, text=True, env=environment)
            if done.returncode != 0:
                raise EngineSetupError(
                    f"`{' '.join(command)}` in the engine root failed: {done.stdout[-1500:]}{done.stderr[-1500:]}"
                )
    finally:
        release_root(partial)


def prepare() -> Path:
    """Make the root filesystem with the engine once (debootstrap, then the packages); later calls return it."""
    ready = prepared_root()
    if ready is not None:
        return ready
    if os.geteuid() != 0:
        raise EngineSetupError("preparing the current engine needs root")
    if shutil.which("debootstrap") is None:
        raise EngineSetupError("debootstrap is not installed (apt-get install debootstrap)")
    root = root_folder()
    partial = root.with_name(root.name + ".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    if root.exists():  # stale recipe
        release_root(root)
        shutil.rmtree(root)
    _debootstrap(partial)
    _install_engine(partial)
    (partial / READY_MARKER).write_text(RECIPE + "\n")
    partial.rename(root)
    return root


def _raise_on_termination(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: list[str]) -> int:
    if argv == ["status"]:
        root = prepared_root()
        print(f"prepared: {root}" if root else f"not prepared ({root_folder()})")
        return 0 if root else 1
    if argv != ["prepare"]:
        print("usage: current_engine.py prepare|status", file=sys.stderr)
        return 2
    # `timeout` ends a slow setup with SIGTERM: unwinding runs the `finally` that unmounts.
    signal.signal(signal.SIGTERM, _raise_on_termination)
    started = time.monotonic()
    already = prepared_root() is not None
    try:
        root = prepare()
    except EngineSetupError as error:
        print(f"current engine not prepared: {error}", file=sys.stderr)
        return 1
    state = "already prepared" if already else "prepared"
    print(f"current engine {state} in {root} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
