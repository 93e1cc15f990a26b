"""Context packing: render retrieved chunks into a token budget, compressing them when allowed."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.compress import compress, load_priorities, mentioned_identifiers
from assistant.errors import InvalidInput
from assistant.prompt_parts import PromptPart
from assistant.retrieval import RetrievedChunk
from assistant.token_types import TokenType
from indexer.parse import LANGUAGES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """Packed prompt material and the chunks it contains, in prompt order.

    `parts` are the rendered chunks as prompt parts, each ending with a blank line, so the
    model runtime can restore their stored KV caches. `text` is their concatenation. A context
    built from other material (graph paths) has no parts and is evaluated as plain text.
    """

    text: str
    used: list[RetrievedChunk]
    tokens: int
    compressed_chunks: int = 0
    parts: tuple[PromptPart, ...] = ()

    def prompt_parts(self, is_cacheable: bool) -> tuple[PromptPart, ...]:
        """Return the context as prompt parts; chunk parts keep their source only when `is_cacheable`."""
        if not self.parts:
            return (PromptPart(self.text),) if self.text else ()
        if is_cacheable:
            return self.parts
        return (PromptPart(self.text),)


def _context_from_blocks(
    blocks: Sequence[str], used: list[RetrievedChunk], count_tokens: Callable[[str], int], compressed_chunks: int = 0
) -> Context:
    """Join rendered chunks (each ending with `CHUNK_SEPARATOR`) into a context."""
    parts = tuple(PromptPart(block, source_path=item.chunk.path) for block, item in zip(blocks, used, strict=True))
    text = "".join(part.text for part in parts)
    # The model runtime tokenizes each part on its own, so the sum is what the prompt costs.
    tokens = sum(count_tokens(part.text) for part in parts)
    return Context(text=text, used=used, tokens=tokens, compressed_chunks=compressed_chunks, parts=parts)


# Each rendered chunk ends with this blank line. Keeping it inside the chunk's own prompt part
# keeps a chunk's text, and so its stored KV cache, the same wherever it is ranked.
CHUNK_SEPARATOR = "\n"


@dataclass(frozen=True)
class CompressionPlan:
    """Settings for compressing chunks during context packing, before any chunk is dropped.

    `min_ratio` is the smallest share of a chunk's tokens that compression may leave;
    `protected_identifiers` (lowercase) are never removed.
    """

    priorities: tuple[TokenType, ...]
    min_ratio: float
    protected_identifiers: frozenset[str] = frozenset()


def compression_plan(is_enabled: bool, min_ratio: float, task: str, mentioned_text: str) -> CompressionPlan | None:
    """Build the plan for `task` ("ask" or "completion"), or None when compression is off.

    Identifiers in `mentioned_text` (the question, or the code around the cursor) are protected.
    """
    if not is_enabled:
        return None
    if not 0.0 < min_ratio <= 1.0:
        raise InvalidInput(
            f"setting {task}.compression_min_ratio is {min_ratio}; pass a share in (0, 1], e.g. 0.5"
        )
    return CompressionPlan(load_priorities(task), min_ratio, mentioned_identifiers(mentioned_text))


def render_chunk(item: RetrievedChunk, comment_prefix: str = "#", text: str | None = None) -> str:
    """Render one chunk with a header line naming its file, lines and symbol.

    `text` replaces the chunk's own text, for a compressed chunk.
    """
    chunk = item.chunk
    header = f"{comment_prefix} {chunk.path}:{chunk.start_line}-{chunk.end_line} ({chunk.symbol})"
    body = chunk.text if text is None else text
    return f"{header}\n{body.rstrip()}\n"


def pack_context(
    items: Sequence[RetrievedChunk],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    comment_prefix: str = "#",
    compression: CompressionPlan | None = None,
) -> Context:
    """Pack chunks in rank order until the budget is used.

    With a `compression` plan, chunks that do not fit are first compressed, lowest-ranked
    first and each to at most `compression.min_ratio` of its tokens, and only when the best
    chunks do not fit even then is the lowest-ranked one dropped. Without a plan, or when not
    even the best chunk fits compressed, a chunk that does not fit whole is cut at a line
    boundary when at least a few lines of it fit. A binary search over its line count finds
    the cut. Later chunks are dropped.
    """
    if compression is not None:
        packed = _pack_compressed(items, budget_tokens, count_tokens, comment_prefix, compression)
        if packed is not None:
            return packed
    parts: list[str] = []
    used: list[RetrievedChunk] = []
    total = 0
    for item in items:
        rendered = render_chunk(item, comment_prefix) + CHUNK_SEPARATOR
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
    context = _context_from_blocks(parts, used, count_tokens)
    logger.debug("packed %d of %d chunks into %d tokens", len(used), len(items), context.tokens)
    return context


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


def _pack_compressed(
    items: Sequence[RetrievedChunk],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    comment_prefix: str,
    plan: CompressionPlan,
) -> Context | None:
    """Fit the most top-ranked chunks into the budget by compression; None if not even one fits."""
    rendered = [render_chunk(item, comment_prefix) + CHUNK_SEPARATOR for item in items]
    costs = [count_tokens(text) for text in rendered]
    if sum(costs) <= budget_tokens:
        return None
    # An estimate of each chunk's cost at the smallest ratio, to skip hopeless chunk counts cheaply.
    floors = [max(1, math.ceil(cost * plan.min_ratio)) for cost in costs]
    for count in range(len(items), 0, -1):
        if sum(floors[:count]) > budget_tokens:
            continue
        packed = _compress_first(items[:count], rendered[:count], costs[:count], budget_tokens, count_tokens, comment_prefix, plan)
        if packed is not None:
            logger.debug(
                "packed %d of %d chunks into %d tokens, %d compressed", count, len(items), packed.tokens, packed.compressed_chunks
            )
            return packed
    return None


def _compress_first(
    items: Sequence[RetrievedChunk],
    rendered: list[str],
    costs: list[int],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    comment_prefix: str,
    plan: CompressionPlan,
) -> Context | None:
    """Compress the lowest-ranked of `items` first until all of them fit, or return None."""
    rendered = list(rendered)
    costs = list(costs)
    compressed = 0
    for index in range(len(items) - 1, -1, -1):
        excess = sum(costs) - budget_tokens
        if excess <= 0:
            break
        item = items[index]
        if item.chunk.language not in LANGUAGES:
            continue
        body_tokens = count_tokens(item.chunk.text.rstrip())
        target = max(math.floor(body_tokens * plan.min_ratio), body_tokens - excess)
        result = compress(
            item.chunk.text.rstrip(), item.chunk.language, count_tokens, plan.priorities,
            budget_tokens=target, protected_identifiers=plan.protected_identifiers,
        )
        rendered[index] = render_chunk(item, comment_prefix, result.text) + CHUNK_SEPARATOR
        costs[index] = count_tokens(rendered[index])
        compressed += 1
    if sum(costs) > budget_tokens:
        return None
    return _context_from_blocks(rendered, list(items), count_tokens, compressed)
