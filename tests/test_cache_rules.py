"""Build-cache rules against real build-context folders: what only the context can show."""

from __future__ import annotations

import gzip

from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.fixes import Applicability
from dockerfix.rules.df201_dependency_manifests_first import DependencyManifestsFirst
from dockerfix.rules.df202_add_to_copy import AddToCopy


def check(rule, text, folder):
    return engine.check(parse_text(text), [rule], BuildContext.from_directory(folder))


def test_add_of_an_archive_by_content_is_left_alone(tmp_path):
    (tmp_path / "bundle").write_bytes(gzip.compress(b"data"))
    (tmp_path / "plain").write_text("text\n")
    assert check(AddToCopy(), "FROM debian\nADD bundle /opt/\n", tmp_path) == ()
    (finding,) = check(AddToCopy(), "FROM debian\nADD plain /opt/\n", tmp_path)
    assert finding.fix.applicability is Applicability.SAFE
    assert check(AddToCopy(), "FROM debian\nADD b* /opt/\n", tmp_path) == ()


def test_node_modules_in_the_context_blocks_the_reorder(tmp_path):
    (tmp_path / "package.json").write_text('{"name": "x"}')
    (tmp_path / "package-lock.json").write_text("{}")
    text = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    (finding,) = check(DependencyManifestsFirst(), text, tmp_path)
    assert finding.fix is not None and finding.fix.applicability is Applicability.SAFE
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text("")
    (blocked,) = check(DependencyManifestsFirst(), text, tmp_path)
    assert blocked.fix is None and "node_modules" in blocked.message
    (tmp_path / ".dockerignore").write_text("node_modules\n")
    (ignored,) = check(DependencyManifestsFirst(), text, tmp_path)
    assert ignored.fix is not None


def test_install_scripts_and_npm_install_are_not_safe(tmp_path):
    (tmp_path / "package.json").write_text('{"scripts": {"postinstall": "node build.js"}}')
    text = "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    (finding,) = check(DependencyManifestsFirst(), text, tmp_path)
    assert finding.fix is None and "postinstall" in finding.message
    (tmp_path / "package.json").write_text('{"dependencies": {"a": "1"}}')
    (unsafe,) = check(DependencyManifestsFirst(), "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm install\n", tmp_path)
    assert unsafe.fix.applicability is Applicability.UNSAFE  # npm install may rewrite the lockfile


def test_rebuilt_steps_before_and_after_are_reported(tmp_path):
    (tmp_path / "requirements.txt").write_text("flask\n")
    text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nRUN python -m compileall .\n"
    (finding,) = check(DependencyManifestsFirst(), text, tmp_path)
    savings = finding.savings
    assert (savings.rebuilt_steps_before, savings.rebuilt_steps_after, savings.rebuilt_steps_after_source_edit) == (
        3,
        2,
        1,
    )
    assert "3 steps, 2 after" in finding.message


def test_a_split_install_reruns_only_the_project_install(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.poetry]\nname = 'x'\n")
    (tmp_path / "poetry.lock").write_text("")
    text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN poetry install\n"
    (finding,) = check(DependencyManifestsFirst(), text, tmp_path)
    assert finding.fix.applicability is Applicability.UNSAFE and "--no-root" in finding.fix.title
    assert (finding.savings.rebuilt_steps_before, finding.savings.rebuilt_steps_after) == (2, 2)
    (tmp_path / "pyproject.toml").write_text("[tool.poetry.dependencies]\nlib = { path = '../lib' }\n")
    (blocked,) = check(DependencyManifestsFirst(), text, tmp_path)
    assert blocked.fix is None and "path dependency" in blocked.message


def test_what_the_install_writes_in_the_context_blocks_the_reorder(tmp_path):
    (tmp_path / "mix.exs").write_text("defmodule A.MixProject do\nend\n")
    text = "FROM elixir:1.17\nWORKDIR /app\nCOPY . .\nRUN mix deps.get\n"
    (finding,) = check(DependencyManifestsFirst(), text, tmp_path)
    assert finding.fix is not None
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "jason.ex").write_text("")
    (blocked,) = check(DependencyManifestsFirst(), text, tmp_path)
    assert blocked.fix is None and "deps" in blocked.message
