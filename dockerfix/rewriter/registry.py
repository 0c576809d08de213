"""Finding rules: the built-in modules of ``dockerfix.rules`` and third-party ones from the ``dockerfix.rules``
entry-point group (each entry point names a module or package whose ``Rule`` subclasses are rules)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib.machinery import PathFinder
from types import ModuleType
from typing import Any

from .lazypattern import LazyPattern
from .rule import CODE_PATTERN, GLOBAL_OPTIONS, Option, Rule

ENTRY_POINT_GROUP = "dockerfix.rules"
ALL = "ALL"  # the selector of every rule, as ruff's
BUILTIN_PACKAGE = "dockerfix.rules"
# An entry_points.txt lists a distribution's commands and plugins: the largest in this environment is a few kB.
ENTRY_POINTS_LIMIT = 1_000_000


class RegistryError(Exception):
    """Two rules claim one code, or a rule is malformed."""


def _modules(package_name: str) -> list[ModuleType]:
    package = importlib.import_module(package_name)
    modules = [package]
    if hasattr(package, "__path__"):
        for name in _module_names(package):
            modules.append(importlib.import_module(f"{package_name}.{name}"))
    return modules


def _module_names(package: ModuleType) -> list[str]:
    """The modules of a package, as pkgutil lists them. The built-in rules are source files of one folder (one module
    per rule, tests/test_layout.py): listing it spares a check the inspect module, which pkgutil imports to name the
    files it lists (~7 ms of a start, bench/startup.py). A plugin package may be anything an importer reads."""
    if package.__name__ == BUILTIN_PACKAGE:
        return sorted(
            name.removesuffix(".py")
            for folder in package.__path__
            for name in os.listdir(folder)
            if name.endswith(".py") and name != "__init__.py"
        )
    import pkgutil

    return [info.name for info in pkgutil.iter_modules(package.__path__)]


def _rules_in(module: ModuleType) -> list[type[Rule]]:
    """The concrete rules a module defines, by name (the inspect module, 7 ms to import, is not needed for it)."""
    return [
        member
        for _, member in sorted(vars(module).items())
        if isinstance(member, type)
        and issubclass(member, Rule)
        and member is not Rule
        and member.__module__ == module.__name__
        and not getattr(member, "__abstractmethods__", None)
        and "code" in vars(member)
    ]


def _entry_point_files() -> Iterator[str | None]:
    """The ``entry_points.txt`` of every distribution importlib.metadata would find, as it finds them (the
    ``*.dist-info`` and ``*.egg-info`` folders of each folder on ``sys.path``, ``EGG-INFO`` in an ``.egg``); None
    where only the library can tell (a zip archive on the path, or a finder that lists distributions of its own)."""
    if any(hasattr(finder, "find_distributions") and finder is not PathFinder for finder in sys.meta_path):
        yield None
        return
    for entry in sys.path:
        folder = entry or "."
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            yield None
            continue
        except OSError:  # a folder that does not exist holds no distribution
            continue
        in_egg = os.path.basename(folder).lower().endswith(".egg")
        for name in names:
            lower = name.lower()
            if lower.endswith((".dist-info", ".egg-info")) or (in_egg and lower == "egg-info"):
                yield os.path.join(folder, name, "entry_points.txt")


def _may_have_plugins() -> bool:
    """False when no installed distribution can declare a rule plugin. Reading the entry_points.txt files took 1.5 ms
    here (85 distributions); importing importlib.metadata (with the email package it reads metadata with) 12 ms and
    its `entry_points()` 4 ms more. Whenever a plugin may be there (a file names the group, is too large to read
    whole, or only the library can tell), the library reads the entry points itself."""
    for file in _entry_point_files():
        if file is None:
            return True
        try:
            with open(file, "rb") as entry_points_file:
                text = entry_points_file.read(ENTRY_POINTS_LIMIT + 1)
        except OSError:  # a folder without the file, or a distribution of an older layout that declares none
            continue
        if len(text) > ENTRY_POINTS_LIMIT or f"[{ENTRY_POINT_GROUP}]".encode() in text:
            return True
    return False


def _plugin_packages() -> list[str]:
    if not _may_have_plugins():
        return []
    from importlib.metadata import entry_points

    return [
        entry_point.value
        for entry_point in entry_points(group=ENTRY_POINT_GROUP)
        if entry_point.value != BUILTIN_PACKAGE
    ]


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule, sorted by code; built-ins first, then plugins (a plugin may not reuse a code)."""
    packages = [BUILTIN_PACKAGE, *_plugin_packages()]
    found: dict[str, type[Rule]] = {}
    for package_name in packages:
        for module in _modules(package_name):
            for rule in _rules_in(module):
                if not CODE_PATTERN.match(rule.code):
                    raise RegistryError(f"{rule.__module__}.{rule.__name__}: code {rule.code!r} is not DF + 3 digits")
                other = found.get(rule.code)
                if other is not None and other is not rule:
                    raise RegistryError(f"code {rule.code} claimed by {other.__module__} and {rule.__module__}")
                found[rule.code] = rule
    return tuple(found[code] for code in sorted(found))


_BYTE_COUNT = LazyPattern(r"^\s*(\d+(?:\.\d+)?)\s*(B|kB|KB|KiB|MB|MiB|GB|GiB)?\s*$")
_UNIT_BYTES = {
    None: 1,
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "KiB": 1024,
    "MB": 10**6,
    "MiB": 2**20,
    "GB": 10**9,
    "GiB": 2**30,
}


def byte_count(value: Any) -> int:
    """A number of bytes from a setting: an integer, or a string with a unit (`1MB`, `512 KiB`)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _BYTE_COUNT.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"must be a number of bytes, as an integer or with a unit (`1MB`, `512KiB`), not {value!r}")
    return int(float(match.group(1)) * _UNIT_BYTES[match.group(2)])


# Chosen from the byte gains the default rules measure over ../shared/corpus/real (bench/gain_distribution.py).
DEFAULT_MIN_GAIN = 1_000_000
MIN_GAIN = Option(
    "min-gain",
    DEFAULT_MIN_GAIN,
    "bytes of the shipped image a finding must save to be reported, fixed and fail `--check` (findings that save "
    "rebuild steps or fix cache correctness, unknown byte gains, DF0xx errors and rules selected by their exact code "
    "are reported whatever they save)",
    byte_count,
)
ENGINE_OPTIONS = (*GLOBAL_OPTIONS, MIN_GAIN)  # the settings of a whole run, besides the rules' own


@lru_cache(maxsize=1)
def rule_options() -> dict[str, Option]:
    """Every rule's options and the engine's own by name; rules may share an option only by declaring the same one."""
    options: dict[str, Option] = {option.name: option for option in ENGINE_OPTIONS}
    for rule in all_rules():
        for option in rule.options:
            if options.setdefault(option.name, option) != option:
                raise RegistryError(f"option {option.name!r} of {rule.code} is declared differently by another rule")
    return options


def unknown_selectors(selectors: tuple[str, ...] | list[str]) -> list[str]:
    """The selectors that name no rule: neither `ALL` nor a code or the prefix of one. A typo would otherwise select
    nothing and pass every check."""
    codes = [rule.code for rule in all_rules()]
    return [
        selector for selector in selectors if selector != ALL and not any(code.startswith(selector) for code in codes)
    ]


def opt_in_codes(options: Mapping[str, Any] | None = None) -> frozenset[str]:
    """The opt-in rules, less those an option set in ``options`` asks for (``Rule.selected_by_options``)."""
    options = options or {}
    return frozenset(
        rule.code
        for rule in all_rules()
        if rule.opt_in and not any(options.get(name) for name in rule.selected_by_options)
    )


def selector_prefix(selector: str) -> str:
    """The code prefix a selector stands for: `ALL` is the empty prefix, which every code starts with."""
    return "" if selector == ALL else selector


def rule_by_code(code: str) -> type[Rule] | None:
    return next((rule for rule in all_rules() if rule.code == code.upper()), None)


@lru_cache(maxsize=64)
def hadolint_map(rules: tuple[type[Rule], ...]) -> Mapping[str, frozenset[str]]:
    """hadolint code -> the dockerfix codes that correspond to it (asked for every check, with the same rules)."""
    mapping: dict[str, set[str]] = {}
    for rule in rules:
        for code in rule.hadolint:
            mapping.setdefault(code, set()).add(rule.code)
    return {code: frozenset(codes) for code, codes in mapping.items()}
