"""A refactoring is quiet: on every Dockerfile of the real and expert corpora, every finding (code, range,
applicability, message, fix title and edits), the rule failures and the fully fixed text are what the snapshot in
tests/data/ recorded. The snapshot changes only with an intended change of findings or fixes, regenerated with
`python tests/findings_snapshot.py --regenerate` and named in the commit."""

from __future__ import annotations

import json

import pytest
from conftest import requires_corpus
from findings_snapshot import SNAPSHOT, corpus_files, key, record

RECORDED = json.loads(SNAPSHOT.read_text())


@requires_corpus
def test_the_snapshot_covers_the_whole_corpus():
    assert sorted(RECORDED) == sorted(key(path) for path in corpus_files())


@requires_corpus
@pytest.mark.parametrize("path", corpus_files(), ids=key)
def test_findings_and_fixes_are_unchanged(path):
    assert record(path) == RECORDED[key(path)], f"see `python tests/findings_snapshot.py --show {path}`"
