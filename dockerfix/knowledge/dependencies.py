"""The dependencies a project declares, read from the build context without running anything: requirements*.txt,
pyproject.toml, Pipfile and setup.py (through libcst: `install_requires` as written, never by executing it),
package.json, go.mod, Gemfile and composer.json. Also the packages named on an install command line (PHP extensions
installed with docker-php-ext-install or pecl count as composer's `ext-NAME`). Used by the base-image rules
to find packages that need a compiler, headers or glibc."""

from __future__ import annotations

import json
import posixpath
import re
import sys
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from msgspec import Struct

from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.shell import SimpleCommand
from dockerfix.rewriter.toml import parse_toml

from .analysis import Invocation
from .baseimages import native_entry

_REQUIREMENT_NAME = LazyPattern(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# Patterns run on whole files from the build context: none may backtrack over more than one line (`^\s*` would
# rescan every blank line below each line start, `(.*?)^\)` the rest of the file after each unclosed block).
_GEM = LazyPattern(r"""^[ \t]*gem[ \t]+["']([^"'\n]+)["']""", re.MULTILINE)
_GO_REQUIRE_BLOCK_START = LazyPattern(r"require[ \t]*\(")
_GO_REQUIRE_LINE = LazyPattern(r"require[ \t]+([^\s(]\S*)\s")
_COMPOSER_NAME = LazyPattern(r"^\s*([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)")  # vendor/package, before `:version`
_PECL_VERSION = LazyPattern(r"-\d[\w.]*$")  # `pecl install oci8-3.3.0`
PHP_EXTENSION_INSTALLERS = ("docker-php-ext-install", "pecl")
_INCLUDE = LazyPattern(r"^(-r|--requirement|-c|--constraint)\s*=?\s*(\S+)")
# pip follows includes without a bound; real projects nest two or three levels (base / dev / test)
MAX_INCLUDE_DEPTH = 8
# Real setup.py files are a few kB; libcst takes about 10 s for 1 MB.
SETUP_PY_LIMIT = 256_000
SETUP_PY_TIMEOUT_SECONDS = 20
# Isolated (-I): neither the environment's PYTHON* variables nor the working folder (a repository the bot works in
# could hold a `json.py`) decide what the child imports; only the folder holding this dockerfix is added.
_SETUP_PY_CHILD = (
    f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r}); from "
    "dockerfix.setup_py import main; main()"
)

ECOSYSTEM_OF_TOOL = {
    "pip": "python",
    "pip3": "python",
    "pipenv": "python",
    "poetry": "python",
    "uv": "python",
    "npm": "node",
    "yarn": "node",
    "pnpm": "node",
    "bundle": "ruby",
    "bundler": "ruby",
    "gem": "ruby",
    "go": "go",
    "composer": "php",
}
INSTALL_VERBS = {"install", "ci", "add", "i", "sync", "download", "get", "build", "require"}


def normalise(ecosystem: str, name: str) -> str:
    """Python names compare as PEP 503 says (case and `-_.` insensitive), composer's case-insensitively; others as
    written."""
    if ecosystem == "python":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name.lower() if ecosystem == "php" else name


class Declarations(Struct, frozen=True):
    """Packages of one ecosystem, where they were read, and declaration files that exist but could not be read."""

    ecosystem: str
    packages: frozenset[str]
    files: tuple[str, ...]
    unreadable: tuple[str, ...]


class Malformed(ValueError):
    """A manifest whose values have the wrong types: data that cannot be read, not a bug."""


def requirement_lines(text: str) -> Iterable[str]:
    """The lines of a requirements file without comments and blanks."""
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            yield line


def _requirements(text: str) -> set[str]:
    names = set()
    for line in requirement_lines(text):
        match = _REQUIREMENT_NAME.match(line) if not line.startswith("-") else None
        if match:
            names.add(match.group(1))
    return names


class RequirementFiles(Struct, frozen=True):
    """Requirements files and the files they include (``-r``/``-c``), each read once: ``texts`` maps every context
    path named to its text (None when absent or unreadable); ``beyond`` lists the includes that were not followed,
    as (including file, why): they lead out of the build context or nest deeper than ``MAX_INCLUDE_DEPTH``."""

    texts: dict[str, str | None]
    beyond: tuple[tuple[str, str], ...]


class ContextFiles(Protocol):
    """What recognising an install reads of a build context: a ``BuildContext``, or a view of one (DF201 reads the
    context as an image folder holding a copy of it)."""

    @property
    def has_contents(self) -> bool: ...

    def exists(self, path: str) -> bool: ...

    def read_text(self, path: str, limit: int = 1_000_000) -> str | None: ...

    def glob(self, pattern: str) -> tuple[str, ...]: ...


def requirement_files(context: ContextFiles | None, names: Iterable[str]) -> RequirementFiles:
    """``names`` (context paths) and, breadth first, what they include; an include is relative to its file."""
    texts: dict[str, str | None] = {}
    beyond: list[tuple[str, str]] = []
    level = list(names)
    for depth in range(MAX_INCLUDE_DEPTH + 1):
        following: list[str] = []
        for name in level:
            if name in texts:
                continue
            text = texts[name] = context.read_text(name) if context is not None else None
            for line in requirement_lines(text or ""):
                include = _INCLUDE.match(line)
                if include is None or "://" in include.group(2):  # a URL is fetched by pip, not read from here
                    continue
                path = posixpath.normpath(posixpath.join(posixpath.dirname(name), include.group(2)))
                # relative names are context paths; absolute ones are image paths that the caller's view maps
                if path == ".." or path.startswith("../") or (path.startswith("/") and not name.startswith("/")):
                    beyond.append((name, f"{name} includes {include.group(2)}, outside the build context"))
                elif depth == MAX_INCLUDE_DEPTH:
                    beyond.append((name, f"{name} includes {path}, more than {MAX_INCLUDE_DEPTH} includes deep"))
                else:
                    following.append(path)
        level = following
    return RequirementFiles(texts, tuple(beyond))


def _table(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise Malformed(f"{where} is not a table")
    return value


def _string_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise Malformed(f"{where} is not a list of strings")
    return value


def _pyproject(text: str) -> set[str]:
    table = parse_toml(text)
    project = _table(table.get("project", {}), "project")
    declared = list(_string_list(project.get("dependencies", []), "project.dependencies"))
    for name, group in _table(project.get("optional-dependencies", {}), "project.optional-dependencies").items():
        declared.extend(_string_list(group, f"project.optional-dependencies.{name}"))
    names = _requirements("\n".join(declared))
    poetry = _table(_table(table.get("tool", {}), "tool").get("poetry", {}), "tool.poetry")
    names |= {
        name for name in _table(poetry.get("dependencies", {}), "tool.poetry.dependencies") if name.lower() != "python"
    }
    return names


def _pipfile(text: str) -> set[str]:
    table = parse_toml(text)
    return set(_table(table.get("packages", {}), "packages")) | set(
        _table(table.get("dev-packages", {}), "dev-packages")
    )


def setup_py_requirements(text: str) -> set[str] | None:
    """Names in `install_requires` of a setup.py, read from its syntax tree; None when it does not parse."""
    requirements = _install_requires(text) if len(text) <= SETUP_PY_LIMIT else None
    return None if requirements is None else _requirements("\n".join(requirements))


@lru_cache(maxsize=64)
def _install_requires(text: str) -> tuple[str, ...] | None:
    """`install_requires` as ``dockerfix.setup_py`` reads it, in a process of its own: whatever libcst does with the
    text (crash, exhaust its stack or memory, run for minutes), this process goes on; None when it does not answer."""
    import subprocess  # a setup.py in the context is rare; a check without one is spared the import

    try:
        child = subprocess.run(
            [sys.executable, "-I", "-c", _SETUP_PY_CHILD],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=SETUP_PY_TIMEOUT_SECONDS,
        )
        answer = json.loads(child.stdout) if child.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return tuple(_string_list(answer, "install_requires")) if answer is not None else None


def _go_mod(text: str) -> set[str]:
    """Modules of `require x v` lines and `require ( ... )` blocks (a block ends at a line starting with `)`)."""
    names: set[str] = set()
    in_block = False
    for line in text.splitlines():
        if in_block:
            if line.startswith(")"):
                in_block = False
            else:
                words = line.split("//", 1)[0].split()
                names.update(words[:1])
            continue
        start = _GO_REQUIRE_BLOCK_START.match(line)
        if start:
            in_block = True
            names.update(line[start.end() :].split("//", 1)[0].split()[:1])
            continue
        single = _GO_REQUIRE_LINE.match(line + "\n")
        if single:
            names.add(single.group(1))
    return names


def json_object(text: str) -> dict:
    """A JSON manifest's top-level object; ``ValueError`` when it is not JSON or not an object."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise Malformed("nests too deeply") from None
    return _table(value, "the top level")


def _package_json(text: str) -> set[str]:
    package = json_object(text)
    names: set[str] = set()
    for section in ("dependencies", "devDependencies", "optionalDependencies"):
        names.update(_table(package.get(section, {}), section))
    return names


def _composer_json(text: str) -> set[str]:
    composer = json_object(text)
    names: set[str] = set()
    for section in ("require", "require-dev"):
        names.update(name for name in _table(composer.get(section, {}), section) if name.lower() != "php")
    return names


_READERS = {
    "python": (
        ("requirements*.txt", _requirements),
        ("requirements/*.txt", _requirements),
        ("pyproject.toml", _pyproject),
        ("Pipfile", _pipfile),
        ("setup.py", setup_py_requirements),
    ),
    "node": (("package.json", _package_json),),
    "go": (("go.mod", _go_mod),),
    "ruby": (("Gemfile", lambda text: set(_GEM.findall(text))),),
    "php": (("composer.json", _composer_json),),
}


def declared(context: BuildContext | None, ecosystem: str) -> Declarations:
    """What the build context's declaration files of ``ecosystem`` name. A file that exists but cannot be read (not
    UTF-8, malformed, values of the wrong type, nested too deeply, an include that cannot be followed) is
    ``unreadable``, never an error."""
    packages: set[str] = set()
    files: list[str] = []
    unreadable: list[str] = []
    if context is None:
        return Declarations(ecosystem, frozenset(), (), ())
    done: set[str] = set()
    for pattern, reader in _READERS.get(ecosystem, ()):
        paths = [path for path in (context.glob(pattern) if "*" in pattern else [pattern]) if path not in done]
        if reader is _requirements:
            found = requirement_files(context, paths)
            texts, cut = found.texts, {path for path, _ in found.beyond}
        else:
            texts, cut = {path: context.read_text(path) for path in paths if context.exists(path)}, set()
        for path, text in texts.items():
            if path in done:
                continue
            done.add(path)
            try:
                names = reader(text) if text is not None else None
            except (ValueError, RecursionError):  # TOML and JSON errors are ValueErrors, like Malformed
                names = None
            (files if names is not None and path not in cut else unreadable).append(path)
            packages.update(normalise(ecosystem, name) for name in names or ())
    return Declarations(ecosystem, frozenset(packages), tuple(files), tuple(unreadable))


class InstallCommand(Struct, frozen=True):
    """A dependency install on a command line: its ecosystem, the packages it names, and whether it reads
    declaration files (a requirements file, package.json, a Gemfile...) instead of or besides them."""

    ecosystem: str
    named: frozenset[str]
    reads_files: bool


def install_command(command: SimpleCommand) -> InstallCommand | None:
    invocation = Invocation.of(command)
    name, verb = invocation.tool, invocation.verb
    if name in PHP_EXTENSION_INSTALLERS:
        return _php_extensions(name, invocation.arguments)
    ecosystem = ECOSYSTEM_OF_TOOL.get(name or "")
    if ecosystem is None or verb not in INSTALL_VERBS:
        return None
    if ecosystem == "go" and verb not in ("build", "install", "get", "download", "mod"):
        return None
    arguments = install_arguments(_MANAGER_OPTIONS_OF_TOOL.get(name or "", name or ""), invocation.after_verb)
    if any(word is None for word in arguments.operands):
        return InstallCommand(ecosystem, frozenset(), True)
    pattern = _COMPOSER_NAME if ecosystem == "php" else _REQUIREMENT_NAME
    literal = [word for word in arguments.operands if word is not None]
    packages = {
        normalise(ecosystem, requirement.group(1))
        for word in literal
        if (requirement := pattern.match(word)) and not word.startswith((".", "/")) and ecosystem != "go"
    }
    reads = ecosystem == "go" or not packages or arguments.names_files or "." in literal
    return InstallCommand(ecosystem, frozenset(packages), reads)


def _php_extensions(installer: str, arguments: Sequence[str | None]) -> InstallCommand | None:
    """`docker-php-ext-install [-jN] NAME...` and `pecl install NAME[-VERSION]...` as composer's `ext-NAME`. Names
    built from variables cannot be read and are left out (`-j$(nproc)` is common and names nothing)."""
    if installer == "pecl":
        if arguments[:1] != ["install"]:
            return None
        arguments = arguments[1:]
    names = {
        f"ext-{_PECL_VERSION.sub('', word).lower()}"
        for word in arguments
        if word is not None and not word.startswith("-")
    }
    return InstallCommand("php", frozenset(names), False)


def native_packages(ecosystem: str, names: Iterable[str]) -> list[str]:
    """The names the data file knows as native (needing a compiler, headers or glibc)."""
    return sorted(name for name in names if native_entry(ecosystem, name) is not None)


# Options of an install that take a value (the next word, unless written `--option=value`), by package manager.
_VALUE_OPTIONS = {
    "pip": {
        "-c",
        "--constraint",
        "-t",
        "--target",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--prefix",
        "--root",
        "--cache-dir",
        "--platform",
        "--python-version",
        "--implementation",
        "--abi",
        "--trusted-host",
        "--src",
        "--upgrade-strategy",
        "--progress-bar",
        "--log",
        "--timeout",
        "--retries",
    },
    "npm": {"--prefix", "--registry", "--cache", "--omit", "--include", "--userconfig", "-C", "--workspace", "-w"},
    "gem": {"-v", "--version", "-i", "--install-dir", "-n", "--bindir", "-s", "--source", "--platform", "-g", "--file"},
}
# Options whose value is a file of requirements: what the install takes from it is not in the Dockerfile.
_FILE_OPTIONS = {"pip": {"-r", "--requirement", "-e", "--editable"}, "npm": set(), "gem": {"-g", "--file"}}
_VERSION_SUFFIX = {
    "pip": LazyPattern(r"\s*(\[.*)?([<>=!~;].*)?$"),
    "gem": LazyPattern(r"$"),
    "npm": LazyPattern(r"(?<=.)@.*$"),
}
_NPM_SCOPED = LazyPattern(r"^@[^/@]+/[^/]+$")


# Tools whose install takes another manager's options: pip3 is pip, and `pipenv install` takes pip's -r, -e and -i.
_MANAGER_OPTIONS_OF_TOOL = {"pip3": "pip", "pipenv": "pip"}


class InstallArguments(Struct, frozen=True):
    """The words after an install's verb, read with its package manager's options: the operands (packages, paths,
    URLs; None for a word that depends on an expansion) and whether an option names a file of requirements."""

    operands: list[str | None]
    names_files: bool


def install_arguments(manager: str, words: Sequence[str | None]) -> InstallArguments:
    """``words`` without ``manager``'s options and their values (`--option value`, `--option=value`, `-rFILE`); a
    manager without a table here has options that take no value."""
    value_options = _VALUE_OPTIONS.get(manager, set())
    file_options = _FILE_OPTIONS.get(manager, set())
    operands: list[str | None] = []
    names_files = False
    value_next = False
    for word in words:
        if value_next:
            value_next = False
        elif word is None or not word.startswith("-"):
            operands.append(word)
        elif word.partition("=")[0] in file_options or word[:2] in file_options:
            names_files = True
            value_next = word in file_options
        else:
            value_next = word in value_options
    return InstallArguments(operands, names_files)


def install_operands(manager: str, invocation: Invocation) -> list[str] | None:
    """What an install names after its options (packages, paths, URLs), or None when what it installs is not all
    written there: a requirements file, or a word that depends on an expansion."""
    if any(word is None for word in invocation.after_verb):
        return None
    arguments = install_arguments(manager, invocation.after_verb)
    return None if arguments.names_files else [word for word in arguments.operands if word is not None]


def installed_packages(manager: str, invocation: Invocation) -> list[str] | None:
    """The package names an install names (`pip install flask==3.0` -> flask), or None when what it installs is not
    all written there: a requirements file, a path, a URL, a word that depends on an expansion, or no name at all
    (`npm ci` installs the project's lockfile)."""
    operands = install_operands(manager, invocation)
    if operands is None:
        return None
    names: list[str] = []
    for argument in operands:
        if ("/" in argument and not _NPM_SCOPED.match(argument)) or argument.startswith(".") or ":" in argument:
            return None
        names.append(_VERSION_SUFFIX[manager].sub("", argument))
    return names or None
