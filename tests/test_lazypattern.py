"""Patterns compiled on first use (`LazyPattern`): they answer as the compiled pattern does, compile nothing until
asked, then answer through the compiled pattern's own methods; and no module a check imports compiles its patterns at
import, but the parser's, whose patterns every check uses."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dockerfix
from dockerfix.rewriter.lazypattern import LazyPattern

PACKAGE = Path(dockerfix.__file__).parent
# The parser's patterns are used by every check (the document, its arguments, RUN's shell words, stage names) and
# most often: a compiled pattern's own method costs ~30 ns less a call than one taken over by a LazyPattern.
COMPILED_AT_IMPORT = {"rewriter/document.py", "rewriter/arguments.py", "rewriter/shell.py", "rewriter/stages.py"}
# The other surfaces load only for their own command.
OTHER_SURFACES = ("lsp/", "bot/", "verify/")

PATTERNS = [
    (r"(\w+)=(\d+)", 0),
    (r"^#\s*(?P<key>[a-z]+)\s*=", re.IGNORECASE | re.MULTILINE),
    (r"[,;]\s*", 0),
]


def seen(answer: object) -> object:
    """An answer in a comparable form (matches compare by identity)."""
    if isinstance(answer, re.Match):
        return answer.span(), answer.groups(), answer.groupdict()
    if isinstance(answer, (list, tuple, Iterator)):
        return [seen(item) for item in answer]
    return answer


CALLS = {
    "match": lambda pattern, text: pattern.match(text),
    "search": lambda pattern, text: pattern.search(text, 1),
    "fullmatch": lambda pattern, text: pattern.fullmatch(text),
    "finditer": lambda pattern, text: pattern.finditer(text, 1),
    "findall": lambda pattern, text: pattern.findall(text),
    "sub": lambda pattern, text: pattern.sub("<>", text, 2),
    "subn": lambda pattern, text: pattern.subn(lambda found: found.group(0).upper(), text),
    "split": lambda pattern, text: pattern.split(text, 1),
}


@pytest.mark.parametrize(("source", "flags"), PATTERNS)
@given(text=st.text(alphabet="ab=12,; #\nKEY", max_size=40))
def test_every_method_answers_as_the_compiled_pattern_as_the_first_use_and_after_it(source, flags, text):
    compiled = re.compile(source, flags)
    used = LazyPattern(source, flags)
    used.search("")
    for call in CALLS.values():
        expected = seen(call(compiled, text))
        assert seen(call(LazyPattern(source, flags), text)) == expected
        assert seen(call(used, text)) == expected


def test_nothing_is_compiled_before_the_first_use_and_then_the_compiled_pattern_answers():
    invalid = LazyPattern(r"(unclosed")  # an invalid pattern fails on its first use, not at import
    with pytest.raises(re.error):
        invalid.search("x")
    lazy = LazyPattern(r"b+")
    assert "compiled" not in vars(lazy)
    assert seen(lazy.search("abbc")) == ((1, 3), (), {})
    assert lazy.compiled.pattern == "b+" and vars(lazy)["search"] == lazy.compiled.search


def module_level_compiles(path: Path) -> list[int]:
    """The lines of ``re.compile`` calls a module runs when it is imported: outside any function."""
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "compile"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
        ):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_no_module_a_check_imports_compiles_a_pattern_at_import_but_the_parsers():
    eager = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name.startswith(OTHER_SURFACES) or name in COMPILED_AT_IMPORT:
            continue
        lines = module_level_compiles(path)
        if lines:
            eager[name] = lines
    assert eager == {}, "use LazyPattern for patterns a module holds (dockerfix/rewriter/lazypattern.py)"
    assert all(module_level_compiles(PACKAGE / name) for name in COMPILED_AT_IMPORT)
