"""An in-process GitHub for the bot's tests: the REST endpoints the bot uses, with GitHub's documented semantics (422
for a second open pull request from one head, for a head branch that does not exist or has no commits over the base;
closed and merged states; comments, labels, requested reviewers; tokens and GitHub App JWTs checked), over real bare
git repositories served by ``file://`` URLs. It answers through an httpx transport, so the real adapter talks to it."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import jwt
import pytest

from dockerfix.bot.command import main

REPO = "octo/app"
TOKEN = "ghp_fake_token_0123456789"
MERGEABLE = "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n"
MERGED = "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app \\\n    && chmod 755 /app\n"
CLEAN = "FROM debian:bookworm\nCOPY . /app\n"
# A merge saves only a layer: a repository that asks for DF101 by its code gets merges applied (min-gain).
NAMED_MERGES = '[tool.dockerfix]\nextend-select = ["DF101"]\n'
ASKS_FOR_MERGES = {"pyproject.toml": NAMED_MERGES}
BOT_CONFIG = NAMED_MERGES + '[tool.dockerfix.bot]\nlabels = ["dependencies"]\nreviewers = ["alice", "octo/platform"]\n'

HUMAN = ["-c", "user.name=A Human", "-c", "user.email=human@example.invalid"]


def git(directory: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", *HUMAN, *arguments], cwd=directory, check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL
    ).stdout


class Remote:
    """A bare repository and a human's clone of it."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.bare = root / "remote.git"
        self.human = root / "human"
        git(root, "init", "-q", "--bare", "-b", "main", str(self.bare))
        git(root, "clone", "-q", self.bare.as_uri(), str(self.human))
        git(self.human, "symbolic-ref", "HEAD", "refs/heads/main")
        self.commit(files, "initial")

    def commit(self, files: dict[str, str], message: str, branch: str = "main") -> str:
        git(self.human, "fetch", "-q", "origin")
        if self.has(branch):
            git(self.human, "checkout", "-q", "-B", branch, f"origin/{branch}")
        for name, text in files.items():
            path = self.human / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.human, "add", "-A")
        git(self.human, "commit", "-q", "-m", message)
        git(self.human, "push", "-q", "origin", branch)
        return self.tip(branch)

    def has(self, branch: str) -> bool:
        return bool(git(self.bare, "branch", "--list", branch).strip())

    def tip(self, branch: str) -> str:
        return git(self.bare, "rev-parse", branch).strip()

    def show(self, branch: str, path: str) -> str:
        return git(self.bare, "show", f"{branch}:{path}")

    def log(self, branch: str) -> list[str]:
        return git(self.bare, "log", "--format=%ce %s", branch).splitlines()


@dataclass
class Hosted:
    bare: Path
    default_branch: str
    pulls: list[dict] = field(default_factory=list)
    comments: dict[int, list[dict]] = field(default_factory=dict)


class FakeGitHub:
    def __init__(self, token: str = TOKEN, app: tuple[str, str, str] | None = None) -> None:
        self.tokens = {token}
        self.app = app  # (app id, public key PEM, installation id)
        self.hosted: dict[str, Hosted] = {}
        self.requests: list[tuple[str, str, str]] = []  # method, path, the Authorization header
        self.faults: list[httpx.Response] = []
        self.counter = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def host(self, full_name: str, bare: Path, default_branch: str = "main") -> None:
        self.hosted[full_name] = Hosted(bare, default_branch)

    # What humans do on the web

    def close(self, full_name: str, number: int) -> None:
        self._pull(full_name, number)["state"] = "closed"

    def merge(self, full_name: str, number: int) -> None:
        hosted = self.hosted[full_name]
        pull = self._pull(full_name, number)
        with tempfile.TemporaryDirectory() as scratch:
            git(Path(scratch), "clone", "-q", "-b", pull["base"]["ref"], hosted.bare.as_uri(), "work")
            work = Path(scratch) / "work"
            git(work, "fetch", "-q", "origin", pull["head"]["ref"])
            git(work, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{number}", "FETCH_HEAD")
            git(work, "push", "-q", "origin", pull["base"]["ref"])
        pull.update(state="closed", merged_at="2026-01-01T00:00:00Z")

    def pulls(self, full_name: str) -> list[dict]:
        return self.hosted[full_name].pulls

    def comments(self, full_name: str, number: int) -> list[str]:
        return [comment["body"] for comment in self.hosted[full_name].comments.get(number, [])]

    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _ in self.requests if method != "GET"]

    # The API

    def handle(self, request: httpx.Request) -> httpx.Response:
        authorization = request.headers.get("authorization", "")
        self.requests.append((request.method, request.url.path, authorization))
        if self.faults:
            return self.faults.pop(0)
        path, method = request.url.path, request.method
        if path.startswith("/app/") or path.endswith("/installation"):
            return self._app(request, method, path, authorization)
        if authorization.removeprefix("Bearer ") not in self.tokens:
            return _json(401, {"message": "Bad credentials"})
        body = json.loads(request.content) if request.content else {}
        query = {key: values[0] for key, values in parse_qs(request.url.query.decode()).items()}
        routes: list[tuple[str, str, Callable[..., httpx.Response]]] = [
            ("GET", r"/repos/([^/]+/[^/]+)", self._repository),
            ("GET", r"/repos/([^/]+/[^/]+)/pulls", self._list_pulls),
            ("POST", r"/repos/([^/]+/[^/]+)/pulls", self._create_pull),
            ("PATCH", r"/repos/([^/]+/[^/]+)/pulls/(\d+)", self._update_pull),
            ("POST", r"/repos/([^/]+/[^/]+)/pulls/(\d+)/requested_reviewers", self._request_reviewers),
            ("GET", r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", self._list_comments),
            ("POST", r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", self._comment),
            ("POST", r"/repos/([^/]+/[^/]+)/issues/(\d+)/labels", self._labels),
        ]
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                if match.group(1) not in self.hosted:
                    break
                return handler(self.hosted[match.group(1)], *match.groups(), body=body, query=query, request=request)
        return _json(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def _app(self, request: httpx.Request, method: str, path: str, authorization: str) -> httpx.Response:
        if self.app is None:
            return _json(404, {"message": "Not Found"})
        app_id, public_key, installation = self.app
        try:
            claims = jwt.decode(authorization.removeprefix("Bearer "), public_key, algorithms=["RS256"])
        except jwt.PyJWTError as error:
            return _json(401, {"message": f"A JSON web token could not be decoded: {error}"})
        if str(claims.get("iss")) != app_id or claims["exp"] - claims["iat"] > 600:
            return _json(401, {"message": "'Expiration time' claim ('exp') is too far in the future"})
        if method == "GET" and re.fullmatch(r"/repos/[^/]+/[^/]+/installation", path):
            return _json(200, {"id": int(installation), "app_id": int(app_id)})
        if method == "POST" and path == f"/app/installations/{installation}/access_tokens":
            self.counter += 1
            token = f"ghs_installation_token_{self.counter}"
            self.tokens.add(token)
            return _json(201, {"token": token, "expires_at": "2999-01-01T00:00:00Z"})
        return _json(404, {"message": "Not Found"})

    def _repository(self, hosted: Hosted, full_name: str, **_) -> httpx.Response:
        return _json(
            200, {"full_name": full_name, "default_branch": hosted.default_branch, "clone_url": hosted.bare.as_uri()}
        )

    def _list_pulls(self, hosted: Hosted, full_name: str, query: dict, request: httpx.Request, **_) -> httpx.Response:
        owner = full_name.split("/")[0]
        state = query.get("state", "open")
        found = [
            pull
            for pull in hosted.pulls
            if (state == "all" or pull["state"] == state)
            and ("head" not in query or query["head"] == f"{owner}:{pull['head']['ref']}")
        ]
        found.sort(key=lambda pull: pull["number"], reverse=query.get("direction", "desc") == "desc")
        per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
        headers = {}
        if len(found) > page * per_page:
            following = request.url.copy_merge_params({"page": page + 1})
            headers["link"] = f'<{following}>; rel="next"'
        return _json(200, found[(page - 1) * per_page : page * per_page], headers)

    def _create_pull(self, hosted: Hosted, full_name: str, body: dict, **_) -> httpx.Response:
        missing = [key for key in ("head", "base") if not body.get(key)]
        if missing or not body.get("title"):
            return _invalid(
                [{"resource": "PullRequest", "field": key, "code": "missing_field"} for key in missing or ["title"]]
            )
        head, base = body["head"], body["base"]
        heads = _heads(hosted.bare)
        if head not in heads:
            return _invalid([{"resource": "PullRequest", "field": "head", "code": "invalid"}])
        if any(
            pull["state"] == "open" and pull["head"]["ref"] == head and pull["base"]["ref"] == base
            for pull in hosted.pulls
        ):
            owner = full_name.split("/")[0]
            return _invalid(
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {owner}:{head}.",
                    }
                ]
            )
        if not git(hosted.bare, "rev-list", f"{base}..{head}").strip():
            return _invalid(
                [{"resource": "PullRequest", "code": "custom", "message": f"No commits between {base} and {head}"}]
            )
        self.counter += 1
        pull = {
            "number": self.counter,
            "state": "open",
            "title": body["title"],
            "body": body.get("body") or "",
            "head": {"ref": head},
            "base": {"ref": base},
            "merged_at": None,
            "html_url": f"https://fake.invalid/{full_name}/pull/{self.counter}",
            "labels": [],
            "requested_reviewers": [],
            "requested_teams": [],
        }
        hosted.pulls.append(pull)
        return _json(201, pull)

    def _pull(self, full_name: str, number: int) -> dict:
        return next(pull for pull in self.hosted[full_name].pulls if pull["number"] == number)

    def _update_pull(self, hosted: Hosted, full_name: str, number: str, body: dict, **_) -> httpx.Response:
        pull = self._pull(full_name, int(number))
        if body.get("state") not in (None, "open", "closed"):
            return _invalid([{"resource": "PullRequest", "field": "state", "code": "invalid"}])
        pull.update({key: body[key] for key in ("title", "body", "state") if key in body})
        return _json(200, pull)

    def _request_reviewers(self, hosted: Hosted, full_name: str, number: str, body: dict, **_) -> httpx.Response:
        pull = self._pull(full_name, int(number))
        pull["requested_reviewers"] += [{"login": login} for login in body.get("reviewers", [])]
        pull["requested_teams"] += [{"slug": slug} for slug in body.get("team_reviewers", [])]
        return _json(201, pull)

    def _list_comments(self, hosted: Hosted, full_name: str, number: str, **_) -> httpx.Response:
        return _json(200, hosted.comments.get(int(number), []))

    def _comment(self, hosted: Hosted, full_name: str, number: str, body: dict, **_) -> httpx.Response:
        comment = {"id": len(hosted.comments.get(int(number), [])) + 1, "body": body["body"]}
        hosted.comments.setdefault(int(number), []).append(comment)
        return _json(201, comment)

    def _labels(self, hosted: Hosted, full_name: str, number: str, body: dict, **_) -> httpx.Response:
        pull = self._pull(full_name, int(number))
        for name in body.get("labels", []):
            if name not in [label["name"] for label in pull["labels"]]:
                pull["labels"].append({"name": name})
        return _json(200, pull["labels"])


def _heads(bare: Path) -> set[str]:
    return {
        line.split("\t")[1].removeprefix("refs/heads/") for line in git(bare, "ls-remote", "--heads", ".").splitlines()
    }


def _json(status: int, payload, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, json=payload, headers=headers or {})


def _invalid(errors: list[dict]) -> httpx.Response:
    return _json(
        422, {"message": "Validation Failed", "errors": errors, "documentation_url": "https://docs.github.com/rest"}
    )


# The fixtures of the bot's end-to-end tests: a repository with one mergeable Dockerfile, hosted by the fake GitHub


@pytest.fixture
def remote(tmp_path):
    return Remote(tmp_path, {"Dockerfile": MERGEABLE, "web/Dockerfile": CLEAN, "pyproject.toml": BOT_CONFIG})


@pytest.fixture
def forge(remote, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    for name in (
        "GITHUB_APP_ID",
        "GITHUB_APP_PRIVATE_KEY",
        "GITHUB_APP_PRIVATE_KEY_FILE",
        "GITHUB_APP_INSTALLATION_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    fake = FakeGitHub(TOKEN)
    fake.host(REPO, remote.bare)
    return fake


def bot(forge: FakeGitHub, capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(["--repo", REPO, *arguments], transport=forge.transport())
    captured = capsys.readouterr()
    return code, captured.out, captured.err
