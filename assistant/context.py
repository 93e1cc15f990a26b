"""Context packing: render retrieved chunks into a token budget, compressing them when allowed."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from assistant.compress import (
    CompressionResult,
    compress,
    load_priorities,
    mentioned_identifiers,
)
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
    # The ratio that "shared" compression applied to every chunk; None when it did not run.
    shared_ratio: float | None = None

    def prompt_parts(self, is_cacheable: bool) -> tuple[PromptPart, ...]:
        """Return the context as prompt parts; chunk parts keep their source only when `is_cacheable`."""
        if not self.parts:
            return (PromptPart(self.text),) if self.text else ()
        if is_cacheable:
            return self.parts
        return (PromptPart(self.text),)


def _context_from_blocks(
    blocks: Sequence[str],
    used: list[RetrievedChunk],
    count_tokens: Callable[[str], int],
    compressed_chunks: int = 0,
    shared_ratio: float | None = None,
) -> Context:
    """Join rendered chunks (each ending with `CHUNK_SEPARATOR`) into a context."""
    parts = tuple(PromptPart(block, source_path=item.chunk.path) for block, item in zip(blocks, used, strict=True))
    text = "".join(part.text for part in parts)
    # The model runtime tokenizes each part on its own, so the sum is what the prompt costs.
    tokens = sum(count_tokens(part.text) for part in parts)
    return Context(
        text=text, used=used, tokens=tokens, compressed_chunks=compressed_chunks, parts=parts, shared_ratio=shared_ratio
    )


# Each rendered chunk ends with this blank line. Keeping it inside the chunk's own prompt part
# keeps a chunk's text, and so its stored KV cache, the same wherever it is ranked.
CHUNK_SEPARATOR = "\n"


CompressionMode = Literal["shared", "rank"]
COMPRESSION_MODES: tuple[str, ...] = get_args(CompressionMode)


@dataclass(frozen=True)
class CompressionPlan:
    """Settings for compressing chunks during context packing, before any chunk is dropped.

    `min_ratio` is the smallest share of a chunk's tokens that compression may leave;
    `protected_identifiers` (lowercase) are never removed. `mode` "rank" compresses the
    lowest-ranked chunks first, each only as far as needed. "shared" compresses every chunk to
    one common ratio and also keeps whole the lines that mention a protected identifier.
    """

    priorities: tuple[TokenType, ...]
    min_ratio: float
    protected_identifiers: frozenset[str] = frozenset()
    mode: CompressionMode = "rank"


def compression_plan(
    is_enabled: bool, min_ratio: float, task: str, mentioned_text: str, mode: str = "rank"
) -> CompressionPlan | None:
    """Build the plan for `task` ("ask" or "completion"), or None when compression is off.

    Identifiers in `mentioned_text` (the question, or the code around the cursor) are protected.
    """
    if not is_enabled:
        return None
    if not 0.0 < min_ratio <= 1.0:
        raise InvalidInput(
            f"setting {task}.compression_min_ratio is {min_ratio}; pass a share in (0, 1], e.g. 0.5"
        )
    if mode == "shared":
        return CompressionPlan(load_priorities(task), min_ratio, mentioned_identifiers(mentioned_text), "shared")
    if mode == "rank":
        return CompressionPlan(load_priorities(task), min_ratio, mentioned_identifiers(mentioned_text), "rank")
    raise InvalidInput(f"setting {task}.compression_mode is {mode!r}; pass one of {', '.join(COMPRESSION_MODES)}")


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

    With a `compression` plan, chunks that do not fit are first compressed, and only when the
    best chunks do not fit even at `compression.min_ratio` of their tokens is the lowest-ranked
    one dropped. Mode "rank" compresses the lowest-ranked chunks first, each only as far as
    needed; mode "shared" compresses every chunk to the largest common ratio that fits. Without
    a plan, or when not even the best chunk fits compressed, a chunk that does not fit whole is
    cut at a line boundary when at least a few lines of it fit. A binary search over its line
    count finds the cut. Later chunks are dropped.
    """
    if compression is not None:
        pack = _pack_shared if compression.mode == "shared" else _pack_compressed
        packed = pack(items, budget_tokens, count_tokens, comment_prefix, compression)
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


# The shared ratio is searched on a grid of this many steps per unit, finer than the compressor's
# own accuracy of about 5% of the requested ratio. A fixed grid makes the result independent of
# `min_ratio` whenever the floor is not reached.
SHARED_RATIO_STEPS = 100


def _pack_shared(
    items: Sequence[RetrievedChunk],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    comment_prefix: str,
    plan: CompressionPlan,
) -> Context | None:
    """Fit the most top-ranked chunks into the budget at one shared ratio; None if not even one fits.

    Compressing every chunk alike keeps each chunk's most important tokens, wherever retrieval
    ranked the chunk that contains the answer. Chunks are dropped, lowest-ranked first, only when
    `plan.min_ratio` of every chunk does not fit.
    """
    rendered = [render_chunk(item, comment_prefix) + CHUNK_SEPARATOR for item in items]
    costs = [count_tokens(text) for text in rendered]
    if sum(costs) <= budget_tokens:
        return None
    for count in range(len(items), 0, -1):
        # Headers are never compressed, so this underestimates the cost at the smallest ratio.
        if sum(max(1, math.ceil(cost * plan.min_ratio)) for cost in costs[:count]) > budget_tokens:
            continue
        packed = _SharedRatio(items[:count], count_tokens, comment_prefix, plan).fit(budget_tokens, sum(costs[:count]))
        if packed is not None:
            logger.debug(
                "packed %d of %d chunks into %d tokens at a shared ratio of %.2f",
                count, len(items), packed.tokens, packed.shared_ratio,
            )
            return packed
    return None


class _SharedRatio:
    """Renderings of a list of chunks, each compressed to the same ratio, cached by ratio."""

    def __init__(
        self, items: Sequence[RetrievedChunk], count_tokens: Callable[[str], int], comment_prefix: str, plan: CompressionPlan
    ) -> None:
        self._items = list(items)
        self._count_tokens = count_tokens
        self._comment_prefix = comment_prefix
        self._plan = plan
        self._blocks: dict[float, tuple[list[str], int, int]] = {}

    def fit(self, budget_tokens: int, whole_tokens: int) -> Context | None:
        """Return the chunks at the largest shared ratio whose context fits, or None if `min_ratio` does not."""
        if whole_tokens <= budget_tokens:
            return _context_from_blocks(self._render(1.0)[0], self._items, self._count_tokens)
        # Grid steps: `low` fits and `high` does not.
        low, high = math.ceil(self._plan.min_ratio * SHARED_RATIO_STEPS), SHARED_RATIO_STEPS
        if low >= high or self._render(low / SHARED_RATIO_STEPS)[1] > budget_tokens:
            return None
        # The first probe is the budget's share of the whole cost, which usually lies close to the
        # result, and then each probe halves the steps between `low` and `high`.
        middle = min(max(math.floor(budget_tokens / whole_tokens * SHARED_RATIO_STEPS), low + 1), high - 1)
        while high - low > 1:
            if self._render(middle / SHARED_RATIO_STEPS)[1] <= budget_tokens:
                low = middle
            else:
                high = middle
            middle = (low + high) // 2
        ratio = low / SHARED_RATIO_STEPS
        blocks, _, compressed = self._render(ratio)
        return _context_from_blocks(blocks, self._items, self._count_tokens, compressed, shared_ratio=ratio)

    def _render(self, ratio: float) -> tuple[list[str], int, int]:
        """Return the rendered chunks at `ratio`, their token count, and how many were compressed."""
        if ratio not in self._blocks:
            blocks, compressed = [], 0
            for item in self._items:
                result = self._compress(item, ratio)
                if result is None or result.tokens == result.original_tokens:
                    blocks.append(render_chunk(item, self._comment_prefix) + CHUNK_SEPARATOR)
                    continue
                blocks.append(render_chunk(item, self._comment_prefix, result.text) + CHUNK_SEPARATOR)
                compressed += 1
            self._blocks[ratio] = (blocks, sum(self._count_tokens(block) for block in blocks), compressed)
        return self._blocks[ratio]

    def _compress(self, item: RetrievedChunk, ratio: float) -> CompressionResult | None:
        if ratio >= 1.0 or item.chunk.language not in LANGUAGES:
            return None
        return compress(
            item.chunk.text.rstrip(), item.chunk.language, self._count_tokens, self._plan.priorities,
            ratio=ratio, protected_identifiers=self._plan.protected_identifiers, protect_mentioning_lines=True,
        )
