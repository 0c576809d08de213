"""`dockerfix bot` against hostile repositories and names: nothing from a repository runs, nothing secret leaks, and
names the bot writes into a pull request or a workflow log cannot forge anything. Real git, real clones, the real
command; the GitHub side is the in-process forge of ``bot_fake_github``."""

from __future__ import annotations

import base64
import html
import os
import shlex
import shutil
import tempfile
from pathlib import Path

import msgspec
import pytest
from bot_fake_github import ASKS_FOR_MERGES, MERGEABLE, MERGED, REPO, TOKEN, Remote, bot, forge, git, remote  # noqa: F401
from hypothesis import example, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from dockerfix.bot import body, verification
from dockerfix.bot.command import main
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.pipeline import run_path

# Every configuration key git documents (git-config(1), githooks(5), gitattributes(5)) whose value is a command it
# may run, or that makes git run one. Each is set in the clone the bot works on, to a command that leaves a mark.
COMMAND_KEYS = (
    "core.fsmonitor", "core.sshCommand", "core.gitProxy", "core.askPass", "core.editor", "core.pager",
    "core.alternateRefsCommand", "sequence.editor", "pager.push", "pager.fetch", "pager.log", "pager.diff",
    "credential.helper", "diff.external", "diff.evil.command", "diff.evil.textconv",
    "filter.evil.clean", "filter.evil.smudge", "filter.evil.process", "merge.evil.driver",
    "gpg.program", "gpg.openpgp.program", "gpg.x509.program", "gpg.ssh.program", "gpg.ssh.defaultKeyCommand",
    "uploadpack.packObjectsHook", "remote.origin.uploadpack", "remote.origin.receivepack",
    "alias.push", "alias.fetch", "alias.receive-pack", "alias.upload-pack",
    "trailer.evil.command", "trailer.evil.cmd", "sendemail.sendmailCmd", "sendemail.toCmd", "sendemail.ccCmd",
    "browser.evil.cmd", "browser.evil.path", "difftool.evil.cmd", "difftool.evil.path", "mergetool.evil.cmd",
    "mergetool.evil.path", "man.evil.cmd", "man.evil.path", "guitool.evil.cmd", "imap.tunnel", "interactive.diffFilter",
    "credential.https://example.invalid.helper", "hook.evil.command", "submodule.evil.update",
)  # fmt: skip
# Keys that are not commands but make git run one of the above (signing, checking out into the clone's working tree,
# automatic gc, the ext:: transport, a promisor remote's lazy fetch).
ENABLING_KEYS = {
    "commit.gpgSign": "true", "tag.gpgSign": "true", "push.gpgSign": "true", "user.signingKey": "evil",
    "log.showSignature": "true", "web.browser": "evil", "diff.tool": "evil", "merge.tool": "evil",
    "hook.evil.event": "pre-receive", "receive.denyCurrentBranch": "updateInstead", "receive.autogc": "true",
    "gc.auto": "1", "gc.autoPackLimit": "1", "receive.fsckObjects": "true",
    "protocol.allow": "always", "protocol.ext.allow": "always", "submodule.recurse": "true",
    "fetch.recurseSubmodules": "true", "remote.origin.promisor": "true",
    "remote.origin.partialCloneFilter": "blob:none",
}  # fmt: skip
HOOKS = (
    "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit", "prepare-commit-msg",
    "commit-msg", "post-commit", "pre-rebase", "post-checkout", "post-merge", "pre-push", "pre-receive", "update",
    "proc-receive", "post-receive", "post-update", "reference-transaction", "push-to-checkout", "pre-auto-gc",
    "post-rewrite", "post-index-change", "fsmonitor-watchman",
)  # fmt: skip


def marking(marker: Path, name: str) -> str:
    return f"sh -c 'echo {name} >> {shlex.quote(str(marker))}'"


def write_commands(config: Path, marker: Path) -> Path:
    """Set, in the configuration file ``config``, every key that makes git run a command to one that leaves
    ``marker``, hooks included; returns the hooks' folder."""

    def setting(key: str, value: str) -> None:
        git(config.parent, "config", "--file", str(config), key, value)

    for key in COMMAND_KEYS:
        value = marking(marker, key)
        setting(key, "!" + value if key.startswith("alias.") or key == "submodule.evil.update" else value)
    for key, value in ENABLING_KEYS.items():
        setting(key, value)
    setting("remote.origin.url", f"ext::{marking(marker, 'ext-url')}")
    # URLs (file://) and paths (/) rewritten to the ext:: transport, which runs its command
    for prefix in ("file://", "/"):
        setting(f"url.ext::{marking(marker, 'insteadOf ' + prefix)}.insteadOf", prefix)
    hooks = config.parent / f"{config.name}-hooks"
    hooks.mkdir()
    write_hooks(hooks, marker)
    setting("core.hooksPath", str(hooks))
    assert config.read_text().count(str(marker)) >= len(COMMAND_KEYS)
    return hooks


def write_hooks(folder: Path, marker: Path) -> None:
    for name in HOOKS:
        (folder / name).write_text(f"#!/bin/sh\necho hook-{name} >> {shlex.quote(str(marker))}\n")
        (folder / name).chmod(0o755)


def arm(clone: Path, marker: Path) -> None:
    """Make every way git has of running a command from a repository's own files leave ``marker``."""
    hooks = write_commands(clone / ".git" / "config", marker)
    write_hooks(clone / ".git" / "hooks", marker)
    # a repository's configuration can include other files, unconditionally or on a condition
    included = clone.parent / "included.gitconfig"
    git(clone, "config", "--file", str(included), "core.alternateRefsCommand", marking(marker, "include.path"))
    git(clone, "config", "--file", str(included), "core.hooksPath", str(hooks))
    git(clone, "config", "include.path", str(included))
    git(clone, "config", f"includeIf.gitdir:{clone}/.path", str(included))
    # receive-pack lists the refs of an alternate object store with core.alternateRefsCommand
    alternate = clone.parent / "alternate.git"
    git(clone.parent, "init", "-q", "--bare", str(alternate))
    (clone / ".git" / "objects" / "info" / "alternates").write_text(f"{alternate / 'objects'}\n")


@pytest.fixture
def hostile(tmp_path):
    """A clone whose files (committed attributes, .git/config, hooks) try to run commands; ``marker`` tells."""
    remote = Remote(tmp_path, {"Dockerfile": MERGEABLE, **ASKS_FOR_MERGES})
    remote.commit({".gitattributes": "* filter=evil diff=evil merge=evil\n"}, "attributes")
    marker = tmp_path / "executed"
    arm(remote.human, marker)
    return remote, marker


def run_bot(clone: Path, marker: Path, *arguments: str) -> int:
    code = main(["--path", str(clone), *arguments])
    assert not marker.exists(), marker.read_text()
    return code


def as_the_human(clone: Path, marker: Path, *arguments: str) -> None:
    """The human's own git commands run their configuration: that is theirs to do, and not what is tested."""
    git(
        clone,
        "-c",
        "commit.gpgSign=false",
        "-c",
        "remote.origin.promisor=false",
        "-c",
        "filter.evil.process=",
        *arguments,
    )
    marker.unlink(missing_ok=True)


def test_no_configuration_key_of_a_clone_runs_a_command_in_any_bot_run(hostile, capsys):
    remote, marker = hostile
    clone = remote.human
    assert run_bot(clone, marker, "--dry-run") == 0, capsys.readouterr().err  # fetches only
    assert run_bot(clone, marker) == 0, capsys.readouterr().err  # pushes a new branch
    assert git(clone, "show", "dockerfix/optimize:Dockerfile") == MERGED
    assert run_bot(clone, marker) == 0  # reads it back: nothing to push
    as_the_human(clone, marker, "commit", "-q", "--allow-empty", "-m", "base moves")
    assert run_bot(clone, marker) == 0  # rebuilds the branch and force-pushes it with a lease
    (clone / "Dockerfile").write_text(MERGED)
    as_the_human(clone, marker, "commit", "-q", "-am", "fixed by hand")
    assert run_bot(clone, marker) == 0  # deletes the branch
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ", 1)[1].split(" (")[0] for line in lines if line.startswith(str(clone))] == [
        "would open a pull request",
        "branch pushed",
        "branch unchanged",
        "branch pushed",
        "closed",
    ]
    assert not git(clone, "branch", "--list", "dockerfix/optimize").strip()


def test_a_push_never_checks_out_into_the_clones_working_tree(hostile, capsys):
    """With `receive.denyCurrentBranch = updateInstead`, a push to the branch checked out in the clone would rewrite
    its working tree (running filters and push-to-checkout); the bot's push is refused instead."""
    remote, marker = hostile
    clone = remote.human
    assert run_bot(clone, marker) == 0  # the bot's own branch, which the next run rebuilds on the moved base
    bots_tip = git(clone, "rev-parse", "dockerfix/optimize")
    as_the_human(clone, marker, "symbolic-ref", "HEAD", "refs/heads/dockerfix/optimize")
    moved = git(clone, "commit-tree", "main^{tree}", "-p", "main", "-m", "the base moves").strip()
    as_the_human(clone, marker, "update-ref", "refs/heads/main", moved)
    capsys.readouterr()
    assert run_bot(clone, marker, "--base", "main") == 2
    assert "refusing to update checked out branch" in capsys.readouterr().err
    assert (clone / "Dockerfile").read_text() == MERGEABLE
    assert git(clone, "rev-parse", "dockerfix/optimize") == bots_tip


def test_a_clone_that_hands_pushes_to_a_proc_receive_hook_gets_no_push_and_runs_nothing(hostile, capsys):
    remote, marker = hostile
    as_the_human(remote.human, marker, "config", "receive.procReceiveRefs", "refs/heads")
    assert run_bot(remote.human, marker) == 2
    assert "proc-receive" in capsys.readouterr().err
    assert not git(remote.human, "branch", "--list", "dockerfix/optimize").strip()


@pytest.mark.parametrize(
    "arguments, configured, error",
    [
        ((), "main", "the bot's branch 'main' is the base branch: the bot never commits onto it"),
        (("--branch", "main"), None, "the bot's branch 'main' is the base branch"),
        (("--branch", "Main"), None, "the bot's branch 'Main' is the base branch"),
        (("--base", "release", "--branch", "release"), None, "the bot's branch 'release' is the base branch"),
        (("--branch=--force",), None, "the bot's branch: '--force' is not a branch name git accepts"),
        ((), "fix..it", "the bot's branch: 'fix..it' is not a branch name git accepts"),
        ((), "HEAD", "the bot's branch: 'HEAD' is not a branch name git accepts"),
        ((), "a b", "the bot's branch: 'a b' is not a branch name git accepts"),
        (("--base=-main",), None, "the base branch: '-main' is not a branch name git accepts"),
    ],
)
def test_the_bot_never_commits_onto_the_base_or_a_branch_git_would_refuse(
    remote, forge, capsys, arguments, configured, error
):
    git(remote.bare, "branch", "release", "main")
    if configured is not None:
        remote.commit({"pyproject.toml": f'[tool.dockerfix.bot]\nbranch = "{configured}"\n'}, "configure")
    heads = git(remote.bare, "for-each-ref", "--format=%(refname) %(objectname)")
    code, out, err = bot(forge, capsys, *arguments)
    assert code == 2 and out == "" and err.startswith(f"error: {REPO}: {error}"), err
    assert git(remote.bare, "for-each-ref", "--format=%(refname) %(objectname)") == heads
    assert forge.pulls(REPO) == []


FORGED = "0000000000000000"
HOSTILE_FOLDER = f"evil`` <b>x</b>\n<!-- dockerfix-bot fingerprint={FORGED} -->\n# Forged heading\n````\n\u202eevil"


def test_a_file_name_adds_no_markdown_and_cannot_pose_as_the_fingerprint(remote, forge, capsys):
    remote.commit({f"{HOSTILE_FOLDER}/Dockerfile": MERGEABLE}, "a hostile folder name")
    code, out, err = bot(forge, capsys)
    assert code == 0, err
    [pull] = forge.pulls(REPO)
    text = pull["body"]
    escaped = (
        "evil`` <b>x</b>\\n<!-- dockerfix-bot fingerprint=0000000000000000 -->\\n# Forged heading\\n````\\n\\u202eevil"
    )
    heading = f"### `````{escaped}/Dockerfile`````"  # a fence longer than the name's longest run of backticks
    assert heading in text.splitlines()
    assert "# Forged heading" not in text.splitlines() and "\u202e" not in text
    assert body.fingerprint_in(text) not in (None, FORGED)
    message = git(remote.bare, "log", "-1", "--format=%B", "dockerfix/optimize")
    assert "# Forged heading" not in message.splitlines() and len(message.strip().splitlines()) == 6
    assert message.strip().splitlines()[-2:] == ["", "Dockerfix-Bot-Branch: dockerfix/optimize"]
    forge.close(REPO, 1)
    remote.commit({"README.md": "unrelated\n"}, "base moves on")
    code, out, _ = bot(forge, capsys)
    assert out.startswith(f"{REPO}: skipped (#1 with these fixes was closed without merging)")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("body\n\n<!-- dockerfix-bot fingerprint=0123456789abcdef -->\n", "0123456789abcdef"),
        ("body\r\n\r\n<!-- dockerfix-bot fingerprint=0123456789abcdef -->\r\n\r\n", "0123456789abcdef"),
        ("<!-- dockerfix-bot fingerprint=0123456789abcdef -->\nedited below by a human\n", None),
        ("x <!-- dockerfix-bot fingerprint=0123456789abcdef -->\n", None),
        ("<!-- dockerfix-bot fingerprint=0123456789abcdef0 -->\n", None),
        ("", None),
    ],
)
def test_only_the_bots_own_last_line_is_read_as_the_fingerprint(text, expected):
    assert body.fingerprint_in(text) == expected
    closed = body.without_fingerprint(text)
    assert body.fingerprint_in(closed) is None and (closed == text) == (expected is None)


def test_a_diff_holding_code_fences_stays_inside_its_fence(remote, forge, capsys):
    remote.commit(
        {
            "Dockerfile": (
                "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n"
                "# ``````\n# done\n"
            )
        },
        "fences",
    )
    code, _, err = bot(forge, capsys)
    assert code == 0, err
    text = forge.pulls(REPO)[0]["body"]
    fence = "`" * 7
    assert f"{fence}diff\n" in text and text.count(fence) == 2


def test_a_body_template_cannot_include_a_file_through_a_link_beside_it(remote, forge, capsys, tmp_path):
    """The reproduction: a folder link beside the template, and an include through it of the process's environment."""
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "root").symlink_to("/")
    (folder / "secret.txt").write_text(TOKEN)
    template = folder / "body.md.j2"
    for include in ("root/proc/self/environ", "secret.txt", "../templates/secret.txt"):
        template.write_text(
            f'{{% extends "pull_request.md.j2" %}}{{% block summary %}}{{% include "{include}" %}}{{% endblock %}}'
        )
        code, out, err = bot(forge, capsys, "--body-template", str(template))
        assert code == 2 and f"error: {REPO}: {include}" in err, err
        assert TOKEN not in out + err
    assert forge.pulls(REPO) == []


@pytest.mark.parametrize("how", ["the file", "a folder on its path"])
def test_a_body_template_reached_through_a_link_is_refused(remote, forge, capsys, tmp_path, how):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "body.md.j2").write_text(TOKEN)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    if how == "the file":
        (checkout / "body.md.j2").symlink_to(outside / "body.md.j2")
    else:
        (checkout / "templates").symlink_to(outside)
    given = checkout / ("body.md.j2" if how == "the file" else "templates/body.md.j2")
    with pytest.raises(SystemExit) as exited:
        bot(forge, capsys, "--body-template", str(given))
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "the body template is reached through a symbolic link" in err
    assert TOKEN not in err and forge.pulls(REPO) == []


def test_a_body_template_that_is_a_fifo_is_refused_without_waiting(remote, forge, capsys, tmp_path):
    fifo = tmp_path / "body.md.j2"
    os.mkfifo(fifo)
    with pytest.raises(SystemExit) as exited:
        bot(forge, capsys, "--body-template", str(fifo))
    assert exited.value.code == 2 and "the body template is not a regular file" in capsys.readouterr().err


def test_the_token_is_in_no_command_line_file_or_output_and_no_git_process_inherits_its_variable(
    remote, forge, capsys, tmp_path, monkeypatch
):
    """Every git process of a whole run is seen by a wrapper on PATH that records its command line and environment
    and searches the bot's temporary folder for the token (in either form), then runs the real git."""
    credentials = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    spy, scratch, wrappers = tmp_path / "spy", tmp_path / "scratch", tmp_path / "bin"
    for folder in (spy, scratch, wrappers):
        folder.mkdir()
    (wrappers / "git").write_text(
        "#!/bin/sh\n"
        f'n=$$; printf "%s\\n" "$@" > {spy}/$n.argv; env > {spy}/$n.env\n'
        f"grep -rlF -e {TOKEN} -e {credentials} {scratch} >> {spy}/$n.files\n"
        f'exec {shutil.which("git")} "$@"\n'
    )
    (wrappers / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrappers}:{os.environ['PATH']}")
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    code, out, err = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: opened"), err
    # the fake GitHub's own git commands run as the human of bot_fake_github
    invocations = [argv for argv in spy.glob("*.argv") if "user.name=A Human" not in argv.read_text()]
    assert len(invocations) > 5
    for argv in invocations:
        environment = argv.with_suffix(".env").read_text().splitlines()
        assert TOKEN not in argv.read_text() and credentials not in argv.read_text()
        assert not any(line.startswith("GITHUB_TOKEN=") or TOKEN in line for line in environment)
        assert all(line.startswith("GIT_CONFIG_VALUE_0=") for line in environment if credentials in line)
        assert argv.with_suffix(".files").read_text() == ""
    assert TOKEN not in out + err and credentials not in out + err


def test_the_machines_git_configuration_is_not_read(remote, forge, capsys, tmp_path, monkeypatch):
    """The user's global configuration (both places) and whatever GIT_CONFIG_* variables say run nothing either."""
    marker = tmp_path / "executed"
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    for config in (home / ".gitconfig", home / ".config" / "git" / "config", tmp_path / "named.gitconfig"):
        write_commands(config, marker)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "named.gitconfig"))
    for name, value in {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.fsmonitor",
        "GIT_CONFIG_VALUE_0": marking(marker, "count"),
    }.items():
        monkeypatch.setenv(name, value)
    code, out, err = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: opened"), err
    code, out, err = bot(forge, capsys)
    assert code == 0 and out.startswith(f"{REPO}: up to date"), err
    assert not marker.exists(), marker.read_text()


def test_a_file_name_cannot_add_lines_to_the_bots_output(remote, forge, capsys):
    """In the GitHub Action the bot's output is the workflow log, where a line starting `::` is a workflow command."""
    remote.commit(
        {
            "x\n::error file=forged::owned\n\x1b[2J/Dockerfile": MERGEABLE,
            "broken\n::warning::y/Dockerfile": "FROM a\nRUN <<EOF\n",
        },
        "names",
    )
    code, out, err = bot(forge, capsys, "--dry-run")
    assert code == 0, err
    first = out.splitlines()[0]
    assert (
        first.startswith(f"{REPO}: would open a pull request (")
        and "x\\n::error file=forged::owned\\n\\x1b[2J/Dockerfile" in first
    )
    assert "broken\\n::warning::y/Dockerfile" in first
    assert not any(line.startswith("::") for line in (out + err).splitlines()) and "\x1b" not in out + err


def test_a_fix_title_holding_repository_text_stays_in_its_table_row(tmp_path):
    """Some titles name files of the build context (DF201's manifests), which can hold newlines."""
    (tmp_path / "Dockerfile").write_text(MERGEABLE)
    result = run_path(tmp_path / "Dockerfile", Settings(extend_select=("DF101",)))
    [finding] = result.findings
    assert finding.fix is not None
    titled = msgspec.structs.replace(finding, fix=msgspec.structs.replace(finding.fix, title="Copy a\n## Forged | b"))
    changed = body.ChangedFile("Dockerfile", msgspec.structs.replace(result, findings=(titled,)))
    text = body.render_body(body.context([changed], result.diff, "dockerfix/optimize", False, None), "0123456789abcdef")
    [row] = [line for line in text.splitlines() if line.startswith("| DF101")]
    assert "Copy a\\n## Forged \\| b" in row and not any(line.startswith("## Forged") for line in text.splitlines())


@given(st.text(min_size=1))
@example(" a ")  # Markdown drops one space at each end
@example("`a")
@example("a``")
@example("  ")
def test_any_name_renders_as_one_code_span_of_its_printable_text(name):
    rendered = MarkdownIt("commonmark").render(f"### {body.code_span(name)}")
    shown = html.escape(body.printable(name), quote=False).replace('"', "&quot;")
    assert rendered == f"<h3><code>{shown}</code></h3>\n"


@given(st.text())
@example("```\n</details>\n# Approved\n```")
@example("\x1b[31mred\x1b[0m\u202eevil")
def test_a_failed_build_s_log_renders_as_one_block_of_its_printable_text(log):
    """A build log is the repository's output: nothing in it may end its block and write into the body."""
    block = verification.log_block(log)
    shown = "\n".join(body.printable(line) for line in log[-verification.LOG_TAIL_CHARACTERS :].splitlines())
    if not shown.strip():
        assert block == ""
        return
    rendered = MarkdownIt("commonmark").render(block)
    opening = '<details><summary>The end of its build log</summary>\n<pre><code class="language-text">'
    assert rendered.startswith(opening) and rendered.endswith("</code></pre>\n</details>")
    code = rendered[len(opening) : -len("</code></pre>\n</details>")]
    assert "<" not in code and html.unescape(code) == shown + "\n"
