"""The ``dockerfix`` command: ruff's conventions, over the shared pipeline."""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, TextIO

from . import __version__, baseline, output
from .command import COMMANDS, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from .levels import WARNING_BYTES
from .rendering import render
from .rewriter import pipeline
from .rewriter.config import ConfigError, ConfigFiles, Settings, load, rule_option_values
from .rewriter.context import BuildContext
from .rewriter.discovery import FolderListing, Walk, walking
from .rewriter.pipeline import FileResult
from .rewriter.registry import MIN_GAIN, RegistryError, all_rules, rule_by_code
from .rewriter.rule import BUILDERS, TARGET, TARGET_STAGE
from .rewriter.source import Source, SourceError

PARALLEL_THRESHOLD = 8


def _parser(prog: str = "dockerfix") -> argparse.ArgumentParser:
    commands = "\n".join(f"  {name:<8} {summary}" for name, summary in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Find and fix what makes Docker images big and builds slow, without changing what they build.",
        epilog=f"commands (`dockerfix COMMAND --help` for each):\n{commands}" if prog == "dockerfix" else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", help="Dockerfiles or folders to search; `-` reads standard input")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="apply fixes in place")
    mode.add_argument("--diff", action="store_true", help="print only the diff of the fixes")
    mode.add_argument("--check", action="store_true", help="exit 1 when fixes are pending (for CI)")
    parser.add_argument("--unsafe-fixes", action="store_true", default=None, help="also apply fixes marked unsafe")
    parser.add_argument(
        "--pin-digests",
        action="store_true",
        default=None,
        help="DF303: pin base images to the digests of the configuration's `digests` table",
    )
    parser.add_argument(
        "--target-stage",
        metavar="NAME",
        help="the stage `docker build --target` builds (default: the last); layer findings count only in it and its "
        "FROM stages",
    )
    parser.add_argument(
        "--target",
        choices=BUILDERS,
        help="the builder: buildkit (default) lets fixes write BuildKit syntax (RUN --mount, COPY --chmod, heredocs); "
        "legacy never",
    )
    parser.add_argument(
        "--min-gain",
        metavar="BYTES",
        help="report, fix and fail --check only for findings saving at least BYTES of the shipped image (`1MB`, "
        "`0`); rebuild-step and cache-correctness findings, unknown gains and DF0xx errors always count",
    )
    parser.add_argument(
        "--select",
        type=_codes,
        help="rule codes or prefixes to run, comma-separated (e.g. DF1,DF201); ALL for every rule",
    )
    parser.add_argument("--extend-select", type=_codes, help="rule codes or prefixes to run besides the selected ones")
    parser.add_argument("--ignore", type=_codes, help="rule codes or prefixes to skip, comma-separated")
    parser.add_argument(
        "--exclude", type=_patterns, help="gitignore-style patterns a folder walk skips, instead of the configured ones"
    )
    parser.add_argument("--extend-exclude", type=_patterns, help="gitignore-style patterns a folder walk skips too")
    parser.add_argument(
        "--no-respect-gitignore",
        dest="respect_gitignore",
        action="store_false",
        default=None,
        help="walk folders without reading .gitignore files",
    )
    parser.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when findings remain (2 still for errors)"
    )
    parser.add_argument("--statistics", action="store_true", help="count the findings by rule instead of listing them")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="report only findings that FILE (from --write-baseline) does not hold",
    )
    parser.add_argument(
        "--write-baseline", type=Path, metavar="FILE", help="record today's findings in FILE and exit 0"
    )
    parser.add_argument(
        "--output-format",
        choices=output.FORMATS,
        default="text",
        help="sarif, gitlab, junit and github carry each finding's level from its gain: error (DF0xx, BuildKit "
        f"refuses the file), warning (saves {WARNING_BYTES // 1_000_000} MB or more, rebuild steps or cache "
        "correctness), note (the rest); github annotates the ten most valuable (errors, then warnings, then notes; "
        "within each the largest byte gains, then steps saved, then cache correctness, then unknown gains) and "
        "appends every finding to $GITHUB_STEP_SUMMARY",
    )
    parser.add_argument("--context", type=Path, help="build-context folder (default: each Dockerfile's folder)")
    parser.add_argument("--config", type=Path, help="a .dockerfix.toml or pyproject.toml to use instead of discovery")
    parser.add_argument("--stdin-filename", help="the path standard input stands for (config and build context)")
    parser.add_argument("--list-rules", action="store_true", help="list every rule and exit")
    parser.add_argument("--explain", metavar="CODE", help="explain a rule and exit")
    parser.add_argument("--no-progress", action="store_true", help="never show a progress line")
    parser.add_argument("--version", action="version", version=f"dockerfix {__version__}")
    return parser


def _codes(text: str) -> list[str]:
    return [code.strip().upper() for code in text.split(",") if code.strip()]


def _patterns(text: str) -> list[str]:
    return [pattern.strip() for pattern in text.split(",") if pattern.strip()]


class _RunSettings:
    """Each file's settings: the configuration of its folder (or --config) with the command line's on top, worked
    out once per configuration file (a repository of many folders would otherwise read its configuration and check
    the command line's overrides for each, and hand every file settings of its own) and looked up once per folder."""

    def __init__(self, arguments: argparse.Namespace) -> None:
        self.arguments = arguments
        self._config_files = ConfigFiles()
        self._by_source: dict[Path | None, Settings] = {}
        self._by_folder: dict[Path, Settings] = {}
        # the folders of the run, as the paths name them: listed by a walk, or resolved once, when first asked for
        self._listed: dict[Path, FolderListing] = {}

    def listed(self, folder: Path, listing: FolderListing) -> None:
        """A folder walk listed ``folder``: its files' settings are found without asking the disk again."""
        self._listed[folder] = listing

    def resolved(self, folder: Path) -> Path:
        """``folder`` (as the paths name it) resolved, once in the run: the workers are handed it, and do not resolve
        each folder again (a system call per part of its path, for each of the 1,519 folders of a corpus run)."""
        return self._listing(folder).resolved

    def _listing(self, folder: Path) -> FolderListing:
        if folder not in self._listed:
            self._listed[folder] = FolderListing(folder.resolve(), None)
        return self._listed[folder]

    def of(self, folder: Path) -> Settings:
        """The settings of the files in ``folder``."""
        listing = self._listing(folder)
        return self._of_folder(listing.resolved, listing.names)

    def _of_folder(self, folder: Path, names: frozenset[str] | None) -> Settings:
        if folder not in self._by_folder:
            arguments = self.arguments
            source = arguments.config if arguments.config is not None else self._config_files.nearest(folder, names)
            if source not in self._by_source:
                self._by_source[source] = self._overridden(Settings() if source is None else load(source))
            self._by_folder[folder] = self._by_source[source]
        return self._by_folder[folder]

    def _overridden(self, found: Settings) -> Settings:
        arguments = self.arguments
        flags = {
            "pin-digests": True if arguments.pin_digests else None,
            TARGET_STAGE.name: arguments.target_stage,
            TARGET.name: arguments.target,
            MIN_GAIN.name: arguments.min_gain,
        }
        options = rule_option_values(
            {name: value for name, value in flags.items() if value is not None}, "the command line"
        )
        return found.override(
            arguments.select, arguments.ignore, arguments.unsafe_fixes, options, arguments.extend_select
        )


class Job(NamedTuple):
    """One file to check, as handed to a worker process."""

    path: Path
    settings: Settings
    write: bool
    context: Path | None
    resolved_context: Path | None = None  # ``context_folder``, when the command has resolved it already

    @property
    def context_folder(self) -> Path:
        """The folder the file's build context is read from (files of one folder share it), resolved."""
        return self.resolved_context or (self.context or self.path.parent).resolve()

    @property
    def written_context(self) -> Path | None:
        """The context folder this file's fixes are written into (its files run one at a time); None for a check."""
        return self.context_folder if self.write else None

    def run(self, contexts: pipeline.BuildContexts) -> FileResult:
        return pipeline.run_path(self.path, self.settings, self.write, self.context, contexts, self.resolved_context)


def _run_files(found: Iterable[tuple[int, Job]], progress: int) -> tuple[list[Job], list[FileResult]]:
    """The jobs, each with the position of the path on the command line that named it, and their results, in the
    order of those paths and, within a folder, of the files' paths (a walk finds them in another order). Over many
    files worker processes check the first while the rest are found. ``progress``: the number of files, for a
    progress bar; 0 for none."""
    incoming = iter(found)
    cores = os.cpu_count() or 1
    first = list(itertools.islice(incoming, max(PARALLEL_THRESHOLD, cores)))
    positions: list[int] = []
    jobs: list[Job] = []  # in the order they come: a result's index is its job's here
    results: dict[int, FileResult] = {}

    def taken() -> Iterator[Job]:
        for position, job in itertools.chain(first, incoming):
            positions.append(position)
            jobs.append(job)
            yield job

    def collect(finished: Iterator[tuple[int, FileResult]]) -> None:
        with _progress_bar(progress) as advance:
            for index, result in finished:
                results[index] = result
                advance(result.path)

    if len(first) < PARALLEL_THRESHOLD or cores < 2:
        contexts = pipeline.BuildContexts()
        collect((index, job.run(contexts)) for index, job in enumerate(taken()))
    else:
        from .workers import WorkerPool  # the process pool loads only for a run over many files

        # started before the progress bar's thread: a thread rules out fork
        with WorkerPool(taken(), min(cores, len(first))) as pool:
            collect(pool.finished())
    order = sorted(results, key=lambda index: (positions[index], jobs[index].path))
    return [jobs[index] for index in order], [results[index] for index in order]


@contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[str], None]]:
    """A rich progress bar on standard error for ``total`` files, gone when the run ends; nothing (and rich not
    loaded) for 0."""
    if not total:
        yield lambda path: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}", markup=False),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=total)
        yield lambda path: bar.update(task, advance=1, description=path)


def _interactive(arguments: argparse.Namespace) -> bool:
    """Whether a person watches the run at a terminal (it gets a progress bar)."""
    return not arguments.no_progress and sys.stderr.isatty() and not os.environ.get("CI")


def _emit(results: list[FileResult], arguments: argparse.Namespace, unsafe: bool) -> None:
    out = sys.stdout
    if arguments.statistics:
        out.write(output.statistics(results))
    elif arguments.output_format == "github":
        out.write(output.as_github(results))
        summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_file:
            with open(summary_file, "a", encoding="utf-8") as summary:
                summary.write(output.as_github_summary(results))
    elif arguments.output_format != "text":
        out.write(output.WRITERS[arguments.output_format](results))
    elif arguments.diff:
        out.write("".join(result.diff for result in results))
        sys.stderr.write(output.incompleteness(results))  # stdout stays a patch
    else:
        findings = output.text_findings(results)
        out.write(output.coloured(findings) if _on_terminal(out) else findings)
        if arguments.check:
            for result in results:
                if result.rewrites_dockerfile:
                    out.write(f"Would rewrite: {result.path}\n")
                for other in result.other_files:
                    out.write(f"Would {'create' if other.original is None else 'rewrite'}: {other.path}\n")
        elif not arguments.write:
            out.write("".join(result.diff for result in results))
        out.write(output.summary(results, unsafe, arguments.write) + "\n")
    for result in results:
        if result.error is not None:
            sys.stderr.write(f"error: {result.error}\n")


def _on_terminal(stream: TextIO) -> bool:
    """Colour only for a person at a terminal: never in a pipe, a file or CI, nor with NO_COLOR set."""
    return stream.isatty() and not os.environ.get("CI") and not os.environ.get("NO_COLOR")


def _exit_code(results: list[FileResult], arguments: argparse.Namespace) -> int:
    """2 for anything that makes the result incomplete (an unreadable file, a rule that failed), so a check can never
    pass because a rule crashed; else 1 while a selected finding remains, in every mode (with --write, what the
    fixes did not remove), as ruff; `--exit-zero` makes that 0."""
    if any(result.error is not None or result.rule_failures for result in results):
        return EXIT_ERROR
    remaining = any(not (arguments.write and finding.fixable) for result in results for finding in result.findings)
    return EXIT_FINDINGS if remaining and not arguments.exit_zero else EXIT_CLEAN


def _run_stdin(arguments: argparse.Namespace, known: baseline.Baseline | None) -> int:
    """Editors pipe the buffer in and take the fixed text from stdout; findings go to stderr."""
    name = arguments.stdin_filename or "-"
    anchor = Path(arguments.stdin_filename) if arguments.stdin_filename else Path.cwd() / "Dockerfile"
    settings = _RunSettings(arguments).of(anchor.parent)
    data = sys.stdin.buffer.read(settings.max_file_size + 1)
    if len(data) > settings.max_file_size:
        sys.stderr.write(f"error: {pipeline.too_large(name, settings.max_file_size)}\n")
        # the editor takes stdout as the new buffer: hand the input back whole, a piece at a time
        sys.stdout.buffer.write(data)
        shutil.copyfileobj(sys.stdin.buffer, sys.stdout.buffer)
        return EXIT_ERROR
    try:
        source = Source.decode(data, name)
        context_dir = arguments.context or anchor.parent
        build_context = BuildContext.from_directory(context_dir) if context_dir.is_dir() else None
        # the fixed text goes to stdout, so a fix of another file could only be lost: those are display-only here
        result = pipeline.run_source(source, settings, build_context, anchor, other_files=False)
    except SourceError as error:
        sys.stderr.write(f"error: {error}\n")
        sys.stdout.buffer.write(data)
        return EXIT_ERROR
    if known is not None:
        [result] = known.new_findings([result], {result.path: source.text})
    if arguments.output_format == "text":
        sys.stdout.buffer.write(source.encode(result.new_text) if not arguments.diff else result.diff.encode("utf-8"))
        sys.stderr.write(output.text_findings([result]))
    else:
        _emit([result], arguments, settings.unsafe_fixes)
    return _exit_code([result], arguments)


def _list_rules() -> str:
    rows = []
    for rule in all_rules():
        fixes = "fix" if any(example.fixed is not None for example in rule.invalid) else "   "
        rows.append(f"{rule.code}  {rule.name:<36} {fixes}  {rule.summary}")
    return "\n".join(rows) + "\n"


def _explain(code: str) -> str | None:
    rule = rule_by_code(code)
    if rule is None:
        return None
    return render("explain.md.j2", rule=rule, min_gain=MIN_GAIN)


def main(argv: Sequence[str], prog: str = "dockerfix") -> int:
    """The check command; `dockerfix.command` chose it (the default command, or `dockerfix check`)."""
    parser = _parser(prog)
    arguments = parser.parse_args(argv)
    if arguments.write_baseline is not None and (arguments.write or arguments.baseline is not None):
        parser.error("--write-baseline records findings: it cannot be combined with --write or --baseline")
    try:
        if arguments.list_rules:
            sys.stdout.write(_list_rules())
            return EXIT_CLEAN
        if arguments.explain:
            text = _explain(arguments.explain)
            if text is None:
                sys.stderr.write(f"error: no rule {arguments.explain!r}; see `dockerfix --list-rules`\n")
                return EXIT_ERROR
            sys.stdout.write(text)
            return EXIT_CLEAN
        if not arguments.paths:
            parser.print_usage(sys.stderr)
            sys.stderr.write(f"{prog}: error: give at least one PATH (or `-` for standard input)\n")
            return EXIT_ERROR
        known = baseline.load(arguments.baseline) if arguments.baseline is not None else None
        if arguments.paths == ["-"]:
            return _run_stdin(arguments, known)
        if "-" in arguments.paths:
            sys.stderr.write("dockerfix: error: `-` cannot be combined with other paths\n")
            return EXIT_ERROR
        settings = _RunSettings(arguments)
        context = arguments.context.resolve() if arguments.context is not None else None
        found: Iterable[tuple[int, Job]] = (
            (
                position,
                Job(
                    path,
                    settings.of(folder),
                    arguments.write,
                    arguments.context,
                    context or settings.resolved(folder),
                ),
            )
            for position, path, folder in _files(arguments, settings)
        )
        texts = {}
        progress = 0
        reads_texts = known is not None or arguments.write_baseline is not None
        interactive = _interactive(arguments)
        if reads_texts or interactive:
            # the files are all found first: their texts are read before any is written, and a progress bar counts
            found = list(found)
            progress = len(found) if len(found) > 1 and interactive else 0
            if reads_texts:
                texts = baseline.texts_of(
                    [job.path for _, job in found], max(job.settings.max_file_size for _, job in found)
                )
        jobs, results = _run_files(found, progress)
        if arguments.write_baseline is not None:
            count = baseline.write(arguments.write_baseline, results, texts)
            sys.stderr.write(f"Recorded {count} finding{'s' if count != 1 else ''} in {arguments.write_baseline}.\n")
            return (
                EXIT_ERROR
                if any(result.error is not None or result.rule_failures for result in results)
                else EXIT_CLEAN
            )
        if known is not None:
            results = known.new_findings(results, texts)
        unsafe = any(job.settings.unsafe_fixes for job in jobs)
        _emit(results, arguments, unsafe)
        return _exit_code(results, arguments)
    except (ConfigError, RegistryError, baseline.BaselineError) as error:
        sys.stderr.write(f"error: {error}\n")
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_CLEAN


def _files(arguments: argparse.Namespace, run_settings: _RunSettings) -> Iterator[tuple[int, Path, Path]]:
    """Files named on the command line as given (as ruff, a named file is checked whatever the exclusions say);
    the Dockerfiles under named folders, walked with the exclusions of the folder's configuration, as the walk finds
    them; each with the position of the path that named it, and its folder."""
    for position, path in enumerate(map(Path, arguments.paths)):
        if not path.is_dir():
            yield position, path, path.parent
            continue
        settings = run_settings.of(path)
        exclude = arguments.exclude if arguments.exclude is not None else settings.exclude
        extend = settings.extend_exclude + tuple(arguments.extend_exclude or ())
        respect = settings.respect_gitignore if arguments.respect_gitignore is None else arguments.respect_gitignore
        found = Walk()
        count = 0
        for file in walking(path, found, (*exclude, *extend), settings.root, respect):
            folder = file.parent
            run_settings.listed(folder, found.folders[folder])
            count += 1
            yield position, file, folder
        for note in found.notes:
            sys.stderr.write(f"note: {note}\n")
        if not count:
            yield position, path, path.parent  # a folder without Dockerfiles is reported as "is a directory"
