"""Type-aware compression of code context to a token ratio or budget.

Tokens are removed by type in a measured priority order (CodePromptZip, He et al., 2025), counted
with the active model's tokenizer. Protected lines and mentioned identifiers are never removed.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

from assistant.compress_layout import Layout, Removal
from assistant.token_types import TokenType, type_tokens

logger = logging.getLogger(__name__)

PRIORITIES_RESOURCE = ("data", "compression_priorities.json")
PRIORITIES_FORMAT = 1
# Words shorter than this in a question ("a", "x") would protect too many unrelated names.
MIN_PROTECTED_CHARS = 2
# Refinement after the binary search: tried only when the result undershoots the target by more
# than this share, and then over at most this many alternative last units.
REFINE_SLACK = 0.01
MAX_REFINE_TRIES = 32
# Undershooting the target by more than this share makes the search try keeping the last large unit.
RATIO_TOLERANCE = 0.03
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A comment or string line is kept for a question only when it shares at least this many words with it.
MIN_SHARED_WORDS = 2
_DISTINCTIVE_NAME = re.compile(r"_|[0-9]|[a-z][A-Z]")
_PROSE_WORD = re.compile(r"[A-Za-z]{3,}")
# The types that can name something; only these are protected by a mention.
_NAME_TYPES = frozenset({TokenType.IDENTIFIER, TokenType.INVOCATION, TokenType.SIGNATURE})


@dataclass(frozen=True)
class CompressionResult:
    """Compressed text with its token counts, measured with the same tokenizer."""

    text: str
    original_tokens: int
    tokens: int
    removed_units: dict[str, int] = field(default_factory=dict)
    truncated_lines: int = 0

    @property
    def ratio(self) -> float:
        """Compressed tokens over original tokens; 1.0 for an empty original."""
        return self.tokens / self.original_tokens if self.original_tokens else 1.0


@dataclass(frozen=True)
class _Unit:
    """The smallest removable piece: a token, an inner line of one, a blank line or the indentation of lines."""

    type: TokenType
    tokens: frozenset[int] = frozenset()
    blank_lines: frozenset[int] = frozenset()
    dedented_lines: frozenset[int] = frozenset()
    token_lines: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True)
class _Placed:
    """A unit with the chunk lines it spans; `is_whole_token` sorts after the token's inner lines."""

    first_line: int
    last_line: int
    is_whole_token: bool
    unit: _Unit


def load_priorities(task: str) -> tuple[TokenType, ...]:
    """Return the removal order for `task` ("ask" or "completion"), lowest impact first.

    The order comes from `assistant/data/compression_priorities.json`, written by
    `bench/ablate_compression.py`. Types missing from the list are never removed.
    """
    table = _priority_table()
    if task not in table:
        raise ValueError(f"no compression priorities for task {task!r}; expected one of {', '.join(sorted(table))}")
    return table[task]


@functools.cache
def _priority_table() -> dict[str, tuple[TokenType, ...]]:
    path = resources.files("assistant").joinpath(*PRIORITIES_RESOURCE)
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != PRIORITIES_FORMAT:
        raise ValueError(
            f"assistant/data/compression_priorities.json has format {data.get('format')!r}, this build reads "
            f"{PRIORITIES_FORMAT}; regenerate it with bench/ablate_compression.py"
        )
    return {task: tuple(TokenType(name) for name in entry["priority"]) for task, entry in data["tasks"].items()}


def mentioned_identifiers(text: str) -> frozenset[str]:
    """Return the identifier-shaped words of a question or cursor context, lowercased."""
    return frozenset(word.lower() for word in _IDENTIFIER.findall(text) if len(word) >= MIN_PROTECTED_CHARS)


def compress(
    text: str,
    language: str,
    count_tokens: Callable[[str], int],
    priorities: Sequence[TokenType],
    *,
    ratio: float | None = None,
    budget_tokens: int | None = None,
    protected_identifiers: Iterable[str] = (),
    keep_lines: tuple[int, int] | None = None,
    protect_mentioning_lines: bool = False,
) -> CompressionResult:
    """Compress `text` to `ratio` of its tokens or to `budget_tokens`, whichever is given.

    Types are removed in `priorities` order. The last type needed is removed only in part: a
    binary search finds the fewest of its units (farthest from `keep_lines` first, else from
    the end) that reach the target. When removing every listed type is not enough, whole
    lines are dropped from the end (from the start when `keep_lines` is set). `keep_lines` is
    a 0-based, inclusive line range that stays untouched; `protected_identifiers` are
    compared case-insensitively. With `protect_mentioning_lines`, the lines that mention them
    stay whole as well (see `_mentioning_lines`). It is off by default because it changed the
    top-token share of bench/bench_compression.py's ask cases by less than one point.

    Raises:
        ValueError: neither or both of `ratio` and `budget_tokens` are given, or one is out of range.
    """
    original_tokens = count_tokens(text)
    target = _target_tokens(original_tokens, ratio, budget_tokens)
    if original_tokens <= target or not text.strip():
        return CompressionResult(text, original_tokens, original_tokens)

    layout = Layout(text, type_tokens(text, language), language)
    protected = frozenset(name.lower() for name in protected_identifiers)
    held_lines = _mentioning_lines(layout, protected) if protect_mentioning_lines and protected else frozenset()
    units = _units_by_type(layout, protected, keep_lines, held_lines)
    search = _Search(layout, count_tokens, target)
    removed = _fit(search, units, list(priorities), [])
    if removed is not None:
        removed = _restore(search, removed)
        rendered = layout.render(_merge(removed))
        return CompressionResult(rendered, original_tokens, search.count_text(rendered), _count_by_type(removed))

    every_type = [unit for token_type in priorities for unit in units.get(token_type, [])]
    rendered, dropped = _drop_lines(layout.render(_merge(every_type)), count_tokens, target, from_start=keep_lines is not None)
    logger.debug("removing every listed type left %s over %d tokens; dropped %d lines", language, target, dropped)
    return CompressionResult(rendered, original_tokens, count_tokens(rendered), _count_by_type(every_type), dropped)


def _fit(
    search: _Search, units: dict[TokenType, list[_Unit]], priorities: list[TokenType], removed: list[_Unit]
) -> list[_Unit] | None:
    """Remove whole types in order until one reaches the target, then the fewest units of it.

    Returns the removed units in removal order, or None when removing every type is not
    enough. When the last unit needed is so large (a long docstring) that the result
    undershoots the target by more than RATIO_TOLERANCE, the same search also runs with that
    unit kept and the later types removed, and the result closer to the target wins.
    """
    base = _merge(removed)
    for position, token_type in enumerate(priorities):
        candidates = units.get(token_type, [])
        if not candidates:
            continue
        full = base.plus(_merge(candidates))
        if search.count(full) > search.target:
            removed, base = [*removed, *candidates], full
            continue
        chosen = search.closest_units(base, candidates)
        best = [*removed, *chosen]
        best_tokens = search.count(base.plus(_merge(chosen)))
        if chosen and search.target - best_tokens > RATIO_TOLERANCE * search.target:
            alternative = _fit(search, units, priorities[position + 1 :], [*removed, *chosen[:-1]])
            if alternative is not None and search.count(_merge(alternative)) > best_tokens:
                return alternative
        return best
    return None


def _restore(search: _Search, removed: list[_Unit]) -> list[_Unit]:
    """Put removed units back while the count stays within the target, last removed first.

    Removing units of one type can overshoot when all of them are large, such as whole comment
    lines. Small units of the types removed before it (blank lines, keywords, punctuation)
    then fill the gap. The units of the last type are skipped, because the search already
    removed the fewest of them, and at most MAX_REFINE_TRIES units are tried.
    """
    tokens = search.count(_merge(removed))
    if search.target - tokens <= RATIO_TOLERANCE * search.target:
        return removed
    restored: set[int] = set()
    tries = 0
    for position in range(len(removed) - 1, -1, -1):
        if removed[position].type is removed[-1].type:
            continue
        if tries >= MAX_REFINE_TRIES:
            break
        tries += 1
        trial = _merge(unit for index, unit in enumerate(removed) if index != position and index not in restored)
        count = search.count(trial)
        if count <= search.target:
            restored.add(position)
            tokens = count
            if search.target - tokens <= max(1, REFINE_SLACK * search.target):
                break
    return [unit for index, unit in enumerate(removed) if index not in restored]


def _count_by_type(units: Iterable[_Unit]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for unit in units:
        counts[unit.type.value] = counts.get(unit.type.value, 0) + 1
    return counts


def strip_types(text: str, language: str, types: Iterable[TokenType]) -> str:
    """Remove every token of `types` from `text`, with no budget; for ablations and previews."""
    layout = Layout(text, type_tokens(text, language), language)
    units = _units_by_type(layout, frozenset(), None)
    chosen = [unit for token_type in types for unit in units.get(token_type, [])]
    return layout.render(_merge(chosen))


def _target_tokens(original_tokens: int, ratio: float | None, budget_tokens: int | None) -> int:
    if (ratio is None) == (budget_tokens is None):
        raise ValueError("pass exactly one of ratio and budget_tokens to compress()")
    if ratio is not None:
        if not 0.0 < ratio <= 1.0:
            raise ValueError(f"compression ratio {ratio} is outside (0, 1]; pass e.g. 0.5 for half the tokens")
        return math.floor(ratio * original_tokens)
    assert budget_tokens is not None
    if budget_tokens < 0:
        raise ValueError(f"token budget {budget_tokens} is negative; pass 0 or more")
    return budget_tokens


class _Search:
    """Token counting of candidate renderings, cached by text."""

    def __init__(self, layout: Layout, count_tokens: Callable[[str], int], target: int) -> None:
        self._layout = layout
        self._count_tokens = count_tokens
        self.target = target
        self._cache: dict[str, int] = {}

    def count(self, removal: Removal) -> int:
        return self.count_text(self._layout.render(removal))

    def count_text(self, text: str) -> int:
        if text not in self._cache:
            self._cache[text] = self._count_tokens(text)
        return self._cache[text]

    def fewest_units(self, base: Removal, candidates: list[_Unit]) -> int:
        """Binary search for the fewest leading candidates whose removal reaches the target.

        Token counts are almost, not strictly, monotonic in the number of units removed,
        because the tokenizer merges neighbours differently; the search assumes monotonic.
        """
        low, high = 0, len(candidates)
        while low < high:
            middle = (low + high) // 2
            if self.count(base.plus(_merge(candidates[:middle]))) <= self.target:
                high = middle
            else:
                low = middle + 1
        return low

    def closest_units(self, base: Removal, candidates: list[_Unit]) -> list[_Unit]:
        """Pick the units to remove so that the count reaches the target and stays close to it.

        The last unit found by the binary search may be a large one, such as a long string,
        that overshoots. Swapping it for one of the next units that lands closer to the target
        keeps the achieved ratio near the requested one.
        """
        needed = self.fewest_units(base, candidates)
        chosen = candidates[:needed]
        best = self.count(base.plus(_merge(chosen)))
        if needed == 0 or self.target - best <= max(1, self.target * REFINE_SLACK):
            return chosen
        prefix = base.plus(_merge(candidates[: needed - 1]))
        for unit in candidates[needed - 1 : needed - 1 + MAX_REFINE_TRIES]:
            tokens = self.count(prefix.plus(_merge([unit])))
            if best < tokens <= self.target:
                chosen, best = [*candidates[: needed - 1], unit], tokens
        return chosen


def _merge(units: Iterable[_Unit]) -> Removal:
    tokens: set[int] = set()
    blank_lines: set[int] = set()
    dedented_lines: set[int] = set()
    token_lines: set[tuple[int, int]] = set()
    for unit in units:
        tokens |= unit.tokens
        blank_lines |= unit.blank_lines
        dedented_lines |= unit.dedented_lines
        token_lines |= unit.token_lines
    return Removal(frozenset(tokens), frozenset(blank_lines), frozenset(dedented_lines), frozenset(token_lines))


def _mentioning_lines(layout: Layout, protected: frozenset[str]) -> frozenset[int]:
    """Find the lines that the protected words point at, so that they can stay whole.

    A line that contains a distinctive protected name stays with its defaults and operators. A
    distinctive name has an inner underscore, a digit or a lower-to-upper case change, such as
    `guess_type` or `NetrcParseError`. A line of a comment or string stays when at least two of
    its words of three or more letters, and at least half of them, are protected, such as a
    docstring summary that a question quotes.
    """
    lines: set[int] = set()
    for index, token in enumerate(layout.tokens):
        start = layout.start_lines[index]
        if token.type in _NAME_TYPES and token.is_word and token.text.lower() in protected:
            if _DISTINCTIVE_NAME.search(token.text.strip("_")):
                lines.update(range(start, layout.end_lines[index] + 1))
        elif token.type in (TokenType.COMMENT, TokenType.STRING):
            for offset, line_text in enumerate(token.text.split("\n")):
                words = [word.lower() for word in _PROSE_WORD.findall(line_text)]
                shared = sum(1 for word in words if word in protected)
                if shared >= MIN_SHARED_WORDS and 2 * shared >= len(words):
                    lines.add(start + offset)
    return frozenset(lines)


def _units_by_type(
    layout: Layout,
    protected: frozenset[str],
    keep_lines: tuple[int, int] | None,
    held_lines: frozenset[int] = frozenset(),
) -> dict[TokenType, list[_Unit]]:
    """Collect the removable units of each type, in removal order; tokens on `held_lines` stay."""

    def is_kept(line: int) -> bool:
        return keep_lines is not None and keep_lines[0] <= line <= keep_lines[1]

    placed: dict[TokenType, list[_Placed]] = {}
    for index, token in enumerate(layout.tokens):
        start, end = layout.start_lines[index], layout.end_lines[index]
        if any(is_kept(line) for line in range(start, end + 1)):
            continue
        if token.type in _NAME_TYPES and token.is_word and token.text.lower() in protected:
            continue
        units = placed.setdefault(token.type, [])
        units.extend(
            _Placed(start + line, start + line, False, _Unit(token.type, token_lines=frozenset({(index, line)})))
            for line in layout.inner_lines(index) if start + line not in held_lines
        )
        if not any(line in held_lines for line in range(start, end + 1)):
            units.append(_Placed(start, end, True, _Unit(token.type, tokens=frozenset({index}))))

    whitespace = placed.setdefault(TokenType.WHITESPACE, [])
    for line in sorted(layout.blank_lines):
        if not is_kept(line):
            whitespace.append(_Placed(line, line, False, _Unit(TokenType.WHITESPACE, blank_lines=frozenset({line}))))
    indented = [line for line in layout.reduced_indents if layout.indents[line] != layout.reduced_indents[line]]
    if layout.language == "python":
        # Python needs one indentation width per block, so its indentation shrinks all at once or not at all.
        if indented and keep_lines is None:
            whitespace.append(_Placed(0, 0, False, _Unit(TokenType.WHITESPACE, dedented_lines=frozenset(indented))))
    else:
        whitespace.extend(
            _Placed(line, line, False, _Unit(TokenType.WHITESPACE, dedented_lines=frozenset({line})))
            for line in indented if not is_kept(line)
        )
    return {token_type: _in_removal_order(items, keep_lines) for token_type, items in placed.items() if items}


def _in_removal_order(items: list[_Placed], keep_lines: tuple[int, int] | None) -> list[_Unit]:
    """Order units farthest from the kept lines first, or last line first without kept lines.

    A whole multi-line token sorts after its own inner lines, because its nearest line to the
    kept lines, or its first line, is never farther than any of its inner lines.
    """
    if keep_lines is None:
        ordered = sorted(items, key=lambda item: (-item.first_line, item.is_whole_token))
    else:
        ordered = sorted(
            items,
            key=lambda item: (-max(keep_lines[0] - item.last_line, item.first_line - keep_lines[1]), item.is_whole_token),
        )
    return [item.unit for item in ordered]


def _drop_lines(text: str, count_tokens: Callable[[str], int], target: int, from_start: bool) -> tuple[str, int]:
    """Drop the fewest whole lines from one end so that `text` fits `target` tokens."""
    lines = text.splitlines(keepends=True)

    def kept(count: int) -> str:
        if count == 0:
            return ""
        return "".join(lines[len(lines) - count :] if from_start else lines[:count])

    low, high = 0, len(lines)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(kept(middle)) <= target:
            low = middle
        else:
            high = middle - 1
    return kept(low), len(lines) - low
