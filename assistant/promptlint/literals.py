"""Decode Python and JavaScript string literals into their text, keeping where each character came from."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_PYTHON_PREFIX = re.compile(r"[A-Za-z]*")
_SIMPLE_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "`": "`", "$": "$",
    "a": "\a", "b": "\b", "f": "\f", "v": "\v", "0": "\0",
}
_HEX_LENGTHS = {"x": 2, "u": 4, "U": 8}


@dataclass(frozen=True)
class Field:
    """An interpolation (`{expr}` of an f-string, `${expr}` of a template literal) in text coordinates."""

    start: int
    end: int
    expression: str
    expression_type: str
    format_spec: str


@dataclass(frozen=True)
class PromptText:
    """Decoded text of a literal or file.

    `starts[i]` is the source byte where text character i begins, and `starts[len(text)]` is the
    end of the last character. So text[a:b] came from source bytes [starts[a], starts[b]).
    Interpolations stay in the text as their source (`{name}`) and are listed in `fields`.
    """

    text: str
    starts: tuple[int, ...]
    fields: tuple[Field, ...] = ()

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Return the source byte range of text[start:end]."""
        return self.starts[start], self.starts[end]


@dataclass(frozen=True)
class LiteralPart:
    """One quoted literal: its prefix, quote and body as source bytes."""

    prefix: str
    quote: str
    body_start_byte: int
    body_end_byte: int

    @property
    def is_fstring(self) -> bool:
        """True for Python f-strings and JavaScript template literals."""
        return "f" in self.prefix.lower() or self.quote == "`"

    @property
    def is_raw(self) -> bool:
        """True for Python raw strings, where a backslash stays a backslash."""
        return "r" in self.prefix.lower()

    @property
    def is_triple_quoted(self) -> bool:
        """True for `\"\"\"` and `'''` literals and for template literals, which may span lines."""
        return len(self.quote) == 3 or self.quote == "`"


def split_literal(source: bytes, start_byte: int, end_byte: int) -> LiteralPart | None:
    """Split one literal's source into prefix, quote and body; None if it is not a quoted string."""
    raw = source[start_byte:end_byte].decode("utf-8", errors="replace")
    prefix = _PYTHON_PREFIX.match(raw)
    prefix_text = prefix.group(0) if prefix else ""
    rest = raw[len(prefix_text):]
    for quote in ('"""', "'''", '"', "'", "`"):
        if rest.startswith(quote) and rest.endswith(quote) and len(rest) >= 2 * len(quote):
            head = len(prefix_text.encode()) + len(quote)
            return LiteralPart(prefix_text, quote, start_byte + head, end_byte - len(quote))
    return None


def decode_literal(source: bytes, part: LiteralPart, fields: list[tuple[int, int, str, str, str]]) -> PromptText:
    """Decode a literal body; `fields` are interpolations as (start byte, end byte, expression, type, spec).

    Escape sequences become their characters, `{{` and `}}` of f-strings become one brace, and an
    interpolation stays as its source text.
    """
    body = source[part.body_start_byte:part.body_end_byte]
    interpolations = sorted(item for item in fields if part.body_start_byte <= item[0] < part.body_end_byte)
    if not interpolations and b"\\" not in body and not (part.is_fstring and part.quote != "`"):
        return _plain(body.decode("utf-8", errors="replace"), part.body_start_byte)

    chars: list[str] = []
    starts: list[int] = []
    decoded_fields: list[Field] = []
    cursor = part.body_start_byte
    for field_start, field_end, expression, expression_type, spec in interpolations:
        if field_start < cursor:
            continue  # nested in the previous interpolation, which stays as its source text
        _decode_run(source[cursor:field_start], cursor, part, chars, starts)
        text_start = len(chars)
        _append_plain(source[field_start:field_end].decode("utf-8", errors="replace"), field_start, chars, starts)
        decoded_fields.append(Field(text_start, len(chars), expression, expression_type, spec))
        cursor = field_end
    _decode_run(source[cursor:part.body_end_byte], cursor, part, chars, starts)
    starts.append(part.body_end_byte)
    return PromptText("".join(chars), tuple(starts), tuple(decoded_fields))


def join_texts(parts: list[PromptText]) -> PromptText:
    """Concatenate the texts of implicitly joined literals (`"a" "b"`)."""
    if len(parts) == 1:
        return parts[0]
    text = "".join(part.text for part in parts)
    starts: list[int] = []
    fields: list[Field] = []
    for part in parts:
        offset = len(starts)
        fields.extend(Field(f.start + offset, f.end + offset, f.expression, f.expression_type, f.format_spec)
                      for f in part.fields)
        starts.extend(part.starts[:-1])
    starts.append(parts[-1].starts[-1])
    return PromptText(text, tuple(starts), tuple(fields))


def _plain(text: str, start_byte: int) -> PromptText:
    if text.isascii():
        return PromptText(text, tuple(range(start_byte, start_byte + len(text) + 1)))
    chars: list[str] = []
    starts: list[int] = []
    _append_plain(text, start_byte, chars, starts)
    starts.append(starts[-1] + len(chars[-1].encode()) if chars else start_byte)
    return PromptText(text, tuple(starts))


def _append_plain(text: str, start_byte: int, chars: list[str], starts: list[int]) -> None:
    position = start_byte
    for char in text:
        chars.append(char)
        starts.append(position)
        position += len(char.encode("utf-8"))


def _decode_run(data: bytes, start_byte: int, part: LiteralPart, chars: list[str], starts: list[int]) -> None:
    """Decode literal text between interpolations, handling escapes and doubled braces."""
    text = data.decode("utf-8", errors="replace")
    is_python_fstring = part.is_fstring and part.quote != "`"
    index = 0
    position = start_byte
    while index < len(text):
        char = text[index]
        length = 1
        value = char
        if char == "\\" and not part.is_raw and index + 1 < len(text):
            value, length = _escape(text, index)
        elif is_python_fstring and char in "{}" and text[index + 1:index + 2] == char:
            length = 2
        if value:
            chars.append(value)
            starts.append(position)
        position += len(text[index:index + length].encode("utf-8"))
        index += length


def _escape(text: str, index: int) -> tuple[str, int]:
    """Decode the escape sequence at text[index] (a backslash); return (value, source length)."""
    code = text[index + 1]
    if code == "\n":
        return "", 2
    if code in _HEX_LENGTHS:
        digits = text[index + 2:index + 2 + _HEX_LENGTHS[code]]
        if len(digits) == _HEX_LENGTHS[code] and all(c in "0123456789abcdefABCDEF" for c in digits):
            return chr(int(digits, 16)), 2 + len(digits)
        return "\\" + code, 2
    if code in "01234567":
        octal = re.match(r"[0-7]{1,3}", text[index + 1:index + 4])
        assert octal is not None
        return chr(int(octal.group(0), 8)), 1 + len(octal.group(0))
    if code == "N" and text[index + 2:index + 3] == "{":
        end = text.find("}", index)
        if end > 0:
            try:
                return unicodedata.lookup(text[index + 3:end]), end - index + 1
            except KeyError:
                return "\\N", 2
    if code in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[code], 2
    return "\\" + code, 2
