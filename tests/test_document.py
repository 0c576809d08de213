"""The document model against BuildKit's own parser (the `dockerfile` package) and byte-exact round trips."""

from __future__ import annotations

import dockerfile
import msgspec
import pytest
from conftest import all_corpus_files, corpus_id, real_dockerfiles, requires_corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockerfix.rewriter.document import (
    BlankLine,
    Comment,
    Directive,
    Document,
    Instruction,
    parse,
    parse_text,
    reparse,
)
from dockerfix.rewriter.source import Source, SourceError


def assert_tiles(document: Document) -> None:
    """Every byte belongs to exactly one element, in order."""
    cursor = 0
    for element in document.elements:
        start, end = element.span
        assert start == cursor, f"gap or overlap at offset {cursor} before {element!r}"
        assert end > start
        cursor = end
    assert cursor == len(document.text)
    assert document.render() == document.text


def buildkit_view(commands) -> list[tuple]:
    return [
        (
            c.cmd,
            c.sub_cmd,
            c.json,
            c.start_line,
            c.end_line,
            c.flags,
            c.value,
            tuple((h.name, h.file_descriptor, h.content) for h in c.heredocs),
        )
        for c in commands
    ]


def binding_string(value: str) -> str:
    """The `dockerfile` package passes strings through C, which ends them at a NUL (BuildKit itself keeps it), and
    reports an empty keyword as None."""
    return value.split("\x00", 1)[0]


def our_view(document: Document) -> list[tuple]:
    return [
        (
            i.keyword or None,
            i.parsed.sub_keyword,
            i.is_json,
            i.start_line,
            i.end_line,
            i.parsed.flags,
            tuple(binding_string(v) for v in i.value),
            tuple((h.name, h.header.file_descriptor, h.content) for h in i.heredocs),
        )
        for i in document.instructions
    ]


def compare_with_buildkit(data: bytes, path: str) -> str:
    """'accepted' or 'rejected', asserting that both parsers agree on which and on every instruction."""
    try:
        expected = dockerfile.parse_string(data.decode("utf-8"))
    except dockerfile.GoParseError:
        expected = None
    if expected is None:
        with pytest.raises(SourceError) as raised:
            parse(Source.decode(data, path))
        assert raised.value.line >= 1 and raised.value.column >= 1 and raised.value.message
        return "rejected"
    document = parse(Source.decode(data, path))
    assert our_view(document) == buildkit_view(expected)
    return "accepted"


@requires_corpus
@pytest.mark.parametrize("path", all_corpus_files(), ids=corpus_id)
def test_corpus_round_trip_and_buildkit_agreement(path):
    data = path.read_bytes()
    source = Source.decode(data, str(path))
    assert source.encode() == data
    outcome = compare_with_buildkit(data, str(path))
    if outcome == "accepted":
        assert_tiles(parse(source))


@requires_corpus
def test_corpus_rejections_are_exactly_buildkits():
    rejected = []
    for path in all_corpus_files():
        try:
            parse(Source.decode(path.read_bytes(), str(path)))
        except SourceError:
            rejected.append(corpus_id(path))
    negatives = [name for name in rejected if "testfiles-negative" in name]
    assert len(negatives) == 4, rejected
    assert len([name for name in rejected if name.startswith("real/")]) == 1, rejected


def test_elements_and_spans():
    text = (
        "\ufeff# syntax=docker/dockerfile:1\n# escape=\\\n\nFROM python:3.12 AS base\r\n# note\n"
        "RUN --mount=type=cache,target=/root/.cache \\\n    # inner comment\n\n    pip install x\nCOPY <<EOF /a\n"
        'hello\nEOF\nCMD ["python"]'
    )
    source = Source.decode(text.encode("utf-8"))
    document = parse(source)
    assert source.bom and source.encode() == text.encode("utf-8")
    assert_tiles(document)
    kinds = [type(element) for element in document.elements]
    assert kinds == [Directive, Directive, BlankLine, Instruction, Comment, Instruction, Instruction, Instruction]
    run = document.instructions[1]
    assert run.flags[0].name == "mount" and document.text[run.flags[0].start : run.flags[0].end] == run.flags[0].text
    assert run.arguments == "pip install x"
    assert document.text[run.arguments_start : run.header_end] == "pip install x"
    assert [line.number for line in run.comment_lines] == [7]
    assert run.leading_comments[0].text == "note"
    copy = document.instructions[2]
    assert copy.heredocs[0].content == "hello\n" and copy.end_line == 12
    assert document.stages[0].name == "base" and document.stages[0].base_image == "python:3.12"
    assert document.instructions[-1].is_json


def test_offsets_map_through_continuations():
    document = parse_text("FROM a\nRUN echo one \\\n  && echo two\n")
    run = document.instructions[1]
    script = run.arguments
    position = script.index("&&")
    source_offset = run.arguments_to_source(position)
    assert document.text[source_offset : source_offset + 2] == "&&"
    end = run.arguments_to_source(len(script), end=True)
    assert document.text[end - 3 : end] == "two"


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("", 1, "file with no instructions"),
        ("# only a comment\n", 1, "file with no instructions"),
        ("FROM a\nRUN <<EOF\nno end\n", 2, "unterminated heredoc"),
        ("# escape=x\nFROM a\n", 1, "invalid escape token"),
        ("# escape=`\n# escape=\\\nFROM a\n", 2, "only one escape parser directive"),
        ("FROM a\nENV A\n", 2, "ENV must have two arguments"),
        ("FROM a\nRUN [1]\n", 2, "arrays must be comprised of strings only"),
    ],
)
def test_errors_are_located(text, line, message):
    with pytest.raises(SourceError) as raised:
        parse_text(text, "Dockerfile")
    assert raised.value.line == line
    assert message in raised.value.message
    assert str(raised.value).startswith(f"Dockerfile:{line}:")


@pytest.mark.parametrize(
    "data, line, column",
    [(b"FROM a\nRUN \x00\n", 2, 5), (b"FROM a\nRUN caf\xe9\n", 2, 8), (b"\xff\xfeF\x00", 1, 1)],
)
def test_undecodable_input_is_located(data, line, column):
    with pytest.raises(SourceError) as raised:
        Source.decode(data, "Dockerfile")
    assert (raised.value.line, raised.value.column) == (line, column)


# --- generated Dockerfiles ---------------------------------------------------------------------------------------

KEYWORDS = [
    "FROM",
    "from",
    "RUN",
    "run",
    "Run",
    "COPY",
    "ADD",
    "ENV",
    "ARG",
    "LABEL",
    "WORKDIR",
    "USER",
    "EXPOSE",
    "CMD",
    "ENTRYPOINT",
    "VOLUME",
    "SHELL",
    "ONBUILD RUN",
    "HEALTHCHECK CMD",
    "STOPSIGNAL",
    "MAINTAINER",
    "BOGUS",
]
FLAGS = [
    "--mount=type=cache,target=/root/.cache",
    "--from=build",
    "--chown=1:1",
    "--chmod=755",
    "--link",
    "--platform=$BUILDPLATFORM",
    "--network=none",
    "--security=insecure",
]
EXPANSIONS = [
    "${##}",
    "${#}",
    "${x#a}",
    "${x%%a}",
    "${x/a/b}",
    "${x:#a}",
    "${x:/a/b}",
    "${x:-${y#a}}",
    "${x?a}",
    "${!}",
]
WORD = st.one_of(
    st.text(alphabet="abcxyz019_-./=$'\"{}[],:é\t \\#<`\u00a0", min_size=1, max_size=8).filter(lambda w: w.strip()),
    st.sampled_from(EXPANSIONS),  # which of these BuildKit's heredoc scan accepts decides whether a heredoc follows
)
SPACE = st.sampled_from([" ", "  ", "\t"])


@st.composite
def instruction(draw, newline):
    keyword = draw(st.sampled_from(KEYWORDS))
    parts = [keyword]
    parts += draw(st.lists(st.sampled_from(FLAGS), max_size=2))
    if draw(st.booleans()) and keyword.split()[-1].upper() in (
        "RUN",
        "CMD",
        "ENTRYPOINT",
        "COPY",
        "ADD",
        "VOLUME",
        "SHELL",
    ):
        parts.append(
            "["
            + ", ".join(f'"{w}"' for w in draw(st.lists(st.sampled_from(["a", "b c", "/x"]), min_size=1, max_size=3)))
            + "]"
        )
    else:
        parts += draw(st.lists(WORD, min_size=1, max_size=4))
    heredocs = []
    if keyword.upper() in ("RUN", "COPY", "ADD") and draw(st.booleans()):
        name = draw(st.sampled_from(["EOF", "END", "X1"]))
        marker = draw(st.sampled_from([f"<<{name}", f"<<-{name}", f"<<'{name}'", f'<<"{name}"']))
        parts.insert(len(parts) - 1 if len(parts) > 2 else len(parts), marker)
        body = draw(st.lists(st.sampled_from(["echo hi", "\tindented", "", "# not a comment", "RUN no"]), max_size=3))
        heredocs.append(
            newline.join(body + ([f"\t{name}"] if marker.startswith("<<-") and draw(st.booleans()) else [name]))
        )
    # join words with spaces, continuation lines, comment lines and blank lines in between
    text = parts[0]
    for part in parts[1:]:
        joint = draw(
            st.sampled_from(
                [
                    " ",
                    " \\" + newline + "  ",
                    " \\" + newline + "# c" + newline + "  ",
                    " \\  " + newline + newline + " ",
                ]
            )
        )
        text += joint + part
    return newline.join([text] + heredocs)


@st.composite
def dockerfile_text(draw):
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = []
    directives = [
        "# syntax=docker/dockerfile:1",
        "# escape=\\",
        "# escape=`",
        "# check=skip=all",
        "# check=error=true",
        "#escape = `",
    ]
    lines += draw(st.lists(st.sampled_from(directives), max_size=3))
    lines.append("FROM base")
    for _ in range(draw(st.integers(1, 5))):
        lines.append(
            draw(st.one_of(instruction(newline), st.sampled_from(["", "# comment", "  # indented comment", "   "])))
        )
    text = newline.join(lines)
    if draw(st.booleans()):
        text += newline
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text


@settings(
    max_examples=int(__import__("os").environ.get("DOCKERFIX_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(dockerfile_text())
def test_generated_round_trip_and_buildkit_agreement(text):
    data = text.encode("utf-8")
    assert Source.decode(data).encode() == data
    if compare_with_buildkit(data, "generated") == "accepted":
        assert_tiles(parse(Source.decode(data)))


@pytest.mark.parametrize(
    "text",
    [
        "# check=skip=all\n# check=error=true\nFROM a\n",  # BuildKit's parser does not track `check`: both are fine
        "# check=skip=all\n# escape=`\nFROM a\nRUN echo `\n  b\n",  # ...and `check` ends the directives
        "# escape=`\n# check=a\n# escape=\\\nFROM a\nRUN echo `\n  b\n",
        "FROM a\nRUN echo ${##} <<EOF\nhi\nEOF\n",  # `${##}` is an error to BuildKit's lexer: no heredoc on that line
        "FROM a\nRUN echo ${x/a/b} <<EOF\nhi\nEOF\n",
        "FROM a\nRUN echo ${x:/a/b} <<EOF\nhi\nEOF\n",  # after `:` any modifier is read as written
        "FROM a\nRUN --é echo\n",  # BuildKit's flag text is the UTF-8 bytes read one rune each
    ],
)
def test_buildkit_disagreements_found_by_issue_15(text):
    assert compare_with_buildkit(text.encode(), "issue-15") == "accepted"


@pytest.mark.parametrize(
    "text",
    [
        "FROM a\nRUN echo \\\\\nRUN b\n",  # an escaped token continues nothing
        "FROM a\nRUN echo \\ \t \n  b\n",  # spaces and tabs may follow the token
        "FROM a\nRUN \\\n  echo\n",  # the token right after the keyword
        "FROM a\nRUN echo\\\n\\\n  b\n",  # a continuation line that is the token alone
        "FROM a\nRUN echo \\\n",  # the token on the last line
        "# escape=`\nFROM a\nRUN echo ``\nRUN b \\\nRUN c `\t\n  d\n",
        "FROM a\nRUN -x\n",  # one dash starts no flag
        "FROM a\nRUN - --x\n",
        "FROM a\nCOPY --from=b\tx y\n",
        "FROM a\nRUN \u00a0--mount=type=cache,target=/x echo\n",  # no space byte starts a multi-byte character
        "FROM a\nRUN \u0085--x echo\n",
        "FROM a\nRUN \u3000--x echo\n",
    ],
)
def test_line_ends_and_flags_are_read_as_buildkit_reads_them(text):
    """The parser reads a continuation from the line's end and looks for flags only after a `-` (or a space byte
    BuildKit's flag reader passes): both as BuildKit's own parser."""
    assert compare_with_buildkit(text.encode(), "edges") == "accepted"


@pytest.mark.parametrize(
    "text",
    [
        "FROM a\n" + "ONBUILD " * 3000 + "RUN x\n",
        # 500 levels: 1,500 frames for a recursive lexer; BuildKit's own lexer takes seconds on deeper ones
        "FROM a\nRUN echo " + "${x:-" * 500 + "y" + "}" * 500 + " <<EOF\nhi\nEOF\n",
        "FROM a\nRUN echo " + '"${x:-' * 500 + "y" + '}"' * 500 + " <<EOF\nhi\nEOF\n",
        "FROM a\nRUN " + "[" * 5000 + "]" * 5000 + "\n",
        "FROM a\nONBUILD ONBUILD RUN echo\nONBUILD\nONBUILD ONBUILD\n",
    ],
    ids=["onbuild-chain", "nested-expansions", "nested-quoted-expansions", "nested-json", "onbuild-forms"],
)
def test_deep_nesting_parses_like_buildkit_without_recursion(text):
    """Issue 15: nesting is the file's to choose; the parser walks it without Python recursion."""
    assert compare_with_buildkit(text.encode(), "deep") in ("accepted", "rejected")


def test_shell_script_is_the_parsed_shell_of_a_shell_form_instruction_and_refuses_an_exec_form_one():
    shell_form, exec_form = parse_text('FROM alpine\nRUN apk add curl && rm -rf /tmp/x\nRUN ["true"]\n').instructions[
        1:
    ]
    assert shell_form.shell_script is shell_form.shell
    assert [command.name_literal for command in shell_form.shell_script.simple_commands()] == ["apk", "rm"]
    with pytest.raises(ValueError, match="line 3: RUN is not in shell form"):
        _ = exec_form.shell_script


def test_a_fact_is_computed_once_per_question_and_node():
    """``facts(provider, *about)``: one answer per provider and the other nodes it is about (none, one or two)."""
    document = parse_text("FROM a\nRUN echo one\nRUN echo two\n")
    first, second = document.instructions[1:]
    asked = []

    def lines_between(node, *others):
        asked.append(others)
        return [other.start_line for other in others]

    answers = [document.facts(lines_between, *others) for others in [(), (first,), (first, second), (second, first)]]
    again = [document.facts(lines_between, *others) for others in [(), (first,), (first, second), (second, first)]]
    assert answers == [[], [2], [2, 3], [3, 2]]
    assert all(answer is kept for answer, kept in zip(answers, again, strict=True))  # kept: not computed again
    assert asked == [(), (first,), (first, second), (second, first)]
    assert first.facts(lines_between) == [] and len(asked) == 5  # kept per node


def test_a_cached_fact_is_computed_once_and_kept_with_its_node():
    first, second = parse_text("FROM a\nRUN echo one\nRUN echo one\n").instructions[1:]
    assert first.span is first.span  # kept: computing it again would make another tuple
    assert (first.span, second.span) == ((7, 20), (20, 33))  # per node, not per class


# --- the fix loop's re-parse ---------------------------------------------------------------------------------------


def parsed_or_error(source: Source, before: Document | None = None, unchanged: int = 0) -> object:
    """The document as plain data (every field of every node), or the error: what two parses must agree on."""
    try:
        return msgspec.to_builtins(parse(source) if before is None else reparse(source, before, unchanged))
    except SourceError as error:
        return str(error)


def assert_reparse_is_a_parse(before_text: str, start: int, end: int, content: str) -> None:
    """``reparse`` of ``before_text`` with ``[start, end)`` replaced by ``content`` is what ``parse`` makes of it."""
    before = parse_text(before_text)
    edited = Source(text=before_text[:start] + content + before_text[end:], path="<string>")
    assert parsed_or_error(edited, before, start) == parsed_or_error(edited)


@pytest.mark.parametrize(
    "edit",
    [
        # the last element ended only because the text did: what is appended continues it
        "FROM a\nRUN a \\\n«|RUN b\n»",
        "FROM a\nRUN a \\\n# note\n«|  b\n»",
        "FROM a\nRUN a«| b\n»",
        "FROM a\nRUN a\r«|\nRUN b\n»",
        # what the elements before the edit say carries over: the directives, the stages begun, the comments above
        "«# escape=`|»\nFROM a\nRUN a `\n  b\n",
        "# escape=`\n«|# syntax=x\n»FROM a\nRUN a `\n  b\n",
        "# syntax=x\n«|# escape=`\n»FROM a\n",
        "FROM a\n# above\n«|# more\n»RUN a\n",
        "FROM a AS one\nRUN a\n«|FROM c\n»FROM b\nRUN b\n",
        "FROM a AS one\n«RUN a\nFROM b\n|»RUN b\n",
        "FROM a\nRUN <<EOF\nbody\n«|EOF\n»EOF\nRUN b\n",
        "FROM a\n«RUN a|COPY <<EOF /x»\n",
    ],
)
def test_a_reparse_is_the_parse_of_the_edited_text(edit):
    """``edit`` is the text with its edit in it: «replaced|replacement»."""
    before, _, rest = edit.partition("«")
    replaced, _, rest = rest.partition("|")
    content, _, after = rest.partition("»")
    assert_reparse_is_a_parse(before + replaced + after, len(before), len(before) + len(replaced), content)


def test_a_reparse_keeps_the_elements_before_the_first_edit_with_what_rules_found_about_them():
    """The fix loop's attempts re-parse from the first edit on: the instructions before it are the same objects, so
    the facts rules found about them are not found again."""
    text = "FROM a\n# pinned\nRUN apt-get update\nRUN echo one\nRUN echo two\n"
    before = parse_text(text)
    shell = before.instructions[1].shell
    start = text.index("RUN echo two")
    after = reparse(Source(text=text[:start] + "RUN echo three\n"), before, start)
    assert after.elements[:4] == before.elements[:4]
    assert all(kept is same for kept, same in zip(after.elements[:4], before.elements[:4], strict=True))
    assert after.instructions[1].shell is shell
    assert after.instructions[3] is not before.instructions[3] and after.instructions[3].value == ("echo three",)
    assert after.stages[0] is not before.stages[0]  # a stage is as long as the text says: it is rebuilt


EDIT_CONTENT = st.one_of(
    st.sampled_from(["", "\n", "\\\n", "\\", " \\\n", "`\n", "# escape=`\n", "# c\n", "FROM b AS c\n", "EOF\n", "\r"]),
    st.text(alphabet="RUNFOM <-\\\n#`'\"EOF=", max_size=12),
)


# generated texts and those of the real corpus (none when it is absent)
EDITED_TEXT = st.one_of(
    dockerfile_text(),
    st.sampled_from(real_dockerfiles()).map(lambda path: Source.decode(path.read_bytes(), str(path)).text),
)


@settings(
    max_examples=int(__import__("os").environ.get("DOCKERFIX_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(EDITED_TEXT, st.data())
def test_a_reparse_after_any_edit_is_the_parse_of_the_edited_text(text, data):
    try:
        parse_text(text)
    except SourceError:
        return
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    assert_reparse_is_a_parse(text, start, end, data.draw(EDIT_CONTENT))
