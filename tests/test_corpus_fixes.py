"""Every rewrite of every corpus Dockerfile (real, expert, BuildKit's inputs) still parses with BuildKit's parser and
is idempotent, for both builder targets; with target = "legacy" no fix writes BuildKit-only syntax. Every rule runs,
the opt-in ones included (`Selection()` selects by prefix only), with every fix applied."""

from __future__ import annotations

import dockerfile
import pytest
from conftest import EXPERT, all_corpus_files, corpus_id, requires_corpus
from test_builder_target import buildkit_only, fix_texts

from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.engine import Selection
from dockerfix.rewriter.source import Source, SourceError

RULES = Selection().rules()
# the rules whose fixes depend on the target: a file none of them flags is rewritten the same for both
TARGET_RULES = {rule.code for rule in RULES if rule.buildkit_syntax}


def context_for(path):
    if EXPERT in path.parents:
        return BuildContext.from_directory(path.parent, dockerfile=path)
    listing = path.with_name(path.name.replace(".Dockerfile", ".context.txt"))
    if not listing.exists():
        return None
    return BuildContext.from_file_list(listing.read_text().splitlines())


@requires_corpus
@pytest.mark.parametrize("path", all_corpus_files(), ids=corpus_id)
def test_rewrite_parses_with_buildkit_and_is_idempotent(path):
    try:
        source = Source.decode(path.read_bytes(), str(path))
        parse(source)
    except SourceError:
        pytest.skip("BuildKit rejects the input itself")
    context = context_for(path)
    result = rewrite_checked(source, context, "buildkit")
    if any(finding.code in TARGET_RULES for finding in (*result.findings, *result.applied, *result.remaining)):
        result = rewrite_checked(source, context, "legacy")
    assert not [(code, content) for code, content in fix_texts(result) if buildkit_only(content)]
    assert len(buildkit_only(result.text)) <= len(buildkit_only(source.text))


def rewrite_checked(source, context, target) -> engine.FixResult:
    options = {"target": target}
    result = engine.fix(source, RULES, context, unsafe_fixes=True, options=options)
    assert not result.failures, result.failures
    assert result.converged
    if not result.changed:
        return result
    before = dockerfile.parse_string(source.text)
    after = dockerfile.parse_string(result.text)
    # DF201 adds a COPY of the manifests, DF301 an apt install for the slim image, DF304 writes a new stage;
    # every other fix keeps or lowers the count
    if not any(finding.code == "DF304" for finding in result.applied):
        assert len(after) <= len(before) + sum(1 for finding in result.applied if finding.code in ("DF201", "DF301"))
    again = engine.fix(Source(result.text), RULES, context, unsafe_fixes=True, options=options)
    assert again.text == result.text, f"a second run changed the file (target {target})"
    assert not [f for f in again.remaining if f.fix is not None and f.fix.applicability.name != "DISPLAY_ONLY"]
    return result
