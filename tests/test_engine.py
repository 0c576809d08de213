"""The fix loop, suppressions, selection and plugin discovery, with small rules written for the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import maintainer_plugin, plugin_site
from hypothesis import given
from hypothesis import strategies as st

from dockerfix.rewriter import engine
from dockerfix.rewriter.config import Settings, discover
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.engine import Selection
from dockerfix.rewriter.fixes import Applicability, Edit, Finding, Fix, apply_edits
from dockerfix.rewriter.pipeline import run_source
from dockerfix.rewriter.registry import MIN_GAIN
from dockerfix.rewriter.rule import Rule
from dockerfix.rewriter.source import Source, SourceError


class UppercaseKeyword(Rule):
    """Test rule: lower-case keywords get upper-cased, one per pass (so the loop must iterate)."""

    code = "DF901"
    name = "uppercase-keyword"
    summary = "test"

    def check(self, document, context):
        for instruction in document.instructions:
            if instruction.keyword != instruction.keyword.upper():
                start = instruction.start
                end = start + len(instruction.keyword)
                yield self.finding(
                    "lower case", start, end, self.fix("upper-case", [Edit(start, end, instruction.keyword.upper())])
                )
                return


class BreaksTheFile(Rule):
    """Test rule: its fix opens a heredoc it never closes."""

    code = "DF902"
    name = "breaks-the-file"
    summary = "test"

    def check(self, document, context):
        for run in document.instructions:
            if run.cmd == "run" and "<<" not in run.arguments:
                yield self.finding(
                    "x", run.start, run.end, self.fix("break", [Edit.insert(run.arguments_start, "<<EOF ")])
                )


class UnsafeAppend(Rule):
    """Test rule: an unsafe fix that appends a label once."""

    code = "DF903"
    name = "unsafe-append"
    summary = "test"

    def check(self, document, context):
        if "LABEL" not in document.text:
            end = len(document.text)
            yield self.finding("x", 0, 1, self.fix("label", [Edit.insert(end, "LABEL a=b\n")], Applicability.UNSAFE))


class Crashes(Rule):
    """Test rule: raises."""

    code = "DF904"
    name = "crashes"
    summary = "test"

    def check(self, document, context):
        raise RuntimeError("boom")


class SwallowsTheNextLine(Rule):
    """Test rule: its fix ends the first RUN with an escape character and a blank, so BuildKit reads the next
    instruction as part of the RUN; the result still parses (the class of issue 15's DF101 merge)."""

    code = "DF905"
    name = "swallows-the-next-line"
    summary = "test"

    def check(self, document, context):
        for run in document.instructions:
            if run.cmd == "run" and not run.arguments.endswith("\\"):
                yield self.finding("x", run.start, run.end, self.fix("continue", [Edit.insert(run.end, " \\ ")]))
                return


class SwallowsAfterEveryRun(SwallowsTheNextLine):
    """Test rule: the same broken fix on every RUN, as a buggy rule gives on a big file."""

    code = "DF906"

    def check(self, document, context):
        for run in document.instructions:
            if run.cmd == "run" and not run.arguments.endswith("\\"):
                yield self.finding("x", run.start, run.end, self.fix("continue", [Edit.insert(run.end, " \\ ")]))


TEXT = "from a\nrun echo 1\ncopy . /x\n"


def test_fix_loop_iterates_to_a_fixpoint():
    result = engine.fix(Source(TEXT), [UppercaseKeyword()])
    assert result.text == "FROM a\nRUN echo 1\nCOPY . /x\n"
    assert len(result.applied) == 3 and result.converged and not result.remaining
    assert len(result.findings) == 1  # what the original file shows


def test_fix_that_breaks_the_file_is_reverted_and_reported():
    result = engine.fix(Source(TEXT), [UppercaseKeyword(), BreaksTheFile()])
    assert result.text == "FROM a\nRUN echo 1\nCOPY . /x\n"
    assert any(failure.code == "DF902" and "does not parse" in failure.message for failure in result.failures)


def test_fix_that_changes_an_instruction_it_does_not_edit_is_dropped_and_reported():
    text = "FROM a\nRUN echo 1\nENV X=1\nCOPY . /x\n"
    swallowed = engine.parse(Source("FROM a\nRUN echo 1 \\ \nENV X=1\nCOPY . /x\n"))
    assert [instruction.keyword for instruction in swallowed.instructions] == ["FROM", "RUN", "COPY"]  # parses fine
    result = engine.fix(Source(text), [SwallowsTheNextLine(), UppercaseKeyword()])
    assert result.text == text and not result.applied
    assert [failure.code for failure in result.failures] == ["DF905"]
    assert "line 3 (`ENV X=1`)" in result.failures[0].message


def test_fixes_beside_a_dropped_one_still_apply():
    result = engine.fix(Source("from a\nrun echo 1\nenv X=1\n"), [SwallowsTheNextLine(), UppercaseKeyword()])
    assert result.text == "FROM a\nRUN echo 1\nENV X=1\n"
    assert {failure.code for failure in result.failures} == {"DF905"}


class PrefixesRuns(Rule):
    """Test rule: a sound fix at the very point where DF902's broken one inserts, so the two touch."""

    code = "DF907"
    name = "prefixes-runs"
    summary = "test"

    def check(self, document, context):
        for run in document.instructions:
            if run.cmd == "run" and not run.arguments.startswith("echo 0;"):
                yield self.finding(
                    "x", run.start, run.end, self.fix("prefix", [Edit.insert(run.arguments_start, "echo 0; ")])
                )


def test_a_sound_fix_touching_a_broken_one_still_applies():
    """Issue 19, item 14: the broken fix reserved the text first, was dropped, and the loop stopped as converged, so
    the sound fix beside it, which applies alone, was never applied."""
    alone = engine.fix(Source("FROM a\nRUN echo 1\n"), [PrefixesRuns()])
    assert alone.text == "FROM a\nRUN echo 0; echo 1\n"
    result = engine.fix(Source("FROM a\nRUN echo 1\n"), [BreaksTheFile(), PrefixesRuns()])
    assert result.text == alone.text and result.converged
    assert [failure.code for failure in result.failures] == ["DF902"]


def test_a_fix_known_broken_reserves_no_text_in_later_passes():
    """In the second pass DF902's title is known broken: it must not keep DF907's fix out again."""
    result = engine.fix(
        Source("from a\nrun echo 1\nrun echo 2\n"), [UppercaseKeyword(), BreaksTheFile(), PrefixesRuns()]
    )
    assert result.text == "FROM a\nRUN echo 0; echo 1\nRUN echo 0; echo 2\n" and result.converged


def test_one_buggy_fix_title_is_reported_once():
    """The engine tries the fixes nearest to where the output went wrong first, so 200 copies of one bug cost a few
    parses and one report, not 200."""
    text = "FROM a\n" + "RUN echo 1\nENV X=1\n" * 200
    result = engine.fix(Source(text), [SwallowsAfterEveryRun()])
    assert [failure.code for failure in result.failures] == ["DF906"] and "line 3 (`ENV X=1`)" in result.failures[
        0
    ].message
    assert result.text == text and not result.applied


def test_merge_leaving_an_escape_before_blanks_keeps_the_next_instruction():
    """Issue 15's reproduction: DF101 merged `RUN echo foo\\ ;` and left `\\ ` at a line end, so ENV became part
    of the RUN. Whatever DF101 does now, the written file keeps ENV as an instruction."""
    text = "FROM alpine:3.19\nRUN rm -rf /tmp/a\nRUN echo foo\\ ;\nENV X=1\n"
    result = engine.fix(Source(text), Selection(select=("DF101",)).rules())
    after = engine.parse(Source(result.text))
    assert [instruction.keyword for instruction in after.instructions][-1] == "ENV"
    assert (
        engine.disturbed_instruction(
            engine.parse(Source(text)), [e for f in result.applied if f.fix for e in f.fix.edits], after
        )
        is None
    )


@given(
    st.lists(
        st.sampled_from(["RUN echo 1", "ENV X=1", "COPY . /x", "run true", "# note", "", "LABEL a=b \\", "  b=c"]),
        max_size=12,
    ),
    st.booleans(),
)
def test_invariant_holds_for_sound_fixes_and_catches_swallowing_ones(lines, final_newline):
    """Upper-casing keywords never disturbs another instruction; appending a continuation to a RUN that is
    followed by another instruction always does (and appending to a last line without a line ending is an edit of
    that instruction, not of what follows it)."""
    text = "FROM a\n" + "\n".join(lines) + ("\n" if final_newline else "")
    try:
        document = engine.parse(Source(text))
    except SourceError:
        return
    for finding in engine.check(document, [UppercaseKeyword()]):
        assert finding.fix is not None
        after = engine.parse(Source(apply_edits(text, finding.fix.edits)))
        assert engine.disturbed_instruction(document, finding.fix.edits, after) is None
    for finding in engine.check(document, [SwallowsTheNextLine()]):
        assert finding.fix is not None
        run = document.instructions_overlapping(finding.start, finding.end)[0]
        after = engine.parse(Source(apply_edits(text, finding.fix.edits)))
        swallows = run.index + 1 < len(document.instructions)
        assert (engine.disturbed_instruction(document, finding.fix.edits, after) is not None) == swallows


def test_unsafe_fixes_only_on_request():
    assert engine.fix(Source(TEXT), [UnsafeAppend()]).text == TEXT
    assert engine.fix(Source(TEXT), [UnsafeAppend()], unsafe_fixes=True).text == TEXT + "LABEL a=b\n"


def test_crashing_rule_is_reported_not_fatal():
    result = engine.fix(Source(TEXT), [Crashes(), UppercaseKeyword()])
    assert result.text.startswith("FROM a") and result.failures[0].code == "DF904"


def test_suppressions():
    text = "FROM a\n# dockerfix: ignore=DF901\nrun echo\n"
    assert engine.check(parse_text(text), [UppercaseKeyword()]) == ()
    assert engine.check(parse_text("# dockerfix: global ignore=DF901\nfrom a\n"), [UppercaseKeyword()]) == ()
    assert engine.check(parse_text("# dockerfix: ignore=DF101\nfrom a\n"), [UppercaseKeyword()])


@pytest.mark.parametrize("ignore", ["IGNORE", "Ignore", "İGNORE", "ıgnore"])  # İ and ı match i case-insensitively
def test_a_suppression_is_read_in_any_case(ignore):
    assert engine.check(parse_text(f"FROM a\n# DOCKERFIX: {ignore}=DF901\nrun echo\n"), [UppercaseKeyword()]) == ()


def test_selection_longest_prefix_wins():
    selection = Selection(select=("DF",), ignore=("DF1",))
    assert not selection.enabled("DF101") and selection.enabled("DF201")
    assert Selection(select=("DF101",), ignore=("DF1",)).enabled("DF101")
    assert not Selection(select=("DF1",), ignore=("DF1",)).enabled("DF101")
    assert not Selection(select=("DF2",)).enabled("DF101")


def test_plugin_rules_are_discovered_through_entry_points(tmp_path):
    site = plugin_site(tmp_path, maintainer_plugin("DF950"))
    (tmp_path / "Dockerfile").write_text("FROM a\nMAINTAINER me\n")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    listing = subprocess.run(
        [sys.executable, "-m", "dockerfix", "--list-rules"], env=environment, capture_output=True, text=True
    )
    assert "DF950  no-maintainer" in listing.stdout, listing.stderr
    # its findings state no gain: reported when it is selected by its exact code, as any such rule
    run = subprocess.run(
        [sys.executable, "-m", "dockerfix", "--extend-select", "DF950", "Dockerfile"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert "Dockerfile:2:1: DF950 MAINTAINER is deprecated" in run.stdout


def test_configuration_is_found_upwards_but_not_above_a_given_root(tmp_path):
    """The bot checks repositories out in a temporary folder: a configuration above the checkout is not theirs."""
    (tmp_path / ".dockerfix.toml").write_text('ignore = ["DF101"]\n')
    repository = tmp_path / "checkout" / "services"
    repository.mkdir(parents=True)
    (repository / "Dockerfile").write_text("FROM debian\n")
    assert discover(repository / "Dockerfile").ignore == ("DF101",)
    assert discover(repository / "Dockerfile", root=tmp_path / "checkout").ignore == ()
    assert discover(repository / "Dockerfile", root=tmp_path).ignore == ("DF101",)


@pytest.mark.parametrize(
    "script",
    [
        " && ".join(["apt-get install -y curl"] * 1000),
        "( " * 1000 + "pip install x" + " )" * 1000,
        "{ " * 1000 + "npm install;" + " }" * 1000,
        "echo " + "$(" * 1000 + "true" + ")" * 1000,
        " | ".join(["cat"] * 1000),
    ],
    ids=["and-list", "subshells", "groups", "substitutions", "pipeline"],
)
def test_every_rule_reads_deeply_nested_scripts(script):
    """Issue 15: a RUN with about 1,000 `&&` or nested `( )` made 13 rules fail with RecursionError."""
    text = f"FROM debian:bookworm\nRUN {script}\nRUN echo done\n"
    result = engine.fix(Source(text), Selection().rules(), unsafe_fixes=True)
    assert not result.failures


def test_required_fix_is_the_fix_of_a_finding_that_has_one_and_refuses_one_without():
    fix = Fix("Say hi", (Edit(0, 0, "# hi\n"),), Applicability.SAFE)
    assert Finding("DF999", "test", "m", 0, 4, fix).required_fix is fix
    with pytest.raises(ValueError, match="DF999 at offset 7: the finding has no fix"):
        _ = Finding("DF999", "test", "m", 7, 9).required_fix


def test_settings_that_differ_only_in_rule_options_get_their_own_rules_and_gate():
    """The rules and gate of a file's settings are worked out once per run (the same for every file), keyed by the
    settings; rule options are not in their hash, only in their equality, so settings differing only in an option
    must still not share an answer."""
    source = Source("FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n")
    default = run_source(source, Settings())
    demanding = run_source(source, Settings(options={MIN_GAIN.name: 10**12}))
    assert hash(Settings()) == hash(Settings(options={MIN_GAIN.name: 10**12}))
    assert "DF102" in {finding.code for finding in default.findings}
    assert "DF102" not in {finding.code for finding in demanding.findings}
    per_file = Settings(per_file_ignores=(("*.web", ("DF102",)),))
    assert "DF102" in {f.code for f in run_source(source, per_file, file=Path("Dockerfile")).findings}
    assert "DF102" not in {f.code for f in run_source(source, per_file, file=Path("Dockerfile.web")).findings}
