"""The bot moves or deletes only a branch it provably made: every commit on it beyond the base, and its tip, carry the
bot's committer identity and its trailer naming that branch. A configured branch that is someone else's (equal to the
base, behind it, with the user's commits, or a human's commits on top of the bot's) is never deleted or force-moved,
and the run says so. Real git (a bare remote, given by path for the local git path, and a human's clone), the real
command, the in-process GitHub."""

from __future__ import annotations

import pytest
from bot_fake_github import MERGEABLE, MERGED, NAMED_MERGES, REPO, TOKEN, bot, forge, git, remote  # noqa: F401 (fixtures)

from dockerfix.bot.command import DEFAULT_IDENTITY, main
from dockerfix.bot.git import BASE_REF, GitError, Identity, Workspace
from dockerfix.bot.github import GitHub, TokenAuth

BRANCH = "release-1.0"
NOT_OURS = f"the bot's branch '{BRANCH}' exists and is not one dockerfix made"
BOT_IDENTITY = ["-c", "user.name=dockerfix", "-c", "user.email=bot@dockerfix.invalid"]


def equal_to_the_base(remote) -> None:
    git(remote.bare, "branch", BRANCH, "main")


def behind_the_base(remote) -> None:
    """A release branch cut earlier: the user's commits on it are all in the base by now."""
    git(remote.bare, "branch", BRANCH, "main")
    remote.commit({"CHANGELOG": "1.1\n"}, "main moves on")


def with_the_users_commits(remote) -> None:
    git(remote.bare, "branch", BRANCH, "main")
    remote.commit({"CHANGELOG": "1.0.1\n"}, "a fix for the release", branch=BRANCH)


def commit_on_the_branch(remote, identity: list[str], message: str) -> None:
    git(remote.bare, "branch", BRANCH, "main")
    clone = remote.human
    git(clone, "fetch", "-q", "origin")
    git(clone, "checkout", "-q", "-B", BRANCH, f"origin/{BRANCH}")
    (clone / "CHANGELOG").write_text("1.0.1\n")
    git(clone, "add", "-A")
    git(clone, *identity, "commit", "-q", "-m", message)
    git(clone, "push", "-q", "origin", BRANCH)
    git(clone, "checkout", "-q", "main")


def with_the_bots_identity_but_not_its_trailer(remote) -> None:
    """Commits under the bot's name and email that the bot did not make (another tool, an older run, a human)."""
    commit_on_the_branch(remote, BOT_IDENTITY, "a fix for the release")


def with_an_email_and_a_trailer_that_hold_separators(remote) -> None:
    """Control characters are allowed in an email and a message: read as data, never as the bot's identity."""
    identity = ["-c", "user.name=dockerfix", "-c", f"user.email=bot@dockerfix.invalid\x1f{BRANCH}\x1e"]
    commit_on_the_branch(remote, identity, f"release\n\nDockerfix-Bot-Branch: x\x1f{BRANCH}\x1e\n  {BRANCH}\n")


def with_a_human_commit_on_the_bots_merged_into_the_base(remote) -> None:
    """The bot made the branch, a human pushed on top of its commit, and the whole branch was merged."""
    assert main(["--path", str(remote.bare), "--branch", BRANCH]) == 0
    remote.commit({"notes.txt": "mine\n"}, "my change", branch=BRANCH)
    git(remote.human, "checkout", "-q", "-B", "main", "origin/main")
    git(remote.human, "merge", "-q", "--no-ff", "-m", "merge the release", f"origin/{BRANCH}")
    git(remote.human, "push", "-q", "origin", "main")


SOMEONE_ELSES = [
    equal_to_the_base,
    behind_the_base,
    with_the_users_commits,
    with_the_bots_identity_but_not_its_trailer,
    with_an_email_and_a_trailer_that_hold_separators,
    with_a_human_commit_on_the_bots_merged_into_the_base,
]


def configure(remote, how: str) -> tuple[str, ...]:
    """The branch named by the repository's configuration or by the flag; the arguments to pass."""
    if how == "--branch":
        return ("--branch", BRANCH)
    remote.commit(
        {"pyproject.toml": NAMED_MERGES + f'[tool.dockerfix.bot]\nbranch = "{BRANCH}"\n'}, "configure the bot"
    )
    return ()


def set_up_fixes(remote, fixes: str) -> None:
    if fixes == "needed":
        remote.commit({"worker/Dockerfile": MERGEABLE}, "a worker")
    else:
        nothing_to_fix(remote)


def nothing_to_fix(remote) -> None:
    remote.commit({"Dockerfile": MERGED, "NOTES": "fixed by hand\n"}, "fixed by hand")


def branch_tip(remote) -> str | None:
    return git(remote.bare, "rev-parse", BRANCH).strip() if remote.has(BRANCH) else None


@pytest.mark.parametrize("fixes", ["needed", "none"])
@pytest.mark.parametrize("how", ["bot.branch", "--branch"])
@pytest.mark.parametrize("shape", SOMEONE_ELSES)
def test_a_branch_given_by_path_the_bot_did_not_make_is_neither_moved_nor_deleted(remote, capsys, shape, how, fixes):
    shape(remote)
    arguments = configure(remote, how)
    set_up_fixes(remote, fixes)
    capsys.readouterr()
    before = branch_tip(remote)
    assert before is not None
    for _ in range(2):
        code = main(["--path", str(remote.bare), *arguments])
        out, err = capsys.readouterr()
        assert branch_tip(remote) == before
        assert code == 2 and out == "", out
        assert f"error: {remote.bare}: {NOT_OURS}" in err, err


@pytest.mark.parametrize("fixes", ["needed", "none"])
@pytest.mark.parametrize("shape", SOMEONE_ELSES)
def test_a_github_branch_the_bot_did_not_make_is_neither_moved_nor_deleted_and_nothing_is_written(
    remote, forge, capsys, shape, fixes
):
    shape(remote)
    arguments = configure(remote, "--branch")
    set_up_fixes(remote, fixes)
    capsys.readouterr()
    before = branch_tip(remote)
    code, out, err = bot(forge, capsys, *arguments)
    assert branch_tip(remote) == before
    assert code == 2 and out == "" and f"error: {REPO}: {NOT_OURS}" in err, (out, err)
    assert forge.writes() == []


@pytest.mark.parametrize("fixes", ["needed", "none"])
def test_a_humans_pull_request_from_a_branch_the_bot_did_not_make_is_left_as_it_is(remote, forge, capsys, fixes):
    with_the_users_commits(remote)
    GitHub(TokenAuth(TOKEN), transport=forge.transport()).create_pull(
        REPO, BRANCH, "main", "Release 1.0.1", "the release"
    )
    set_up_fixes(remote, fixes)
    requests = len(forge.writes())
    code, out, err = bot(forge, capsys, "--branch", BRANCH)
    assert code == 2 and f"error: {REPO}: {NOT_OURS}" in err, (out, err)
    [pull] = forge.pulls(REPO)
    assert (pull["state"], pull["title"], pull["body"]) == ("open", "Release 1.0.1", "the release")
    assert forge.comments(REPO, pull["number"]) == [] and len(forge.writes()) == requests


def test_a_human_commit_on_top_of_the_bots_leaves_the_branch_alone(remote, capsys):
    assert main(["--path", str(remote.bare), "--branch", BRANCH]) == 0
    human_tip = remote.commit({"notes.txt": "mine\n"}, "my change", branch=BRANCH)
    capsys.readouterr()
    for fixes in ("needed", "none"):
        if fixes == "none":
            nothing_to_fix(remote)
        assert main(["--path", str(remote.bare), "--branch", BRANCH]) == 0
        assert capsys.readouterr().out.startswith(
            f"{remote.bare}: left alone (1 commit(s) by someone else on {BRANCH})"
        )
        assert branch_tip(remote) == human_tip


@pytest.mark.parametrize("how", ["bot.branch", "--branch"])
def test_a_branch_the_bot_made_is_updated_and_deleted_whatever_its_name(remote, capsys, how):
    arguments = configure(remote, how)
    assert main(["--path", str(remote.bare), *arguments]) == 0
    assert capsys.readouterr().out.startswith(f"{remote.bare}: branch pushed ({BRANCH}:")
    message = git(remote.bare, "log", "-1", "--format=%B", BRANCH)
    assert message.rstrip().endswith(f"\n\nDockerfix-Bot-Branch: {BRANCH}"), message
    remote.commit({"README.md": "hello\n"}, "base moves on")
    assert main(["--path", str(remote.bare), *arguments]) == 0
    assert capsys.readouterr().out.startswith(f"{remote.bare}: branch pushed ({BRANCH}:")
    assert git(remote.bare, "rev-parse", f"{BRANCH}^").strip() == remote.tip("main")
    nothing_to_fix(remote)
    assert main(["--path", str(remote.bare), *arguments]) == 0
    assert capsys.readouterr().out.startswith(f"{remote.bare}: closed (nothing left to fix)")
    assert not remote.has(BRANCH)


def test_the_bots_commit_made_for_another_branch_does_not_make_a_branch_its_own(remote, capsys):
    """`main` fast-forwarded onto the bot's commit for dockerfix/optimize, then `release-1.0` cut from it: its tip is
    the bot's, but not made for this branch."""
    assert main(["--path", str(remote.bare)]) == 0
    git(remote.bare, "update-ref", "refs/heads/main", "dockerfix/optimize")
    git(remote.bare, "branch", "-D", "dockerfix/optimize")
    equal_to_the_base(remote)
    capsys.readouterr()
    before = branch_tip(remote)
    assert main(["--path", str(remote.bare), "--branch", BRANCH]) == 2
    assert NOT_OURS in capsys.readouterr().err
    assert branch_tip(remote) == before


def test_a_branch_that_appears_after_the_bot_looked_is_not_pushed_over(remote, tmp_path):
    """The bot creates a branch only when it does not exist: its push expects none, so one made meanwhile stays."""
    workspace = Workspace(tmp_path / "work", str(remote.bare), Identity.parse(DEFAULT_IDENTITY))
    workspace.prepare()
    assert workspace.remote_heads([BRANCH]) == {}
    workspace.fetch({"main": BASE_REF})
    workspace.check_out(BASE_REF)
    (workspace.directory / "NOTES").write_text("the bot's\n")
    workspace.stage(["NOTES"])
    commit = workspace.commit("notes\n", BRANCH)
    equal_to_the_base(remote)
    with pytest.raises(GitError, match="stale info"):
        workspace.push(commit, BRANCH, None)
    with pytest.raises(GitError, match="stale info"):
        workspace.delete_remote_branch(BRANCH, commit)
    assert branch_tip(remote) == remote.tip("main")
