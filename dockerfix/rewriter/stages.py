"""Which stages of a Dockerfile ship: the target stage and the stages it is built ``FROM``, as BuildKit resolves them.

A stage that is only read by ``COPY --from`` never ships its layers (only the copied files do), so what is left in
it makes no image bigger. BuildKit expands a FROM's image with the global ARGs and looks the result up among the
earlier stages' names, case-insensitively; ``--target`` names the stage it builds (the last one by default).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable

from .arguments import expand_word
from .document import Document, Stage


def expand_global_args(text: str, document: Document) -> str | None:
    """``text`` as BuildKit expands a FROM: with the global ARGs' defaults, each default itself expanded with the
    ARGs before it (so quotes are removed: `ARG OS="linux"` is `linux`); None when a value comes from the build
    (`--build-arg`, an ARG without default, a builder-provided variable), so the image cannot be known here.
    Rules ask it of every stage's image again and again: it is a fact of the document."""
    return document.facts(_expanded_with_global_args, text)


def _expanded_with_global_args(document: Document, text: str) -> str | None:
    return expand_word(text, document.facts(_global_arg_defaults))


def _global_arg_defaults(document: Document) -> dict[str, str | None]:
    defaults: dict[str, str | None] = {}
    for instruction in document.global_args:
        for word in instruction.value:
            name, equals, value = word.partition("=")
            defaults[name] = expand_word(value, defaults) if equals else None
    return defaults


def target_stage(document: Document, name: str | None = None) -> Stage | None:
    """The stage ``docker build --target NAME`` builds; without a name, or when this file has no stage of that name
    (one configuration serves many Dockerfiles), the last stage."""
    if not document.stages:
        return None
    if name is not None:
        named = [stage for stage in document.stages if stage.name == name.lower()]
        if named:
            return named[0]
    return document.stages[-1]


_VARIABLE = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")
# BuildKit's stage names are a letter, then letters, digits, `-`, `_` or `.`: never a registry path, tag or digest
_NEVER_IN_A_STAGE_NAME = re.compile(r"[/:@]")


def parent_stages(document: Document, stage: Stage) -> tuple[Stage, ...]:
    """The earlier stages ``stage`` may be built FROM: the one its image names, or every earlier stage when the name
    rests on an ARG without a default here (any of them may be the base) and its literal text could still make a
    stage name (`FROM ${BASE}` may; `FROM registry/app:${VERSION}` may not)."""
    return document.facts(_parent_stages, stage)


def _parent_stages(document: Document, stage: Stage) -> tuple[Stage, ...]:
    earlier = document.stages[: stage.index]
    if not earlier:  # the first stage (most Dockerfiles' only one) has none: its image need not be expanded
        return ()
    image = expand_global_args(stage.base_image, document)
    if image is None:
        if _NEVER_IN_A_STAGE_NAME.search(_VARIABLE.sub("", stage.base_image)):
            return ()
        return earlier
    return next(((candidate,) for candidate in earlier if candidate.name == image.lower()), ())


def base_stages(document: Document, stage: Stage) -> tuple[Stage, ...]:
    """The stages ``stage`` is built on, nearest first: its FROM names an earlier stage, which may name another; the
    chain stops where the base cannot be told (an ARG without a default here)."""
    chain: list[Stage] = []
    while len(parents := parent_stages(document, chain[-1] if chain else stage)) == 1:
        chain.append(parents[0])
    return tuple(chain)


def shipped_stages(document: Document, target: str | None = None) -> frozenset[int]:
    """Indexes of the stages whose layers are in the image built for ``target``."""
    return document.facts(_shipped_stages, target)


def _shipped_stages(document: Document, target: str | None) -> frozenset[int]:
    stage = target_stage(document, target)
    shipped: set[int] = set()
    pending = [stage] if stage is not None else []
    while pending:
        stage = pending.pop()
        if stage.index not in shipped:
            shipped.add(stage.index)
            pending.extend(parent_stages(document, stage))
    return frozenset(shipped)


def shipped_offset_test(document: Document, target: str | None = None) -> Callable[[int], bool]:
    """A test of whether a source offset lies in a stage that ships for ``target`` (or before the first stage); one
    per document and target (the engine and the merge rules each ask)."""
    return document.facts(_shipped_offset_test, target)


def _shipped_offset_test(document: Document, target: str | None) -> Callable[[int], bool]:
    if len(document.stages) <= 1:  # most Dockerfiles: the one stage is the target, whatever ``target`` names
        return _every_offset_ships
    shipped = shipped_stages(document, target)
    if len(shipped) == len(document.stages):
        return _every_offset_ships
    starts = [instruction.span[0] for instruction in document.instructions]
    # the test is kept with the document: holding the document too would make a cycle that only the garbage
    # collector frees
    stage_indexes = [instruction.stage_index for instruction in document.instructions]

    def test(offset: int) -> bool:
        position = bisect_right(starts, offset) - 1
        stage_index = stage_indexes[position] if position >= 0 else None
        return stage_index is None or stage_index in shipped

    return test


def _every_offset_ships(offset: int) -> bool:
    """The test when every stage ships (most Dockerfiles): no offset needs looking up."""
    return True
