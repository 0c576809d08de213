"""DF102: remove apt's package lists in the RUN that downloaded them."""

from __future__ import annotations

from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import ContentChange
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import SimpleCommand

from .runedit import AppendCleanupRule, removes_path, shell_runs, tool_and_arguments, verb_index

APT = ("apt-get", "apt")


def apt_verb(command: SimpleCommand) -> str | None:
    name, arguments = tool_and_arguments(command)
    if name not in APT:
        return None
    index = verb_index(arguments)
    return None if index is None else arguments[index]


class AptListsCleanup(AppendCleanupRule):
    """Remove /var/lib/apt/lists in the RUN that ran `apt-get update`.

    What it does
        Flags a RUN that runs `apt-get update` (or `apt update`) without removing `/var/lib/apt/lists/*` in the same
        RUN, and appends `rm -rf /var/lib/apt/lists/*` to it.

    Why
        The package lists weigh tens of megabytes and are only needed to install. Deleted in a later RUN they still
        weigh in the image: a layer cannot take back what an earlier layer added.

    Example
        RUN apt-get update && apt-get install -y curl
        becomes
        RUN apt-get update && apt-get install -y curl \\
            && rm -rf /var/lib/apt/lists/*

    Fix safety
        Unsafe: it removes files from the image (the lists, a cache that `apt-get update` re-creates). It is not fixed
        when a later RUN of the stage installs with apt without its own `apt-get update`, which would then fail, or
        when the lists live in a `--mount=type=cache` (they never reach the image).
    """

    code = "DF102"
    name = "apt-lists-cleanup"
    summary = "Remove /var/lib/apt/lists/* in the RUN that ran apt-get update."
    hadolint = ("DL3009",)
    cleanup = "rm -rf /var/lib/apt/lists/*"
    cached_paths = ("/var/lib/apt",)
    valid = (
        "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n",
        "FROM debian\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update && apt-get install -y curl\n",
        "FROM debian\nRUN apt-get install -y curl\n",
    )
    invalid = (
        Example(
            "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
            "FROM debian\nRUN apt-get update && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n",
            unsafe=True,
        ),
        Example(
            "FROM debian\nRUN apt-get update \\\n    && apt-get install -y curl;\nCMD [\"curl\"]\n",
            "FROM debian\nRUN apt-get update \\\n    && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\nCMD [\"curl\"]\n",
            unsafe=True,
        ),
        Example(
            "FROM debian\nRUN apt-get update &&\\\n\tapt-get install -y curl\nRUN echo a \\\n    && echo b \\\n    && echo c\n",
            "FROM debian\nRUN apt-get update &&\\\n\tapt-get install -y curl && \\\n\trm -rf /var/lib/apt/lists/*\nRUN echo a \\\n    && echo b \\\n    && echo c\n",
            unsafe=True,
        ),
        Example("FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN apt-get install -y git\n", None),
        Example("FROM debian\nRUN apt-get update && apt-get install -y curl # tools\n", None),
    )

    def content_change(self) -> ContentChange:
        return ContentChange(removes=("/var/lib/apt/lists",))

    def creates_mess(self, command: SimpleCommand) -> bool:
        return apt_verb(command) == "update"

    def already_clean(self, commands: list[SimpleCommand]) -> bool:
        return removes_path(commands, r"^/var/lib/apt/lists/?(\*|$)")

    def blocker(self, document: Document, stage: Stage, run: Instruction) -> str | None:
        for later, commands in shell_runs(stage):
            if later.index <= run.index:
                continue
            verbs = [apt_verb(command) for command in commands]
            if "update" in verbs:
                return None
            if any(verb in ("install", "upgrade", "dist-upgrade", "build-dep") for verb in verbs):
                return f"line {later.start_line} installs with apt without its own `apt-get update`"
        return None
