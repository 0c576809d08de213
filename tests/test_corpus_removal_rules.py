"""The opt-in rules whose fixes remove something (DF103 recommended packages, DF301 the full base image) and DF117,
selected explicitly: every rewrite of every corpus Dockerfile still parses with BuildKit's parser and is idempotent
(tests/test_corpus_fixes.py covers the default set only)."""

from __future__ import annotations

import dockerfile
import pytest
from conftest import all_corpus_files, corpus_id, requires_corpus
from test_corpus_fixes import context_for

from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.source import Source, SourceError
from dockerfix.rules.df103_apt_no_install_recommends import AptNoInstallRecommends
from dockerfix.rules.df117_compiler_left_installed import CompilerLeftInstalled
from dockerfix.rules.df301_slim_base_image import SlimBaseImage

RULES = [AptNoInstallRecommends(), CompilerLeftInstalled(), SlimBaseImage()]


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
    if result.changed:
        dockerfile.parse_string(result.text)
        again = engine.fix(Source(result.text), RULES, context, unsafe_fixes=True)
        assert again.text == result.text
