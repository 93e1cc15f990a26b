"""Tests for context packing in compression mode "shared": one common ratio for every chunk."""

from __future__ import annotations

import dataclasses
import json.decoder
import json.encoder
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.compress import load_priorities, mentioned_identifiers
from assistant.config import AskSettings, ModelSettings
from assistant.context import (
    CHUNK_SEPARATOR,
    CompressionPlan,
    compression_plan,
    pack_context,
    render_chunk,
)
from assistant.errors import InvalidInput
from assistant.model import LlamaGenerator, load_generator
from assistant.retrieval import Hit, RetrievedChunk
from indexer.chunks import chunk_file
from indexer.types import Chunk

BODY = (
    "def f{n}(items, limit=10):\n"
    "    # pick the items that are larger than the limit\n"
    "    chosen = [item for item in items if item.size > limit]\n"
    "    size_total = sum(item.size for item in chosen)\n"
    "    return chosen, size_total\n"
)


def _item(rank: int, text: str, language: str = "python") -> RetrievedChunk:
    chunk = Chunk(path=f"m{rank}.py", language=language, symbol=f"f{rank}", chunk_type="function", start_line=1,
                  end_line=text.count("\n") + 1, start_byte=0, end_byte=len(text), text=text, content_hash=str(rank))
    return RetrievedChunk(hit=Hit(chunk_id=rank, score=1.0 / rank), chunk=chunk)


def _count_pieces(text: str) -> int:
    return len(text.split()) + sum(1 for character in text if not character.isalnum() and not character.isspace())


def _cost(items: list[RetrievedChunk]) -> int:
    return sum(_count_pieces(render_chunk(item) + CHUNK_SEPARATOR) for item in items)


def _plan(min_ratio: float, question: str = "") -> CompressionPlan:
    return CompressionPlan(load_priorities("ask"), min_ratio, mentioned_identifiers(question), mode="shared")


def test_pack_shared_compresses_every_chunk() -> None:
    items = [_item(rank, BODY.format(n=rank)) for rank in (1, 2, 3)]
    budget = int(0.6 * _cost(items))

    packed = pack_context(items, budget, _count_pieces, compression=_plan(0.1))

    assert [item.chunk.symbol for item in packed.used] == ["f1", "f2", "f3"]
    assert packed.compressed_chunks == 3
    assert packed.tokens <= budget
    assert packed.shared_ratio is not None
    assert 0.1 <= packed.shared_ratio < 1.0
    assert BODY.format(n=1).rstrip() not in packed.text


def test_pack_shared_within_budget_unchanged() -> None:
    items = [_item(rank, BODY.format(n=rank)) for rank in (1, 2)]

    packed = pack_context(items, _cost(items), _count_pieces, compression=_plan(0.1))

    assert packed.compressed_chunks == 0
    assert packed.shared_ratio is None
    assert packed.text == "".join(render_chunk(item) + CHUNK_SEPARATOR for item in items)


def test_pack_shared_floor_too_tight_drops_chunk() -> None:
    items = [_item(rank, BODY.format(n=rank)) for rank in (1, 2, 3)]
    budget = _cost(items[:1]) + 5

    packed = pack_context(items, budget, _count_pieces, compression=_plan(0.9))

    assert [item.chunk.symbol for item in packed.used] == ["f1"]
    assert packed.tokens <= budget


def test_pack_shared_fewer_chunks_fit_whole() -> None:
    items = [_item(rank, BODY.format(n=rank)) for rank in (1, 2, 3)]
    budget = _cost(items[:2]) + 2

    packed = pack_context(items, budget, _count_pieces, compression=_plan(0.95))

    assert [item.chunk.symbol for item in packed.used] == ["f1", "f2"]
    assert packed.compressed_chunks == 0
    assert packed.text == "".join(render_chunk(item) + CHUNK_SEPARATOR for item in items[:2])


def test_pack_shared_unknown_language_left_whole() -> None:
    notes = "line one of the notes\nline two of the notes\nline three of the notes\n"
    items = [_item(1, BODY.format(n=1)), _item(2, notes, language="markdown")]
    budget = int(0.8 * _cost(items))

    packed = pack_context(items, budget, _count_pieces, compression=_plan(0.1))

    assert packed.compressed_chunks == 1
    assert notes.rstrip() in packed.text
    assert packed.tokens <= budget


def test_pack_shared_keeps_lines_naming_question() -> None:
    items = [_item(rank, BODY.format(n=rank)) for rank in (1, 2, 3)]
    budget = int(0.6 * _cost(items))

    packed = pack_context(items, budget, _count_pieces, compression=_plan(0.1, "What does `size_total` count?"))

    # A name with an underscore is distinctive enough to keep its lines whole, but for indentation.
    assert packed.text.count("size_total = sum(item.size for item in chosen)\n") == 3
    assert "chosen = [item for item in items if item.size > limit]" not in packed.text
    assert packed.tokens <= budget


def test_compression_plan_modes() -> None:
    shared = compression_plan(True, 0.3, "ask", "where is x", mode="shared")
    rank = compression_plan(True, 0.3, "ask", "where is x")

    assert shared is not None and shared.mode == "shared"
    assert rank is not None and rank.mode == "rank"
    assert compression_plan(False, 0.3, "ask", "where is x", mode="shared") is None


def test_compression_plan_unknown_mode_raises() -> None:
    with pytest.raises(InvalidInput, match="ask.compression_mode is 'uniform'; pass one of shared, rank"):
        compression_plan(True, 0.3, "ask", "where is x", mode="uniform")


def test_ask_settings_mode_is_valid() -> None:
    settings = AskSettings()

    plan = compression_plan(settings.compression, settings.compression_min_ratio, "ask", "q", settings.compression_mode)

    assert plan is not None
    assert plan.mode == settings.compression_mode


@pytest.fixture(scope="module")
def gemma() -> Iterator[LlamaGenerator]:
    generator = load_generator(ModelSettings(n_threads=1, n_ctx=512))
    yield generator
    generator.close()


def _stdlib_items() -> list[RetrievedChunk]:
    items: list[RetrievedChunk] = []
    for module in (json.decoder, json.encoder):
        path = Path(str(module.__file__))
        found, _ = chunk_file(path.name, "python", path.read_bytes(), max_chunk_lines=120)
        for chunk in found:
            if chunk.chunk_type == "function" and 40 <= len(chunk.text) // 4 <= 400:
                items.append(RetrievedChunk(hit=Hit(chunk_id=len(items) + 1, score=1.0), chunk=chunk))
    return items[:5]


@pytest.mark.parametrize("ratio", [0.3, 0.5, 0.7])
def test_pack_shared_real_tokenizer_fits_one_ratio(gemma: LlamaGenerator, ratio: float) -> None:
    items = _stdlib_items()
    whole = [render_chunk(item) + CHUNK_SEPARATOR for item in items]
    budget = int(ratio * sum(gemma.count_tokens(text) for text in whole))
    plan = _plan(0.05, "Which function in decoder.py decodes a JSON document?")

    packed = pack_context(items, budget, gemma.count_tokens, compression=plan)

    assert len(items) == 5
    assert packed.used == items
    assert packed.tokens <= budget
    assert sum(gemma.count_tokens(part.text) for part in packed.parts) <= budget
    assert packed.shared_ratio is not None
    # Every body was compressed to the same ratio. The compressor meets a ratio within about 5%,
    # and whole lines that name the question may keep a chunk a little above it.
    for item, part in zip(items, packed.parts, strict=True):
        body = part.text.split("\n", 1)[1].rstrip()
        achieved = gemma.count_tokens(body) / gemma.count_tokens(item.chunk.text.rstrip())
        assert achieved <= packed.shared_ratio * 1.05 + 0.02, item.chunk.symbol
        assert achieved >= packed.shared_ratio * 0.8 - 0.02, item.chunk.symbol


def test_pack_shared_real_tokenizer_uses_budget(gemma: LlamaGenerator) -> None:
    items = _stdlib_items()
    budget = int(0.5 * sum(gemma.count_tokens(render_chunk(item) + CHUNK_SEPARATOR) for item in items))
    rank_plan = dataclasses.replace(_plan(0.05), mode="rank")

    shared = pack_context(items, budget, gemma.count_tokens, compression=_plan(0.05))
    rank = pack_context(items, budget, gemma.count_tokens, compression=rank_plan)

    assert shared.compressed_chunks == len(items)
    assert shared.tokens >= 0.9 * budget
    assert rank.tokens <= budget
