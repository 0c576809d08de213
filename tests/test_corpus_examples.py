"""The worked examples in corpus/: each folder's Dockerfile, fixed with the folder's own .dockerfix.toml and its
files as build context, gives expected.Dockerfile, which BuildKit parses and which a second run leaves alone."""

from __future__ import annotations

import dockerfile
import pytest
from conftest import REPO

from dockerfix.rewriter.config import discover
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.pipeline import read_source, run_source
from dockerfix.rewriter.registry import all_rules
from dockerfix.rewriter.source import Source

EXAMPLES = sorted(REPO.glob("corpus/*/*/Dockerfile"))


def test_every_rule_has_a_worked_example():
    documented = {path.parent.parent.name for path in EXAMPLES}
    missing = {rule.code for rule in all_rules()} - documented
    assert not missing, f"rules without a worked example in corpus/: {sorted(missing)}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.parent.relative_to(REPO / "corpus").as_posix())
def test_worked_example(path):
    settings = discover(path)
    context = BuildContext.from_directory(path.parent, dockerfile=path)
    result = run_source(read_source(path), settings, context, path)
    expected = (path.parent / "expected.Dockerfile").read_text()
    assert result.new_text == expected
    assert result.findings
    # other files the fixes change (DF204's .dockerignore) are given as expected.<name without its leading dot>
    expected_files = {
        "." + other.name.removeprefix("expected."): other.read_text()
        for other in path.parent.glob("expected.*")
        if other.name != "expected.Dockerfile"
    }
    assert {file.relative: file.content for file in result.other_files} == expected_files
    # an example changes its file (or another), unless its findings rewrite nothing by design: no fix (DF001) or a
    # proposal only (display-only, DF117)
    proposals_only = all(
        finding.fix is None or finding.fix.applicability == "display-only" for finding in result.findings
    )
    assert expected != path.read_text() or result.other_files or proposals_only
    dockerfile.parse_string(expected)
    if ".dockerignore" in expected_files:
        context = context.with_ignore(expected_files[".dockerignore"])
    again = run_source(Source(expected, str(path)), settings, context, path)
    assert again.new_text == expected and not again.other_files
