"""Lines as LSP counts them, and our positions as LSP positions.

LSP ends a line at CR, LF or CRLF and nowhere else; BuildKit, and so the pipeline's `Source`, at LF only (a CR alone
stays inside a line); Python's `str.splitlines` also at \\f, \\v, \\x1c-\\x1e, \\x85, U+2028 and U+2029, which editors
keep inside a line. The server goes from the pipeline's (line, column) to the client's through offsets."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types as lsp
from pygls.workspace import PositionCodec, ServerTextPosition, TextDocument

if TYPE_CHECKING:
    from ..rewriter.pipeline import Range
    from .analysis import Analysis

LINE_END = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` with their ends, as LSP splits them (pygls' documents and codec read lines this way)."""
    starts = line_starts(text)
    if starts[-1] == len(text):
        starts.pop()
    return [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)], strict=True)]


def line_starts(text: str) -> list[int]:
    """The offset of each line, the last line being the one after the last line end (empty when the text ends with
    one)."""
    return [0, *(match.end() for match in LINE_END.finditer(text))]


class LineEndCodec(PositionCodec):
    """pygls' codec, except that a character past the end of a line is the line's end, as LSP says ("defaults back
    to the line length"): pygls took the character before it on a last line without a line end."""

    def position_from_client_units(self, lines: Sequence[str], position: lsp.Position) -> ServerTextPosition:
        if position.line < len(lines):
            length = self.client_num_units(LINE_END.sub("", lines[position.line]))
            position = lsp.Position(line=position.line, character=min(position.character, length))
        return super().position_from_client_units(lines, position)


class LineEndsDocument(TextDocument):
    """pygls' document with LSP's lines (pygls splits with `str.splitlines`) and positions (`LineEndCodec`): a client's
    incremental change to a text holding a CR alone, a form feed or U+2028 lands where the client made it."""

    @property
    def lines(self) -> Sequence[str]:
        return split_lines(self.source)


class Positions:
    """Offsets in one text, and the pipeline's 1-based (line, column in code points) in it, as LSP positions in the
    negotiated encoding."""

    def __init__(self, document: TextDocument, analysis: Analysis) -> None:
        self.codec = document.position_codec
        self.source = analysis.source
        self.text = analysis.source.text
        self.starts = line_starts(self.text)

    def at(self, offset: int) -> lsp.Position:
        """The position of ``offset``; inside a CRLF, the one before it (LSP has no position between CR and LF)."""
        offset = min(max(offset, 0), len(self.text))
        if self.splits_crlf(offset):
            offset -= 1
        line = bisect.bisect_right(self.starts, offset) - 1
        before = self.text[self.starts[line] : offset]
        if before.isascii():  # one code unit per character in UTF-8, UTF-16 and UTF-32 alike: no need to count them
            return lsp.Position(line=line, character=len(before))
        return lsp.Position(line=line, character=self.codec.client_num_units(before))

    def position(self, line: int, column: int) -> lsp.Position:
        return self.at(self.source.offset(line, column))

    def range(self, span: Range) -> lsp.Range:
        return lsp.Range(
            start=self.position(span.start.line, span.start.column), end=self.position(span.end.line, span.end.column)
        )

    def text_edit(self, start: int, end: int, new_text: str) -> lsp.TextEdit:
        """Replace ``start:end`` by ``new_text``. An end between CR and LF takes the LF in and puts it back, a start
        there the CR: the client could not cut a CRLF in two, and clamping the end alone would keep a CR the edit
        replaces."""
        if self.splits_crlf(start):
            start, new_text = start - 1, "\r" + new_text
        if self.splits_crlf(end):
            end, new_text = end + 1, new_text + "\n"
        return lsp.TextEdit(range=lsp.Range(start=self.at(start), end=self.at(end)), new_text=new_text)

    def edit(self, span: Range, new_text: str) -> lsp.TextEdit:
        return self.text_edit(
            self.source.offset(span.start.line, span.start.column),
            self.source.offset(span.end.line, span.end.column),
            new_text,
        )

    def splits_crlf(self, offset: int) -> bool:
        return 0 < offset < len(self.text) and self.text[offset - 1 : offset + 1] == "\r\n"


def end_of(codec: PositionCodec, text: str) -> lsp.Position:
    """The position after the last character of ``text``."""
    starts = line_starts(text)
    return lsp.Position(line=len(starts) - 1, character=codec.client_num_units(text[starts[-1] :]))
