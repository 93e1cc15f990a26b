"""Context packing: render retrieved chunks into a token budget."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.retrieval import RetrievedChunk

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """Packed prompt material and the chunks it contains, in prompt order."""

    text: str
    used: list[RetrievedChunk]
    tokens: int


def render_chunk(item: RetrievedChunk, comment_prefix: str = "#") -> str:
    """Render one chunk with a header line naming its file, lines and symbol."""
    chunk = item.chunk
    header = f"{comment_prefix} {chunk.path}:{chunk.start_line}-{chunk.end_line} ({chunk.symbol})"
    return f"{header}\n{chunk.text.rstrip()}\n"


def pack_context(
    items: Sequence[RetrievedChunk],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    comment_prefix: str = "#",
) -> Context:
    """Pack chunks in rank order until the budget is used.

    A chunk that does not fit whole is cut at a line boundary, found by binary search over
    its line count, when at least a few lines of it fit; later chunks are dropped.
    """
    parts: list[str] = []
    used: list[RetrievedChunk] = []
    total = 0
    for item in items:
        rendered = render_chunk(item, comment_prefix)
        cost = count_tokens(rendered)
        if total + cost <= budget_tokens:
            parts.append(rendered)
            used.append(item)
            total += cost
            continue
        cut = _cut_to_budget(rendered, budget_tokens - total, count_tokens)
        if cut is not None:
            parts.append(cut)
            used.append(item)
            total += count_tokens(cut)
        break
    logger.debug("packed %d of %d chunks into %d tokens", len(used), len(items), total)
    return Context(text="\n".join(parts), used=used, tokens=total)


MIN_CUT_LINES = 4


def _cut_to_budget(rendered: str, budget_tokens: int, count_tokens: Callable[[str], int]) -> str | None:
    lines = rendered.splitlines(keepends=True)
    low, high = 0, len(lines)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens("".join(lines[:middle])) <= budget_tokens:
            low = middle
        else:
            high = middle - 1
    if low < MIN_CUT_LINES:
        return None
    return "".join(lines[:low])
