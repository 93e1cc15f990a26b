"""PathRAG retrieval for ask: start nodes from hybrid retrieval, paths from the code graph, path-based prompt.

Each kept path is written as a sentence naming its relations, followed by the code of its nodes
that no earlier block showed. Paths (by reliability) and the start nodes' own chunks (by scaled
retrieval score) share one priority order for the budget. The prompt lists them in reverse, so
the most reliable block ends up last, next to the question.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.config import PathRagSettings
from assistant.context import CHUNK_SEPARATOR, Context, render_chunk
from assistant.pathrag import Hop, PathGraph, ScoredPath, find_paths
from assistant.prompt_parts import PromptPart
from assistant.retrieval import Hit, HybridRetriever, RetrievedChunk
from indexer.chunks import CLASS_KINDS
from indexer.graph import graph_version, load_edges, node_chunk_ids
from indexer.graph_lookup import GraphLookup
from indexer.graph_outline import compact_definition
from indexer.graph_resolve import (
    CALLS,
    CONTAINS,
    IMPORTS,
    INHERITS,
    OVERRIDES,
    REFERENCES,
)
from indexer.types import Chunk

if TYPE_CHECKING:
    from indexer.store import IndexStore

logger = logging.getLogger(__name__)

_VERBS = {
    CALLS: "calls",
    CONTAINS: "contains",
    IMPORTS: "imports",
    INHERITS: "inherits from",
    OVERRIDES: "overrides",
    REFERENCES: "imports",
}
# Retrieval returns several chunks per definition when it was split, so ask for more chunks
# than start nodes.
_CHUNKS_PER_NODE = 3
LONE_NODE_WEIGHT = 0.6
"""Priority of a start node's own chunk, times its scaled retrieval score, against path
reliabilities. 0.6 scored best of 0.3, 0.6 and 1.0 on the PathRAG dev set, because it lets a
path between the two best hits (reliability up to 0.8) go before the weaker hits' own chunks."""
NEIGHBOR_CANDIDATES = 200
"""Open-ended paths scored for the neighbor block; far more than fit in its budget."""
MIN_NEIGHBOR_TOKENS = 16
"""Fewer tokens than a neighbor block needs: a relation line, a header and a signature."""
MAX_NEIGHBOR_MISSES = 8
"""Neighbor candidates that may fail to fit before the search stops. With 4, one dev-set
question lost a file; with 8 the context took 319 ms at the median instead of 416 ms with no limit."""
FILE_NODE_CHUNKS = 0
"""Module chunks shown for a file node on a path; 0 because a module's top-level code (imports,
constants) took budget from definitions without raising recall on the dev set."""


@dataclass(frozen=True)
class ContextPath:
    """A path that went into the context, with its reliability and the tokens its block took."""

    description: str
    reliability: float
    tokens: int


@dataclass(frozen=True)
class PathContext:
    """Packed path-based context: the `Context` for the prompt and the paths inside it, in prompt order."""

    context: Context
    paths: list[ContextPath]


@dataclass(frozen=True)
class PathSearch:
    """The start nodes of a query with their best chunks and scaled scores, and the paths found between them."""

    starts: list[str]
    retrieved: dict[str, RetrievedChunk]
    resources: dict[str, float]
    paths: list[ScoredPath]


# The path graph of each open store with the graph version it was loaded at. Loading the
# 183,000 edges of the whole standard library took 3 to 5 s (bench/bench_graph.py --sizes), so
# retrievers created per request share one copy until the next graph update.
_graphs: weakref.WeakKeyDictionary[IndexStore, tuple[int, PathGraph]] = weakref.WeakKeyDictionary()
_graphs_lock = threading.Lock()


def shared_graph(store: IndexStore) -> PathGraph:
    """Return the in-memory path graph of a store, loading it again only after a graph update."""
    version = graph_version(store)
    with _graphs_lock:
        cached = _graphs.get(store)
        if cached is None or cached[0] != version:
            cached = (version, PathGraph(load_edges(store)))
            _graphs[store] = cached
        return cached[1]


class PathRetriever:
    """PathRAG over one index: hybrid retrieval for start nodes, the code graph for paths."""

    def __init__(self, retriever: HybridRetriever, store: IndexStore, settings: PathRagSettings) -> None:
        self._retriever = retriever
        self._store = store
        self._settings = settings

    def graph(self) -> PathGraph:
        """Return the in-memory path graph, shared with the other retrievers of the same store."""
        return shared_graph(self._store)

    def start_nodes(self, query: str) -> tuple[list[str], dict[str, RetrievedChunk]]:
        """Return the top node keys for `query` from hybrid retrieval, with the best chunk of each."""
        retrieved = self._retriever.retrieve(query, top_k=self._settings.start_nodes * _CHUNKS_PER_NODE)
        best: dict[str, RetrievedChunk] = {}
        for item in retrieved:
            key = node_key_of(item.chunk.path, item.chunk.symbol, item.chunk.chunk_type)
            best.setdefault(key, item)
            if len(best) >= self._settings.start_nodes:
                break
        return list(best), best

    def search(self, query: str) -> PathSearch:
        """Retrieve the start nodes for `query` and find the pruned paths between them."""
        starts, retrieved = self.start_nodes(query)
        settings = self._settings
        resources = start_resources(retrieved)
        paths = find_paths(self.graph(), starts, settings.alpha, settings.threshold, settings.max_paths, resources)
        return PathSearch(starts, retrieved, resources, paths)

    def build_context(self, query: str, budget_tokens: int, count_tokens: Callable[[str], int]) -> PathContext:
        """Retrieve start nodes, find and prune paths, and pack them into `budget_tokens`."""
        return self.pack(self.search(query), budget_tokens, count_tokens)

    def pack(
        self, found: PathSearch, budget_tokens: int, count_tokens: Callable[[str], int], lone_node_weight: float = LONE_NODE_WEIGHT
    ) -> PathContext:
        """Pack the paths and start nodes of a search, then neighbors in `neighbor_tokens` plus what is left."""
        settings = self._settings
        code = self.node_code({node for path in found.paths for node in path.nodes}, found.retrieved)
        priority = {node: lone_node_weight * resource for node, resource in found.resources.items()}
        reserved = min(settings.neighbor_tokens, budget_tokens)
        packed = pack_paths(found.paths, found.starts, found.retrieved, code, budget_tokens - reserved, count_tokens, priority)
        if settings.neighbor_tokens <= 0:
            return packed

        neighbors = find_paths(
            self.graph(), found.starts, settings.alpha, settings.threshold, NEIGHBOR_CANDIDATES, found.resources, open_ends=True
        )
        ends = [path for path in neighbors if path.nodes[-1] not in found.retrieved]
        return add_neighbors(packed, ends, GraphLookup(self._store), budget_tokens, count_tokens)

    def node_code(self, nodes: set[str], retrieved: dict[str, RetrievedChunk]) -> dict[str, list[RetrievedChunk]]:
        """Return the chunks of each node, scored with the node's retrieval score (0 when not retrieved).

        With `compact_nodes` set, a definition that retrieval did not return is shown in
        compact form (signature and docstring when its body is long) as one item.
        """
        code: dict[str, list[RetrievedChunk]] = {}
        if self._settings.compact_nodes:
            lookup = GraphLookup(self._store)
            for node in nodes - retrieved.keys():
                item = compact_node(lookup, node)
                code[node] = [item] if item is not None else []
            nodes = nodes & retrieved.keys()

        ids_by_node = node_chunk_ids(self._store, nodes, max_file_chunks=FILE_NODE_CHUNKS)
        chunks = self._store.chunks([chunk_id for ids in ids_by_node.values() for chunk_id in ids])
        for node, ids in ids_by_node.items():
            score = retrieved[node].hit.score if node in retrieved else 0.0
            code[node] = [RetrievedChunk(Hit(chunk_id, score), chunks[chunk_id]) for chunk_id in ids if chunk_id in chunks]
        return code


def compact_node(lookup: GraphLookup, node: str) -> RetrievedChunk | None:
    """Return a definition node as one item with its compact text, or None for a file node or a missing definition."""
    definition = lookup.definition(node) if "::" in node else None
    if definition is None:
        return None
    text = compact_definition(definition.text, definition.language)
    chunk_type = "class" if definition.symbol_type in CLASS_KINDS else definition.symbol_type
    chunk = Chunk(
        definition.path, definition.language, definition.name, chunk_type, definition.start_line, definition.end_line,
        0, 0, text, hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )
    return RetrievedChunk(Hit(definition.chunk_id, 0.0), chunk)


def start_resources(retrieved: Mapping[str, RetrievedChunk]) -> dict[str, float]:
    """Scale each start node's retrieval score by the best one, so the top hit sends resource 1."""
    top = max((item.hit.score for item in retrieved.values()), default=0.0)
    if top <= 0:
        return {node: 1.0 for node in retrieved}
    return {node: item.hit.score / top for node, item in retrieved.items()}


def node_key_of(path: str, symbol: str, chunk_type: str) -> str:
    """Return the graph node key of a chunk: its file for module code, else its definition."""
    return path if chunk_type == "module" else f"{path}::{symbol}"


def describe_path(path: ScoredPath) -> str:
    """Write a path as text that names its relations, one clause per hop, in the edges' own direction."""
    clauses = [_clause(hop) for hop in path.hops]
    defined_in = [
        f"`{_display(node)}` is defined in `{node.partition('::')[0]}`"
        for node in dict.fromkeys(path.nodes)
        if "::" in node and not _is_contained_in_path(node, path)
    ]
    return "; ".join(clauses + defined_in) + "."


def _clause(hop: Hop) -> str:
    edge = hop.edge
    return f"`{_display(edge.source)}` {_VERBS.get(edge.edge_type, edge.edge_type)} `{_display(edge.target)}`"


def _is_contained_in_path(node: str, path: ScoredPath) -> bool:
    return any(hop.edge.edge_type == CONTAINS and hop.edge.target == node and "::" not in hop.edge.source for hop in path.hops)


def _display(node: str) -> str:
    file_path, separator, name = node.partition("::")
    return name if separator else file_path


def add_neighbors(
    packed: PathContext,
    neighbors: Sequence[ScoredPath],
    lookup: GraphLookup,
    budget_tokens: int,
    count_tokens: Callable[[str], int],
) -> PathContext:
    """Add the compact definition at the end of each neighbor path whose file the context lacks.

    Neighbors are the definitions that packed code calls, inherits from or is called by, in
    other files. They rank below every other block, so they go first in the prompt, and they
    get what is left of `budget_tokens`.
    """
    files = {item.chunk.path for item in packed.context.used}
    total = packed.context.tokens
    blocks: list[tuple[list[PromptPart], ContextPath | None]] = []
    items: list[RetrievedChunk] = []
    misses = 0
    for path in neighbors:
        end = path.nodes[-1]
        if end.partition("::")[0] in files:
            continue
        # Tokenizing and compacting each candidate costs milliseconds, so stop early.
        if budget_tokens - total < MIN_NEIGHBOR_TOKENS or misses >= MAX_NEIGHBOR_MISSES:
            break
        item = compact_node(lookup, end)
        if item is None:
            continue
        # Only the relation that reaches the neighbor: the whole path often costs more tokens
        # than the compact definition itself.
        description = _clause(path.hops[-1]) + "."
        parts = [PromptPart(f"# Path: {description}\n"), _chunk_part(item)]
        cost = sum(count_tokens(part.text) for part in parts)
        if total + cost > budget_tokens:
            misses += 1
            continue
        total += cost
        files.add(item.chunk.path)
        blocks.append((parts, ContextPath(description, path.reliability, cost)))
        items.append(item)

    if not blocks:
        return packed
    blocks.reverse()
    context = _context_of([*blocks, (list(packed.context.parts), None)], [*packed.context.used, *items], total)
    logger.debug("added %d neighbor definitions from other files", len(blocks))
    return PathContext(context=context, paths=[*(info for _, info in blocks if info is not None), *packed.paths])


def pack_paths(
    paths: Sequence[ScoredPath],
    starts: Sequence[str],
    retrieved: dict[str, RetrievedChunk],
    code: dict[str, list[RetrievedChunk]],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    node_priority: Mapping[str, float] | None = None,
) -> PathContext:
    """Pack path blocks and lone start nodes by priority into the budget, and order them for the prompt.

    A path's priority is its reliability. A start node's is `node_priority[node]`; without
    it, lone start nodes come after every path. A block that does not fit is skipped and
    smaller ones after it may still fit. The prompt lists the blocks in rising priority, so
    the most reliable path is last.
    """
    candidates: list[tuple[float, int, ScoredPath | str]] = [
        (path.reliability, index, path) for index, path in enumerate(paths)
    ]
    for index, node in enumerate(starts, start=len(paths)):
        priority = -1.0 if node_priority is None else node_priority.get(node, -1.0)
        candidates.append((priority, index, node))
    candidates.sort(key=lambda item: (-item[0], item[1]))

    shown: set[str] = set()
    used: list[RetrievedChunk] = []
    blocks: list[tuple[list[PromptPart], ContextPath | None]] = []
    total = 0
    for _, _, candidate in candidates:
        if isinstance(candidate, ScoredPath):
            new_nodes = [node for node in candidate.nodes if node not in shown]
            items = [item for node in new_nodes for item in code.get(node, [])]
            description = describe_path(candidate)
            parts = [PromptPart(f"# Path: {description}\n"), *(_chunk_part(item) for item in items)]
        else:
            lone = retrieved.get(candidate)
            if candidate in shown or lone is None:
                continue
            new_nodes, items, parts = [candidate], [lone], [_chunk_part(lone)]
        cost = sum(count_tokens(part.text) for part in parts)
        if total + cost > budget_tokens:
            continue
        total += cost
        shown.update(new_nodes)
        used.extend(items)
        info = ContextPath(description, candidate.reliability, cost) if isinstance(candidate, ScoredPath) else None
        blocks.append((parts, info))

    blocks.reverse()
    paths_used = [info for _, info in blocks if info is not None]
    logger.debug("packed %d paths and %d lone nodes into %d tokens", len(paths_used), len(blocks) - len(paths_used), total)
    return PathContext(context=_context_of(blocks, used, total), paths=paths_used)


def _chunk_part(item: RetrievedChunk) -> PromptPart:
    """Render a chunk as `pack_context` renders an uncompressed one, so both share its stored KV cache."""
    return PromptPart(render_chunk(item) + CHUNK_SEPARATOR, source_path=item.chunk.path)


def _context_of(blocks: Sequence[tuple[list[PromptPart], ContextPath | None]], used: list[RetrievedChunk], tokens: int) -> Context:
    parts = tuple(part for block, _ in blocks for part in block)
    return Context(text="".join(part.text for part in parts), used=used, tokens=tokens, parts=parts)
