"""Tests for PathRAG path search, flow pruning and path-based context on small hand-made graphs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.config import AskSettings, RetrievalMode, RetrievalSettings, Settings
from assistant.model import LlamaGenerator
from assistant.path_context import (
    add_neighbors,
    describe_path,
    pack_paths,
    shared_graph,
)
from assistant.pathrag import PathGraph, ScoredPath, find_paths
from assistant.retrieval import Hit, RetrievedChunk
from assistant.service import Assistant
from indexer.chunks import chunk_file
from indexer.graph import store_file_facts, update_graph
from indexer.graph_lookup import GraphLookup
from indexer.graph_resolve import Edge
from indexer.store import MODEL_ID_KEY, FileRecord, IndexStore
from indexer.types import Chunk


def _edge(source: str, target: str, confidence: float = 1.0, edge_type: str = "calls") -> Edge:
    return Edge(source, target, edge_type, confidence, "x.py", 1)


# A calls B and D, B calls C, D calls C with confidence 0.5.
# Incident confidence sums: A 2.0, B 2.0, C 1.5, D 1.5.
DIAMOND = [_edge("A", "B"), _edge("B", "C"), _edge("A", "D"), _edge("D", "C", 0.5)]


def _summary(paths: list[ScoredPath]) -> list[tuple[tuple[str, ...], float]]:
    return [(path.nodes, round(path.reliability, 5)) for path in paths]


def test_find_paths_diamond_matches_hand_worked_scores() -> None:
    # From C: C-B gets 0.8 * 1 * 1/1.5 = 0.53333, then B-A gets 0.8 * 0.53333 * 1/2 = 0.21333,
    # mean 0.37333; it beats A-B-C (0.4, 0.16, mean 0.28), which has the same node set.
    # From A: A-D gets 0.4, then D-C gets 0.8 * 0.4 * 0.5/1.5 = 0.10667, mean 0.25333.
    # From C, C-D gets 0.26667 < 0.3, so D passes nothing on and C-D-A is never found.
    paths = find_paths(PathGraph(DIAMOND), ["A", "C"], alpha=0.8, threshold=0.3, max_paths=15)

    assert _summary(paths) == [(("C", "B", "A"), 0.37333), (("A", "D", "C"), 0.25333)]
    assert [round(r, 5) for r in paths[0].resources] == [0.53333, 0.21333]


def test_find_paths_high_threshold_prunes_weak_branch() -> None:
    # A-B and A-D reach 0.4 < 0.45, so only the flow from C through B survives.
    paths = find_paths(PathGraph(DIAMOND), ["A", "C"], alpha=0.8, threshold=0.45, max_paths=15)

    assert _summary(paths) == [(("C", "B", "A"), 0.37333)]


def test_find_paths_lower_threshold_keeps_more_reliable_duplicate() -> None:
    # At 0.2, C-D (0.26667) passes on: C-D-A gets (0.26667, 0.14222), mean 0.20444, which
    # loses to A-D-C (0.25333) on the same node set.
    paths = find_paths(PathGraph(DIAMOND), ["A", "C"], alpha=0.8, threshold=0.2, max_paths=15)

    assert _summary(paths) == [(("C", "B", "A"), 0.37333), (("A", "D", "C"), 0.25333)]


def test_find_paths_max_paths_keeps_best() -> None:
    paths = find_paths(PathGraph(DIAMOND), ["A", "C"], alpha=0.8, threshold=0.3, max_paths=1)

    assert _summary(paths) == [(("C", "B", "A"), 0.37333)]


def test_find_paths_adjacent_starts_give_one_hop_path() -> None:
    # A-B: 0.8 * 1/2 = 0.4 from either end, so the tie goes to the smaller node tuple.
    paths = find_paths(PathGraph(DIAMOND), ["A", "B"], alpha=0.8, threshold=0.3, max_paths=15)

    assert _summary(paths) == [(("A", "B"), 0.4)]


def test_find_paths_confidence_weights_flow() -> None:
    # From S (edges 0.9 and 0.1) T gets 0.8 * 0.9 / 1.0 = 0.72; from T (edges 0.9 and 1.0) S
    # gets only 0.8 * 0.9 / 1.9 = 0.37895, so the path keeps the flow from S.
    graph = PathGraph([_edge("S", "T", 0.9), _edge("S", "U", 0.1), _edge("T", "V", 1.0)])

    paths = find_paths(graph, ["S", "T"], alpha=0.8, threshold=0.3, max_paths=15)

    assert _summary(paths) == [(("S", "T"), 0.72)]


def test_find_paths_path_ends_at_first_start_node() -> None:
    # A leaf sends all its flow to its only neighbour (0.8), and a path stops at the first
    # start node it reaches, so T-S-U is not a path when S is a start node.
    graph = PathGraph([_edge("S", "T", 0.9), _edge("S", "U", 0.1)])

    paths = find_paths(graph, ["S", "T", "U"], alpha=0.8, threshold=0.3, max_paths=15)

    assert _summary(paths) == [(("T", "S"), 0.8), (("U", "S"), 0.8)]


def test_find_paths_longer_than_three_hops_not_found() -> None:
    chain = [_edge("P", "Q"), _edge("Q", "R"), _edge("R", "S"), _edge("S", "T")]

    paths = find_paths(PathGraph(chain), ["P", "T"], alpha=1.0, threshold=0.0, max_paths=15)

    assert paths == []


def test_find_paths_start_outside_graph_ignored() -> None:
    paths = find_paths(PathGraph(DIAMOND), ["A", "missing"], alpha=0.8, threshold=0.3, max_paths=15)

    assert paths == []


@pytest.mark.parametrize("alpha, threshold", [(0.0, 0.3), (1.5, 0.3), (0.8, 1.0)])
def test_find_paths_invalid_parameters_raise(alpha: float, threshold: float) -> None:
    with pytest.raises(ValueError, match="invalid"):
        find_paths(PathGraph(DIAMOND), ["A"], alpha=alpha, threshold=threshold, max_paths=1)


SERVE = "app/server.py::serve"
PARSE = "http/parse.py::parse_request"
HEADERS = "http/parse.py::read_headers"


def _item(key: str, text: str) -> RetrievedChunk:
    path, _, symbol = key.partition("::")
    chunk = Chunk(path, "python", symbol, "function", 1, 1, 0, len(text), text, "h")
    return RetrievedChunk(Hit(1, 0.5), chunk)


def _words(text: str) -> int:
    return len(text.split())


def test_describe_path_names_relations_in_edge_direction() -> None:
    graph = PathGraph([_edge(SERVE, PARSE), _edge(PARSE, HEADERS)])
    [path] = find_paths(graph, [HEADERS, SERVE], alpha=0.8, threshold=0.3, max_paths=1)

    text = describe_path(path)

    assert text == (
        "`serve` calls `parse_request`; `parse_request` calls `read_headers`; "
        "`serve` is defined in `app/server.py`; `parse_request` is defined in `http/parse.py`; "
        "`read_headers` is defined in `http/parse.py`."
    )


def test_pack_paths_most_reliable_last_and_code_once() -> None:
    graph = PathGraph([_edge(SERVE, PARSE, 0.9), _edge(SERVE, HEADERS, 0.3), _edge(PARSE, HEADERS, 0.3)])
    starts = [SERVE, PARSE, HEADERS]
    paths = find_paths(graph, starts, alpha=0.8, threshold=0.3, max_paths=15)
    code = {key: [_item(key, f"def {key.partition('::')[2]}(): pass")] for key in starts}

    packed = pack_paths(paths, starts, {}, code, budget_tokens=1000, count_tokens=_words)

    text = packed.context.text
    assert [round(p.reliability, 4) for p in packed.paths] == sorted(round(p.reliability, 4) for p in paths)
    assert text.rindex("# Path:") == text.index(f"# Path: {describe_path(paths[0])}")
    for key in starts:
        assert text.count(f"def {key.partition('::')[2]}()") == 1
    assert packed.context.tokens == sum(p.tokens for p in packed.paths)


def test_pack_paths_over_budget_skips_path_keeps_lone_start() -> None:
    graph = PathGraph([_edge(SERVE, PARSE)])
    paths = find_paths(graph, [SERVE, PARSE], alpha=0.8, threshold=0.3, max_paths=15)
    code = {SERVE: [_item(SERVE, "word " * 50)], PARSE: [_item(PARSE, "word " * 50)]}
    lone = _item(HEADERS, "def read_headers(): pass")

    packed = pack_paths(paths, [SERVE, PARSE, HEADERS], {HEADERS: lone}, code, budget_tokens=40, count_tokens=_words)

    assert packed.paths == []
    assert [item.chunk.symbol for item in packed.context.used] == ["read_headers"]
    assert packed.context.tokens <= 40


def test_shared_graph_reloads_after_graph_update(tmp_path: Path) -> None:
    store = IndexStore.open(tmp_path / "index", create=True)
    first = shared_graph(store)

    assert shared_graph(store) is first
    update_graph(store, [], [], full=True)
    assert shared_graph(store) is not first
    store.close()


def test_find_paths_open_ends_skip_file_nodes() -> None:
    # a has two edges of confidence 1, so each carries 0.8 * 1/2 = 0.4.
    edges = [
        _edge("f.py::a", "g.py::b"),
        _edge("f.py", "f.py::a", edge_type="contains"),
        _edge("f.py", "f.py::c", edge_type="contains"),
    ]

    paths = find_paths(PathGraph(edges), ["f.py::a"], alpha=0.8, threshold=0.0, max_paths=15, open_ends=True)

    assert _summary(paths) == [(("f.py::a", "g.py::b"), 0.4)]
    assert find_paths(PathGraph(edges), ["f.py::a"], alpha=0.8, threshold=0.0, max_paths=15) == []


SHOP_DIR = Path(__file__).resolve().parent.parent / "data" / "graph" / "python" / "shop"


def test_add_neighbors_adds_one_compact_definition_per_new_file(tmp_path: Path) -> None:
    store = IndexStore.open(tmp_path / "index", create=True)
    store.set_meta(MODEL_ID_KEY, "test")
    paths = ["shop/__init__.py", "shop/models.py", "shop/service.py"]
    with store.transaction():
        for path in paths:
            source = (SHOP_DIR.parent / path).read_bytes()
            chunks, symbols = chunk_file(path, "python", source, 120)
            store.replace_file(FileRecord(path, "x", 0, len(source), "python"), chunks, symbols, np.zeros((len(chunks), 1), dtype=np.float32))
            store_file_facts(store, path, source, symbols)
    update_graph(store, paths, [])
    checkout = next(chunk for chunk in store.chunks(range(1, 100)).values() if chunk.symbol == "checkout")
    start = RetrievedChunk(Hit(1, 1.0), checkout)
    packed = pack_paths([], ["shop/service.py::checkout"], {"shop/service.py::checkout": start}, {}, 1000, _words)
    neighbors = find_paths(shared_graph(store), ["shop/service.py::checkout"], 0.8, 0.0, 50, open_ends=True)

    grown = add_neighbors(packed, neighbors, GraphLookup(store), 1000, _words)
    unchanged = add_neighbors(packed, neighbors, GraphLookup(store), packed.context.tokens + 3, _words)
    store.close()

    added = grown.context.used[1:]
    assert [item.chunk.path for item in added] == ["shop/models.py"]
    assert grown.context.text.startswith("# Path: `checkout` ")
    assert grown.context.tokens <= 1000
    assert len(grown.paths) == 1
    assert unchanged == packed


def test_pathrag_ask_end_to_end_restores_chunk_caches(indexed_stdlib: Assistant, stdlib_repo: Path) -> None:
    # The real index of json, email and asyncio, the real graph, embedder and model.
    settings = Settings(retrieval=RetrievalSettings(mode=RetrievalMode.PATHRAG), ask=AskSettings(max_tokens=16))
    assistant = Assistant(stdlib_repo, settings)
    question = "What does json.loads call to decode a JSON document?"
    try:
        prompt = assistant.prepare_ask(question)
        assert prompt.paths, "PathRAG found no path"
        assert prompt.context.tokens <= settings.ask.context_tokens
        assert prompt.parts is not None
        chunk_parts = [part for part in prompt.parts.parts if part.source_path is not None]
        assert chunk_parts, "path contexts must mark their chunks, so their KV caches are restored"
        assert prompt.context.text in "".join(part.text for part in prompt.parts.parts)

        generator = assistant.generator()
        assert isinstance(generator, LlamaGenerator)
        answers = []
        for _ in range(2):
            # Without the cached sequence of the first ask, the second must restore chunks.
            generator.clear_cached_sequences()
            stream = assistant.ask(question)
            answers.append("".join(stream.tokens))
            assert any(source.path.startswith("json/") for source in stream.sources)
        assert generator.last_prefill is not None
        # The second ask restores every chunk that the first one stored.
        assert generator.last_prefill.restored_chunks >= 1
        assert generator.last_prefill.built_chunks == 0
        assert answers[0].strip()
    finally:
        assistant.close()
