"""The analysis rules share (dockerfix.knowledge.analysis): computed once per document, kept with it and freed with
it; what each command runs, read one way for every rule."""

from __future__ import annotations

import gc
import weakref

from dockerfix.knowledge.analysis import Invocation, mount_options, run_user, runs_running, shell_runs, workdir_at
from dockerfix.knowledge.cachemounts import PIP_CACHE, CacheMount
from dockerfix.knowledge.cacherules import AddFlagRule, AppendCleanupRule
from dockerfix.rewriter import engine, stages
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.engine import Selection

BUSY = """\
FROM python:3.12 AS build
WORKDIR /src
USER app:app
RUN --mount=Type=CACHE,DST=/root/.cache/pip,Src=x python -m pip install -r requirements.txt && apt-get -y install curl
COPY . .
FROM build
RUN npm ci && rm -rf /tmp/x
"""


def test_a_checked_document_is_freed_with_its_analysis():
    """Module-level caches keyed on the document or its stages kept the last documents an editor checked alive."""
    document = parse_text(BUSY)
    engine.check(document, Selection().rules())
    gone = weakref.ref(document)
    stages = [weakref.ref(stage) for stage in document.stages]
    del document
    gc.collect()
    assert gone() is None
    assert all(stage() is None for stage in stages)


def test_facts_are_computed_once_and_shared():
    document = parse_text(BUSY)
    stage = document.stages[0]
    ((run, commands),) = shell_runs(stage)
    ((again, same_commands),) = shell_runs(stage)
    assert again is run and all(a is b for a, b in zip(commands, same_commands, strict=True))
    assert Invocation.of(commands[0]) is Invocation.of(same_commands[0])
    assert mount_options(run) is mount_options(run)


def test_an_invocation_reads_program_verb_and_arguments():
    document = parse_text(BUSY)
    stage = document.stages[0]
    ((run, (pip, apt)),) = shell_runs(stage)
    read = Invocation.of(pip)
    assert (read.tool, read.verb, read.after_verb) == ("pip", "install", ["-r", "requirements.txt"])
    assert read.runs({"pip", "pip3"}, {"install"}) and not read.runs({"pip"}, {"download"})
    assert (
        read.verb_at is not None and pip.arguments[read.own_index(read.verb_at)].literal == "install"
    )  # `-m pip` shifts the words
    assert Invocation.of(apt).verb == "install" and Invocation.of(apt).verb_at == 1


def test_the_run_state_in_force():
    document = parse_text(BUSY)
    build, final = document.stages
    ((run, _),) = shell_runs(build)
    assert workdir_at(build, run) == "/src"
    assert run_user(build, run) == "app:app"
    ((later, _),) = shell_runs(final)
    assert run_user(final, later) is None and workdir_at(final, later) is None


def test_mount_fields_are_read_as_buildkit_reads_them():
    """BuildKit's parseMount: keys in any case, `dst`/`destination` for `target`, `src` for `source`, the type in
    lower case."""
    ((run, _),) = shell_runs(parse_text(BUSY).stages[0])
    assert mount_options(run) == [{"type": "cache", "target": "/root/.cache/pip", "source": "x"}]


def test_a_plugin_cleanup_rule_gets_the_cache_mount_whatever_its_bases():
    """The cache mount is a strategy a rule holds, not a mixin that worked only when listed first among the bases
    (reversed, its mount fix silently disappeared)."""

    class CleanupBase(AppendCleanupRule):
        cleanup = "rm -rf /root/.cache/pip"
        cached_paths = ("/root/.cache/pip",)

        def creates_mess(self, command):
            return Invocation.of(command).runs({"pip"}, {"install"})

        def cleaned_up(self, stage, run, commands):
            return False

    class PipCleanup(CleanupBase):
        code, name, summary = "DF990", "pip-cleanup", "pip leaves its cache"

        @property
        def cache_mount(self):
            return CacheMount(lambda stage, run, commands: [(0, PIP_CACHE)])

    (finding,) = engine.check(parse_text("FROM python:3.12\nRUN pip install flask\n"), [PipCleanup()])
    assert finding.fix is not None and finding.fix.title.startswith("Mount a build cache over `/root/.cache/pip`")
    (legacy,) = engine.check(
        parse_text("FROM python:3.12\nRUN pip install flask\n"), [PipCleanup()], options={"target": "legacy"}
    )
    assert legacy.fix is not None and legacy.fix.title.startswith("Append `rm -rf /root/.cache/pip`")


MANY_STAGES = """\
ARG BASE=debian:bookworm
ARG TAG="3.12"
FROM ${BASE} AS base
RUN apt-get update && apt-get install -y gcc && gcc -o /x /x.c
FROM python:${TAG} AS deps
RUN pip install flask && gem install rails && apk add curl
FROM base AS build
COPY --from=deps /usr/local /usr/local
RUN pip install flask
FROM build
RUN apt-get install -y curl && rm -rf /var/lib/apt/lists
"""


def test_every_rule_shares_one_expansion_of_each_image(monkeypatch):
    """Rules asked for each stage's image with the global ARGs expanded tens of times per document, each time
    lexing it character by character (issue 22: 45,000 expansions for the 1,519 files of the real corpus): it is a
    fact of the document, expanded once per image and once per ARG default."""
    expanded: list[str] = []

    def counting_expand_word(text, variables):
        expanded.append(text)
        return real_expand_word(text, variables)

    real_expand_word = stages.expand_word
    monkeypatch.setattr(stages, "expand_word", counting_expand_word)
    engine.check(parse_text(MANY_STAGES), Selection().rules())
    assert sorted(expanded) == sorted(["debian:bookworm", '"3.12"', "${BASE}", "python:${TAG}", "base", "build"])


def test_a_flag_rule_asks_about_mounts_only_for_runs_that_want_its_flag(monkeypatch):
    """DF104/DF105/DF108/DF118 worked out the cache-mount fix of every RUN (20,000 times on the real corpus for
    131 findings) before looking for a command that wants the flag."""
    asked = []
    real_mount_fix = AddFlagRule.mount_fix

    def counting_mount_fix(self, document, stage, run, commands, context):
        asked.append(run.start_line)
        return real_mount_fix(self, document, stage, run, commands, context)

    monkeypatch.setattr(AddFlagRule, "mount_fix", counting_mount_fix)
    document = parse_text("FROM debian\n" + "RUN echo step\n" * 20 + "RUN pip install flask\n")
    findings = engine.check(document, Selection(select=("DF105",)).rules())
    assert [finding.code for finding in findings] == ["DF105"]
    assert asked == [22]


def test_the_runs_running_some_programs_come_in_file_order_each_once():
    """A rule about some programs reads only the RUNs that run one of them, from the stage's index: a RUN that runs
    two of them comes once, RUNs of different programs in file order, and each caller gets lists of its own."""
    stage = parse_text(
        "FROM debian\nRUN apt-get update\nRUN pip install flask\nRUN gem install rails && apt-get install -y curl\n"
    ).stages[0]

    def lines(tools):
        return [run.start_line for run, _ in runs_running(stage, tools)]

    assert lines(("apt-get", "apt")) == [2, 4]
    assert lines(("gem", "apt-get")) == [2, 4] and lines(("gem", "pip", "gem")) == [3, 4]
    assert lines({"pip": "python"}) == [3] and lines(["npm"]) == [] and lines(()) == []
    _, commands = next(runs_running(stage, ("gem",)))
    commands.clear()
    assert [len(commands) for _, commands in runs_running(stage, ("gem",))] == [2]
