"""A private Docker engine for verify's own tests and benchmark: Debian's ``dockerd`` with its own data, state and
socket under one folder, and a Debian base image made with debootstrap (machines without Docker Hub).

Nothing here touches the machine's usual engine: the daemon has its own ``--data-root``, ``--exec-root``,
``--pidfile`` and unix socket, and it is stopped by its own process id.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import current_engine
from .current_engine import EngineSetupError, apt_mirror
from .engine import DockerClient, EngineError

DAEMON = "/usr/sbin/dockerd"
# Debian's docker.io client: it builds with BuildKit by itself, where newer clients need a buildx plugin.
PACKAGED_CLIENT = "/usr/bin/docker"
BASE_IMAGE = "debian:bookworm"
LOCAL_CA_FOLDER = Path("/usr/local/share/ca-certificates")
BASE_RECIPE = 1  # part of the cached tarball's name: a change to how the base is made invalidates the cache
# The official Debian images' apt setting: downloaded packages are deleted once installed, so they never
# reach a layer (without it every image built here would carry its .deb files).
DOCKER_CLEAN = (
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
    '/var/cache/apt/*.bin || true"; };\n'
    'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
    '/var/cache/apt/*.bin || true"; };\n'
    'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
)
STARTUP_SECONDS = 30
# One packaged daemon per machine at a time: two would share and then delete each other's docker0 bridge (the
# current engine has a lock and a bridge of its own).
LOCK_FILE = Path("/tmp/dockerfix-private-dockerd.lock")
ENGINES = ("auto", "current", "packaged")
LOCK_SECONDS = 900


STAND_IN_NAMESPACE = "dockerfix-verify-stand-in/"
# Stand-ins for the official Python images DF304's split template names, made from the Debian base with Debian's
# python3.11 (the version their tag says). Like the official images: a `python` command, no EXTERNALLY-MANAGED
# marker (their interpreter lives in /usr/local, where pip installs freely), LANG, CMD; the full image adds pip and
# the headers, the slim one has neither. The full one is built on the slim one to save a second interpreter download.
PYTHON_STAND_INS = (
    (
        "python:3.11-slim",
        "FROM debian:bookworm\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python-is-python3 \\\n"
        "    && rm -rf /var/lib/apt/lists/* /usr/lib/python3.11/EXTERNALLY-MANAGED\n"
        "ENV LANG=C.UTF-8\n"
        'CMD ["python3"]\n',
    ),
    (
        "python:3.11",
        "FROM python:3.11-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends python3-pip python3-dev \\\n"
        "    && rm -rf /var/lib/apt/lists/* /usr/lib/python3.11/EXTERNALLY-MANAGED\n",
    ),
)


class SandboxUnavailable(Exception):
    """The private engine cannot run here; the message says why (tests skip with it)."""


def cache_folder() -> Path:
    """Where the base image's tarball is kept between runs (debootstrap takes about 30 s)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "dockerfix"


def base_tarball(cache: Path | None = None) -> Path:
    """The packed root filesystem of a minimal Debian bookworm with the host's local CA certificates, made once."""
    cache = cache or cache_folder()
    tarball = cache / f"debian-bookworm-minbase-{BASE_RECIPE}.tar"
    if tarball.exists():
        return tarball
    if os.geteuid() != 0:
        raise SandboxUnavailable("making the base image with debootstrap needs root")
    if shutil.which("debootstrap") is None:
        raise SandboxUnavailable("debootstrap is not installed (apt-get install debootstrap)")
    try:
        mirror = apt_mirror()
    except EngineSetupError as error:
        raise SandboxUnavailable(str(error)) from None
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dockerfix-rootfs-") as folder:
        root = Path(folder) / "root"
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(root), mirror],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SandboxUnavailable(f"debootstrap failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        # Builds reach HTTPS through an intercepting proxy: once a Dockerfile installs ca-certificates, its
        # update-ca-certificates must find the proxy's authority in the same local folder as on the host.
        target = root / LOCAL_CA_FOLDER.relative_to("/")
        target.mkdir(parents=True, exist_ok=True)
        for certificate in LOCAL_CA_FOLDER.glob("*.crt") if LOCAL_CA_FOLDER.is_dir() else ():
            shutil.copyfile(certificate, target / certificate.name)
        (root / "etc/apt/apt.conf.d/docker-clean").write_text(DOCKER_CLEAN)
        # debootstrap leaves its downloads behind; official base images ship without them.
        for download in [*(root / "var/cache/apt/archives").glob("*.deb"), *(root / "var/lib/apt/lists").glob("*_*")]:
            download.unlink()
        partial = tarball.with_suffix(".partial")
        with partial.open("wb") as handle:
            subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=handle, check=True)
        partial.replace(tarball)
    return tarball


@dataclass
class PrivateDaemon:
    """A running ``dockerd`` of our own; ``stop`` ends it (by its pid), removes its folders and undoes the mounts and
    the bridge it made."""

    folder: Path
    process: subprocess.Popen
    client: DockerClient
    lock: int
    root: Path | None  # the current engine's root filesystem it runs in (chroot); None: the host's 20.10
    made_bridge: str | None  # a bridge made for it, deleted when it stops

    @classmethod
    def start(cls, engine: str = "auto") -> PrivateDaemon:
        """``engine``: ``current`` (Debian trixie's, from ``current_engine``'s prepared root), ``packaged`` (the
        host's docker.io 20.10) or ``auto`` (the current one when it is prepared, else the packaged one)."""
        if engine not in ENGINES:
            raise ValueError(f"engine {engine!r}: one of {', '.join(ENGINES)}")
        if os.geteuid() != 0:
            raise SandboxUnavailable("dockerd needs root")
        root = None if engine == "packaged" else current_engine.prepared_root()
        if engine == "current" and root is None:
            raise SandboxUnavailable(
                f"the current engine is not prepared in {current_engine.root_folder()} "
                "(python3 dockerfix/verify/current_engine.py prepare)"
            )
        for program in (PACKAGED_CLIENT,) if root else (DAEMON, PACKAGED_CLIENT):
            if not os.access(program, os.X_OK):
                raise SandboxUnavailable(f"{program} is missing (apt-get install docker.io)")
        lock = _wait_for_lock(LOCK_FILE if root is None else root.with_name("daemon.lock"))
        system_root = root or Path("/")
        # A short path: unix socket paths are limited to 107 bytes.
        folder = Path(tempfile.mkdtemp(prefix="dfx-", dir=system_root / "tmp"))
        seen_as = Path("/") / folder.relative_to(system_root)  # the folder as the daemon sees it
        command = [
            DAEMON,
            "--data-root",
            str(seen_as / "data"),
            "--exec-root",
            str(seen_as / "exec"),
            "--pidfile",
            str(seen_as / "dockerd.pid"),
            "--host",
            f"unix://{seen_as / 'docker.sock'}",
        ]
        if root is None:
            made_bridge = None if Path("/sys/class/net/docker0").exists() else "docker0"
        else:
            try:
                current_engine.mounted_root(root)
                made_bridge = current_engine.make_bridge()
            except EngineSetupError as error:
                current_engine.release_root(root)
                shutil.rmtree(folder, ignore_errors=True)
                os.close(lock)
                raise SandboxUnavailable(str(error)) from None
            command = ["chroot", str(root), *command, "--bridge", made_bridge]
        log = (folder / "dockerd.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        client = DockerClient(PACKAGED_CLIENT, f"unix://{folder / 'docker.sock'}")
        daemon = cls(folder, process, client, lock, root, made_bridge)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                tail = (folder / "dockerd.log").read_text(errors="replace")[-2000:]
                daemon.stop()
                raise SandboxUnavailable(f"dockerd exited with status {process.returncode}: {tail}")
            try:
                daemon.client.check()
                return daemon
            except EngineError:
                if time.monotonic() > deadline:
                    daemon.stop()
                    raise SandboxUnavailable(f"dockerd did not answer within {STARTUP_SECONDS} s") from None
                time.sleep(0.2)

    def load_base_image(self, tarball: Path) -> None:
        if not self.client.image_exists(BASE_IMAGE):
            self.client.import_tarball(tarball, BASE_IMAGE)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        subprocess.run(["umount", "--recursive", "--lazy", str(self.folder / "exec")], capture_output=True)
        subprocess.run(["umount", "--recursive", "--lazy", str(self.folder / "data")], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.root is not None:
            current_engine.release_root(self.root)
        if self.made_bridge:  # dockerd leaves the bridge behind; one that was there before is not ours
            current_engine.delete_bridge(self.made_bridge)
        os.close(self.lock)


def build_python_images(client: DockerClient) -> None:
    """Build the ``PYTHON_STAND_INS`` on the loaded base, once per daemon (its data root is new each time), under
    names of verify's own (``STAND_IN_NAMESPACE``), and point the tags Dockerfiles name at them on every call: another
    image tagged ``python:3.11-slim`` in the same engine (a benchmark's stand-in) is never taken for verify's."""
    with tempfile.TemporaryDirectory(prefix="dockerfix-stand-in-") as folder:
        for tag, text in PYTHON_STAND_INS:
            own = STAND_IN_NAMESPACE + tag
            if not client.image_exists(own):
                dockerfile = Path(folder) / "Dockerfile"
                dockerfile.write_text(text)
                client.build(dockerfile, Path(folder), own, f"stand-in {tag}")
            client.tag(own, tag)


def _wait_for_lock(path: Path) -> int:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_SECONDS
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return descriptor
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(descriptor)
                raise SandboxUnavailable(f"another private dockerd held {path} for {LOCK_SECONDS} s") from None
            time.sleep(1)
