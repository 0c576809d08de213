"""The lossless Dockerfile model.

The parser walks physical lines exactly as BuildKit's parser does (directives, comments, continuation lines, lines
skipped inside continuations, heredoc bodies) and keeps, for every element, the span of source it came from. The
elements tile the text: joining their slices gives the input back byte for byte, and edits are made on that text.
What BuildKit derives from each logical instruction line (keyword, flags, value, exec form) comes from
``arguments.parse_line``, a port of its line parsers, so the model and BuildKit agree instruction by instruction.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from msgspec import Struct, field

from . import shell
from .arguments import (
    GO_SPACE,
    ArgumentError,
    HeredocHeader,
    ParsedLine,
    heredoc_headers,
    is_heredoc_word,
    parse_line,
)
from .facts import Analysed, cached_fact
from .shell import Script
from .source import Source, SourceError

_DIRECTIVE = re.compile(r"^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$", re.DOTALL)
# The directives BuildKit's parser (PyPI `dockerfile` 3.4) tracks. `# check=` is read by the linter, not the parser:
# for the parser it is a comment that ends the directives, so two `# check=` lines are fine and an `# escape=` after
# one is a comment.
KNOWN_DIRECTIVES = frozenset({"syntax", "escape"})
SHELL_FORM_KEYWORDS = frozenset({"run", "cmd", "entrypoint"})


# The nodes that hold only strings, numbers and other such nodes are not tracked by the garbage collector
# (``gc=False``, also in shell.py and arguments.py): they cannot be part of a reference cycle, and counting their
# allocations made it collect twice as often: over the real corpus with the unsafe fix loop, 217 -> 97 young
# collections, 19 -> 9 middle and 1 -> 0 full ones.
class Line(Struct, frozen=True, gc=False):
    """A physical line: ``content_end`` excludes the line ending (BuildKit trims every trailing CR and LF)."""

    number: int
    start: int
    content_end: int
    end: int


class Directive(Struct, frozen=True, gc=False):
    name: str
    value: str
    line: Line

    @property
    def span(self) -> tuple[int, int]:
        return self.line.start, self.line.end


class Comment(Struct, frozen=True, gc=False):
    text: str
    line: Line

    @property
    def span(self) -> tuple[int, int]:
        return self.line.start, self.line.end


class BlankLine(Struct, frozen=True, gc=False):
    line: Line

    @property
    def span(self) -> tuple[int, int]:
        return self.line.start, self.line.end


class Flag(Struct, frozen=True, gc=False):
    """A builder flag such as ``--mount=type=cache,target=/x``; ``start``/``end`` are source offsets."""

    text: str
    start: int
    end: int

    @property
    def name(self) -> str:
        return self.text[2:].partition("=")[0].lower()

    @property
    def value(self) -> str | None:
        name, equals, value = self.text[2:].partition("=")
        return value if equals else None


class Heredoc(Struct, frozen=True, dict=True):
    """A heredoc body: ``start``/``end`` cover the body lines (with their line endings), then the terminator line."""

    header: HeredocHeader
    start: int
    end: int
    terminator: Line
    content: str

    @property
    def name(self) -> str:
        return self.header.name

    @property
    def has_shebang(self) -> bool:
        """BuildKit runs a body that starts with `#!` as a file, with that interpreter, not with the SHELL."""
        return self.content.startswith("#!")

    @cached_fact
    def segments(self) -> tuple[Segment, ...]:
        """The body as BuildKit passes it on (`<<-` strips each line's leading tabs), mapped to the source."""
        if not self.header.chomp:
            return (Segment(0, self.start, len(self.content)),)
        segments = []
        logical = 0
        line_start = self.start
        for line in self.content.splitlines(keepends=True):
            kept = line.lstrip("\t")
            segments.append(Segment(logical, line_start + len(line) - len(kept), len(kept)))
            logical += len(kept)
            line_start += len(line)
        return tuple(segments) or (Segment(0, self.start, 0),)

    @cached_fact
    def text(self) -> str:
        return "".join(
            self.content[piece.source_start - self.start : piece.source_start - self.start + piece.length]
            for piece in self.segments
        )


class Segment(Struct, frozen=True, gc=False):
    """A slice of source that is part of an instruction's logical line: ``logical_start`` maps to ``source_start``."""

    logical_start: int
    source_start: int
    length: int


class Instruction(Struct, Analysed, frozen=True, eq=False, dict=True):
    """One instruction with every line it spans: continuations, comment and blank lines inside them, heredocs."""

    index: int
    logical: str
    parsed: ParsedLine
    segments: tuple[Segment, ...]
    lines: tuple[Line, ...]
    comment_lines: tuple[Line, ...]
    heredocs: tuple[Heredoc, ...]
    flags: tuple[Flag, ...]
    start: int
    header_end: int
    end: int
    start_line: int
    end_line: int
    stage_index: int | None = None
    leading_comments: tuple[Comment, ...] = ()

    @cached_fact
    def span(self) -> tuple[int, int]:
        """Whole lines, line endings included: what deleting or moving the instruction takes."""
        return self.lines[0].start, self.lines[-1].end

    @property
    def keyword(self) -> str:
        return self.parsed.keyword

    @cached_fact
    def cmd(self) -> str:
        """The keyword in lower case, for comparisons."""
        return self.parsed.keyword.lower()

    @property
    def value(self) -> tuple[str, ...]:
        return self.parsed.value

    @property
    def is_json(self) -> bool:
        return self.parsed.json

    @property
    def is_shell_form(self) -> bool:
        return self.cmd in SHELL_FORM_KEYWORDS and not self.parsed.json

    @property
    def arguments(self) -> str:
        """The logical text after keyword and flags (for a shell-form RUN: what ``/bin/sh -c`` receives)."""
        return self.logical[self.parsed.arguments_start :]

    @property
    def arguments_start(self) -> int:
        return self.to_source(self.parsed.arguments_start)

    def flag(self, name: str) -> Flag | None:
        return next((flag for flag in self.flags if flag.name == name), None)

    def to_source(self, logical_offset: int, end: bool = False) -> int:
        """Source offset of a logical-line offset; an ``end`` offset maps to the end of the piece it closes."""
        return map_offset(self.segments, logical_offset, end)

    def arguments_to_source(self, offset: int, end: bool = False) -> int:
        """Source offset of an offset into the shell script (a span of the shell model): into ``arguments``, or
        into the body of the ``script_heredoc``."""
        if self.script_heredoc is not None:
            return map_offset(self.script_heredoc.segments, offset, end)
        return self.to_source(self.parsed.arguments_start + offset, end)

    @cached_fact
    def script_heredoc(self) -> Heredoc | None:
        """The heredoc whose body is this RUN's shell script. BuildKit runs the body of `RUN <<EOF` (the heredoc
        is the whole command) with the SHELL, as if it were the command; `RUN cmd <<EOF` feeds the body to cmd's
        stdin (the shell reads the heredoc), and a body that starts with `#!` runs with its own interpreter."""
        if self.cmd != "run" or self.parsed.json or len(self.heredocs) != 1 or self.heredocs[0].has_shebang:
            return None
        return self.heredocs[0] if is_heredoc_word(self.arguments) else None

    @cached_fact
    def shell(self) -> shell.Script | None:
        """The parsed shell command of a shell-form RUN/CMD/ENTRYPOINT (of `RUN <<EOF`: the heredoc's body); None
        for other instructions."""
        if not self.is_shell_form:
            return None
        if self.script_heredoc is not None:
            return shell.parse_shell(self.script_heredoc.text)
        return shell.parse_shell(self.arguments)

    @property
    def shell_script(self) -> Script:
        """``shell`` where the caller has already matched the instruction as shell form (its commands, its runs)."""
        script = self.shell
        if script is None:
            raise ValueError(f"line {self.start_line}: {self.keyword} is not in shell form")
        return script


Element = Directive | Comment | BlankLine | Instruction


class Stage(Struct, Analysed, frozen=True, eq=False, dict=True):
    """A FROM and the instructions up to the next FROM. Compared and hashed by identity: rules cache per stage, and
    hashing the instruction tuple on every look-up would cost a scan of the stage."""

    index: int
    name: str | None
    base_image: str
    from_instruction: Instruction
    instructions: tuple[Instruction, ...]

    def following(self, instruction: Instruction) -> Iterator[Instruction]:
        """The stage's instructions after ``instruction`` (one of them), lazily: a stage's instructions are
        consecutive in the file, so no scan finds where to start."""
        members = self.instructions
        return (
            members[position] for position in range(instruction.index - self.from_instruction.index + 1, len(members))
        )

    @property
    def platform(self) -> str | None:
        flag = self.from_instruction.flag("platform")
        return flag.value if flag else None


class Document(Struct, Analysed, frozen=True, eq=False, dict=True):
    source: Source
    lines: tuple[Line, ...]
    escape: str
    directives: tuple[Directive, ...]
    elements: tuple[Element, ...]
    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    global_args: tuple[Instruction, ...] = field(default=())

    @property
    def text(self) -> str:
        return self.source.text

    def render(self) -> str:
        """The text rebuilt from the elements' spans (equal to the input: the elements tile it)."""
        return "".join(self.text[slice(*element.span)] for element in self.elements)

    def comments(self) -> Iterator[Comment]:
        return (element for element in self.elements if isinstance(element, Comment))

    @cached_fact
    def _element_starts(self) -> list[int]:
        return [element.span[0] for element in self.elements]

    def comments_between(self, start: int, end: int) -> list[Comment]:
        """The comment lines that start in ``[start, end)``, found by binary search over the elements."""
        first, last = bisect.bisect_left(self._element_starts, start), bisect.bisect_left(self._element_starts, end)
        return [element for element in self.elements[first:last] if isinstance(element, Comment)]

    def directive(self, name: str) -> Directive | None:
        return next((directive for directive in self.directives if directive.name == name), None)

    @cached_fact
    def _instruction_bounds(self) -> tuple[list[int], list[int]]:
        return [instruction.span[0] for instruction in self.instructions], [
            instruction.span[1] for instruction in self.instructions
        ]

    def instructions_overlapping(self, start: int, end: int) -> tuple[Instruction, ...]:
        """The instructions whose lines reach into ``[start, end]`` (spans are disjoint and sorted: two binary
        searches, not a scan)."""
        starts, ends = self._instruction_bounds
        return self.instructions[bisect.bisect_right(ends, start) : bisect.bisect_right(starts, end)]

    def stage_of(self, instruction: Instruction) -> Stage | None:
        return None if instruction.stage_index is None else self.stages[instruction.stage_index]

    def position(self, offset: int) -> tuple[int, int]:
        return self.source.position(offset)


def map_offset(segments: tuple[Segment, ...] | list[Segment], offset: int, end: bool = False) -> int:
    """Source offset of a logical-line offset; with ``end``, an offset on a piece boundary closes the earlier piece."""
    for segment in reversed(segments):
        if offset > segment.logical_start or (offset == segment.logical_start and not end):
            return segment.source_start + min(offset - segment.logical_start, segment.length)
    return segments[0].source_start


def _split_lines(text: str, start: int = 0, lines_before: int = 0) -> tuple[list[Line], list[str]]:
    """The physical lines from offset ``start`` (where line ``lines_before + 1`` starts) on and, for each, its content
    (without its line ending): split in one call, not found line by line, and kept for the parser, which reads every
    line's content."""
    pieces = text[start:].split("\n")
    last = pieces.pop()  # after the last line feed: a last line without one, or nothing
    lines = []
    contents = []
    number = lines_before
    for number, piece in enumerate(pieces, lines_before + 1):
        content = piece.rstrip("\r")
        end = start + len(piece) + 1
        lines.append(Line(number, start, start + len(content), end))
        contents.append(content)
        start = end
    if last:
        content = last.rstrip("\r")
        lines.append(Line(number + 1, start, start + len(content), len(text)))
        contents.append(content)
    return lines, contents


class _Parser:
    """One pass over the physical lines, following BuildKit's parser step by step."""

    def __init__(self, source: Source, before: Document | None = None, unchanged: int = 0) -> None:
        self.source = source
        self.text = source.text
        kept = _kept_elements(before, unchanged) if before is not None else ()
        self.elements: list[Element] = list(kept)
        self.instructions = [element for element in kept if isinstance(element, Instruction)]
        self.directives = [element for element in kept if isinstance(element, Directive)]
        escape = next((directive.value for directive in self.directives if directive.name == "escape"), None)
        self.escape = escape or "\\"
        self.directives_done = len(self.directives) < len(kept)
        last_stage = self.instructions[-1].stage_index if self.instructions else None
        self.stages_started = 0 if last_stage is None else last_stage + 1
        kept_lines = before.lines[: _last_line(kept[-1]).number] if kept and before is not None else ()
        lines, contents = _split_lines(self.text, kept_lines[-1].end if kept_lines else 0, len(kept_lines))
        self.lines = (*kept_lines, *lines)
        self.contents = [""] * len(kept_lines) + contents  # the kept lines' contents are never read
        self.first_line = len(kept_lines)

    def error(self, line: Line, column: int, message: str) -> SourceError:
        return SourceError(self.source.path, line.number, column, message)

    def directive(self, line: Line, candidate: str) -> Directive | None:
        """The directive on this line while directives can still come (None ends them)."""
        match = _DIRECTIVE.match(candidate)
        name = match.group(1).lower() if match else None
        if not match or name not in KNOWN_DIRECTIVES:
            self.directives_done = True
            return None
        if any(directive.name == name for directive in self.directives):
            raise self.error(line, 1, f"only one {name} parser directive can be used")
        value = match.group(2)
        if name == "escape":
            if value not in ("`", "\\"):
                raise self.error(line, 1, f"invalid escape token '{value}' does not match ` or \\")
            self.escape = value
        directive = Directive(name, value, line)
        self.directives.append(directive)
        return directive

    def trim_continuation(self, text: str) -> tuple[str, bool]:
        """(text without a trailing continuation token, whether the logical line ends here). As BuildKit's
        continuation pattern reads it: the token followed by nothing but spaces and tabs, and not preceded by another
        token (a physical line holds no line feed, which the pattern's ``$`` would also stop at)."""
        trimmed = text.rstrip(" \t")
        if not trimmed.endswith(self.escape):
            return text, True
        before = trimmed[:-1]
        if before.endswith(self.escape):
            return text, True
        return before, False

    def parse(self) -> Document:
        index = self.first_line
        while index < len(self.lines):
            index = self.parse_from(index)
        if not self.instructions:
            last = self.lines[-1].number if self.lines else 1
            raise SourceError(self.source.path, last, 1, "file with no instructions")
        return self.finish()

    def parse_from(self, index: int) -> int:
        line = self.lines[index]
        stripped = self.contents[index].lstrip(GO_SPACE)
        directive = None if self.directives_done else self.directive(line, stripped)
        if directive is not None:
            self.elements.append(directive)
            return index + 1
        if stripped.startswith("#"):
            self.elements.append(Comment(stripped[1:].strip(), line))
            return index + 1
        first, ended = self.trim_continuation(stripped)
        if ended and not first:
            self.elements.append(BlankLine(line))
            return index + 1
        return self.parse_instruction(index, line.content_end - len(stripped), first, ended)

    def parse_instruction(self, index: int, start: int, first: str, ended: bool) -> int:
        """The instruction whose first line is line ``index``, from ``start`` (after its indentation) on."""
        first_line = self.lines[index]
        segments = [Segment(0, start, len(first))]
        # joined once at the end: appending to a string once per line copies it per line (quadratic)
        pieces = [first]
        length = len(first)
        used = [first_line]
        comment_lines = []
        index += 1
        while not ended and index < len(self.lines):
            line = self.lines[index]
            raw = self.contents[index]
            used.append(line)
            index += 1
            indented = raw.lstrip(GO_SPACE)
            if indented.startswith("#"):
                comment_lines.append(line)
                continue
            if not indented:
                continue
            piece, ended = self.trim_continuation(raw)
            segments.append(Segment(length, line.start, len(piece)))
            pieces.append(piece)
            length += len(piece)
        logical = "".join(pieces)
        header_end = used[-1].content_end
        try:
            parsed = parse_line(logical, self.escape)
        except ArgumentError as error:
            raise self.error(first_line, self.source.position(start)[1], str(error)) from None
        heredocs = []
        for header in heredoc_headers(parsed, logical):
            body_start = self.lines[index].start if index < len(self.lines) else len(self.text)
            while True:
                if index >= len(self.lines):
                    raise self.error(
                        first_line,
                        self.source.position(start)[1],
                        f"unterminated heredoc {header.name!r} (no line {header.name!r} before the end of the file)",
                    )
                line = self.lines[index]
                candidate = self.contents[index]
                used.append(line)
                index += 1
                if header.chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == header.name:
                    heredocs.append(Heredoc(header, body_start, line.start, line, self.text[body_start : line.start]))
                    break
        flags = (
            tuple(
                Flag(
                    logical[flag_start:flag_end],
                    map_offset(segments, flag_start),
                    map_offset(segments, flag_end, end=True),
                )
                for flag_start, flag_end in parsed.flag_spans
            )
            if parsed.flag_spans  # most instructions have none: no generator to build
            else ()
        )
        if parsed.keyword.lower() == "from":
            self.stages_started += 1
        leading = len(self.elements)
        while leading and isinstance(self.elements[leading - 1], Comment):
            leading -= 1
        # most instructions follow no comment: no generator to build
        leading_comments = (
            tuple(element for element in self.elements[leading:] if isinstance(element, Comment))
            if leading < len(self.elements)
            else ()
        )  # all of them, by how `leading` is found
        self.instructions.append(
            Instruction(
                index=len(self.instructions),
                logical=logical,
                parsed=parsed,
                segments=tuple(segments),
                lines=tuple(used),
                comment_lines=tuple(comment_lines),
                heredocs=tuple(heredocs),
                flags=flags,
                start=start,
                header_end=header_end,
                end=used[-1].content_end,
                start_line=first_line.number,
                end_line=used[-1].number,
                stage_index=self.stages_started - 1 if self.stages_started else None,
                leading_comments=leading_comments,
            )
        )
        self.elements.append(self.instructions[-1])
        return index

    def finish(self) -> Document:
        """Group the instructions into stages (each instruction knows its stage and the comments above it)."""
        stage_members: list[list[Instruction]] = [[] for _ in range(self.stages_started)]
        global_args = []
        for instruction in self.instructions:
            if instruction.stage_index is None:
                if instruction.cmd == "arg":
                    global_args.append(instruction)
            else:
                stage_members[instruction.stage_index].append(instruction)
        instructions = tuple(self.instructions)
        elements = self.elements
        stages = []
        for stage_index, members in enumerate(stage_members):
            from_instruction = members[0]
            value = from_instruction.value
            name = value[2].lower() if len(value) >= 3 and value[1].lower() == "as" else None
            stages.append(Stage(stage_index, name, value[0] if value else "", from_instruction, tuple(members)))
        return Document(
            source=self.source,
            lines=self.lines,
            escape=self.escape,
            directives=tuple(self.directives),
            elements=tuple(elements),
            instructions=instructions,
            stages=tuple(stages),
            global_args=tuple(global_args),
        )


def parse(source: Source) -> Document:
    """Parse a decoded Dockerfile; raises ``SourceError`` where BuildKit would reject it."""
    return _Parser(source).parse()


def reparse(source: Source, before: Document, unchanged: int) -> Document:
    """``parse(source)`` where ``source`` is an edit of ``before``'s text that keeps its first ``unchanged``
    characters (the fix loop's attempts): the elements of ``before`` that lie wholly in them are taken as they are,
    the same objects with the facts rules already found about them, and the parser starts after them. Parsing them
    again would build equal ones: the parser reads a text forwards, and after an element it carries only what the
    elements so far say (the directives, the stages begun, the comments above the next instruction)."""
    return _Parser(source, before, unchanged).parse()


def _kept_elements(before: Document, unchanged: int) -> tuple[Element, ...]:
    """The elements of ``before`` that end within its first ``unchanged`` characters, but its last element: that
    one may have ended only because the text did (a continuation line, then the end of the file), and what an edit
    appends would continue it. Any other element ended on a line of its own, which the next element follows."""
    elements = before.elements
    kept = 0
    while kept < len(elements) - 1 and elements[kept].span[1] <= unchanged:
        kept += 1
    return elements[:kept]


def _last_line(element: Element) -> Line:
    return element.lines[-1] if isinstance(element, Instruction) else element.line


def parse_text(text: str, path: str = "<string>") -> Document:
    return parse(Source(text=text, path=path))
