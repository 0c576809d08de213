"""dockerfix's own container image (docker/Dockerfile): clean under dockerfix with default settings, read by BuildKit's
parser, and built on the engine verify uses, then run on a Dockerfile.

No registry of base images is reachable here: the build's base (`PYTHON_IMAGE`) is a stand-in for python:3.12-slim
made from Debian's python3.11 and pip on the debootstrapped base verify uses, trusting the machine's certificate
authorities (as bench/effect.py's stand-ins do), so pip in the build reaches the package index. Skipped, with the
reason, where that engine cannot start; each docker command is bounded by ``COMMAND_SECONDS``. Measured here once
the engine was free: 2 s to load the base, 9 s for the stand-in, 6 s for the image, about 30 s for the module; the
engine's lock (one daemon per machine) can add the time another module holds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest
from conftest import REPO
from test_gate_packaging import EXTRA_ONLY
from test_verify_builds import engine_client

IMAGE_DOCKERFILE = REPO / "docker" / "Dockerfile"
IMAGE = "dockerfix-image-under-test"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
PIP_STAND_IN = "dockerfix-image-test/python-with-pip"
PIP_STAND_IN_DOCKERFILE = (
    "FROM debian:bookworm\n"
    "RUN apt-get update \\\n"
    "    && apt-get install -y --no-install-recommends ca-certificates python3 python3-pip python-is-python3 \\\n"
    "    && rm -rf /var/lib/apt/lists/* /usr/lib/python3.11/EXTERNALLY-MANAGED\n"
    f"ENV PIP_CERT={CA_BUNDLE}\n"
)
WASTEFUL = "FROM debian:bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n"


def test_the_image_s_dockerfile_is_clean_under_dockerfix_with_default_settings():
    result = subprocess.run(
        [sys.executable, "-m", "dockerfix", "--check", str(IMAGE_DOCKERFILE)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_buildkit_s_parser_reads_the_image_s_dockerfile():
    commands = [command.cmd for command in dockerfile.parse_file(str(IMAGE_DOCKERFILE))]
    assert commands.count("FROM") == 2 and commands[-1] == "ENTRYPOINT"


@pytest.fixture(scope="module")
def client():
    yield from engine_client("auto")


@pytest.fixture(scope="module")
def image(client, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("stand-in")
    (folder / "Dockerfile").write_text(PIP_STAND_IN_DOCKERFILE)
    client.build(folder / "Dockerfile", folder, PIP_STAND_IN, "stand-in python with pip")
    client.run(
        "build", "--progress=plain", "--build-arg", f"PYTHON_IMAGE={PIP_STAND_IN}",
        "--build-arg", "SETUPTOOLS_SCM_PRETEND_VERSION=9.8.7",
        "--file", str(IMAGE_DOCKERFILE), "--tag", IMAGE, str(REPO),
    )  # fmt: skip
    return IMAGE


def _run(client, tmp_path: Path, *arguments: str, stdin: str = "") -> subprocess.CompletedProcess[bytes]:
    given = tmp_path / "stdin"
    given.write_text(stdin)
    with given.open("rb") as handle:
        return client.run("run", "--rm", "--interactive", "--network", "none", *arguments, stdin=handle, check=False)


@pytest.mark.verify_build
def test_the_built_image_runs_dockerfix_on_a_dockerfile(client, image, tmp_path):
    version = _run(client, tmp_path, image, "--version")
    assert version.stdout.decode().strip() == "dockerfix 9.8.7", version.stderr
    fixed = _run(client, tmp_path, image, "check", "--unsafe-fixes", "--stdin-filename", "Dockerfile", "-",
                 stdin=WASTEFUL)  # fmt: skip
    assert fixed.returncode == 1, fixed.stderr
    assert "Dockerfile:2:5: DF102 " in fixed.stderr.decode()
    assert "--mount=type=cache,target=/var/lib/apt/lists" in fixed.stdout.decode()


@pytest.mark.verify_build
def test_the_image_holds_the_cli_s_dependencies_and_not_the_wheel(client, image, tmp_path):
    listed = _run(client, tmp_path, "--entrypoint", "python", image, "-m", "pip", "list", "--format=freeze")
    installed = {line.split("==")[0].lower() for line in listed.stdout.decode().splitlines()}
    assert "dockerfix" in installed and "libcst" in installed
    assert not installed & EXTRA_ONLY
    assert _run(client, tmp_path, "--entrypoint", "ls", image, "/wheels").returncode != 0
