"""DF204: keep what the image never needs out of the build context with `.dockerignore`."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Callable, Iterator

from dockerfix.rewriter.context import SKIPPED_NAMES, BuildContext, ancestors
from dockerfix.rewriter.document import Document, Instruction
from dockerfix.rewriter.fixes import Applicability, ContentChange, FileEdit, Finding, Savings
from dockerfix.rewriter.rule import TARGET_STAGE, Example, Rule, RuleContext
from dockerfix.rewriter.stages import shipped_offset_test
from dockerfix.knowledge.runedit import workdir_at

IGNORE_FILE = ".dockerignore"
WHOLE_CONTEXT = {".", "./"}
NPMRC_TOKEN = re.compile(r"_auth(Token)?\s*=", re.IGNORECASE)


def _runs(document: Document) -> str:
    """Every RUN's text, one per line: what the build executes."""
    return "\n".join(instruction.arguments for instruction in document.instructions if instruction.cmd == "run")


def _runs_any(*patterns: str) -> Callable[[Document], bool]:
    regex = re.compile("|".join(rf"(?<![\w./-])(?:{pattern})" for pattern in patterns))
    return lambda document: bool(regex.search(_runs(document)))


def _always(document: Document) -> bool:
    return True


@dataclass(frozen=True)
class Category:
    """Files a whole-context COPY takes that the image never needs: the ignore ``patterns`` for them, ``applies``
    when the Dockerfile makes them unneeded (it installs or rebuilds them itself), ``blocked`` when a RUN may read
    them. A ``rider`` alone is not worth a finding (a few bytes, or a cache key only), but joins one."""

    name: str
    patterns: tuple[str, ...]
    applies: Callable[[Document], bool] = _always
    blocked: Callable[[Document], bool] = lambda document: False
    rider: bool = False
    secret: bool = False  # reported only when a COPY in a stage that ships takes them
    bytecode: bool = False  # kept when a bytecode file has no source to be rebuilt from


CATEGORIES = (
    # `git describe`, Go's VCS stamping (`go build` embeds the commit when .git is there) and setuptools-scm read it
    Category("version control", (".git", ".hg", ".svn"), blocked=_runs_any(r"git\s", r"go\s+(build|install)", "setuptools.scm", "versioneer")),
    Category("node_modules (the Dockerfile installs them)", ("**/node_modules",), _runs_any(r"(npm|yarn|pnpm)\b[^\n]*\b(install|ci|i)\b", r"yarn\s*($|&&|;)")),
    Category("vendor (composer installs it)", ("vendor",), _runs_any(r"composer\s[^\n]*\binstall\b")),
    Category("virtual environments (the Dockerfile installs the packages)", (".venv", "venv"), _runs_any(r"pip3?\s[^\n]*\binstall\b", r"uv\s+(sync|pip)", r"poetry\s+install", r"pipenv\s+install")),
    Category("Python bytecode caches", ("**/__pycache__", "**/*.pyc"), bytecode=True),
    Category("build outputs the Dockerfile rebuilds (cargo, Maven)", ("target",), _runs_any(r"cargo\s+build", r"mvnw?\s[^\n]*\b(package|install|verify)\b")),
    Category("build outputs the Dockerfile rebuilds (npm run build)", ("dist", ".next"), _runs_any(r"(npm|yarn|pnpm)\s+(run\s+)?build\b")),
    Category("Dockerfiles and Compose files", ("Dockerfile*", "*.Dockerfile", "docker-compose*", "compose.y*ml"), rider=True),
    Category("CI configuration", (".github", ".gitlab-ci.yml", ".circleci", ".travis.yml"), rider=True),
    Category("secrets", (".env", "**/*.pem", "**/id_rsa", "**/id_ed25519", ".npmrc"), secret=True),
)


def _whole_context_copies(document: Document) -> list[Instruction]:
    return [
        instruction for instruction in document.instructions
        if instruction.cmd in ("copy", "add") and not instruction.flag("from") and len(instruction.value) >= 2
        and any(source in WHOLE_CONTEXT for source in instruction.value[:-1])
    ]


def _destination(document: Document, copy: Instruction) -> str:
    """Where a whole-context COPY puts the context's root, absolute (a relative one is below the WORKDIR, `/` when
    the stage sets none)."""
    destination = copy.value[-1]
    if not destination.startswith("/"):
        stage = document.stage_of(copy)
        destination = posixpath.join((stage and workdir_at(stage, copy)) or "/", destination)
    return posixpath.normpath(destination)


def _emptied_folders(context: BuildContext, dropped: list[str]) -> list[str]:
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
    """The context paths COPY/ADD instructions name one by one (not the whole context)."""
    return [
        source for instruction in document.instructions
        if instruction.cmd in ("copy", "add") and not instruction.flag("from") and len(instruction.value) >= 2
        for source in instruction.value[:-1]
        if source not in WHOLE_CONTEXT and "://" not in source and not source.startswith("<<")
    ]


def _mentioned(document: Document, path: str) -> bool:
    """Whether an instruction other than COPY/ADD names the file (a RUN reading it, an ENV pointing at it)."""
    name = posixpath.basename(path)
    regex = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])")
    return any(instruction.cmd not in ("copy", "add") and regex.search(instruction.arguments) for instruction in document.instructions)


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

    Fix safety
        Unsafe: the files leave the image (the fix declares them), and a RUN after the COPY may read one of them in
        a way no rule can see (a script reading `.env`, a test reading `.git`). The rule leaves out what an
        instruction names (a COPY of `.env`, a RUN mentioning a file's name), `.git` when a RUN uses git, Go's
        build or setuptools-scm, and keeps every existing line and exception of the ignore file. No fix where the
        context's ignore file cannot be read or is not the root `.dockerignore`, or where files can only be named.
    """

    code = "DF204"
    name = "dockerignore"
    summary = "COPY of the whole context takes files the image never needs (VCS, dependencies, caches, secrets): ignore them."
    valid = (
        "FROM node:20\nCOPY package.json package-lock.json ./\nRUN npm ci\n",
        "FROM python:3.12\nCOPY app.py /app/\n",
    )
    invalid = (
        Example(
            "FROM node:20\nWORKDIR /app\nCOPY . .\nRUN npm ci\n",
            unsafe=True,
            context={"package.json": "{}\n", "index.js": "1\n", "node_modules/left-pad/index.js": "1\n", ".env": "TOKEN=1\n"},
            fixed_files={IGNORE_FILE: "**/node_modules\n.env\n.dockerignore\n"},
        ),
        Example(
            "FROM python:3.12\nCOPY . /app\nRUN pip install -r /app/requirements.txt\n",
            unsafe=True,
            context={
                ".dockerignore": "*.md\n!README.md",
                "README.md": "x\n", "requirements.txt": "flask\n", "app.py": "1\n", "__pycache__/app.cpython-312.pyc": "x",
                "Dockerfile": "FROM python:3.12\n",
            },
            fixed_files={IGNORE_FILE: "*.md\n!README.md\n**/__pycache__\n**/*.pyc\nDockerfile*\n"},
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        build_context = context.build_context
        copies = _whole_context_copies(document)
        if not copies or build_context is None or build_context.error:
            return
        if build_context.ignore_file not in (None, IGNORE_FILE) or (build_context.root is None and build_context.exists(IGNORE_FILE)):
            return  # another Dockerfile's ignore file, or one whose lines a names-only context cannot know
        shipped = shipped_offset_test(document, self.option(context, TARGET_STAGE.name))
        ships = any(shipped(copy.start) for copy in copies)
        chosen = [
            (category, patterns) for category in CATEGORIES
            if category.applies(document) and not category.blocked(document) and (ships or not category.secret)
            for patterns in [self.useful_patterns(document, build_context, category)] if patterns
        ]
        if not any(not category.rider for category, _ in chosen):
            return
        existing = build_context.ignore_text or ""
        lines = [pattern for _, patterns in chosen for pattern in patterns]
        if build_context.ignore_text is None:
            lines.append(IGNORE_FILE)  # a new ignore file would otherwise be copied into the image itself
        content = existing + ("\n" if existing and not existing.endswith("\n") else "") + "".join(line + "\n" for line in lines)
        dropped = build_context.dropped_by(content)
        sizes = build_context.once(("sizes", content), lambda: [build_context.size(path) for path in dropped])
        known_bytes = None if any(size is None for size in sizes) else sum(sizes)
        names = ", ".join(category.name for category, _ in chosen)
        secrets = [category for category, _ in chosen if category.secret]
        amount = f"{len(dropped):,} file{'s' * (len(dropped) != 1)}" + ("" if known_bytes is None else f", {known_bytes:,} bytes")
        git = ", and the .git folder" if ".git" in lines else ""
        message = (
            f"`{copies[0].keyword} {' '.join(copies[0].value)}` takes {names} from the build context ({amount}{git}), "
            "which the image never needs: ignore them in .dockerignore"
        )
        if secrets:
            message = (
                "security: " + message + "; secrets copied into an image ship to everyone who pulls it (an application "
                "that reads them, such as a `.env`, gets them at run time instead: `docker run --env-file`, secrets)"
            )
        unlisted = [pattern for pattern in lines if pattern in SKIPPED_NAMES]  # on disk, never in the listing
        gone = [*build_context.once(("emptied folders", content), lambda: _emptied_folders(build_context, dropped)), *unlisted]
        destinations = [_destination(document, copy) for copy in copies]
        removed = tuple(sorted({posixpath.join(destination, path) for destination in destinations for path in gone}))
        altered = () if build_context.ignore_text is None or build_context.is_ignored(IGNORE_FILE) else tuple(
            posixpath.join(destination, IGNORE_FILE) for destination in destinations
        )
        fix = self.fix(
            f"Add {len(lines)} line{'s' * (len(lines) != 1)} to .dockerignore (the files leave the build context and the image)",
            (),
            Applicability.UNSAFE,
            ContentChange(removes=removed, alters=altered),
            files=[FileEdit(IGNORE_FILE, build_context.ignore_text, content)],
        )
        first = copies[0]
        yield self.finding(message, first.start, first.header_end, fix, Savings(bytes=known_bytes))

    @staticmethod
    def useful_patterns(document: Document, context: BuildContext, category: Category) -> tuple[str, ...]:
        """The category's patterns that keep out something sent today, and nothing a COPY/ADD names or a RUN
        mentions."""
        named = _named_sources(document)
        kept = []
        for pattern in category.patterns:
            if pattern == ".git":  # never listed: a folder on disk only
                if context.holds_unlisted(pattern):
                    kept.append(pattern)
                continue
            text = (context.ignore_text or "") + "\n" + pattern + "\n"
            after, dropped = context.with_ignore(text), context.dropped_by(text)
            if not dropped or any(context.glob(source) != after.glob(source) for source in named):
                continue
            if context.once(("kept by exception", text), lambda: any(_kept_by_exception(context, path) for path in dropped)):
                continue  # the ignore file brings it back on purpose
            if category.secret and not context.once(("secret files", text), lambda: all(_secret_file(context, path) for path in dropped)):
                continue
            if category.bytecode and not context.once(("sources", text), lambda: all(_has_source(context, path) for path in dropped)):
                continue
            if category.secret and any(_mentioned(document, path) for path in dropped):
                continue
            kept.append(pattern)
        return tuple(kept)
