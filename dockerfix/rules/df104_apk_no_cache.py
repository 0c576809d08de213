"""DF104: `apk add --no-cache`."""

from __future__ import annotations

from collections.abc import Iterator

from dockerfix.knowledge.analysis import Invocation, tool_and_arguments
from dockerfix.knowledge.cacherules import AddFlagRule
from dockerfix.knowledge.cleanups import kept_out_by_mount, removed_after
from dockerfix.knowledge.shelledits import append_blocker, append_edit, insert_after
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, Edit, Finding
from dockerfix.rewriter.rule import Example, RuleContext
from dockerfix.rewriter.shell import SimpleCommand

# A file apk writes when it fetches the index: a removal must cover it (`rm -rf /var/cache/apk/*`, the folder, ...).
INDEX_FILE = "/var/cache/apk/APKINDEX.00740ba1.tar.gz"
INDEX_CLEANUP = "rm -rf /var/cache/apk/*"
# Verbs that read the index and, given `--no-cache`, fetch it themselves instead of reading `apk update`'s copy.
NO_CACHE_VERBS = ("add", "upgrade")
NEEDS_NO_INDEX = ("del",)


def apk_verb(command: SimpleCommand) -> str | None:
    invocation = Invocation.of(command)
    return invocation.verb if invocation.tool == "apk" else None


def caches_index(command: SimpleCommand) -> bool:
    """An apk command that may write the index to /var/cache/apk: `apk update`, or an add/upgrade that fetches it,
    without `--no-cache` (or `--no-network`, which fetches nothing)."""
    verb = apk_verb(command)
    arguments = tool_and_arguments(command)[1]
    return verb in ("update", *NO_CACHE_VERBS) and "--no-cache" not in arguments and "--no-network" not in arguments


def updates_index(command: SimpleCommand) -> bool:
    return apk_verb(command) == "update" and caches_index(command)


class ApkNoCache(AddFlagRule):
    """Install with `apk add --no-cache`.

    What it does
        Flags `apk add` without `--no-cache` in a RUN that does not remove `/var/cache/apk` itself, and adds the flag
        after `add`. `apk add --no-network` (it installs from what is already there and never fetches an index) is
        left alone. A RUN that runs `apk update` is one finding: the index `apk update` writes stays in the layer even
        when every `apk add` has `--no-cache`, so the fix drops `apk update` and gives each `apk add` `--no-cache`
        (which fetches the index without keeping it); where `apk update` cannot be dropped (it is not followed by
        `&&` or `;`, or another apk command reads the index) it appends `rm -rf /var/cache/apk/*`.

    Why
        Without it apk keeps the package index in `/var/cache/apk` inside the layer; with it apk fetches the index,
        installs and keeps nothing, and no `apk update` or cleanup is needed.

    Example
        RUN apk update && apk add curl
        becomes
        RUN apk add --no-cache curl

    Gain
        Unknown: the size of apk's cache and index after the install (Alpine's archive was not reachable when
        the data was made) was not measured, so the finding says so instead of a number (it is reported, marked
        unknown).

    Fix safety
        Unsafe: the image no longer contains the index under `/var/cache/apk` (a cache apk re-creates on demand).
        Skipped when a `--mount` covers `/var/cache/apk`. A RUN whose only apk command is `apk update` keeps its
        index for later RUNs: reported, not fixed.
    """

    code = "DF104"
    tools = ("apk",)
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
        "FROM alpine\n"
        "RUN apk add --no-cache --virtual .build gcc && make && apk add --no-network --virtual .run-deps $deps "
        "&& apk del --no-network .build\n",
        "FROM alpine\nRUN apk --no-cache update && apk --no-cache upgrade && apk add --no-cache curl\n",
    )
    invalid = (
        Example("FROM alpine\nRUN apk add curl git\n", "FROM alpine\nRUN apk add --no-cache curl git\n", unsafe=True),
        Example(
            "FROM alpine\nRUN apk --update add --virtual .build gcc\n",
            "FROM alpine\nRUN apk --update add --no-cache --virtual .build gcc\n",
            unsafe=True,
        ),
        Example(
            "FROM alpine\nRUN apk update && apk add curl\n", "FROM alpine\nRUN apk add --no-cache curl\n", unsafe=True
        ),
        Example(
            "FROM alpine\nRUN set -eux; \\\n    apk update; \\\n    apk add --no-cache git; \\\n    apk add curl\n",
            "FROM alpine\nRUN set -eux; \\\n    apk add --no-cache git; \\\n    apk add --no-cache curl\n",
            unsafe=True,
        ),
        Example(
            "FROM alpine\nRUN apk update && apk info -a curl && apk add --no-cache curl\n",
            "FROM alpine\nRUN apk update && apk info -a curl && apk add --no-cache curl \\\n"
            "    && rm -rf /var/cache/apk/*\n",
            unsafe=True,
        ),
        Example(
            "FROM alpine\nRUN apk update\nRUN apk add curl\n",
            "FROM alpine\nRUN apk update\nRUN apk add --no-cache curl\n",
            unsafe=True,
        ),
    )

    def wants_flag(self, invocation: Invocation) -> bool:
        return invocation.runs(("apk",), ("add",)) and "--no-network" not in invocation.arguments

    def exempt(self, stage: Stage, run: Instruction) -> bool:
        """Cleaned up already, or given one finding for its `apk update` (see ``update_findings``)."""
        commands = list(run.shell_script.simple_commands())
        return self.cleaned_up(stage, run, commands) or any(updates_index(command) for command in commands)

    @staticmethod
    def cleaned_up(stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        fetches = [position for position, command in enumerate(commands) if caches_index(command)]
        return (
            not fetches
            or removed_after(stage, run, fetches[-1], INDEX_FILE)
            or kept_out_by_mount(stage, run, INDEX_FILE)
        )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        yield from super().check(document, context)
        for stage in document.stages:
            for run, commands in self.runs_to_check(stage):
                update = next((command for command in commands if updates_index(command)), None)
                if update is None or self.cleaned_up(stage, run, commands):
                    continue
                yield self.update_finding(document, stage, run, commands, update)

    def update_finding(
        self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand], update: SimpleCommand
    ) -> Finding:
        start = run.arguments_to_source(update.start)
        end = run.arguments_to_source(update.end, end=True)
        message = "`apk update` leaves the package index in /var/cache/apk in the layer"
        savings = self.savings(document, stage, run, commands)
        if not any(apk_verb(command) in NO_CACHE_VERBS for command in commands[commands.index(update) + 1 :]):
            return self.finding(f"{message} (not fixed: a later RUN may install from it)", start, end, None, savings)
        dropped = self.drop_update(document, run, commands, update)
        if dropped is not None:
            title = "Drop `apk update` and install with `apk add --no-cache` (the index is no longer kept in the image)"
            fix = self.fix(title, dropped, Applicability.UNSAFE, self.content_change(stage, run, commands))
            return self.finding(
                f"{message}; `apk add --no-cache` fetches the index without keeping it", start, end, fix, savings
            )
        reason = append_blocker(run)
        if reason is not None:
            return self.finding(f"{message} (not fixed: {reason})", start, end, None, savings)
        fix = self.fix(
            f"Append `{INDEX_CLEANUP}` (the index is no longer in the image)",
            [append_edit(document, run, INDEX_CLEANUP)],
            Applicability.UNSAFE,
            self.content_change(stage, run, commands),
        )
        return self.finding(f"{message}; `{INDEX_CLEANUP}` in the same RUN removes it", start, end, fix, savings)

    def drop_update(
        self, document: Document, run: Instruction, commands: list[SimpleCommand], update: SimpleCommand
    ) -> list[Edit] | None:
        """Edits that delete `apk update` with the operator after it and give every add/upgrade `--no-cache`; None
        when `apk update` is not a plain top-level step followed by `&&` or `;`, when another apk command would
        miss its index, or when a comment line lies in what would be deleted."""
        if sum(apk_verb(command) == "update" for command in commands) != 1 or not update.top_level:
            return None
        if any(
            apk_verb(command) not in (*NO_CACHE_VERBS, *NEEDS_NO_INDEX, "update")
            for command in commands
            if apk_verb(command)
        ):
            return None
        items = run.shell_script.items
        position = next(
            (index for index, item in enumerate(items) if item.start == update.start and item.end == update.end), None
        )
        if position is None or position + 1 >= len(items) or items[position].operator not in ("&&", ";", "\n"):
            return None
        start = run.arguments_to_source(items[position].start)
        end = run.arguments_to_source(items[position + 1].start)
        if any(start <= line.start < end for line in run.comment_lines):
            return None
        edits = [Edit.delete(start, end)]
        for command in commands:
            invocation = Invocation.of(command)
            if (
                apk_verb(command) in NO_CACHE_VERBS
                and invocation.verb_at is not None  # as it is for any verb
                and self.flag not in invocation.arguments
                and "--no-network" not in invocation.arguments
            ):
                edits.append(insert_after(run, command, invocation.own_index(invocation.verb_at), self.flag))
        return edits
