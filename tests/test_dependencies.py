"""Reading dependency manifests from a hostile build context: includes that loop, a setup.py that crashes libcst,
values of the wrong type (issue 15 items 5, 6, 7). Real folders, real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import dockerfix, write

from dockerfix.knowledge.analysis import Invocation
from dockerfix.knowledge.dependencies import (
    MAX_INCLUDE_DEPTH,
    declared,
    installed_packages,
    requirement_files,
    setup_py_requirements,
)
from dockerfix.knowledge.ecosystems import recognise
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse_text

PIP_INSTALL = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
ALPINE_PROJECT = "FROM python:3.12-alpine\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
DEEP_SETUP_PY = "from setuptools import setup\nsetup(install_requires=" + "[" * 1500 + "]" * 1500 + ")\n"


def context_of(tmp_path: Path, files: dict[str, str]) -> BuildContext:
    for name, text in files.items():
        write(tmp_path / name, text)
    return BuildContext.from_directory(tmp_path)


@pytest.mark.parametrize(
    "include",
    ["-r ../requirements.txt", "-r requirements.txt", "--requirement=./requirements.txt", "-c ../../requirements.txt"],
)
def test_an_include_loop_ends_in_the_cli(tmp_path, include):
    write(tmp_path / "Dockerfile", PIP_INSTALL)
    write(tmp_path / "absolute.Dockerfile", "FROM python:3.12\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n")
    write(tmp_path / "requirements.txt", f"{include}\nflask\n")
    result = dockerfix("--output-format", "json", "Dockerfile", "absolute.Dockerfile", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "rule bug" not in result.stderr.decode()
    assert all(
        "DF201" in {finding["code"] for finding in file["findings"]} for file in json.loads(result.stdout)["files"]
    )


def test_includes_are_read_once_each_within_the_context_and_a_bounded_depth(tmp_path):
    chain = {f"r{index}.txt": f"-r r{index + 1}.txt\npackage{index}\n" for index in range(MAX_INCLUDE_DEPTH + 3)}
    context = context_of(
        tmp_path / "context",
        {
            "requirements.txt": (
                "-r requirements.txt\n-c sub/constraints.txt\n-r https://example.invalid/r.txt\n-r r0.txt\n"
            ),
            "sub/constraints.txt": "--requirement ../requirements.txt\n-r ../../outside.txt\n",
            **chain,
        },
    )
    write(tmp_path / "outside.txt", "secret\n")
    found = requirement_files(context, ["requirements.txt"])
    assert list(found.texts)[:3] == ["requirements.txt", "sub/constraints.txt", "r0.txt"]
    assert f"r{MAX_INCLUDE_DEPTH - 1}.txt" in found.texts and f"r{MAX_INCLUDE_DEPTH}.txt" not in found.texts
    assert [path for path, _ in found.beyond] == ["sub/constraints.txt", f"r{MAX_INCLUDE_DEPTH - 1}.txt"]
    assert "outside the build context" in found.beyond[0][1] and "includes deep" in found.beyond[1][1]
    install = recognise_pip(context)
    assert install.needs_more == found.beyond[0][1] and "r0.txt" in install.manifests


def recognise_pip(context: BuildContext):
    script = parse_text("FROM python:3.12\nRUN pip install -r requirements.txt\n").instructions[1].shell
    assert script is not None
    (command,) = script.simple_commands()
    return recognise(command, context)


@pytest.mark.parametrize(
    "run, named",
    [
        ("pip install --no-cache-dir flask==3.0", ["flask"]),
        # what the requirements file adds is not written here, however the option is spelt
        ("pip install -r requirements.txt flask", None),
        ("pip install -rrequirements.txt flask", None),
        ("pip install --requirement=requirements.txt flask", None),
    ],
)
def test_installed_packages_are_only_those_the_command_line_names_all_of(run, named):
    script = parse_text(f"FROM python:3.12\nRUN {run}\n").instructions[1].shell
    assert script is not None
    (command,) = script.simple_commands()
    assert installed_packages("pip", Invocation.of(command)) == named


def test_declared_packages_follow_includes(tmp_path):
    context = context_of(
        tmp_path, {"requirements.txt": "-r base.txt\nflask\n", "base.txt": "psycopg2==2.9\n-r missing.txt\n"}
    )
    declarations = declared(context, "python")
    assert declarations.packages == {"flask", "psycopg2"}
    assert declarations.files == ("requirements.txt", "base.txt") and declarations.unreadable == ("missing.txt",)


def test_a_setup_py_that_crashes_libcst_is_unreadable_and_the_process_goes_on(tmp_path):
    assert setup_py_requirements(DEEP_SETUP_PY) is None
    assert setup_py_requirements(
        "from setuptools import setup\nsetup(install_requires=['psycopg2>=2', 'flask'])\n"
    ) == {"psycopg2", "flask"}
    assert setup_py_requirements("setup(install_requires=[" + "'x', " * 200_000 + "])\n") is None  # too large to parse


def test_the_setup_py_child_imports_nothing_from_the_working_folder_or_the_environment(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    write(tmp_path / "json.py", f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)  # the bot may work inside a repository
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    assert setup_py_requirements(f"setup(install_requires=['flask'])  # {tmp_path}\n") == {"flask"}
    assert not marker.exists()


def test_a_folder_run_survives_a_setup_py_that_crashes_libcst(tmp_path):
    for index in range(9):
        write(
            tmp_path / f"svc{index}/Dockerfile",
            "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\n",
        )
    write(tmp_path / "svc0/Dockerfile", ALPINE_PROJECT)
    write(tmp_path / "svc0/setup.py", DEEP_SETUP_PY)
    write(tmp_path / "svc1/Dockerfile", ALPINE_PROJECT)
    write(tmp_path / "svc1/setup.py", "from setuptools import setup\nsetup(install_requires=['psycopg2'])\n")
    # DF302 claims no gain the gate counts (a risk, not bytes): it reports when selected by its code
    result = dockerfix("--output-format", "json", "--extend-select", "DF302", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    files = {entry["path"]: entry for entry in json.loads(result.stdout)["files"]}
    assert len(files) == 9 and not any("error" in entry for entry in files.values())
    assert "DF302" in {finding["code"] for finding in files["svc1/Dockerfile"]["findings"]}
    assert "DF302" not in {finding["code"] for finding in files["svc0/Dockerfile"]["findings"]}


@pytest.mark.parametrize(
    "name, text",
    [
        ("pyproject.toml", "[project]\ndependencies = 5\n"),
        ("pyproject.toml", "project = 5\n"),
        ("pyproject.toml", "[project]\ndependencies = [1, 2]\n"),
        ("pyproject.toml", "[project.optional-dependencies]\ntest = 'pytest'\n"),
        ("pyproject.toml", "tool = 'x'\n"),
        ("pyproject.toml", "[tool.poetry]\ndependencies = ['flask']\n"),
        ("pyproject.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n"),
        ("pyproject.toml", "[project\n"),
        ("Pipfile", "packages = ['flask']\n"),
        ("package.json", "[1, 2]\n"),
        ("package.json", '{"dependencies": ["left-pad"], "scripts": 5}\n'),
        ("package.json", "[" * 100_000 + "]" * 100_000),
        ("composer.json", '{"require": "php"}\n'),
        ("composer.json", '{"require": [], "repositories": 5}\n'),
    ],
)
def test_manifests_of_the_wrong_type_are_unreadable_not_rule_bugs(tmp_path, name, text):
    ecosystem = {"pyproject.toml": "python", "Pipfile": "python", "package.json": "node", "composer.json": "php"}[name]
    context = context_of(tmp_path / "context", {name: text})
    assert declared(context, ecosystem).unreadable == (name,)
    base = {"python": "python:3.12", "node": "node:20", "php": "php:8.3"}[ecosystem]
    install = {"python": "pip install .", "node": "npm ci", "php": "composer install"}[ecosystem]
    # DF301 reads the full image's dependencies, DF302 the Alpine one's, DF201 both; a pyproject.toml beside or above
    # a Dockerfile is configuration, so the Dockerfiles live in a folder of their own
    write(tmp_path / "docker/Dockerfile", f"FROM {base}\nWORKDIR /app\nCOPY . .\nRUN {install}\n")
    write(tmp_path / "docker/alpine.Dockerfile", f"FROM {base}-alpine\nWORKDIR /app\nCOPY . .\nRUN {install}\n")
    result = dockerfix("--unsafe-fixes", "--context", "context", "docker", cwd=tmp_path)
    assert "rule bug" not in result.stdout.decode() + result.stderr.decode()
    assert result.returncode in (0, 1), result.stderr


HOSTILE_TEXTS = {  # each at the 1 MB read limit: a pattern that backtracks across lines never finishes on them
    "go.mod": "require (\n" * 100_000,
    "Gemfile": "\n" * 1_000_000,
    "requirements.txt": "-r requirements.txt\n" * 50_000,
    "package.json": "[" * 500_000 + "]" * 500_000,
    "pyproject.toml": "a = " + "[" * 400_000 + "]" * 400_000,
}


def test_manifests_at_the_size_limit_are_read_without_hanging(tmp_path):
    """Not a speed target: a quadratic reader takes hours on these, a linear one well under the timeout."""
    for name, text in HOSTILE_TEXTS.items():
        write(tmp_path / "context" / name, text)
    program = (
        "import sys\n"
        "from dockerfix.rewriter.context import BuildContext\n"
        "from dockerfix.knowledge.dependencies import declared\n"
        "from dockerfix.knowledge.ecosystems import recognise\n"
        "from dockerfix.rewriter.document import parse_text\n"
        "from pathlib import Path\n"
        "context = BuildContext.from_directory(Path(sys.argv[1]))\n"
        "for ecosystem in ('python', 'node', 'go', 'ruby'):\n"
        "    print(ecosystem, sorted(declared(context, ecosystem).unreadable))\n"
        "runs = 'RUN pip install -r requirements.txt\\nRUN npm ci\\nRUN go mod download\\nRUN bundle install\\n'\n"
        "for instruction in parse_text('FROM x\\n' + runs).instructions[1:]:\n"
        "    recognise(instruction.shell.simple_commands()[0], context)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, str(tmp_path / "context")], capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        "python ['pyproject.toml']",
        "node ['package.json']",
        "go []",
        "ruby []",
    ]
