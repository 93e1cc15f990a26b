"""Tests for reciprocal rank fusion and context packing (pure logic, no index)."""

from __future__ import annotations

import pytest

from assistant.context import pack_context
from assistant.retrieval import Hit, RetrievedChunk, fuse_rankings
from indexer.types import Chunk


def test_fuse_rankings_sums_reciprocal_ranks() -> None:
    hits = fuse_rankings([[1, 2, 3], [3, 1]], rrf_k=60)

    scores = {hit.chunk_id: hit.score for hit in hits}
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)
    assert [hit.chunk_id for hit in hits] == [1, 3, 2]


def test_fuse_rankings_empty_lists_give_no_hits() -> None:
    assert fuse_rankings([[], []], rrf_k=60) == []


def _item(chunk_id: int, lines: int) -> RetrievedChunk:
    text = "\n".join(f"line_{chunk_id}_{number} = {number}" for number in range(lines))
    chunk = Chunk(
        path=f"pkg/m{chunk_id}.py",
        language="python",
        symbol=f"f{chunk_id}",
        chunk_type="function",
        start_line=1,
        end_line=lines,
        start_byte=0,
        end_byte=len(text),
        text=text,
        content_hash=str(chunk_id),
    )
    return RetrievedChunk(hit=Hit(chunk_id=chunk_id, score=1.0 / chunk_id), chunk=chunk)


def _count_words(text: str) -> int:
    return len(text.split())


def test_pack_context_within_budget_keeps_rank_order() -> None:
    items = [_item(1, 3), _item(2, 3)]

    context = pack_context(items, budget_tokens=1000, count_tokens=_count_words)

    assert [item.chunk.symbol for item in context.used] == ["f1", "f2"]
    assert context.text.index("f1") < context.text.index("f2")
    assert context.tokens == _count_words(context.text)


def test_pack_context_over_budget_cuts_last_chunk_at_line() -> None:
    items = [_item(1, 3), _item(2, 40)]
    first_cost = _count_words(pack_context(items[:1], 1000, _count_words).text)

    context = pack_context(items, budget_tokens=first_cost + 30, count_tokens=_count_words)

    assert len(context.used) == 2
    assert context.tokens <= first_cost + 30
    assert "line_2_39" not in context.text
    assert context.text.endswith("\n")


def test_pack_context_tiny_remainder_drops_chunk() -> None:
    items = [_item(1, 3), _item(2, 40)]
    first_cost = _count_words(pack_context(items[:1], 1000, _count_words).text)

    context = pack_context(items, budget_tokens=first_cost + 2, count_tokens=_count_words)

    assert [item.chunk.symbol for item in context.used] == ["f1"]
