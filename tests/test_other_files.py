"""Fixes that change a file beside the Dockerfile (DF204's .dockerignore): the engine's fix loop, the CLI's diff,
check, JSON and write, standard input, and the refusals of writes through links or over changed files."""

from __future__ import annotations

import json
import os

import pytest
from test_cli import MERGEABLE, MERGED, dockerfix, write

from dockerfix.rewriter import engine
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.files import ContextFileError, write_in_context
from dockerfix.rewriter.fixes import Applicability, FileEdit
from dockerfix.rewriter.pipeline import BuildContexts, run_path
from dockerfix.rewriter.source import Source
from dockerfix.rules.df101_merge_consecutive_run import MergeConsecutiveRun
from dockerfix.rules.df204_dockerignore import Dockerignore

NODE = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"


def node_context(folder):
    write(folder / "Dockerfile", NODE)
    write(folder / "package.json", "{}\n")
    write(folder / "node_modules/left-pad/index.js", "module.exports = 1\n")
    write(folder / ".env", "TOKEN=secret\n")
    return folder


def test_file_edit_paths_stay_inside_the_context():
    for path in ("/etc/passwd", "../x", "a/../../x", "", "a//b", "./x"):
        with pytest.raises(ValueError):
            FileEdit(path, None, "x\n")


def test_fix_loop_carries_the_new_file_with_the_dockerfile_edits_and_converges(tmp_path):
    node_context(tmp_path)
    text = NODE.replace(
        "RUN npm ci\n", "RUN npm ci\nRUN curl -fsSLo /data https://example.invalid/data\nRUN chmod 700 /data\n"
    )
    result = engine.fix(
        Source(text), [Dockerignore(), MergeConsecutiveRun()], BuildContext.from_directory(tmp_path), unsafe_fixes=True
    )
    assert result.converged and result.changed
    assert "&& chmod 700 /data" in result.text
    assert [(file.path, file.original, file.content) for file in result.files] == [
        (".dockerignore", None, "**/node_modules\nDockerfile*\n.env\n.dockerignore\n")
    ]
    assert [finding.code for finding in result.applied].count("DF204") == 1  # not re-applied in the passes after


def test_without_other_files_the_fix_is_display_only(tmp_path):
    node_context(tmp_path)
    context = BuildContext.from_directory(tmp_path)
    result = engine.fix(Source(NODE), [Dockerignore()], context, unsafe_fixes=True, other_files=False)
    assert not result.changed and not result.files
    (finding,) = result.findings
    assert finding.fix is not None
    assert finding.fix.applicability == Applicability.DISPLAY_ONLY and finding.fix.files


def test_cli_diff_check_json_and_write_then_nothing_left(tmp_path):
    node_context(tmp_path)
    diff = dockerfix("--unsafe-fixes", "--diff", "--select", "DF204", "Dockerfile", cwd=tmp_path)
    assert diff.returncode == 1
    assert (
        diff.stdout.decode()
        == "--- /dev/null\n+++ b/.dockerignore\n@@ -0,0 +1,4 @@\n+**/node_modules\n+Dockerfile*\n+.env\n"
        "+.dockerignore\n"
    )
    check = dockerfix("--unsafe-fixes", "--check", "--select", "DF204", "Dockerfile", cwd=tmp_path)
    assert check.returncode == 1 and "Would create: .dockerignore" in check.stdout.decode()
    assert "Would rewrite: Dockerfile" not in check.stdout.decode()
    report = json.loads(
        dockerfix("--unsafe-fixes", "--output-format", "json", "--select", "DF204", "Dockerfile", cwd=tmp_path).stdout
    )
    (file,) = report["files"]
    assert file["changed"] and file["other_files"][0]["path"] == ".dockerignore" and file["other_files"][0]["created"]
    assert file["findings"][0]["fix"]["files"] == [
        {"path": ".dockerignore", "created": True, "content": "**/node_modules\nDockerfile*\n.env\n.dockerignore\n"}
    ]
    assert not (tmp_path / ".dockerignore").exists()
    written = dockerfix("--unsafe-fixes", "--write", "--select", "DF204", "Dockerfile", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert (tmp_path / ".dockerignore").read_text() == "**/node_modules\nDockerfile*\n.env\n.dockerignore\n"
    assert (tmp_path / "Dockerfile").read_text() == NODE
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".dockerignore",
        ".env",
        "Dockerfile",
        "node_modules",
        "package.json",
    ]
    again = dockerfix("--unsafe-fixes", "--check", "--select", "DF204", "Dockerfile", cwd=tmp_path)
    assert again.returncode == 0, again.stdout


def test_write_extends_an_existing_ignore_file_keeping_its_lines(tmp_path):
    node_context(tmp_path)
    write(tmp_path / ".dockerignore", "# ours\n*.log\n!keep.log")
    result = dockerfix("--unsafe-fixes", "--write", "--select", "DF204", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".dockerignore").read_text() == "# ours\n*.log\n!keep.log\n**/node_modules\nDockerfile*\n.env\n"


def test_stdin_cannot_write_a_second_file(tmp_path):
    node_context(tmp_path)
    result = dockerfix(
        "--unsafe-fixes", "--select", "DF204", "--stdin-filename", "Dockerfile", "-", cwd=tmp_path, stdin=NODE.encode()
    )
    assert result.stdout.decode() == NODE
    assert "DF204" in result.stderr.decode() and "[*]" not in result.stderr.decode()
    assert not (tmp_path / ".dockerignore").exists()


def test_an_ignore_file_linked_elsewhere_is_not_written(tmp_path):
    context = node_context(tmp_path / "context")
    outside = write(tmp_path / "outside", "*.log\n")
    os.symlink(outside, context / ".dockerignore")
    # the context model already refuses to read an ignore file out of the context: nothing is claimed, nothing written
    result = dockerfix("--unsafe-fixes", "--write", "--select", "DF204", "Dockerfile", cwd=context)
    assert outside.read_text() == "*.log\n" and (context / ".dockerignore").is_symlink()
    with pytest.raises(ContextFileError, match="symbolic link"):
        write_in_context(context, ".dockerignore", "*.log\n", "*.log\n.env\n")
    assert outside.read_text() == "*.log\n"
    assert result.returncode in (0, 1)


def test_writes_never_go_through_a_linked_folder(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "context").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "context" / "sub")
    with pytest.raises(ContextFileError, match="not a folder of the build context"):
        write_in_context(tmp_path / "context", "sub/.dockerignore", None, ".git\n")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_file_that_appeared_or_changed_meanwhile_is_left_alone(tmp_path):
    write(tmp_path / ".dockerignore", "theirs\n")
    with pytest.raises(ContextFileError, match="appeared"):
        write_in_context(tmp_path, ".dockerignore", None, ".git\n")
    with pytest.raises(ContextFileError, match="changed on disk"):
        write_in_context(tmp_path, ".dockerignore", "ours\n", "ours\n.git\n")
    assert (tmp_path / ".dockerignore").read_text() == "theirs\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == [".dockerignore"]  # no temporary left behind


def test_a_created_file_follows_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        write_in_context(tmp_path, ".dockerignore", None, ".git\n")
    finally:
        os.umask(previous)
    assert (tmp_path / ".dockerignore").stat().st_mode & 0o777 == 0o640


# Both Dockerfiles copy the whole context; the ignore file the first one's fix writes serves the second as well
WEB = "FROM nginx:1.27\nCOPY . /usr/share/nginx/html\n"
QUIET = 'FROM alpine:3.20\nCMD ["true"]\n'


def shared_context(folder, quiet_dockerfiles):
    node_context(folder)
    write(folder / "Dockerfile.web", WEB)
    for index in range(quiet_dockerfiles):
        write(folder / f"Dockerfile.quiet{index}", QUIET)
    return folder


def written_files(folder):
    return {path.name: path.read_text() for path in folder.iterdir() if path.is_file()}


@pytest.mark.parametrize("quiet_dockerfiles", [0, 8], ids=["in-process", "worker-processes"])
def test_one_run_over_a_shared_context_writes_and_reports_what_one_run_per_dockerfile_does(tmp_path, quiet_dockerfiles):
    # a later Dockerfile must see the ignore file an earlier one's fix wrote: with the context read before that
    # write, Dockerfile.web reported (and "rewrote") the lines Dockerfile's fix had already written
    together, apart = (shared_context(tmp_path / name, quiet_dockerfiles) for name in ("together", "apart"))
    arguments = ("--unsafe-fixes", "--write", "--select", "DF204", "--output-format", "json")
    names = sorted(path.name for path in together.glob("Dockerfile*"))
    one_run = dockerfix(*arguments, *names, cwd=together)
    assert one_run.returncode == 0, one_run.stderr
    runs = [dockerfix(*arguments, name, cwd=apart) for name in names]
    assert [run.returncode for run in runs] == [0] * len(names)
    assert json.loads(one_run.stdout)["files"] == [json.loads(run.stdout)["files"][0] for run in runs]
    assert written_files(together) == written_files(apart)
    assert [file["path"] for file in json.loads(one_run.stdout)["files"] if file["changed"]] == ["Dockerfile"]


def test_each_run_in_a_process_reads_the_context_again(tmp_path):
    # a process that runs twice (a library user, a long-lived bot) sees what changed on disk between its runs
    node_context(tmp_path)
    settings = Settings(select=("DF204",), unsafe_fixes=True)
    assert [finding.code for finding in run_path(tmp_path / "Dockerfile", settings).findings] == ["DF204"]
    write(tmp_path / ".dockerignore", "**/node_modules\nDockerfile*\n.env\n.dockerignore\n")
    assert run_path(tmp_path / "Dockerfile", settings).findings == ()


def test_a_dockerfile_rewritten_in_place_is_read_again_by_the_next_one_of_its_context(tmp_path):
    # the context's listing serves on after a rewrite in place; what was read from the files' contents does not
    dockerfile = write(tmp_path / "Dockerfile", MERGEABLE)
    contexts = BuildContexts()
    assert contexts.for_dockerfile(tmp_path, dockerfile).builders.dockerfiles == (("Dockerfile", MERGEABLE.encode()),)
    assert run_path(dockerfile, Settings(extend_select=("DF101",)), write=True, contexts=contexts).written
    context = contexts.for_dockerfile(tmp_path, dockerfile)
    assert context.builders.dockerfiles == (("Dockerfile", MERGED.encode()),)
    assert context.files() == ("Dockerfile",)
