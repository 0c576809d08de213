"""The GitHub adapter on its own: retries and rate limits, GitHub App authentication, pagination, and secrets kept
out of errors, git remotes and files on disk."""

from __future__ import annotations

import httpx
import pytest
from bot_fake_github import ASKS_FOR_MERGES, MERGEABLE, REPO, TOKEN, FakeGitHub, Remote, git
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from dockerfix.bot.command import main
from dockerfix.bot.git import GitError, Identity, Workspace
from dockerfix.bot.github import GitHub, GitHubError, TokenAuth, redact

NOW = 1_700_000_000.0


def adapter(forge: FakeGitHub, sleeps: list[float], auth=None) -> GitHub:
    return GitHub(auth or TokenAuth(TOKEN), transport=forge.transport(), sleep=sleeps.append, clock=lambda: NOW)


@pytest.fixture
def forge(tmp_path):
    fake = FakeGitHub(TOKEN)
    fake.host(REPO, Remote(tmp_path, {"Dockerfile": MERGEABLE, **ASKS_FOR_MERGES}).bare)
    return fake


def test_transient_errors_are_retried_with_backoff(forge):
    sleeps: list[float] = []
    forge.faults = [httpx.Response(502), httpx.Response(503)]
    assert adapter(forge, sleeps).repository(REPO).default_branch == "main"
    assert sleeps == [1.0, 2.0]


def test_retry_after_and_rate_limit_reset_are_honoured(forge):
    sleeps: list[float] = []
    forge.faults = [
        httpx.Response(403, headers={"retry-after": "7"}, json={"message": "You have exceeded a secondary rate limit"}),
        httpx.Response(429, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 30)}),
    ]
    assert adapter(forge, sleeps).repository(REPO).full_name == REPO
    assert sleeps == [7.0, 31.0]


def test_a_rate_limit_too_far_away_and_client_errors_fail_at_once(forge):
    sleeps: list[float] = []
    reset = str(int(NOW) + 3600)
    forge.faults = [
        httpx.Response(
            403,
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
            json={"message": "API rate limit exceeded"},
        )
    ]
    with pytest.raises(GitHubError, match=f"HTTP 403: API rate limit exceeded; rate limit exhausted until {reset}"):
        adapter(forge, sleeps).repository(REPO)
    with pytest.raises(GitHubError, match="HTTP 404"):
        adapter(forge, sleeps).repository("octo/missing")
    assert sleeps == []


def test_lists_follow_pagination(forge):
    github = adapter(forge, [])
    for number in range(1, 106):
        forge.pulls(REPO).append(
            {"number": number, "state": "closed", "head": {"ref": "dockerfix/optimize"}, "base": {"ref": "main"}}
        )
    pulls = github.pull_requests(REPO, "dockerfix/optimize")
    assert [pull.number for pull in pulls] == list(range(105, 0, -1))
    assert [path for _, path, _ in forge.requests].count(f"/repos/{REPO}/pulls") == 2


def test_a_next_link_to_another_host_is_not_followed(forge):
    github = adapter(forge, [])
    forge.faults = [
        httpx.Response(200, json=[], headers={"link": '<https://elsewhere.invalid/steal?page=2>; rel="next"'})
    ]
    assert github.pull_requests(REPO, "dockerfix/optimize") == []
    assert len(forge.requests) == 1


def test_secrets_are_redacted_from_errors(forge):
    forge.faults = [httpx.Response(401, json={"message": f"Bad credentials: Bearer {TOKEN}"})]
    with pytest.raises(GitHubError) as raised:
        adapter(forge, []).repository(REPO)
    assert TOKEN not in str(raised.value) and "Bearer ***" in str(raised.value)
    assert redact(f"x {TOKEN} y", [TOKEN]) == "x *** y"


def test_github_app_signs_a_jwt_and_uses_an_installation_token(tmp_path, monkeypatch, capsys):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    fake = FakeGitHub("a-token-nobody-has", app=("4242", public, "77"))
    fake.host(REPO, Remote(tmp_path, {"Dockerfile": MERGEABLE, **ASKS_FOR_MERGES}).bare)
    key_file = tmp_path / "app.pem"
    key_file.write_text(private)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_APP_ID", "4242")
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY_FILE", str(key_file))
    monkeypatch.delenv("GITHUB_APP_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("GITHUB_APP_INSTALLATION_ID", raising=False)
    assert main(["--repo", REPO], transport=fake.transport()) == 0
    assert capsys.readouterr().out.startswith(f"{REPO}: opened")
    paths = [path for _, path, _ in fake.requests]
    assert paths[:2] == [f"/repos/{REPO}/installation", "/app/installations/77/access_tokens"]
    assert paths.count("/app/installations/77/access_tokens") == 1  # the token is reused until it nears expiry
    assert {
        auth for _, path, auth in fake.requests if path.startswith("/repos/") and not path.endswith("/installation")
    } == {"Bearer ghs_installation_token_1"}


def test_the_token_reaches_git_through_the_environment_only(tmp_path):
    remote = Remote(tmp_path, {"Dockerfile": MERGEABLE, **ASKS_FOR_MERGES})
    workspace = Workspace(tmp_path / "work", remote.bare.as_uri(), Identity.parse("bot <bot@x.invalid>"), TOKEN)
    workspace.prepare()
    workspace.fetch({"main": "refs/dockerfix/base"})
    assert TOKEN not in workspace.output("config", "--list", "--show-origin")  # nothing configured on disk
    assert all(
        TOKEN not in path.read_bytes().decode("latin-1") for path in (tmp_path / "work").rglob("*") if path.is_file()
    )
    header = workspace.output("config", "--get", f"http.{remote.bare.as_uri()}.extraHeader")
    assert header.startswith("AUTHORIZATION: basic ") and TOKEN not in header


def test_git_errors_are_redacted(tmp_path):
    workspace = Workspace(
        tmp_path / "work", f"{tmp_path}/no-such-{TOKEN}.git", Identity.parse("bot <bot@x.invalid>"), TOKEN
    )
    workspace.prepare()
    with pytest.raises(GitError) as raised:
        workspace.remote_heads(["main"])
    assert TOKEN not in str(raised.value) and "no-such-***" in str(raised.value)
    assert git(tmp_path / "work", "config", "--list", "--local").count("remote.") == 0
