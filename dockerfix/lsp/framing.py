"""The base protocol's frames, read by a forgiving reader (one bad frame costs that frame, not the session: pygls'
own reader goes deaf after one, docs/decisions.md) and written for the replies pygls cannot send (an error with a
null id)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections.abc import Callable
from typing import Any

from pygls.io_ import StdoutWriter

READ_SIZE = 64 * 1024
MAX_HEADER_LINE = 8192
MAX_LENGTH_DIGITS = 15  # int() refuses strings of more than 4,300 digits, and no body has a petabyte
# a body that stops arriving for this long had a Content-Length larger than what was sent
STALL_SECONDS = 2.0
HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*\r?\n")
# JSON cannot hold this (a raw newline is not allowed in a JSON string), so after noise it starts the next frame
FRAME_START = re.compile(rb"content-length:[ \t]*\d+[ \t]*\r?\n", re.IGNORECASE)


class FrameReader:
    """The base protocol's frames (header lines, an empty line, `Content-Length` bytes of body) from the chunks the
    input thread queues. Accepted as a robust reader should: header names in any case (they are HTTP's) and lines
    ended by LF alone. Anything else is noise: the bytes up to the next `Content-Length` header are skipped and
    reported once, so one bad frame costs that frame only. A body whose bytes stop arriving for `STALL_SECONDS` is
    handed over as far as it came (its length lied); the caller resumes at a frame found inside it."""

    def __init__(self, chunks: asyncio.Queue[bytes], report: Callable[[str], None]) -> None:
        self.chunks = chunks
        self.report = report
        self.buffer = bytearray()
        self.ended = False
        self.noise: tuple[str, int] | None = None  # the first problem and the bytes skipped since

    async def body(self) -> bytes | None:
        """The next frame's body, or None when the input has ended."""
        while True:
            header = self._header()
            if isinstance(header, tuple):
                self._report_noise(0)
                length, start = header
                while len(self.buffer) < start + length and await self._more(STALL_SECONDS):
                    pass
                body = bytes(self.buffer[start : start + length])
                del self.buffer[: start + length]
                return body
            if isinstance(header, str) and self._skip_to_frame(header):
                continue
            if not await self._more():
                self._report_noise(len(self.buffer))
                return None

    def resume_inside(self, body: bytes) -> None:
        """A body that is no JSON may have swallowed the frames after it: read on from the first one inside it."""
        found = FRAME_START.search(body)
        if found is not None:
            self.buffer[:0] = body[found.start() :]

    async def _more(self, timeout: float | None = None) -> bool:
        """Append the next chunk; False at the end of the input or after ``timeout`` seconds without one."""
        if self.ended:
            return False
        try:
            chunk = await asyncio.wait_for(self.chunks.get(), timeout)
        except asyncio.TimeoutError:
            return False
        if not chunk:
            self.ended = True
            return False
        self.buffer += chunk
        return True

    def _header(self) -> tuple[int, int] | str | None:
        """(body length, body offset) when the buffer starts with a whole header block, what is wrong when it starts
        with something else, None when it needs more bytes."""
        offset, length = 0, None
        while (end := self.buffer.find(b"\n", offset)) >= 0:
            line = bytes(self.buffer[offset : end + 1])
            offset = end + 1
            if line in (b"\n", b"\r\n"):
                return (length, offset) if length is not None else "a frame without a Content-Length header"
            header = HEADER_LINE.fullmatch(line)
            if header is None:
                return f"not a header line: {line[:60]!r}"
            name, value = header.groups()
            if name.lower() == b"content-length":
                if not value.isdigit() or len(value) > MAX_LENGTH_DIGITS:
                    return f"Content-Length is not a number of bytes: {value[:60]!r}"
                length = int(value)
        if len(self.buffer) - offset > MAX_HEADER_LINE:
            return f"a header line longer than {MAX_HEADER_LINE} bytes"
        return None

    def _skip_to_frame(self, problem: str) -> bool:
        """Drop the noise before the next `Content-Length` header (not the one the noise may start with); without
        one, keep only an unfinished last line short enough to become one. True when the buffer now starts with a
        header."""
        found = FRAME_START.search(self.buffer, 1)
        if found is not None:
            skipped = found.start()
        else:
            skipped = max(self.buffer.rfind(b"\n") + 1, len(self.buffer) - 64, 0)
        first_problem, skipped_before = self.noise or (problem, 0)
        self.noise = (first_problem, skipped_before + skipped)
        del self.buffer[:skipped]
        return found is not None

    def _report_noise(self, more: int) -> None:
        if self.noise is None:
            return
        problem, skipped = self.noise
        self.noise = None
        self.report(f"skipped {skipped + more} bytes of input that are no LSP frame ({problem})")


class FrameWriter(StdoutWriter):
    """pygls' stdout writer, which can also send a message pygls' own messages cannot express: JSON-RPC requires the
    `id` of an error response to be null when the request's id is unknown, and pygls' serializer drops null fields."""

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        self.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def read_chunks(descriptor: int, loop: asyncio.AbstractEventLoop, chunks: asyncio.Queue[bytes]) -> None:
    """Queue what arrives on ``descriptor`` (an empty chunk at its end) from a daemon thread: blocking reads there
    never keep the server from exiting."""

    def read() -> None:
        chunk = b"-"
        while chunk:
            try:
                chunk = os.read(descriptor, READ_SIZE)
            except OSError:
                chunk = b""
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except RuntimeError:  # the loop is gone: the server is exiting
                return

    threading.Thread(target=read, name="dockerfix-stdin", daemon=True).start()
