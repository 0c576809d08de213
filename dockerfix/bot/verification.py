"""The measured table of `dockerfix verify` for the pull request body (`dockerfix bot --verify`).

Building a Dockerfile runs its RUN steps: this is the only place the bot lets a repository's content run, so it is
opt-in, and whatever goes wrong (no engine, a failing build) becomes one line of the body, never a failed run."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

from ..rewriter.config import Settings
from ..verify import BuildFailed, EngineError, NothingToVerify, measured_table
from ..verify.engine import DockerClient


def measure(originals: Sequence[tuple[str, Path, bytes, Settings]], client: DockerClient | None = None) -> str:
    """Markdown for the body: a measured table per file, or one line saying why there is none.

    ``originals``: (path in the repository, the Dockerfile in the checkout, its bytes before the fixes, the settings
    its fixes were made with). The checkout already holds the fixed file, so the original is measured from a copy
    of the same name (with its own ignore file, if any) outside it, with the checkout's folder as the build context."""
    try:
        client = client or DockerClient.from_environment()
        client.check()
    except EngineError as error:
        return f"Not measured: {error}."
    sections = []
    with tempfile.TemporaryDirectory(prefix="dockerfix-bot-verify-") as folder:
        for index, (path, dockerfile, original, settings) in enumerate(originals):
            copy = Path(folder) / str(index) / dockerfile.name
            copy.parent.mkdir()
            copy.write_bytes(original)
            ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
            if ignore.is_file() and not ignore.is_symlink():
                copy.with_name(ignore.name).write_bytes(ignore.read_bytes())
            try:
                table = measured_table(copy, settings, context_dir=dockerfile.parent, client=client).markdown
            except BuildFailed as failure:
                where = f" at `{failure.step}`" if failure.step else ""
                sections.append(f"`{path}`: not measured: the {failure.label} Dockerfile failed to build{where}.")
                continue
            except (EngineError, NothingToVerify) as error:
                sections.append(f"`{path}`: not measured: {str(error).replace(str(copy), path)}.")
                continue
            sections.append(f"`{path}`:\n\n{table.rstrip()}")
    return "\n\n".join(sections)
