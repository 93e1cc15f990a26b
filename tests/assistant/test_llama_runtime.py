"""Batch cutting of the llama.cpp adapter, without a model."""

from __future__ import annotations

import pytest

from assistant.llama_runtime import BATCH_TOKENS, _batch_bounds


@pytest.mark.parametrize(
    ("length", "tail", "expected"),
    [
        (10, 1, [(0, 10)]),
        (BATCH_TOKENS, 4, [(0, BATCH_TOKENS)]),
        (BATCH_TOKENS + 10, 4, [(0, BATCH_TOKENS), (BATCH_TOKENS, BATCH_TOKENS + 10)]),
        # Two tokens would fall in the last batch; the tail of four must share one batch.
        (BATCH_TOKENS + 2, 4, [(0, BATCH_TOKENS - 2), (BATCH_TOKENS - 2, BATCH_TOKENS + 2)]),
        (2 * BATCH_TOKENS + 1, 3, [(0, BATCH_TOKENS), (BATCH_TOKENS, 2 * BATCH_TOKENS - 2), (2 * BATCH_TOKENS - 2, 2 * BATCH_TOKENS + 1)]),
        (0, 1, []),
    ],
)
def test_batch_bounds_keep_logits_tail_in_last_batch(length: int, tail: int, expected: list[tuple[int, int]]) -> None:
    bounds = _batch_bounds(length, tail)
    assert bounds == expected
    assert all(end - start <= BATCH_TOKENS for start, end in bounds)
