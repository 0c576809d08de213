"""DF104: `apk add --no-cache`."""

from __future__ import annotations

from dockerfix.rewriter.document import Instruction, Stage
from dockerfix.rewriter.rule import Example

from .runedit import AddFlagRule, removes_path, verb_index


class ApkNoCache(AddFlagRule):
    """Install with `apk add --no-cache`.

    What it does
        Flags `apk add` without `--no-cache` in a RUN that does not remove `/var/cache/apk` itself, and adds the flag
        after `add`.

    Why
        Without it apk keeps the package index in `/var/cache/apk` inside the layer; with it apk fetches the index,
        installs and keeps nothing, and no `apk update` or cleanup is needed.

    Example
        RUN apk add curl
        becomes
        RUN apk add --no-cache curl

    Fix safety
        Unsafe: the image no longer contains the index under `/var/cache/apk` (a cache apk re-creates on demand).
        Skipped when `/var/cache/apk` is a `--mount=type=cache`.
    """

    code = "DF104"
    layer_rule = True
    name = "apk-no-cache"
    summary = "apk add without --no-cache leaves the package index in the image."
    hadolint = ("DL3019",)
    flag = "--no-cache"
    effect = "apk's index stays out of the image (files under /var/cache/apk are no longer created)"
    cached_paths = ("/var/cache/apk",)
    valid = (
        "FROM alpine\nRUN apk add --no-cache curl\n",
        "FROM alpine\nRUN apk update && apk add curl && rm -rf /var/cache/apk/*\n",
        "FROM alpine\nRUN --mount=type=cache,target=/var/cache/apk apk add curl\n",
    )
    invalid = (
        Example("FROM alpine\nRUN apk add curl git\n", "FROM alpine\nRUN apk add --no-cache curl git\n", unsafe=True),
        Example(
            "FROM alpine\nRUN apk --update add --virtual .build gcc\n",
            "FROM alpine\nRUN apk --update add --no-cache --virtual .build gcc\n",
            unsafe=True,
        ),
    )

    def wants_flag(self, name: str | None, arguments: list[str | None]) -> bool:
        index = verb_index(arguments)
        return name == "apk" and index is not None and arguments[index] == "add"

    def exempt(self, stage: Stage, run: Instruction) -> bool:
        return removes_path(run.shell.simple_commands(), r"^/var/cache/apk")
