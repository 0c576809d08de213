"""Which files a folder walk checks: every common Dockerfile name, `exclude`/`extend-exclude` and the repository's
`.gitignore` as ruff's walk (issue 23)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from test_cli import CLEAN, MERGEABLE, MERGES, dockerfix, write

from dockerfix.rewriter.discovery import walk

NAMES = [
    "Dockerfile",
    "Dockerfile.prod",
    "Dockerfile-prod",
    "dockerfile",
    "dockerfile.prod",
    "dockerfile-dev",
    "api.Dockerfile",
    "api.dockerfile",
    "Containerfile",
    "Containerfile.dev",
    "dev.Containerfile",
]


@pytest.mark.parametrize("name", NAMES)
def test_every_common_dockerfile_name_is_found_and_checked(tmp_path, name):
    write(tmp_path / "service" / name, MERGEABLE)
    result = dockerfix(*MERGES, "--output-format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert f"service/{name}" in result.stdout.decode()


@pytest.mark.parametrize(
    "name, kind", [("dockerfile.py", "source code"), ("Dockerfile.j2", "a template"), ("Dockerfile.tmpl", "a template")]
)
def test_a_file_named_like_a_dockerfile_that_is_not_one_is_skipped_with_a_note(tmp_path, name, kind):
    write(tmp_path / name, "{% if x %}\nFROM {{ image }}\n{% endif %}\n")
    write(tmp_path / "Dockerfile", CLEAN)
    result = dockerfix(*MERGES, ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert f"note: {name}: skipped: named like a Dockerfile but {kind}" in result.stderr.decode().replace("./", "")


def git(folder, *arguments):
    subprocess.run(["git", *arguments], cwd=folder, check=True, capture_output=True)


def test_gitignore_is_respected_at_every_level_unless_told_not_to(tmp_path):
    git(tmp_path, "init", "-q")
    write(tmp_path / ".gitignore", "build/\n")
    write(tmp_path / "build" / "Dockerfile", MERGEABLE)
    write(tmp_path / "app" / ".gitignore", "Dockerfile.local\n!keep/\n")
    write(tmp_path / "app" / "Dockerfile.local", MERGEABLE)
    write(tmp_path / "app" / "Dockerfile", CLEAN)
    write(tmp_path / ".git" / "info" / "exclude", "scratch/\n")
    write(tmp_path / "scratch" / "Dockerfile", MERGEABLE)
    assert [path.relative_to(tmp_path).as_posix() for path in walk(tmp_path).files] == ["app/Dockerfile"]
    assert dockerfix(*MERGES, ".", cwd=tmp_path).returncode == 0
    assert dockerfix(*MERGES, "app", cwd=tmp_path).returncode == 0  # the root's ignore files count for a subfolder too
    every = dockerfix(*MERGES, "--no-respect-gitignore", "--output-format", "json", ".", cwd=tmp_path)
    assert every.returncode == 1
    for name in ("build/Dockerfile", "app/Dockerfile.local", "scratch/Dockerfile"):
        assert name in every.stdout.decode()
    write(tmp_path / ".dockerfix.toml", "respect-gitignore = false\n")
    assert dockerfix(*MERGES, ".", cwd=tmp_path).returncode == 1


def test_each_pattern_matches_from_its_own_folder_whichever_folder_the_walk_starts_in(tmp_path):
    git(tmp_path, "init", "-q")
    write(tmp_path / ".gitignore", "/app/sub/Dockerfile.gen\n")
    write(tmp_path / "app" / ".gitignore", "/Dockerfile.local\n")
    write(tmp_path / "app" / "sub" / ".gitignore", "deeper/\n")
    names = (
        "app/Dockerfile.local",
        "app/Dockerfile.gen",
        "app/sub/Dockerfile.local",
        "app/sub/Dockerfile.gen",
        "app/sub/deeper/Dockerfile",
        "app/sub/other/Dockerfile",
        "app/sub/other/deeper/x/Dockerfile",
    )
    for name in names:
        write(tmp_path / name, CLEAN)
    kept = ["app/Dockerfile.gen", "app/sub/Dockerfile.local", "app/sub/other/Dockerfile"]

    def walked(folder, exclude=(), base=None):
        return [path.relative_to(tmp_path).as_posix() for path in walk(folder, exclude, base).files]

    assert walked(tmp_path) == kept
    assert walked(tmp_path / "app" / "sub") == kept[1:]  # the ignore files above the walked folder count
    # the configuration's patterns are relative to its folder, wherever the walk starts; outside it, names match
    assert walked(tmp_path / "app", ("sub/other/",), tmp_path) == kept
    assert walked(tmp_path / "app", ("app/sub/other/",), tmp_path) == kept[:2]
    assert walked(tmp_path / "app", ("other/",), tmp_path / "elsewhere") == kept[:2]
    assert walked(tmp_path / "app", ("/sub/",), tmp_path / "app") == kept[:1]


def test_exclude_and_extend_exclude_from_the_configuration_and_the_command_line(tmp_path):
    write(tmp_path / "fixtures" / "Dockerfile", MERGEABLE)
    write(tmp_path / "deploy" / "Dockerfile.old", MERGEABLE)
    write(tmp_path / "node_modules" / "x" / "Dockerfile", MERGEABLE)
    write(tmp_path / "app" / "Dockerfile", CLEAN)
    write(tmp_path / ".dockerfix.toml", 'extend-exclude = ["fixtures/", "*.old"]\n')
    assert dockerfix(*MERGES, ".", cwd=tmp_path).returncode == 0
    assert (
        dockerfix(*MERGES, "fixtures/Dockerfile", cwd=tmp_path).returncode == 1
    )  # a file named on the command line is checked
    write(tmp_path / ".dockerfix.toml", 'exclude = ["fixtures/"]\n')  # replaces the defaults: node_modules is walked
    replaced = dockerfix(*MERGES, "--output-format", "json", ".", cwd=tmp_path).stdout.decode()
    assert "node_modules/x/Dockerfile" in replaced and "fixtures/Dockerfile" not in replaced
    assert dockerfix(*MERGES, "--extend-exclude", "node_modules/,*.old", ".", cwd=tmp_path).returncode == 0
    write(tmp_path / ".dockerfix.toml", "extend-exclude = 3\n")
    broken = dockerfix(*MERGES, ".", cwd=tmp_path)
    assert broken.returncode == 2 and "extend-exclude" in broken.stderr.decode()


def test_a_folder_run_reports_in_the_order_of_the_files_paths_not_the_walk_s(tmp_path):
    """Worker processes check a folder's Dockerfiles as the walk finds them (a folder's files before its subfolders'),
    but the report lists them by path, as sorted paths do, and the paths named after the folder after it."""
    names = [f"{prefix}{suffix}" for prefix in "abcde" for suffix in (".Dockerfile", "/Dockerfile")]
    for name in names:
        write(tmp_path / "walked" / name, MERGEABLE)
    named = write(tmp_path / "alone.Dockerfile", MERGEABLE)
    run = dockerfix("--output-format", "json", "--extend-select", "DF101", "walked", named.name, cwd=tmp_path)
    reported = [entry["path"] for entry in json.loads(run.stdout)["files"]]
    expected = [str(path) for path in sorted(Path("walked", name) for name in names)] + [named.name]
    assert reported == expected
    assert reported[:2] == ["walked/a/Dockerfile", "walked/a.Dockerfile"]  # not the walk's order
