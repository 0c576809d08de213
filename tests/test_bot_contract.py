"""Contract test: every request the real GitHub adapter sends is checked against GitHub's published OpenAPI description
(npm `@octokit/openapi`) by a validating mock server (npm `@stoplight/prism-cli`, `prism mock -d`), and the adapter
reads the mock's generated responses. `.ci/run` installs both into `.cache/contract/`; without them this is skipped."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import httpx
import pytest
from conftest import REPO
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dockerfix.bot.github import AppAuth, GitHub, TokenAuth

NODE_MODULES = REPO / ".cache" / "contract" / "node_modules"
PRISM = NODE_MODULES / ".bin" / "prism"
SPEC = NODE_MODULES / "@octokit" / "openapi" / "generated" / "api.github.com.json"
STARTUP_LIMIT_SECONDS = 300  # the description is 13 MB; prism takes about 35 s to load it

pytestmark = pytest.mark.skipif(
    not (PRISM.exists() and SPEC.exists()),
    reason=f"prism and GitHub's OpenAPI description are not installed in {NODE_MODULES} (`.ci/run` installs them with "
    "npm)",
)


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that keeps what prism said about each request."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[tuple[str, str, int, list[dict]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        violations = json.loads(response.headers.get("sl-violations", "[]"))
        self.exchanges.append((request.method, request.url.path, response.status_code, violations))
        return response


@pytest.fixture(scope="module")
def prism(tmp_path_factory):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(PRISM), "mock", "-d", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
        while "Prism is listening" not in log.read_text(errors="replace"):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"prism did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_every_request_of_the_adapter_matches_githubs_openapi_description(prism):
    transport = RecordingTransport()
    github = GitHub(TokenAuth("ghp_contract"), api_url=prism, transport=transport, max_attempts=1)
    repository = github.repository("octo/app")
    assert repository.clone_url and repository.default_branch
    github.pull_requests("octo/app", "dockerfix/optimize")
    pull = github.create_pull("octo/app", "dockerfix/optimize", "main", "build(docker): optimise", "body")
    github.update_pull("octo/app", pull.number, title="build(docker): optimise", body="new body")
    github.update_pull("octo/app", pull.number, state="closed", body="closed")
    github.comments("octo/app", pull.number)
    github.comment("octo/app", pull.number, "a comment")
    github.add_labels("octo/app", pull.number, ["dependencies"])
    github.request_reviewers("octo/app", pull.number, ["alice", "octo/platform"])

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    app = GitHub(AppAuth("4242", pem), api_url=prism, transport=transport, max_attempts=1)
    assert app.token_for("octo/app")

    assert len(transport.exchanges) == 11
    problems = [
        f"{method} {path}: HTTP {status} {[item['message'] for item in violations if item['location'][0] == 'request']}"
        for method, path, status, violations in transport.exchanges
        if not 200 <= status < 300 or any(item["location"][0] == "request" for item in violations)
    ]
    assert problems == []
