"""DF204: keep what the image never needs out of the build context with `.dockerignore`."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from msgspec import Struct

from dockerfix.knowledge.analysis import WHOLE_CONTEXT, mount_options, workdir_at
from dockerfix.rewriter.context import SKIPPED_NAMES, BuildContext, ancestors, names_top_entry
from dockerfix.rewriter.discovery import SKIPPED_FOLDERS
from dockerfix.rewriter.document import Document, Instruction, parse
from dockerfix.rewriter.fixes import Applicability, ByteGain, ContentChange, FileEdit, Finding, Savings, Unknown
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import TARGET_STAGE, Example, Rule, RuleContext
from dockerfix.rewriter.source import Source, SourceError
from dockerfix.rewriter.stages import shipped_offset_test

IGNORE_FILE = ".dockerignore"
NPMRC_TOKEN = LazyPattern(r"_auth(Token)?\s*=", re.IGNORECASE)
# Build tools that read the repository's history when they run: Python versions from tags (setuptools-scm, hatch-vcs,
# versioneer, pbr, dunamai, poetry-dynamic-versioning, PDM's `source = "scm"`), Gradle and Maven git plugins, Rust's
# vergen, and any git command a manifest or build script runs.
VCS_READERS = LazyPattern(
    r"setuptools[_-]scm|use_scm_version|hatch[_-]vcs|versioneer|\bpbr\b|dunamai|dynamic[_-]versioning|vcs[_-]versioning"
    r"|source\s*=\s*[\"'](scm|vcs)[\"']"
    r"|git[_-]?version|grgit|git-commit-id|vergen|gitpython|\bgit\s+(describe|rev-parse|rev-list|log|show|status|tag|branch|ls-files|config|symbolic-ref)\b",
    re.IGNORECASE,
)
VCS_MANIFESTS = frozenset(
    {
        "pyproject.toml",
        "setup.cfg",
        "setup.py",
        "package.json",
        "build.gradle",
        "build.gradle.kts",
        "pom.xml",
        "build.rs",
        "Makefile",
        "versioneer.py",
    }
)
# More manifests than this in one context: reading them all costs more than the finding is worth; keep .git.
MAX_VCS_MANIFESTS = 200


def _runs(document: Document) -> str:
    """Every RUN's text, one per line: what the build executes."""
    return "\n".join(instruction.arguments for instruction in document.instructions if instruction.cmd == "run")


def _runs_any(*patterns: str) -> Callable[[Document], bool]:
    regex = LazyPattern("|".join(rf"(?<![\w./-])(?:{pattern})" for pattern in patterns))
    return lambda document: bool(regex.search(document.facts(_runs)))


Answer = TypeVar("Answer")


def _once_per_context(question: Callable[[BuildContext], Answer]) -> Callable[[BuildContext], Answer]:
    """Every Dockerfile of a context asks the same about it: answered once and kept with the context (N Dockerfiles
    sharing a context cost N reads, not N squared)."""
    return lambda context: context.once(question, lambda: question(context))


def _always(document: Document) -> bool:
    return True


def _never(context: BuildContext) -> bool:
    return False


@_once_per_context
def _versions_from_vcs(context: BuildContext) -> bool:
    """Whether a build tool the context configures may read the repository (a wheel built with setuptools-scm fails
    without .git); more manifests than can be read counts as yes."""
    manifests = [
        path
        for path in context.files()
        if posixpath.basename(path) in VCS_MANIFESTS and not SKIPPED_FOLDERS.intersection(path.split("/")[:-1])
    ]
    if len(manifests) > MAX_VCS_MANIFESTS:
        return True
    return any(VCS_READERS.search(context.read_text(path) or "") for path in manifests)


class Category(Struct, frozen=True):
    """Files a whole-context COPY takes that the image never needs: the ignore ``patterns`` for them, ``applies``
    when the Dockerfile makes them unneeded (it installs or rebuilds them itself), ``blocked`` when a RUN may read
    them, ``read_by_tools`` when a build tool the context configures may. A ``rider`` alone is not worth a finding
    (a few bytes, or a cache key only), but joins one."""

    name: str
    patterns: tuple[str, ...]
    applies: Callable[[Document], bool] = _always
    blocked: Callable[[Document], bool] = lambda document: False
    read_by_tools: Callable[[BuildContext], bool] = _never
    rider: bool = False
    secret: bool = False  # reported only when a COPY in a stage that ships takes them
    bytecode: bool = False  # kept when a bytecode file has no source to be rebuilt from


CATEGORIES = (
    # `git describe`, Go's VCS stamping (`go build` embeds the commit when .git is there) and setuptools-scm read it
    Category(
        "version control",
        (".git", ".hg", ".svn"),
        blocked=_runs_any(r"git\s", r"go\s+(build|install)", "setuptools.scm", "versioneer"),
        read_by_tools=_versions_from_vcs,
    ),
    Category(
        "node_modules (the Dockerfile installs them)",
        ("**/node_modules",),
        _runs_any(r"(npm|yarn|pnpm)\b[^\n]*\b(install|ci|i)\b", r"yarn\s*($|&&|;)"),
    ),
    Category("vendor (composer installs it)", ("vendor",), _runs_any(r"composer\s[^\n]*\binstall\b")),
    Category(
        "virtual environments (the Dockerfile installs the packages)",
        (".venv", "venv"),
        _runs_any(r"pip3?\s[^\n]*\binstall\b", r"uv\s+(sync|pip)", r"poetry\s+install", r"pipenv\s+install"),
    ),
    Category("Python bytecode caches", ("**/__pycache__", "**/*.pyc"), bytecode=True),
    Category(
        "build outputs the Dockerfile rebuilds (cargo, Maven)",
        ("target",),
        _runs_any(r"cargo\s+build", r"mvnw?\s[^\n]*\b(package|install|verify)\b"),
    ),
    Category(
        "build outputs the Dockerfile rebuilds (npm run build)",
        ("dist", ".next"),
        _runs_any(r"(npm|yarn|pnpm)\s+(run\s+)?build\b"),
    ),
    Category(
        "Dockerfiles and Compose files", ("Dockerfile*", "*.Dockerfile", "docker-compose*", "compose.y*ml"), rider=True
    ),
    Category("CI configuration", (".github", ".gitlab-ci.yml", ".circleci", ".travis.yml"), rider=True),
    Category("secrets", (".env", "**/*.pem", "**/id_rsa", "**/id_ed25519", ".npmrc"), secret=True),
)


def _whole_context_copies(document: Document) -> tuple[Instruction, ...]:
    return document.facts(_copies_of_the_whole_context)  # asked by each check, for the document and what it serves


def _copies_of_the_whole_context(document: Document) -> tuple[Instruction, ...]:
    return tuple(
        instruction
        for instruction in document.instructions
        if instruction.cmd in ("copy", "add")
        and not instruction.flag("from")
        and len(instruction.value) >= 2
        and any(source in WHOLE_CONTEXT for source in instruction.value[:-1])
    )


def _context_mounts(document: Document) -> list[str]:
    """The context paths RUN bind mounts read (`--mount=type=bind,source=x`; type bind is the default, the source
    the context's root): ``.`` for the whole context."""
    sources = []
    for instruction in document.instructions:
        for options in mount_options(instruction) if instruction.cmd == "run" else ():
            if options["type"] == "bind" and "from" not in options:
                sources.append(posixpath.normpath(options.get("source") or "."))
    return sources


def _reads_whole_context(document: Document) -> bool:
    return bool(_whole_context_copies(document)) or any(source in WHOLE_CONTEXT for source in _context_mounts(document))


def _ships_whole_context(document: Document, target: str | None) -> bool:
    shipped = shipped_offset_test(document, target)
    return any(shipped(copy.start) for copy in _whole_context_copies(document))


class _Reads:
    """What some Dockerfiles building from a context take of it: ``takers`` take it whole (a COPY, ADD or bind
    mount of `.`), ``named`` are the paths they name one by one. Answers are kept: the set of all the Dockerfiles a
    context serves is asked once per Dockerfile checked."""

    def __init__(self, documents: tuple[Document, ...]) -> None:
        self.documents = documents
        self.takers = tuple(document for document in documents if _reads_whole_context(document))
        self.named = tuple(sorted({source for document in documents for source in _named_sources(document)}))
        self._accepts: dict[str, bool] = {}
        self._ships: dict[str | None, bool] = {}
        self._leaves: dict[str, bool] = {}

    def accepts(self, category: Category) -> bool:
        """Whether each Dockerfile taking the whole context makes the category unneeded, and no RUN may read it."""
        if category.name not in self._accepts:
            self._accepts[category.name] = all(category.applies(taker) for taker in self.takers) and not any(
                category.blocked(document) for document in self.documents
            )
        return self._accepts[category.name]

    def ships(self, target: str | None) -> bool:
        """Whether one of them copies the whole context into a stage that ships."""
        if target not in self._ships:
            self._ships[target] = any(_ships_whole_context(taker, target) for taker in self.takers)
        return self._ships[target]

    def leaves(self, line: _Line, category: Category, context: BuildContext) -> bool:
        """Whether none of them names what ``line`` keeps out of ``context``, or (for secrets) mentions one of its
        files."""
        if line.pattern not in self._leaves:
            if not line.listed:
                untouched = not any(names_top_entry(source, line.pattern) for source in self.named)
            else:
                after = _with_line(context, line.pattern)
                untouched = all(context.glob(source) == after.glob(source) for source in self.named) and not (
                    category.secret
                    and any(_mentioned(document, path) for document in self.documents for path in line.dropped)
                )
            self._leaves[line.pattern] = untouched
        return self._leaves[line.pattern]


class _Line(Struct, frozen=True):
    """One candidate line added to the ignore file: whether it names ``listed`` paths (not a name that is never
    listed, such as `.git`), the files it keeps out, and whether it is ``sound`` whoever reads the context: it keeps
    out something sent, overrides no `!` exception, and passes its category's checks. It is kept with its context,
    so it holds none (a context holding itself is freed only by the cycle collector, with all it keeps)."""

    pattern: str
    listed: bool
    dropped: tuple[str, ...]
    sound: bool


def _may_keep_out(context: BuildContext, pattern: str) -> bool:
    """Whether the ignore line ``pattern`` may keep something out of ``context``: a name never listed (`.git`) that
    a folder on disk holds, or a pattern matching a path sent. A line that cannot is never proposed."""
    if pattern in SKIPPED_NAMES:
        return context.holds_unlisted(pattern)
    return context.sends_a_match_of(pattern)


def _with_line(context: BuildContext, pattern: str) -> BuildContext:
    """The context with ``pattern`` added at the end of its ignore file (kept by the context: asked once)."""
    return context.with_ignore(_ignore_text_with(context, pattern))


def _ignore_text_with(context: BuildContext, pattern: str) -> str:
    return (context.ignore_text or "") + "\n" + pattern + "\n"


class _Outcome(Struct, frozen=True):
    """What a whole new ignore text keeps out: the files, their bytes (None when a size is unknown), and the paths
    the image loses (a folder once when all its files go)."""

    dropped: tuple[str, ...]
    known_bytes: int | None
    gone: tuple[str, ...]


class _ContextFacts:
    """What DF204 learns of one build context, once for all the Dockerfiles that build from it: the Dockerfiles its
    ignore file serves (None when one cannot be read: then what the builds read is unknown), each candidate line,
    and the outcome of each proposed text. Every Dockerfile checked against the context costs only its own reads.
    Kept by the context, it holds none: each question names it."""

    def __init__(self, context: BuildContext, checked: Document) -> None:
        self.served = self._parsed(context, checked)
        self._lines: dict[str, _Line] = {}
        self._outcomes: dict[str, _Outcome] = {}
        self._removals: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}

    @staticmethod
    def _parsed(context: BuildContext, checked: Document) -> _Reads | None:
        """The served Dockerfiles; one whose text is the Dockerfile being checked is that document (in a context of
        one Dockerfile, the parse it would repeat is most of DF204's time)."""
        builders = context.builders
        if builders.unknown:
            return None
        try:
            return _Reads(tuple(_document(Source.decode(data, where), checked) for where, data in builders.dockerfiles))
        except SourceError:
            return None

    def line(self, context: BuildContext, category: Category, pattern: str) -> _Line:
        if pattern not in self._lines:
            self._lines[pattern] = self._judged(context, category, pattern)
        return self._lines[pattern]

    @staticmethod
    def _judged(context: BuildContext, category: Category, pattern: str) -> _Line:
        listed = pattern not in SKIPPED_NAMES
        if not _may_keep_out(context, pattern):  # most lines, most contexts: no second context to list
            return _Line(pattern, listed, (), False)
        if not listed:
            return _Line(pattern, False, (), True)
        dropped = context.dropped_by(_ignore_text_with(context, pattern))
        sound = (
            bool(dropped)
            and not any(_kept_by_exception(context, path) for path in dropped)
            and not (category.secret and not all(_secret_file(context, path) for path in dropped))
            and not (category.bytecode and not all(_has_source(context, path) for path in dropped))
        )
        return _Line(pattern, True, dropped, sound)

    def outcome(self, context: BuildContext, content: str, lines: list[str]) -> _Outcome:
        if content not in self._outcomes:
            dropped = context.dropped_by(content)
            sizes = [context.size(path) for path in dropped]
            unlisted = [pattern for pattern in lines if pattern in SKIPPED_NAMES]  # on disk, never in the listing
            self._outcomes[content] = _Outcome(
                dropped,
                None if any(size is None for size in sizes) else sum(size for size in sizes if size is not None),
                (*_emptied_folders(context, dropped), *unlisted),
            )
        return self._outcomes[content]

    def removals(self, content: str, destinations: tuple[str, ...]) -> tuple[str, ...]:
        """The image paths the new ignore text removes from COPYs of the whole context to ``destinations`` (most
        Dockerfiles of a context copy it to the same folder: one list for them all)."""
        key = (content, destinations)
        if key not in self._removals:
            gone = self._outcomes[content].gone
            self._removals[key] = tuple(
                sorted({posixpath.join(destination, path) for destination in destinations for path in gone})
            )
        return self._removals[key]


def _document(source: Source, checked: Document) -> Document:
    return checked if source.text == checked.text else parse(source)


def _facts(context: BuildContext, checked: Document) -> _ContextFacts:
    """Once per context, whichever of its Dockerfiles is checked first (see ``_once_per_context``)."""
    return context.once(_ContextFacts, lambda: _ContextFacts(context, checked))


def _destination(document: Document, copy: Instruction) -> str:
    """Where a whole-context COPY puts the context's root, absolute (a relative one is below the WORKDIR, `/` when
    the stage sets none)."""
    destination = copy.value[-1]
    if not destination.startswith("/"):
        stage = document.stage_of(copy)
        destination = posixpath.join((stage and workdir_at(stage, copy)) or "/", destination)
    return posixpath.normpath(destination)


def _emptied_folders(context: BuildContext, dropped: Sequence[str]) -> list[str]:
    """``dropped`` with every folder whose files are all dropped named once instead of file by file (the image loses
    the folder too)."""
    dropped_set = set(dropped)
    sent_below: dict[str, int] = {}
    dropped_below: dict[str, int] = {}
    for path in context.files():
        for folder in ancestors(path):
            sent_below[folder] = sent_below.get(folder, 0) + 1
            if path in dropped_set:
                dropped_below[folder] = dropped_below.get(folder, 0) + 1
    emptied = {folder for folder, count in dropped_below.items() if count == sent_below[folder]}
    named = []
    for path in dropped:
        outermost = next((folder for folder in reversed(list(ancestors(path))) if folder in emptied), None)
        named.append(outermost or path)
    return sorted(set(named))


def _named_sources(document: Document) -> list[str]:
    """The context paths COPY/ADD instructions and RUN bind mounts name one by one (not the whole context)."""
    copied = [
        source
        for instruction in document.instructions
        if instruction.cmd in ("copy", "add") and not instruction.flag("from") and len(instruction.value) >= 2
        for source in instruction.value[:-1]
        if "://" not in source and not source.startswith("<<")
    ]
    return [source for source in [*copied, *_context_mounts(document)] if source not in WHOLE_CONTEXT]


def _mentioned(document: Document, path: str) -> bool:
    """Whether an instruction other than COPY/ADD names the file (a RUN reading it, an ENV pointing at it)."""
    name = posixpath.basename(path)
    regex = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])")
    return any(
        instruction.cmd not in ("copy", "add") and regex.search(instruction.arguments)
        for instruction in document.instructions
    )


def _kept_by_exception(context: BuildContext, path: str) -> bool:
    """Whether a ``!`` line of the ignore file names ``path`` or a folder holding it."""
    exceptions = [pattern for pattern in context.ignore.patterns if pattern.exclusion]
    folders = [path, *(path.rsplit("/", depth)[0] for depth in range(1, path.count("/") + 1))]
    return any(pattern.matches(folder) for pattern in exceptions for folder in folders)


def _has_source(context: BuildContext, path: str) -> bool:
    """Whether a bytecode file is only a cache: Python reads `__pycache__` only beside a source, but imports a `.pyc`
    in the legacy place (`x.pyc` next to where `x.py` would be) without one, and then it is the program itself."""
    folder = posixpath.dirname(path)
    if not path.endswith(".pyc") or posixpath.basename(folder) == "__pycache__":
        return True
    return context.exists(path[:-1])


def _secret_file(context: BuildContext, path: str) -> bool:
    """``.npmrc`` is configuration unless it holds a token; the other secret names are secrets by name."""
    if posixpath.basename(path) != ".npmrc":
        return True
    text = context.read_text(path)
    return text is not None and bool(NPMRC_TOKEN.search(text))


class _Proposal(Struct, frozen=True):
    """What DF204 found for a Dockerfile: its whole-context COPYs, the context's facts, the categories to ignore with
    their patterns, and whether the Dockerfile's shipped stages take the context whole."""

    copies: tuple[Instruction, ...]
    facts: _ContextFacts
    chosen: tuple[tuple[Category, tuple[str, ...]], ...]
    ships_here: bool


class Dockerignore(Rule):
    """Keep files the image never needs out of the build context with `.dockerignore`.

    What it does
        When a COPY or ADD takes the whole build context (`.` or `./`) and the context holds version-control
        folders, dependencies or virtual environments the Dockerfile installs itself, Python bytecode caches, build
        outputs it rebuilds, or secrets (`.env`, private keys, an `.npmrc` with a token), creates `.dockerignore` or
        adds the missing lines to it; Dockerfiles, Compose files and CI configuration join such a fix.

    Why
        Everything in the context is sent to the builder on every build, and a `COPY . .` copies it into a layer:
        a `.git` folder or a host `node_modules` can be larger than the application, any change to them re-runs the
        COPY and every step after it, and a copied `.env` or key ships in the image to everyone who can pull it.

    Example
        FROM node:20
        COPY . /app
        RUN npm ci
        with `node_modules/` and `.env` in the context gets a `.dockerignore` holding `**/node_modules` and `.env`.

    Gain
        The bytes of the build-context files the new ignore lines keep out (they leave the context sent to the
        builder and, when a COPY took them, the image); unknown when a size cannot be read.

    Fix safety
        Unsafe: the files leave the image (the fix declares them), and a RUN after the COPY may read one of them in
        a way no rule can see (a script reading `.env`, a test reading `.git`). The ignore file serves every
        Dockerfile that builds from the context (the others in its folders without an ignore file of their own,
        and those a Compose file builds from it), so all of them decide: the rule leaves out what any of them names
        (a COPY of `.env`, a bind mount of `node_modules`, a RUN mentioning a file's name), what one that takes the
        whole context does not install itself, and `.git` when a RUN uses git or Go's build, or a build tool of the
        context reads it (setuptools-scm, hatch-vcs, versioneer, git plugins); it keeps every existing line and
        exception of the ignore file, and its line endings. Each of those Dockerfiles proposes the same text, so
        one run writes it once. No fix where the context's ignore file cannot be read or is not the root
        `.dockerignore`, where one of those Dockerfiles or Compose files cannot be read, or where files can only be
        named.
    """

    code = "DF204"
    name = "dockerignore"
    summary = (
        "COPY of the whole context takes files the image never needs (VCS, dependencies, caches, secrets): ignore them."
    )
    valid = (
        "FROM node:20\nCOPY package.json package-lock.json ./\nRUN npm ci\n",
        "FROM python:3.12\nCOPY app.py /app/\n",
    )
    invalid = (
        Example(
            "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
            unsafe=True,
            context={
                "package.json": "{}\n",
                "index.js": "1\n",
                "node_modules/left-pad/index.js": "1\n",
                ".env": "TOKEN=1\n",
            },
            fixed_files={IGNORE_FILE: "**/node_modules\n.env\n.dockerignore\n"},
        ),
        Example(
            "FROM python:3.12\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n",
            unsafe=True,
            context={
                ".dockerignore": "*.md\n!README.md",
                "README.md": "x\n",
                "requirements.txt": "flask\n",
                "app.py": "1\n",
                "__pycache__/app.cpython-312.pyc": "x",
                "Dockerfile": "FROM python:3.12\n",
            },
            fixed_files={IGNORE_FILE: "*.md\n!README.md\n**/__pycache__\n**/*.pyc\nDockerfile*\n"},
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        proposal = self.proposal(document, context)
        if proposal is not None and context.build_context is not None:  # a proposal needs the context
            yield self.finding_for(document, context.build_context, proposal)

    def proposal(self, document: Document, context: RuleContext) -> _Proposal | None:
        """What the ignore file should add for this Dockerfile and every other one it serves; None when nothing
        worth a finding (or nothing can be known)."""
        build_context = context.build_context
        copies = _whole_context_copies(document)
        if not copies or build_context is None or build_context.error:
            return None
        if build_context.ignore_file not in (None, IGNORE_FILE) or (
            build_context.root is None and build_context.exists(IGNORE_FILE)
        ):
            return None  # another Dockerfile's ignore file, or one whose lines a names-only context cannot know
        if not any(
            _may_keep_out(build_context, pattern)
            for category in CATEGORIES
            if not category.rider
            for pattern in category.patterns
        ):
            return None  # most contexts: nothing worth a finding to keep out, whatever the Dockerfiles served take
        facts = _facts(build_context, document)
        if facts.served is None:
            return None  # a Dockerfile building from this context could not be read: what it needs is unknown
        # The ignore file serves them all, so they all decide what it adds, and each of them proposes the same text
        own, served = _Reads((document,)), facts.served
        target = self.option(context, TARGET_STAGE.name)
        secrets_ship = own.ships(target) or served.ships(target)
        chosen = []
        for category in CATEGORIES:
            if not (own.accepts(category) and served.accepts(category) and (secrets_ship or not category.secret)):
                continue
            if category.read_by_tools(build_context):
                continue
            lines = [facts.line(build_context, category, pattern) for pattern in category.patterns]
            patterns = tuple(
                line.pattern
                for line in lines
                if line.sound
                and served.leaves(line, category, build_context)
                and own.leaves(line, category, build_context)
            )
            if patterns:
                chosen.append((category, patterns))
        if not any(not category.rider for category, _ in chosen):
            return None
        return _Proposal(copies, facts, tuple(chosen), own.ships(target))

    def finding_for(self, document: Document, build_context: BuildContext, proposal: _Proposal) -> Finding:
        """The finding and the fix that adds the proposal's lines to the ignore file (or creates it)."""
        copies, facts, chosen = proposal.copies, proposal.facts, proposal.chosen
        existing = build_context.ignore_text or ""
        lines = [pattern for _, patterns in chosen for pattern in patterns]
        if build_context.ignore_text is None:
            lines.append(IGNORE_FILE)  # a new ignore file would otherwise be copied into the image itself
        newline = "\r\n" if "\r\n" in existing else "\n"
        content = (
            existing
            + (newline if existing and not existing.endswith("\n") else "")
            + "".join(line + newline for line in lines)
        )
        outcome = facts.outcome(build_context, content, lines)
        names = ", ".join(category.name for category, _ in chosen)
        secrets = [category for category, _ in chosen if category.secret]
        amount = f"{len(outcome.dropped):,} file{'s' * (len(outcome.dropped) != 1)}" + (
            "" if outcome.known_bytes is None else f", {outcome.known_bytes:,} bytes"
        )
        git = ", and the .git folder" if ".git" in lines else ""
        message = (
            f"`{copies[0].keyword} {' '.join(copies[0].value)}` takes {names} from the build context ({amount}{git}), "
            "which the image never needs: ignore them in .dockerignore"
        )
        if secrets and proposal.ships_here:
            message = (
                "security: " + message + "; secrets copied into an image ship to everyone who pulls it (an application "
                "that reads them, such as a `.env`, gets them at run time instead: `docker run --env-file`, secrets)"
            )
        destinations = tuple(_destination(document, copy) for copy in copies)
        removed = facts.removals(content, destinations)
        altered = (
            ()
            if build_context.ignore_text is None or build_context.is_ignored(IGNORE_FILE)
            else tuple(posixpath.join(destination, IGNORE_FILE) for destination in destinations)
        )
        fix = self.fix(
            f"Add {len(lines)} line{'s' * (len(lines) != 1)} to .dockerignore (the files leave the build context and "
            "the image)",
            (),
            Applicability.UNSAFE,
            ContentChange(removes=removed, alters=altered),
            files=[FileEdit(IGNORE_FILE, build_context.ignore_text, content)],
        )
        first = copies[0]
        kept_out = (
            Unknown("the size of a file the new lines keep out could not be read")
            if outcome.known_bytes is None
            else ByteGain(outcome.known_bytes, "sizes of the files in the build context the new lines keep out")
        )
        return self.finding(message, first.start, first.header_end, fix, Savings.of(kept_out))
