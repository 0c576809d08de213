"""The shell model of RUN commands: structure, literals and spans."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockerfix.rewriter.shell import parse_shell


def items(text):
    script = parse_shell(text)
    return [(text[item.start : item.end], item.operator) for item in script.items]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a && b || c; d & e", [("a", "&&"), ("b", "||"), ("c", ";"), ("d", "&"), ("e", None)]),
        ("apt-get update;", [("apt-get update", ";")]),
        ("a\nb", [("a", "\n"), ("b", None)]),
        ("[ -d x ] || echo no >> log", [("[ -d x ]", "||"), ("echo no >> log", None)]),
        ("(cd x && make) | tee out; x=1", [("(cd x && make) | tee out", ";"), ("x=1", None)]),
        ("if [ -f x ]; then apt-get install y; fi", [("if [ -f x ]; then apt-get install y; fi", None)]),
        # tree-sitter reads no program here (the tree's root is an ERROR node): its children are still the top level
        ("x ( `a` ( y && z", [("x ( `a` ( y", "&&"), ("z", None)]),
        ("a ( `b` ( c\nd", [("a ( `b` ( c", "\n"), ("d", None)]),
    ],
)
def test_top_level_items(text, expected):
    assert items(text) == expected


def test_commands_literals_and_levels():
    script = parse_shell(
        "export A=1 && cd /x; B=2 pip install \"a b\" 'c' $HOME x\\ y; (cd sub); for i in 1; do make; done"
    )
    names = [
        (c.name_literal, c.argument_literals, [a.text for a in c.assignments], c.in_subshell, c.top_level)
        for c in script.commands
    ]
    assert names == [
        ("export", [None], [], False, True),
        ("cd", ["/x"], [], False, True),
        ("pip", ["install", "a b", "c", None, "x y"], ["B=2"], False, True),
        ("cd", ["sub"], [], True, False),
        ("make", [], [], False, False),
    ]


def test_flags_that_block_rewrites():
    assert parse_shell("echo hi # note && more").comments == ((8, 22),)
    assert parse_shell("sleep 1 &").has_background
    assert not parse_shell("a 2>&1 && b").has_background
    assert parse_shell("cat <<EOF > /x\nhello\nEOF\n").has_heredoc
    assert parse_shell("f() { echo; }").defines_function
    assert parse_shell('echo "unterminated').has_error
    assert parse_shell("x=1").commands[0].name is None


def test_spans_on_non_ascii_text():
    text = "echo é && ls -la"
    script = parse_shell(text)
    ls = script.commands[1]
    assert text[ls.start : ls.end] == "ls -la"
    assert [text[w.start : w.end] for w in script.commands[0].arguments] == ["é"]
    assert script.content_end == len(text)


WORDS = st.sampled_from(["ls", "echo", "apt-get", "-y", "install", "'a b'", '"c d"', "x\\ y", "é", "/tmp/f"])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(WORDS, min_size=1, max_size=4), st.sampled_from([" && ", " || ", "; ", " | "])),
        min_size=1,
        max_size=5,
    )
)
def test_generated_lists_keep_commands_operators_and_spans(parts):
    text = ""
    for position, (words, operator) in enumerate(parts):
        text += " ".join(words) + (operator if position < len(parts) - 1 else "")
    script = parse_shell(text)
    assert not script.has_error
    assert len(script.commands) == len(parts)
    for command, (words, _) in zip(script.commands, parts, strict=True):
        assert command.name is not None
        assert [command.name.text] + [w.text for w in command.arguments] == words
        for word in [command.name, *command.arguments]:
            assert text[word.start : word.end] == word.text
    expected = [operator.strip() for _, operator in parts[:-1] if operator.strip() != "|"]
    assert script.top_level_operators() == expected
