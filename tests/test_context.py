"""The build context and .dockerignore, with Docker's pattern-matcher semantics."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REAL, requires_corpus
from dockerfix.rewriter.context import BuildContext, parse_ignore


@pytest.mark.parametrize(
    "ignore, path, ignored",
    [
        ("*.md", "README.md", True),
        ("*.md", "docs/README.md", False),      # * stays within one segment, anchored at the root
        ("**/*.md", "docs/README.md", True),
        ("**/*.md", "README.md", True),
        ("docs", "docs/a/b.txt", True),         # a folder pattern excludes what is below it
        ("/docs/", "docs/a.txt", True),
        ("./build", "build/x", True),
        ("node_modules\n!node_modules/keep", "node_modules/keep", False),
        ("*\n!src\n!requirements.txt", "src/app.py", False),
        ("*\n!src\n!requirements.txt", "setup.py", True),
        ("*.py\n!main.py\nmain.py", "main.py", True),   # the last matching pattern wins
        ("# comment\n\n  tmp  ", "tmp/x", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[a-c]x", "bx", True),
        ("[!a-c]x", "bx", False),
        ("**", "anything/at/all", True),
        ("dir/**/leaf", "dir/leaf", True),
        ("dir/**/leaf", "dir/a/b/leaf", True),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
    ],
)
def test_ignore_semantics(ignore, path, ignored):
    context = BuildContext.from_file_list([path], ignore)
    assert context.is_ignored(path) is ignored
    assert context.exists(path) is not ignored


def test_directory_context(tmp_path):
    for name in ["app/main.py", "app/tests/test_x.py", "requirements.txt", "node_modules/x/index.js", "docs/a.md", ".git/config"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    (tmp_path / ".dockerignore").write_text("node_modules\n**/*.md\napp/tests\n!app/tests/test_x.py\n")
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path.parent, tmp_path / "link-up")
    context = BuildContext.from_directory(tmp_path)
    assert context.files() == (".dockerignore", "app/main.py", "app/tests/test_x.py", "requirements.txt")
    assert context.exists("requirements.txt") and context.exists("./app") and context.exists("/app/main.py")
    assert not context.exists("node_modules/x/index.js") and not context.exists("docs/a.md") and not context.exists(".git/config")
    assert context.glob("*.txt") == ("requirements.txt",)
    assert context.glob("app/*.py") == ("app/main.py",)
    assert context.read_text("requirements.txt") == "x\n"
    assert context.read_text("node_modules/x/index.js") is None


def test_per_dockerfile_ignore_wins(tmp_path):
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    (tmp_path / ".dockerignore").write_text("a.txt\n")
    (tmp_path / "Dockerfile.dev").write_text("FROM x\n")
    (tmp_path / "Dockerfile.dev.dockerignore").write_text("b.txt\n")
    assert BuildContext.from_directory(tmp_path).exists("b.txt")
    special = BuildContext.from_directory(tmp_path, dockerfile=tmp_path / "Dockerfile.dev")
    assert special.exists("a.txt") and not special.exists("b.txt")


def test_binary_and_missing_files_are_not_read(tmp_path):
    (tmp_path / "blob").write_bytes(b"\x00\x01")
    context = BuildContext.from_directory(tmp_path)
    assert context.read_text("blob") is None and context.read_text("absent") is None


NAMES = st.sampled_from(["a", "b", "src", "x.py", "y.md", "node_modules"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(NAMES, min_size=1, max_size=3).map("/".join), min_size=1, max_size=8, unique=True),
    st.lists(st.sampled_from(["*.md", "src", "!src/x.py", "**/x.py", "node_modules", "a/*", "!a/b"]), max_size=4),
)
def test_directory_and_file_list_agree(tmp_path_factory, paths, patterns):
    root = tmp_path_factory.mktemp("ctx")
    written = []
    for path in paths:
        target = root / path
        if any(parent.is_file() for parent in target.parents) or target.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x")
        written.append(path)
    ignore = "\n".join(patterns)
    (root / ".dockerignore").write_text(ignore)
    from_directory = BuildContext.from_directory(root)
    from_list = BuildContext.from_file_list(written + [".dockerignore"], ignore)
    assert from_directory.files() == from_list.files()


@requires_corpus
def test_corpus_context_listings():
    listings = sorted(REAL.glob("*.context.txt"))
    assert len(listings) > 100
    for listing in listings:
        names = [line for line in listing.read_text().splitlines() if line.strip()]
        context = BuildContext.from_file_list(names)
        assert context.files() == tuple(sorted(set(context.files())))
        assert all(context.exists(name) for name in names)


def test_parse_ignore_skips_comments_and_blank_lines():
    assert [p.pattern for p in parse_ignore("# c\n\n  a  \n!b\n")] == ["a", "b"]
