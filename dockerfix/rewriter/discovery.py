"""Which files are Dockerfiles: by name, and under a folder (what the CLI, the language server and the bot check).

A folder walk skips what the configuration's `exclude` and `extend-exclude` patterns and the repository's ignore
files (`.gitignore` at every level, `.git/info/exclude`) say, as ruff's walk does; both are gitignore patterns, read
by `pathspec`, the library black and mypy use for the same job."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct, field

from .files import FileError, read_regular
from .lazypattern import LazyPattern

if TYPE_CHECKING:
    import pathspec

    from .document import Document, Instruction

# Docker's own names (`Dockerfile`, `<name>.Dockerfile`, the lower-case forms BuildKit also reads) and the variants
# repositories use for environments (`Dockerfile.prod`, `Dockerfile-dev`), and Podman's `Containerfile`.
DOCKERFILE_PATTERNS = (
    "Dockerfile",
    "Dockerfile.*",
    "Dockerfile-*",
    "dockerfile",
    "dockerfile.*",
    "dockerfile-*",
    "*.Dockerfile",
    "*.dockerfile",
    "Containerfile",
    "Containerfile.*",
    "Containerfile-*",
    "*.Containerfile",
    "containerfile",
    "containerfile.*",
    "*.containerfile",
)
# Extensions only: a variant named after a word (`Dockerfile.ml`, `Dockerfile.tf`, `Dockerfile.vue`, `Dockerfile.env`)
# is a Dockerfile for that purpose, so short words that are also extensions (r, c, ml, tf, env, cmd, nix) are left out
_SOURCE_CODE = (
    "py pyi dart go rs js mjs cjs jsx ts tsx java kt kts scala groovy gradle clj rb php pl pm lua swift cc cpp hpp cs"
    " vb exs erl hs jl coffee"
)
_SHELL_SCRIPTS = "sh bash zsh fish ps1 psm1 bat"
_DOCUMENTATION = "md markdown rst txt adoc asciidoc html htm"
_DATA = "json jsonc json5 yaml yml toml lock xml csv ini cfg conf properties hcl"
_LEFTOVERS = "orig rej bak swp"
_TEMPLATES = "j2 jinja jinja2 tmpl tpl template erb mustache hbs gotmpl ejs liquid njk in"
# Files with a Dockerfile's name that are something else: source code (a program that writes Dockerfiles, often
# named after what it writes), scripts, documentation, data, editors' leftovers, and templates whose placeholders
# only become a Dockerfile once rendered (their output is what to check). Keyed by extension; the variants
# repositories name Dockerfiles with (`.prod`, `.alpine`, `.cuda12`) are none of them.
NOT_DOCKERFILE_SUFFIXES = {
    f".{extension}": kind
    for extensions, kind in (
        (_SOURCE_CODE, "source code"),
        (_SHELL_SCRIPTS, "a shell script"),
        (_DOCUMENTATION, "documentation"),
        (_DATA, "data"),
        (_LEFTOVERS, "a leftover copy"),
        (_TEMPLATES, "a template"),
    )
    for extension in extensions.split()
}
NOT_DOCKERFILE_SUFFIXES[".dockerignore"] = "an ignore file"
# BuildKit's instructions.ParseInstruction: every other keyword is "unknown instruction"
INSTRUCTIONS = frozenset(
    {
        "add",
        "arg",
        "cmd",
        "copy",
        "entrypoint",
        "env",
        "expose",
        "from",
        "healthcheck",
        "label",
        "maintainer",
        "onbuild",
        "run",
        "shell",
        "stopsignal",
        "user",
        "volume",
        "workdir",
    }
)
# How template languages open their markup: `<% %>` (ERB, EJS, Groovy's SimpleTemplateEngine), `{% %}` (Jinja,
# Django, Liquid), `{{ }}` (Go templates, Jinja, Mustache, Handlebars)
TEMPLATE_MARKUP = ("<%", "{%", "{{")
# What a walk skips unless the configuration's `exclude` says otherwise (ruff skips the same kinds of folder).
DEFAULT_EXCLUDE = (".git/", ".hg/", ".svn/", "node_modules/", ".venv/", "venv/", "__pycache__/", ".tox/")
SKIPPED_FOLDERS = {pattern.rstrip("/") for pattern in DEFAULT_EXCLUDE}
# An ignore file is a list of patterns; far above any real one, the bound keeps a hostile repository's from eating
# memory.
IGNORE_FILE_LIMIT = 1_000_000


# the patterns as one expression: a build context's listing asks this of each of its thousands of names
_DOCKERFILE_NAME = LazyPattern("|".join(fnmatch.translate(pattern) for pattern in DOCKERFILE_PATTERNS))
_NOT_DOCKERFILE_ENDINGS = tuple(NOT_DOCKERFILE_SUFFIXES)


def has_dockerfile_name(name: str) -> bool:
    """Whether ``name`` matches one of ``DOCKERFILE_PATTERNS``."""
    return _DOCKERFILE_NAME.match(name) is not None


def is_dockerfile_name(name: str) -> bool:
    return has_dockerfile_name(name) and not_dockerfile(name) is None


def unrendered_template(document: Document) -> Instruction | None:
    """The first line BuildKit does not read as an instruction, when it opens template markup (`<% if ... %>`,
    `{{ if .Gpu }}`, `{% if gpu %}`): the file is a template that was never rendered, and what to check is the
    Dockerfile it renders. A placeholder inside an instruction (`FROM {{ image }}`) does not stop BuildKit's parser
    and is not such a line."""
    first = next((instruction for instruction in document.instructions if instruction.cmd not in INSTRUCTIONS), None)
    return first if first is not None and first.keyword.startswith(TEMPLATE_MARKUP) else None


def not_dockerfile(name: str) -> str | None:
    """What a file with a Dockerfile's name is instead (`dockerfile.py`: "source code"), or None."""
    lowered = name.lower()
    if not lowered.endswith(_NOT_DOCKERFILE_ENDINGS):
        return None
    return next((kind for suffix, kind in NOT_DOCKERFILE_SUFFIXES.items() if lowered.endswith(suffix)), None)


# The first line of a Dockerfile: a parser directive, an ARG, or FROM with an image (and `AS name`). A program's
# `from x import y` has more words; shell, Go, Java and data files start otherwise.
_DOCKERFILE_START = LazyPattern(
    r"#\s*(syntax|escape|check)\s*=|arg\s|from(\s+--\S+)*\s+\S+(\s+as\s+\S+)?\s*$", re.IGNORECASE
)
_SNIFFED_BYTES = 65_536


def reads_like_a_dockerfile(path: Path) -> bool:
    """Whether a file whose extension says it is something else (`Dockerfile.go`: source code?) starts as a
    Dockerfile does: polyglot repositories name a Go service's Dockerfile `Dockerfile.go`, and a walk must not hide
    it. Only the first line that is neither blank nor a comment (nor a parser directive, which answers at once) is
    read, from the first 64 KiB."""
    try:
        with path.open("rb") as file:
            head = file.read(_SNIFFED_BYTES).decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    for line in head.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#") and not _DOCKERFILE_START.match(stripped):
            continue
        return bool(_DOCKERFILE_START.match(stripped))
    return False


class FolderListing(Struct, frozen=True):
    """A folder as the walk saw it: its resolved path and the names of the files in it."""

    resolved: Path
    names: frozenset[str] | None  # None: not listed


class Walk(Struct):
    """The Dockerfiles under a folder, and a note for each file with a Dockerfile's name that is not one; each
    folder that holds them as the walk saw it (by the folder as the files' paths name it), so that what is looked
    up per folder next (its settings) needs no more system calls than the walk made."""

    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    folders: dict[Path, FolderListing] = field(default_factory=dict)


class _Ignores:
    """What a walk skips: the configuration's patterns, and the repository's ignore files from its root down, where
    the deepest file with a matching pattern decides, as git does (a `!` line there cannot bring back what the
    configuration excludes)."""

    def __init__(self, exclude: Sequence[str], base: Path):
        import pathspec  # 30 ms to import, measured: only a folder walk pays it

        self.spec = pathspec.GitIgnoreSpec.from_lines
        self.base = base
        self.exclude = self.spec(exclude)
        self.ignore_files: dict[str, list[pathspec.GitIgnoreSpec]] = {}  # by folder

    def add_file(self, folder: Path, ignore_file: Path) -> None:
        try:
            text = read_regular(ignore_file, limit=IGNORE_FILE_LIMIT).data.decode("utf-8", "replace")
        except FileError:
            return  # a missing or unreadable ignore file ignores nothing, as for git
        self.ignore_files.setdefault(str(folder), []).append(self.spec(text.splitlines()))

    def in_root(self, root: Path) -> _FolderIgnores:
        """The verdicts on the names in the walk's first folder (its ignore file added)."""
        # a path outside the configuration's folder is matched by its name alone, as ruff matches a bare pattern
        inside = root == self.base or self.base in root.parents
        # only the folders above hold files that apply: outermost first, a deeper file's verdict replaces it
        ignore_files = [
            (spec, _prefix(root, above))
            for above in (*reversed(root.parents), root)
            for spec in self.ignore_files.get(str(above), ())
        ]
        return _FolderIgnores(self.exclude, _prefix(root, self.base) if inside else None, ignore_files)

    def in_subfolder(self, above: _FolderIgnores, name: str, folder: str) -> _FolderIgnores:
        """The verdicts on the names in ``folder`` (its ignore file added), the subfolder ``name`` of the folder
        ``above`` judges: each pattern's path to the folder is its path to the parent and the name (working it out
        from the paths for each name cost more than the rest of a walk of 1,519 folders)."""
        step = name + "/"
        if above.exclude_prefix is not None:
            exclude_prefix: str | None = above.exclude_prefix + step
        else:
            exclude_prefix = "" if Path(folder) == self.base else None
        ignore_files = [(spec, prefix + step) for spec, prefix in above.ignore_files]
        ignore_files += [(spec, "") for spec in self.ignore_files.get(folder, ())]
        return _FolderIgnores(self.exclude, exclude_prefix, ignore_files)


def _prefix(folder: Path, above: Path) -> str:
    """The path from ``above`` to ``folder`` (``above`` itself or a folder above it), as a prefix of names."""
    return "" if folder == above else folder.relative_to(above).as_posix() + "/"


class _FolderIgnores(Struct):
    """What a walk skips in one folder."""

    exclude: pathspec.GitIgnoreSpec
    exclude_prefix: str | None  # None: the folder is outside the configuration's folder
    ignore_files: list[tuple[pathspec.GitIgnoreSpec, str]]  # outermost first, with the path from each to the folder

    def ignored(self, name: str, is_folder: bool) -> bool:
        suffix = "/" if is_folder else ""
        prefix = self.exclude_prefix
        if self.exclude.match_file((name if prefix is None else prefix + name) + suffix):
            return True
        verdict = False
        for spec, prefix in self.ignore_files:  # a deeper file's verdict replaces an outer one's
            check = spec.check_file(prefix + name + suffix)
            if check.include is not None:
                verdict = check.include
        return verdict


def _repository_root(folder: Path) -> Path | None:
    return next((candidate for candidate in (folder, *folder.parents) if (candidate / ".git").exists()), None)


def walk(
    folder: Path, exclude: Sequence[str] = DEFAULT_EXCLUDE, base: Path | None = None, respect_gitignore: bool = True
) -> Walk:
    """The Dockerfiles under a folder, sorted. ``exclude`` holds gitignore patterns relative to ``base`` (the
    configuration's folder; the folder itself when None); with ``respect_gitignore`` the repository's ignore files
    apply too.

    A symbolic link is followed only to a file inside the folder that is not found under its own name too: a folder
    run never rewrites a file outside the folder, nor one file twice."""
    result = Walk()
    result.files = sorted(walking(folder, result, exclude, base, respect_gitignore))
    return result


def walking(
    folder: Path,
    result: Walk,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    base: Path | None = None,
    respect_gitignore: bool = True,
) -> Iterator[Path]:
    """``walk``'s Dockerfiles as the walk finds them, not sorted, so that a run can start checking the first while
    the walk goes on; ``result`` gets the notes and the folders (not the files) by the time the last is yielded.
    Links come last: whether one is a file's only name is known only once every name is."""
    root = folder.resolve()
    ignores = _Ignores(exclude, (base or folder).resolve())
    repository = _repository_root(root) if respect_gitignore else None
    if repository is not None:
        ignores.add_file(repository, repository / ".git" / "info" / "exclude")
        for above in reversed(
            [parent for parent in root.parents if parent == repository or repository in parent.parents]
        ):
            ignores.add_file(above, above / ".gitignore")
    found: set[str] = set()  # the resolved paths
    links: list[Path] = []
    # the verdicts of each folder and its path as the user names it: made from its parent's when the walk enters it
    entered: dict[str, tuple[_FolderIgnores, str, Path]] = {}
    # the walk does not follow linked folders, and starts at the resolved folder: each folder it enters is its own
    # resolved path, so only a file that is a link needs resolving (resolving each file cost a system call per part)
    for parent, subfolders, files in os.walk(root):
        if respect_gitignore and ".gitignore" in files:
            # top-down: every folder above has added its own already
            ignores.add_file(Path(parent), Path(parent, ".gitignore"))
        if parent in entered:
            in_parent, name, named_here = entered.pop(parent)
            in_here = ignores.in_subfolder(in_parent, name, parent)
        else:
            in_here, named_here = ignores.in_root(root), folder
        subfolders[:] = sorted(name for name in subfolders if not in_here.ignored(name, is_folder=True))
        entered.update((os.path.join(parent, name), (in_here, name, named_here / name)) for name in subfolders)
        for name in sorted(files):
            if not has_dockerfile_name(name) or in_here.ignored(name, is_folder=False):
                continue
            path = named_here / name
            kind = not_dockerfile(name)
            if kind is not None and not reads_like_a_dockerfile(path):
                result.notes.append(f"{path}: skipped: named like a Dockerfile but {kind}")
                continue
            if named_here not in result.folders:
                result.folders[named_here] = FolderListing(Path(parent), frozenset(files))
            real = os.path.join(parent, name)
            if os.path.islink(real):
                links.append(path)
            else:
                found.add(real)
                yield path
    for link in links:  # in the walk's order: of two links to one file outside the walk's names, the first counts
        target = link.resolve()
        if root in target.parents and str(target) not in found:
            found.add(str(target))
            yield link


def dockerfiles_under(folder: Path) -> list[Path]:
    """The Dockerfiles under a folder with the default exclusions and the repository's ignore files."""
    return walk(folder).files
