"""The GitHub REST adapter: the few endpoints the bot needs, read as raw JSON (only the fields used), with retries
that honour ``Retry-After`` and the rate-limit headers, and secrets redacted from every error."""

from __future__ import annotations

import base64
import email.utils
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import jwt

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
ACCEPT = "application/vnd.github+json, application/json;q=0.9"
RETRIED_STATUSES = {500, 502, 503, 504}
LONGEST_WAIT_SECONDS = 300.0
TOKEN_REFRESH_MARGIN_SECONDS = 300
# where the secrets come from; no process the bot starts inherits them
SECRET_VARIABLES = ("GITHUB_TOKEN", "GITHUB_APP_PRIVATE_KEY")


class GitHubError(Exception):
    """A request that failed for good; the message never holds a secret."""

    def __init__(self, message: str, status: int | None = None, payload: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.payload = payload


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret, and its base64 forms as sent in an HTTP header, replaced by ``***``."""
    for secret in secrets:
        if not secret:
            continue
        for form in (secret, base64.b64encode(f"x-access-token:{secret}".encode()).decode()):
            text = text.replace(form, "***")
    return text


@dataclass(frozen=True)
class Repository:
    full_name: str
    clone_url: str
    default_branch: str


@dataclass(frozen=True)
class PullRequest:
    number: int
    state: str
    merged: bool
    title: str
    body: str
    url: str

    @classmethod
    def of(cls, data: dict) -> PullRequest:
        return cls(
            number=int(data["number"]),
            state=str(data.get("state", "open")),
            merged=bool(data.get("merged_at")),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            url=str(data.get("html_url") or ""),
        )


@dataclass(frozen=True)
class TokenAuth:
    """A personal access token or the token a workflow run receives."""

    token: str


@dataclass(frozen=True)
class AppAuth:
    """A GitHub App: its id and private key sign a JWT that buys installation tokens; without an installation id,
    each repository's installation is looked up."""

    app_id: str
    private_key: str
    installation_id: str | None = None


class GitHub:
    def __init__(
        self,
        auth: TokenAuth | AppAuth,
        api_url: str = DEFAULT_API_URL,
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.auth = auth
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.clock = clock
        self.secrets: list[str] = [auth.token] if isinstance(auth, TokenAuth) else [auth.private_key]
        self.installation_tokens: dict[str, tuple[str, float]] = {}
        self.client = httpx.Client(
            base_url=api_url.rstrip("/"),
            transport=transport,
            timeout=httpx.Timeout(30.0),
            # GitHub documents its own media type; its OpenAPI description declares only application/json
            headers={"Accept": ACCEPT, "X-GitHub-Api-Version": API_VERSION, "User-Agent": "dockerfix-bot"},
        )

    def close(self) -> None:
        self.client.close()

    # Authentication

    def _app_jwt(self) -> str:
        assert isinstance(self.auth, AppAuth)
        now = int(self.clock())
        # iat in the past absorbs clock drift; GitHub refuses an expiry more than ten minutes ahead
        token = jwt.encode(
            {"iat": now - 60, "exp": now + 540, "iss": self.auth.app_id}, self.auth.private_key, algorithm="RS256"
        )
        self.secrets.append(token)
        return token

    def _installation_id(self, full_name: str) -> str:
        assert isinstance(self.auth, AppAuth)
        if self.auth.installation_id:
            return self.auth.installation_id
        data = self._request(
            "GET", f"/repos/{full_name}/installation", authorization=f"Bearer {self._app_jwt()}"
        ).json()
        return str(data["id"])

    def token_for(self, full_name: str) -> str:
        """The token that acts on ``full_name`` (the API and git pushes use the same one)."""
        if isinstance(self.auth, TokenAuth):
            return self.auth.token
        installation = self._installation_id(full_name)
        cached = self.installation_tokens.get(installation)
        if cached and cached[1] - TOKEN_REFRESH_MARGIN_SECONDS > self.clock():
            return cached[0]
        response = self._request(
            "POST", f"/app/installations/{installation}/access_tokens", authorization=f"Bearer {self._app_jwt()}"
        )
        data = response.json()
        token = str(data["token"])
        self.secrets.append(token)
        self.installation_tokens[installation] = (token, _timestamp(data.get("expires_at"), self.clock() + 3600))
        return token

    # Requests

    def _request(self, method: str, path: str, authorization: str, **options: Any) -> httpx.Response:
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.client.request(method, path, headers={"Authorization": authorization}, **options)
            except httpx.TransportError as error:
                if attempt == self.max_attempts:
                    raise GitHubError(
                        redact(f"{method} {path}: {type(error).__name__}: {error}", self.secrets)
                    ) from None
                self.sleep(_backoff(attempt))
                continue
            wait = self._wait_before_retry(response, attempt)
            if wait is None:
                break
            self.sleep(wait)
        if response.is_success:
            return response
        raise self._error(method, path, response)

    def _wait_before_retry(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before trying again, or None when this response is final."""
        if attempt == self.max_attempts:
            return None
        status = response.status_code
        rate_limited = status == 429 or (
            status == 403
            and (response.headers.get("retry-after") or response.headers.get("x-ratelimit-remaining") == "0")
        )
        if not rate_limited and status not in RETRIED_STATUSES:
            return None
        wait = _backoff(attempt)
        retry_after = response.headers.get("retry-after")
        if retry_after:
            wait = max(wait, _seconds_until(retry_after, self.clock()))
        elif (
            response.headers.get("x-ratelimit-remaining") == "0"
            and response.headers.get("x-ratelimit-reset", "").isdigit()
        ):
            wait = max(wait, int(response.headers["x-ratelimit-reset"]) - self.clock() + 1)
        return wait if wait <= LONGEST_WAIT_SECONDS else None

    def _error(self, method: str, path: str, response: httpx.Response) -> GitHubError:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        message = payload.get("message") if isinstance(payload, dict) else None
        details = ""
        if isinstance(payload, dict) and isinstance(payload.get("errors"), list):
            details = "; ".join(
                str(item.get("message") or item.get("code")) if isinstance(item, dict) else str(item)
                for item in payload["errors"]
            )
        text = (
            f"{method} {path}: HTTP {response.status_code}"
            + (f": {message}" if message else "")
            + (f" ({details})" if details else "")
        )
        if response.headers.get("x-ratelimit-remaining") == "0":
            text += f"; rate limit exhausted until {response.headers.get('x-ratelimit-reset', '?')} (epoch seconds)"
        return GitHubError(redact(text, self.secrets), response.status_code, payload)

    def _call(self, full_name: str, method: str, path: str, **options: Any) -> httpx.Response:
        return self._request(method, path, authorization=f"Bearer {self.token_for(full_name)}", **options)

    def _pages(self, full_name: str, path: str, params: dict) -> Iterator[dict]:
        """Every item of a paginated list, following the ``Link: rel="next"`` headers."""
        response = self._call(full_name, "GET", path, params={**params, "per_page": 100})
        while True:
            yield from response.json()
            following = response.links.get("next", {}).get("url")
            # the token goes only to the API it is for, whatever a response links to
            if not following or httpx.URL(following).netloc != self.client.base_url.netloc:
                return
            response = self._call(full_name, "GET", following)

    # Endpoints

    def repository(self, full_name: str) -> Repository:
        data = self._call(full_name, "GET", f"/repos/{full_name}").json()
        return Repository(
            full_name=full_name, clone_url=str(data["clone_url"]), default_branch=str(data["default_branch"])
        )

    def pull_requests(self, full_name: str, branch: str) -> list[PullRequest]:
        """Every pull request from ``branch`` of this repository, open or closed, newest first."""
        owner = full_name.split("/", 1)[0]
        params = {"head": f"{owner}:{branch}", "state": "all", "sort": "created", "direction": "desc"}
        return [PullRequest.of(item) for item in self._pages(full_name, f"/repos/{full_name}/pulls", params)]

    def create_pull(self, full_name: str, branch: str, base: str, title: str, body: str) -> PullRequest:
        payload = {"title": title, "head": branch, "base": base, "body": body, "maintainer_can_modify": True}
        return PullRequest.of(self._call(full_name, "POST", f"/repos/{full_name}/pulls", json=payload).json())

    def update_pull(self, full_name: str, number: int, **fields: str) -> None:
        self._call(full_name, "PATCH", f"/repos/{full_name}/pulls/{number}", json=fields)

    def comments(self, full_name: str, number: int) -> list[str]:
        return [
            str(item.get("body") or "")
            for item in self._pages(full_name, f"/repos/{full_name}/issues/{number}/comments", {})
        ]

    def comment(self, full_name: str, number: int, body: str) -> None:
        self._call(full_name, "POST", f"/repos/{full_name}/issues/{number}/comments", json={"body": body})

    def add_labels(self, full_name: str, number: int, labels: Iterable[str]) -> None:
        self._call(full_name, "POST", f"/repos/{full_name}/issues/{number}/labels", json={"labels": list(labels)})

    def request_reviewers(self, full_name: str, number: int, reviewers: Iterable[str]) -> None:
        """Users by login, teams as ``org/team-slug`` (GitHub wants only the slug)."""
        users = [name for name in reviewers if "/" not in name]
        teams = [name.split("/", 1)[1] for name in reviewers if "/" in name]
        payload = {"reviewers": users, "team_reviewers": teams}
        self._call(full_name, "POST", f"/repos/{full_name}/pulls/{number}/requested_reviewers", json=payload)


def _backoff(attempt: int) -> float:
    return min(60.0, 2.0 ** (attempt - 1))


def _seconds_until(retry_after: str, now: float) -> float:
    """``Retry-After`` is either seconds or an HTTP date."""
    if retry_after.strip().isdigit():
        return float(retry_after)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(retry_after).timestamp() - now)
    except (TypeError, ValueError):
        return 0.0


def _timestamp(text: Any, default: float) -> float:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return default
