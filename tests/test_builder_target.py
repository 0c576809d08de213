"""The `target` setting: with "legacy" no fix writes syntax only BuildKit builds; with "buildkit" exactly the rules
that say so (`buildkit_syntax`, shown by `--explain`) do. The real corpus is scanned the same way in
test_corpus_fixes.py, which rewrites every corpus file for both targets."""

from __future__ import annotations

import re

import pytest
from test_rules import build_context, rules_for

from dockerfix.rewriter import engine
from dockerfix.rewriter.document import parse, parse_text
from dockerfix.rewriter.engine import Selection
from dockerfix.rewriter.registry import all_rules, rule_options
from dockerfix.rewriter.rule import Example
from dockerfix.rewriter.source import Source

RULES = Selection().rules()

# What the classic builder rejects: BuildKit-only instruction flags (`--chown` it reads), heredocs, and the parser
# directives it ignores (a `# syntax=` frontend it would not fetch)
BUILDKIT_ONLY = re.compile(
    r"--(mount|chmod|link|parents|exclude|checksum|network|security|start-interval)\b"
    r"|<<-?[ \t]*[\"']?[A-Za-z_]"
    r"|^[ \t]*#[ \t]*(syntax|check)[ \t]*=",
    re.MULTILINE,
)


def buildkit_only(text: str) -> list[str]:
    return [match.group(0) for match in BUILDKIT_ONLY.finditer(text)]


def fix_texts(result: engine.FixResult) -> list[tuple[str, str]]:
    """(rule code, inserted text) of every edit of every fix the run saw, applied or not."""
    findings = {*result.findings, *result.applied, *result.remaining}
    return [(finding.code, edit.content) for finding in findings if finding.fix for edit in finding.fix.edits]


def examples():
    for rule in all_rules():
        for number, example in enumerate(rule.valid):
            yield pytest.param(rule, example, id=f"{rule.code}-valid-{number}")
        for number, invalid in enumerate(rule.invalid):
            yield pytest.param(rule, invalid, id=f"{rule.code}-invalid-{number}")


def run(example: Example | str, target: str, folder, rules=RULES) -> engine.FixResult:
    """The example fixed by ``rules`` (every rule by default), its configuration's ``target`` replaced."""
    options = {**((example.options or {}) if isinstance(example, Example) else {}), "target": target}
    configured = {name: rule_options()[name].parse(value) for name, value in options.items()}
    text = example.before if isinstance(example, Example) else example
    return engine.fix(Source(text), rules, build_context(example, folder), unsafe_fixes=True, options=configured)


@pytest.mark.parametrize("rule, example", list(examples()))
def test_no_legacy_fix_writes_buildkit_syntax(rule, example, tmp_path):
    result = run(example, "legacy", tmp_path)
    assert not [(code, content) for code, content in fix_texts(result) if buildkit_only(content)]
    assert len(buildkit_only(result.text)) <= len(buildkit_only(result.source.text))
    parse(Source(result.text))


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_buildkit_syntax_is_declared_by_the_rules_that_write_it(rule, tmp_path_factory):
    """`--explain` tells which fixes need BuildKit from ``buildkit_syntax``: a rule whose examples' fixes write it
    declares it, and a rule that declares it shows it in an example. The rule runs alone (with the others only when
    it reviews their findings): a rule that copies lines (DF304's new stage) would otherwise carry syntax another
    rule's fix wrote into them."""
    written = [
        content
        for example in rule.invalid
        for code, content in fix_texts(run(example, "buildkit", tmp_path_factory.mktemp(rule.code), rules_for(rule)))
        if code == rule.code and buildkit_only(content)
    ]
    assert bool(written) == bool(rule.buildkit_syntax)


@pytest.mark.parametrize(
    "code, dockerfile",
    [
        (
            "DF102",
            "FROM debian\n"
            "RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked apt-get update && apt-get install -y "
            "curl\n",
        ),
        ("DF104", "FROM alpine\nRUN --mount=type=cache,target=/var/cache/apk apk update && apk add curl\n"),
        ("DF105", "FROM python:3.12\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask\n"),
        (
            "DF105",
            "FROM python:3.12\nENV XDG_CACHE_HOME=/cache\nRUN --mount=type=cache,target=/cache pip install flask\n",
        ),
        ("DF106", "FROM fedora\nRUN --mount=type=cache,target=/var/cache/dnf dnf install -y git\n"),
        (
            "DF107",
            "FROM node:20\nRUN --mount=type=cache,target=/usr/local/share/.cache/yarn yarn install --frozen-lockfile\n",
        ),
        ("DF107", "FROM node:20\nENV npm_config_cache=/tmp/npm\nRUN --mount=type=cache,target=/tmp/npm npm ci\n"),
        (
            "DF109",
            "FROM continuumio/miniconda3\nRUN --mount=type=cache,target=/opt/conda/pkgs conda install -y numpy\n",
        ),
        (
            "DF112",
            "FROM php:8.3\nENV COMPOSER_HOME=/composer\n"
            "RUN --mount=type=cache,target=/composer/cache composer install\n",
        ),
        ("DF113", "FROM ruby:3.3\nRUN --mount=type=cache,target=/usr/local/bundle/cache bundle install\n"),
    ],
)
@pytest.mark.parametrize("target", ["buildkit", "legacy"])
def test_a_cache_mount_over_the_cache_keeps_the_rule_quiet(code, dockerfile, target):
    rules = [rule for rule in Selection().rules() if rule.code == code]
    findings = engine.check(parse_text(dockerfile), rules, options={"target": target})
    assert not findings, findings
    # the same RUN without its mount is flagged: the mount is what quiets the rule
    unmounted = re.sub(r"--mount=\S+ ", "", dockerfile)
    assert engine.check(parse_text(unmounted), rules, options={"target": target})
