"""DF115 beyond its examples: the builder target, symbolic modes, what it leaves alone and what it measures."""

from __future__ import annotations

from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.fixes import Applicability
from dockerfix.rewriter.pipeline import BuildContexts
from dockerfix.rewriter.rule import RuleContext
from dockerfix.rules.df115_copy_then_chown import CopyThenChown

MODE_AND_OWNER = "FROM debian\nCOPY . /app\nRUN chown -R 1000:1000 /app && chmod -R 755 /app\n"


def findings(text, **options):
    return list(CopyThenChown().check(parse_text(text), RuleContext(options=options)))


def test_legacy_builder_gets_no_chmod_and_a_chown_alone_is_still_moved():
    assert findings(MODE_AND_OWNER, target="legacy") == []
    (finding,) = findings("FROM debian\nCOPY . /app\nRUN chown -R 1000:1000 /app\n", target="legacy")
    assert [edit.content for edit in finding.fix.edits] == [" --chown=1000:1000", ""]


def test_a_symbolic_mode_is_written_only_under_a_frontend_that_reads_it():
    script = "COPY run.sh /usr/local/bin/run.sh\nRUN chmod +x /usr/local/bin/run.sh\n"
    (plain,) = findings("FROM debian\n" + script)
    assert plain.fix.applicability is Applicability.DISPLAY_ONLY and "1.14" in plain.fix.title
    (declared,) = findings("# syntax=docker/dockerfile:1\nFROM debian\n" + script)
    assert declared.fix.applicability is Applicability.UNSAFE
    assert (
        findings("# syntax=docker/dockerfile:1.4\nFROM debian\n" + script)[0].fix.applicability
        is Applicability.DISPLAY_ONLY
    )


def test_changes_that_reach_more_or_less_than_the_copy_are_not_reported():
    assert findings("FROM debian\nCOPY . /app\nRUN chown -R app /app/data\n") == []  # a subtree
    assert findings("FROM debian\nCOPY src/ /app/src/\nRUN chown -R app /app\n") == []  # a parent
    assert findings("FROM debian\nCOPY conf/ /etc/nginx/\nRUN chown -R nginx /etc/nginx\n") == []  # package files there
    assert findings("FROM debian\nCOPY a /app/\nRUN mkdir /app/x && chown -R app /app\n") == []  # written before
    assert findings("FROM debian\nCOPY . /app\nRUN chown app: /app\n") == []  # the login group
    assert findings("FROM debian\nCOPY a.sh /a.sh\nRUN chmod 4755 /a.sh\n") == []  # setuid is not carried by --chmod


def test_a_user_created_by_a_run_that_does_more_is_reported_without_a_fix():
    (finding,) = findings("FROM debian\nCOPY . /app\nRUN useradd app && chown -R app /app && make -C /app\n")
    assert finding.fix is None and "not fixed" in finding.message


def test_a_destination_the_stage_made_keeps_its_own_owner_and_folders_are_unsafe():
    (finding,) = findings(
        "FROM debian\nRUN mkdir -p /srv/app\nCOPY . /srv/app\nRUN chown -R www-data:www-data /srv/app\n"
    )
    assert finding.fix.applicability is Applicability.UNSAFE
    assert "chown www-data:www-data /srv/app" in [edit.content for edit in finding.fix.edits]


def test_savings_are_the_copied_bytes_measured_in_the_context(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x" * 1000)
    (tmp_path / "src" / "b.py").write_text("y" * 234)
    (tmp_path / "notes.txt").write_text("not copied")
    context = RuleContext(build_context=BuildContext.from_directory(tmp_path))
    text = "FROM debian\nCOPY src/ /app/\nRUN chown -R 1000:1000 /app\n"
    (finding,) = CopyThenChown().check(parse_text(text), context)
    assert finding.savings is not None and finding.savings.bytes == 1234 and finding.savings.layers == 1
    assert findings(text)[0].savings.bytes is None


def test_a_copy_whose_files_this_context_does_not_hold_claims_unknown_bytes_not_zero(tmp_path):
    """A folder of many Dockerfiles checked as one context holds none of one Dockerfile's sources: their size is
    unknown (reported), not 0 bytes (which min-gain would hold back)."""
    (tmp_path / "other.txt").write_text("another project's file")
    context = RuleContext(build_context=BuildContext.from_directory(tmp_path))
    text = "FROM debian\nCOPY entrypoint.sh /\nRUN chmod 755 /entrypoint.sh\n"
    (finding,) = CopyThenChown().check(parse_text(text), context)
    assert finding.savings is not None and finding.savings.bytes is None and finding.savings.bytes_unknown


def test_the_files_of_a_context_the_run_reads_again_are_seen(tmp_path):
    """The files a context sends are kept with it (every Dockerfile of the folder asks); once the run forgets the
    context (dockerfix wrote into the folder), the next Dockerfile measures the files that are there now."""
    dockerfile = tmp_path / "Dockerfile"
    text = "FROM debian\nCOPY entrypoint.sh /\nRUN chmod 755 /entrypoint.sh\n"
    dockerfile.write_text(text)
    contexts = BuildContexts()

    def copied_bytes():
        context = RuleContext(build_context=contexts.for_dockerfile(tmp_path, dockerfile))
        (finding,) = CopyThenChown().check(parse_text(text), context)
        assert finding.savings is not None
        return finding.savings.bytes

    assert copied_bytes() is None
    (tmp_path / "entrypoint.sh").write_text("#!/bin/sh\n")
    contexts.forget(tmp_path)
    assert copied_bytes() == 10


def test_a_workdir_made_in_the_stage_built_from_keeps_its_own_owner():
    text = (
        "FROM node:22-alpine AS base\nWORKDIR /app\nUSER node\n\nFROM base AS build\nUSER root\n"
        "COPY --chown=node:node . /app\nRUN chown -R node:node /app\n"
    )
    (finding,) = findings(text)
    assert [edit.content for edit in finding.fix.edits] == ["--chown=node:node", "chown node:node /app"]
    assert "folder copy" in finding.fix.title


def test_a_run_as_a_user_set_in_the_stage_built_from_is_left_alone():
    assert findings("FROM node:22-alpine AS base\nUSER node\n\nFROM base\nCOPY . /app\nRUN chown -R node /app\n") == []
