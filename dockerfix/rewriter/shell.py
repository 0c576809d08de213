"""The shell model of a RUN command: what ``/bin/sh -c`` receives, parsed with tree-sitter-bash.

Rules ask it which commands run, at which level, joined by which operators, and whether anything makes a rewrite
unsafe to reason about (a parse error, a comment, a background job, a heredoc). Spans are offsets into the script
text (code points), which ``Instruction.arguments_to_source`` maps back to the Dockerfile.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

import tree_sitter_bash
from msgspec import Struct
from tree_sitter import Language, Node, Parser

from .facts import Analysed, cached_fact

_SEPARATORS = {";", "&", ";;", "\n"}
_LIST_OPERATORS = _SEPARATORS | {"&&", "||"}
_LIST_CONTAINERS = {"program", "list", "pipeline", "redirected_statement"}
_SUBSHELL_NODES = {"subshell", "command_substitution", "process_substitution"}
_COMMAND_NODES = {"command", "declaration_command", "unset_command", "test_command"}
_ARITHMETIC_NODES = {"arithmetic_expansion", "compound_statement_arithmetic", "c_style_for_statement"}
# the nodes whose commands are still at the script's top level
_TOP_LEVEL_CONTAINERS = {"program", "list", "redirected_statement", "variable_assignments"}
# the nodes ``_Builder.visit`` reads
_VISITED_NODES = {
    "&",
    ";",
    ";;",
    "heredoc_redirect",
    "heredoc_body",
    "function_definition",
    "compound_statement",
    "file_redirect",
    "variable_assignment",
    *_ARITHMETIC_NODES,
    *_COMMAND_NODES,
}
# Redirection operators that open a file for writing (`>&` only when its destination is not a descriptor number)
_OUTPUT_REDIRECTS = {">", ">>", ">|", "&>", "&>>", ">&"}


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bash.language()))


class Word(Struct, frozen=True, eq=False, gc=False):  # no cycle through it: see document.Line
    text: str
    start: int
    end: int
    literal: str | None  # the value after quote removal; None when it depends on an expansion


class SimpleCommand(Struct, Analysed, frozen=True, eq=False, dict=True):
    start: int
    end: int
    name: Word | None
    arguments: tuple[Word, ...]
    assignments: tuple[Word, ...]
    in_subshell: bool  # inside ( ), $( ) or <( ): state it changes cannot outlive it
    top_level: bool  # an item of the script's top-level list (not nested in a pipeline, group or compound)

    @property
    def name_literal(self) -> str | None:
        return self.name.literal if self.name is not None else None

    @cached_fact
    def argument_literals(self) -> list[str | None]:
        return [word.literal for word in self.arguments]


class ListItem(Struct, frozen=True, gc=False):  # no cycle through it: see document.Line
    """One element of the top-level list and the operator that follows it (None for the last)."""

    start: int
    end: int
    operator: str | None


class Script(Struct, frozen=True):
    source: str
    items: tuple[ListItem, ...]
    commands: tuple[SimpleCommand, ...]
    comments: tuple[tuple[int, int], ...]
    has_error: bool
    has_background: bool
    has_heredoc: bool
    defines_function: bool
    has_arithmetic: bool
    has_sequence: bool  # a `;` anywhere (also inside compound commands): what `set -e` acts on
    # Files the script opens for writing with a redirection, in source order. tree-sitter-bash attaches a redirect
    # to a whole list at times (`a && b > f`), so they are kept by position, not by command.
    output_targets: tuple[Word, ...] = ()

    @property
    def content_end(self) -> int:
        """End of the last command, before a trailing `;`, `&` or whitespace."""
        return self.items[-1].end if self.items else 0

    def simple_commands(self) -> tuple[SimpleCommand, ...]:
        return self.commands

    def top_level_operators(self) -> list[str]:
        """Operators between top-level items (a trailing one excluded)."""
        return [item.operator for item in self.items[:-1] if item.operator is not None]


class _Builder:
    def __init__(self, text: str) -> None:
        self.text = text
        self.encoded = text.encode("utf-8", "surrogatepass")
        self.multibyte_starts, self.extra_bytes = _multibyte_index(text) if len(self.encoded) != len(text) else ([], [])
        self.commands: list[SimpleCommand] = []
        self.comments: list[tuple[int, int]] = []
        self.output_targets: list[Word] = []
        # the atoms (commands, subshells, compound commands, redirects) and operators of the top level, in order:
        # ("atom" or the operator, start, end)
        self.top_level_tokens: list[tuple[str, int, int]] = []
        self.flags = {
            "background": False,
            "heredoc": False,
            "function": False,
            "arithmetic": False,
            "sequence": False,
        }

    def offset(self, byte: int) -> int:
        """The code-point offset of a byte offset (on a character boundary, as tree-sitter's node bounds are)."""
        if not self.multibyte_starts:
            return byte
        before = bisect.bisect_left(self.multibyte_starts, byte)
        return byte - (self.extra_bytes[before - 1] if before else 0)

    def span(self, node: Node) -> tuple[int, int]:
        if self.multibyte_starts:
            return self.offset(node.start_byte), self.offset(node.end_byte)
        return node.start_byte, node.end_byte  # most scripts are ASCII: a byte offset is a code-point offset

    def slice(self, node: Node) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def word(self, node: Node, kind: str) -> Word:
        """The word ``node`` is; ``kind`` is its type, which the caller has read (each read makes a new string)."""
        start, end = self.span(node)
        text = self.text[start:end]
        if kind == "word" and "\\" not in text and not node.named_child_count:
            return Word(text, start, end, text)  # most words: nothing to remove, nothing to expand
        return Word(text, start, end, self.literal(node, kind, text))

    def literal(self, node: Node, kind: str, text: str) -> str | None:
        """The value of ``node`` (of type ``kind``, whose source is ``text``) after quote removal; None when an
        expansion decides it."""
        if kind == "word" or kind == "command_name":
            named = node.named_child_count
            if not named:
                return _unescape(text)
            if kind == "command_name" and named == 1:
                name = node.named_child(0)
                assert name is not None  # it has one
                return self.literal(name, name.type, self.slice(name))
            return None
        if kind == "number":
            return _unescape(text)
        if kind == "raw_string":
            return text[1:-1]
        if kind == "string":
            parts = []
            for child in node.named_children:
                if child.type != "string_content":
                    return None
                parts.append(_unescape_double(self.slice(child)))
            return "".join(parts)
        if kind == "concatenation":
            pieces = [self.literal(child, child.type, self.slice(child)) for child in node.named_children]
            known = [piece for piece in pieces if piece is not None]
            return "".join(known) if len(known) == len(pieces) else None
        return None

    def items(self) -> tuple[ListItem, ...]:
        """The top-level list, read from the atoms and operators ``walk`` found at the top level, in source order.
        The tree's nesting is not trusted here: tree-sitter-bash nests `a | b | c && d` and `a || b > f` in ways the
        shell does not."""
        items: list[ListItem] = []
        start: int | None = None
        end = 0  # read only while `start` is set, and set with it
        after_pipe = False
        for kind, node_start, node_end in self.top_level_tokens:
            if kind == "atom":
                if start is not None and not after_pipe and "\n" in self.text[end:node_start]:
                    items.append(ListItem(start, end, "\n"))
                    start = None
                if start is None:
                    start = node_start
                end = node_end
                after_pipe = False
            elif kind == "|":
                after_pipe = True
            elif start is not None:
                items.append(ListItem(start, end, kind))
                start = None
        if start is not None:
            items.append(ListItem(start, end, None))
        return tuple(items)

    def walk(self, root: Node) -> None:
        """Every node in source order with a tree cursor: nesting depth is the script's to choose, and a cursor
        steps through the tree without building each node's list of children. Most nodes are words and punctuation
        that ``visit`` has nothing to say about: their kind is looked up by number and they are passed by (an error
        or a missing node needs no visit: the root's ``has_error`` covers its descendants)."""
        cursor = root.walk()
        roles = _ROLES
        # What holds for the nodes at the cursor's depth: inside a subshell, an item of the top-level list, an atom
        # or operator of the top level (inside nothing but the list containers ``items`` sees through; None for the
        # root, whose children are the top level whatever its kind, an ERROR root too). Saved in ``above`` on the
        # way down, restored on the way up: most nodes are leaves, which change none of it.
        in_subshell, top_level, on_top = False, True, None
        above: list[tuple[bool, bool, bool | None]] = []
        while True:
            node = cursor.node
            assert node is not None  # a cursor always stands on a node
            try:
                role = roles[node.kind_id]
            except KeyError:  # the first node of its kind in this process
                role = _role_of(node)
            if role.comment:
                self.comments.append(self.span(node))
            else:
                if on_top and role.top_level_token is not None:
                    self.top_level_tokens.append((role.top_level_token, *self.span(node)))
                if role.visited:
                    self.visit(node, node.type, in_subshell, top_level)
                if cursor.goto_first_child():
                    above.append((in_subshell, top_level, on_top))
                    in_subshell = in_subshell or role.subshell
                    top_level = top_level and role.top_level_container
                    on_top = on_top is None or (on_top and role.top_level_token is None)
                    continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    return
                in_subshell, top_level, on_top = above.pop()

    def visit(self, node: Node, kind: str, in_subshell: bool, top_level: bool) -> None:
        if kind in _COMMAND_NODES:  # four in five visits, and none of the kinds below
            self.command(node, kind, in_subshell, top_level)
            return
        if kind == "&":
            self.flags["background"] = True
        if kind in (";", ";;"):
            self.flags["sequence"] = True
        if kind in ("heredoc_redirect", "heredoc_body"):
            self.flags["heredoc"] = True
        if kind == "function_definition":
            self.flags["function"] = True
        if kind in _ARITHMETIC_NODES or (kind == "compound_statement" and self.slice(node).startswith("((")):
            self.flags["arithmetic"] = True
        if kind == "file_redirect":
            self.redirect(node)
        if kind == "variable_assignment" and node.parent is not None and node.parent.type not in _COMMAND_NODES:
            # `x=1` on its own: a command with no name that sets a shell variable.
            start, end = self.span(node)
            self.commands.append(SimpleCommand(start, end, None, (), (self.word(node, kind),), in_subshell, top_level))

    def redirect(self, node: Node) -> None:
        destination = node.child_by_field_name("destination")
        operator = next((child.type for child in node.children if not child.is_named), None)
        if destination is None or operator not in _OUTPUT_REDIRECTS:
            return
        kind = destination.type
        if operator == ">&" and kind == "number":
            return
        self.output_targets.append(self.word(destination, kind))

    def command(self, node: Node, kind: str, in_subshell: bool, top_level: bool) -> None:
        start, end = self.span(node)
        name = None
        arguments: list[Word] = []
        assignments: list[Word] = []
        if kind == "command":
            for child in node.named_children:
                child_kind = child.type
                if child_kind == "variable_assignment" and name is None:
                    assignments.append(self.word(child, child_kind))
                elif child_kind == "command_name":
                    name = self.word(child, child_kind)
                elif child_kind.endswith("redirect"):
                    continue
                elif name is not None:
                    arguments.append(self.word(child, child_kind))
        else:
            keyword = node.children[0]
            keyword_text = self.slice(keyword)
            name = Word(keyword_text, *self.span(keyword), keyword_text)
            arguments = [self.word(child, child.type) for child in node.named_children if child is not keyword]
        self.commands.append(
            SimpleCommand(start, end, name, tuple(arguments), tuple(assignments), in_subshell, top_level)
        )


class _Role(Struct, frozen=True):
    """What ``_Builder.walk`` does with the nodes of one kind."""

    comment: bool
    visited: bool
    subshell: bool
    top_level_container: bool
    # at the top level: the operator this kind is ("|" for both pipes), "atom", or None for a list container
    top_level_token: str | None


_ROLES: dict[int, _Role] = {}  # by the grammar's number for the kind: reading a node's type name costs a new string


def _role_of(node: Node) -> _Role:
    kind = node.type
    role = _ROLES[node.kind_id] = _Role(
        kind == "comment",
        kind in _VISITED_NODES,
        kind in _SUBSHELL_NODES,
        kind in _TOP_LEVEL_CONTAINERS,
        _top_level_token(kind, node.is_named),
    )
    return role


def _top_level_token(kind: str, named: bool) -> str | None:
    if kind in _LIST_CONTAINERS:
        return None
    if not named and kind in _LIST_OPERATORS:
        return kind
    if not named and kind in ("|", "|&"):
        return "|"
    return "atom"


def _multibyte_index(text: str) -> tuple[list[int], list[int]]:
    """Byte offsets of the characters that take more than one UTF-8 byte, and the extra bytes up to and including
    each: a byte offset maps to code points with one binary search instead of decoding the prefix (linear in the
    script even for a 1 MB line)."""
    starts: list[int] = []
    extra: list[int] = []
    total = 0
    for match in _NON_ASCII.finditer(text):
        starts.append(match.start() + total)
        total += len(match.group().encode("utf-8", "surrogatepass")) - 1
        extra.append(total)
    return starts, extra


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ANY_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_DOUBLE_QUOTE_ESCAPE = re.compile(r'\\([\\"$`])')


def _unescape(text: str) -> str:
    """Outside quotes a backslash makes the next character literal."""
    return _ANY_ESCAPE.sub(r"\1", text) if "\\" in text else text


def _unescape_double(text: str) -> str:
    """Inside double quotes a backslash escapes only \\, ", $ and `."""
    return _DOUBLE_QUOTE_ESCAPE.sub(r"\1", text) if "\\" in text else text


@lru_cache(maxsize=1024)
def parse_shell(text: str) -> Script:
    """Parse a shell script; never raises (a script tree-sitter cannot read has ``has_error``). Cached: each pass of
    the fix loop, and each keystroke in an editor, re-parses a document whose RUNs are mostly unchanged. Not more:
    a cached script is some 23 objects the garbage collector walks in every full collection; over the 1,519 real
    files 4,096 scripts made that 10% of the run, and 1,024 keep 97% of the hits (the re-parses of one file)."""
    builder = _Builder(text)
    tree = _parser().parse(builder.encoded)
    root = tree.root_node
    builder.walk(root)
    return Script(
        source=text,
        items=builder.items(),
        commands=tuple(builder.commands),
        comments=tuple(builder.comments),
        has_error=root.has_error,
        has_background=builder.flags["background"],
        has_heredoc=builder.flags["heredoc"],
        defines_function=builder.flags["function"],
        has_arithmetic=builder.flags["arithmetic"],
        has_sequence=builder.flags["sequence"],
        output_targets=tuple(builder.output_targets),
    )
