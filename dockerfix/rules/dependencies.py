"""The dependencies a project declares, read from the build context without running anything: requirements*.txt,
pyproject.toml, Pipfile and setup.py (through libcst: `install_requires` as written, never by executing it),
package.json, go.mod, Gemfile and composer.json. Also the packages named on an install command line (PHP extensions
installed with docker-php-ext-install or pecl count as composer's `ext-NAME`). Used by the base-image rules
to find packages that need a compiler, headers or glibc."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Iterable, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.shell import SimpleCommand

from .baseimages import native_entry
from .runedit import tool_and_arguments, verb_index

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_GEM = re.compile(r"""^\s*gem\s+["']([^"']+)["']""", re.MULTILINE)
_GO_REQUIRE_BLOCK = re.compile(r"^require\s*\((.*?)^\)", re.MULTILINE | re.DOTALL)
_GO_REQUIRE_LINE = re.compile(r"^require\s+([^\s(]\S*)\s", re.MULTILINE)
_COMPOSER_NAME = re.compile(r"^\s*([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)")  # vendor/package, before `:version`
_PECL_VERSION = re.compile(r"-\d[\w.]*$")  # `pecl install oci8-3.3.0`
PHP_EXTENSION_INSTALLERS = ("docker-php-ext-install", "pecl")

ECOSYSTEM_OF_TOOL = {
    "pip": "python", "pip3": "python", "pipenv": "python", "poetry": "python", "uv": "python",
    "npm": "node", "yarn": "node", "pnpm": "node",
    "bundle": "ruby", "bundler": "ruby", "gem": "ruby",
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


@dataclass(frozen=True)
class Declarations:
    """Packages of one ecosystem, where they were read, and declaration files that exist but could not be read."""

    ecosystem: str
    packages: frozenset[str]
    files: tuple[str, ...]
    unreadable: tuple[str, ...]


def _requirements(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line.startswith(("-", "#")) or not line:
            continue
        match = _REQUIREMENT_NAME.match(line)
        if match:
            names.add(match.group(1))
    return names


def _pyproject(text: str) -> set[str]:
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return set()
    project = table.get("project", {})
    declared = list(project.get("dependencies", []))
    for group in project.get("optional-dependencies", {}).values():
        declared.extend(group)
    names = _requirements("\n".join(declared))
    poetry = table.get("tool", {}).get("poetry", {})
    names |= {name for name in poetry.get("dependencies", {}) if name.lower() != "python"}
    return names


def _pipfile(text: str) -> set[str]:
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return set()
    return set(table.get("packages", {})) | set(table.get("dev-packages", {}))


def setup_py_requirements(text: str) -> set[str] | None:
    """Names in `install_requires` of a setup.py, read from its syntax tree; None when it does not parse."""
    # libcst takes a third of a second to import: only a context with a setup.py pays for it
    from dockerfix.setup_py import install_requires

    requirements = install_requires(text)
    return None if requirements is None else _requirements("\n".join(requirements))


def _go_mod(text: str) -> set[str]:
    names = {match.group(1) for match in _GO_REQUIRE_LINE.finditer(text)}
    for block in _GO_REQUIRE_BLOCK.finditer(text):
        for line in block.group(1).splitlines():
            words = line.split("//", 1)[0].split()
            if words:
                names.add(words[0])
    return names


def _package_json(text: str) -> set[str]:
    try:
        package = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(package, dict):
        return set()
    names: set[str] = set()
    for section in ("dependencies", "devDependencies", "optionalDependencies"):
        if isinstance(package.get(section), dict):
            names.update(package[section])
    return names


def _composer_json(text: str) -> set[str]:
    try:
        composer = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(composer, dict):
        return set()
    names: set[str] = set()
    for section in ("require", "require-dev"):
        if isinstance(composer.get(section), dict):
            names.update(name for name in composer[section] if name.lower() != "php")
    return names


_READERS = {
    "python": (("requirements*.txt", _requirements), ("requirements/*.txt", _requirements), ("pyproject.toml", _pyproject),
               ("Pipfile", _pipfile), ("setup.py", setup_py_requirements)),
    "node": (("package.json", _package_json),),
    "go": (("go.mod", _go_mod),),
    "ruby": (("Gemfile", lambda text: set(_GEM.findall(text))),),
    "php": (("composer.json", _composer_json),),
}


def declared(context: BuildContext | None, ecosystem: str) -> Declarations:
    """What the build context's declaration files of ``ecosystem`` name."""
    packages: set[str] = set()
    files: list[str] = []
    unreadable: list[str] = []
    if context is None:
        return Declarations(ecosystem, frozenset(), (), ())
    for pattern, reader in _READERS.get(ecosystem, ()):
        for path in context.glob(pattern) if "*" in pattern else ([pattern] if context.exists(pattern) else []):
            text = context.read_text(path)
            names = reader(text) if text is not None else None
            if names is None:
                unreadable.append(path)
                continue
            files.append(path)
            packages.update(normalise(ecosystem, name) for name in names)
    return Declarations(ecosystem, frozenset(packages), tuple(files), tuple(unreadable))


@dataclass(frozen=True)
class InstallCommand:
    """A dependency install on a command line: its ecosystem, the packages it names, and whether it reads
    declaration files (a requirements file, package.json, a Gemfile...) instead of or besides them."""

    ecosystem: str
    named: frozenset[str]
    reads_files: bool


def install_command(command: SimpleCommand) -> InstallCommand | None:
    name, arguments = tool_and_arguments(command)
    if name in PHP_EXTENSION_INSTALLERS:
        return _php_extensions(name, arguments)
    ecosystem = ECOSYSTEM_OF_TOOL.get(name or "")
    index = verb_index(arguments)
    if ecosystem is None or index is None or arguments[index] not in INSTALL_VERBS:
        return None
    if ecosystem == "go" and arguments[index] not in ("build", "install", "get", "download", "mod"):
        return None
    rest = arguments[index + 1:]
    positional = _positional(rest)
    if any(word is None for word in positional):
        return InstallCommand(ecosystem, frozenset(), True)
    pattern = _COMPOSER_NAME if ecosystem == "php" else _REQUIREMENT_NAME
    literal = [word for word in positional if word is not None]
    packages = {normalise(ecosystem, pattern.match(word).group(1)) for word in literal
                if pattern.match(word) and not word.startswith((".", "/")) and ecosystem != "go"}
    reads = ecosystem == "go" or not packages or any(flag in rest for flag in ("-r", "--requirement", "-e", ".")) or any(
        word is not None and word.startswith(("-r", "--requirement=")) for word in rest)
    return InstallCommand(ecosystem, frozenset(packages), reads)


def _php_extensions(installer: str, arguments: Sequence[str | None]) -> InstallCommand | None:
    """`docker-php-ext-install [-jN] NAME...` and `pecl install NAME[-VERSION]...` as composer's `ext-NAME`. Names
    built from variables cannot be read and are left out (`-j$(nproc)` is common and names nothing)."""
    if installer == "pecl":
        if arguments[:1] != ["install"]:
            return None
        arguments = arguments[1:]
    names = {f"ext-{_PECL_VERSION.sub('', word).lower()}" for word in arguments if word is not None and not word.startswith("-")}
    return InstallCommand("php", frozenset(names), False)


def _positional(words: Sequence[str | None]) -> list[str | None]:
    """Arguments that are not options nor the values of `-r`-like options."""
    positional: list[str | None] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word is not None and word in ("-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-t", "--target"):
            skip = True
            continue
        if word is None or not word.startswith("-"):
            positional.append(word)
    return positional


def native_packages(ecosystem: str, names: Iterable[str]) -> list[str]:
    """The names the data file knows as native (needing a compiler, headers or glibc)."""
    return sorted(name for name in names if native_entry(ecosystem, name) is not None)
