"""DF102: remove apt's package lists in the RUN that downloaded them."""

from __future__ import annotations

from bisect import bisect_right

from dockerfix.knowledge.analysis import Invocation, runs_running, stages_built_on
from dockerfix.knowledge.cachemounts import APT_ARCHIVES, APT_LISTS, CacheMount, ToolCache
from dockerfix.knowledge.cacherules import AppendCleanupRule
from dockerfix.knowledge.cleanups import kept_out_by_mount, removed_after
from dockerfix.knowledge.distributions import stage_apt_lists_gain
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import ContentChange, Edit, Gain
from dockerfix.rewriter.lazypattern import LazyPattern
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.shell import Script, SimpleCommand

APT = ("apt-get", "apt")
INSTALL_VERBS = ("install", "upgrade", "dist-upgrade", "build-dep")
APT_INSTALL = LazyPattern(r"\bapt(-get)?\b.*\b(install|upgrade|dist-upgrade|build-dep)\b")
# A file `apt-get update` writes: a removal must cover it (the folder, `lists/*`, `find lists -delete`, ...).
LISTS_FILE = "/var/lib/apt/lists/deb.debian.org_debian_dists_stable_InRelease"


def apt_verb(command: SimpleCommand) -> str | None:
    invocation = Invocation.of(command)
    return invocation.verb if invocation.tool in APT else None


def refreshes_lists(command: SimpleCommand) -> bool:
    """`apt-get update`, or an install that updates first (`apt-get install --update`, apt 3.0+)."""
    invocation = Invocation.of(command)
    if invocation.tool not in APT:
        return False
    verb = invocation.verb
    return verb == "update" or (verb in INSTALL_VERBS and "--update" in invocation.arguments)


def refreshes(run: Instruction) -> tuple[int, ...]:
    """The positions of the RUN's commands that refresh the lists, read once per RUN: the cleanup looked for after
    the last, the cache mount over the first and a later RUN's need of the lists all ask."""
    return run.facts(_read_refreshes)


def _read_refreshes(run: Instruction) -> tuple[int, ...]:
    return tuple(
        position for position, command in enumerate(run.shell_script.simple_commands()) if refreshes_lists(command)
    )


class AptListsCleanup(AppendCleanupRule):
    """Remove /var/lib/apt/lists in the RUN that ran `apt-get update`.

    What it does
        Flags a RUN that runs `apt-get update` (or `apt update`, or `apt-get install --update`) without removing the
        package lists after it in the same RUN, and appends `rm -rf /var/lib/apt/lists/*` to it. Any common way of
        removing them counts: `rm -rf /var/lib/apt/lists/*` (or the folder, with or without `-f`), a glob or
        variable that names them, `find /var/lib/apt/lists -type f -delete`, `apt-get dist-clean` (apt 2.7+), or a
        `--mount` (cache or tmpfs) over the folder. With `target = "buildkit"` (the default) the fix mounts build
        caches over `/var/lib/apt/lists` and `/var/cache/apt` instead, both `sharing=locked` (apt locks them; builds
        running at once wait for each other): the lists leave the image and the next `apt-get update` only fetches
        what changed. apt's `partial` download folders then keep the base image's owner and mode in the image (apt
        makes them `_apt:root` 0700 in the mounts instead); the fix declares them for `dockerfix verify`. The image's
        `docker-clean` hook (Debian's and Ubuntu's images empty `/var/cache/apt` after each install) is left in place:
        removing it would change every later apt install of the image, in later RUNs without the mount and in
        containers, which would then keep the downloaded packages.

    Why
        The package lists weigh tens of megabytes and are only needed to install. Deleted in a later RUN they still
        weigh in the image: a layer cannot take back what an earlier layer added.

    Example
        RUN apt-get update && apt-get install -y curl
        becomes (target = "buildkit")
        RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked --mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update && apt-get install -y curl
        or (target = "legacy")
        RUN apt-get update && apt-get install -y curl \\
            && rm -rf /var/lib/apt/lists/*

    Gain
        The size of `/var/lib/apt/lists` after `apt-get update`, measured per Debian release (bookworm, trixie) with
        the official images' apt settings (`dockerfix/data/gains.json`), for a base image whose tag names the
        release; unknown for Ubuntu (its archive was not measured) and for tags that do not name their release.

    Fix safety
        Unsafe: it removes files from the image (the lists, a cache that `apt-get update` re-creates). A later RUN
        of the stage, or of a stage built on it, that installs with apt without its own `apt-get update` would then
        fail: the fix gives it one (`apt-get update && ` before its install, which may fetch a newer index), or is not
        offered when that cannot be done (an exec-form RUN, an install after `||` or in a pipeline). Not flagged when
        the lists live in a `--mount=type=cache` (they never reach the image). The mount needs BuildKit.
    """  # noqa: E501 (the example keeps the one line the fix writes)

    code = "DF102"
    tools = APT
    layer_rule = True
    buildkit_syntax = "`RUN --mount=type=cache` over apt's lists and cache"
    name = "apt-lists-cleanup"
    summary = "Remove /var/lib/apt/lists/* in the RUN that ran apt-get update."
    hadolint = ("DL3009",)
    cleanup = "rm -rf /var/lib/apt/lists/*"
    cached_paths = ("/var/lib/apt",)
    valid = (
        "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\n",
        "FROM debian\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update && apt-get install -y curl\n",
        "FROM debian\nRUN apt-get install -y curl\n",
        "FROM debian\n"
        "RUN set -eux; apt-get update; apt-get install -y --no-install-recommends curl; apt-get dist-clean\n",
        "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -r /var/lib/apt/lists\n",
        "FROM debian\nRUN apt-get update && apt-get install -y curl && find /var/lib/apt/lists -type f -delete\n",
        "FROM debian\nARG LISTS=/var/lib/apt/lists\n"
        'RUN apt-get update && apt-get install -y curl && rm -rf "${LISTS}"/*\n',
        "FROM debian\nRUN --mount=type=tmpfs,target=/var/lib/apt/lists apt-get update && apt-get install -y curl\n",
    )
    invalid = (
        Example(
            "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
            "FROM debian\nRUN apt-get update && apt-get install -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            'FROM debian\nRUN apt-get update \\\n    && apt-get install -y curl;\nCMD ["curl"]\n',
            "FROM debian\nRUN apt-get update \\\n    && apt-get install -y curl \\\n"
            '    && rm -rf /var/lib/apt/lists/*\nCMD ["curl"]\n',
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM debian\nRUN apt-get update &&\\\n\tapt-get install -y curl\nRUN echo a \\\n    && echo b \\\n"
            "    && echo c\n",
            "FROM debian\nRUN apt-get update &&\\\n\tapt-get install -y curl && \\\n\trm -rf /var/lib/apt/lists/*\n"
            "RUN echo a \\\n    && echo b \\\n    && echo c\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM debian AS base\nRUN apt-get update && apt-get install -y curl\nCOPY . /src\n"
            "RUN make -C /src; apt-get install -y git\n"
            "FROM base\nRUN apt-get install -y jq\n",
            "FROM debian AS base\nRUN apt-get update && apt-get install -y curl \\\n"
            "    && rm -rf /var/lib/apt/lists/*\nCOPY . /src\n"
            "RUN make -C /src; apt-get update && apt-get install -y git \\\n    && rm -rf /var/lib/apt/lists/*\n"
            "FROM base\nRUN apt-get update && apt-get install -y jq \\\n    && rm -rf /var/lib/apt/lists/*\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM debian\nRUN apt-get update && apt-get install -y curl\n"
            "RUN test -x /usr/bin/git || apt-get install -y git\n",
            None,
        ),
        Example(
            "FROM debian\nRUN apt-get update && apt-get install -y curl\n"
            "RUN test -x /usr/bin/git || apt-get install -y git\n",
            None,
            options={"target": "legacy"},
        ),
        Example(
            'FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN ["apt-get", "install", "-y", "git"]\n',
            None,
        ),
        Example(
            "FROM debian\nRUN apt-get install --update -y curl\n",
            "FROM debian\nRUN apt-get install --update -y curl \\\n    && rm -rf /var/lib/apt/lists/*\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM debian\nRUN rm -rf /var/lib/apt/lists/* && apt-get update && apt-get install -y curl\n",
            "FROM debian\nRUN rm -rf /var/lib/apt/lists/* && apt-get update && apt-get install -y curl \\\n"
            "    && rm -rf /var/lib/apt/lists/*\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM debian\nRUN apt-get update && apt-get install -y curl # tools\n",
            "FROM debian\nRUN apt-get update && apt-get install -y curl \\\n    # tools\n"
            "    && rm -rf /var/lib/apt/lists/*\n",
            unsafe=True,
            options={"target": "legacy"},
        ),
        Example(
            "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
            "FROM debian\n"
            "RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked "
            "--mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update && apt-get install -y curl\n",
            unsafe=True,
        ),
        Example(
            "FROM debian AS base\nRUN apt-get update && apt-get install -y curl\n"
            "FROM base\nRUN apt-get install -y jq\n",
            "FROM debian AS base\n"
            "RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked "
            "--mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update && apt-get install -y curl\n"
            "FROM base\n"
            "RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked "
            "--mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update && apt-get install -y jq\n",
            unsafe=True,
        ),
    )

    def content_change(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        return ContentChange(removes=("/var/lib/apt/lists",))

    def creates_mess(self, command: SimpleCommand) -> bool:
        return refreshes_lists(command)

    def culprit(self, run: Instruction, commands: list[SimpleCommand]) -> SimpleCommand | None:
        positions = refreshes(run)  # read once per RUN: the cleanup and the mount ask for them too
        return commands[positions[0]] if positions else None

    def gain(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> Gain:
        return stage_apt_lists_gain(document, stage)

    @property
    def cache_mount(self) -> CacheMount:
        return CacheMount(self.caches)

    def caches(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> list[tuple[int, ToolCache]]:
        first = refreshes(run)[0]
        return [(first, APT_LISTS), (first, APT_ARCHIVES)]

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        last_refresh = refreshes(run)[-1]
        return removed_after(stage, run, last_refresh, LISTS_FILE) or kept_out_by_mount(stage, run, LISTS_FILE)

    def blocker(self, document: Document, stage: Stage, run: Instruction) -> str | None:
        for later, install in needing_lists(document, stage, run):
            if install is None:
                return f"line {later.start_line} installs with apt, and cannot be given its own `apt-get update`"
        return None

    def follow_up(self, document: Document, stage: Stage, run: Instruction) -> tuple[list[Edit], str]:
        """A later apt install that relied on these lists runs its own `apt-get update` first."""
        later = [
            (instruction, install)
            for instruction, install in needing_lists(document, stage, run)
            if install is not None
        ]
        if not later:
            return [], ""
        edits = [
            Edit.insert(instruction.arguments_to_source(install.start), "apt-get update && ")
            for instruction, install in later
        ]
        lines = ", ".join(str(instruction.start_line) for instruction, _ in later)
        return edits, f"; the apt install on line{'s' if len(later) > 1 else ''} {lines} gets its own `apt-get update`"


def needing_lists(
    document: Document, stage: Stage, run: Instruction
) -> tuple[tuple[Instruction, SimpleCommand | None], ...]:
    """The RUNs after ``run`` (in its stage, then in the stages built on it) that install with apt from the lists
    ``run`` fetched, each with the install command that can be given its own update (None when it cannot). Read
    once per RUN: the blocker and the fix both ask."""
    return document.facts(_read_needing_lists, stage, run)  # not the stage's: its facts must not hold the document


def _read_needing_lists(
    document: Document, stage: Stage, run: Instruction
) -> tuple[tuple[Instruction, SimpleCommand | None], ...]:
    found: list[tuple[Instruction, SimpleCommand | None]] = []
    for current in [stage, *stages_built_on(document, stage)]:
        steps = current.facts(_apt_steps)
        # the steps after ``run`` in its own stage: found by bisection, as every apt RUN of a stage asks
        first = bisect_right(steps, run.index, key=lambda step: step[0].index) if current is stage else 0
        for later, refresh, install in steps[first:]:
            if refresh:
                if current is stage:
                    return tuple(found)  # the lists exist again from here on: what follows is that RUN's concern
                break
            found.append((later, install))
    return tuple(found)


def _apt_steps(stage: Stage) -> tuple[tuple[Instruction, bool, SimpleCommand | None], ...]:
    """The stage's RUNs that refresh apt's lists or install from them, in order, each with whether it refreshes
    them and the install command that can be given its own update (None when it cannot). Read once per stage:
    each RUN that refreshes the lists asks for the RUNs after it, and most RUNs run no apt command."""
    running_apt = {later for later, _ in runs_running(stage, APT)}
    steps: list[tuple[Instruction, bool, SimpleCommand | None]] = []
    for later in stage.instructions:
        if later.cmd != "run":
            continue
        if later.is_json or later.heredocs or later.shell is None or later.shell.has_error:
            if APT_INSTALL.search(later.arguments) and "update" not in later.arguments:
                steps.append((later, False, None))
        elif later in running_apt:
            if refreshes(later):
                steps.append((later, True, None))
                continue
            install = next((c for c in later.shell.simple_commands() if apt_verb(c) in INSTALL_VERBS), None)
            if install is not None:
                steps.append((later, False, install if starts_and_list(later.shell, install) else None))
    return tuple(steps)


def starts_and_list(script: Script, command: SimpleCommand) -> bool:
    """Whether `update && ` can go right before this command and bind to it alone: it starts a top-level item that
    follows nothing or a `;`, `&&` or newline (after `||` or `|` the `&&` would take in what precedes it)."""
    if not command.top_level:
        return False
    for previous, item in zip((None, *script.items), script.items, strict=False):
        if item.start == command.start:
            return previous is None or previous.operator in (";", "&&", "\n")
    return False
