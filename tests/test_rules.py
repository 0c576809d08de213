"""Every rule's own documentation and examples, run as tests (the Fixit model)."""

from __future__ import annotations

import re
from pathlib import Path

import dockerfile
import pytest

from dockerfix.rewriter import engine
from dockerfix.rewriter.context import BuildContext
from dockerfix.rewriter.document import parse
from dockerfix.rewriter.registry import all_rules
from dockerfix.rewriter.rule import DOC_SECTIONS, GLOBAL_OPTIONS, Example, Rule
from dockerfix.rewriter.source import Source

RULES = all_rules()


def examples(kind: str) -> list:
    return [
        pytest.param(rule, example, id=f"{rule.code}-{kind}-{number}")
        for rule in RULES
        for number, example in enumerate(getattr(rule, kind))
    ]


def build_context(example: Example | str, tmp_path: Path) -> BuildContext | None:
    files = example.context if isinstance(example, Example) else None
    if files is None:
        return None
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    return BuildContext.from_directory(tmp_path)


def test_there_are_rules():
    assert RULES, "no rules discovered"


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.code)
def test_rule_documents_itself(rule):
    doc = rule.documentation()
    for section in DOC_SECTIONS:
        assert re.search(rf"^{section}\b", doc, re.MULTILINE), f"{rule.code} docstring lacks a '{section}' section"
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", rule.name)
    assert rule.summary and rule.valid and rule.invalid


def options(rule: type[Rule], example: Example) -> dict:
    """The example's configuration as the configuration loader hands it to rules (parsed by the rule's options)."""
    declared = {option.name: option for option in (*GLOBAL_OPTIONS, *rule.options)}
    return {name: declared[name].parse(value) for name, value in (example.options or {}).items()}


def rules_for(rule: type[Rule]) -> list[Rule]:
    """The rules an example runs with: the rule alone, or every rule for one that reviews the others' findings."""
    return [selected() for selected in RULES] if rule.review is not Rule.review else [rule()]


@pytest.mark.parametrize("rule, text", examples("valid"))
def test_valid_example_is_not_flagged(rule, text):
    document = parse(Source(text))
    assert [f for f in engine.check(document, rules_for(rule)) if f.code == rule.code] == []


@pytest.mark.parametrize("rule, example", examples("invalid"))
def test_invalid_example_is_flagged_and_fixed(rule, example, tmp_path):
    context = build_context(example, tmp_path)
    rules = rules_for(rule)
    configured = options(rule, example)
    source = Source(example.before)
    findings = [f for f in engine.check(parse(source), rules, context, options=configured) if f.code == rule.code]
    assert findings, f"{rule.code} does not flag its own invalid example"
    safe = engine.fix(source, rules, context, unsafe_fixes=False, options=configured)
    result = engine.fix(source, rules, context, unsafe_fixes=example.unsafe, options=configured)
    assert not result.failures
    assert {file.path: file.content for file in result.files} == dict(example.fixed_files or {})
    if example.fixed_files and example.unsafe:
        assert not safe.files, "an unsafe example's fix must not change files without --unsafe-fixes"
    if example.fixed is None:
        assert result.text == example.before
        return
    assert result.text == example.fixed
    if example.unsafe:
        assert safe.text == example.before, "an unsafe example's fix must not be applied without --unsafe-fixes"
    dockerfile.parse_string(result.text)  # BuildKit still parses it
    again = engine.fix(Source(result.text), rules, context, unsafe_fixes=example.unsafe, options=configured)
    assert again.text == result.text, "fix is not idempotent"
