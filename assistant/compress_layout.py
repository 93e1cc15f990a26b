"""Rendering of a chunk with some typed tokens, blank lines, indentation and inner lines removed.

Kept lines keep their order and never merge, so the line structure that Python needs survives;
a line whose tokens were all removed disappears. The inner lines of a multi-line comment or
string (all but its first and last line) can be removed one by one, so a docstring can shrink
to its summary line before it goes as a whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from assistant.token_types import TokenType, TypedToken

logger = logging.getLogger(__name__)

_LINE_SPLIT_TYPES = frozenset({TokenType.COMMENT, TokenType.STRING})
_OPENING = frozenset({"(", "[", "{"})
_CLOSING = frozenset({")", "]", "}"})


@dataclass(frozen=True)
class Removal:
    """The parts left out when rendering.

    `tokens` are token indices; `blank_lines` and `dedented_lines` are 0-based chunk lines;
    `token_lines` are (token index, 0-based line within the token) pairs of inner lines.
    """

    tokens: frozenset[int] = frozenset()
    blank_lines: frozenset[int] = frozenset()
    dedented_lines: frozenset[int] = frozenset()
    token_lines: frozenset[tuple[int, int]] = frozenset()

    def plus(self, other: Removal) -> Removal:
        """Return the union of two removals."""
        return Removal(
            self.tokens | other.tokens,
            self.blank_lines | other.blank_lines,
            self.dedented_lines | other.dedented_lines,
            self.token_lines | other.token_lines,
        )


class Layout:
    """A chunk's source split into typed tokens and the whitespace between them."""

    def __init__(self, source: str, tokens: list[TypedToken], language: str) -> None:
        self.source = source.encode("utf-8")
        self.tokens = tokens
        self.language = language
        self._line_starts = [0]
        for index, byte in enumerate(self.source):
            if byte == 0x0A:
                self._line_starts.append(index + 1)
        self.start_lines = [self.line_of(token.start_byte) for token in tokens]
        self.end_lines = [self.line_of(max(token.start_byte, token.end_byte - 1)) for token in tokens]
        self.indents = [self._leading_whitespace(line) for line in range(len(self._line_starts))]
        inside_tokens = self._lines_inside_tokens()
        self.blank_lines = frozenset(
            line for line in range(self.line_count) if not self._line_bytes(line).strip() and line not in inside_tokens
        )
        self.reduced_indents = self._reduced_indents()

    @property
    def line_count(self) -> int:
        """The number of lines; a final newline does not start another line."""
        count = len(self._line_starts)
        return count - 1 if self.source.endswith(b"\n") else count

    def line_of(self, byte: int) -> int:
        """Return the 0-based line of a byte offset."""
        low, high = 0, len(self._line_starts) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self._line_starts[middle] <= byte:
                low = middle
            else:
                high = middle - 1
        return low

    def inner_lines(self, index: int) -> range:
        """Return the removable inner lines of token `index`, 0-based within the token.

        Only comments and strings have them. A string with a `{` keeps all its lines, because
        cutting an f-string's or template literal's interpolation in two would break the code.
        """
        token = self.tokens[index]
        line_count = self.end_lines[index] - self.start_lines[index] + 1
        if line_count < 3 or token.type not in _LINE_SPLIT_TYPES:
            return range(0)
        if token.type is TokenType.STRING and "{" in token.text:
            return range(0)
        return range(1, line_count - 1)

    def render(self, removal: Removal) -> str:
        """Return the source with `removal` applied."""
        trimmed: dict[int, set[int]] = {}
        for index, line in removal.token_lines:
            trimmed.setdefault(index, set()).add(line)
        parts: list[bytes] = []
        previous: int | None = None
        for index, token in enumerate(self.tokens):
            is_removed = index in removal.tokens
            if is_removed and not token.replacement:
                continue
            if previous is None:
                parts.append(self._leading(index, removal))
            else:
                parts.append(self._gap(previous, index, removal))
            if is_removed:
                parts.append(token.replacement.encode("utf-8"))
            else:
                parts.append(self._token_bytes(index, trimmed.get(index)))
            previous = index
        if previous is not None and self.source.endswith(b"\n"):
            parts.append(b"\n")
        return b"".join(parts).decode("utf-8", errors="replace")

    def _token_bytes(self, index: int, removed_lines: set[int] | None) -> bytes:
        text = self.source[self.tokens[index].start_byte : self.tokens[index].end_byte]
        if not removed_lines:
            return text
        lines = text.split(b"\n")
        return b"\n".join(line for number, line in enumerate(lines) if number not in removed_lines)

    def _leading(self, index: int, removal: Removal) -> bytes:
        line = self.start_lines[index]
        blanks = sum(1 for number in range(line) if number in self.blank_lines and number not in removal.blank_lines)
        return b"\n" * blanks + self._indent(line, removal)

    def _gap(self, previous: int, index: int, removal: Removal) -> bytes:
        left, right = self.tokens[previous], self.tokens[index]
        gaps = [self.source[self.tokens[i].end_byte : self.tokens[i + 1].start_byte] for i in range(previous, index)]
        end_line, start_line = self.end_lines[previous], self.start_lines[index]
        if end_line == start_line:
            if index == previous + 1:
                return gaps[0]
            joined = b"".join(gaps)
            if joined.strip():
                return joined
            has_space = any(gap[:1].isspace() or gap[-1:].isspace() for gap in gaps if gap)
            left_text = left.replacement if previous in removal.tokens else left.text
            collides = _is_wordlike(left_text[-1:]) and _is_wordlike(right.text[:1])
            return b" " if has_space or collides else b""
        # Text after the left token on its line that no token covers, such as a line-continuation backslash.
        tail = gaps[0].split(b"\n", 1)[0].rstrip() if gaps else b""
        blanks = sum(
            1 for line in range(end_line + 1, start_line)
            if line in self.blank_lines and line not in removal.blank_lines
        )
        return tail + b"\n" * (1 + blanks) + self._indent(start_line, removal)

    def _indent(self, line: int, removal: Removal) -> bytes:
        if line in removal.dedented_lines:
            return self.reduced_indents.get(line, self.indents[line])
        return self.indents[line]

    def _line_bytes(self, line: int) -> bytes:
        start = self._line_starts[line]
        end = self._line_starts[line + 1] - 1 if line + 1 < len(self._line_starts) else len(self.source)
        return self.source[start:end]

    def _leading_whitespace(self, line: int) -> bytes:
        text = self._line_bytes(line)
        return text[: len(text) - len(text.lstrip(b" \t"))]

    def _lines_inside_tokens(self) -> set[int]:
        """Find the lines that continue a multi-line token, such as the blank lines of a docstring."""
        lines: set[int] = set()
        for start, end in zip(self.start_lines, self.end_lines):
            lines.update(range(start + 1, end + 1))
        return lines

    def _reduced_indents(self) -> dict[int, bytes]:
        """Map each line that starts with a token to one space per nesting level.

        Levels come from a stack of the original indentation widths of lines that start a
        statement. In Python, a line inside brackets or after a backslash continues the line
        above and gets one level more, because Python ignores its indentation.
        """
        first_token_lines: dict[int, tuple[int, bool]] = {}
        depth = 0
        previous_end_line = -1
        is_python = self.language == "python"
        for index, token in enumerate(self.tokens):
            line = self.start_lines[index]
            if line != previous_end_line and line not in first_token_lines:
                continued = index > 0 and self.source[self.tokens[index - 1].end_byte : token.start_byte].strip() == b"\\"
                first_token_lines[line] = (depth, continued)
            if is_python and token.text in _OPENING:
                depth += 1
            elif is_python and token.text in _CLOSING:
                depth = max(0, depth - 1)
            previous_end_line = self.end_lines[index]

        widths = [0]
        reduced: dict[int, bytes] = {}
        for line in sorted(first_token_lines):
            depth_at_start, continued = first_token_lines[line]
            width = len(self.indents[line])
            if depth_at_start > 0 or continued:
                reduced[line] = b" " * len(widths)
                continue
            while len(widths) > 1 and width < widths[-1]:
                widths.pop()
            if width > widths[-1]:
                widths.append(width)
            reduced[line] = b" " * (len(widths) - 1)
        return reduced


def _is_wordlike(character: str) -> bool:
    """Tell whether two neighbours ending and starting with such characters need a space between them."""
    return character.isalnum() or character in "_\"'`"
