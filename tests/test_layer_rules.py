"""Layer rules: what their valid/invalid examples cannot show (fix applicability, titles, edits never applied)."""

from __future__ import annotations

from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.fixes import Applicability
from dockerfix.rewriter.source import Source
from dockerfix.rules.df117_compiler_left_installed import CompilerLeftInstalled


def test_a_compiler_left_installed_gets_a_removal_proposal_never_applied():
    one_run = "FROM alpine:3.20\nRUN apk add --virtual .build-deps gcc musl-dev && pip install uwsgi && make -C /src\n"
    (finding,) = engine.check(parse_text(one_run), [CompilerLeftInstalled()])
    assert finding.fix is not None and finding.fix.applicability is Applicability.DISPLAY_ONLY
    assert [edit.content for edit in finding.fix.edits] == [" \\\n    && apk del --no-network .build-deps"]
    assert "line 2: `make`" in finding.message
    assert engine.fix(Source(one_run), [CompilerLeftInstalled()], unsafe_fixes=True).text == one_run
    spread = "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y g++-12\nRUN cmake --build /src\n"
    (finding,) = engine.check(parse_text(spread), [CompilerLeftInstalled()])
    assert finding.fix is None and "`g++-12`" in finding.message
    purged_later = spread + "RUN apt-get purge -y g++-12\n"
    assert engine.check(parse_text(purged_later), [CompilerLeftInstalled()]) == ()
