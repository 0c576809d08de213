"""git as a subprocess, cut off from the machine's git configuration and never running code from the repository.

The bot works in a private repository of its own, whose configuration it writes. The repository it fixes is only
ever reached as a remote: over HTTPS, or, for a clone given by path, by the two programs git starts inside that clone.
upload-pack (fetch, ls-remote) is the side git guarantees safe in an untrusted repository (it is how
`git clone --no-local` makes a sanitised copy). receive-pack (push) is not: it reads the clone's configuration, and
git has no switch that skips a repository's own configuration, so it is started with overrides for everything that
configuration could make it run. tests/test_bot_security.py sets every key git documents as running a command in a
clone, and checks that none runs."""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .github import SECRET_VARIABLES, redact

HARDENING = (
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.fsmonitor=false",
    "-c", "protocol.ext.allow=never",
    "-c", "submodule.recurse=false",
    "-c", "advice.detachedHead=false",
)  # fmt: skip
# git clears `-c` settings before starting receive-pack in a local repository, so it gets its own (over HTTPS the
# forge ignores them): no hooks (receive-pack's, and those of the gc it starts), no command listing the refs of
# alternate object stores, and no checkout into the clone's working tree (which `receive.denyCurrentBranch =
# updateInstead` asks for) that would run its filters
RECEIVING_SIDE = "git -c core.hooksPath=/dev/null -c core.alternateRefsCommand=true -c receive.denyCurrentBranch=refuse"
RECEIVE_PACK = f"--receive-pack={RECEIVING_SIDE} receive-pack"
BASE_REF = "refs/dockerfix/base"
BRANCH_REF = "refs/dockerfix/branch"
# on every commit the bot makes: which of its branches the commit was made for, read back to prove the branch is its own
BRANCH_TRAILER = "Dockerfix-Bot-Branch"
# one line each (printed with -z, a NUL ends each commit): an email is part of one header line, and `unfold` puts a
# trailer's value on one line; any other character, a control one included, may be in them
_COMMIT_FORMAT = f"%H%n%ce%n%(trailers:key={BRANCH_TRAILER},valueonly,unfold)"


class GitError(Exception):
    """A git command that failed; its text is redacted."""


def branch_name_problem(name: str) -> str | None:
    """Why git would refuse ``name`` as a branch, or could read it as an option; None when it is a fine name."""
    if not name.startswith("-") and name != "HEAD":
        command = ["git", "check-ref-format", f"refs/heads/{name}"]
        if (
            subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, env=_child_environment()).returncode
            == 0
        ):
            return None
    return f"{name!r} is not a branch name git accepts"


def _child_environment() -> dict[str, str]:
    """This process's environment without git's variables (they change what git reads and runs) or the secrets."""
    return {
        key: value for key, value in os.environ.items() if not key.startswith("GIT_") and key not in SECRET_VARIABLES
    }


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        match = re.fullmatch(r"\s*(.+?)\s*<([^<>\s]+)>\s*", text)
        if not match:
            raise ValueError(f"expected `Name <email>`, got {text!r}")
        return cls(match.group(1), match.group(2))


@dataclass(frozen=True)
class Commit:
    sha: str
    committer_email: str
    bot_branches: tuple[str, ...]  # the values of its BRANCH_TRAILER lines

    def made_by_the_bot(self, identity: Identity, branch: str) -> bool:
        """Whether the bot made this commit for ``branch``: its committer identity, and its trailer naming the branch
        (an identity alone is shared with whoever uses it, and a commit the bot made for another branch that ended
        up at this one's tip, a fast-forward merge say, does not make this branch the bot's)."""
        return self.committer_email == identity.email and branch in self.bot_branches


class Workspace:
    """A private working repository that talks to one remote by URL (no remote is configured, so nothing on disk
    names it); the token, when there is one, reaches git through the environment only."""

    def __init__(self, directory: Path, remote: str, identity: Identity, token: str | None = None) -> None:
        self.directory = directory
        self.remote = remote
        self.identity = identity
        self.secrets = [token] if token else []
        self.environment = self._environment(token)

    def _environment(self, token: str | None) -> dict[str, str]:
        environment = _child_environment()
        environment.update(
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_TERMINAL_PROMPT="0",
            GIT_AUTHOR_NAME=self.identity.name,
            GIT_AUTHOR_EMAIL=self.identity.email,
            GIT_COMMITTER_NAME=self.identity.name,
            GIT_COMMITTER_EMAIL=self.identity.email,
            LC_ALL="C",
        )
        if token:
            # what actions/checkout sends; scoped to the remote's URL, and in the environment, not on a command line
            credentials = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            environment.update(
                GIT_CONFIG_COUNT="1",
                GIT_CONFIG_KEY_0=f"http.{self.remote}.extraHeader",
                GIT_CONFIG_VALUE_0=f"AUTHORIZATION: basic {credentials}",
            )
        return environment

    def git(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        command = ["git", *HARDENING, *arguments]
        result = subprocess.run(
            command, cwd=self.directory, env=self.environment, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if check and result.returncode != 0:
            shown = " ".join(arguments[:3])
            raise GitError(
                redact(f"git {shown} failed: {result.stderr.strip() or result.stdout.strip()}", self.secrets)
            )
        return result

    def output(self, *arguments: str) -> str:
        return self.git(*arguments).stdout

    def prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if not (self.directory / ".git").is_dir():
            self.git("init", "-q")

    def remote_heads(self, branches: Iterable[str]) -> dict[str, str]:
        """The tip of each branch that exists on the remote."""
        refs = [f"refs/heads/{branch}" for branch in branches]
        heads = {}
        for line in self.output("ls-remote", "--", self.remote, *refs).splitlines():
            sha, ref = line.split("\t", 1)
            heads[ref.removeprefix("refs/heads/")] = sha
        return heads

    def fetch(self, refspecs: dict[str, str]) -> None:
        """Fetch remote branch -> local ref, replacing what the local refs held."""
        self.git("fetch", "-q", "--no-tags", "--no-recurse-submodules", "--", self.remote,
                 *(f"+refs/heads/{branch}:{ref}" for branch, ref in refspecs.items()))  # fmt: skip

    def check_out(self, ref: str) -> None:
        """Make the working tree exactly ``ref``, whatever an earlier run left there."""
        self.git("checkout", "-q", "--force", "--detach", ref)
        self.git("clean", "-q", "-ffdx")

    def commits_between(self, base: str, tip: str) -> list[Commit]:
        return self._commits(f"{base}..{tip}")

    def commit_at(self, ref: str) -> Commit:
        [commit] = self._commits("-n", "1", ref)
        return commit

    def _commits(self, *revisions: str) -> list[Commit]:
        records = self.output("log", "-z", f"--format={_COMMIT_FORMAT}", *revisions, "--").split("\0")
        commits = []
        for record in records[:-1]:  # each record ends with its NUL
            sha, email, *branches = record.split("\n")
            commits.append(Commit(sha, email, tuple(branch for branch in branches if branch)))
        return commits

    def stage(self, paths: Sequence[str]) -> None:
        self.git("add", "--", *paths)

    def staged_tree(self) -> str:
        return self.output("write-tree").strip()

    def tree_of(self, ref: str) -> str:
        return self.output("rev-parse", f"{ref}^{{tree}}").strip()

    def parents_of(self, ref: str) -> list[str]:
        return self.output("rev-list", "--parents", "-n", "1", ref).split()[1:]

    def staged_diff(self, context_lines: int = 3) -> str:
        return self.output("diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", f"-U{context_lines}")

    def commit(self, message: str, branch: str) -> str:
        """Commit what is staged, marked as made by the bot for ``branch``."""
        marked = f"{message.rstrip()}\n\n{BRANCH_TRAILER}: {branch}\n"
        self.git("commit", "-q", "--no-verify", "--no-gpg-sign", "-m", marked)
        return self.output("rev-parse", "HEAD").strip()

    def push(self, commit: str, branch: str, expected: str | None) -> None:
        """Point the remote branch at ``commit``, only if it still is at ``expected`` (None: does not exist), so a
        human push that lands meanwhile is never overwritten."""
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        self.git("push", "-q", "--no-verify", RECEIVE_PACK, lease, "--", self.remote, f"{commit}:refs/heads/{branch}")

    def delete_remote_branch(self, branch: str, expected: str) -> None:
        lease = f"--force-with-lease=refs/heads/{branch}:{expected}"
        self.git("push", "-q", "--no-verify", RECEIVE_PACK, lease, "--", self.remote, f":refs/heads/{branch}")

    def default_branch(self) -> str:
        """The remote's HEAD branch (for a local clone given by path: its checked-out branch)."""
        for line in self.output("ls-remote", "--symref", "--", self.remote, "HEAD").splitlines():
            if line.startswith("ref: refs/heads/"):
                return line.split("\t", 1)[0].removeprefix("ref: refs/heads/")
        raise GitError(f"{self.remote}: HEAD is not a branch; pass --base")
