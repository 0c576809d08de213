"""The build context: the files ``docker build`` sends, after ``.dockerignore``.

Rules use it as evidence ("requirements.txt is in the context", "no source of this ADD is an archive"), so every
answer follows what BuildKit actually sends, not what a reader of ``.dockerignore`` might expect:

- the ignore file is read like ``moby/patternmatcher/ignorefile.ReadAll`` and compiled like ``patternmatcher.New``
  (``#`` only in column 1, Go whitespace trimming, ``filepath.Clean``, one leading ``/`` dropped, ``!`` exceptions);
- each pattern matches like ``Pattern.match`` (exact, prefix, suffix or regular expression, chosen the same way);
- paths are judged like BuildKit's context walk (``tonistiigi/fsutil`` ``filterFS.Walk``): top down with
  ``MatchesUsingParentResults``, and an excluded folder is not entered unless a wildcard-free exception pattern
  lies below it;
- ``<Dockerfile name>.dockerignore`` next to the Dockerfile replaces the root ``.dockerignore``;
- COPY wildcard sources resolve like ``fsutil/copy.ResolveWildcards`` (``filepath.Match`` on the path below the
  wildcard-free prefix).

The root ``.dockerignore`` serves every Dockerfile that builds from the context, so a change to it must suit them
all: ``BuildContext.builders`` finds them (the Dockerfiles in the context without an ignore file of their own, and
those a Compose file in the context or a folder above it builds with this folder as its context).

An ignore file Docker rejects (a malformed ``[`` class, a lone ``!``) fails every build before anything is sent, so
such a context answers "nothing is there": no rule can prove anything from it.
"""

from __future__ import annotations

import bisect
import copy
import enum
import heapq
import os
import posixpath
import re
import stat
import time
import warnings
from collections.abc import Callable, Hashable, Iterable
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TypeVar

from msgspec import Struct

from .arguments import GO_SPACE
from .discovery import SKIPPED_FOLDERS, is_dockerfile_name
from .files import FileError, read_regular
from .lazypattern import LazyPattern

# What `git ls-files` never lists either; walking it would cost more than the rest of most contexts.
SKIPPED_NAMES = frozenset({".git"})
# A context this large (a Dockerfile in a home folder) is listed only in part and claims no contents.
MAX_ENTRIES = 200_000
# Ignore files are short pattern lists; the bound only stops a hostile one (a huge file) from eating memory.
MAX_IGNORE_FILE_BYTES = 1_000_000
# patternmatcher escapes these (regexp metacharacters that mean nothing to filepath.Match); the rest pass through.
_REGEX_ESCAPED = ".+()|{}$"
# fsutil's patternChars: an exception pattern holding one of these keeps excluded folders walked.
_PATTERN_CHARS = "*[]?^\\"
# Compose's file names: compose.yaml, docker-compose.yml, and the override files beside them (compose.override.yaml).
_COMPOSE_FILE = LazyPattern(r"(docker-)?compose([.-][^/]*)?\.ya?ml")
# How many folders above a context Compose files are looked for when no repository top (a folder with .git) comes first.
MAX_COMPOSE_LEVELS = 8
# Dockerfiles and Compose files are read up to this size each, this count and this total per context; beyond, the
# builds are unknown.
MAX_BUILD_FILE_BYTES = 1_000_000
MAX_BUILD_FILES = 1_000
MAX_BUILD_FILES_BYTES = 20_000_000
_GIT_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class PatternError(ValueError):
    """A pattern Docker rejects (Go's ``filepath.ErrBadPattern`` and friends)."""


def _go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` on Unix; unlike ``posixpath.normpath`` it keeps no leading ``//``."""
    cleaned = posixpath.normpath(path)
    return cleaned[1:] if cleaned.startswith("//") else cleaned


def _normal(path: str) -> str:
    """A query path as a context-relative path: ``./a``, ``/a`` and ``a/../a`` all name ``a``; the root is ``""``."""
    return posixpath.normpath("/" + path).lstrip("/")


@lru_cache(maxsize=256)
def _go_glob(pattern: str) -> re.Pattern[str]:
    """Go's ``filepath.Match`` pattern as a regular expression, rejecting what Go rejects.

    ``*`` and ``?`` never match ``/``; a class ``[...]`` matches any one character (``/`` too), negated by ``^``
    (not ``!``); ``\\`` escapes; a reversed range is allowed and matches nothing.
    """
    regex = []
    index, length = 0, len(pattern)
    while index < length:
        char = pattern[index]
        if char == "*":
            regex.append("[^/]*")
        elif char == "?":
            regex.append("[^/]")
        elif char == "\\":
            index += 1
            if index == length:
                raise PatternError(f"syntax error in pattern {pattern!r}: trailing backslash")
            regex.append(re.escape(pattern[index]))
        elif char == "[":
            index = _go_class(pattern, index + 1, regex)
            continue
        else:
            regex.append(re.escape(char))
        index += 1
    return re.compile("".join(regex))


def _go_class(pattern: str, index: int, regex: list[str]) -> int:
    """Parse the class opened before ``index`` (Go's ``matchChunk``/``getEsc`` rules); return the index after it."""

    def character(at: int) -> tuple[str, int]:
        if at >= len(pattern) or pattern[at] in "-]":
            raise PatternError(f"syntax error in pattern {pattern!r}: bad character class")
        if pattern[at] == "\\":
            at += 1
            if at >= len(pattern):
                raise PatternError(f"syntax error in pattern {pattern!r}: bad character class")
        if at + 1 >= len(pattern):  # Go requires the class to go on (to its closing bracket)
            raise PatternError(f"syntax error in pattern {pattern!r}: unclosed character class")
        return pattern[at], at + 1

    negated = index < len(pattern) and pattern[index] == "^"
    index += negated
    ranges: list[str] = []
    count = 0
    while not (count and index < len(pattern) and pattern[index] == "]"):
        low, index = character(index)
        high = low
        if pattern[index] == "-":
            high, index = character(index + 1)
        if low <= high:
            ranges.append(re.escape(low) + ("" if high == low else "-" + re.escape(high)))
        count += 1
    if ranges:
        regex.append("[" + "^" * negated + "".join(ranges) + "]")
    else:  # only reversed ranges: nothing is in the class
        regex.append("(?s:.)" if negated else "(?!)")
    return index + 1


class MatchKind(enum.Enum):
    """How patternmatcher compares a path with a pattern; it picks the kind from the pattern's characters."""

    EXACT = "exact"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    REGEXP = "regexp"


class IgnorePattern(Struct, frozen=True):
    """One ``.dockerignore`` line after cleaning: ``text`` without its ``!``, compiled as patternmatcher does."""

    text: str
    exclusion: bool
    kind: MatchKind
    regex: re.Pattern[str] | None

    @classmethod
    def compile(cls, text: str, exclusion: bool) -> IgnorePattern:
        """A port of ``Pattern.compile``, quirks included, because they decide what is sent.

        ``**`` at the start makes a suffix match (``**.md`` is any path ending in ``.md``), a trailing ``**`` after
        plain text a prefix match (``abc**`` also matches ``abcdef``), and ``[``/``]`` go into the regular expression
        as they are, so ``[!a]`` is a class holding ``!`` and ``a`` (Go's regexp negates with ``^`` only).
        """
        regex, kind = "^", MatchKind.EXACT
        index, length = 0, len(text)
        while index < length:
            first = index == 0
            char = text[index]
            index += 1
            if char == "*" and text[index : index + 1] == "*":
                index += 1
                if text[index : index + 1] == "/":
                    index += 1
                if index < length:
                    regex += "(.*/)?"
                    kind = MatchKind.REGEXP
                elif kind is MatchKind.EXACT:
                    kind = MatchKind.PREFIX
                else:
                    regex += ".*"
                    kind = MatchKind.REGEXP
                if first:
                    kind = MatchKind.SUFFIX
            elif char == "*":
                regex += "[^/]*"
                kind = MatchKind.REGEXP
            elif char == "?":
                regex += "[^/]"
                kind = MatchKind.REGEXP
            elif char in _REGEX_ESCAPED:
                regex += "\\" + char
            elif char == "\\":  # never last: the filepath.Match check in DockerIgnore.parse rejects that
                regex += "\\" + text[index]
                index += 1
                kind = MatchKind.REGEXP
            elif char in "[]":
                regex += char
                kind = MatchKind.REGEXP
            else:
                regex += char
        if kind is not MatchKind.REGEXP:
            return cls(text, exclusion, kind, None)
        try:
            with warnings.catch_warnings():  # "possible nested set": Go's syntax, meant literally
                warnings.simplefilter("ignore", FutureWarning)
                return cls(text, exclusion, kind, re.compile(regex + "$"))
        except re.error as error:
            raise PatternError(f"syntax error in pattern {text!r}: {error}") from None

    def matches(self, path: str) -> bool:
        """Whether this pattern matches exactly ``path`` (parents are the caller's business)."""
        if self.kind is MatchKind.EXACT:
            return path == self.text
        if self.kind is MatchKind.PREFIX:
            return path.startswith(self.text[:-2])
        if self.kind is MatchKind.SUFFIX:
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self.regex is not None
        return self.regex.fullmatch(path) is not None


@lru_cache(maxsize=256)
def _line_patterns(line: str) -> tuple[IgnorePattern, ...]:
    """The patterns of one ignore-file line: rules ask of the same few lines in every context of a run."""
    return DockerIgnore.parse(line).patterns


class DockerIgnore(Struct, frozen=True, dict=True):
    """The patterns of one ignore file, in order; later patterns win."""

    patterns: tuple[IgnorePattern, ...] = ()

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        """``ignorefile.ReadAll`` then ``patternmatcher.New``; raises ``PatternError`` where Docker fails the build."""
        patterns = []
        for number, line in enumerate(text.split("\n")):
            line = line.removesuffix("\r")  # bufio.ScanLines drops it
            if number == 0:
                line = line.removeprefix("\ufeff")
            if line.startswith("#"):  # column 1 only: "  # x" is a pattern
                continue
            line = line.strip(GO_SPACE)
            if not line:
                continue
            exclusion = line.startswith("!")
            if exclusion:
                line = line[1:].strip(GO_SPACE)
            if line:
                line = _go_clean(line)
                if len(line) > 1 and line.startswith("/"):
                    line = line[1:]
            # New() trims and cleans the whole string again, "!" included: "!/" becomes "!", "!../.." becomes "."
            line = (("!" if exclusion else "") + line).strip(GO_SPACE)
            if not line:  # "./ /" cleans to " "
                continue
            line = _go_clean(line)
            exclusion = line.startswith("!")
            if exclusion:
                line = line[1:]
                if not line:
                    raise PatternError('illegal exclusion pattern: "!"')
            _go_glob(line)  # New() checks the syntax with filepath.Match
            patterns.append(IgnorePattern.compile(line, exclusion))
        return cls(tuple(patterns))

    def match(self, path: str, parent: tuple[bool, ...] | None) -> tuple[bool, tuple[bool, ...]]:
        """``MatchesUsingParentResults``: whether ``path`` is excluded, and which patterns matched it.

        ``parent`` is the second half of the answer for the folder holding ``path`` (None at the top level): a
        pattern that matched the folder counts as matching everything in it.
        """
        matched = False
        hits = []
        for index, pattern in enumerate(self.patterns):
            hit = parent is not None and parent[index]
            if not hit and pattern.exclusion == matched:
                hit = pattern.matches(path)
            hits.append(hit)
            if hit:
                matched = not pattern.exclusion
        return matched, tuple(hits)

    @cached_property
    def _exception_prefixes(self) -> tuple[str, ...] | None:
        """The exception patterns as folder prefixes (fsutil's ``patternWithoutTrailingGlob``), None if one has a
        wildcard: then BuildKit walks into every excluded folder."""
        prefixes = []
        for pattern in self.patterns:
            if pattern.exclusion:
                stem = pattern.text.removesuffix("/**").removesuffix("/*")
                if any(char in stem for char in _PATTERN_CHARS):
                    return None
                prefixes.append(stem + "/")
        return tuple(prefixes)

    def prunes(self, folder: str) -> bool:
        """Whether BuildKit skips everything below ``folder`` once it is excluded (its ``filepath.SkipDir``)."""
        prefixes = self._exception_prefixes
        return prefixes is not None and not any(prefix.startswith(folder + "/") for prefix in prefixes)


class _Folder(Struct, frozen=True):
    """What the walk knows on entering a folder: its verdict, the patterns that matched it, and whether BuildKit
    stops there (everything below is then excluded)."""

    excluded: bool
    hits: tuple[bool, ...]
    pruned: bool


class _Listing(Struct, frozen=True):
    """The entries before ignoring: ``files`` are all non-folders (symbolic links included, never followed)."""

    files: tuple[str, ...]
    folders: frozenset[str]
    complete: bool


def _git_unquote(line: str) -> str:
    """``git ls-files`` writes names with unusual bytes as C strings: ``"doc/\\350\\257\\246.md"``."""
    if len(line) < 2 or not (line.startswith('"') and line.endswith('"')):
        return line
    data = bytearray()
    body, index = line[1:-1], 0
    while index < len(body):
        octal = body[index + 1 : index + 4]
        if body[index] == "\\" and len(octal) == 3 and all(digit in "01234567" for digit in octal):
            data.append(int(octal, 8) & 0xFF)
            index += 4
        elif body[index] == "\\" and index + 1 < len(body):
            data += _GIT_ESCAPES.get(body[index + 1], body[index + 1]).encode()
            index += 2
        else:
            data += body[index].encode()
            index += 1
    return data.decode("utf-8", "surrogateescape")


def ancestors(path: str) -> Iterable[str]:
    """``a/b/c`` -> ``a/b``, ``a``."""
    while "/" in path:
        path = path.rpartition("/")[0]
        yield path


def names_top_entry(source: str, name: str) -> bool:
    """Whether a COPY source (or bind-mount source) takes the top-level entry ``name`` or something in it: the whole
    context, or a first segment that is ``name`` or a wildcard matching it (a malformed one counts: who knows)."""
    first = _normal(source).partition("/")[0]
    if not first or not _has_wildcard(first):
        return first in ("", name)
    try:
        return _go_glob(first).fullmatch(name) is not None
    except PatternError:
        return True


def _has_wildcard(segment: str) -> bool:
    """fsutil's ``containsWildcards``: ``*``, ``?`` or ``[`` not escaped by ``\\``."""
    index = 0
    while index < len(segment):
        if segment[index] == "\\":
            index += 2
            continue
        if segment[index] in "*?[":
            return True
        index += 1
    return False


def _read_ignore_file(path: Path, root: Path) -> bytes:
    """An ignore file's bytes: a regular file, bounded, and through a symbolic link only to a file inside the
    context (a link to a file elsewhere on the machine, or to ``/dev/zero``, is refused)."""
    target = os.path.realpath(path)
    inside = (os.path.realpath(root), os.path.realpath(path.parent))
    if not any(target == folder or target.startswith(folder.rstrip("/") + "/") for folder in inside):
        raise FileError(f"is a symbolic link out of the build context (to {target})")
    return read_regular(target, limit=MAX_IGNORE_FILE_BYTES, follow_symlinks=False).data


class Builders(Struct, frozen=True):
    """The Dockerfiles that build from a context and read its root ignore file: where each was found (a path, or a
    Compose service's inline Dockerfile) and its bytes. ``unknown`` says why one may be missing (a Compose file or a
    Dockerfile that could not be read): then nobody can say what the builds read."""

    dockerfiles: tuple[tuple[str, bytes], ...] = ()
    unknown: str | None = None


class _BuildersUnknown(Exception):
    pass


def _read_build_file(path: Path) -> bytes:
    try:
        return read_regular(path, limit=MAX_BUILD_FILE_BYTES).data
    except FileError as error:
        raise _BuildersUnknown(f"{path}: {error}") from None


# The Compose files of the folders above the build contexts of one run (a command, a worker process), each folder
# listed when first asked: the run sees the disk as it was then. Across runs (a long-lived language server) a folder is
# listed again when its entries change (``_compose_files_in``); a parent such as /tmp, whose entries other programs
# change every few seconds, was listed again for every one-file context below it.
ComposeListings = dict[Path, tuple[Path, ...]]


def _compose_files_above(root: Path, run_listings: ComposeListings | None) -> list[Path]:
    """Compose files in the folders above ``root``, up to the repository's top (the first folder holding ``.git``);
    each folder listed once for the run when its listings are given."""
    found: list[Path] = []
    folder = root
    for _ in range(MAX_COMPOSE_LEVELS):
        if os.path.lexists(folder / ".git") or folder.parent == folder:
            break
        folder = folder.parent
        try:
            if run_listings is None:
                found += _compose_files_in(folder)
                continue
            if folder not in run_listings:
                run_listings[folder] = _list_compose_files(folder)
            found += run_listings[folder]
        except OSError:
            continue
    return found


# A folder whose entries changed this recently may change again without a new modification time (the clock file
# systems stamp with ticks in milliseconds, FAT in 2 s): its listing is not kept, as git does with "racy" files.
SETTLED_NS = 2 * 10**9


def _compose_files_in(folder: Path) -> tuple[Path, ...]:
    """The Compose files of a folder, listed once while the folder's entries stay the same (adding, removing or
    renaming one changes its modification time): every build context below a folder of many projects asks for its
    Compose files (1,519 one-file contexts listed their common parent 1,519 times)."""
    modified_ns = os.stat(folder).st_mtime_ns
    if time.time_ns() - modified_ns < SETTLED_NS:
        return _list_compose_files(folder)
    return _kept_compose_files(folder, modified_ns)


@lru_cache(maxsize=64)
def _kept_compose_files(folder: Path, modified_ns: int) -> tuple[Path, ...]:
    return _list_compose_files(folder)


def _list_compose_files(folder: Path) -> tuple[Path, ...]:
    return tuple(folder / name for name in sorted(os.listdir(folder)) if _COMPOSE_FILE.fullmatch(name))


def _compose_builds(compose: Path, root: Path) -> Iterable[tuple[str, bytes | Path]]:
    """The Dockerfiles a Compose file builds with ``root`` as the context: an inline text, or a path to read."""
    import yaml  # only where a Compose file is found: most runs never load it

    try:
        data = yaml.load(_read_build_file(compose), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, RecursionError) as error:  # the parser recurses once per level of nesting
        raise _BuildersUnknown(f"{compose}: not YAML ({type(error).__name__})") from None
    services = data.get("services") if isinstance(data, dict) else None
    for name, service in (services or {}).items() if isinstance(services, dict) else ():
        build = service.get("build") if isinstance(service, dict) else None
        if build is None:
            continue
        settings = {"context": build} if isinstance(build, str) else build
        if not isinstance(settings, dict):
            raise _BuildersUnknown(f"{compose}: service {name}: `build` is neither a folder nor a mapping")
        folder, dockerfile = settings.get("context", "."), settings.get("dockerfile", "Dockerfile")
        if not isinstance(folder, str) or "$" in folder or not isinstance(dockerfile, str) or "$" in dockerfile:
            raise _BuildersUnknown(f"{compose}: service {name}: a build context or Dockerfile that is not a plain path")
        if "://" in folder or folder.startswith("git@"):
            continue  # a remote context is not this folder
        context = compose.parent / folder
        if os.path.realpath(context) != os.path.realpath(root):
            continue
        inline = settings.get("dockerfile_inline")
        if isinstance(inline, str):
            yield f"{compose}: service {name}", inline.encode("utf-8", "surrogateescape")
        else:
            yield str(context / dockerfile), context / dockerfile


Answer = TypeVar("Answer")


class BuildContext:
    """What a rule may ask about the context: which paths are sent, which a COPY source names, small file texts.

    Nothing is listed until a rule asks (most Dockerfiles never need it); then the list is computed once. Every
    Dockerfile that builds from the context shares it (``pipeline.context_for``), so what depends on the context
    alone is answered once for all of them (``once``): asked again per Dockerfile, a listing of the whole context
    made the run quadratic in the Dockerfiles of a folder.
    """

    def __init__(
        self,
        ignore: DockerIgnore,
        error: str | None = None,
        listed: Iterable[str] | _Listing | None = None,
        root: Path | None = None,
        compose_listings: ComposeListings | None = None,
    ) -> None:
        """``listed`` None means: walk ``root``; a ``_Listing`` is another context's names, taken as they are;
        ``error`` says why Docker would reject the ignore file; ``compose_listings`` are the run's (see
        ``ComposeListings``)."""
        self.ignore = ignore
        self.error = error
        self.root = root
        self.compose_listings = compose_listings
        self.ignore_file: str | None = None  # the ignore file read, relative to the root (a fix may extend it)
        self.ignore_text: str | None = None
        self._given = listed if listed is None or isinstance(listed, _Listing) else tuple(listed)
        self._folder_states: dict[str, _Folder] = {}
        self._answers: dict[Hashable, object] = {}
        # asked of every context for each candidate line (DF204): kept apart from ``once``, whose question and
        # callable cost more than the answer for a context of a few files; names alone decide it
        self._line_matches: dict[str, bool] = {}

    def once(self, question: Hashable, answer: Callable[[], Answer]) -> Answer:
        """``answer()``, computed the first time ``question`` is asked of this context and kept with it."""
        if question not in self._answers:
            self._answers[question] = answer()
        return self._answers[question]  # type: ignore[return-value]

    @classmethod
    def from_directory(
        cls, root: Path, dockerfile: Path | None = None, compose_listings: ComposeListings | None = None
    ) -> BuildContext:
        """The context of ``docker build root`` (with ``-f dockerfile``): the Dockerfile's own ignore file wins."""
        # tested as strings: most folders have neither, and building the Paths cost more than the system calls
        if dockerfile is not None and os.path.lexists(own := f"{dockerfile}.dockerignore"):
            candidate = Path(own)
        elif os.path.lexists(os.path.join(root, ".dockerignore")):
            candidate = root / ".dockerignore"
        else:
            return cls(DockerIgnore(), root=root, compose_listings=compose_listings)
        try:
            data = _read_ignore_file(candidate, root)
        except FileError as error:
            return cls(DockerIgnore(), f"{candidate}: {error}", root=root, compose_listings=compose_listings)
        context = cls._parsed(data.decode("utf-8", "surrogateescape"), str(candidate), root=root)
        context.compose_listings = compose_listings
        context.ignore_file = os.path.relpath(candidate, root).replace(os.sep, "/")
        context.ignore_text = data.decode("utf-8", "surrogateescape")
        return context

    @classmethod
    def from_file_list(cls, paths: Iterable[str], ignore_text: str | None = None) -> BuildContext:
        """A context known by names only (``git ls-files`` output, tests); it has no contents to read."""
        return cls._parsed(ignore_text or "", ".dockerignore", listed=[_git_unquote(path) for path in paths])

    @classmethod
    def _parsed(
        cls, text: str, name: str, listed: Iterable[str] | _Listing | None = None, root: Path | None = None
    ) -> BuildContext:
        try:
            return cls(DockerIgnore.parse(text), listed=listed, root=root)
        except PatternError as error:
            return cls(DockerIgnore(), f"{name}: {error}", listed=listed, root=root)

    @cached_property
    def _listing(self) -> _Listing:
        if self.error:
            return _Listing((), frozenset(), True)
        if self._given is None:
            return self._walk()
        return self._names

    @cached_property
    def _names(self) -> _Listing:
        """The listing as names alone give it: the files, and the folders holding them (an empty folder is no name);
        what ``with_ignore`` hands on, so the contexts made from this one share its strings."""
        if isinstance(self._given, _Listing):
            return self._given
        if self._given is None:  # walked: its paths are clean already
            files = self._listing.files
            return _Listing(files, frozenset(folder for path in files for folder in ancestors(path)), True)
        names = {path for path in map(_normal, self._given) if path}
        folders = {folder for path in names for folder in ancestors(path)}
        return _Listing(tuple(names - folders), frozenset(folders), True)

    def _walk(self) -> _Listing:
        """Entries below ``root`` without following symbolic links, skipping unreadable folders, ``.git`` and what
        BuildKit would not enter."""
        if self.root is None:
            return _Listing((), frozenset(), True)
        files: list[str] = []
        folders: set[str] = set()
        pending = [""]
        while pending:
            folder = pending.pop()
            try:
                with os.scandir(os.path.join(self.root, folder)) as entries:
                    children = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
            except OSError:  # BuildKit fails the build here unless the folder is ignored; we can only skip it
                continue
            for name, is_folder in children:
                if name in SKIPPED_NAMES:
                    continue
                if len(files) + len(folders) >= MAX_ENTRIES:
                    return _Listing(tuple(files), frozenset(folders), False)
                path = f"{folder}/{name}" if folder else name
                if not is_folder:
                    files.append(path)
                else:
                    folders.add(path)
                    if not self._folder(path).pruned:
                        pending.append(path)
        return _Listing(tuple(files), frozenset(folders), True)

    def _folder(self, folder: str) -> _Folder:
        """The walk's state on entering ``folder``, computed from its parents' (memoised: folders repeat)."""
        state = self._folder_states.get(folder)
        if state is None:
            parent = folder.rpartition("/")[0]
            above = self._folder(parent) if parent else None
            if above is not None and above.pruned:
                state = above
            else:
                excluded, hits = self.ignore.match(folder, above.hits if above else None)
                state = _Folder(excluded, hits, excluded and self.ignore.prunes(folder))
            self._folder_states[folder] = state
        return state

    def _ignored(self, path: str) -> bool:
        parent = path.rpartition("/")[0]
        above = self._folder(parent) if parent else None
        if above is not None and above.pruned:
            return True
        return self.ignore.match(path, above.hits if above else None)[0]

    @cached_property
    def _kept(self) -> tuple[tuple[str, ...], frozenset[str]]:
        """The files sent, sorted, and the folders sent: those not excluded, and those holding something sent."""
        if not self.ignore.patterns:  # nothing excluded (most contexts): every listed folder holds what it held
            return tuple(sorted(self._listing.files)), self._listing.folders
        files = tuple(sorted(path for path in self._listing.files if not self._ignored(path)))
        folders = {path for path in self._listing.folders if not self._ignored(path)}
        for path in [*files, *folders]:
            for folder in ancestors(path):
                if folder in folders:
                    break
                folders.add(folder)
        return files, frozenset(folders)

    def _sends_file(self, path: str) -> bool:
        """Whether ``path`` is a file sent: looked up in the sorted files, as a set of them per context (the context
        and each with another ignore text) cost memory that grew in steps of four times (CPython's set growth)."""
        files = self._kept[0]
        index = bisect.bisect_left(files, path)
        return index < len(files) and files[index] == path

    @cached_property
    def _entries(self) -> tuple[str, ...]:
        """The files and folders sent, sorted: those below a folder are one stretch of it."""
        return tuple(heapq.merge(self._kept[0], sorted(self._kept[1])))

    @cached_property
    def builders(self) -> Builders:
        """The Dockerfiles building from this context that its root ``.dockerignore`` serves (see the module's
        docstring). A names-only context has no texts: only the Dockerfile checked is known there."""
        if self.root is None:
            return Builders()
        if not self._listing.complete:
            return Builders(unknown=f"the context holds more than {MAX_ENTRIES:,} entries")
        # a set of the ignore files only: one of every file grew memory in steps of four (CPython's set growth)
        ignore_files = {path for path in self._listing.files if path.endswith(".dockerignore")}
        project_files = [
            path
            for path in sorted(self._listing.files)
            if not any(part in SKIPPED_FOLDERS for part in path.split("/")[:-1])
        ]
        dockerfiles = [
            path
            for path in project_files
            if is_dockerfile_name(path.rpartition("/")[2]) and path + ".dockerignore" not in ignore_files
        ]
        composes = [self.root / path for path in project_files if _COMPOSE_FILE.fullmatch(path.rpartition("/")[2])]
        if len(dockerfiles) + len(composes) > MAX_BUILD_FILES:
            return Builders(unknown=f"more than {MAX_BUILD_FILES:,} Dockerfiles and Compose files in the context")
        candidates: dict[str, tuple[str, bytes | Path]] = {
            os.path.realpath(self.root / path): (path, self.root / path) for path in dockerfiles
        }
        try:
            above = _compose_files_above(Path(os.path.abspath(self.root)), self.compose_listings)
            for compose in [*composes, *above]:
                for where, found in _compose_builds(compose, self.root):
                    if isinstance(found, bytes):
                        candidates[where] = (where, found)
                    elif not os.path.lexists(f"{found}.dockerignore"):
                        candidates.setdefault(os.path.realpath(found), (where, found))
            texts, total = [], 0
            for where, found in candidates.values():
                texts.append((where, found if isinstance(found, bytes) else _read_build_file(found)))
                total += len(texts[-1][1])
                if total > MAX_BUILD_FILES_BYTES:
                    raise _BuildersUnknown(f"its Dockerfiles hold more than {MAX_BUILD_FILES_BYTES:,} bytes")
            return Builders(tuple(texts))
        except _BuildersUnknown as error:
            return Builders(unknown=str(error))

    def holds_unlisted(self, name: str) -> bool:
        """Whether a folder on disk holds ``name`` (one of ``SKIPPED_NAMES``, never listed) at its top, not ignored."""
        return (
            self.root is not None
            and not self.error
            and os.path.lexists(os.path.join(self.root, name))
            and not self.is_ignored(name)
        )

    def with_contents_read_again(self) -> BuildContext:
        """The same files, after a file was rewritten in place (no name added or removed, the ignore file as it
        was): the listing and what is sent are kept, every answer worked out from the files' contents is dropped."""
        context = copy.copy(self)
        context._answers = {}
        context.__dict__.pop("builders", None)
        return context

    def with_ignore(self, text: str) -> BuildContext:
        """The same files judged by ``text``, the current ignore text with lines added at its end (what a fix of the
        ignore file makes). Added lines never bring back what is excluded now, so this context's listing serves as it
        is: no second walk of the folder."""
        return self.once(("with_ignore", text), lambda: self._with_ignore(text))

    def _with_ignore(self, text: str) -> BuildContext:
        context = BuildContext._parsed(text, self.ignore_file or ".dockerignore", listed=self._names, root=self.root)
        context.ignore_file, context.ignore_text = self.ignore_file or ".dockerignore", text
        return context

    def sends_a_match_of(self, line: str) -> bool:
        """Whether the ignore-file ``line`` (not an exception) matches a file or folder sent now. A pattern added at
        the end excludes only what it, or a folder it matches, holds: when it matches nothing sent (every folder
        holding a sent file is sent), the same files and folders are sent with it."""
        found = self._line_matches.get(line)
        if found is None:
            found = self._line_matches[line] = self._sends_a_match_of(line)
        return found

    def _sends_a_match_of(self, line: str) -> bool:
        files, folders = self._kept
        for pattern in _line_patterns(line):
            if pattern.kind is MatchKind.EXACT:  # one name (`.env`): looked up, not compared with every path
                if pattern.text in folders or self._sends_file(pattern.text):
                    return True
            elif any(pattern.matches(path) for path in files) or any(pattern.matches(path) for path in folders):
                return True
        return False

    def dropped_by(self, text: str) -> tuple[str, ...]:
        """The files sent now that ``with_ignore(text)`` no longer sends, sorted; found by walking both sorted lists
        together (sets of both grew memory in steps of four, CPython's set growth)."""
        kept, index, dropped = self.with_ignore(text).files(), 0, []
        for path in self.files():
            while index < len(kept) and kept[index] < path:
                index += 1
            if index == len(kept) or kept[index] != path:
                dropped.append(path)
        return tuple(dropped)

    def size(self, path: str) -> int | None:
        """A listed file's size in bytes on disk (a symbolic link counts as itself); None for a names-only context."""
        if self.root is None:
            return None
        try:
            return os.lstat(os.path.join(self.root, _normal(path))).st_size
        except OSError:
            return None

    @property
    def has_contents(self) -> bool:
        """Whether the files' contents can be read and the listing is whole: a folder on disk (not a name list), not
        cut at ``MAX_ENTRIES``, with an ignore file Docker accepts."""
        return self.root is not None and not self.error and self._listing.complete

    def is_ignored(self, path: str) -> bool:
        """Whether the ignore rules exclude ``path`` itself (listed or not).

        An excluded folder is still sent when an exception brings back something inside it: then ``exists`` is true.
        """
        path = _normal(path)
        if self.error:
            return True
        return bool(path) and self._ignored(path)

    def enters(self, folder: str) -> bool:
        """Whether BuildKit's walk goes into ``folder``: it is not excluded, or an exception pattern may bring back
        something below it (false for every folder when Docker refuses the ignore file)."""
        folder = _normal(folder)
        return not self.error and (not folder or not self._folder(folder).pruned)

    def exists(self, path: str) -> bool:
        """Whether a file or folder at ``path`` (relative to the context root) is sent to the builder."""
        path = _normal(path)
        if self.error:
            return False
        return not path or path in self._kept[1] or self._sends_file(path)

    def files(self) -> tuple[str, ...]:
        """All files sent, sorted, slash-separated (folders are implied by them)."""
        return self._kept[0]

    def glob(self, pattern: str) -> tuple[str, ...]:
        """The context paths (files and folders) a COPY/ADD source names, sorted.

        Like BuildKit: the segments before the first wildcard name a folder literally, the rest is matched with
        ``filepath.Match`` against the paths below it, and a matching folder is taken whole (not searched further).
        A source without wildcards names itself, when it is sent.
        """
        return self.once(("glob", pattern), lambda: self._glob(pattern))

    def _glob(self, pattern: str) -> tuple[str, ...]:
        path = _normal(pattern)
        segments = path.split("/") if path else []
        split = next((index for index, segment in enumerate(segments) if _has_wildcard(segment)), len(segments))
        base, rest = "/".join(segments[:split]), "/".join(segments[split:])
        if not rest:
            return (path,) if self.exists(path) else ()
        try:
            regex = _go_glob(rest)
        except PatternError:
            return ()
        folders, entries = self._kept[1], self._entries
        prefix = base + "/" if base else ""
        found: list[str] = []
        taken: set[str] = set()
        for index in range(bisect.bisect_left(entries, prefix), len(entries)):
            candidate = entries[index]
            if not candidate.startswith(prefix):
                break
            relative = candidate[len(prefix) :]
            if any(folder in taken for folder in ancestors(relative)):
                continue
            if regex.fullmatch(relative):
                found.append(candidate)
                if candidate in folders:
                    taken.add(relative)
        return tuple(found)

    @cached_property
    def _real_root(self) -> str:
        assert self.root is not None
        return os.path.realpath(self.root)

    def read_bytes(self, path: str, limit: int) -> bytes | None:
        """The first ``limit`` bytes of a file that is sent; None when absent, ignored, not a regular file, a names-only
        context, or a symbolic link leading out of the context or to something not sent."""
        path = _normal(path)
        if self.root is None or not self._sends_file(path):
            return None
        target = os.path.realpath(os.path.join(self._real_root, path))
        if not self._sends_file(posixpath.relpath(target, self._real_root)):
            return None
        try:
            descriptor = os.open(target, os.O_RDONLY | os.O_NONBLOCK)  # never wait on a FIFO
        except OSError:
            return None
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                return None
            try:
                return handle.read(limit)
            except OSError:
                return None

    def read_text(self, path: str, limit: int = 1_000_000) -> str | None:
        """A small UTF-8 text file for a rule to read; None when absent, ignored, over ``limit`` bytes, binary (a NUL
        byte) or not UTF-8."""
        data = self.read_bytes(path, limit + 1)
        if data is None or len(data) > limit or b"\x00" in data:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None
