"""Source text: decoding bytes the way BuildKit reads them, and offsets <-> (line, column).

Offsets are indices into the decoded ``str`` (code points). Lines and columns are 1-based, columns count code
points, as compilers print them; the LSP server converts to its client's encoding itself.
"""

from __future__ import annotations

import bisect
from functools import cached_property

from msgspec import Struct

UTF8_BOM = b"\xef\xbb\xbf"
_UNSUPPORTED_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


class SourceError(Exception):
    """Input that cannot be read or parsed as a Dockerfile, located at a 1-based line and column."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{column}: {message}")
        self.path = path
        self.line = line
        self.column = column
        self.message = message


def _byte_position(data: bytes, index: int) -> tuple[int, int]:
    """Line and column (in characters of the valid prefix) of byte ``index``, for errors in undecodable input."""
    line_start = data.rfind(b"\n", 0, index) + 1
    line = data.count(b"\n", 0, index) + 1
    prefix = data[line_start:index]
    if line == 1 and prefix.startswith(UTF8_BOM):
        prefix = prefix[len(UTF8_BOM) :]
    column = len(prefix.decode("utf-8", errors="replace")) + 1
    return line, column


class Source(Struct, frozen=True, dict=True):
    """Decoded Dockerfile text plus what is needed to write it back byte for byte."""

    text: str
    path: str = "<stdin>"
    bom: bool = False

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        index = self.text.find("\n")
        while index != -1:
            starts.append(index + 1)
            index = self.text.find("\n", index + 1)
        return starts

    @classmethod
    def decode(cls, data: bytes, path: str = "<stdin>") -> Source:
        """Decode as BuildKit does (UTF-8, optional BOM); refuse binary and other encodings with a located error."""
        for unsupported_bom, name in _UNSUPPORTED_BOMS.items():
            if data.startswith(unsupported_bom):
                raise SourceError(path, 1, 1, f"{name} text is not supported (BuildKit reads UTF-8); re-save as UTF-8")
        nul = data.find(b"\x00")
        if nul != -1:
            line, column = _byte_position(data, nul)
            raise SourceError(path, line, column, "binary file (NUL byte), not a Dockerfile")
        bom = data.startswith(UTF8_BOM)
        body = data[len(UTF8_BOM) :] if bom else data
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            line, column = _byte_position(data, error.start + (len(UTF8_BOM) if bom else 0))
            raise SourceError(path, line, column, f"invalid UTF-8 (byte 0x{body[error.start]:02x})") from None
        return cls(text=text, path=path, bom=bom)

    def encode(self, text: str | None = None) -> bytes:
        """Bytes for ``text`` (default: this source's text) with this source's BOM."""
        body = (self.text if text is None else text).encode("utf-8")
        return (UTF8_BOM + body) if self.bom else body

    def with_text(self, text: str) -> Source:
        return Source(text=text, path=self.path, bom=self.bom)

    @property
    def newline(self) -> str:
        """The line ending new lines should use: the file's first one, LF for a file without any."""
        first = self.text.find("\n")
        return "\r\n" if first > 0 and self.text[first - 1] == "\r" else "\n"

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def line_start(self, line: int) -> int:
        return self._line_starts[line - 1]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of ``offset``."""
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return line_index + 1, offset - self._line_starts[line_index] + 1

    def offset(self, line: int, column: int) -> int:
        """Offset of a 1-based (line, column); columns past the line end clamp to it."""
        if line > len(self._line_starts):
            return len(self.text)
        start = self._line_starts[line - 1]
        end = self._line_starts[line] - 1 if line < len(self._line_starts) else len(self.text)
        return min(start + column - 1, end)
