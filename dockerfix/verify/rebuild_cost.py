"""What a dependency change costs the next build: build a Dockerfile, change one dependency manifest in its context,
build again and measure that second build (seconds, bytes its steps downloaded, steps re-run) and its image (bytes).

This is the measure for cache-mount fixes: their gain is the download a rebuild skips, which neither the first
build nor the image shows. Bytes downloaded come from a counter the caller passes (the private engine's bridge:
``current_engine.bridge_sent_bytes``), so only an engine whose network is ours can be measured this way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .context_copy import DEFAULT_MAX_BYTES, copied_context, put_file, unsent_under
from .engine import DockerClient
from .measure import Session


@dataclass(frozen=True)
class DependencyRebuild:
    seconds: float
    downloaded_bytes: int
    steps_rerun: tuple[str, ...]
    image_bytes: int


def dependency_rebuild(
    client: DockerClient,
    dockerfile: Path,
    context: Path,
    manifest: str,
    changed_manifest: str,
    downloaded: Callable[[], int],
    max_context_bytes: int = DEFAULT_MAX_BYTES,
) -> DependencyRebuild:
    """Build ``dockerfile`` in a copy of ``context``, write ``changed_manifest`` to its ``manifest`` (in the copy),
    build again and measure the second build. Its images are removed; the engine's build cache (cache mounts included)
    stays, as it would on a developer's machine."""
    session = Session(client)
    try:
        work = copied_context(
            context, session.folder / "context", {}, max_context_bytes, unsent=unsent_under(context, {})
        )
        session.build_only(dockerfile, work, "first", dockerfile.name)
        put_file(work, manifest, changed_manifest.encode("utf-8"))
        counted = downloaded()
        started = time.monotonic()
        tag, outcome = session.build_only(dockerfile, work, "second", dockerfile.name)
        seconds = time.monotonic() - started
        received = downloaded() - counted
        image = session.image(tag)
    finally:
        session.close()
    return DependencyRebuild(seconds, received, outcome.steps_run, sum(layer.content_bytes for layer in image.layers))
