"""`dockerfix bot`: open and maintain one optimisation pull request per repository."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from . import body
from .git import Identity
from .github import DEFAULT_API_URL, AppAuth, GitHub, TokenAuth, redact
from .reconcile import Options, run

EXIT_OK, EXIT_FAILED = 0, 2
DEFAULT_IDENTITY = "dockerfix <bot@dockerfix.invalid>"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dockerfix bot",
        description="Fix the Dockerfiles of repositories and open (and keep up to date) one pull request in each.",
        epilog="Authentication: GITHUB_TOKEN, or a GitHub App from GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY (the PEM "
        "text) or GITHUB_APP_PRIVATE_KEY_FILE, and optionally GITHUB_APP_INSTALLATION_ID.",
    )
    targets = parser.add_argument_group("repositories")
    targets.add_argument(
        "--repo", action="append", default=[], metavar="OWNER/NAME", help="a GitHub repository (repeatable)"
    )
    targets.add_argument("--repo-file", type=Path, help="a file of OWNER/NAME lines (# starts a comment)")
    targets.add_argument(
        "--path",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a local clone: the branch is written into it, for other forges or to look before pushing",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the pull request and its diff; push and change nothing"
    )
    parser.add_argument("--base", help="the branch to fix (default: the repository's default branch)")
    parser.add_argument(
        "--branch",
        help="the bot's branch (default: `bot.branch`, else dockerfix/optimize); an existing "
        "branch the bot did not make is never moved or deleted: the run fails instead",
    )
    parser.add_argument(
        "--label", action="append", dest="labels", metavar="LABEL", help="label for a new pull request (repeatable)"
    )
    parser.add_argument(
        "--reviewer",
        action="append",
        dest="reviewers",
        metavar="LOGIN",
        help="reviewer for a new pull request, `org/team` for a team (repeatable)",
    )
    parser.add_argument(
        "--unsafe-fixes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also apply unsafe fixes (default: `bot.unsafe-fixes`, else `unsafe-fixes`, else no)",
    )
    parser.add_argument("--select", type=_codes, help="rule codes or prefixes to run, comma-separated")
    parser.add_argument("--ignore", type=_codes, help="rule codes or prefixes to skip, comma-separated")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="build each fixed Dockerfile before and after with the Docker engine (DOCKER_HOST) and "
        "put `dockerfix verify`'s measured table in the body. Building runs the repository's RUN "
        "steps, i.e. its code, on this machine: only for repositories you trust, and only this flag turns it on "
        "(a repository cannot ask for it)",
    )
    parser.add_argument("--body-template", type=Path, help="a jinja2 template for the pull request body")
    parser.add_argument(
        "--author", default=DEFAULT_IDENTITY, help=f"`Name <email>` of the bot's commits (default: {DEFAULT_IDENTITY})"
    )
    parser.add_argument(
        "--api-url", default=os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL, help="the GitHub REST API"
    )
    return parser


def _codes(text: str) -> list[str]:
    return [code.strip().upper() for code in text.split(",") if code.strip()]


def _repositories(arguments: argparse.Namespace) -> list[str]:
    names = list(arguments.repo)
    if arguments.repo_file is not None:
        for line in arguments.repo_file.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    for name in names:
        if name.count("/") != 1 or not all(name.split("/")):
            raise ValueError(f"{name!r} is not OWNER/NAME")
    return list(dict.fromkeys(names))


def _auth() -> TokenAuth | AppAuth:
    environment = os.environ
    app_id = environment.get("GITHUB_APP_ID")
    if app_id:
        key = environment.get("GITHUB_APP_PRIVATE_KEY")
        if not key and environment.get("GITHUB_APP_PRIVATE_KEY_FILE"):
            key = Path(environment["GITHUB_APP_PRIVATE_KEY_FILE"]).read_text(encoding="utf-8")
        if not key:
            raise ValueError(
                "GITHUB_APP_ID is set but neither GITHUB_APP_PRIVATE_KEY nor GITHUB_APP_PRIVATE_KEY_FILE is"
            )
        return AppAuth(app_id, key, environment.get("GITHUB_APP_INSTALLATION_ID") or None)
    token = environment.get("GITHUB_TOKEN")
    if not token:
        raise ValueError(
            "set GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY, to work on GitHub repositories"
        )
    return TokenAuth(token)


def main(argv: Sequence[str], transport: httpx.BaseTransport | None = None) -> int:
    """``transport`` lets tests put an in-process forge behind the real GitHub adapter."""
    parser = _parser()
    arguments = parser.parse_args(list(argv))
    try:
        repositories = _repositories(arguments)
        identity = Identity.parse(arguments.author)
        template = body.read_template(arguments.body_template) if arguments.body_template else None
        github = GitHub(_auth(), arguments.api_url, transport=transport) if repositories else None
    except (OSError, ValueError) as error:
        parser.error(str(error))
    if not repositories and not arguments.path:
        parser.error("give at least one --repo, --repo-file or --path")
    options = Options(
        identity=identity,
        dry_run=arguments.dry_run,
        base=arguments.base,
        branch=arguments.branch,
        labels=tuple(arguments.labels) if arguments.labels else None,
        reviewers=tuple(arguments.reviewers) if arguments.reviewers else None,
        select=arguments.select,
        ignore=arguments.ignore,
        unsafe_fixes=arguments.unsafe_fixes,
        body_template=template,
        verify=arguments.verify,
    )
    jobs = [(name, github) for name in repositories] + [(str(path), None) for path in arguments.path]
    failed = 0
    for target, forge in jobs:
        try:
            outcome = run(target, options, forge)
        except Exception as error:  # one repository's failure never stops the others
            failed += 1
            secrets = github.secrets if github is not None else []
            sys.stderr.write(redact(f"error: {target}: {str(error) or type(error).__name__}\n", secrets))
            continue
        sys.stdout.write(outcome.line() + "\n")
        if outcome.preview:
            sys.stdout.write("\n" + outcome.preview + "\n")
        sys.stdout.flush()
        if outcome.rule_failures:  # the pull request may lack that rule's fixes: the run must not look clean
            failed += 1
            sys.stderr.write("".join(f"error: {target}: rule bug: {failure}\n" for failure in outcome.rule_failures))
    if github is not None:
        github.close()
    return EXIT_FAILED if failed else EXIT_OK
