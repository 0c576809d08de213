"""What BuildKit makes of one logical instruction line: keyword, flags, value, exec form, heredoc headers.

A port of BuildKit's ``splitCommand``, ``extractBuilderFlags``, line parsers and the part of its shell word lexer
that heredoc detection uses, so that the document model agrees with BuildKit instruction by instruction
(tests/test_document.py compares both on the whole corpus).
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Mapping
from functools import lru_cache
from typing import Any

from msgspec import Struct

# Go's unicode.IsSpace for runes; BuildKit splits and trims with it (Python's str.isspace also accepts \x1c-\x1f).
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_WHITESPACE_RUN = re.compile(r"[\t\v\f\r ]+")
_GO_SPACE_RUN = re.compile(f"[{GO_SPACE}]+")
# the characters BuildKit's word lexer does anything with besides copying them (spaces only separate words)
_LEXED = re.compile(r"[$'\"\\]")
_HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<]*)$", re.DOTALL)
HEREDOC_KEYWORDS = frozenset({"run", "copy", "add"})
# unicode.IsSpace(rune(b)) on a single byte, as extractBuilderFlags applies it (a set, not a function: it is asked
# once per byte of every flag)
_GO_SPACE_BYTES = frozenset({0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0})


class ArgumentError(ValueError):
    """BuildKit rejects this instruction line."""


class ParsedLine(Struct, frozen=True, gc=False):  # no cycle through it: see document.Line
    keyword: str
    flags: tuple[str, ...]
    flag_spans: tuple[tuple[int, int], ...]
    arguments_start: int
    value: tuple[str, ...]
    json: bool
    sub_keyword: str | None


class HeredocHeader(Struct, frozen=True, gc=False):  # no cycle through it: see document.Line
    name: str
    file_descriptor: int
    chomp: bool
    expand: bool


def _go_trim_space(text: str) -> str:
    return text.strip(GO_SPACE)


def _go_byte_string(word: bytearray) -> str:
    """extractBuilderFlags appends each byte as a rune (``string(ch)`` on a byte), so a non-ASCII flag comes out as
    its UTF-8 bytes read as Latin-1: `--é` is `--Ã©` in BuildKit's node, and here."""
    return word.decode("latin-1")


def _extract_flags(line: bytes, offset: int) -> tuple[int, list[tuple[str, int, int]]]:
    """BuildKit's extractBuilderFlags over bytes: (byte offset where the arguments start, [(flag, start, end)])."""
    flags: list[tuple[str, int, int]] = []
    word = bytearray()
    word_start = offset
    in_word = in_quote = False
    quote = 0
    blank_ok = False
    position = offset
    length = len(line)
    while position <= length:
        byte = line[position] if position < length else None
        if not in_word and not in_quote:
            if byte is None:
                return length, flags
            if byte in _GO_SPACE_BYTES:
                position += 1
                continue
            if byte != 0x2D or position + 1 == length or line[position + 1] != 0x2D:
                return position, flags
            in_word, word_start = True, position
        if byte is None:
            if bytes(word) != b"--" and (blank_ok or word):
                flags.append((_go_byte_string(word), word_start, position))
            return length, flags
        if in_word and not in_quote:
            if byte in _GO_SPACE_BYTES:
                in_word = False
                if bytes(word) == b"--":
                    return position, flags
                if blank_ok or word:
                    flags.append((_go_byte_string(word), word_start, position))
                word = bytearray()
                blank_ok = False
                position += 1
                continue
            if byte in (0x27, 0x22):
                quote, blank_ok, in_quote = byte, True, True
                position += 1
                continue
            if byte == 0x5C:
                if position + 1 == length:
                    position += 1
                    continue
                position += 1
                byte = line[position]
            word.append(byte)
            position += 1
            continue
        # inside quotes
        if byte == quote:
            in_quote = False
            position += 1
            continue
        if byte == 0x5C:
            if position + 1 == length:
                in_quote = False
                position += 1
                continue
            position += 1
            byte = line[position]
        word.append(byte)
        position += 1
    return length, flags


def _words(rest: str, escape: str) -> list[str]:
    """BuildKit's parseWords (ENV, LABEL, ARG): whitespace-separated words keeping quotes and escapes."""
    if escape not in rest and "'" not in rest and '"' not in rest:
        # no quote or escape to keep a space inside a word (most lines): the words are the runs between spaces
        return [word for word in _GO_SPACE_RUN.split(rest) if word]
    words: list[str] = []
    word = ""
    in_word = in_quote = False
    quote = ""
    blank_ok = False
    position = 0
    length = len(rest)
    while position <= length:
        char = rest[position] if position < length else None
        if not in_word and not in_quote:
            if char is None:
                break
            if char in GO_SPACE:
                position += 1
                continue
            in_word = True
        if char is None:
            if blank_ok or word:
                words.append(word)
            break
        if in_word and not in_quote:
            if char in GO_SPACE:
                in_word = False
                if blank_ok or word:
                    words.append(word)
                word, blank_ok = "", False
                position += 1
                continue
            if char in "'\"":
                quote, blank_ok, in_quote = char, True, True
            if char == escape:
                if position + 1 == length:
                    position += 1
                    continue
                word += char
                position += 1
                char = rest[position]
            word += char
            position += 1
            continue
        if char == quote:
            in_quote = False
            in_word = True
        if char == escape and quote != "'":
            if position + 1 == length:
                in_quote = False
                in_word = True
                position += 1
                continue
            position += 1
            word += char
            char = rest[position]
        word += char
        position += 1
    return words


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_JSON = json.JSONDecoder(parse_constant=_reject_constant)


class _NotStringArray(Exception):
    pass


def _json_array(rest: str) -> tuple[str, ...] | None:
    """Strings of a JSON array (exec form), None when it is not JSON; raises _NotStringArray like BuildKit."""
    rest = rest.lstrip(GO_SPACE)
    if not rest.startswith("["):
        return None
    try:
        # BuildKit decodes the first JSON value and ignores what follows it (`CMD ["a"]  # note` is exec form).
        data, _ = _JSON.raw_decode(rest)
    except ValueError:
        return None
    except RecursionError:
        # Arrays nested deeper than Python's decoder goes: Go's decodes them (up to 10,000 levels), and an array
        # holding an array is not a string array.
        raise _NotStringArray from None
    if not isinstance(data, list):
        return None
    if not all(isinstance(item, str) for item in data):
        raise _NotStringArray
    return tuple(data)


def _whitespace_delimited(rest: str) -> tuple[str, ...]:
    return tuple(_WHITESPACE_RUN.split(rest)) if rest else ()


def _maybe_json(rest: str) -> tuple[tuple[str, ...], bool]:
    if not rest:
        return (), False
    array = _json_array(rest)
    if array is not None:
        return array, True
    return (rest,), False


def _maybe_json_list(rest: str) -> tuple[tuple[str, ...], bool]:
    array = _json_array(rest)
    if array is not None:
        return array, True
    return _whitespace_delimited(rest), False


def _name_values(rest: str, keyword: str, escape: str) -> tuple[str, ...]:
    words = _words(rest, escape)
    if not words:
        return ()
    if "=" not in words[0]:
        parts = _WHITESPACE_RUN.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise ArgumentError(f"{keyword} must have two arguments")
        return parts[0], parts[1]
    values: list[str] = []
    for word in words:
        if "=" not in word:
            raise ArgumentError(f"Syntax error - can't find = in {word!r}. Must be of the form: name=value")
        name, _, value = word.partition("=")
        values += [name, value]
    return tuple(values)


def _health(rest: str) -> tuple[tuple[str, ...], bool]:
    """HEALTHCHECK's type word and command; BuildKit finds their boundary byte by byte, like the flags."""
    encoded = rest.encode("utf-8", "surrogateescape")
    separator = 0
    while separator < len(encoded) and encoded[separator] not in _GO_SPACE_BYTES:
        separator += 1
    if separator == 0:
        return (), False
    following = separator
    while following < len(encoded) and encoded[following] in _GO_SPACE_BYTES:
        following += 1
    command, is_json = _maybe_json(encoded[following:].decode("utf-8", "surrogateescape"))
    return (encoded[:separator].decode("utf-8", "surrogateescape"), *command), is_json


def _value(keyword: str, rest: str, escape: str) -> tuple[tuple[str, ...], bool]:
    lower = keyword.lower()
    if lower in ("run", "cmd", "entrypoint", "shell"):
        return _maybe_json(rest)
    if lower in ("copy", "add", "volume"):
        return _maybe_json_list(rest)
    if lower in ("env", "label"):
        return _name_values(rest, "ENV" if lower == "env" else "LABEL", escape), False
    if lower == "arg":
        return tuple(_words(rest, escape)), False
    if lower in ("expose", "from"):
        return _whitespace_delimited(rest), False
    if lower in ("maintainer", "user", "workdir", "stopsignal"):
        return ((rest,) if rest else ()), False
    if lower == "healthcheck":
        return _health(rest)
    if lower == "onbuild":  # what follows an ONBUILD that follows ONBUILD
        return (("",) if rest else ()), False
    return ("",), False


def _split(line: str) -> tuple[str, tuple[tuple[str, int, int], ...], int, str]:
    """(keyword, flags with offsets into ``line``, offset of the arguments, arguments trimmed)."""
    leading = len(line) - len(line.lstrip(GO_SPACE))
    trimmed = _go_trim_space(line)
    parts = _WHITESPACE_RUN.split(trimmed, maxsplit=1)
    keyword = parts[0]
    if len(parts) < 2:
        return keyword, (), len(line.rstrip(GO_SPACE)), ""
    end = leading + len(trimmed)
    rest_offset = end - len(parts[1])
    # Most lines have no flag: the keyword's spaces are followed by neither `-` nor a space the byte-wise reading
    # passes (a line feed, or the bytes 0x85 and 0xA0 kept as surrogates by a lossless decoding; the first byte of
    # every other character, multi-byte ones too, is no space byte), so it would stop right there.
    if parts[1][0] in "-\n\udc85\udca0":
        arguments_start, flags = _flags(line, end, rest_offset)
    else:
        arguments_start, flags = rest_offset, ()
    arguments = _go_trim_space(line[arguments_start:end])
    arguments_start += len(line[arguments_start:]) - len(line[arguments_start:].lstrip(GO_SPACE))
    return keyword, flags, arguments_start, arguments


def _flags(line: str, end: int, rest_offset: int) -> tuple[int, tuple[tuple[str, int, int], ...]]:
    """``_extract_flags`` on ``line[:end]`` from ``rest_offset``, in character offsets."""
    encoded = line.encode("utf-8", "surrogateescape")
    if len(encoded) == len(line):  # one byte per character (most lines): byte offsets are character offsets
        arguments_start, byte_flags = _extract_flags(encoded[:end], rest_offset)
        return arguments_start, tuple(byte_flags)
    byte_rest = len(line[:rest_offset].encode("utf-8", "surrogateescape"))
    byte_arguments, byte_flags = _extract_flags(
        encoded[: len(line[:end].encode("utf-8", "surrogateescape"))], byte_rest
    )

    def to_chars(byte_offset: int) -> int:
        return len(encoded[:byte_offset].decode("utf-8", "surrogateescape"))

    return to_chars(byte_arguments), tuple((text, to_chars(start), to_chars(stop)) for text, start, stop in byte_flags)


@lru_cache(maxsize=8192)
def parse_line(line: str, escape: str = "\\") -> ParsedLine:
    """Parse one logical line as BuildKit's ``newNodeFromLine`` does; raises ``ArgumentError`` where it fails.
    Cached for the same reason as the shell parser: re-parses mostly see lines they parsed before."""
    keyword, flags, arguments_start, arguments = _split(line)
    # BuildKit reports ONBUILD's own flags and the value and form of the instruction after it, parsed as a line of
    # its own (one level: an ONBUILD after ONBUILD, rejected only when building, reports no value of its own).
    sub_keyword = None
    value_keyword, value_start, value_arguments = keyword, arguments_start, arguments
    if keyword.lower() == "onbuild" and arguments:
        sub_keyword, _, inner_start, value_arguments = _split(line[arguments_start:])
        value_keyword = sub_keyword
        value_start += inner_start
    try:
        value, is_json = _value(value_keyword, value_arguments, escape)
    except _NotStringArray:
        raise ArgumentError("when using JSON array syntax, arrays must be comprised of strings only") from None
    return ParsedLine(
        keyword=keyword,
        flags=tuple(text for text, _, _ in flags) if flags else (),
        flag_spans=tuple((start, end) for _, start, end in flags) if flags else (),
        arguments_start=value_start,
        value=value,
        json=is_json,
        sub_keyword=sub_keyword,
    )


class _LexError(Exception):
    pass


# a step of the lexer: it yields the steps it calls, receives their results and returns its own (see `_WordLexer.run`)
_Step = Generator[Any, Any, Any]


class _WordLexer:
    """BuildKit's shell word lexer (``shell.Lex.ProcessWords``) with no variables set and unset ones kept as
    written, which is how the parser runs it to find heredoc words and their names.

    Its steps call each other as deep as `${x:-${y:-...}}` and quotes nest, so they are generators that yield the
    step they need and ``run`` drives them with an explicit stack: no nesting depth exhausts Python's."""

    def __init__(self, text: str, raw_quotes: bool, raw_escapes: bool) -> None:
        self.text = text
        self.position = 0
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes

    def peek(self) -> str | None:
        return self.text[self.position] if self.position < len(self.text) else None

    def next(self) -> str | None:
        char = self.peek()
        if char is not None:
            self.position += 1
        return char

    def take(self) -> str:
        """The next character, which the caller has peeked."""
        char = self.text[self.position]
        self.position += 1
        return char

    def words(self) -> list[str]:
        try:
            return self.run(self.process_until(None, self.raw_escapes))[1]
        except _LexError:
            return []

    @staticmethod
    def run(step: _Step) -> Any:
        """Drive a step and the steps it yields (each yield is a call, the step's return value its result)."""
        stack = [step]
        value: Any = None
        error: _LexError | None = None
        while True:
            try:
                called = stack[-1].throw(error) if error is not None else stack[-1].send(value)
            except StopIteration as finished:
                stack.pop()
                value, error = finished.value, None
                if not stack:
                    return value
                continue
            except _LexError as raised:
                stack.pop()
                if not stack:
                    raise
                value, error = None, raised
                continue
            stack.append(called)
            value, error = None, None

    def process_until(self, stop: str | None, raw_escapes: bool) -> _Step:
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            return (yield self._process_until(stop))
        finally:
            self.raw_escapes = saved

    def _process_until(self, stop: str | None) -> _Step:
        result = ""
        words: list[str] = []
        word = ""

        def add_char(char: str) -> None:
            nonlocal word
            if char in GO_SPACE:
                if word:
                    words.append(word)
                    word = ""
            else:
                word += char

        while (char := self.peek()) is not None:
            if stop is not None and char == stop:
                self.next()
                return result, words + ([word] if word else [])
            if char == "$":
                piece = yield self.dollar()
                result += piece
                for each in piece:
                    add_char(each)
            elif char == "'":
                piece = self.single_quote()
                result += piece
                word += piece
            elif char == '"':
                piece = yield self.double_quote()
                result += piece
                word += piece
            else:
                char = self.take()
                if char == "\\":
                    if self.raw_escapes:
                        word += char
                        result += char
                    escaped = self.next()
                    if escaped is None:
                        break
                    char = escaped
                    word += char
                else:
                    add_char(char)
                result += char
        if stop is not None:
            raise _LexError(f"unexpected end of statement while looking for matching {stop}")
        return result, words + ([word] if word else [])

    def single_quote(self) -> str:
        opening = self.take()
        result = opening if self.raw_quotes else ""
        while True:
            char = self.next()
            if char is None:
                raise _LexError("unterminated single quote")
            if char == "'":
                return result + (char if self.raw_quotes else "")
            result += char

    def double_quote(self) -> _Step:
        opening = self.take()
        result = opening if self.raw_quotes else ""
        while True:
            char = self.peek()
            if char is None:
                raise _LexError("unterminated double quote")
            if char == '"':
                self.next()
                return result + (char if self.raw_quotes else "")
            if char == "$":
                result += yield self.dollar()
                continue
            char = self.take()
            if char == "\\":
                if self.raw_escapes:
                    result += char
                following = self.peek()
                if following is None:
                    continue
                if following in ('"', "$", "\\"):
                    char = self.take()
            result += char

    def name(self) -> str:
        name = ""
        while (char := self.peek()) is not None:
            if not name and char.isdigit():
                while (digit := self.peek()) is not None and digit.isdigit():
                    name += self.take()
                return name
            if not name and char in "@*#?-$!0":
                return self.take()
            if not (char.isalpha() or char.isdigit() or char == "_"):
                break
            name += self.take()
        return name

    def braced_name(self) -> tuple[str, str | None]:
        """After `$` before `{`: the variable's name and the character that ends it (`${` without a name is
        BuildKit's "bad substitution")."""
        self.next()
        if (char := self.peek()) is None or char in "{}:":
            raise _LexError("bad substitution")
        name = self.name()
        return name, self.next()

    def dollar(self) -> _Step:
        self.next()
        if self.peek() != "{":
            name = self.name()
            return "$" + name
        name, char = self.braced_name()
        if char == "}":
            return "${" + name + "}"
        # The lexer BuildKit's parser runs (PyPI `dockerfile` 3.4) knows `${x:<any>word}` and `${x+word}`,
        # `${x-word}`, `${x?word}`; `#`, `%` (also `${##}`) and `/` are "unsupported modifier" errors there, and an
        # error means no words at all, so no heredoc on that line.
        modifier = char or ""
        if char == ":":
            char = self.next()
            modifier += char or ""
        elif char is None or char not in "+-?":
            raise _LexError(f"unsupported modifier ({modifier}) in substitution")
        word, _ = yield self.process_until("}", False)
        return "${" + name + modifier + word + "}"


class _ExpandingLexer(_WordLexer):
    """BuildKit's ``shell.Lex.ProcessWord`` with variables set: quotes and escapes removed, ``$NAME``, ``${NAME}``
    and the ``-``/``+``/``?`` forms substituted. A bare variable it cannot know (absent from ``variables`` or mapped
    to None: a build argument, a builder-provided one), an unset one in the ``?`` form or a pattern form (``#``,
    ``%``, ``/``) makes the word unknown."""

    def __init__(self, text: str, variables: Mapping[str, str | None]) -> None:
        super().__init__(text, raw_quotes=False, raw_escapes=False)
        self.variables = variables
        self.unknown = False

    def value(self, name: str) -> str | None:
        value = self.variables.get(name)
        if value is None:
            self.unknown = True
        return value

    def dollar(self) -> _Step:
        self.next()
        if self.peek() != "{":
            name = self.name()
            return (self.value(name) or "") if name else "$"
        name, char = self.braced_name()
        if char == "}":
            return self.value(name) or ""
        colon = char == ":"
        if colon:
            char = self.next()
        if char is None or char not in "+-?":
            self.unknown = True
            yield self.process_until("}", True)
            return ""
        word, _ = yield self.process_until("}", False)
        # a variable declared without a default counts as unset: the form then says what the default build uses
        value = self.variables.get(name)
        empty = value is None or (colon and value == "")
        if char == "-":
            return word if empty else value or ""
        if char == "+":
            return "" if empty else word
        if empty:
            self.unknown = True
        return value or ""


def expand_word(text: str, variables: Mapping[str, str | None]) -> str | None:
    """What BuildKit makes of ``text`` (a FROM's image, an ARG's default) with these variables, as
    ``shell.Lex.ProcessWordWithMatches`` does; None when that depends on a value not known here."""
    if _LEXED.search(text) is None:  # most images and defaults: nothing to substitute, unquote or unescape
        return text
    lexer = _ExpandingLexer(text, variables)
    try:
        result, _ = lexer.run(lexer.process_until(None, False))
    except _LexError:
        return None
    return None if lexer.unknown else result


def heredoc_headers(parsed: ParsedLine, line: str) -> tuple[HeredocHeader, ...]:
    """The heredocs the instruction opens, in order (only shell-form RUN/COPY/ADD, also under ONBUILD)."""
    if "<<" not in line:  # the one test most lines fail: first
        return ()
    keyword = (parsed.sub_keyword or "") if parsed.keyword.lower() == "onbuild" else parsed.keyword
    if keyword.lower() not in HEREDOC_KEYWORDS or parsed.json:
        return ()
    headers = (_heredoc_header(word) for word in _WordLexer(line, raw_quotes=True, raw_escapes=True).words())
    return tuple(header for header in headers if header is not None)


def is_heredoc_word(arguments: str) -> bool:
    """Whether a RUN's command is one heredoc word and nothing else (`<<EOF`, `<<-"EOF"`): BuildKit then runs the
    body itself as the command (``parser.MustParseHeredoc`` on the whole command)."""
    return _heredoc_header(_go_trim_space(arguments)) is not None


def _heredoc_header(word: str) -> HeredocHeader | None:
    match = _HEREDOC_WORD.match(word)
    if not match or not match.group(3):
        return None
    rest = match.group(3)
    plain = _WordLexer(rest, raw_quotes=False, raw_escapes=False).words()
    if len(plain) != 1:
        return None
    raw = _WordLexer(rest, raw_quotes=True, raw_escapes=False).words()
    quotes = sum(plain[0].count(quote) for quote in "'\"")
    raw_quotes = sum(raw[0].count(quote) for quote in "'\"") if raw else quotes
    return HeredocHeader(plain[0], int(match.group(1) or 0), match.group(2) == "-", quotes == raw_quotes)
