"""DF204 on real folders: what it proposes to ignore, and everything it must leave alone."""

from __future__ import annotations

import gc
import subprocess
import weakref
from collections.abc import Mapping

import pytest
from test_cli import write

from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.source import Source
from dockerfix.rules.df204_dockerignore import Dockerignore, _ContextFacts

NODE = 'FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "server.js"]\n'


def proposal(folder, dockerfile: str, files: Mapping[str, str | bytes], context_from=None):
    """The .dockerignore text DF204 proposes for ``dockerfile`` in a folder holding ``files`` (None: no finding)."""
    for name, content in files.items():
        write(folder / name, content)
    context = context_from(folder) if context_from else BuildContext.from_directory(folder)
    findings = list(engine.check(parse(Source(dockerfile)), [Dockerignore()], context))
    if not findings:
        return None
    (finding,) = findings
    assert finding.fix is not None
    (file,) = finding.fix.files
    return file.content


def test_installed_dependencies_caches_and_secrets(tmp_path):
    files = {
        "server.js": "1",
        "package.json": "{}",
        "node_modules/a/index.js": "x" * 1000,
        ".env": "KEY=1\n",
        "certs/server.pem": "-----BEGIN",
        "lib/__pycache__/tool.cpython-312.pyc": "x",
        "lib/tool.py": "1",
    }
    assert (
        proposal(tmp_path, NODE, files) == "**/node_modules\n**/__pycache__\n**/*.pyc\n.env\n**/*.pem\n.dockerignore\n"
    )


def test_savings_count_the_bytes_kept_out(tmp_path):
    write(tmp_path / "node_modules/a/index.js", "x" * 1000)
    write(tmp_path / "node_modules/b/index.js", "y" * 500)
    (finding,) = engine.check(parse(Source(NODE)), [Dockerignore()], BuildContext.from_directory(tmp_path))
    assert finding.savings is not None and finding.savings.bytes == 1500
    assert "2 files, 1,500 bytes" in finding.message


def test_dependencies_the_dockerfile_does_not_install_are_kept(tmp_path):
    assert (
        proposal(
            tmp_path,
            'FROM node:20\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
            {"server.js": "1", "node_modules/a/index.js": "1"},
        )
        is None
    )


def test_what_a_copy_names_or_an_instruction_mentions_is_never_ignored(tmp_path):
    named = NODE.replace("COPY . .\n", "COPY . .\nCOPY .env /etc/app.env\n")
    assert (
        proposal(tmp_path, named, {".env": "KEY=1\n", "node_modules/a/index.js": "1"})
        == "**/node_modules\n.dockerignore\n"
    )
    mentioned = NODE.replace('CMD ["node", "server.js"]', 'CMD ["node", "--env-file=.env", "server.js"]')
    assert proposal(tmp_path, mentioned, {}) == "**/node_modules\n.dockerignore\n"


def test_a_copy_of_a_subfolder_keeps_the_folder(tmp_path):
    dockerfile = "FROM node:20\nCOPY . /app\nCOPY node_modules/a /opt/a\nRUN cd /app && npm ci\n"
    assert proposal(tmp_path, dockerfile, {"node_modules/a/index.js": "1", "node_modules/b/index.js": "1"}) is None


def test_secrets_in_a_build_stage_only_are_not_reported(tmp_path):
    dockerfile = (
        "FROM golang:1.22 AS build\nCOPY . /src\nRUN cd /src && go build -o /app .\nFROM alpine\n"
        "COPY --from=build /app /app\n"
    )
    assert (
        proposal(tmp_path, dockerfile, {".env": "KEY=1\n", "main.go": "package main\n", "Dockerfile": "FROM x\n"})
        is None
    )


def test_npmrc_only_with_a_token(tmp_path):
    assert proposal(tmp_path, NODE, {".npmrc": "registry=https://npm.example.invalid/\n"}) is None
    assert proposal(tmp_path, NODE, {".npmrc": "//npm.example.invalid/:_authToken=abc\n"}) == ".npmrc\n.dockerignore\n"


def test_bytecode_without_its_source_is_the_program(tmp_path):
    dockerfile = 'FROM python:3.12\nCOPY . /app\nCMD ["python", "/app/main.pyc"]\n'
    # Python never imports from __pycache__ without the source, but does import a legacy `main.pyc`
    assert (
        proposal(tmp_path, dockerfile, {"main.pyc": "x", "lib/__pycache__/x.cpython-312.pyc": "x"})
        == "**/__pycache__\n.dockerignore\n"
    )


def test_git_is_kept_when_the_build_reads_it(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    write(tmp_path / "main.go", "package main\n")
    stamped = "FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /app .\n"
    assert proposal(tmp_path, stamped, {}) is None
    plain = 'FROM python:3.12\nWORKDIR /src\nCOPY . .\nCMD ["python", "main.py"]\n'
    assert proposal(tmp_path, plain, {"main.py": "1"}) == ".git\n.dockerignore\n"


def test_an_existing_ignore_file_is_extended_and_respected(tmp_path):
    files = {
        ".dockerignore": "node_modules\n!node_modules/keep\n",
        "node_modules/a/x.js": "1",
        "node_modules/keep/y.js": "1",
        ".env": "A=1\n",
    }
    assert proposal(tmp_path, NODE, files) == "node_modules\n!node_modules/keep\n.env\n"  # keep stays sent


def test_a_negation_of_the_ignore_file_is_never_overridden(tmp_path):
    files = {
        ".dockerignore": "*.log\n!certs/ca.pem\n",
        "certs/ca.pem": "-----BEGIN",
        "certs/key.pem": "-----BEGIN",
        ".env": "A=1\n",
    }
    assert proposal(tmp_path, NODE, files) == "*.log\n!certs/ca.pem\n.env\n"


def test_nothing_left_to_ignore_is_no_finding(tmp_path):
    files = {".dockerignore": "**/node_modules\n.env\n", "node_modules/a/x.js": "1", ".env": "A=1\n", "server.js": "1"}
    assert proposal(tmp_path, NODE, files) is None


def test_only_riders_is_no_finding(tmp_path):
    assert (
        proposal(
            tmp_path,
            NODE,
            {"Dockerfile": NODE, "docker-compose.yml": "services: {}\n", ".github/workflows/ci.yml": "on: push\n"},
        )
        is None
    )


@pytest.mark.parametrize(
    "dockerfile",
    ["FROM node:20\nCOPY server.js /app/\nRUN npm ci\n", "FROM node:20\nCOPY --from=base . /app\nRUN npm ci\n"],
)
def test_no_whole_context_copy_is_no_finding(tmp_path, dockerfile):
    assert proposal(tmp_path, dockerfile, {"node_modules/a/x.js": "1", ".env": "A=1\n"}) is None


def test_a_dockerfile_specific_ignore_file_is_left_alone(tmp_path):
    files = {"app.Dockerfile.dockerignore": "*.md\n", "node_modules/a/x.js": "1"}
    assert (
        proposal(tmp_path, NODE, files, lambda folder: BuildContext.from_directory(folder, folder / "app.Dockerfile"))
        is None
    )


def test_a_names_only_context_with_an_ignore_file_is_left_alone():
    listed = BuildContext.from_file_list([".dockerignore", "node_modules/a/x.js", ".env"])
    assert list(engine.check(parse(Source(NODE)), [Dockerignore()], listed)) == []
    unknown = BuildContext.from_file_list(["node_modules/a/x.js", ".env"])
    (finding,) = engine.check(parse(Source(NODE)), [Dockerignore()], unknown)
    assert finding.fix is not None and finding.fix.applicability.label == "display-only"  # nowhere to write


# The ignore file serves every Dockerfile that builds from the context: it may exclude nothing any of them reads.


def test_a_sibling_dockerfile_copying_a_file_by_name_keeps_it(tmp_path):
    sibling = 'FROM node:20\nCOPY .env /etc/app.env\nCOPY .git /src/.git\nCMD ["node"]\n'
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    files = {"worker.Dockerfile": sibling, ".env": "KEY=1\n", "node_modules/a/index.js": "1", "server.js": "1"}
    assert proposal(tmp_path, NODE, files) == "**/node_modules\n*.Dockerfile\n.dockerignore\n"


def test_a_sibling_dockerfile_with_its_own_ignore_file_is_not_served_by_the_shared_one(tmp_path):
    files = {
        "worker.Dockerfile": "FROM node:20\nCOPY .env /etc/app.env\n",
        "worker.Dockerfile.dockerignore": "*.md\n",
        ".env": "KEY=1\n",
        "node_modules/a/index.js": "1",
    }
    assert proposal(tmp_path, NODE, files) == "**/node_modules\n*.Dockerfile\n.env\n.dockerignore\n"


def test_a_sibling_that_uses_the_host_dependencies_keeps_them(tmp_path):
    files = {
        "Dockerfile.prod": 'FROM node:20\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
        "node_modules/a/index.js": "1",
        ".env": "A=1\n",
    }
    assert proposal(tmp_path, NODE, files) == "Dockerfile*\n.env\n.dockerignore\n"


def test_a_dockerfile_a_compose_file_builds_from_the_context_counts(tmp_path):
    compose = "services:\n  app:\n    build:\n      context: .\n      dockerfile: docker/app.Dockerfile\n"
    files = {
        "compose.yaml": compose,
        "docker/app.Dockerfile": "FROM node:20\nCOPY .env /etc/app.env\n",
        ".env": "A=1\n",
        "node_modules/a/index.js": "1",
    }
    assert proposal(tmp_path, NODE, files) == "**/node_modules\ncompose.y*ml\n.dockerignore\n"
    # a compose file one folder up naming this folder as a service's context counts too
    outer = "services:\n  app:\n    build:\n      context: ./app\n      dockerfile: ../deploy/app.Dockerfile\n"
    write(tmp_path / "deploy/app.Dockerfile", "FROM node:20\nCOPY .env /etc/app.env\n")
    write(tmp_path / "compose.yml", outer)
    app = {".env": "A=1\n", "node_modules/a/index.js": "1"}
    assert proposal(tmp_path / "app", NODE, app) == "**/node_modules\n.dockerignore\n"


def test_a_compose_file_that_cannot_be_read_leaves_the_ignore_file_alone(tmp_path):
    broken = "services:\n  app:\n    build: {context: ., dockerfile: [\n"
    assert (
        proposal(tmp_path, NODE, {"docker-compose.yml": broken, ".env": "A=1\n", "node_modules/a/index.js": "1"})
        is None
    )


def test_git_is_kept_for_a_build_that_derives_its_version_from_it(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    dockerfile = 'FROM python:3.12\nWORKDIR /src\nCOPY . .\nRUN pip install .\nCMD ["app"]\n'
    pyproject = '[build-system]\nrequires = ["setuptools>=64", "setuptools-scm>=8"]\n\n[tool.setuptools_scm]\n'
    assert proposal(tmp_path, dockerfile, {"pyproject.toml": pyproject, "app.py": "1"}) is None
    write(tmp_path / "pyproject.toml", '[project]\nname = "app"\n')
    assert proposal(tmp_path, dockerfile, {"setup.py": "import versioneer\n"}) is None
    (tmp_path / "setup.py").unlink()
    assert proposal(tmp_path, dockerfile, {"pkg/pyproject.toml": '[tool.pdm.version]\nsource = "scm"\n'}) is None
    (tmp_path / "pkg/pyproject.toml").unlink()
    assert proposal(tmp_path, dockerfile, {}) == ".git\n.dockerignore\n"


def test_a_bind_mount_of_a_context_folder_keeps_it(tmp_path):
    mounted = NODE.replace(
        "RUN npm ci\n", "RUN npm ci\nRUN --mount=type=bind,source=node_modules,target=/cache cp -r /cache /warm\n"
    )
    assert proposal(tmp_path, mounted, {"node_modules/a/index.js": "1", ".env": "A=1\n"}) == ".env\n.dockerignore\n"
    sibling = "FROM node:20\nRUN --mount=type=bind,source=node_modules,target=/m ls /m\n"
    assert proposal(tmp_path, NODE, {"tools.Dockerfile": sibling}) == "*.Dockerfile\n.env\n.dockerignore\n"


def test_a_bind_mount_of_the_whole_context_reads_like_a_copy_of_it(tmp_path):
    sibling = "FROM node:20\nRUN --mount=type=bind,target=/src cd /src && node build.js\n"
    assert (
        proposal(tmp_path, NODE, {"Dockerfile.build": sibling, "node_modules/a/index.js": "1", ".env": "A=1\n"})
        == "Dockerfile*\n.env\n.dockerignore\n"
    )


def test_a_cache_mount_is_no_bind_mount_whatever_the_case_of_its_keys(tmp_path):
    """BuildKit reads mount keys in any case (`Type=cache` is a cache mount); read as a bind mount of the whole
    context, the sibling kept node_modules in (issue 22: the --mount fields are now read in one place)."""
    sibling = "FROM alpine\nRUN --mount=Type=cache,Target=/var/cache/apk apk add curl\n"
    files = {"Dockerfile.tools": sibling, "node_modules/a/index.js": "1", ".env": "A=1\n"}
    assert proposal(tmp_path, NODE, files) == "**/node_modules\nDockerfile*\n.env\n.dockerignore\n"
    sibling = "FROM alpine\nRUN --mount=Src=node_modules,Dst=/m ls /m\n"
    assert proposal(tmp_path, NODE, {"Dockerfile.tools": sibling}) == "Dockerfile*\n.env\n.dockerignore\n"


@pytest.mark.parametrize("ending", ["\r\n", "\n"])
def test_added_lines_keep_the_line_endings_and_bom_of_the_ignore_file(tmp_path, ending):
    existing = "\ufeff*.md" + ending + "*.log"
    files = {".dockerignore": existing, "node_modules/a/x.js": "1"}
    assert proposal(tmp_path, NODE, files) == existing + ending + "**/node_modules" + ending


def test_a_context_and_what_df204_keeps_with_it_are_freed_as_soon_as_they_are_dropped(tmp_path):
    """DF204 keeps what it works out of a context with the context: an answer holding the context made a cycle, and
    every context of a run (one per folder) then waited for the garbage collector with its listing and the
    Dockerfiles it serves: 0.15-0.35 s of collection over the real corpus one file per folder, 0.06 s without."""
    for name, content in {
        "Dockerfile": NODE,
        "package.json": "{}",
        "node_modules/a/index.js": "1",
        "a.py": "1",
    }.items():
        write(tmp_path / name, content)
    gc.disable()
    try:
        context = BuildContext.from_directory(tmp_path)
        document = parse(Source(NODE))
        findings = engine.check(document, [Dockerignore()], context)
        assert [finding.code for finding in findings] == ["DF204"]
        context_gone, document_gone = weakref.ref(context), weakref.ref(document)
        del context, document, findings
        assert context_gone() is None
        assert document_gone() is None
    finally:
        gc.enable()


def test_a_served_dockerfile_with_the_checked_text_is_the_checked_document(tmp_path):
    """The context's own Dockerfile, checked as it is on disk, is not parsed a second time for what it serves; one
    whose text differs (an editor's unsaved buffer) is read from disk, so the served set is the files' own."""
    write(tmp_path / "Dockerfile", NODE)
    write(tmp_path / "node_modules/a/index.js", "1")
    on_disk = BuildContext.from_directory(tmp_path)
    checked = parse(Source(NODE))
    served = _ContextFacts(on_disk, checked).served
    assert served is not None and served.documents == (checked,)
    edited = parse(Source(NODE.replace("npm ci", "npm install")))
    served = _ContextFacts(BuildContext.from_directory(tmp_path), edited).served
    assert served is not None
    (document,) = served.documents
    assert document is not edited and document.text == NODE
