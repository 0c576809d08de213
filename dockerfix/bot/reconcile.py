"""One repository, one run: check out the base branch, run the pipeline over its Dockerfiles, and bring the bot's
branch and pull request to match, Renovate's way (rebuild from the base and force-push when anything moved, close
when nothing is left, keep off a branch a human pushed to and any branch the bot did not make, never reopen what a
human closed for the same fixes)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from ..rewriter import pipeline
from ..rewriter.config import BotSettings, discover
from ..rewriter.discovery import dockerfiles_under
from . import body, verification
from .git import BASE_REF, BRANCH_REF, BRANCH_TRAILER, Commit, Identity, Workspace, branch_name_problem
from .github import GitHub, GitHubError, PullRequest

HUMAN_COMMITS_MARK = "<!-- dockerfix-bot human-commits -->"


@dataclass(frozen=True)
class Options:
    identity: Identity
    dry_run: bool = False
    base: str | None = None
    branch: str | None = None
    labels: tuple[str, ...] | None = None
    reviewers: tuple[str, ...] | None = None
    select: list[str] | None = None
    ignore: list[str] | None = None
    unsafe_fixes: bool | None = None
    body_template: str | None = None  # the text of the user's template
    verify: bool = False  # only the operator turns building on: it runs the repository's RUN steps


@dataclass(frozen=True)
class Outcome:
    target: str
    action: str
    detail: str = ""
    preview: str = ""
    rule_failures: tuple[str, ...] = ()  # bugs of rules on some file: this outcome may miss their findings or fixes

    def line(self) -> str:
        return f"{self.target}: {self.action}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Proposal:
    """The fixes on top of the base branch, staged in the workspace."""

    files: tuple[body.ChangedFile, ...]
    diff: str
    fingerprint: str
    errors: tuple[str, ...]
    originals: tuple[verification.Original, ...] = ()  # what `verification.measure` needs, when asked
    # a changed file's settings allowed unsafe fixes: each file follows its own configuration, and the body says so
    unsafe_fixes: bool = False


def run(target: str, options: Options, github: GitHub | None = None) -> Outcome:
    """``target`` is OWNER/NAME with ``github``, else the folder of a local clone."""
    directory = Path(tempfile.mkdtemp(prefix="dockerfix-bot-"))
    rule_failures: list[str] = []
    try:
        return replace(_run(target, options, github, directory, rule_failures), rule_failures=tuple(rule_failures))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass(frozen=True)
class Repository:
    """One repository's run: its checkout of the base branch, its forge (None: a local clone), and the bot's branch
    there (its tip, None while it does not exist)."""

    target: str
    workspace: Workspace
    github: GitHub | None
    base: str
    branch: str
    branch_tip: str | None
    options: Options


def _run(target: str, options: Options, github: GitHub | None, directory: Path, rule_failures: list[str]) -> Outcome:
    """Match the bot's branch and pull request to the fixes: decide what the run does, then do it (`_publish`)."""
    workspace, base = _check_out(target, options, github, directory)
    bot = discover(directory, root=directory).bot
    if not bot.enabled:
        return Outcome(target, "disabled", "`bot.enabled = false` in its configuration")
    branch = _bots_branch(options, bot, base)
    repository = Repository(
        target, workspace, github, base, branch, workspace.remote_heads([branch]).get(branch), options
    )
    strangers = []
    if repository.branch_tip is not None:
        workspace.fetch({branch: BRANCH_REF})
        strangers = _strangers_on_the_bots_own_branch(workspace, branch, options.identity)
    proposal = _propose(workspace, bot, options, rule_failures)
    pulls = github.pull_requests(target, branch) if github is not None else []
    open_pull = next((pull for pull in pulls if pull.state == "open"), None)
    closed_pull = next((pull for pull in pulls if pull.state == "closed"), None)
    if strangers:
        if open_pull is not None and not options.dry_run:
            _say_once_that_a_human_pushed(github, target, open_pull, branch)
        return Outcome(target, "left alone", f"{len(strangers)} commit(s) by someone else on {branch}")
    if not proposal.files:
        return _close(repository, open_pull, proposal)
    if (
        open_pull is None
        and closed_pull is not None
        and not closed_pull.merged
        and body.fingerprint_in(closed_pull.body) == proposal.fingerprint
    ):
        return Outcome(target, "skipped", f"#{closed_pull.number} with these fixes was closed without merging")
    return _publish(repository, bot, open_pull, proposal)


def _check_out(target: str, options: Options, github: GitHub | None, directory: Path) -> tuple[Workspace, str]:
    """The repository's base branch checked out in ``directory``, and the base's name."""
    if github is not None:
        repository = github.repository(target)
        workspace = Workspace(directory, repository.clone_url, options.identity, github.token_for(target))
        base = options.base or repository.default_branch
    else:
        workspace = Workspace(directory, str(Path(target).resolve()), options.identity)
        base = options.base or workspace.default_branch()
    if problem := branch_name_problem(base):
        raise RuntimeError(f"the base branch: {problem}")
    workspace.prepare()
    if base not in workspace.remote_heads([base]):
        raise RuntimeError(f"the base branch {base!r} does not exist")
    workspace.fetch({base: BASE_REF})
    workspace.check_out(BASE_REF)
    return workspace, base


def _bots_branch(options: Options, bot: BotSettings, base: str) -> str:
    branch = options.branch or bot.branch
    if problem := branch_name_problem(branch):
        raise RuntimeError(f"the bot's branch: {problem}")
    # compared without case: on a case-insensitive file system (a clone given by path on macOS or Windows) `Main` and
    # `main` are one loose ref file
    if branch.casefold() == base.casefold():
        raise RuntimeError(f"the bot's branch {branch!r} is the base branch: the bot never commits onto it")
    return branch


def _publish(repository: Repository, bot: BotSettings, open_pull: PullRequest | None, proposal: Proposal) -> Outcome:
    """Bring the branch and the pull request to the proposal: commit and push unless the branch already holds it,
    then open the pull request or update its text."""
    target, workspace, github, options = repository.target, repository.workspace, repository.github, repository.options
    base_tip = workspace.output("rev-parse", BASE_REF).strip()
    up_to_date = (
        repository.branch_tip is not None
        and workspace.parents_of(BRANCH_REF) == [base_tip]
        and workspace.tree_of(BRANCH_REF) == workspace.staged_tree()
    )
    measured = None
    if proposal.originals:
        # Builds take minutes and their numbers wobble: a pull request that already shows these fixes is not
        # measured (and its body not rewritten) again.
        if up_to_date and open_pull is not None and body.fingerprint_in(open_pull.body) == proposal.fingerprint:
            return Outcome(target, "up to date", open_pull.url)
        measured = verification.measure(proposal.originals)
    values = body.context(proposal.files, proposal.diff, repository.branch, proposal.unsafe_fixes, measured)
    text = body.render_body(values, proposal.fingerprint, options.body_template)
    preview = f"{body.TITLE}\n\n{text}"
    if options.dry_run:
        verb = "would update" if open_pull else "would open"
        return Outcome(target, f"{verb} a pull request", _files_detail(proposal), preview)
    if not up_to_date:
        commit = workspace.commit(body.commit_message(proposal.files), repository.branch)
        workspace.push(commit, repository.branch, repository.branch_tip)
    if github is None:
        action = "branch unchanged" if up_to_date else "branch pushed"
        return Outcome(target, action, f"{repository.branch}: open a pull request from it with the text below", preview)
    return _update_or_open(repository, bot, open_pull, text, up_to_date)


def _update_or_open(
    repository: Repository, bot: BotSettings, open_pull: PullRequest | None, text: str, up_to_date: bool
) -> Outcome:
    """The pull request with ``text``: the open one updated where it differs, else a new one with its labels and
    reviewers."""
    target, github, options = repository.target, repository.github, repository.options
    assert github is not None, "a pull request needs a forge"
    if open_pull is not None:
        if open_pull.body != text or open_pull.title != body.TITLE:
            github.update_pull(target, open_pull.number, title=body.TITLE, body=text)
        elif up_to_date:
            return Outcome(target, "up to date", open_pull.url)
        return Outcome(target, "updated", open_pull.url)
    pull = _open(github, target, repository.branch, repository.base, text)
    labels = options.labels if options.labels is not None else bot.labels
    reviewers = options.reviewers if options.reviewers is not None else bot.reviewers
    if labels:
        github.add_labels(target, pull.number, labels)
    if reviewers:
        github.request_reviewers(target, pull.number, reviewers)
    return Outcome(target, "opened", pull.url)


def _strangers_on_the_bots_own_branch(workspace: Workspace, branch: str, identity: Identity) -> list[Commit]:
    """The commits beyond the base that others pushed onto the bot's branch (a human took its pull request over);
    raises when the branch is not provably the bot's. Only a branch holding a commit the bot made for it, beyond the
    base or, once merged, at its tip, is the bot's. Any other branch of that name (cut from the base, a release branch,
    one with only commits of others, even under the bot's identity) is someone else's: never moved or deleted."""
    beyond_the_base = workspace.commits_between(BASE_REF, BRANCH_REF)
    strangers = [commit for commit in beyond_the_base if not commit.made_by_the_bot(identity, branch)]
    if beyond_the_base:
        made_by_the_bot = len(strangers) < len(beyond_the_base)
    else:  # equal to the base, behind it, or merged into it: only a tip the bot made proves it
        made_by_the_bot = workspace.commit_at(BRANCH_REF).made_by_the_bot(identity, branch)
    if not made_by_the_bot:
        raise RuntimeError(
            f"the bot's branch {branch!r} exists and is not one dockerfix made (neither its tip nor a commit on it "
            "beyond "
            f"the base has dockerfix's identity and a `{BRANCH_TRAILER}: {branch}` trailer), so dockerfix neither "
            "moves "
            "nor deletes it: set another `bot.branch` or `--branch`, or delete that branch"
        )
    return strangers


def _propose(workspace: Workspace, bot: BotSettings, options: Options, rule_failures: list[str]) -> Proposal:
    """Fix every Dockerfile in the checkout with its own settings (the nearest configuration; `--unsafe-fixes`, else
    `bot.unsafe-fixes`, overrides its unsafe setting) and stage the changes."""
    root = workspace.directory.resolve()
    unsafe = options.unsafe_fixes if options.unsafe_fixes is not None else bot.unsafe_fixes
    unsafe_applied = False
    verify = options.verify
    files: list[body.ChangedFile] = []
    errors: list[str] = []
    originals: list[verification.Original] = []
    others: list[str] = []
    contexts = pipeline.BuildContexts()
    for path in _dockerfiles(root, bot.paths):
        settings = discover(path, root=root).override(options.select, options.ignore, unsafe)
        original = path.read_bytes() if verify else b""
        result = pipeline.run_path(path, settings, write=True, contexts=contexts)
        relative = path.relative_to(root).as_posix()
        rule_failures.extend(f"{relative}: {failure}" for failure in result.rule_failures)
        if result.error is not None:
            errors.append(body.printable(result.error.replace(str(path), relative)))
        elif result.written:
            files.append(body.ChangedFile(relative, result))
            unsafe_applied = unsafe_applied or settings.unsafe_fixes
            others.extend(Path(other.path).relative_to(root).as_posix() for other in result.other_files)
            if verify:
                restored = tuple((other.relative, other.original) for other in result.other_files)
                originals.append(verification.Original(relative, path, original, settings, restored))
    if files:
        workspace.stage(
            [*(file.path for file in files), *others]
        )  # with the other files the fixes wrote (.dockerignore)
    diff = workspace.staged_diff() if files else ""
    return Proposal(
        tuple(files),
        diff,
        body.fingerprint(workspace.staged_diff(0)) if files else "",
        tuple(errors),
        tuple(originals),
        unsafe_applied,
    )


def _dockerfiles(root: Path, paths: tuple[str, ...]) -> list[Path]:
    """Dockerfiles under the configured paths, never outside the repository and never through a symbolic link (a
    link could point at a file of the machine the bot runs on, and its text would end up in the pull request)."""
    found: set[Path] = set()
    for entry in paths:
        start = root / entry
        if not start.resolve().is_relative_to(root):
            continue
        candidates = dockerfiles_under(start) if start.is_dir() else [start] if start.is_file() else []
        for candidate in candidates:
            inside = candidate.relative_to(root)
            if not any((root / Path(*inside.parts[: depth + 1])).is_symlink() for depth in range(len(inside.parts))):
                found.add(candidate)
    return sorted(found)


def _files_detail(proposal: Proposal) -> str:
    # one line in a terminal or a workflow log, whatever the names hold (a line starting `::` is a workflow command)
    names = ", ".join(body.printable(file.path) for file in proposal.files)
    return names + (f"; could not read: {'; '.join(proposal.errors)}" if proposal.errors else "")


def _open(github: GitHub, target: str, branch: str, base: str, text: str) -> PullRequest:
    try:
        return github.create_pull(target, branch, base, body.TITLE, text)
    except GitHubError as error:
        # another run opened it between our look-up and now: GitHub answers 422 for a second PR from one head
        if error.status != 422:
            raise
        existing = next((pull for pull in github.pull_requests(target, branch) if pull.state == "open"), None)
        if existing is None:
            raise
        github.update_pull(target, existing.number, title=body.TITLE, body=text)
        return existing


def _say_once_that_a_human_pushed(github: GitHub | None, target: str, pull: PullRequest, branch: str) -> None:
    if github is None or any(HUMAN_COMMITS_MARK in comment for comment in github.comments(target, pull.number)):
        return
    github.comment(
        target,
        pull.number,
        f"{HUMAN_COMMITS_MARK}\nSomeone else pushed to `{branch}`, so dockerfix no longer updates this pull request. "
        "Close it and delete the branch to let dockerfix start over.",
    )


def _close(repository: Repository, open_pull: PullRequest | None, proposal: Proposal) -> Outcome:
    target, github, branch_tip = repository.target, repository.github, repository.branch_tip
    if open_pull is None and branch_tip is None:
        detail = f"could not read: {'; '.join(proposal.errors)}" if proposal.errors else ""
        return Outcome(target, "nothing to fix", detail)
    if repository.options.dry_run:
        return Outcome(target, "would close the pull request and delete the branch", "nothing left to fix")
    if open_pull is not None and github is not None:
        github.comment(
            target,
            open_pull.number,
            "The Dockerfiles no longer need these fixes, so dockerfix closes this pull request.",
        )
        github.update_pull(target, open_pull.number, state="closed", body=body.without_fingerprint(open_pull.body))
    if branch_tip is not None:
        repository.workspace.delete_remote_branch(repository.branch, branch_tip)
    return Outcome(target, "closed", "nothing left to fix" + (f": {open_pull.url}" if open_pull else ""))
