"""``verify``: fix a Dockerfile through the shared pipeline, build the original and the fixed file with the engine,
and measure both side by side (layers, sizes, cache reuse after a source edit, equivalence)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from dockerfix.knowledge.analysis import shell_runs
from dockerfix.knowledge.ecosystems import recognise
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import Document, parse
from dockerfix.rewriter.pipeline import AppliedFix, context_for, read_source, run_source

from .compare import ConfigDifference, Difference, compare_config, compare_files, not_reproduced
from .context_copy import DEFAULT_MAX_BYTES, append_to_file, copied_context, unsent_under
from .engine import BuildFailed, BuildOutcome, DockerClient
from .image import Image, LayerCache

FIRST_HEREDOC_ENGINE = 23
SOURCE_SUFFIXES = (".py", ".js", ".ts", ".go", ".rb", ".php", ".java", ".rs", ".c", ".cs", ".html", ".txt", ".md")


class NothingToVerify(Exception):
    """No fix applies, so there is no second Dockerfile to build."""


@dataclass(frozen=True)
class LayerRow:
    created_by: str
    content_bytes: int
    gzip_bytes: int

    def as_json(self) -> dict:
        return {"created_by": self.created_by, "bytes": self.content_bytes, "gzip_bytes": self.gzip_bytes}


@dataclass(frozen=True)
class Rebuild:
    """What editing one source file costs: the steps that ran again and the layers a push would upload."""

    steps_rerun: tuple[str, ...]
    changed_layers: int
    changed_bytes: int
    changed_gzip_bytes: int
    seconds: float | None = None
    context_bytes: int | None = None  # the build context the rebuild sent again
    downloaded_bytes: int | None = None  # what its steps downloaded (None: the engine's network is not ours to count)

    def as_json(self) -> dict:
        return {
            "steps_rerun": len(self.steps_rerun),
            "steps": list(self.steps_rerun),
            "changed_layers": self.changed_layers,
            "changed_bytes": self.changed_bytes,
            "changed_gzip_bytes": self.changed_gzip_bytes,
            "seconds": self.seconds,
            "context_bytes": self.context_bytes,
            "downloaded_bytes": self.downloaded_bytes,
        }


@dataclass(frozen=True)
class Measurement:
    layers: tuple[LayerRow, ...]
    rebuild: Rebuild | None
    context_bytes: int | None = None  # the build context the first build sent
    build_seconds: float | None = None  # the first build's time
    downloaded_bytes: int | None = None  # what the first build's steps downloaded

    @property
    def content_bytes(self) -> int:
        return sum(layer.content_bytes for layer in self.layers)

    @property
    def gzip_bytes(self) -> int:
        return sum(layer.gzip_bytes for layer in self.layers)

    def as_json(self) -> dict:
        return {
            "layers": len(self.layers),
            "bytes": self.content_bytes,
            "gzip_bytes": self.gzip_bytes,
            "context_bytes": self.context_bytes,
            "build_seconds": self.build_seconds,
            "downloaded_bytes": self.downloaded_bytes,
            "per_layer": [layer.as_json() for layer in self.layers],
            "after_touch": self.rebuild.as_json() if self.rebuild else None,
        }


@dataclass(frozen=True)
class Report:
    dockerfile: str
    diff: str
    applied: tuple[AppliedFix, ...]
    touched: str | None
    original: Measurement
    fixed: Measurement
    differences: tuple[Difference, ...]
    config_differences: tuple[ConfigDifference, ...]
    engine: str  # the version of the Docker engine that built both
    notes: tuple[str, ...] = field(default=())
    # paths two builds of the original already disagree on, and FOLDER/* where their names did (compare.not_reproduced)
    unreproducible: tuple[str, ...] = field(default=())

    @property
    def undeclared(self) -> tuple[Difference, ...]:
        return tuple(difference for difference in self.differences if difference.declared_by is None)

    @property
    def undeclared_config(self) -> tuple[ConfigDifference, ...]:
        return tuple(difference for difference in self.config_differences if difference.declared_by is None)

    @property
    def equivalent(self) -> bool:
        """Same image, or every difference is one an applied fix declared."""
        return not self.undeclared and not self.undeclared_config

    def as_json(self) -> dict:
        return {
            "version": 1,
            "dockerfile": self.dockerfile,
            "engine": self.engine,
            "equivalent": self.equivalent,
            "applied_fixes": [
                {"code": fix.code, "title": fix.title, "applicability": fix.applicability} for fix in self.applied
            ],
            "touched": self.touched,
            "original": self.original.as_json(),
            "fixed": self.fixed.as_json(),
            "differences": {
                "declared": sum(1 for difference in self.differences if difference.declared_by),
                "undeclared": [difference.as_json() for difference in self.undeclared],
                "config": [difference.as_json() for difference in self.config_differences],
                "unreproducible": list(self.unreproducible),
            },
            "notes": list(self.notes),
            "diff": self.diff,
        }


def manifests_of(document: Document) -> set[str]:
    """File names the dependency installs of the Dockerfile read (what the build-cache rules treat as manifests)."""
    names: set[str] = set()
    for stage in document.stages:
        for _, commands in shell_runs(stage):
            for command in commands:
                install = recognise(command, None)
                if install is not None:
                    names.update(PurePosixPath(name).name for name in install.manifests + install.optional)
    return names


def copied_files(document: Document, build_context: BuildContext) -> frozenset[str]:
    """The context files some COPY or ADD of the Dockerfile sends into a stage (a source naming a folder sends all
    below it); ``--from`` copies and URLs take nothing from the context."""
    files = build_context.files()
    copied: set[str] = set()
    for instruction in document.instructions:
        if instruction.cmd not in ("copy", "add") or instruction.flag("from") or instruction.heredocs:
            continue
        for source in instruction.value[:-1]:
            if "://" in source:
                continue
            for path in build_context.glob(source):
                prefix = path.rstrip("/") + "/" if path else ""
                copied.update(name for name in files if name == path or name.startswith(prefix))
    return frozenset(copied)


def default_touch(files: tuple[str, ...], manifests: set[str], dockerfile_name: str) -> str | None:
    """A source file to edit: not hidden, not a manifest, not the Dockerfile; source code first. ``files`` are the
    ones the image receives: an edit to a file no COPY sends costs no rebuild and measures nothing."""
    candidates = [
        path
        for path in files
        if PurePosixPath(path).name not in manifests | {dockerfile_name, ".dockerignore"}
        and not any(part.startswith(".") for part in PurePosixPath(path).parts)
    ]
    candidates.sort(key=lambda path: (not path.endswith(SOURCE_SUFFIXES), path.count("/"), path))
    return candidates[0] if candidates else None


def touch_for(document: Document, build_context: BuildContext, context_dir: Path, dockerfile_name: str) -> str | None:
    """The file verify edits to measure a rebuild: a regular file of the context that a COPY sends (see
    ``default_touch``)."""
    sent = copied_files(document, build_context)
    editable = tuple(path for path in build_context.files() if path in sent and _is_regular(context_dir / path))
    return default_touch(editable, manifests_of(document), dockerfile_name)


def _is_regular(path: Path) -> bool:
    """Whether ``path`` is a regular file itself, not a link to one (only such a file is edited, in verify's copy)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def rejects_heredocs(engine: str) -> bool:
    """Engines before Docker 23 build with a Dockerfile frontend older than 1.4, the first to read heredocs."""
    major = re.match(r"(\d+)\.", engine)
    return major is not None and int(major.group(1)) < FIRST_HEREDOC_ENGINE


def without_syntax_directive(document: Document) -> str:
    directive = document.directive("syntax")
    if directive is None:
        return document.text
    start, end = directive.span
    return document.text[:start] + document.text[end:].lstrip("\r\n")


class Session:
    """One run's temporary folder and images; ``close`` removes both whatever happened."""

    def __init__(self, client: DockerClient) -> None:
        self.client = client
        self.folder = Path(tempfile.mkdtemp(prefix="dockerfix-verify-"))
        self.token = secrets.token_hex(4)
        self.tags: list[str] = []
        self.layers = LayerCache()

    def build_only(
        self, dockerfile: Path, context: Path, name: str, label: str, use_cache: bool = True
    ) -> tuple[str, BuildOutcome]:
        """Build and tag (removed by ``close``) without reading the image: the build alone, to time it."""
        tag = f"dockerfix-verify-{self.token}:{name}"
        self.tags.append(tag)
        return tag, self.client.build(dockerfile, context, tag, label, use_cache)

    def image(self, tag: str) -> Image:
        archive = self.folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", tag) + ".tar")
        self.client.save(tag, archive)
        try:
            return self.layers.read_saved(archive)
        finally:
            archive.unlink()

    def build(
        self, dockerfile: Path, context: Path, name: str, label: str, use_cache: bool = True
    ) -> tuple[Image, BuildOutcome]:
        tag, outcome = self.build_only(dockerfile, context, name, label, use_cache)
        return self.image(tag), outcome

    def close(self) -> None:
        self.client.remove_images(*self.tags)
        shutil.rmtree(self.folder, ignore_errors=True)


def _rows(image: Image) -> tuple[LayerRow, ...]:
    return tuple(LayerRow(layer.created_by, layer.content_bytes, layer.gzip_bytes) for layer in image.layers)


Counter = Callable[[], int]


def _counted(
    downloaded: Counter | None, build: Callable[[], tuple[Image, BuildOutcome]]
) -> tuple[Image, BuildOutcome, int | None]:
    """``build()`` and the bytes ``downloaded`` grew by meanwhile (None without a counter)."""
    if downloaded is None:
        return *build(), None
    before = downloaded()
    image, outcome = build()
    return image, outcome, downloaded() - before


def base_swaps(original: Document, fixed: Document) -> list[tuple[str, str]]:
    """The base images the fixes replaced, as (before, after), FROM by FROM."""
    froms = [
        [
            instruction.value[0]
            for instruction in document.instructions
            if instruction.cmd == "from" and instruction.value
        ]
        for document in (original, fixed)
    ]
    # a split into stages adds a FROM: the stages before it are paired
    return [(old, new) for old, new in zip(*froms, strict=False) if old != new]


def swapped_paths(session: Session, swaps: list[tuple[str, str]]) -> dict[str, str]:
    """The paths on which each swapped-in base image differs from the one it replaced, with the swap in words: an
    image built on another base differs there by design, and the fix that swapped it says so in its title."""
    declared: dict[str, str] = {}
    for old, new in swaps:
        before, after = session.image(old).root_filesystem(), session.image(new).root_filesystem()
        for difference in compare_files(before, after, ()):
            declared.setdefault(difference.path, f"base image {old} -> {new}")
    return declared


def unreproducible_paths(session: Session, dockerfile: Path, context: Path, first: Image) -> tuple[str, ...]:
    """The paths on which ``first`` and a second build of the same Dockerfile, every step run again, disagree
    (files compiled from source, timestamps): differences there are the build's, not the fixes'."""
    again, _ = session.build(dockerfile, context, "original-again", "original", use_cache=False)
    return not_reproduced(first.root_filesystem(), again.root_filesystem())


def _measure(
    session: Session,
    text: bytes,
    context: Path,
    touched: str | None,
    label: str,
    downloaded: Counter | None = None,
) -> tuple[Image, Measurement, Path]:
    dockerfile = session.folder / f"{label}.Dockerfile"
    dockerfile.write_bytes(text)
    image, outcome, received = _counted(downloaded, lambda: session.build(dockerfile, context, label, label))
    rebuild = None
    if touched is not None:
        # The copy is this variant's own and nothing builds from it after this edit, so the edit stays. A marker of
        # its own per variant, so one variant's edited build never serves the other from the cache.
        append_to_file(context, touched, f"\n# edited by dockerfix verify ({label})\n".encode())
        edited, edited_outcome, edit_received = _counted(
            downloaded, lambda: session.build(dockerfile, context, f"{label}-edited", label)
        )
        known = {layer.diff_id for layer in image.layers}
        changed = [layer for layer in edited.layers if layer.diff_id not in known]
        rebuild = Rebuild(
            edited_outcome.steps_run,
            len(changed),
            sum(layer.content_bytes for layer in changed),
            sum(layer.gzip_bytes for layer in changed),
            edited_outcome.seconds,
            edited_outcome.context_bytes,
            edit_received,
        )
    return image, Measurement(_rows(image), rebuild, outcome.context_bytes, outcome.seconds, received), dockerfile


def verify(
    dockerfile: Path,
    settings: Settings,
    client: DockerClient,
    context_dir: Path | None = None,
    touch: str | None = None,
    max_context_bytes: int = DEFAULT_MAX_BYTES,
    downloaded: Counter | None = None,
    unreproducible: tuple[str, ...] | None = None,
) -> Report:
    """Fix ``dockerfile`` as ``dockerfix`` would, build both versions and compare them, each from a copy of the
    context of its own: nothing of the user's is written.

    Raises ``SourceError`` (unreadable Dockerfile), ``NothingToVerify``, ``EngineError`` (no engine, or a build
    failed: ``BuildFailed`` names the step), ``ContextCopyError`` (a context over ``max_context_bytes``, or holding
    what cannot be copied) and ``ValueError`` for a ``touch`` path that is not a regular file of the context.
    ``downloaded`` counts the bytes the engine's build steps received (``current_engine.bridge_sent_bytes``).
    The original is built twice, the second time with every step run again, and the paths those two builds
    disagree on are left out of the comparison (listed as ``unreproducible``); a caller that knows them from an
    earlier report of the same original passes them and saves that build.
    """
    context_dir = context_dir or dockerfile.parent
    source = read_source(dockerfile)
    build_context = context_for(context_dir, dockerfile)
    result = run_source(source, settings, build_context, dockerfile)
    failures = "".join(f"; rule failure {failure}" for failure in result.rule_failures)
    if not result.changed or result.new_text is None:  # a changed result has its new text
        hint = "" if settings.unsafe_fixes else " (try --unsafe-fixes)"
        raise NothingToVerify(f"{dockerfile}: no fix applies{hint}; nothing to compare{failures}")
    notes = [f"rule failure {failure}" for failure in result.rule_failures]
    original_document = parse(source)
    fixed_document = parse(source.with_text(result.new_text))
    if original_document.directive("syntax") is not None:
        notes.append(
            "built without the `# syntax=` directive: it makes the engine fetch a frontend from a registry; the "
            "engine's own frontend was used"
        )
    if touch is None:
        touch = touch_for(original_document, build_context, context_dir, dockerfile.name)
        if touch is None:
            notes.append("no source file in the build context to edit: cache reuse not measured")
    elif touch not in build_context.files():
        raise ValueError(f"--touch {touch}: not a file of the build context {context_dir}")
    elif not _is_regular(context_dir / touch):
        raise ValueError(f"--touch {touch}: a symbolic link or special file; name a regular file of the build context")
    engine = client.check()
    session = Session(client)
    try:
        fixed_files = {other.relative: other.content for other in result.other_files}
        # the builds below read the root ignore file only (the Dockerfile built is outside the context)
        unsent = unsent_under(context_dir, fixed_files)
        contexts = {
            "original": copied_context(context_dir, session.folder / "context", {}, max_context_bytes, unsent=unsent)
        }
        # the fixed build gets a copy too, even without other files: BuildKit sends a folder it has seen before
        # incrementally, so a second build from the same folder would show a context transfer of a few bytes. Its
        # files are links to the first copy's, as every write into a copy replaces the file it writes.
        contexts["fixed"] = copied_context(
            contexts["original"],
            session.folder / "fixed-context",
            fixed_files,
            max_context_bytes,
            share_files=True,
        )
        # copied before the edits below, so the second build of the original sees what the first one saw
        unedited = copied_context(
            contexts["original"], session.folder / "again-context", {}, max_context_bytes, share_files=True
        )
        measured = {}
        for label, document in (("original", original_document), ("fixed", fixed_document)):
            text = source.encode(without_syntax_directive(document))
            try:
                measured[label] = _measure(session, text, contexts[label], touch, label, downloaded)
            except BuildFailed as failure:
                if not any(instruction.heredocs for instruction in document.instructions) or not rejects_heredocs(
                    engine
                ):
                    raise
                hint = f"(the Dockerfile uses heredocs, which the built-in frontend of Docker {engine} rejects)"
                raise BuildFailed(failure.label, failure.step, f"{failure.log_tail}\n{hint}") from None
        before, _, original_dockerfile = measured["original"]
        if unreproducible is None:
            unreproducible = unreproducible_paths(session, original_dockerfile, unedited, before)
        swapped = swapped_paths(session, base_swaps(original_document, fixed_document))
    finally:
        session.close()
    (before, original, _), (after, fixed, _) = measured["original"], measured["fixed"]
    return Report(
        dockerfile=str(dockerfile),
        diff=result.diff,
        applied=result.applied,
        touched=touch,
        original=original,
        fixed=fixed,
        differences=tuple(
            compare_files(before.root_filesystem(), after.root_filesystem(), result.applied, unreproducible, swapped)
        ),
        config_differences=tuple(compare_config(before.config_fields(), after.config_fields(), result.applied)),
        engine=engine,
        notes=tuple(notes),
        unreproducible=unreproducible,
    )
