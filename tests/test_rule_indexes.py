"""The indexes rules share to read less of a document (issue 22: each of the sixteen cache rules walked every command
of every RUN): exact, so no finding changes, and built from the document they are about."""

from __future__ import annotations

import gc
import weakref

import pytest
from conftest import real_dockerfiles, requires_corpus

from dockerfix.knowledge.analysis import (
    Invocation,
    commands_running,
    runs_running,
    shell_runs,
    source_copies,
    stages_running,
)
from dockerfix.knowledge.baseimages import Reference, resolved_reference
from dockerfix.knowledge.cacherules import AddFlagRule, AppendCleanupRule, CacheRule
from dockerfix.knowledge.shellfacts import Role, command_role
from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.engine import Selection
from dockerfix.rewriter.registry import all_rules
from dockerfix.rewriter.shell import SimpleCommand
from dockerfix.rewriter.source import SourceError
from dockerfix.rewriter.stages import shipped_offset_test
from dockerfix.rules.df102_apt_lists_cleanup import needing_lists
from dockerfix.rules.df117_compiler_left_installed import compiler_install
from dockerfix.rules.df205_build_cache_mount import BuildCacheMount, uses_by_tool

MANAGERS = """\
FROM debian
RUN apt-get update && pip install flask
RUN echo nothing
RUN /usr/bin/pip install x; python -m pip install y
RUN apk add curl && apt-get install -y git
"""


def lines(runs):
    return [run.start_line for run, _ in runs]


def test_the_runs_of_some_programs_are_those_that_run_one_in_file_order():
    stage = parse_text(MANAGERS).stages[0]
    assert lines(runs_running(stage, ("apt-get",))) == [2, 5]
    assert lines(runs_running(stage, ("pip", "apt-get"))) == [2, 4, 5]  # each RUN once, in file order
    assert lines(runs_running(stage, ("echo",))) == [3]
    assert lines(runs_running(stage, ("yum",))) == []
    (run, commands), *_ = runs_running(stage, ("pip",))
    assert [Invocation.of(command).tool for command in commands] == ["apt-get", "pip"]  # all the RUN's commands


def test_the_index_is_the_edited_documents_after_an_edit():
    """The fix loop parses the edited text again: the index must be that document's, not the one before the edit."""
    before = parse_text(MANAGERS)
    assert lines(runs_running(before.stages[0], ("gem",))) == []
    after = parse_text(MANAGERS.replace("RUN echo nothing", "RUN gem install rails"))
    assert lines(runs_running(after.stages[0], ("gem",))) == [3]
    assert lines(runs_running(before.stages[0], ("gem",))) == []


def test_the_commands_of_some_programs_are_those_that_run_one_in_file_order():
    """A rule about one command and the rest of its RUN reads these: each with its RUN's commands and its position."""
    stage = parse_text(MANAGERS).stages[0]
    found = [(run.start_line, position) for run, _, position in commands_running(stage, ("pip", "apt-get"))]
    assert found == [(2, 0), (2, 1), (4, 0), (4, 1), (5, 1)]
    run, commands, position = next(commands_running(stage, ("apk",)))
    assert (run.start_line, position) == (5, 0) and [command.name_literal for command in commands] == ["apk", "apt-get"]
    assert list(commands_running(stage, ("yum",))) == []
    edited = parse_text(MANAGERS.replace("RUN echo nothing", "RUN yum install -y git")).stages[0]
    assert [(run.start_line, position) for run, _, position in commands_running(edited, ("yum",))] == [(3, 0)]


def test_a_compiler_install_is_read_from_that_command():
    """DF117 keeps its reading with the command, which the fix loop's passes share while the RUN's text stays."""
    text = "FROM debian\nRUN apt-get update && apt-get install -y gcc\n"
    (_, commands), *_ = shell_runs(parse_text(text).stages[0])
    (_, edited), *_ = shell_runs(parse_text(text.replace("gcc", "curl")).stages[0])
    install = compiler_install(commands[1])
    assert install is not None and install.compilers == ("gcc",)
    assert compiler_install(edited[1]) is None
    assert compiler_install(commands[1]) is install


def test_the_source_copies_of_a_stage_are_the_edited_documents():
    """DF201 and DF203 ask each stage for its COPY of the whole context in every check: one reading per stage."""
    text = "FROM python:3.12\nCOPY requirements.txt .\nCOPY . /app\nCOPY --from=build . /srv\nADD ./ /opt\n"
    stage = parse_text(text).stages[0]
    assert [copy.start_line for copy in source_copies(stage)] == [3, 5]
    assert source_copies(stage) is source_copies(stage)
    edited = parse_text(text.replace("COPY . /app", "COPY src /app")).stages[0]
    assert [copy.start_line for copy in source_copies(edited)] == [5]


def test_a_stages_base_image_is_the_edited_documents():
    """Read once per stage and document for the rules that ask it of every stage in every check."""
    text = "ARG TAG=3.12\nFROM python:${TAG}-slim AS build\nFROM build\nFROM alpine\n"
    document = parse_text(text)
    first, built_on, last = document.stages
    assert resolved_reference(document, first) == Reference("python", "3.12-slim", None, False)
    assert resolved_reference(document, built_on) is None
    assert resolved_reference(document, first) is resolved_reference(document, first)
    edited = parse_text(text.replace("ARG TAG=3.12", "ARG TAG=3.13"))
    assert resolved_reference(edited, edited.stages[0]) == Reference("python", "3.13-slim", None, False)
    assert resolved_reference(document, first) == Reference("python", "3.12-slim", None, False)


STAGES = """\
FROM debian AS base
RUN apt-get update
FROM base
RUN pip install flask
FROM alpine
RUN apk add curl && pip install x
"""


def test_the_stages_running_some_programs_are_those_with_a_run_of_one_in_file_order():
    document = parse_text(STAGES)
    assert [stage.index for stage in stages_running(document, ("pip",))] == [1, 2]
    assert [stage.index for stage in stages_running(document, ("apt-get", "apk"))] == [0, 2]
    assert list(stages_running(document, ("gem",))) == []


def test_the_stages_running_some_programs_are_the_edited_documents():
    """A document that runs none of a rule's programs is skipped whole: an edited text that runs one is not."""
    before = parse_text(STAGES)
    assert list(stages_running(before, ("gem",))) == []
    after = parse_text(STAGES.replace("RUN pip install flask", "RUN gem install rails"))
    assert [stage.index for stage in stages_running(after, ("gem",))] == [1]
    assert list(stages_running(before, ("gem",))) == []


BUILDS = """\
FROM golang:1.22
RUN go mod download && cargo fetch
RUN echo nothing
RUN go build -o /app ./... && go test ./...
"""


def test_the_build_tools_of_a_stage_are_read_once_for_every_tool():
    stage = parse_text(BUILDS).stages[0]
    uses = uses_by_tool(stage)
    assert sorted(uses) == ["cargo", "go"]
    assert [(run.start_line, [position for position, _ in found]) for run, found in uses["go"]] == [
        (2, [0]),
        (4, [0, 1]),
    ]
    assert BuildCacheMount.uses(stage, "cargo") == uses["cargo"]
    edited = parse_text(BUILDS.replace("RUN echo nothing", "RUN cargo build")).stages[0]
    assert [run.start_line for run, _ in BuildCacheMount.uses(edited, "cargo")] == [2, 3]
    assert [run.start_line for run, _ in BuildCacheMount.uses(stage, "cargo")] == [2]


CACHE_RULES = [rule for rule in all_rules() if issubclass(rule, CacheRule) and rule.tools is not None]


@pytest.fixture(scope="module")
def commands():
    """Every command of the real corpus and of the cache rules' own examples (valid and invalid)."""
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in real_dockerfiles()]
    for rule in CACHE_RULES:
        texts.extend(rule.valid)
        texts.extend(example.before for example in rule.invalid)
    found: list[SimpleCommand] = []
    for text in texts:
        try:
            document = parse_text(text)
        except SourceError:
            continue
        found.extend(command for stage in document.stages for _, run in shell_runs(stage) for command in run)
    return found


def is_about(rule: CacheRule, command) -> bool:
    if isinstance(rule, AppendCleanupRule):
        return rule.creates_mess(command)
    assert isinstance(rule, AddFlagRule)
    return rule.wants_flag(Invocation.of(command))


@requires_corpus
@pytest.mark.parametrize("rule_class", CACHE_RULES, ids=lambda rule: rule.code)
def test_a_cache_rule_names_every_program_it_is_about(rule_class, commands):
    """A cache rule reads only the RUNs that run one of its ``tools``: every command it is about, in the real corpus
    and in its examples, runs one of them, or its findings there would be lost."""
    rule = rule_class()
    about = [command for command in commands if is_about(rule, command)]
    assert about
    assert {Invocation.of(command).tool for command in about} <= set(rule.tools)


def test_the_later_apt_installs_a_cleanup_would_break_are_the_edited_documents():
    """DF102 asks which later RUNs install from the lists once per RUN, for its blocker and its fix."""
    text = "FROM debian\nRUN apt-get update && apt-get install -y curl\nRUN apt-get install -y git\n"
    document = parse_text(text)
    stage = document.stages[0]
    first = stage.instructions[1]
    assert [run.start_line for run, _ in needing_lists(document, stage, first)] == [3]
    edited = parse_text(text.replace("RUN apt-get install -y git", "RUN apt-get update && apt-get install -y git"))
    assert needing_lists(edited, edited.stages[0], edited.stages[0].instructions[1]) == ()


def test_a_commands_role_is_read_from_that_command():
    update, install = (
        command
        for text in ("FROM debian\nRUN apt-get update\n", "FROM debian\nRUN apt-get install -y git\n")
        for _, commands in shell_runs(parse_text(text).stages[0])
        for command in commands
    )
    assert (command_role(update), command_role(install)) == (Role.UPDATE, Role.INSTALL)


def test_which_offsets_ship_is_read_from_the_edited_document():
    """One test per document and target: the engine and the merge rules share it, an edited text gets its own."""
    text = "FROM debian AS build\nRUN make\nFROM debian\nRUN echo\n"
    document = parse_text(text)
    ships = shipped_offset_test(document)
    assert shipped_offset_test(document) is ships
    assert not ships(text.index("RUN make"))
    edited_text = text.replace("FROM debian\nRUN echo", "FROM build\nRUN echo")
    assert shipped_offset_test(parse_text(edited_text))(edited_text.index("RUN make"))
    assert not ships(text.index("RUN make"))


CYCLE_PRONE = """\
FROM debian AS base
RUN apt-get update && apt-get install -y curl
RUN apt-get install -y git
FROM base
COPY . /app
RUN chown -R app /app
RUN go build ./...
"""


def test_a_checked_document_is_freed_as_soon_as_it_is_dropped():
    """A fact that holds its document (a key or a closure) makes a cycle: the document and everything read from it
    then wait for the garbage collector, which ran twice as often over the real corpus and took 0.3 s more."""
    gc.disable()
    try:
        document = parse_text(CYCLE_PRONE)
        findings = engine.check(document, Selection().rules())
        assert {"DF102", "DF115"} <= {finding.code for finding in findings}
        gone = weakref.ref(document)
        del document, findings
        assert gone() is None
    finally:
        gc.enable()
