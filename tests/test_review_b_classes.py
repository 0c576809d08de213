"""Classes issue 20's blind review of sample B found, each fixed as a rule about Dockerfiles: a cache the RUN already
removes, a cache mount over a folder the RUN removes or moves (BuildKit cannot remove a mount point: the build
breaks), npm's alias `npm cache clear`, pip installing local wheels only, source files named `dockerfile.*`,
unrendered templates, and the cache rules held back until they pass a blind review."""

from __future__ import annotations

import json

import pytest
from test_cli import dockerfix, write

from dockerfix.rewriter import engine
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.discovery import is_dockerfile_name, walk
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.pipeline import run_path
from dockerfix.rules.df102_apt_lists_cleanup import AptListsCleanup
from dockerfix.rules.df105_pip_no_cache_dir import PipNoCacheDir
from dockerfix.rules.df107_js_cache_clean import JsCacheClean
from dockerfix.rules.df205_build_cache_mount import BuildCacheMount


def check(rule, text):
    return engine.check(parse_text(text), [rule])


@pytest.mark.parametrize(
    "removal", ["rm -rf /root/.npm", "rm -rf ~/.npm", 'rm -rf "$HOME/.npm"', "rm -rf ${HOME}/.npm/", "rm -rf /root/.n*"]
)
def test_a_run_as_root_that_removes_npms_cache_is_clean(removal):
    dockerfile = (
        f"FROM alpine:3.19\nRUN apk add --no-cache npm\nRUN npm install -g foxx-cli && {removal} && echo done\n"
    )
    assert check(JsCacheClean(), dockerfile) == ()


def test_removing_another_folder_or_only_yarns_cache_leaves_npms_cache_reported():
    assert check(JsCacheClean(), "FROM node:20\nRUN npm install -g foxx-cli && rm -rf /root/.cache\n")
    assert check(
        JsCacheClean(), "FROM node:20\nRUN npm install -g foxx-cli && yarn install --frozen-lockfile && rm -rf /tmp/x\n"
    )
    assert (
        check(
            JsCacheClean(), "FROM node:20\nRUN yarn install --frozen-lockfile && rm -rf /usr/local/share/.cache/yarn\n"
        )
        == ()
    )


@pytest.mark.parametrize("removal", ["rm -rf /root/.cache", "rm -rf ~/.cache/pip", 'rm -rf "$HOME/.cache/pip"'])
def test_a_run_as_root_that_removes_pips_cache_after_the_install_is_clean(removal):
    assert check(PipNoCacheDir(), f"FROM python:3.12\nRUN pip install flask && {removal}\n") == ()
    assert check(PipNoCacheDir(), f"FROM python:3.12\nRUN {removal} && pip install flask\n")


def test_npm_cache_clear_and_rm_are_npm_cache_clean():
    for verb in ("clean", "clear", "rm"):
        assert check(JsCacheClean(), f"FROM node:20\nRUN npm ci && npm cache {verb} --force\n") == ()
    assert check(JsCacheClean(), "FROM node:20\nRUN npm ci && npm cache verify\n")


def mounts(finding) -> list[str]:
    return [edit.content for edit in finding.fix.edits if "--mount" in edit.content] if finding.fix else []


TAKEN_AWAY = [
    (PipNoCacheDir(), "FROM python:3.12\nRUN pip install flask && mv /root/.cache/pip /tmp/wheels\n"),
    (PipNoCacheDir(), "FROM python:3.12\nRUN mv /root/.cache /tmp/old-cache && pip install flask\n"),
    (JsCacheClean(), "FROM node:20\nRUN yarn install --frozen-lockfile && mv /usr/local/share/.cache /tmp/cache\n"),
    (JsCacheClean(), "FROM node:20\nRUN npm ci && mv -f ~/.npm /tmp/npm-cache\n"),
    (JsCacheClean(), "FROM node:20\nRUN npm ci && mv -t /tmp /root/.npm\n"),
    (
        AptListsCleanup(),
        "FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl && mv /var/lib/apt/lists /tmp/lists\n",
    ),
]


@pytest.mark.parametrize("rule, dockerfile", TAKEN_AWAY)
def test_no_cache_mount_over_a_folder_the_run_moves_the_plain_fix_instead(rule, dockerfile):
    findings = check(rule, dockerfile)
    assert findings, "the cache is still in the image (moved, not removed): the finding stays"
    assert all(finding.fix is not None and mounts(finding) == [] for finding in findings)


@pytest.mark.parametrize(
    "rule, dockerfile",
    [
        (PipNoCacheDir(), "FROM python:3.12\nRUN pip install flask && rm -rf /root/.cache\n"),
        (PipNoCacheDir(), "FROM python:3.12\nRUN rm -rf /root/.cache/pip && pip install flask\n"),
        (JsCacheClean(), "FROM node:20\nRUN yarn install --frozen-lockfile && rm -rf /usr/local/share/.cache\n"),
        (JsCacheClean(), "FROM node:20\nRUN rm -rf ~/.npm && npm ci\n"),
    ],
)
def test_no_cache_mount_over_a_folder_the_run_removes(rule, dockerfile):
    assert all(mounts(finding) == [] for finding in check(rule, dockerfile))


def test_without_the_removal_the_same_runs_get_the_mount():
    (pip,) = check(PipNoCacheDir(), "FROM python:3.12\nRUN pip install flask && rm -rf /tmp/build\n")
    assert mounts(pip) == ["--mount=type=cache,target=/root/.cache/pip "]
    (npm,) = check(JsCacheClean(), "FROM node:20\nRUN npm ci && mv /tmp/a /tmp/b\n")
    assert mounts(npm) == ["--mount=type=cache,target=/root/.npm "]


@pytest.mark.parametrize(
    "dockerfile",
    [
        # bench/effect.py built this: the mount hid the wheelhouse, "No matching distribution found for tomli-w"
        "FROM python:3.12\nCOPY wheels /root/.cache/pip/wheels-offline\n"
        "RUN pip install --no-index --find-links /root/.cache/pip/wheels-offline tomli-w\n",
        "FROM python:3.12 AS base\nCOPY wheels /root/.cache/pip/offline\nFROM base\nRUN pip install flask\n",
        "FROM python:3.12\nWORKDIR /root\nCOPY . .\nRUN pip install flask\n",
        "FROM python:3.12\nRUN pip install --find-links /root/.cache/pip/local flask\n",
    ],
)
def test_no_cache_mount_over_a_folder_holding_what_the_run_reads(dockerfile):
    """A mount shows the cache's own content over the folder: what a COPY put there, or a path the RUN names below
    it, is hidden and the install fails. The plain fix instead."""
    (pip,) = check(PipNoCacheDir(), dockerfile)
    assert mounts(pip) == [] and pip.fix is not None and "--no-cache-dir" in pip.fix.edits[0].content


def test_a_copy_elsewhere_leaves_the_mount_offered():
    (pip,) = check(PipNoCacheDir(), "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install flask\n")
    assert mounts(pip) == ["--mount=type=cache,target=/root/.cache/pip "]


def test_a_build_cache_mount_is_not_offered_over_a_folder_the_run_moves():
    moved = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build ./... && mv /root/.cache/go-build /tmp/gb\n"
    assert all(mounts(finding) == [] for finding in check(BuildCacheMount(), moved))
    kept = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build ./...\n"
    assert any(mounts(finding) for finding in check(BuildCacheMount(), kept))


@pytest.mark.parametrize(
    "install",
    [
        "pip install --no-index --no-deps /wheelhouse/*.whl",
        "pip3 install --no-index /wheels/app-1.0-py3-none-any.whl /wheels/lib-2.0-py3-none-any.whl",
        "python3 -m pip install --no-index --no-deps --find-links /wheels ./dist/app-1.0-py3-none-any.whl",
    ],
)
def test_pip_installing_local_wheels_without_an_index_writes_no_cache(install):
    assert check(PipNoCacheDir(), f"FROM python:3.12\nRUN {install}\n") == ()


@pytest.mark.parametrize(
    "install",
    [
        "pip install --no-deps /wheelhouse/*.whl",  # the index is there: dependencies of the wheel may download
        "pip install --no-index /src/app",  # a source tree is built, and the built wheel cached
        "pip install --no-index --find-links /wheels app",  # a name: find-links may hold an sdist to build
        "pip install --no-index /wheels/app.whl https://example.invalid/lib-1.0-py3-none-any.whl",
        "pip install --no-index -r requirements.txt",
    ],
)
def test_pip_installs_that_may_download_or_build_are_still_reported(install):
    assert len(check(PipNoCacheDir(), f"FROM python:3.12\nRUN {install}\n")) == 1


SOURCE_NAMES = [
    "dockerfile.dart",
    "dockerfile.rs",
    "Dockerfile.java",
    "dockerfile.kt",
    "dockerfile.php",
    "Dockerfile.html",
    "dockerfile.cs",
    "dockerfile.test.ts",
    "Dockerfile.yaml",
]


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_source_code_and_data_named_dockerfile_dot_something_are_not_dockerfiles(name):
    assert not is_dockerfile_name(name)


@pytest.mark.parametrize("name", ["Dockerfile.prod", "Dockerfile.alpine", "dockerfile.dev", "Dockerfile.cuda12"])
def test_environment_variants_stay_dockerfiles(name):
    assert is_dockerfile_name(name)


def test_a_dart_source_that_writes_dockerfiles_is_skipped_with_a_note(tmp_path):
    write(tmp_path / "scripts" / "lib" / "src" / "dockerfile.dart", "String dockerfile() => 'FROM dart';\n")
    write(tmp_path / "Dockerfile", "FROM debian:bookworm\nCOPY . /app\n")
    found = walk(tmp_path)
    assert [path.relative_to(tmp_path).as_posix() for path in found.files] == ["Dockerfile"]
    assert any("dockerfile.dart: skipped: named like a Dockerfile but source code" in note for note in found.notes)


@pytest.mark.parametrize(
    "name, text",
    [
        ("Dockerfile.go", "FROM golang:1.22 AS build\nRUN go build ./...\n"),
        ("Dockerfile.java", "# the API\n\nARG JDK=21\nFROM eclipse-temurin:${JDK}\n"),
        ("Dockerfile.py", "# syntax=docker/dockerfile:1\nFROM python:3.12-slim\n"),
        ("dockerfile.dart", "from --platform=$BUILDPLATFORM dart:stable as build\n"),
    ],
)
def test_a_real_dockerfile_named_after_its_language_is_checked(tmp_path, name, text):
    """Polyglot repositories name each service's Dockerfile after its language: its content, not only its name,
    decides (a walk that hid it would pass a file it never read)."""
    write(tmp_path / name, text)
    found = walk(tmp_path)
    assert [path.name for path in found.files] == [name] and not found.notes


@pytest.mark.parametrize(
    "name, text",
    [
        ("dockerfile.py", "from dockerfile import parse\nprint(parse('FROM a'))\n"),
        ("Dockerfile.sh", "#!/bin/sh\nset -e\ndocker build .\n"),
        ("Dockerfile.json", '{"from": "debian"}\n'),
    ],
)
def test_a_program_or_data_named_like_a_dockerfile_stays_skipped(tmp_path, name, text):
    write(tmp_path / name, text)
    found = walk(tmp_path)
    assert found.files == [] and len(found.notes) == 1


TEMPLATES = [
    "<% if (version.startsWith('10.'))\n     print 'FROM tomcat:8-jdk8'\n   else\n     print 'FROM tomcat:8-jdk11'\n"
    "%>\nRUN echo hi\n",
    "{% if gpu %}\nFROM nvidia/cuda:12.2.0-base-ubuntu22.04\n{% else %}\nFROM ubuntu:22.04\n{% endif %}\nRUN true\n",
    "{{ if .Gpu }}\nFROM nvidia/cuda:12.2.0-base-ubuntu22.04\n{{ else }}\nFROM ubuntu:22.04\n{{ end }}\n",
    "FROM ubuntu:22.04\n<%= render 'packages' %>\nRUN true\n",
]


@pytest.mark.parametrize("template", TEMPLATES)
def test_an_unrendered_template_is_skipped_with_a_warning_not_an_error(tmp_path, template):
    write(tmp_path / "template" / "Dockerfile", template)
    result = dockerfix("--output-format", "json", "template/Dockerfile", cwd=tmp_path)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    (report,) = json.loads(result.stdout)["files"]
    assert report["findings"] == []
    (warning,) = report["warnings"]
    assert "template markup" in warning and "not checked" in warning
    text = dockerfix("template/Dockerfile", cwd=tmp_path)
    assert text.returncode == 0
    assert "template/Dockerfile: warning: " in text.stdout.decode() + text.stderr.decode()


def test_a_refused_line_that_is_not_markup_is_still_an_error(tmp_path):
    write(tmp_path / "Dockerfile", "FROM debian:bookworm\nRUNX apt-get update\n{{ end }}\n")
    result = dockerfix("--output-format", "json", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 1
    (report,) = json.loads(result.stdout)["files"]
    assert [finding["code"] for finding in report["findings"]] == ["DF002"]


CACHE_RULE_FILES = {
    "DF105": "FROM python:3.12\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n",
    "DF107": "FROM node:20\nCOPY package.json package-lock.json ./\nRUN npm ci\n",
}


@pytest.mark.parametrize("code, dockerfile", CACHE_RULE_FILES.items())
def test_the_cache_rules_that_failed_blind_review_b_report_only_when_selected(tmp_path, code, dockerfile):
    path = write(tmp_path / "Dockerfile", dockerfile)
    assert [finding.code for finding in run_path(path, Settings()).findings] == []
    assert [finding.code for finding in run_path(path, Settings(select=("DF1",))).findings] == []
    assert [finding.code for finding in run_path(path, Settings(extend_select=(code,))).findings] == [code]
