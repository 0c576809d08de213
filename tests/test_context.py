"""The build context: .dockerignore as moby/patternmatcher reads it and BuildKit applies it, COPY wildcards, contents.

The first tables are moby/patternmatcher's own test cases (patternmatcher_test.go, ignorefile_test.go), transcribed
with Go's string escapes kept (they are Python's too).
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

import pytest
from conftest import REAL, requires_corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerfix.rewriter import context as context_module
from dockerfix.rewriter.context import BuildContext, DockerIgnore, IgnorePattern, MatchKind, PatternError
from dockerfix.rewriter.pipeline import BuildContexts

EXACT, INEXACT, FAIL = "exact", "inexact", "fail"


def using_parent_results(ignore: DockerIgnore, text: str) -> bool:
    """patternmatcher_test.go's MatchesUsingParentResults check: feed the parents top down, then the path."""
    parent = posixpath.dirname(text) or "."
    hits = None
    if parent != ".":
        dirs = parent.split("/")
        for index in range(len(dirs)):
            _, hits = ignore.match("/".join(dirs[: index + 1]), hits)
    return ignore.match(text, hits)[0]


# TestMatches: pattern, text, exact (the pattern matches the text) / inexact (a parent matches) / fail
MATCHES = [
    ("**", "file", EXACT),
    ("**", "file/", EXACT),
    ("**/", "file", EXACT),
    ("**/", "file/", EXACT),
    ("**", "/", EXACT),
    ("**/", "/", EXACT),
    ("**", "dir/file", EXACT),
    ("**/", "dir/file", EXACT),
    ("**", "dir/file/", EXACT),
    ("**/", "dir/file/", EXACT),
    ("**/**", "dir/file", EXACT),
    ("**/**", "dir/file/", EXACT),
    ("dir/**", "dir/file", EXACT),
    ("dir/**", "dir/file/", EXACT),
    ("dir/**", "dir/dir2/file", EXACT),
    ("dir/**", "dir/dir2/file/", EXACT),
    ("**/dir", "dir", EXACT),
    ("**/dir", "dir/file", INEXACT),
    ("**/dir2/*", "dir/dir2/file", EXACT),
    ("**/dir2/*", "dir/dir2/file/", INEXACT),
    ("**/dir2/**", "dir/dir2/dir3/file", EXACT),
    ("**/dir2/**", "dir/dir2/dir3/file/", EXACT),
    ("**file", "file", EXACT),
    ("**file", "dir/file", EXACT),
    ("**/file", "dir/file", EXACT),
    ("**file", "dir/dir/file", EXACT),
    ("**/file", "dir/dir/file", EXACT),
    ("**/file*", "dir/dir/file", EXACT),
    ("**/file*", "dir/dir/file.txt", EXACT),
    ("**/file*txt", "dir/dir/file.txt", EXACT),
    ("**/file*.txt", "dir/dir/file.txt", EXACT),
    ("**/file*.txt*", "dir/dir/file.txt", EXACT),
    ("**/**/*.txt", "dir/dir/file.txt", EXACT),
    ("**/**/*.txt2", "dir/dir/file.txt", FAIL),
    ("**/*.txt", "file.txt", EXACT),
    ("**/**/*.txt", "file.txt", EXACT),
    ("a**/*.txt", "a/file.txt", EXACT),
    ("a**/*.txt", "a/dir/file.txt", EXACT),
    ("a**/*.txt", "a/dir/dir/file.txt", EXACT),
    ("a/*.txt", "a/dir/file.txt", FAIL),
    ("a/*.txt", "a/file.txt", EXACT),
    ("a/*.txt**", "a/file.txt", EXACT),
    ("a[b-d]e", "ae", FAIL),
    ("a[b-d]e", "ace", EXACT),
    ("a[b-d]e", "aae", FAIL),
    ("a[^b-d]e", "aze", EXACT),
    (".*", ".foo", EXACT),
    (".*", "foo", FAIL),
    ("abc.def", "abcdef", FAIL),
    ("abc.def", "abc.def", EXACT),
    ("abc.def", "abcZdef", FAIL),
    ("abc?def", "abcZdef", EXACT),
    ("abc?def", "abcdef", FAIL),
    ("**/foo/bar", "foo/bar", EXACT),
    ("**/foo/bar", "dir/foo/bar", EXACT),
    ("**/foo/bar", "dir/dir2/foo/bar", EXACT),
    ("abc/**", "abc", FAIL),
    ("abc/**", "abc/def", EXACT),
    ("abc/**", "abc/def/ghi", EXACT),
    ("**/.foo", ".foo", EXACT),
    ("**/.foo", "bar.foo", FAIL),
    ("a(b)c/def", "a(b)c/def", EXACT),
    ("a(b)c/def", "a(b)c/xyz", FAIL),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", EXACT),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        EXACT,
    ),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", EXACT),
    ("a\\\\", "a\\", EXACT),
    ("a\\*b", "a*b", EXACT),
]

MULTI_PATTERN_MATCHES = [
    (["**", "!util/docker/web"], "util/docker/web/foo", FAIL),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", EXACT),
    (
        ["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        FAIL,
    ),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", FAIL),
]


@pytest.mark.parametrize("pattern, text, expected", MATCHES)
def test_patternmatcher_matches(pattern, text, expected):
    ignore = DockerIgnore.parse(pattern)
    assert ignore.patterns[0].matches(text) is (expected == EXACT)  # MatchesExact
    assert using_parent_results(ignore, text) is (expected != FAIL)


@pytest.mark.parametrize("patterns, text, expected", MULTI_PATTERN_MATCHES)
def test_patternmatcher_multi_pattern_matches(patterns, text, expected):
    assert using_parent_results(DockerIgnore.parse("\n".join(patterns)), text) is (expected != FAIL)


# TestMatch: Go's filepath.Match cases through the matcher; None = ErrBadPattern (Docker fails the build)
FILEPATH_MATCHES = [
    ("abc", "abc", True),
    ("*", "abc", True),
    ("*c", "abc", True),
    ("a*", "a", True),
    ("a*", "abc", True),
    ("a*", "ab/c", True),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True),
    ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False),
    ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "ab", False),
    ("a?b", "a☺b", True),
    ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False),
    ("a[^a][^a][^a]b", "a☺b", False),
    ("[a-ζ]*", "α", True),
    ("*[a-ζ]", "A", False),
    ("a?b", "a/b", False),
    ("a*b", "a/b", False),
    ("[\\]a]", "]", True),
    ("[\\-]", "-", True),
    ("[x\\-]", "x", True),
    ("[x\\-]", "-", True),
    ("[x\\-]", "z", False),
    ("[\\-x]", "x", True),
    ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("[]a]", "]", None),
    ("[-]", "-", None),
    ("[x-]", "x", None),
    ("[x-]", "-", None),
    ("[x-]", "z", None),
    ("[-x]", "x", None),
    ("[-x]", "-", None),
    ("[-x]", "a", None),
    ("\\", "a", None),
    ("[a-b-c]", "a", None),
    ("[", "a", None),
    ("[^", "a", None),
    ("[^bc", "a", None),
    ("a[", "a", None),
    ("a[", "ab", None),
    ("*x", "xxx", True),
]


@pytest.mark.parametrize("pattern, text, expected", FILEPATH_MATCHES)
def test_patternmatcher_filepath_match_cases(pattern, text, expected):
    if expected is None:
        with pytest.raises(PatternError):
            DockerIgnore.parse(pattern)
        context = BuildContext.from_file_list([text], pattern)
        assert context.error and not context.exists(text) and context.is_ignored(text) and context.files() == ()
    else:
        assert using_parent_results(DockerIgnore.parse(pattern), text) is expected
        assert BuildContext.from_file_list([text], pattern).is_ignored(text) is expected


# TestCompile: which kind patternmatcher picks, and the regular expression it builds
COMPILE = [
    ("*", MatchKind.REGEXP, "^[^/]*$"),
    ("file*", MatchKind.REGEXP, "^file[^/]*$"),
    ("*file", MatchKind.REGEXP, "^[^/]*file$"),
    ("a*/b", MatchKind.REGEXP, "^a[^/]*/b$"),
    ("**", MatchKind.SUFFIX, None),
    ("**/**", MatchKind.REGEXP, "^(.*/)?.*$"),
    ("dir/**", MatchKind.PREFIX, None),
    ("**/dir", MatchKind.SUFFIX, None),
    ("**/dir2/*", MatchKind.REGEXP, "^(.*/)?dir2/[^/]*$"),
    ("**/dir2/**", MatchKind.REGEXP, "^(.*/)?dir2/.*$"),
    ("**file", MatchKind.SUFFIX, None),
    ("**/file*txt", MatchKind.REGEXP, "^(.*/)?file[^/]*txt$"),
    ("**/**/*.txt", MatchKind.REGEXP, "^(.*/)?(.*/)?[^/]*\\.txt$"),
    ("a[b-d]e", MatchKind.REGEXP, "^a[b-d]e$"),
    (".*", MatchKind.REGEXP, "^\\.[^/]*$"),
    ("abc.def", MatchKind.EXACT, None),
    ("abc?def", MatchKind.REGEXP, "^abc[^/]def$"),
    ("**/foo/bar", MatchKind.SUFFIX, None),
    ("a(b)c/def", MatchKind.EXACT, None),
    ("a.|)$(}+{bc", MatchKind.EXACT, None),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", MatchKind.EXACT, None),
]


@pytest.mark.parametrize("pattern, kind, regex", COMPILE)
def test_patternmatcher_compile(pattern, kind, regex):
    compiled = IgnorePattern.compile(posixpath.normpath(pattern), False)
    assert compiled.kind is kind
    assert (compiled.regex.pattern if compiled.regex else None) == regex


def test_ignorefile_read_all():
    """ignorefile_test.go's TestReadAll content; its two lone "!" lines make patternmatcher.New fail."""
    content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n"
    patterns = DockerIgnore.parse(content).patterns
    assert [("!" if p.exclusion else "") + p.text for p in patterns] == [
        "test1",
        "test2",
        "a/file/here",
        "lastfile",
        "!inverted/abs/path",
    ]
    for lone in ("!", "! "):
        with pytest.raises(PatternError, match="illegal exclusion"):
            DockerIgnore.parse(content + lone)


@pytest.mark.parametrize(
    "ignore, path, ignored",
    [
        ("*.md", "README.md", True),
        ("*.md", "docs/README.md", False),  # anchored at the root, unlike .gitignore
        ("node_modules", "app/node_modules/x.js", False),
        ("**/*.md", "docs/README.md", True),
        ("**/*.md", "README.md", True),
        ("**.md", "docs/README.md", True),  # a leading ** makes a suffix match
        ("abc**", "abcdef", True),  # a trailing ** after plain text, a prefix match
        ("docs", "docs/a/b.txt", True),  # a folder pattern excludes what is below it
        ("docs/", "docs/a.txt", True),
        ("/docs", "docs/a.txt", True),
        ("./build", "build/x", True),
        ("build/../dist", "dist/x", True),
        ("//docs", "docs/a.txt", True),  # Go's Clean keeps no leading //
        ("node_modules\n!node_modules/keep", "node_modules/keep", False),
        ("node_modules\n!node_modules/keep", "node_modules/keep/a.js", False),
        ("*\n!src\n!requirements.txt", "src/app.py", False),
        ("*\n!src\n!requirements.txt", "setup.py", True),
        ("*.py\n!main.py\nmain.py", "main.py", True),  # the last matching pattern wins
        ("!main.py\n*.py", "main.py", True),
        ("# comment\n\n  tmp  \t", "tmp/x", True),
        (" # not a comment", "# not a comment", True),  # "#" only in column 1
        ("#tmp", "#tmp", False),
        ("\ufefftmp\r\nother\r\n", "tmp", True),  # a BOM and CRLF line ends
        ("\ufefftmp\r\nother\r\n", "other", True),
        ("tmp\x1c", "tmp\x1c", True),  # Go's TrimSpace keeps \x1c, Python's strip would not
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[a-c]x", "bx", True),
        ("[!a-c]x", "dx", False),  # Go's regexp reads "!" literally: no negation ...
        ("[!a-c]x", "bx", True),
        ("[!a-c]x", "!x", True),  # ... but a member of the class
        ("[^a-c]x", "dx", True),
        ("**", "anything/at/all", True),
        ("dir/**/leaf", "dir/leaf", True),
        ("dir/**/leaf", "dir/a/b/leaf", True),
        ("a\\*b", "axb", False),
        ("*", ".", False),  # the context root is never excluded
        ("/", "x", False),
        (".", "x", False),
        ("!../..", "x", False),  # New() cleans "!../.." to "." : not an exception
        ("x\n!../..", "x", True),
    ],
)
def test_ignore_semantics(ignore, path, ignored):
    context = BuildContext.from_file_list([path], ignore)
    assert context.error is None
    assert context.is_ignored(path) is ignored
    assert context.exists(path) is not ignored


# filepath.Match rejects most; "[z-a]" passes it but not Go's regexp (patternmatcher's "[Local-Only]/" regression test)
@pytest.mark.parametrize("ignore", ["!", "!/", "[", "a[", "x\\", "[]a]", "ok\n[a-b-c]", "[z-a]x", "[Local-Only]/"])
def test_a_rejected_ignore_file_sends_nothing(ignore):
    """Docker fails the build on these; nothing can be proven from such a context."""
    context = BuildContext.from_file_list(["a", "b/c"], ignore)
    assert context.error
    assert context.files() == () and context.glob("*") == ()
    assert not context.exists("a") and not context.exists(".")
    assert context.is_ignored("a") and not context.has_contents


@pytest.mark.parametrize(
    "ignore, listed, expected",
    [
        # BuildKit does not enter an excluded folder unless a wildcard-free exception lies below it ...
        ("foo/bar\n!foo", ["foo/bar/x", "foo/y"], ["foo/y"]),
        (
            "node_modules\n!node_modules/keep",
            ["node_modules/a.js", "node_modules/keep/k.js"],
            ["node_modules/keep/k.js"],
        ),
        # ... and walks every excluded folder when an exception has a wildcard
        ("a\n!a/*.md", ["a/x.md", "a/b/y.md", "a/z.txt"], ["a/x.md"]),
        ("a\n!**/*.md", ["a/x.md", "a/b/y.md", "a/z.txt"], ["a/b/y.md", "a/x.md"]),
        ("*\n!src/**\n!*.txt", ["src/a/b.py", "x.txt", "y.py", "docs/z.txt"], ["src/a/b.py", "x.txt"]),
    ],
)
def test_buildkit_walk(ignore, listed, expected):
    assert BuildContext.from_file_list(listed, ignore).files() == tuple(expected)


def test_folders_exist_when_something_inside_is_sent():
    context = BuildContext.from_file_list(
        ["node_modules/a.js", "node_modules/keep/k.js", "docs/a.md"], "node_modules\n!node_modules/keep\n*/*.md"
    )
    assert context.is_ignored("node_modules") and context.exists("node_modules")  # sent as the parent of keep/
    assert context.exists("node_modules/keep") and not context.exists("node_modules/a.js")
    assert context.exists("docs") and not context.exists("docs/a.md")  # an empty folder that is not excluded
    assert context.exists(".") and context.exists("") and context.exists("/")


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("*.csproj", ("App.csproj",)),
        ("src/*/*.csproj", ("src/Lib/Lib.csproj", "src/Web/Web.csproj")),
        ("src/*", ("src/Lib", "src/Web", "src/notes.md")),  # a folder matches whole
        ("*/Lib", ("src/Lib",)),
        ("./src/[LW]*/*.cs", ("src/Lib/Class.cs", "src/Web/Program.cs")),
        ("src/[^L]*", ("src/Web", "src/notes.md")),
        ("src/[!L]*", ("src/Lib",)),  # filepath.Match has no "!" negation: a class of "!" and "L"
        ("/requirements*.txt", ("requirements-dev.txt", "requirements.txt")),
        ("requirements.txt", ("requirements.txt",)),
        ("missing.txt", ()),
        ("secret*", ()),  # ignored files are not in the context
        ("a\\*b", ()),  # no wildcard left: fsutil looks for a file named a\*b
        ("a[*]b", ("a*b",)),
        ("*/*/*/*", ()),
        ("[", ()),  # a malformed source matches nothing
        ("src/*.md/x", ()),
    ],
)
def test_glob(pattern, expected):
    listed = [
        "App.csproj",
        "src/Lib/Lib.csproj",
        "src/Lib/Class.cs",
        "src/Web/Web.csproj",
        "src/Web/Program.cs",
        "src/notes.md",
        "requirements.txt",
        "requirements-dev.txt",
        "secret.env",
        "a*b",
    ]
    assert BuildContext.from_file_list(listed, "secret*").glob(pattern) == expected


def test_glob_takes_a_matching_folder_whole():
    """resolveWildcards stops at a matching folder, even where a path below it would match too."""
    context = BuildContext.from_file_list(["ax/y", "ab"], None)
    assert context.glob("a*[/x]*") == ("ax",)


def test_git_quoted_names():
    context = BuildContext.from_file_list(['"doc/\\350\\257\\246.md"', '"tab\\there"', "plain"])
    assert context.files() == ("doc/详.md", "plain", "tab\there")


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def test_directory_context(tmp_path):
    write(
        tmp_path,
        {
            "app/main.py": "print(1)\n",
            "app/tests/test_x.py": "x\n",
            "app/tests/test_y.py": "y\n",
            "requirements.txt": "flask\n",
            "node_modules/x/index.js": "x\n",
            "node_modules/keep/k.js": "k\n",
            "docs/a.md": "a\n",
            "docs/deep/b.md": "b\n",
            "README.md": "r\n",
            ".git/config": "[core]\n",
            "sub/.git": "gitdir: x\n",
            ".dockerignore": "node_modules\n!node_modules/keep\n**/*.md\n!README.md\napp/tests\n!app/tests/test_x.py\n",
        },
    )
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    write(outside, {"secret.txt": "secret\n"})
    os.symlink(outside, tmp_path / "link-out")
    os.symlink(outside / "secret.txt", tmp_path / "secret-link.txt")
    os.symlink("requirements.txt", tmp_path / "reqs-link.txt")
    context = BuildContext.from_directory(tmp_path)
    assert context.files() == (
        ".dockerignore",
        "README.md",
        "app/main.py",
        "app/tests/test_x.py",
        "link-out",
        "node_modules/keep/k.js",
        "reqs-link.txt",
        "requirements.txt",
        "secret-link.txt",
    )
    assert context.has_contents and context.error is None
    assert context.exists("requirements.txt") and context.exists("./app") and context.exists("/app/main.py")
    assert context.exists("docs") and not context.exists("docs/a.md") and not context.exists(".git/config")
    assert not context.exists("link-out/secret.txt")  # a link to a folder is sent as a link, never followed
    assert context.glob("*.txt") == ("reqs-link.txt", "requirements.txt", "secret-link.txt")
    assert context.glob("app/*") == ("app/main.py", "app/tests")
    assert context.read_text("requirements.txt") == "flask\n"
    assert context.read_text("reqs-link.txt") == "flask\n"  # a link inside the context reads its target
    assert context.read_text("secret-link.txt") is None  # never through a link out of it
    assert context.read_text("link-out/secret.txt") is None
    assert context.read_text("node_modules/x/index.js") is None and context.read_text("docs/a.md") is None
    assert context.read_text("app") is None and context.read_text("absent") is None
    assert context.read_bytes("app/main.py", 5) == b"print"


def test_per_dockerfile_ignore_wins(tmp_path):
    write(
        tmp_path,
        {
            "a.txt": "a",
            "b.txt": "b",
            ".dockerignore": "a.txt\n",
            "Dockerfile": "FROM x\n",
            "docker/app.Dockerfile": "FROM x\n",
            "docker/app.Dockerfile.dockerignore": "b.txt\n",
            "Dockerfile.dockerignore": "*.txt\n",
        },
    )
    root_only = BuildContext.from_directory(tmp_path)
    assert not root_only.exists("a.txt") and root_only.exists("b.txt")
    special = BuildContext.from_directory(tmp_path, dockerfile=tmp_path / "docker" / "app.Dockerfile")
    assert special.exists("a.txt") and not special.exists("b.txt")
    default_name = BuildContext.from_directory(tmp_path, dockerfile=tmp_path / "Dockerfile")
    assert not default_name.exists("a.txt") and not default_name.exists("b.txt")
    no_own_file = BuildContext.from_directory(tmp_path, dockerfile=tmp_path / "Other.Dockerfile")
    assert not no_own_file.exists("a.txt") and no_own_file.exists("b.txt")


def test_unreadable_folder_is_skipped(tmp_path):
    write(tmp_path, {"locked/inside.txt": "x", "open.txt": "y"})
    (tmp_path / "locked").chmod(0)
    try:
        context = BuildContext.from_directory(tmp_path)
        assert context.exists("open.txt") and context.exists("locked")
        if not os.access(tmp_path / "locked", os.R_OK):  # root reads it anyway
            assert context.files() == ("open.txt",)
    finally:
        (tmp_path / "locked").chmod(0o755)


def test_rejected_or_unreadable_ignore_file(tmp_path):
    write(tmp_path, {"a.txt": "a", ".dockerignore": "[\n"})
    context = BuildContext.from_directory(tmp_path)
    assert context.error and ".dockerignore" in context.error
    assert not context.exists("a.txt") and context.read_text("a.txt") is None and not context.has_contents
    (tmp_path / ".dockerignore").unlink()
    (tmp_path / ".dockerignore").mkdir()
    assert BuildContext.from_directory(tmp_path).error


def test_ignore_file_is_read_only_from_a_regular_file_inside_the_context(tmp_path):
    """Issue 15 items 4 and 17: a FIFO would block the read forever, a link could read any file of the machine
    (or /dev/zero, without end); each makes a context that claims nothing, with a message that says why."""
    context_root = tmp_path / "context"
    write(context_root, {"a.txt": "a", "patterns": "a.txt\n"})
    write(tmp_path, {"outside": "a.txt\n"})
    ignore = context_root / ".dockerignore"
    refused = {
        "a FIFO": lambda: os.mkfifo(ignore),
        "symbolic link out of the build context": lambda: ignore.symlink_to(tmp_path / "outside"),
        "symbolic link out of the build context (to /dev/zero)": lambda: ignore.symlink_to("/dev/zero"),
        "larger than 1,000,000 bytes": lambda: ignore.write_text("a.txt\n" * 200_000),
    }
    for message, make in refused.items():
        make()
        context = BuildContext.from_directory(context_root)
        assert context.error and message in context.error and str(ignore) in context.error, message
        assert not context.has_contents and not context.exists("a.txt")
        ignore.unlink()
    ignore.symlink_to("patterns")  # a link that stays inside is read like the file it names
    inside = BuildContext.from_directory(context_root)
    assert not inside.error and not inside.exists("a.txt") and inside.exists("patterns")


def test_contents_that_are_not_read(tmp_path):
    write(
        tmp_path,
        {"blob": b"\x00\x01", "latin1.txt": "caf\xe9".encode("latin-1"), "big.txt": "x" * 11, "ok.txt": "x" * 10},
    )
    os.mkfifo(tmp_path / "pipe")
    context = BuildContext.from_directory(tmp_path)
    assert context.read_text("blob") is None and context.read_text("latin1.txt") is None
    assert context.read_text("big.txt", limit=10) is None and context.read_text("ok.txt", limit=10) == "x" * 10
    assert context.exists("pipe") and context.read_text("pipe") is None  # and does not block
    assert BuildContext.from_file_list(["ok.txt"]).read_text("ok.txt") is None  # names only
    assert not BuildContext.from_file_list(["ok.txt"]).has_contents


def test_listing_is_lazy_and_capped(tmp_path, monkeypatch):
    write(tmp_path, {f"f{index}.txt": "x" for index in range(5)})
    context = BuildContext.from_directory(tmp_path)
    assert "_listing" not in vars(context)  # nothing walked until a rule asks
    monkeypatch.setattr(context_module, "MAX_ENTRIES", 3)
    assert len(context.files()) == 3 and not context.has_contents
    assert BuildContext.from_directory(tmp_path / "missing").files() == ()


NAMES = st.sampled_from(["a", "b", "src", "x.py", "y.md", "node_modules", "[c]", "d e"])
PATTERNS = st.sampled_from(
    [
        "*.md",
        "src",
        "!src/x.py",
        "**/x.py",
        "node_modules",
        "a/*",
        "!a/b",
        "!**/*.md",
        "**",
        "!src",
        "*/a",
        "[a-c]",
        "!node_modules/a",
        "/b/",
        "src/**",
        "\\[c]",
        "?",
        "!*",
    ]
)


def written_files(root: Path, paths: list[str]) -> list[str]:
    """``paths`` written below ``root`` (each holding "x"), but those a file written before stands in the way of."""
    written = []
    for path in paths:
        target = root / path
        if any(parent.is_file() for parent in target.parents) or target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x")
        written.append(path)
    return written


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.lists(NAMES, min_size=1, max_size=4).map("/".join), min_size=1, max_size=10, unique=True),
    st.lists(PATTERNS, max_size=5),
)
def test_directory_and_file_list_agree(tmp_path_factory, paths, patterns):
    root = tmp_path_factory.mktemp("ctx")
    written = written_files(root, paths)
    ignore = "\n".join(patterns)
    (root / ".dockerignore").write_text(ignore)
    from_directory = BuildContext.from_directory(root)
    from_list = BuildContext.from_file_list(written + [".dockerignore"], ignore)
    assert from_directory.files() == from_list.files()
    for path in written:
        for prefix in [path, *[str(p) for p in Path(path).parents if str(p) != "."]]:
            assert from_directory.exists(prefix) == from_list.exists(prefix)
            assert from_directory.is_ignored(prefix) == from_list.is_ignored(prefix)
    for pattern in ["*", "*/*", "src/*", "[a-c]*/*"]:
        assert from_directory.glob(pattern) == from_list.glob(pattern)
    for path in from_list.files():
        assert from_directory.read_text(path) == ("x" if path != ".dockerignore" else ignore)


@requires_corpus
def test_corpus_context_listings():
    listings = sorted(REAL.glob("*.context.txt"))
    assert len(listings) > 100
    for listing in listings:
        lines = [line for line in listing.read_text(encoding="utf-8").splitlines() if line]
        context = BuildContext.from_file_list(lines)
        files = context.files()
        assert files == tuple(sorted(set(files))), listing.name
        assert len(files) == len(set(lines)), listing.name
        for line in lines:
            if not line.startswith('"'):
                assert context.exists(line) and not context.is_ignored(line), (listing.name, line)
            if not any(char in line for char in '"*?[\\'):
                assert context.glob(line) == (line,), (listing.name, line)
        if ".dockerignore" in lines:  # its text is not in the corpus: an exclude-all file must leave nothing
            assert BuildContext.from_file_list(lines, "**").files() == ()


def _builders(root: Path) -> list[str]:
    builders = BuildContext.from_directory(root).builders
    assert builders.unknown is None, builders.unknown
    return sorted(os.path.relpath(where, root) if where.startswith("/") else where for where, _ in builders.dockerfiles)


def test_builders_are_the_dockerfiles_the_root_ignore_file_serves(tmp_path):
    for name in [
        "Dockerfile",
        "api.Dockerfile",
        "docker/Dockerfile.dev",
        "own.Dockerfile",
        "node_modules/x/Dockerfile",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("FROM scratch\n")
    (tmp_path / "own.Dockerfile.dockerignore").write_text("*\n")  # served by its own ignore file instead
    compose = (
        "services:\n  web:\n    build:\n      context: .\n      dockerfile: ../elsewhere/web.Dockerfile\n  db:\n"
        "    image: postgres\n"
        "  inline:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM scratch\n  other:\n"
        "    build: ./docker\n"
    )
    (tmp_path / "compose.yaml").write_text(compose)
    (tmp_path.parent / "elsewhere").mkdir(exist_ok=True)
    (tmp_path.parent / "elsewhere/web.Dockerfile").write_text("FROM scratch\n")
    assert _builders(tmp_path) == [
        "../elsewhere/web.Dockerfile",
        "Dockerfile",
        "api.Dockerfile",
        "compose.yaml: service inline",
        "docker/Dockerfile.dev",
    ]


@pytest.mark.parametrize(
    "compose, reason",
    [
        ("[" * 100_000, "not YAML"),  # nests deeper than the parser's recursion
        ("services:\n  app:\n    build: ${APP}\n", "not a plain path"),
        ("services:\n  app:\n    build: .\n", "cannot read"),  # names a Dockerfile that is not there
    ],
)
def test_builders_are_unknown_when_a_compose_file_cannot_say(tmp_path, compose, reason):
    (tmp_path / "docker-compose.yml").write_text(compose)
    builders = BuildContext.from_directory(tmp_path).builders
    assert builders.dockerfiles == () and reason in (builders.unknown or "")


def test_builders_never_block_on_a_fifo_compose_file(tmp_path):
    os.mkfifo(tmp_path / "compose.yml")
    assert "not a regular file" in (BuildContext.from_directory(tmp_path).builders.unknown or "")


def test_builders_are_unknown_past_their_total_size(tmp_path, monkeypatch):
    monkeypatch.setattr(context_module, "MAX_BUILD_FILES_BYTES", 130)  # each file holds 63
    (tmp_path / "Dockerfile").write_text("FROM scratch\n" + "# padding\n" * 5)
    (tmp_path / "b.Dockerfile").write_text("FROM scratch\n" + "# padding\n" * 5)
    assert BuildContext.from_directory(tmp_path).builders.unknown is None
    (tmp_path / "c.Dockerfile").write_text("FROM scratch\n" + "# padding\n" * 5)
    assert "more than 130 bytes" in (BuildContext.from_directory(tmp_path).builders.unknown or "")


def twenty_projects(root: Path) -> Path:
    """A repository (its root holds .git) with a folder of 20 projects, each a build context with its Dockerfile."""
    (root / ".git").mkdir()
    projects = root / "projects"
    for number in range(20):
        (projects / f"p{number}").mkdir(parents=True)
        (projects / f"p{number}" / "Dockerfile").write_text("FROM scratch\n")
    return projects


def listings(monkeypatch) -> list[Path]:
    """The folders the context module lists from now on, in order."""
    listed: list[Path] = []
    real_listdir = os.listdir

    def counting_listdir(folder):
        listed.append(Path(folder))
        return real_listdir(folder)

    monkeypatch.setattr(context_module.os, "listdir", counting_listdir)
    return listed


def test_contexts_side_by_side_list_their_common_folder_once(tmp_path, monkeypatch):
    """Each build context looks for Compose files in the folders above it: 1,519 one-file projects side by side
    listed their common folder (1,519 entries) once each (issue 22). The listing is kept while the folder's entries
    are the same (its modification time, settled), and a Compose file added later is seen."""
    projects = twenty_projects(tmp_path)
    settled = os.stat(projects).st_mtime - 60  # as a folder last changed a minute ago
    os.utime(projects, (settled, settled))
    listed = listings(monkeypatch)
    for number in range(20):
        assert BuildContext.from_directory(projects / f"p{number}").builders.unknown is None
    assert listed.count(projects) == 1
    (projects / "compose.yaml").write_text(
        "services:\n  app:\n    build:\n      context: ./p3\n      dockerfile_inline: FROM scratch\n"
    )
    assert [where for where, _ in BuildContext.from_directory(projects / "p3").builders.dockerfiles] == [
        "Dockerfile",
        f"{projects / 'compose.yaml'}: service app",
    ]


def test_the_contexts_of_one_run_list_a_busy_folder_above_them_once_and_the_next_run_again(tmp_path, monkeypatch):
    """A folder above the contexts whose entries changed a moment ago (/tmp, where other programs come and go) was
    listed again for every context below it; one run lists it once, and the next run sees what was added since."""
    projects = twenty_projects(tmp_path)
    (projects / "just-changed").touch()
    listed = listings(monkeypatch)
    run = BuildContexts()
    for number in range(20):
        folder = projects / f"p{number}"
        assert run.for_dockerfile(folder, folder / "Dockerfile").builders.unknown is None
    assert listed.count(projects) == 1
    (projects / "compose.yaml").write_text(
        "services:\n  app:\n    build:\n      context: ./p3\n      dockerfile_inline: FROM scratch\n"
    )
    builders = BuildContexts().for_dockerfile(projects / "p3", projects / "p3" / "Dockerfile").builders
    assert [where for where, _ in builders.dockerfiles] == ["Dockerfile", f"{projects / 'compose.yaml'}: service app"]


def test_a_run_resolves_each_folder_once_and_a_later_run_follows_a_link_anew(tmp_path):
    """A run keeps what it resolved a folder to, as it keeps the folder's context (a folder of many Dockerfiles was
    resolved for each of them); a later run follows a link that leads elsewhere now."""
    for name in ("old", "new"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "old" / "only-in-old.txt").write_text("")
    link = tmp_path / "project"
    link.symlink_to("old")
    assert BuildContexts().for_dockerfile(link, link / "Dockerfile").exists("only-in-old.txt")
    link.unlink()
    link.symlink_to("new")
    assert not BuildContexts().for_dockerfile(link, link / "Dockerfile").exists("only-in-old.txt")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.lists(NAMES, min_size=1, max_size=4).map("/".join), min_size=1, max_size=10, unique=True),
    st.lists(PATTERNS, max_size=3),
    st.lists(PATTERNS, min_size=1, max_size=3),
)
def test_a_context_with_lines_added_answers_as_one_listed_with_them(tmp_path_factory, paths, patterns, added):
    # with_ignore hands its names on instead of listing them again: the answers must be those of a fresh context
    # (of a folder's walk only where it pruned nothing: lines added never bring back what the walk did not enter)
    root = tmp_path_factory.mktemp("ctx")
    written = written_files(root, paths)
    text = "\n".join(patterns)
    (root / ".dockerignore").write_text(text)
    longer = text + "\n" + "\n".join(added) + "\n"
    fresh = BuildContext.from_file_list(written + [".dockerignore"], longer)
    parents = [BuildContext.from_file_list(written + [".dockerignore"], text)]
    if not patterns:
        parents.append(BuildContext.from_directory(root))
    for context in parents:
        after = context.with_ignore(longer)
        assert after.files() == fresh.files()
        for path in written:
            for prefix in [path, *[str(p) for p in Path(path).parents if str(p) != "."]]:
                assert after.exists(prefix) == fresh.exists(prefix)
        for pattern in ["*", "*/*", "src/*", "[a-c]*/*", "src"]:
            assert after.glob(pattern) == fresh.glob(pattern)
        assert context.dropped_by(longer) == tuple(sorted(set(context.files()) - set(fresh.files())))


def test_a_context_with_lines_added_keeps_no_copy_of_the_names(tmp_path):
    # before: each context DF204 tried (one per candidate line) normalised every name again and kept a set of its
    # files: about 170 bytes per file each at 20,000 files, in steps of four as CPython grows a set
    import tracemalloc

    count = 20_000
    for package in range(20):
        (tmp_path / "src" / f"package{package}").mkdir(parents=True)
    for index in range(count):
        (tmp_path / "src" / f"package{index % 20}" / f"module{index}.py").write_bytes(b"")
    context = BuildContext.from_directory(tmp_path)
    assert context.exists("src/package0/module0.py") and context.glob("src/*") and context.builders
    tracemalloc.start()
    try:
        after = context.with_ignore("**/*.pyc\n")
        assert after.exists("src/package0/module0.py") and len(after.glob("src/*")) == 20
        assert after.read_text("src/package1/module1.py") == ""
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept / count < 40  # its sorted lists of the names it sends (8 bytes a reference each)
