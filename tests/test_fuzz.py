"""Fuzzing the whole engine with mutated real Dockerfiles (see tests/fuzzing.py for the mutations and the verdict):
no exception; where BuildKit accepts the input, its output is accepted too, a second run changes nothing and no rule
fails (no fix is dropped for breaking the file or an instruction it did not edit). CI runs a fixed, bounded set of
examples (`DOCKERFIX_FUZZ_EXAMPLES`, default 150); `python bench/fuzz.py` runs 50,000 random ones."""

from __future__ import annotations

import os

from conftest import requires_corpus
from fuzzing import KINDS, TOKENS, Mutation, corpus_files, judge, mutate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MUTATION = st.builds(
    Mutation,
    kind=st.sampled_from(KINDS),
    first=st.floats(0, 1, exclude_max=True),
    second=st.floats(0, 1, exclude_max=True),
    column=st.floats(0, 1, exclude_max=True),
    token=st.integers(0, len(TOKENS) - 1),
)


@requires_corpus
@settings(
    max_examples=int(os.environ.get("DOCKERFIX_FUZZ_EXAMPLES", "150")),
    derandomize=True,  # CI sees the same examples on every run; bench/fuzz.py explores
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.integers(0, len(corpus_files()) - 1), st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_corpus_files_keep_every_promise(index, mutations):
    corpus_file = corpus_files()[index]
    text = mutate(corpus_file.text, mutations)
    verdict = judge(text, corpus_file.context)
    assert not verdict.problems, (corpus_file.path.name, text, verdict.problems)
