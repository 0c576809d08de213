"""Settings from ``.dockerfix.toml`` or ``[tool.dockerfix]`` in ``pyproject.toml``; command-line flags win."""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from msgspec import Struct, field
from msgspec.structs import astuple, replace

from .budget import DEFAULT_TIME_BUDGET
from .discovery import DEFAULT_EXCLUDE
from .engine import Selection
from .files import FileError, read_regular
from .registry import ALL, opt_in_codes, rule_options, selector_prefix, unknown_selectors
from .toml import parse_toml

CONFIG_FILES = (".dockerfix.toml", "pyproject.toml")
_KEYS = {
    "select",
    "extend-select",
    "ignore",
    "unsafe-fixes",
    "per-file-ignores",
    "time-budget",
    "bot",
    "max-file-size",
    "exclude",
    "extend-exclude",
    "respect-gitignore",
}
# Far above any real configuration; the bound stops a hostile file (a repository's pyproject.toml) from eating memory.
CONFIG_LIMIT = 10_000_000
# The largest Dockerfile of ../shared/corpus (real and expert) has 14,968 bytes: 1 MB is 67 times that, and the
# linear pipeline checks it in seconds. Above it a file is refused unread (a 10 MB RUN line peaked at 2.97 GB).
MAX_FILE_SIZE = 1_000_000
_BOT_KEYS = {"enabled", "paths", "branch", "labels", "reviewers", "unsafe-fixes"}


class ConfigError(Exception):
    """A configuration file that cannot be used, named in the message."""


class BotSettings(Struct, frozen=True):
    """``[tool.dockerfix.bot]``: what `dockerfix bot` does in this repository."""

    enabled: bool = True
    paths: tuple[str, ...] = (".",)
    branch: str = "dockerfix/optimize"
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    unsafe_fixes: bool | None = None  # None: the top-level `unsafe-fixes` decides


class Settings(Struct, frozen=True):
    select: tuple[str, ...] = ("DF",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    root: Path | None = None
    path: Path | None = None  # the file they were read from: names them, is not part of what they say
    bot: BotSettings = BotSettings()
    time_budget: float = DEFAULT_TIME_BUDGET  # seconds of wall-clock time for one file's analysis
    options: Mapping[str, Any] = field(default_factory=dict)  # rule options set by the configuration (not hashed)
    max_file_size: int = MAX_FILE_SIZE  # bytes of a Dockerfile (or standard input) dockerfix reads at most
    # gitignore-style patterns of what a folder walk skips, relative to the configuration's folder (ruff's `exclude`)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True

    def __eq__(self, other: object) -> bool:
        if type(other) is not Settings:
            return NotImplemented
        return self._said(("path",)) == other._said(("path",))

    def __hash__(self) -> int:
        return hash(self._said(("path", "options")))

    def _said(self, left_out: tuple[str, ...]) -> tuple[Any, ...]:
        return tuple(
            value for name, value in zip(self.__struct_fields__, astuple(self), strict=True) if name not in left_out
        )

    def selection_for(self, file: Path | None) -> Selection:
        """The selection for one file, with the per-file ignores whose glob matches it."""
        extra: list[str] = []
        if file is not None and self.per_file_ignores:
            relative = _relative(file, self.root)
            for pattern, codes in self.per_file_ignores:
                if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(file.name, pattern):
                    extra.extend(codes)
        return _selection(self, tuple(extra))

    @property
    def excluded(self) -> tuple[str, ...]:
        return self.exclude + self.extend_exclude

    def override(
        self,
        select: Sequence[str] | None = None,
        ignore: Sequence[str] | None = None,
        unsafe_fixes: bool | None = None,
        options: Mapping[str, Any] | None = None,
        extend_select: Sequence[str] | None = None,
    ) -> Settings:
        """These settings with the command line's (or an editor's) on top; a selection that names no rule raises a
        ConfigError. A command-line `select` replaces the configured `extend-select` too, as in ruff."""
        changes: dict[str, Any] = {}
        if options:
            changes["options"] = {**self.options, **options}
        for key, codes in (("select", select), ("ignore", ignore), ("extend-select", extend_select)):
            if codes is not None:
                changes[key.replace("-", "_")] = _known(
                    tuple(code.upper() for code in codes), f"`{key}`", "the command line"
                )
        if select is not None and extend_select is None:
            changes["extend_select"] = ()
        if unsafe_fixes is not None:
            changes["unsafe_fixes"] = unsafe_fixes
        return replace(self, **changes)


def _relative(file: Path, root: Path | None) -> str:
    try:
        return file.resolve().relative_to(root.resolve()).as_posix() if root else file.as_posix()
    except ValueError:
        return file.as_posix()


def _known(codes: tuple[str, ...], key: str, where: object) -> tuple[str, ...]:
    unknown = unknown_selectors(codes)
    if unknown:
        raise ConfigError(
            f"{where}: {key}: unknown rule code or prefix {', '.join(map(repr, unknown))}; "
            "see `dockerfix --list-rules` (`ALL` selects every rule)"
        )
    return codes


def _codes(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f'{path}: `{key}` must be a list of rule codes or prefixes, e.g. ["DF1"]')
    return _known(tuple(item.upper() for item in value), f"`{key}`", path)


def _patterns(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ConfigError(f'{path}: `{key}` must be a list of gitignore-style patterns, e.g. ["tests/fixtures/"]')
    return tuple(value)


def _table(path: Path) -> dict[str, Any] | None:
    """The dockerfix table of a configuration file, None when it has none."""
    try:
        data = parse_toml(read_regular(path, limit=CONFIG_LIMIT).data.decode("utf-8"))
    except FileError as error:
        raise ConfigError(f"{path}: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    except ValueError as error:  # tomllib's TOMLDecodeError
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: values nested too deeply") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: `tool` must be a table")
    if path.name == "pyproject.toml":
        table = tool.get("dockerfix")
    else:
        table = tool.get("dockerfix", data)
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: `tool.dockerfix` must be a table")
    return table


def rule_option_values(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The rule options ``table`` sets (by their configuration names), parsed; a bad value raises a ConfigError
    that names ``where``. Other keys are left to the caller."""
    declared = rule_options()
    values = {}
    for name in sorted(set(table) & set(declared)):
        try:
            values[name] = declared[name].parse(table[name])
        except (ValueError, TypeError) as error:  # TypeError: a parser surprised by a value of another type
            raise ConfigError(f"{where}: `{name}` {error}") from None
    return values


def load(path: Path) -> Settings:
    table = _table(path) or {}
    declared = rule_options()
    known = _KEYS | set(declared)
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    settings = Settings(root=path.parent, path=path, options=rule_option_values(table, str(path)))
    if "select" in table:
        settings = replace(settings, select=_codes(table["select"], "select", path))
    if "extend-select" in table:
        settings = replace(settings, extend_select=_codes(table["extend-select"], "extend-select", path))
    if "ignore" in table:
        settings = replace(settings, ignore=_codes(table["ignore"], "ignore", path))
    if "exclude" in table:
        settings = replace(settings, exclude=_patterns(table["exclude"], "exclude", path))
    if "extend-exclude" in table:
        settings = replace(settings, extend_exclude=_patterns(table["extend-exclude"], "extend-exclude", path))
    if "respect-gitignore" in table:
        if not isinstance(table["respect-gitignore"], bool):
            raise ConfigError(f"{path}: `respect-gitignore` must be true or false")
        settings = replace(settings, respect_gitignore=table["respect-gitignore"])
    if "unsafe-fixes" in table:
        if not isinstance(table["unsafe-fixes"], bool):
            raise ConfigError(f"{path}: `unsafe-fixes` must be true or false")
        settings = replace(settings, unsafe_fixes=table["unsafe-fixes"])
    if "time-budget" in table:
        budget = table["time-budget"]
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget <= 86_400:
            raise ConfigError(
                f"{path}: `time-budget` must be a number of seconds above 0 and at most 86400, not {budget!r}"
            )
        settings = replace(settings, time_budget=float(budget))
    if "per-file-ignores" in table:
        mapping = table["per-file-ignores"]
        if not isinstance(mapping, dict):
            raise ConfigError(f"{path}: `per-file-ignores` must be a table of glob = [codes]")
        settings = replace(
            settings,
            per_file_ignores=tuple(
                (glob, _codes(codes, f"per-file-ignores.{glob}", path)) for glob, codes in mapping.items()
            ),
        )
    if "bot" in table:
        settings = replace(settings, bot=_bot(table["bot"], path))
    if "max-file-size" in table:
        size = table["max-file-size"]
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ConfigError(f"{path}: `max-file-size` must be a positive number of bytes, not {size!r}")
        settings = replace(settings, max_file_size=size)
    return settings


def _strings(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(f"{path}: `bot.{key}` must be a list of non-empty strings")
    return tuple(value)


def _bot(table: Any, path: Path) -> BotSettings:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `bot` must be a table")
    unknown = set(table) - _BOT_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: unknown bot setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_BOT_KEYS))}"
        )
    for key in ("enabled", "unsafe-fixes"):
        if key in table and not isinstance(table[key], bool):
            raise ConfigError(f"{path}: `bot.{key}` must be true or false")
    if "branch" in table and (not isinstance(table["branch"], str) or not table["branch"].strip()):
        raise ConfigError(f"{path}: `bot.branch` must be a branch name")
    defaults = BotSettings()
    return BotSettings(
        enabled=table.get("enabled", defaults.enabled),
        paths=_strings(table["paths"], "paths", path) if "paths" in table else defaults.paths,
        branch=table.get("branch", defaults.branch).strip(),
        labels=_strings(table["labels"], "labels", path) if "labels" in table else defaults.labels,
        reviewers=_strings(table["reviewers"], "reviewers", path) if "reviewers" in table else defaults.reviewers,
        unsafe_fixes=table.get("unsafe-fixes"),
    )


def discover(start: Path, root: Path | None = None) -> Settings:
    """Settings of the nearest folder at or above ``start`` (up to ``root`` when given) with a ``.dockerfix.toml``
    or a ``pyproject.toml`` holding ``[tool.dockerfix]``; defaults when there is none."""
    found = config_file(start, root)
    return Settings() if found is None else load(found)


def config_file(start: Path, root: Path | None = None) -> Path | None:
    """The file ``discover`` reads settings from, or None for the defaults."""
    folder = (start if start.is_dir() else start.parent).resolve()
    candidates = [folder, *folder.parents]
    if root is not None and root.resolve() in candidates:
        candidates = candidates[: candidates.index(root.resolve()) + 1]
    return next((found for found in map(_own_config_file, candidates) if found is not None), None)


def _own_config_file(folder: Path, names: Collection[str] | None = None) -> Path | None:
    """The configuration file in ``folder``; ``names`` (when known) holds the names of the files in it."""
    for name in CONFIG_FILES:
        if names is not None and name not in names:
            continue
        path = folder / name
        if path.is_file() and _table(path) is not None:
            return path
    return None


class ConfigFiles:
    """``config_file`` for the many folders of one run: each folder above them is looked at once (a repository's
    folders share all but their own), not once for every folder below it."""

    def __init__(self) -> None:
        self._nearest: dict[Path, Path | None] = {}

    def nearest(self, folder: Path, names: Collection[str] | None = None) -> Path | None:
        """The configuration file of a resolved folder, as ``config_file(folder)``; ``names`` (when known: a folder
        walk listed it) holds the names of the files in ``folder``, so it is not asked for each configuration name."""
        unanswered = []
        found = None
        for candidate in itertools.chain((folder,), folder.parents):  # lazily: most stop at the first parent
            if candidate in self._nearest:
                found = self._nearest[candidate]
                break
            unanswered.append(candidate)
            found = _own_config_file(candidate, names if candidate is folder else None)
            if found is not None:
                break
        for candidate in unanswered:
            self._nearest[candidate] = found
        return found


@lru_cache(maxsize=64)
def _selection(settings: Settings, ignored_here: tuple[str, ...]) -> Selection:
    """The selection of ``settings`` with ``ignored_here`` (a file's per-file ignores) left out: asked for every file,
    with the same few answers in a run."""
    selected = settings.select + settings.extend_select
    # an opt-in rule runs only when named by its code or ALL: a prefix leaves it out, as ruff's preview rules
    held_back = () if ALL in selected else tuple(sorted(opt_in_codes(settings.options) - set(selected)))
    return Selection(
        select=tuple(map(selector_prefix, selected)),
        ignore=tuple(map(selector_prefix, settings.ignore + ignored_here + held_back)),
    )
