"""What a merge of RUNs claims: DF101 reports merges that keep the package index fresh or files out of the image,
with those gains as numbers; merges whose only gain is a layer are DF120's, outside the default selection."""

from __future__ import annotations

import re

from conftest import expert_dockerfiles, real_dockerfiles
from hypothesis import example, given
from hypothesis import strategies as st

from dockerfix.knowledge import runmerge
from dockerfix.rewriter import engine
from dockerfix.rewriter.config import Settings
from dockerfix.rewriter.document import parse_text
from dockerfix.rewriter.pipeline import run_source
from dockerfix.rewriter.rule import RuleContext
from dockerfix.rewriter.source import Source, SourceError
from dockerfix.rules.df101_merge_consecutive_run import MergeConsecutiveRun
from dockerfix.rules.df120_merge_runs_for_a_layer import MergeRunsForALayer

HOUSEKEEPING = "FROM debian:bookworm\nRUN sed -i 's/main/main contrib/' /etc/apt/sources.list\nRUN mkdir -p /app\n"
BASE_IMAGE_CLEANUP = (
    "FROM nginx:1.27\nRUN apt-get update && apt-get install -y curl\nRUN rm /etc/nginx/conf.d/default.conf\n"
)


def check(rule, text):
    return engine.check(parse_text(text), [rule])


def codes(text, **settings):
    return [finding.code for finding in run_source(Source(text), Settings(**settings)).findings]


def test_a_merge_that_gains_only_a_layer_is_not_reported_by_default():
    assert check(MergeConsecutiveRun(), HOUSEKEEPING) == ()
    assert "DF120" not in codes(HOUSEKEEPING) and "DF101" not in codes(HOUSEKEEPING)
    assert codes(HOUSEKEEPING, select=("DF",)) == []


def test_selecting_df120_by_its_code_brings_the_layer_merge_back():
    assert codes(HOUSEKEEPING, select=("DF120",)) == ["DF120"]
    (finding,) = check(MergeRunsForALayer(), HOUSEKEEPING)
    assert finding.savings.layers == 1 and finding.savings.byte_gain is None
    assert "one layer fewer" in finding.message


def test_removing_files_of_the_base_image_is_no_cleanup_in_the_layer_that_created_them():
    assert check(MergeConsecutiveRun(), BASE_IMAGE_CLEANUP) == ()
    (finding,) = check(MergeRunsForALayer(), BASE_IMAGE_CLEANUP)
    assert "created the files" not in finding.fix.title


def test_an_index_update_merged_with_its_install_claims_cache_correctness():
    (finding,) = check(MergeConsecutiveRun(), "FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y curl\n")
    assert finding.savings.cache_correctness and "stale package lists" in finding.savings.cache_correctness
    assert finding.savings.layers == 1 and finding.savings.byte_gain is None


def test_an_index_update_in_a_stage_that_does_not_ship_still_claims_cache_correctness():
    text = (
        "FROM debian:bookworm AS build\nRUN apt-get update\nRUN apt-get install -y gcc\n"
        "FROM scratch\nCOPY --from=build /usr/bin/gcc /gcc\n"
    )
    (finding,) = check(MergeConsecutiveRun(), text)
    assert finding.savings.cache_correctness and finding.savings.layers is None


def test_removing_what_the_earlier_run_downloaded_states_its_bytes_as_unknown():
    text = "FROM debian:bookworm\nRUN curl -fsSLo /tmp/tool.tgz https://example.com/tool.tgz\nRUN rm /tmp/tool.tgz\n"
    (finding,) = check(MergeConsecutiveRun(), text)
    reason = finding.savings.bytes_unknown
    assert reason and "/tmp/tool.tgz" in reason and "line 3" in reason
    assert finding.fix.title.endswith("(cleanup in the layer that created the files)")


def test_files_removed_two_runs_after_the_update_that_wrote_them_count_for_the_merge():
    text = "FROM debian:bookworm\nRUN apt-get update\nRUN apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n"
    fixed = engine.fix(parse_text(text).source, [MergeConsecutiveRun()]).text
    assert fixed.count("RUN ") == 1


def test_a_blocked_merge_still_states_its_claim():
    text = "FROM debian:bookworm\nRUN set -e; apt-get update; apt-get install -y gcc\nRUN apt-get purge -y gcc\n"
    (finding,) = check(MergeConsecutiveRun(), text)
    assert finding.fix is None and "apt's packages and cache" in finding.savings.bytes_unknown


def test_a_script_the_earlier_run_only_ran_is_not_its_output():
    copied = "FROM debian:bookworm\nCOPY install.sh .\nRUN bash ./install.sh --prefix /opt\nRUN rm install.sh\n"
    assert check(MergeConsecutiveRun(), copied) == ()
    built = "FROM debian:bookworm\nCOPY src /src\nRUN cd /src && make\nRUN rm -rf /src\n"
    assert [finding.code for finding in check(MergeConsecutiveRun(), built)] == ["DF101"]
    moved = "FROM debian:bookworm\nCOPY src /src\nRUN cd /src\nRUN rm -rf /src\n"
    assert check(MergeConsecutiveRun(), moved) == ()


def test_both_merge_rules_share_one_reading_of_each_pair(monkeypatch):
    """DF101 and DF120 each worked out what joining every pair of RUNs claims (issue 22): the claim is a fact of
    the pair, read once for both."""
    read = []
    real_reading = runmerge.installs_on_the_index_it_finds

    def counting_reading(run):
        read.append(run.start_line)
        return real_reading(run)

    monkeypatch.setattr(runmerge, "installs_on_the_index_it_finds", counting_reading)
    document = parse_text("FROM debian\nRUN apt-get update\nRUN apt-get install -y curl\n")
    findings = engine.check(document, [MergeConsecutiveRun(), MergeRunsForALayer()])
    assert [finding.code for finding in findings] == ["DF101"]
    assert read == [3]


def test_a_group_is_skipped_only_where_checking_it_finds_nothing():
    """A merge rule reads a group of RUNs only when one of its pairs claims what the rule reports (issue 22: most
    groups claim no more than a layer, and DF101 does not report that). The shortcut must agree with check_group,
    which asks each pair's claim of the earlier RUN alone until one claims: over both corpora, in shipped stages and
    in stages that only serve a COPY --from (where only the cache claim counts), a skipped group yields nothing."""
    skipped = 0
    for path in real_dockerfiles() + expert_dockerfiles():
        try:
            document = parse_text(path.read_text(encoding="utf-8", errors="surrogateescape"), str(path))
        except SourceError:  # a file BuildKit refuses: no RUNs to group
            continue
        for rule in (MergeConsecutiveRun(), MergeRunsForALayer()):
            for stage in document.stages:
                for group in runmerge.consecutive_runs(stage, RuleContext(), rule.code):
                    for ships in (True, False):
                        if not rule.claims_any(group, ships):
                            skipped += 1
                            assert list(rule.check_group(document, RuleContext(), group, False, ships)) == [], path
    assert skipped > 1000


PATH_TEXT = st.text(st.sampled_from("ab_.-/1٣é ="), max_size=12) | st.text(max_size=8)


@given(argument=PATH_TEXT, path=PATH_TEXT.filter(bool))
@example(argument="--prefix=/opt/app/bin", path="/opt/app")
@example(argument="/opt/application", path="/opt/app")
@example(argument="/opt/app.d /opt/app", path="/opt/app")
@example(argument="x٣/src", path="/src")
def test_a_path_is_named_as_a_whole_as_the_regular_expression_read_it(argument, path):
    """The merge claims compiled `(?<![\\w.-])PATH(?![\\w.-])` for every path they asked about (233 compiles on the
    real corpus); a plain search must answer alike, for letters and digits of any script too."""
    expected = re.search(r"(?<![\w.-])" + re.escape(path) + r"(?![\w.-])", argument) is not None
    assert runmerge.names_as_a_whole(argument, path) == expected
