"""Hybrid retrieval: FTS5 BM25 and dense FAISS results fused by reciprocal rank."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.config import RetrievalSettings
from indexer.types import Chunk

if TYPE_CHECKING:
    from indexer.embedder import Embedder
    from indexer.store import IndexStore
    from indexer.vector_index import VectorIndex

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk id with its fused score (higher is better)."""

    chunk_id: int
    score: float


@dataclass(frozen=True)
class RetrievedChunk:
    """A hit together with the chunk it points to."""

    hit: Hit
    chunk: Chunk


def fuse_rankings(rankings: Sequence[Sequence[int]], rrf_k: int) -> list[Hit]:
    """Fuse ranked id lists with reciprocal rank fusion: score = sum of 1 / (rrf_k + rank).

    Ranks start at 1. Ties keep the order in which an id was first seen, so the result is
    deterministic.
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (rrf_k + rank)
    ordered = sorted(scores.items(), key=lambda item: -item[1])
    return [Hit(chunk_id=chunk_id, score=score) for chunk_id, score in ordered]


class HybridRetriever:
    """Retrieve chunks for a query from one index with lexical and dense search."""

    def __init__(
        self,
        store: IndexStore,
        vector_index: VectorIndex | None,
        embedder: Embedder | None,
        settings: RetrievalSettings,
    ) -> None:
        self._store = store
        self._vector_index = vector_index
        self._embedder = embedder
        self._settings = settings

    def retrieve(self, query: str, top_k: int | None = None, exclude_path: str | None = None) -> list[RetrievedChunk]:
        """Return the best chunks for `query`, best first.

        `exclude_path` drops chunks of one file, for example the file being completed, whose
        text the prompt already contains.
        """
        limit = top_k if top_k is not None else self._settings.top_k
        lexical = [chunk_id for chunk_id, _ in self._store.search_lexical(query, self._settings.lexical_k)]
        dense: list[int] = []
        if self._vector_index is not None and self._embedder is not None and query.strip():
            vector = self._embedder.embed_query(query)
            dense = [chunk_id for chunk_id, _ in self._vector_index.search(vector, self._settings.dense_k)]
        hits = fuse_rankings([lexical, dense], self._settings.rrf_k)
        logger.debug("query matched %d lexical and %d dense chunks", len(lexical), len(dense))

        chunks = self._store.chunks([hit.chunk_id for hit in hits])
        results: list[RetrievedChunk] = []
        for hit in hits:
            chunk = chunks.get(hit.chunk_id)
            if chunk is None or chunk.path == exclude_path:
                continue
            results.append(RetrievedChunk(hit=hit, chunk=chunk))
            if len(results) >= limit:
                break
        return results
