"""The command line, run as a real subprocess on real files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

MERGEABLE = "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n"
MERGED = "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app \\\n    && chmod 755 /app\n"
CLEAN = "FROM debian:bookworm\nCOPY . /app\n"
# A merge saves a layer and nothing else: reported (and fixed) only when its rule is selected by its exact code
MERGES = ("--extend-select", "DF101")


# the keys of a finding's `savings` in JSON: every kind of claim, null where the finding makes none of that kind
SAVINGS_KEYS = {
    "layers",
    "bytes",
    "rebuilt_steps_after_source_edit",
    "rebuilt_steps_before",
    "rebuilt_steps_after",
    "bytes_basis",
    "bytes_at_least",
    "bytes_unknown",
    "cache_correctness",
}


def dockerfix(*arguments: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CI": "true"}
    return subprocess.run(
        [sys.executable, "-m", "dockerfix", *arguments],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=environment,
        timeout=120,
    )


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_reports_findings_and_diff_without_writing(tmp_path):
    target = write(tmp_path / "Dockerfile", MERGEABLE)
    result = dockerfix(*MERGES, "Dockerfile", cwd=tmp_path)
    out = result.stdout.decode()
    assert result.returncode == 1
    assert "Dockerfile:2:1: DF101 " in out and "[*]" in out
    assert "+++ b/Dockerfile" in out and "+    && chmod 755 /app" in out
    assert target.read_text() == MERGEABLE


def test_clean_file_exits_zero(tmp_path):
    write(tmp_path / "Dockerfile", CLEAN)
    result = dockerfix("Dockerfile", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "All checks passed." in result.stdout.decode()


def test_write_applies_fixes_atomically_keeping_mode_bom_and_crlf(tmp_path):
    original = ("\ufeff" + MERGEABLE.replace("\n", "\r\n")).encode()
    target = write(tmp_path / "Dockerfile", original)
    target.chmod(0o640)
    inode_before = target.stat().st_ino
    result = dockerfix(*MERGES, "--write", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == ("\ufeff" + MERGED.replace("\n", "\r\n")).encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != inode_before  # replaced by rename, never truncated in place
    assert [p.name for p in tmp_path.iterdir()] == ["Dockerfile"]  # no temporary left behind
    second = dockerfix("--check", "Dockerfile", cwd=tmp_path)
    assert second.returncode == 0


def test_write_does_not_touch_unchanged_files(tmp_path):
    target = write(tmp_path / "Dockerfile", CLEAN)
    before = target.stat().st_mtime_ns, target.stat().st_ino
    assert dockerfix("--write", "Dockerfile", cwd=tmp_path).returncode == 0
    assert (target.stat().st_mtime_ns, target.stat().st_ino) == before


def test_check_and_diff_modes(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    check = dockerfix(*MERGES, "--check", "Dockerfile", cwd=tmp_path)
    assert check.returncode == 1 and "Would rewrite: Dockerfile" in check.stdout.decode()
    diff = dockerfix(*MERGES, "--diff", "Dockerfile", cwd=tmp_path)
    assert diff.returncode == 1
    assert diff.stdout.decode().startswith("--- a/Dockerfile\n+++ b/Dockerfile\n")


def test_stdin_to_stdout(tmp_path):
    result = dockerfix(*MERGES, "-", cwd=tmp_path, stdin=MERGEABLE.encode())
    assert result.stdout.decode() == MERGED
    assert "DF101" in result.stderr.decode()


def test_json_output_shape(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    result = dockerfix(*MERGES, "--output-format", "json", "Dockerfile", cwd=tmp_path)
    data = json.loads(result.stdout)
    assert data["version"] == 1
    (file,) = data["files"]
    assert file["path"] == "Dockerfile" and file["changed"] is True and file["diff"]
    finding = file["findings"][0]
    assert finding["code"] == "DF101" and finding["name"] == "merge-consecutive-run"
    assert finding["range"]["start"] == {"line": 2, "column": 1}
    assert finding["fix"]["applicability"] == "safe" and finding["fix"]["edits"]
    assert set(finding["savings"]) == SAVINGS_KEYS


def test_sarif_and_github_outputs(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    sarif = json.loads(dockerfix(*MERGES, "--output-format", "sarif", "Dockerfile", cwd=tmp_path).stdout)
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["results"][0]["ruleId"] == "DF101"
    assert sarif["runs"][0]["results"][0]["fixes"][0]["artifactChanges"][0]["replacements"]
    github = dockerfix(*MERGES, "--output-format", "github", "Dockerfile", cwd=tmp_path).stdout.decode()
    assert github.startswith("::notice file=Dockerfile,line=2,col=1,")  # the merge saves a layer alone: a note


@pytest.mark.parametrize(
    "name, content, location, message",
    [
        ("binary", b"FROM a\n\x00\x01\x02", "binary:2:1:", "binary file"),
        ("latin1", b"FROM a\nLABEL x=caf\xe9\n", "latin1:2:12:", "invalid UTF-8"),
        ("heredoc", b"FROM a\nRUN <<EOF\necho\n", "heredoc:2:1:", "unterminated heredoc"),
    ],
)
def test_bad_input_is_reported_and_left_untouched(tmp_path, name, content, location, message):
    bad = write(tmp_path / name, content)
    good = write(tmp_path / "Dockerfile", MERGEABLE)
    result = dockerfix(*MERGES, "--write", name, "Dockerfile", cwd=tmp_path)
    assert result.returncode == 2
    assert location in result.stderr.decode() and message in result.stderr.decode()
    assert bad.read_bytes() == content
    assert good.read_text() == MERGED  # one bad file does not stop the others
    assert "1 file could not be read or parsed" in result.stdout.decode()
    alone = dockerfix(name, cwd=tmp_path)
    assert alone.returncode == 2 and "All checks passed" not in alone.stdout.decode()


def test_folder_without_dockerfiles_and_missing_file(tmp_path):
    (tmp_path / "empty").mkdir()
    result = dockerfix("empty", "missing", cwd=tmp_path)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "empty:1:1: is a directory" in err and "missing:1:1: cannot read" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path):
    target = write(tmp_path / "Dockerfile", MERGEABLE)
    target.chmod(0)
    result = dockerfix("Dockerfile", cwd=tmp_path)
    assert result.returncode == 2 and "Dockerfile:1:1: cannot read" in result.stderr.decode()


def test_folders_are_searched_in_parallel(tmp_path):
    names = [f"svc{i}/Dockerfile" for i in range(10)] + [
        "a.Dockerfile",
        "Dockerfile.dev",
        "c/Containerfile",
        "README.md",
        ".git/Dockerfile",
    ]
    for name in names:
        write(tmp_path / name, MERGEABLE)
    result = dockerfix(*MERGES, "--write", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in names[:-2]:
        assert (tmp_path / name).read_text() == MERGED, name
    assert (tmp_path / ".git/Dockerfile").read_text() == MERGEABLE


def test_select_ignore_and_config(tmp_path):
    write(tmp_path / "Dockerfile", MERGEABLE)
    assert dockerfix(*MERGES, "--ignore", "DF101", "Dockerfile", cwd=tmp_path).returncode == 0
    assert dockerfix("--select", "DF101", "Dockerfile", cwd=tmp_path).returncode == 1
    write(tmp_path / "pyproject.toml", '[tool.dockerfix]\nignore = ["DF101"]\n')
    assert dockerfix("Dockerfile", cwd=tmp_path).returncode == 0
    assert dockerfix("--select", "DF101", "--ignore", "", "Dockerfile", cwd=tmp_path).returncode == 1
    write(tmp_path / ".dockerfix.toml", "select = 1\n")
    broken = dockerfix("Dockerfile", cwd=tmp_path)
    assert broken.returncode == 2 and ".dockerfix.toml" in broken.stderr.decode()


def test_pin_digests_from_the_flag_or_the_configuration(tmp_path):
    digest = "sha256:" + "cd" * 32
    write(tmp_path / "Dockerfile", "FROM debian:bookworm-slim\n")
    write(tmp_path / ".dockerfix.toml", f'unsafe-fixes = true\n[digests]\n"debian:bookworm-slim" = "{digest}"\n')
    pinned = f"# tag: debian:bookworm-slim\nFROM debian:bookworm-slim@{digest}\n"
    assert dockerfix("--check", "Dockerfile", cwd=tmp_path).returncode == 0
    assert dockerfix("--pin-digests", "--write", "Dockerfile", cwd=tmp_path).returncode == 0
    assert (tmp_path / "Dockerfile").read_text() == pinned
    write(tmp_path / "Dockerfile", "FROM debian:bookworm-slim\n")
    write(
        tmp_path / ".dockerfix.toml",
        f'unsafe-fixes = true\npin-digests = true\n[digests]\n"debian:bookworm-slim" = "{digest}"\n',
    )
    assert dockerfix("--write", "Dockerfile", cwd=tmp_path).returncode == 0
    assert (tmp_path / "Dockerfile").read_text() == pinned


def test_per_file_ignores(tmp_path):
    write(tmp_path / "legacy/Dockerfile", MERGEABLE)
    write(tmp_path / "Dockerfile", MERGEABLE)
    write(tmp_path / ".dockerfix.toml", 'extend-select = ["DF101"]\n[per-file-ignores]\n"legacy/*" = ["DF101"]\n')
    result = dockerfix("--output-format", "json", ".", cwd=tmp_path)
    files = {Path(f["path"]).as_posix(): f for f in json.loads(result.stdout)["files"]}
    assert files["Dockerfile"]["findings"] and not files["legacy/Dockerfile"]["findings"]


@pytest.mark.parametrize(
    "comment",
    [
        "# dockerfix: ignore=DF101",
        "# dockerfix: ignore",
        "# hadolint ignore=DL3059",
        "# dockerfix: global ignore=DF101",
    ],
)
def test_suppression_comments(tmp_path, comment):
    text = f"FROM debian:bookworm\nRUN mkdir -p /app\n{comment}\nRUN chmod 755 /app\n"
    write(tmp_path / "Dockerfile", text)
    assert dockerfix("Dockerfile", cwd=tmp_path).returncode == 0


def test_list_rules_and_explain(tmp_path):
    listing = dockerfix("--list-rules", cwd=tmp_path).stdout.decode()
    assert "DF101  merge-consecutive-run" in listing
    explanation = dockerfix("--explain", "df101", cwd=tmp_path)
    assert explanation.returncode == 0
    text = explanation.stdout.decode()
    assert text.startswith("# DF101 merge-consecutive-run") and "What it does" in text and "```dockerfile" in text
    assert dockerfix("--explain", "DF999", cwd=tmp_path).returncode == 2


def test_usage_errors(tmp_path):
    assert dockerfix(cwd=tmp_path).returncode == 2
    assert dockerfix("--output-format", "xml", "Dockerfile", cwd=tmp_path).returncode == 2


def test_builder_target_is_a_validated_setting_of_the_command_line_and_the_configuration(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm\nRUN apt-get update\n")
    assert dockerfix("--target", "legacy", "Dockerfile", cwd=tmp_path).returncode in (0, 1)
    assert dockerfix("--target", "podman", "Dockerfile", cwd=tmp_path).returncode == 2
    (tmp_path / ".dockerfix.toml").write_text('target = "kaniko"\n')
    bad = dockerfix("Dockerfile", cwd=tmp_path)
    assert bad.returncode == 2 and "`target` must be one of 'buildkit', 'legacy'" in bad.stderr.decode()


def test_a_folder_run_never_writes_through_a_link_out_of_the_folder_nor_one_file_twice(tmp_path):
    outside = tmp_path / "outside" / "Dockerfile"
    outside.parent.mkdir()
    text = "FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y curl\n"
    outside.write_text(text)
    project = tmp_path / "project"
    project.mkdir()
    (project / "Dockerfile").symlink_to(outside)
    (project / "app").mkdir()
    (project / "app" / "Dockerfile").write_text(text)
    (project / "app" / "Dockerfile.alias").symlink_to("Dockerfile")
    result = dockerfix(*MERGES, "--write", "--output-format", "json", "project", cwd=tmp_path)
    checked = [entry["path"] for entry in json.loads(result.stdout)["files"]]
    assert checked == [str(Path("project") / "app" / "Dockerfile")]
    assert outside.read_text() == text
    assert (project / "app" / "Dockerfile").read_text() != text
    assert (project / "app" / "Dockerfile.alias").is_symlink()


SHARING = 'FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN mkdir -p /x\nRUN chmod 755 /x\nCMD ["node", "{}.js"]\n'
SHARING_MERGED = (
    "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci \\\n    && mkdir -p /x \\\n    && chmod 755 /x\n"
    'CMD ["node", "{}.js"]\n'
)


@pytest.mark.parametrize("count", [2, 8])  # 8: the files are checked by parallel workers
def test_dockerfiles_sharing_a_context_write_its_ignore_file_once_in_one_run(tmp_path, count):
    names = ["Dockerfile", *(f"w{index}.Dockerfile" for index in range(1, count))]
    for name in names:
        write(tmp_path / name, SHARING.format(name))
    write(tmp_path / "node_modules/a/index.js", "1")
    write(tmp_path / ".env", "KEY=1\n")
    result = dockerfix("--write", "--unsafe-fixes", "--select", "DF101,DF120,DF204", ".", cwd=tmp_path)
    assert "appeared on disk" not in result.stderr.decode() and result.returncode == 0, result.stderr.decode()
    for name in names:
        assert (tmp_path / name).read_text() == SHARING_MERGED.format(name), name
    assert (
        tmp_path / ".dockerignore"
    ).read_text() == "**/node_modules\nDockerfile*\n*.Dockerfile\n.env\n.dockerignore\n"
    again = dockerfix("--check", "--unsafe-fixes", "--select", "DF101,DF120,DF204", ".", cwd=tmp_path)
    assert again.returncode == 0, again.stdout.decode()


def test_a_fix_that_cannot_be_written_is_not_called_unreadable(tmp_path):
    write(tmp_path / "Dockerfile", SHARING.format("server"))
    write(tmp_path / "node_modules/a/index.js", "1")
    write(tmp_path / "ignore/shared", "*.log\n")
    os.symlink("ignore/shared", tmp_path / ".dockerignore")  # read through the link, never written through it
    # the ignore file keeps out a 1-byte file: reported with every gain counted
    result = dockerfix("--write", "--unsafe-fixes", "--min-gain", "0", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 2 and "symbolic link: not written" in result.stderr.decode()
    summary = result.stdout.decode()
    assert "1 file could not be written (errors on stderr)" in summary and "read or parsed" not in summary
    assert "DF204" in summary and (tmp_path / "Dockerfile").read_text() == SHARING.format("server")
