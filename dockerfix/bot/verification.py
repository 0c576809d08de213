"""The measured table of `dockerfix verify` for the pull request body (`dockerfix bot --verify`).

Building a Dockerfile runs its RUN steps: this is the only place the bot lets a repository's content run, so it is
opt-in, and whatever goes wrong (no engine, a failing build) becomes one line of the body, never a failed run."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..rewriter.config import Settings
from ..verify import BuildFailed, ContextCopyError, EngineError, NothingToVerify, measured_table
from ..verify.context_copy import copied_context, put_file, unsent_under
from ..verify.engine import DockerClient
from .body import printable

# a pull request body holds at most 65,536 characters, and each failing file adds its log
LOG_TAIL_CHARACTERS = 2_000


@dataclass(frozen=True)
class Original:
    """A Dockerfile of the checkout as it was before the bot wrote its fixes: ``path`` in the repository, the file in
    the checkout, its bytes before, the settings its fixes were made with, and the other files of its build context
    the fixes changed (relative to the context folder; None for a file they created)."""

    path: str
    dockerfile: Path
    text: bytes
    settings: Settings
    other_files: tuple[tuple[str, str | None], ...] = ()


def _original_context(folder: Path, original: Original) -> Path:
    """A copy of the Dockerfile's folder (its build context) as it was before the fixes: the Dockerfile and the
    other files the fixes wrote are put back, so the original is built as it was and verify proposes the same fixes.
    What neither the checkout's ignore file nor the one put back lets a build see is not copied."""
    before = dict(original.other_files)
    unsent = unsent_under(original.dockerfile.parent, before)
    context = copied_context(original.dockerfile.parent, folder / "context", before, unsent=unsent)
    put_file(context, original.dockerfile.name, original.text)
    return context / original.dockerfile.name


def measure(originals: Sequence[Original], client: DockerClient | None = None) -> str:
    """Markdown for the body: a measured table per file, or one line saying why there is none. The checkout already
    holds the fixed files, so each original is measured from a copy of its folder as it was before them."""
    try:
        client = client or DockerClient.from_environment()
        client.check()
    except EngineError as error:
        return f"Not measured: {error}."
    sections = []
    with tempfile.TemporaryDirectory(prefix="dockerfix-bot-verify-") as folder:
        for index, original in enumerate(originals):
            path = original.path
            try:
                copy = _original_context(Path(folder) / str(index), original)
            except ContextCopyError as error:
                sections.append(f"`{path}`: not measured: {error}.")
                continue
            try:
                table = measured_table(copy, original.settings, client=client).markdown
            except BuildFailed as failure:
                where = f" at `{failure.step}`" if failure.step else ""
                line = f"`{path}`: not measured: the {failure.label} Dockerfile failed to build{where}."
                sections.append("\n\n".join(part for part in (line, log_block(failure.log_tail)) if part))
                continue
            except (EngineError, ContextCopyError, NothingToVerify) as error:
                sections.append(f"`{path}`: not measured: {str(error).replace(str(copy), path)}.")
                continue
            sections.append(f"`{path}`:\n\n{table.rstrip()}")
    return "\n\n".join(sections)


def log_block(tail: str) -> str:
    """The end of a failed build's log, folded away under its line: what tells a broken Dockerfile from a build that
    failed for a passing reason (a mirror, a timeout). At most ``LOG_TAIL_CHARACTERS``, each line with nothing
    invisible, in a fence nothing in it can end; nothing for an empty log."""
    text = "\n".join(printable(line) for line in tail[-LOG_TAIL_CHARACTERS:].splitlines())
    if not text.strip():
        return ""
    fence = "`" * max(3, max((len(run) + 1 for run in re.findall(r"`+", text)), default=0))
    return f"<details><summary>The end of its build log</summary>\n\n{fence}text\n{text}\n{fence}\n\n</details>"
