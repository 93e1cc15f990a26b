"""Post-processing rules that turn raw generated text into an inline completion.

Every rule is a pure function of the generated text and the text around the cursor, so each
can be tested alone. `shape_lines` and `finish_completion` apply them in order.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from dataclasses import dataclass

logger = logging.getLogger(__name__)

BLOCK_OPENERS = (":", "{")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_QUOTES = ("'", '"', "`")


@dataclass(frozen=True)
class Cursor:
    """The text around the cursor that the rules look at.

    `left` and `right` are the cursor line's text before and after the cursor. `previous_line`
    is the nearest non-blank line above, and `next_lines` are the lines below the cursor line.
    """

    left: str
    right: str
    previous_line: str
    next_lines: tuple[str, ...]
    indent_unit: str = "    "


def make_cursor(prefix: str, suffix: str, max_next_lines: int) -> Cursor:
    """Split the document around the cursor into the parts the rules use."""
    before_lines = prefix.split("\n")
    after_lines = suffix.split("\n")
    previous = next((line for line in reversed(before_lines[:-1]) if line.strip()), "")
    return Cursor(
        left=before_lines[-1],
        right=after_lines[0],
        previous_line=previous,
        next_lines=tuple(after_lines[1 : 1 + max_next_lines]),
        indent_unit=detect_indent_unit(prefix),
    )


def detect_indent_unit(text: str) -> str:
    """Guess one level of indentation: the most common step between consecutive non-blank lines."""
    lines = [line for line in text.split("\n") if line.strip()]
    if any(line.startswith("\t") for line in lines):
        return "\t"
    steps = Counter(
        abs(indent_width(line) - indent_width(above)) for above, line in itertools.pairwise(lines)
    )
    steps.pop(0, None)
    return " " * steps.most_common(1)[0][0] if steps else "    "


def indent_width(line: str) -> int:
    """Count the leading whitespace characters of `line`."""
    return len(line) - len(line.lstrip(" \t"))


def ends_block_opener(line: str) -> bool:
    """Tell whether `line` ends with a token that opens an indented block."""
    return line.rstrip().endswith(BLOCK_OPENERS)


def opens_block(cursor: Cursor) -> bool:
    """Tell whether the completion starts a new block body (cursor right after an opener)."""
    return not cursor.right.strip() and ends_block_opener(cursor.left)


def allows_multiline(cursor: Cursor) -> bool:
    """Allow several lines only at the end of a block opener, or on a blank line where the
    block ends below the cursor.

    A blank line followed by more code of the same block is an insertion into existing code,
    so it gets one line: several would repeat or contradict the lines below.
    """
    if cursor.right.strip():
        return False
    if ends_block_opener(cursor.left):
        return True
    is_blank_line = not cursor.left.strip()
    if not is_blank_line or (cursor.left == "" and not ends_block_opener(cursor.previous_line)):
        return False
    return not block_continues_below(cursor)


def block_continues_below(cursor: Cursor) -> bool:
    """Tell whether the next non-blank line belongs to the block the cursor is in."""
    following = next((line for line in cursor.next_lines if line.strip()), None)
    if following is None:
        return False
    if cursor.left:
        block_indent = len(cursor.left)
    else:
        block_indent = indent_width(cursor.previous_line) + int(ends_block_opener(cursor.previous_line))
    return indent_width(following) >= block_indent


def cut_to_first_line(text: str, allow_leading_break: bool) -> str:
    """Keep the text up to the first line break.

    With `allow_leading_break`, a completion that starts with a line break (the cursor ends a
    finished line) keeps that break and the line after it.
    """
    if allow_leading_break and text.startswith("\n"):
        stripped = text.lstrip("\n")
        breaks = text[: len(text) - len(stripped)]
        return breaks + stripped.split("\n", 1)[0]
    return text.split("\n", 1)[0]


def fix_body_indentation(text: str, cursor: Cursor) -> str:
    """After a block opener, shift body lines that are not indented deeper than the opener line.

    Lines keep their indentation relative to each other; a body that is already deeper is left
    as it is.
    """
    if not opens_block(cursor):
        return text
    lines = text.split("\n")
    first_body = next((index for index in range(1, len(lines)) if lines[index].strip()), None)
    if first_body is None:
        return text
    opener_width = indent_width(cursor.left)
    body_width = indent_width(lines[first_body])
    if body_width > opener_width:
        return text
    expected_indent = cursor.left[:opener_width] + cursor.indent_unit
    padding = expected_indent[: len(expected_indent) - body_width]
    shifted = [lines[0]] + [padding + line if line.strip() else line for line in lines[1:]]
    return "\n".join(shifted)


def cut_at_block_end(text: str, cursor: Cursor, max_lines: int, is_final: bool = True) -> tuple[str, bool]:
    """Cut a multi-line completion at the first line dedented below the block, or at `max_lines`.

    Returns the kept text and whether a cut happened. Unless `is_final`, the last line is still
    being generated, so only complete lines are judged.
    """
    lines = text.split("\n")
    cursor_width = indent_width(cursor.left + lines[0]) if not cursor.left.strip() else indent_width(cursor.left)
    min_width = cursor_width + 1 if opens_block(cursor) else cursor_width
    judged = len(lines) if is_final else len(lines) - 1
    line_count = 1 if lines[0].strip() else 0
    for index in range(1, judged):
        line = lines[index]
        if line.strip() and indent_width(line) < min_width:
            return "\n".join(lines[:index]), True
        if line.strip():
            line_count += 1
        if line_count > max_lines:
            return "\n".join(lines[:index]), True
    return text, False


def trim_suffix_repeat(text: str, cursor: Cursor, is_final: bool = True) -> tuple[str, bool]:
    """Cut the completion where it starts to repeat the next non-blank line of the document.

    A whole line equal to that line is cut. So is a final line that is a start of it, because
    generation stopped halfway through the repeat. Returns the kept text and whether a cut
    happened.
    """
    target = next((line.strip() for line in cursor.next_lines if line.strip()), "")
    if not target:
        return text, False
    lines = text.split("\n")
    judged = len(lines) if is_final else len(lines) - 1
    for index in range(judged):
        line = cursor.left + lines[0] + cursor.right if index == 0 else lines[index]
        is_last = index == len(lines) - 1
        stripped = line.strip()
        if stripped == target or (is_final and is_last and index > 0 and stripped and target.startswith(stripped)):
            return "\n".join(lines[:index]), True
    return text, False


def trim_right_overlap(text: str, cursor: Cursor) -> str:
    """Drop completion text that repeats or runs past the text right of the cursor.

    `foo(|)` completed with `a, b)` would give `foo(a, b))`: a tail that equals a start of the
    right side is dropped. When the right side starts with a closing bracket or quote, the
    completion is also cut where it writes that character itself, as if the right side were
    a constraint: `x = [|]` completed with `1, 2])` keeps `1, 2`. Every cut is scored by the
    brackets and quotes it leaves unbalanced in the line, and the best one wins. So a closer that
    matches a bracket opened inside the completion stays. On a tie, dropping the longest
    repeated tail comes first, then keeping all text, then the earliest cut at a closer.
    """
    if not cursor.right or "\n" in text:
        return text
    # Kept lengths in order of preference on equal balance.
    candidates = [len(text) - size for size in range(len(cursor.right), 0, -1) if text.endswith(cursor.right[:size])]
    candidates.append(len(text))
    if cursor.right[0] in _CLOSERS or cursor.right[0] in _QUOTES:
        candidates += [position for position, char in enumerate(text) if char == cursor.right[0]]
    kept_length = min(candidates, key=lambda length: _imbalance(cursor.left + text[:length] + cursor.right))
    return text[:kept_length]


def is_inside_indentation(cursor: Cursor) -> bool:
    """Tell whether the cursor sits inside the indentation of a line that has code after it.

    Text inserted there would land between two runs of indentation, before existing code; no
    completion fits, so the model is not called.
    """
    return not cursor.left.strip() and cursor.right[:1] in (" ", "\t") and bool(cursor.right.strip())


def fit_to_word_after(text: str, cursor: Cursor) -> tuple[str, int] | None:
    """Fit a completion to the word characters right of the cursor (`nt` at `pri|nt(x)`).

    A completion that starts with them continues the word: it replaces them, and the result gives
    how many characters after the cursor it replaces. When more code follows the word, the
    completion may only lengthen the word (`self._loo|p.call_soon()` may become `self._loops`,
    not `self._loop_name = x.call_soon()`). Any other completion would split the word or
    the line, so the result is None. Without word characters after the cursor the text is kept.
    """
    tail = _word_prefix(cursor.right)
    if not tail:
        return text, 0
    if len(text) <= len(tail) or not text.startswith(tail):
        return None
    if cursor.right[len(tail) :].strip() and _word_prefix(text) != text:
        return None
    return text, len(tail)


def _word_prefix(text: str) -> str:
    end = 0
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    return text[:end]


def _imbalance(line: str) -> int:
    """Count unmatched brackets and an unterminated string in one line of code."""
    stack: list[str] = []
    unmatched = 0
    quote = ""
    escaped = False
    for char in line:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in _QUOTES:
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in _CLOSERS:
            if stack and stack[-1] == _CLOSERS[char]:
                stack.pop()
            else:
                unmatched += 1
    return unmatched + len(stack) + (1 if quote else 0)


def drop_blank(text: str, cursor: Cursor) -> str:
    """Return "" for a whitespace-only completion; strip trailing whitespace at a line end."""
    if not text.strip():
        return ""
    return text if cursor.right else text.rstrip()


def shape_lines(text: str, cursor: Cursor, max_lines: int, is_final: bool) -> tuple[str, bool]:
    """Apply the line rules; return the kept text and whether generation can stop."""
    if not allows_multiline(cursor):
        if cursor.right.strip():
            kept = cut_to_first_line(text, allow_leading_break=False)
        else:
            kept = cut_to_first_line(text, allow_leading_break=True)
        is_done = kept != text
        kept, is_repeat = trim_suffix_repeat(kept, cursor, is_final=is_final or is_done)
        return kept, is_done or is_repeat

    fixed = fix_body_indentation(text, cursor)
    kept, is_block_end = cut_at_block_end(fixed, cursor, max_lines, is_final)
    kept, is_repeat = trim_suffix_repeat(kept, cursor, is_final=is_final or is_block_end)
    return kept, is_block_end or is_repeat


def finish_completion(text: str, cursor: Cursor, max_lines: int) -> str:
    """Apply every rule to the complete generated text; return the text to insert."""
    kept, _ = shape_lines(text, cursor, max_lines, is_final=True)
    kept = trim_right_overlap(kept, cursor)
    return drop_blank(kept, cursor)
