"""Variants of ask-context compression that bench/bench_compression.py measures next to the shipped one.

- `*+lines`: `compress()` also keeps whole the lines that mention the question's protected
  words (`protect_mentioning_lines`), with context packing otherwise unchanged;
- `uniform+lines`: every chunk is compressed to the same ratio, found by binary search, instead
  of the lowest-ranked chunks first. Chunks are dropped only when 5% of each does not fit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from unittest import mock

from assistant import context as context_module
from assistant.compress import compress, load_priorities, mentioned_identifiers
from assistant.context import CompressionPlan, pack_context
from bench.compression_dev import AskCase, render_context

Count = Callable[[str], int]
UNIFORM_MIN_RATIO = 0.05
UNIFORM_SEARCH_STEPS = 8


def _pack_with_lines(min_ratio: float) -> Callable[[AskCase, int, Count], str]:
    def build(case: AskCase, budget: int, count: Count) -> str:
        plan = CompressionPlan(load_priorities("ask"), min_ratio, mentioned_identifiers(case.question))
        with mock.patch.object(context_module, "compress", functools.partial(compress, protect_mentioning_lines=True)):
            return pack_context(case.chunks, budget, count, compression=plan).text

    return build


def _uniform_with_lines(case: AskCase, budget: int, count: Count) -> str:
    """Compress every chunk to one shared ratio, the largest whose rendered context fits."""
    protected = mentioned_identifiers(case.question)
    priorities = load_priorities("ask")

    @functools.cache
    def at_ratio(ratio: float) -> str:
        texts = [
            compress(
                item.chunk.text, item.chunk.language, count, priorities, ratio=ratio,
                protected_identifiers=protected, protect_mentioning_lines=True,
            ).text
            for item in case.chunks
        ]
        return render_context(case.chunks, texts)

    low, high = UNIFORM_MIN_RATIO, 1.0
    if count(at_ratio(low)) > budget:
        return pack_context(case.chunks, budget, count).text
    for _ in range(UNIFORM_SEARCH_STEPS):
        middle = (low + high) / 2
        if count(at_ratio(middle)) <= budget:
            low = middle
        else:
            high = middle
    return at_ratio(low)


ASK_VARIANTS: dict[str, Callable[[AskCase, int, Count], str]] = {
    "compress+lines": _pack_with_lines(0.05),
    "compress_then_drop+lines": _pack_with_lines(0.5),
    "uniform+lines": _uniform_with_lines,
}
