"""How a Dockerfile writes its continued RUN lines (indentation, where `&&` goes), so that text dockerfix adds to a
RUN, or a RUN it writes, reads like the file's own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from msgspec import Struct

from dockerfix.rewriter.document import Document, Instruction


class Style(Struct, frozen=True):
    """How the file writes continuation lines: the indentation and where `&&` goes."""

    indent: str
    leading_operator: bool

    @classmethod
    def of(cls, document: Document) -> Style:
        """Every layer rule asks for the style of the same document: it is measured once."""
        return document.facts(cls.measure)

    @classmethod
    def of_runs(cls, document: Document, runs: Sequence[Instruction]) -> Style:
        """The style of these RUNs when one of them spans lines (a RUN is continued the way it was written),
        else the file's."""
        if any(len(run.lines) > 1 for run in runs):
            return cls.measure(document, runs)
        return cls.of(document)

    @classmethod
    def measure(cls, document: Document, instructions: Sequence[Instruction] | None = None) -> Style:
        indents: Counter[str] = Counter()
        leading = trailing = 0
        for instruction in document.instructions if instructions is None else instructions:
            if instruction.cmd != "run" or len(instruction.lines) < 2:
                continue
            for line in instruction.lines:
                content = document.text[line.start : line.content_end]
                stripped = content.lstrip(" \t")
                if line is not instruction.lines[0] and stripped and not stripped.startswith("#"):
                    indents[content[: len(content) - len(stripped)]] += 1
                    leading += stripped.startswith(("&&", "||"))
                trailing += content.rstrip(" \t" + document.escape).endswith("&&")
        indent = indents.most_common(1)[0][0] if indents else "    "
        return cls(indent or "    ", leading_operator=leading >= trailing)

    def join(self, document: Document, comments: Sequence[str], command: str) -> str:
        """Text that continues a RUN with `&& command` on a new continuation line, comment lines (their text, `#`
        included) before it."""
        newline = document.source.newline
        escape = document.escape
        comment_lines = "".join(comment + newline for comment in comments)
        if self.leading_operator:
            return f" {escape}{newline}{comment_lines}{self.indent}&& {command}"
        return f" && {escape}{newline}{comment_lines}{self.indent}{command}"
