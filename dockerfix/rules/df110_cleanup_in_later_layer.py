"""DF110: a cleanup RUN in a later layer frees nothing; move it into the RUN that made the files."""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from msgspec.structs import replace

from dockerfix.knowledge.analysis import Invocation, copy_destination, shell_runs, tool_and_arguments
from dockerfix.knowledge.distributions import stage_apt_lists_gain
from dockerfix.knowledge.shelledits import append_blocker, append_edit, appendable_text
from dockerfix.knowledge.shellfacts import manager_of
from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, ByteGain, Edit, Finding, Gain, Savings, Unknown
from dockerfix.rewriter.rule import Example, Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand

CACHE_CLEANUPS = {"clean", "autoclean", "cache"}
LOOKBACK = 256  # instructions between a cleanup and the RUN that made its files, at most


APT_LISTS = "/var/lib/apt/lists"


def cleanup_paths(command: SimpleCommand) -> list[str] | None:
    """Absolute literal paths an `rm` removes, `[]` for a package-manager clean, None for anything else."""
    name, arguments = tool_and_arguments(command)
    if name == "rm":
        paths = [argument for argument in arguments if argument is not None and not argument.startswith("-")]
        if (
            not paths
            or any(argument is None for argument in arguments)
            or not all(path.startswith("/") for path in paths)
        ):
            return None
        return [path.rstrip("*").rstrip("/") or "/" for path in paths]
    if manager_of(name) is not None and Invocation.of(command).verb in CACHE_CLEANUPS:
        return []
    return None


def cleanup_gain(document: Document, stage: Stage, commands: list[SimpleCommand]) -> Gain:
    """What the cleanup frees once it runs in the creating layer: the measured apt lists when it removes them (a lower
    bound when it removes more), unknown for anything else."""
    removed = [path for command in commands for path in cleanup_paths(command) or ()]
    others = [path for path in removed if not path.startswith(APT_LISTS)]
    if len(others) == len(removed):
        return Unknown(f"the size of {', '.join(removed) or 'the package cache'} was not measured")
    gain = stage_apt_lists_gain(document, stage)
    return replace(gain, at_least=True) if others and isinstance(gain, ByteGain) else gain


def creates(run_text: str, commands: list[SimpleCommand], cleanup: list[SimpleCommand]) -> bool:
    """Whether this earlier RUN made what the cleanup removes: it names every removed path, and it runs the package
    manager whose cache the cleanup clears."""
    for command in cleanup:
        paths = cleanup_paths(command)
        if paths:
            if not all(path in run_text for path in paths if path != APT_LISTS):
                return False
            if APT_LISTS in paths and not any(
                (manager := manager_of(c.name_literal)) and manager.name == "apt" for c in commands
            ):
                return False
        else:
            cleaner = manager_of(command.name_literal)
            if not any(manager_of(c.name_literal) is cleaner for c in commands):
                return False
    return True


def writes_under(stage: Stage, instruction: Instruction, paths: list[str]) -> bool:
    """Whether a COPY/ADD may put files where the cleanup removes them (its destination is one of them, inside one,
    or above one)."""
    target = copy_destination(stage, instruction) if instruction.value else None
    if target is None:
        return True
    return any(
        path == target or path.startswith(target.rstrip("/") + "/") or target.startswith(path.rstrip("/") + "/")
        for path in paths
    )


class CleanupInLaterLayer(Rule):
    """Move a cleanup RUN into the earlier RUN that created the files.

    What it does
        Flags a RUN made only of cleanup (`rm` of absolute paths, `apt-get clean`, `yum clean all`, `npm cache
        clean`, ...) that is separated from the RUN that created those files by other instructions, and moves the
        cleanup to the end of that earlier RUN. (Adjacent RUNs are DF101's job.)

    Why
        A layer cannot shrink an earlier one: files deleted in a later layer are hidden but still downloaded with the
        image. Deleted in the layer that created them, they never reach it.

    Example
        RUN curl -o /tmp/app.tgz https://example.invalid/app.tgz && tar -xzf /tmp/app.tgz -C /opt
        COPY config /etc/app/
        RUN rm /tmp/app.tgz
        becomes
        RUN curl -o /tmp/app.tgz https://example.invalid/app.tgz && tar -xzf /tmp/app.tgz -C /opt \\
            && rm /tmp/app.tgz
        COPY config /etc/app/

    Gain
        The files stop weighing in the image: for `/var/lib/apt/lists`, its size measured per Debian release (see
        DF102; a lower bound when the cleanup removes more); unknown for other paths. One layer fewer.

    Fix safety
        Unsafe: the files are gone earlier, so an instruction in between that reads them would change. The fix is only
        offered when the earlier RUN names every removed path, no RUN in between mentions them or runs the same
        package manager, and no USER instruction lies between.
    """

    code = "DF110"
    layer_rule = True
    name = "cleanup-in-later-layer"
    summary = "Cleanup in a later layer frees nothing; do it in the RUN that created the files."
    valid = (
        "FROM debian\nRUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\nCOPY a /a\n",
        "FROM debian\nRUN curl -o /tmp/a.tgz https://example.invalid/a.tgz\nRUN tar -xzf /tmp/a.tgz\n"
        "RUN rm /tmp/a.tgz\n",
        "FROM debian\nRUN echo hi\nCOPY a /a\nRUN rm -rf /tmp/unrelated\n",
        "FROM debian\nRUN apt-get update && apt-get install -y curl\nCOPY rootfs/ /\nRUN rm -rf /var/lib/apt/lists/*\n",
    )
    invalid = (
        Example(
            "FROM debian\nRUN curl -o /tmp/app.tgz https://example.invalid/app.tgz && tar -xzf /tmp/app.tgz -C /opt\n"
            "COPY config /etc/app/\n# tidy up\nRUN rm /tmp/app.tgz\n",
            "FROM debian\n"
            "RUN curl -o /tmp/app.tgz https://example.invalid/app.tgz && tar -xzf /tmp/app.tgz -C /opt \\\n"
            "    && rm /tmp/app.tgz\nCOPY config /etc/app/\n",
            unsafe=True,
        ),
        Example(
            "FROM debian\nRUN apt-get update && apt-get install -y curl\nENV A=1\n"
            "RUN apt-get clean && rm -rf /var/lib/apt/lists/*\n",
            "FROM debian\nRUN apt-get update && apt-get install -y curl \\\n"
            "    && apt-get clean && rm -rf /var/lib/apt/lists/*\nENV A=1\n",
            unsafe=True,
        ),
    )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in document.stages:
            runs = list(shell_runs(stage))
            index: _StageIndex | None = None  # read when a RUN only cleans up: most stages have none
            for run, commands in runs:
                if (
                    not commands
                    or any(cleanup_paths(command) is None for command in commands)
                    or run.heredocs
                    or append_blocker(run)
                ):
                    continue
                index = index or _StageIndex(document, stage, runs)
                creator = index.creator(run, commands)
                if creator is None:
                    continue
                deleted_start = run.leading_comments[0].line.start if run.leading_comments else run.span[0]
                fix = self.fix(
                    f"Move the cleanup into the RUN on line {creator.start_line}",
                    [
                        append_edit(document, creator, appendable_text(document, run)),
                        Edit.delete(deleted_start, run.span[1]),
                    ],
                    Applicability.UNSAFE,
                )
                yield self.finding(
                    f"cleanup in a later layer frees nothing: the files stay in the layer of line {creator.start_line}",
                    run.start,
                    run.header_end,
                    fix,
                    Savings.of(cleanup_gain(document, stage, commands), layers=1),
                )


class _StageIndex:
    """One stage read once, so that finding a cleanup's creator costs a search of the text, not a walk back over
    every earlier instruction (a file of thousands of cleanup RUNs stays linear).

    Walking back from a cleanup, the first instruction that names a removed path or may change what the cleanup
    removes (a USER, a RUN of a package manager) decides: the creator is that instruction when it is a RUN that made
    the files, and nothing further back can be, since it would have that instruction between. The walk looks at most
    ``LOOKBACK`` instructions back: a text search over everything before each cleanup would make a file of
    thousands of cleanups quadratic again, and no Dockerfile of the corpora puts more than a few instructions
    between a cleanup and the RUN it belongs in."""

    def __init__(self, document: Document, stage: Stage, runs: list[tuple[Instruction, list[SimpleCommand]]]) -> None:
        self.document = document
        self.stage = stage
        self.instructions = stage.instructions
        self.starts = [instruction.span[0] for instruction in self.instructions]
        self.commands = {run.index: commands for run, commands in runs}
        self.first = self.instructions[0].index  # a stage's instructions are consecutive
        self.deciders = [
            position
            for position, instruction in enumerate(self.instructions)
            if instruction.cmd == "user" or (instruction.cmd == "run" and self._runs_a_manager(instruction))
        ]
        self.copies = [
            position for position, instruction in enumerate(self.instructions) if instruction.cmd in ("copy", "add")
        ]

    def _runs_a_manager(self, run: Instruction) -> bool:
        content = self.document.text[slice(*run.span)]
        return any(manager_of(word) for word in content.split()) or any(
            manager_of(command.name_literal) for command in self.commands.get(run.index, ())
        )

    def _last_mention(self, paths: list[str], before: int) -> int:
        """The position of the last instruction before position ``before``, and at most ``LOOKBACK`` back, whose text
        names one of ``paths``; -1 when none does (text between instructions, comments, does not count)."""
        low = self.starts[max(0, before - LOOKBACK)]
        found = -1
        for path in paths:
            end = self.starts[before]
            while True:
                offset = self.document.text.rfind(path, low, end)
                if offset < 0:
                    break
                position = bisect.bisect_right(self.starts, offset) - 1
                if position > found and offset + len(path) <= self.instructions[position].span[1]:
                    found = position
                    break
                if position <= found:
                    break
                end = offset + len(path) - 1
        return found

    def creator(self, run: Instruction, cleanup: list[SimpleCommand]) -> Instruction | None:
        """The nearest earlier RUN that made the files, when moving the cleanup there provably only matters to
        instructions that do not mention them."""
        paths = [path for command in cleanup for path in (cleanup_paths(command) or [])]
        at = run.index - self.first
        decider = bisect.bisect_left(self.deciders, at) - 1
        position = max(self._last_mention(paths, at), self.deciders[decider] if decider >= 0 else -1)
        if position <= 0 or position < at - LOOKBACK:  # nothing near, or the FROM
            return None
        candidate = self.instructions[position]
        commands = self.commands.get(candidate.index)
        if commands is None or position == at - 1 or append_blocker(candidate):
            return None
        text = (
            candidate.shell_script.source
            if candidate.script_heredoc
            else self.document.text[candidate.arguments_start : candidate.header_end]
        )
        if not creates(text, commands, cleanup):
            return None
        first_copy = bisect.bisect_right(self.copies, position)
        for copy in self.copies[first_copy : bisect.bisect_left(self.copies, at)]:
            if writes_under(self.stage, self.instructions[copy], paths):
                return None
        return candidate
