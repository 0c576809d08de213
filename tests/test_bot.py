"""`dockerfix bot` end to end: the real command, the real GitHub adapter and real git, against a bare repository over
``file://`` (a second clone pushes the "human" commits) and the in-process GitHub of ``bot_fake_github``."""

from __future__ import annotations

import re

import pytest
from bot_fake_github import (  # noqa: F401 (fixtures)
    CLEAN,
    MERGEABLE,
    MERGED,
    NAMED_MERGES,
    REPO,
    TOKEN,
    bot,
    forge,
    git,
    remote,
)

from dockerfix.bot import body
from dockerfix.bot.command import main
from dockerfix.bot.github import GitHub, GitHubError, TokenAuth
from dockerfix.bot.reconcile import _open


def test_opens_one_pull_request_with_the_fixes_labels_and_reviewers(remote, forge, capsys):
    base = remote.tip("main")
    code, out, err = bot(forge, capsys)
    assert code == 0, err
    assert out.startswith(f"{REPO}: opened (https://fake.invalid/{REPO}/pull/1)")
    [pull] = forge.pulls(REPO)
    assert pull["title"] == "build(docker): optimise Dockerfiles with dockerfix"
    assert pull["head"]["ref"] == "dockerfix/optimize" and pull["base"]["ref"] == "main"
    assert "| DF101 merge-consecutive-run |" in pull["body"] and "1 layer" in pull["body"]
    assert "<details><summary>Diff</summary>" in pull["body"] and "+    && chmod 755 /app" in pull["body"]
    assert body.fingerprint_in(pull["body"])
    assert [label["name"] for label in pull["labels"]] == ["dependencies"]
    assert pull["requested_reviewers"] == [{"login": "alice"}] and pull["requested_teams"] == [{"slug": "platform"}]
    assert remote.show("dockerfix/optimize", "Dockerfile") == MERGED
    assert remote.show("dockerfix/optimize", "web/Dockerfile") == CLEAN
    assert git(remote.bare, "rev-parse", "dockerfix/optimize^").strip() == base
    assert (
        remote.log("dockerfix/optimize")[0]
        == "bot@dockerfix.invalid build(docker): optimise Dockerfiles with dockerfix"
    )


def test_a_second_run_with_nothing_new_changes_nothing(remote, forge, capsys):
    bot(forge, capsys)
    tip, writes = remote.tip("dockerfix/optimize"), len(forge.writes())
    code, out, _ = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: up to date")
    assert remote.tip("dockerfix/optimize") == tip
    assert len(forge.writes()) == writes


def test_base_moved_rebuilds_the_branch_on_it_and_keeps_the_pull_request(remote, forge, capsys):
    bot(forge, capsys)
    before = forge.pulls(REPO)[0]["body"]
    new_base = remote.commit({"README.md": "hello\n"}, "docs")
    code, out, _ = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: updated")
    assert git(remote.bare, "rev-parse", "dockerfix/optimize^").strip() == new_base
    assert len(remote.log("dockerfix/optimize")) == 3  # initial, docs, the bot's one commit: rebuilt, not merged
    assert len(forge.pulls(REPO)) == 1
    assert body.fingerprint_in(forge.pulls(REPO)[0]["body"]) == body.fingerprint_in(before)


def test_changed_fixes_refresh_the_branch_and_the_body(remote, forge, capsys):
    bot(forge, capsys)
    first = body.fingerprint_in(forge.pulls(REPO)[0]["body"])
    remote.commit({"worker/Dockerfile": MERGEABLE}, "add a worker")
    code, out, _ = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: updated")
    [pull] = forge.pulls(REPO)
    assert "### `worker/Dockerfile`" in pull["body"] and body.fingerprint_in(pull["body"]) != first
    assert remote.show("dockerfix/optimize", "worker/Dockerfile") == MERGED


def test_fixes_no_longer_needed_close_the_pull_request_and_delete_the_branch(remote, forge, capsys):
    bot(forge, capsys)
    remote.commit({"Dockerfile": MERGED}, "fixed by hand")
    code, out, _ = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: closed")
    [pull] = forge.pulls(REPO)
    assert pull["state"] == "closed" and body.fingerprint_in(pull["body"]) is None
    assert forge.comments(REPO, 1) == [
        "The Dockerfiles no longer need these fixes, so dockerfix closes this pull request."
    ]
    assert not remote.has("dockerfix/optimize")
    code, out, _ = bot(forge, capsys)
    assert out.startswith(f"{REPO}: nothing to fix")


def test_a_human_commit_on_the_branch_stops_the_bot_which_says_so_once(remote, forge, capsys):
    bot(forge, capsys)
    human_tip = remote.commit({"notes.txt": "mine\n"}, "my change", branch="dockerfix/optimize")
    remote.commit({"worker/Dockerfile": MERGEABLE}, "new fixes would rebuild the branch")
    for _ in range(2):
        code, out, _ = bot(forge, capsys)
        assert code == 0 and out.startswith(f"{REPO}: left alone (1 commit(s) by someone else on dockerfix/optimize)")
    assert remote.tip("dockerfix/optimize") == human_tip
    [comment] = forge.comments(REPO, 1)
    assert "Someone else pushed to `dockerfix/optimize`" in comment


def test_a_pull_request_a_human_closed_is_not_reopened_for_the_same_fixes(remote, forge, capsys):
    bot(forge, capsys)
    forge.close(REPO, 1)
    remote.commit({"README.md": "unrelated\n"}, "base moves on")
    code, out, _ = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: skipped (#1 with these fixes was closed without merging)")
    assert len(forge.pulls(REPO)) == 1
    remote.commit({"worker/Dockerfile": MERGEABLE}, "new fixes")
    code, out, _ = bot(forge, capsys)
    assert out.startswith(f"{REPO}: opened (https://fake.invalid/{REPO}/pull/2)")
    assert [pull["state"] for pull in forge.pulls(REPO)] == ["closed", "open"]


def test_after_a_merge_the_branch_is_cleaned_up(remote, forge, capsys):
    bot(forge, capsys)
    forge.merge(REPO, 1)
    assert remote.show("main", "Dockerfile") == MERGED
    code, out, _ = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: closed")
    assert not remote.has("dockerfix/optimize")
    assert forge.pulls(REPO)[0]["merged_at"] and forge.comments(REPO, 1) == []


def test_dry_run_prints_the_pull_request_and_diff_and_touches_nothing(remote, forge, capsys):
    code, out, _ = bot(forge, capsys, "--dry-run")
    assert code == 0 and out.startswith(f"{REPO}: would open a pull request (Dockerfile)")
    assert "build(docker): optimise Dockerfiles with dockerfix" in out and "-RUN chmod 755 /app" in out
    assert not remote.has("dockerfix/optimize")
    assert forge.writes() == [] and forge.pulls(REPO) == []


def test_one_failing_repository_does_not_stop_the_others(remote, forge, capsys, tmp_path):
    listing = tmp_path / "repositories.txt"
    listing.write_text("# nightly\nocto/missing\n" + REPO + "  # the real one\n")
    code = main(["--repo-file", str(listing)], transport=forge.transport())
    out, err = capsys.readouterr()
    assert code == 2
    assert "error: octo/missing: GET /repos/octo/missing: HTTP 404: Not Found" in err
    assert out.startswith(f"{REPO}: opened")
    assert TOKEN not in out + err


def test_configuration_in_the_repository_and_flags(remote, forge, capsys):
    remote.commit({"pyproject.toml": NAMED_MERGES + '[tool.dockerfix.bot]\nbranch = "chore/docker"\npaths = ["web"]\n',
                   "web/Dockerfile": MERGEABLE}, "configure")  # fmt: skip
    code, out, _ = bot(forge, capsys, "--label", "docker")
    assert code == 0 and out.startswith(f"{REPO}: opened")
    [pull] = forge.pulls(REPO)
    assert pull["head"]["ref"] == "chore/docker" and [label["name"] for label in pull["labels"]] == ["docker"]
    assert "### `web/Dockerfile`" in pull["body"] and "### `Dockerfile`" not in pull["body"]
    remote.commit({"pyproject.toml": "[tool.dockerfix.bot]\nenabled = false\n"}, "silence")
    code, out, _ = bot(forge, capsys)
    assert out.startswith(f"{REPO}: disabled")


def test_unsafe_fixes_only_when_asked(remote, forge, capsys):
    remote.commit(
        {"Dockerfile": "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n"}, "unsafe only"
    )
    code, out, _ = bot(forge, capsys)
    assert out.startswith(f"{REPO}: nothing to fix")
    code, out, _ = bot(forge, capsys, "--unsafe-fixes")
    assert out.startswith(f"{REPO}: opened")
    assert "--mount=type=cache,target=/var/lib/apt/lists" in remote.show(
        "dockerfix/optimize", "Dockerfile"
    )  # target = "buildkit" by default
    assert "applying only safe and unsafe fixes" in forge.pulls(REPO)[0]["body"]


def test_the_body_says_unsafe_fixes_when_a_folders_own_configuration_applied_them(remote, forge, capsys):
    """The fixes follow each Dockerfile's nearest configuration; the body must say what they applied (on main it
    followed the root's and promised "only safe fixes" over an unsafe cache mount)."""
    remote.commit(
        {
            "api/.dockerfix.toml": "unsafe-fixes = true\n",
            "api/Dockerfile": "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n",
        },
        "a folder that asks for unsafe fixes",
    )
    code, out, err = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: opened"), err
    assert "--mount=type=cache" in remote.show("dockerfix/optimize", "api/Dockerfile")
    assert "applying only safe and unsafe fixes" in forge.pulls(REPO)[0]["body"]


def test_the_body_says_only_safe_fixes_when_every_folder_kept_to_them(remote, forge, capsys):
    """The root allows unsafe fixes, the only folder with something to fix does not: nothing unsafe was applied."""
    remote.commit(
        {
            "pyproject.toml": NAMED_MERGES.replace("[tool.dockerfix]\n", "[tool.dockerfix]\nunsafe-fixes = true\n"),
            "Dockerfile": CLEAN,
            "web/.dockerfix.toml": 'extend-select = ["DF101"]\n',
            "web/Dockerfile": MERGEABLE,
        },
        "only the root asks for unsafe fixes",
    )
    code, out, err = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: opened"), err
    assert remote.show("dockerfix/optimize", "web/Dockerfile") == MERGED
    assert "applying only safe fixes: each provably keeps what the build produces" in forge.pulls(REPO)[0]["body"]


def test_a_symbolic_link_out_of_the_repository_is_never_read(remote, forge, capsys, tmp_path):
    outside = tmp_path / "secret" / "Dockerfile"
    outside.parent.mkdir()
    outside.write_text(MERGEABLE.replace("/app", "/host-secret"))
    (remote.human / "linked").mkdir()
    (remote.human / "linked" / "Dockerfile").symlink_to(outside)
    remote.commit({}, "a link")
    code, out, _ = bot(forge, capsys)
    assert code == 0
    assert "host-secret" not in forge.pulls(REPO)[0]["body"] and "linked" not in out


def test_a_racing_second_pull_request_gets_github_422_and_the_existing_one_is_updated(remote, forge, capsys):
    bot(forge, capsys)
    github = GitHub(TokenAuth(TOKEN), transport=forge.transport())
    with pytest.raises(GitHubError) as raised:
        github.create_pull(REPO, "dockerfix/optimize", "main", "again", "body")
    assert raised.value.status == 422 and "A pull request already exists for octo:dockerfix/optimize" in str(
        raised.value
    )
    pull = _open(github, REPO, "dockerfix/optimize", "main", "refreshed")
    assert pull.number == 1 and forge.pulls(REPO)[0]["body"] == "refreshed"


def test_local_clone_gets_the_branch_and_the_text_for_another_forge(remote, capsys):
    code = main(["--path", str(remote.human), "--dry-run"])
    assert code == 0 and not git(remote.human, "branch", "--list", "dockerfix/optimize").strip()
    capsys.readouterr()
    assert main(["--path", str(remote.human)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{remote.human}: branch pushed (dockerfix/optimize: open a pull request from it")
    assert "| DF101 merge-consecutive-run |" in out
    assert git(remote.human, "show", "dockerfix/optimize:Dockerfile") == MERGED
    assert main(["--path", str(remote.human)]) == 0
    assert capsys.readouterr().out.startswith(f"{remote.human}: branch unchanged")


def test_never_runs_hooks_or_filters_of_the_repository(remote, capsys, tmp_path):
    marker = tmp_path / "executed"
    hooks = remote.human / ".git" / "hooks"
    for name in ("pre-receive", "post-receive", "update", "reference-transaction", "post-checkout", "pre-commit"):
        (hooks / name).write_text(f"#!/bin/sh\necho {name} >> {marker}\n")
        (hooks / name).chmod(0o755)
    git(remote.human, "config", "filter.evil.smudge", f"sh -c 'echo smudge >> {marker}; cat'")
    git(remote.human, "config", "core.fsmonitor", f"sh -c 'echo fsmonitor >> {marker}'")
    remote.commit({".gitattributes": "* filter=evil\n"}, "attributes")
    marker.unlink(missing_ok=True)  # the human's own commit ran their hooks
    assert main(["--path", str(remote.human)]) == 0
    capsys.readouterr()
    assert git(remote.human, "show", "dockerfix/optimize:Dockerfile") == MERGED
    assert not marker.exists(), marker.read_text()


def test_a_custom_template_extends_the_shipped_one_and_shows_a_verification(remote, forge, capsys, tmp_path):
    template = tmp_path / "body.md.j2"
    template.write_text('{% extends "pull_request.md.j2" %}{% block summary %}Our house style.\n{% endblock %}')
    values = {
        "files": [],
        "totals": [],
        "diff": "",
        "diff_fence": "````",
        "unapplied": 0,
        "unsafe_fixes": False,
        "branch": "b",
        "verification": "| image | before | after |\n|---|---|---|\n| app | 120 MB | 80 MB |",
    }
    text = body.render_body(values, "0123456789abcdef", body.read_template(template))
    assert text.startswith("Our house style.\n") and "### Measured" in text and "| app | 120 MB | 80 MB |" in text
    assert text.endswith("<!-- dockerfix-bot fingerprint=0123456789abcdef -->\n")
    code, _, _ = bot(forge, capsys, "--body-template", str(template))
    assert code == 0 and forge.pulls(REPO)[0]["body"].startswith("Our house style.\n")


def test_a_template_cannot_reach_python_internals(tmp_path):
    template = tmp_path / "evil.md.j2"
    template.write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(Exception, match="unsafe"):
        body.render_body({}, "0123456789abcdef", body.read_template(template))


def test_the_github_action_passes_only_options_the_bot_knows():
    from conftest import REPO as CHECKOUT

    from dockerfix.bot.command import _parser

    script = (CHECKOUT / "action.yml").read_text()
    known = {option for action in _parser()._actions for option in action.option_strings}
    used = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", script.split("run: |", 1)[1]))
    assert used and used <= known, used - known


def test_the_github_action_installs_without_the_token_in_the_environment():
    from conftest import REPO as CHECKOUT

    script = (CHECKOUT / "action.yml").read_text().split("run: |", 1)[1]
    [installing] = [line.strip() for line in script.splitlines() if 'pip" install' in line]
    assert installing.startswith("env -u GITHUB_TOKEN ")


def test_the_table_shows_each_rules_estimated_saving(remote, forge, capsys):
    remote.commit({"Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"
        "RUN pip install --no-cache-dir -r requirements.txt\n",
                   "requirements.txt": "flask\n"}, "python app")  # fmt: skip
    code, out, _ = bot(forge, capsys)
    assert out.startswith(f"{REPO}: opened")
    row = next(line for line in forge.pulls(REPO)[0]["body"].splitlines() if line.startswith("| DF201"))
    assert re.search(r"a source edit re-runs \d+ steps? instead of \d+", row), row


def test_verify_without_a_reachable_engine_says_so_in_one_line_and_still_opens(
    remote, forge, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    code, out, err = bot(forge, capsys, "--verify")
    assert code == 0 and out.startswith(f"{REPO}: opened"), err
    text = forge.pulls(REPO)[0]["body"]
    measured = text.split("### Measured\n\n", 1)[1].split("\n\n", 1)[0]
    assert measured.startswith("Not measured: no Docker engine reachable") and "\n" not in measured
    code, out, _ = bot(forge, capsys, "--verify")  # the same fixes: not measured again, nothing rewritten
    assert out.startswith(f"{REPO}: up to date")


def test_verify_is_off_unless_the_operator_asks_and_a_repository_cannot_ask(
    remote, forge, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    assert "### Measured" not in bot(forge, capsys, "--dry-run")[1]
    assert "Not measured: no Docker engine reachable" in bot(forge, capsys, "--dry-run", "--verify")[1]
    remote.commit({"pyproject.toml": "[tool.dockerfix.bot]\nverify = true\n"}, "measure")
    code, out, err = bot(forge, capsys, "--dry-run")
    assert code == 2 and "### Measured" not in out and "unknown bot setting(s) verify" in err


def test_a_new_dockerignore_is_committed_with_the_rest(remote, forge, capsys):
    node = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    # the ignore lines keep out a few bytes (and a secret): the repository reports every byte gain
    configuration = {"pyproject.toml": NAMED_MERGES + "min-gain = 0\n"}
    remote.commit(
        {"svc/Dockerfile": node, "svc/package.json": "{}\n", "svc/.env": "KEY=1\n", **configuration}, "a service"
    )
    code, out, err = bot(forge, capsys, "--unsafe-fixes")
    assert code == 0, err
    assert remote.show("dockerfix/optimize", "svc/.dockerignore") == "Dockerfile*\n.env\n.dockerignore\n"
    assert "+++ b/svc/.dockerignore" in forge.pulls(REPO)[0]["body"]
    code, out, _ = bot(forge, capsys, "--unsafe-fixes")
    assert code == 0 and out.startswith(f"{REPO}: up to date")


def test_a_dockerignore_one_dockerfile_wrote_serves_the_next_of_its_context(remote, forge, capsys):
    # the second Dockerfile must see the ignore file the first one's fix wrote, as a second bot run would: with the
    # context read before that write, the pull request listed svc/Dockerfile.web as fixed though nothing of it changed
    node = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    web = "FROM nginx:1.27\nCOPY . /usr/share/nginx/html\n"
    configuration = {"pyproject.toml": NAMED_MERGES + "min-gain = 0\n"}
    service = {"svc/Dockerfile": node, "svc/Dockerfile.web": web, "svc/package.json": "{}\n", "svc/.env": "KEY=1\n"}
    remote.commit({**service, **configuration}, "two images of one service")
    code, out, err = bot(forge, capsys, "--unsafe-fixes")
    assert code == 0, err
    assert remote.show("dockerfix/optimize", "svc/.dockerignore") == "Dockerfile*\n.env\n.dockerignore\n"
    pull_body = forge.pulls(REPO)[0]["body"]
    assert "### `svc/Dockerfile`" in pull_body and "### `svc/Dockerfile.web`" not in pull_body
