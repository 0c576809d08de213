"""Every rewrite of every corpus Dockerfile (real, expert, BuildKit's inputs) still parses with BuildKit's parser and
is idempotent."""

from __future__ import annotations

import dockerfile
import pytest

from conftest import EXPERT, all_corpus_files, corpus_id, requires_corpus
from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.engine import Selection
from dockerfix.rewriter.source import Source, SourceError

RULES = Selection().rules()


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
    result = engine.fix(source, RULES, context, unsafe_fixes=True)
    assert not result.failures, result.failures
    assert result.converged
    if not result.changed:
        return
    before = dockerfile.parse_string(source.text)
    after = dockerfile.parse_string(result.text)
    # DF201 adds a COPY of the manifests, DF301 an apt install for the slim image, DF304 writes a new stage;
    # every other fix keeps or lowers the count
    if not any(finding.code == "DF304" for finding in result.applied):
        assert len(after) <= len(before) + sum(1 for finding in result.applied if finding.code in ("DF201", "DF301"))
    again = engine.fix(Source(result.text), RULES, context, unsafe_fixes=True)
    assert again.text == result.text, "a second run changed the file"
    assert not [f for f in again.remaining if f.fix is not None and f.fix.applicability.name != "DISPLAY_ONLY"]
