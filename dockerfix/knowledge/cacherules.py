"""The two shapes most layer rules about a package manager's cache take: "append a cleanup command to the RUN that
made the mess" (``AppendCleanupRule``) and "add a flag to the package-manager command" (``AddFlagRule``), on a common
``CacheRule`` that says what the fix removes, what it saves and how a build cache mount may hold the cache instead.
Rules subclass these and supply the facts; the finding, the safety checks and the edit live here once."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import ClassVar

from dockerfix.rewriter.document import Document, Instruction, Stage
from dockerfix.rewriter.fixes import Applicability, ContentChange, Edit, Finding, Fix, Gain, Savings, Unknown
from dockerfix.rewriter.rule import Rule, RuleContext
from dockerfix.rewriter.shell import SimpleCommand

from .analysis import Invocation, cache_mount_targets, runs_running, shell_runs, stages_running
from .cachemounts import CacheMount
from .dependencies import installed_packages
from .gains import package_cache_gain
from .shelledits import append_blocker, append_edit, insert_after


class CacheRule(Rule):
    """A layer rule about a cache a RUN leaves in the image: what its fix removes, and how a build cache mount may
    hold the cache instead."""

    cached_paths: ClassVar[tuple[str, ...]] = ()
    # the programs (``Invocation.tool``) of the commands the rule is about: its check reads only the RUNs that run
    # one of them (one index per stage, shared by every rule); None reads every RUN (a plugin rule that does not say)
    tools: ClassVar[Collection[str] | None] = None

    def stages_to_check(self, document: Document) -> Iterable[Stage]:
        """The document's stages that may run a command the rule is about (see ``tools``)."""
        return document.stages if self.tools is None else stages_running(document, self.tools)

    def runs_to_check(self, stage: Stage) -> Iterator[tuple[Instruction, list[SimpleCommand]]]:
        """The stage's shell RUNs that may run a command the rule is about (see ``tools``)."""
        return shell_runs(stage) if self.tools is None else runs_running(stage, self.tools)

    def content_change(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        """What the fix removes from this RUN's image (`dockerfix verify` accepts exactly that)."""
        return ContentChange(removes=self.cached_paths)

    @property
    def cache_mount(self) -> CacheMount | None:
        """How a build cache mount holds the cache instead of the rule's own fix (``cachemounts.CacheMount``)."""
        return None

    def gain(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> Gain:
        """The bytes the fix takes out of the shipped image, from measured or cited data (``knowledge.gains``)."""
        return Unknown(f"the size of {', '.join(self.cached_paths) or 'the cache'} after this install was not measured")

    def savings(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> Savings:
        return Savings.of(self.gain(document, stage, run, commands))

    def removed_content(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> ContentChange:
        """``content_change``, with the folders the stage or the RUN moved a mountable cache to."""
        declared = self.content_change(stage, run, commands)
        mount = self.cache_mount
        return declared if mount is None else mount.content_change(declared, stage, run, commands)

    def mount_fix(
        self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand], context: RuleContext
    ) -> Fix | None:
        mount = self.cache_mount
        return None if mount is None else mount.fix(self, document, stage, run, commands, context)


class AppendCleanupRule(CacheRule):
    """A RUN that installs with a package manager but leaves its cache behind gets the cleanup appended."""

    cleanup: ClassVar[str] = ""

    def creates_mess(self, command: SimpleCommand) -> bool:
        raise NotImplementedError

    def culprit(self, run: Instruction, commands: list[SimpleCommand]) -> SimpleCommand | None:
        """The RUN's first command that makes the mess (``creates_mess``), None when none does."""
        return next((command for command in commands if self.creates_mess(command)), None)

    def cleaned_up(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> bool:
        """Whether the RUN already removes the mess (or keeps it out of the image)."""
        raise NotImplementedError

    def blocker(self, document: Document, stage: Stage, run: Instruction) -> str | None:
        """A rule-specific reason not to fix this RUN (the finding is still reported)."""
        return None

    def follow_up(self, document: Document, stage: Stage, run: Instruction) -> tuple[list[Edit], str]:
        """Edits elsewhere that the cleanup needs to keep later instructions working, and what the title says of
        them (checked by ``blocker`` first)."""
        return [], ""

    def cleanup_command(self, document: Document, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> str:
        """The command that cleans up after this RUN's commands (``blocker`` says when none can be written)."""
        return self.cleanup

    def cleared_folders(self, stage: Stage, run: Instruction, commands: list[SimpleCommand]) -> tuple[str, ...]:
        """The folders the appended cleanup removes, as the fix's title names them."""
        return self.cached_paths

    def message(self, cleanup: str) -> str:
        return f"this RUN leaves the package manager's cache in the layer; `{cleanup}` in the same RUN removes it"

    def cache_mounted(self, run: Instruction) -> bool:
        """Whether a `--mount=type=cache` of the RUN, as written, is over one of ``cached_paths`` or below it."""
        return bool(self.cached_paths) and any(
            target.rstrip("/").startswith(self.cached_paths) for target in cache_mount_targets(run) if target
        )

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        for stage in self.stages_to_check(document):
            for run, commands in self.runs_to_check(stage):
                culprit = self.culprit(run, commands)
                # the mounts as written before the RUN's reading: a RUN the fix mounted a cache over is checked
                # again in the fix loop's next pass, and they answer it
                if culprit is None or self.cache_mounted(run) or self.cleaned_up(stage, run, commands):
                    continue
                start = run.arguments_to_source(culprit.start)
                end = run.arguments_to_source(culprit.end, end=True)
                cleanup = self.cleanup_command(document, stage, run, commands)
                savings = self.savings(document, stage, run, commands)
                mounted = (
                    self.mount_fix(document, stage, run, commands, context)
                    if self.blocker(document, stage, run) is None
                    else None
                )
                if mounted is not None:
                    companions, note = self.follow_up(document, stage, run)
                    fix = self.fix(
                        mounted.title + note, [*mounted.edits, *companions], mounted.applicability, mounted.changes
                    )
                    yield self.finding(self.message(cleanup), start, end, fix, savings)
                    continue
                reason = append_blocker(run) or self.blocker(document, stage, run)
                if reason is not None:
                    yield self.finding(
                        f"{self.message(cleanup)} (not fixed automatically: {reason})", start, end, None, savings
                    )
                    continue
                companions, note = self.follow_up(document, stage, run)
                cleared = self.cleared_folders(stage, run, commands)
                fix = self.fix(
                    f"Append `{cleanup}` (removes {', '.join(cleared) or 'the cache'} from the image){note}",
                    [append_edit(document, run, cleanup), *companions],
                    Applicability.UNSAFE,
                    self.removed_content(stage, run, commands),
                )
                yield self.finding(self.message(cleanup), start, end, fix, savings)


def package_cache_savings(manager: str, invocations: list[Invocation]) -> Savings:
    """What not keeping ``manager``'s cache saves for these installs: ``gains.package_cache_gain`` of the packages
    they name, or unknown when they do not name them all."""
    named = [installed_packages(manager, invocation) for invocation in invocations]
    gain: Gain
    if not named or any(names is None for names in named):
        gain = Unknown(
            f"what {manager} installs here is not all named in the Dockerfile (a requirements file, a lockfile, a"
            " path); its cache was measured only for named packages"
        )
    else:
        gain = package_cache_gain(manager, [name for names in named for name in names or ()])
    return Savings.of(gain)


class AddFlagRule(CacheRule):
    """A package-manager command gets a flag that keeps its cache (or extras) out of the image."""

    flag: ClassVar[str]
    effect: ClassVar[str]

    def wants_flag(self, invocation: Invocation) -> bool:
        """The command is one this rule is about (the flag's absence is checked separately)."""
        raise NotImplementedError

    def has_flag(self, arguments: list[str | None]) -> bool:
        return self.flag in arguments

    def exempt(self, stage: Stage, run: Instruction) -> bool:
        return False

    def exempt_command(self, stage: Stage, run: Instruction, position: int) -> bool:
        """Whether the command at ``position`` of the RUN is left alone (what the variables it sees say)."""
        return False

    def set_by_base(self, document: Document, stage: Stage) -> bool:
        """Whether what the stage is built on (an earlier stage, a base image whose ENV the data knows) already does
        what the flag does."""
        return False

    def depends_on_base(self, document: Document, stage: Stage) -> str | None:
        """What the claim depends on that the Dockerfile does not show (a setting of an unknown base image), said
        in the message; None when the file shows all."""
        return None

    def _unflagged(self, commands: list[SimpleCommand]) -> list[tuple[int, SimpleCommand, Invocation]]:
        """The RUN's commands (position, command, what it runs) that want the flag and do not have it."""
        found = []
        for position, command in enumerate(commands):
            invocation = Invocation.of(command)
            if self.wants_flag(invocation) and not self.has_flag(invocation.arguments):
                found.append((position, command, invocation))
        return found

    def flag_index(self, invocation: Invocation) -> int | None:
        """The argument the flag goes after: the verb (`pip install`), or the last word of a longer subcommand."""
        return invocation.verb_at

    def check(self, document: Document, context: RuleContext) -> Iterator[Finding]:
        # the cheap per-command test first: most RUNs run no command that wants the flag, and what the stage, the
        # RUN and its mounts say (each a pure question) is asked only of those that do
        for stage in self.stages_to_check(document):
            wanting = [
                (run, commands, unflagged)
                for run, commands in self.runs_to_check(stage)
                if (unflagged := self._unflagged(commands))
            ]
            if not wanting or self.set_by_base(document, stage):
                continue
            caveat = self.depends_on_base(document, stage)
            for run, commands, unflagged in wanting:
                if self.cached_paths and any(
                    target.startswith(self.cached_paths) for target in cache_mount_targets(run) if target
                ):
                    continue
                if self.exempt(stage, run):
                    continue
                mounted = self.mount_fix(document, stage, run, commands, context)
                for position, command, invocation in unflagged:
                    arguments = invocation.arguments
                    if self.exempt_command(stage, run, position):
                        continue
                    verb, after = invocation.verb_at, self.flag_index(invocation)
                    if verb is None or after is None:
                        continue
                    start = run.arguments_to_source(command.start)
                    end = run.arguments_to_source(command.end, end=True)
                    edit = insert_after(run, command, invocation.own_index(after), self.flag)
                    fix = mounted or self.fix(
                        f"Add `{self.flag}` ({self.effect})",
                        [edit],
                        Applicability.UNSAFE,
                        self.removed_content(stage, run, commands),
                    )
                    verb_words = [
                        word for word in arguments[verb : after + 1] if word is not None and not word.startswith("-")
                    ]
                    command_words = " ".join([str(invocation.tool), *verb_words])
                    yield self.finding(
                        f"`{command_words}` without `{self.flag}`; with it, {self.effect}"
                        + (f" ({caveat})" if caveat else ""),
                        start,
                        end,
                        fix,
                        self.savings(document, stage, run, commands),
                    )
