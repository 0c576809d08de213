"""The Docker engine as verify uses it: through a ``docker`` client that builds with BuildKit, never through a
re-implementation of the build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

CLIENT_VARIABLE = "DOCKERFIX_DOCKER"
LOG_TAIL_LINES = 25
_VERTEX = re.compile(r"^#(\d+) (\[[^\]]*\] .*)$")
_STEP = re.compile(r"^\[(?:[^\]]* )?\d+/\d+\] (?!FROM )")
_STATUS = re.compile(r"^#(\d+) (CACHED|DONE [\d.]+s|ERROR: .*)$")
_LOG = re.compile(r"^#(\d+) [\d.]+ (.*)$")
# BuildKit prints the size it has sent so far in decimal units with four significant digits; the last line is the total
_CONTEXT_SENT = re.compile(r"^#\d+ (?:[\d.]+ )?transferring context: ([\d.]+)([kMGT]?B)\b", re.MULTILINE)
DECIMAL_UNITS = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


class EngineError(Exception):
    """The engine cannot be used (not installed, not reachable, a command failed); the message says which."""


class BuildFailed(EngineError):
    """A build failed: the step that failed and the end of its log."""

    def __init__(self, label: str, step: str | None, log_tail: str) -> None:
        self.label = label
        self.step = step
        self.log_tail = log_tail
        where = f"at `{step}`" if step else "before any step ran"
        super().__init__(f"the {label} Dockerfile failed to build {where}:\n{log_tail}")


@dataclass(frozen=True)
class BuildOutcome:
    image_id: str
    steps_run: tuple[str, ...] = field(default=())
    steps_cached: tuple[str, ...] = field(default=())
    context_bytes: int | None = None  # what the client sent of the build context, as BuildKit reports it
    seconds: float | None = None  # the build's wall-clock time, as the client waited for it


def context_sent(log: str) -> int | None:
    """The bytes of build context a build transferred (BuildKit's ``transferring context:`` line), None if not shown."""
    found = _CONTEXT_SENT.findall(log)
    if not found:
        return None
    number, unit = found[-1]
    return round(float(number) * DECIMAL_UNITS[unit])


def parse_progress(log: str) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """BuildKit's ``--progress=plain`` output: vertex names, their final status and their log lines, by vertex."""
    names: dict[str, str] = {}
    status: dict[str, str] = {}
    lines: dict[str, list[str]] = {}
    for line in log.splitlines():
        if match := _VERTEX.match(line):
            names.setdefault(match.group(1), match.group(2))
        elif match := _STATUS.match(line):
            status[match.group(1)] = match.group(2)
        elif match := _LOG.match(line):
            lines.setdefault(match.group(1), []).append(match.group(2))
    return names, status, lines


def build_outcome(image_id: str, log: str, seconds: float | None = None) -> BuildOutcome:
    """Which Dockerfile steps ran and which came from the cache (FROM and BuildKit's internal steps left out)."""
    names, status, _ = parse_progress(log)
    steps = [(name, status.get(vertex, "")) for vertex, name in names.items() if _STEP.match(name)]
    return BuildOutcome(
        image_id,
        tuple(name for name, state in steps if state != "CACHED"),
        tuple(name for name, state in steps if state == "CACHED"),
        context_sent(log),
        seconds,
    )


def failure_of(label: str, log: str) -> BuildFailed:
    names, status, lines = parse_progress(log)
    failed = next((vertex for vertex, state in status.items() if state.startswith("ERROR")), None)
    if failed is None:
        tail = log.strip().splitlines()[-LOG_TAIL_LINES:]
        return BuildFailed(label, None, "\n".join(tail))
    tail = lines.get(failed, [])[-LOG_TAIL_LINES:] + [status[failed]]
    return BuildFailed(label, names.get(failed), "\n".join(tail))


def default_client() -> str:
    """The ``docker`` client to call: ``$DOCKERFIX_DOCKER`` when set, else the one on PATH."""
    configured = os.environ.get(CLIENT_VARIABLE)
    if configured:
        return configured
    found = shutil.which("docker")
    if found is None:
        raise EngineError(f"no `docker` client on PATH (set {CLIENT_VARIABLE} to one that builds with BuildKit)")
    return found


@dataclass(frozen=True)
class DockerClient:
    """A ``docker`` client bound to one engine (``host`` like ``DOCKER_HOST``; None keeps the environment's)."""

    program: str
    host: str | None = None
    timeout: float | None = None  # seconds per command; None waits as long as the engine takes

    @classmethod
    def from_environment(cls) -> DockerClient:
        return cls(default_client())

    def _environment(self) -> dict[str, str]:
        environment = dict(os.environ, DOCKER_BUILDKIT="1")
        if self.host is not None:
            environment["DOCKER_HOST"] = self.host
        return environment

    def run(
        self, *arguments: str, stdin: IO[bytes] | None = None, stdout: int = subprocess.PIPE, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            done = subprocess.run(
                [self.program, *arguments],
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                env=self._environment(),
                timeout=self.timeout,
            )
        except OSError as error:
            raise EngineError(f"cannot run {self.program}: {error.strerror or error}") from None
        except subprocess.TimeoutExpired:
            raise EngineError(f"`docker {arguments[0]}` did not finish within {self.timeout:.0f} s") from None
        if check and done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip()
            raise EngineError(f"`docker {arguments[0]}` failed: {message}")
        return done

    def check(self) -> str:
        """The engine's version; ``EngineError`` saying why when it cannot be reached."""
        done = self.run("version", "--format", "{{.Server.Version}}", check=False)
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise EngineError(
                f"no Docker engine reachable through {self.program}: {message[-1] if message else 'no answer'}"
            )
        return done.stdout.decode().strip()

    def build(self, dockerfile: Path, context: Path, tag: str, label: str, use_cache: bool = True) -> BuildOutcome:
        """Build with BuildKit (``use_cache=False``: every step runs again); ``BuildFailed`` names the failing step
        and shows its log tail."""
        iidfile = dockerfile.with_name(dockerfile.name + ".iid")
        cache = () if use_cache else ("--no-cache",)
        started = time.monotonic()
        done = self.run(
            "build",
            "--progress=plain",
            *cache,
            "--file",
            str(dockerfile),
            "--tag",
            tag,
            "--iidfile",
            str(iidfile),
            str(context),
            check=False,
        )
        seconds = time.monotonic() - started
        log = done.stderr.decode("utf-8", "replace")
        if done.returncode != 0:
            if "buildx" in log or "--progress" in log:
                raise EngineError(f"{self.program} cannot build with BuildKit: {log.strip()[-500:]}")
            raise failure_of(label, log)
        image_id = iidfile.read_text().strip()
        iidfile.unlink()
        return build_outcome(image_id, log, seconds)

    def save(self, image: str, destination: Path) -> None:
        self.run("save", "--output", str(destination), image)

    def tag(self, image: str, tag: str) -> None:
        self.run("tag", image, tag)

    def image_exists(self, image: str) -> bool:
        return self.run("image", "inspect", image, check=False).returncode == 0

    def import_tarball(self, tarball: Path, tag: str) -> None:
        with tarball.open("rb") as handle:
            self.run("import", "-", tag, stdin=handle)

    def remove_images(self, *images: str) -> None:
        if images:
            self.run("image", "rm", "--force", *images, check=False)
