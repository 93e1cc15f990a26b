"""Compare flat hybrid top-k context with PathRAG paths on a dev set, and time the code graph.

Run (the repository must be indexed first, e.g. a copy of the standard library's json, email
and asyncio packages):

    python bench/bench_pathrag.py --repo /tmp/stdrepo
    python bench/bench_pathrag.py --repo /tmp/stdrepo --grid          # tune alpha, threshold, N, K
    python bench/bench_pathrag.py --graph-sizes                        # graph build on 3 repo sizes

Recall counts a ground-truth symbol as found when a chunk of that definition is in the
packed context, and a file when any chunk of it is. Both modes get the same token budget,
counted with the language model's own tokenizer.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import shutil
import statistics
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import PathRagSettings, Settings, load_repository_settings, merge
from assistant.context import Context, pack_context
from assistant.path_context import PathRetriever, node_key_of, pack_paths, start_resources
from assistant.pathrag import find_paths
from assistant.service import Assistant
from indexer.chunks import chunk_file
from indexer.graph import store_file_facts, update_graph
from indexer.parse import language_for_path
from indexer.store import MODEL_ID_KEY, FileRecord, IndexStore

DEV_SET = Path(__file__).resolve().parent / "data" / "pathrag_dev.jsonl"
GRID = {
    "alpha": [0.6, 0.8, 1.0],
    "threshold": [0.0, 0.1, 0.3],
    "start_nodes": [5, 10, 20],
    "max_paths": [5, 15, 30],
    "lone_node_weight": [0.3, 0.6, 1.0],
}


def context_keys(context: Context) -> tuple[set[str], set[str]]:
    """Return the definition node keys and the files present in a packed context."""
    nodes = {node_key_of(i.chunk.path, i.chunk.symbol, i.chunk.chunk_type) for i in context.used}
    return nodes, {i.chunk.path for i in context.used}


def score(question: dict[str, Any], context: Context) -> dict[str, float]:
    """Return symbol recall, symbol hit (any symbol found), file recall and tokens of one context."""
    nodes, files = context_keys(context)
    found = [key for key in question["symbols"] if key in nodes]
    return {
        "symbol_recall": len(found) / len(question["symbols"]),
        "symbol_hit": float(bool(found)),
        "file_recall": len(set(question["files"]) & files) / len(question["files"]),
        "tokens": float(context.tokens),
    }


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Average each metric over the questions."""
    return {key: statistics.fmean(row[key] for row in rows) for key in rows[0]}


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) of the values."""
    return float(np.percentile(np.array(values), q))


def compare(repo: Path, questions: list[dict[str, Any]], settings: Settings, budget: int) -> None:
    """Print flat top-k against PathRAG side by side, with per-question rows and latencies."""
    assistant = Assistant(repo, settings)
    retriever = assistant.retriever()
    count = assistant.generator().count_tokens
    store = IndexStore.open(assistant.index_dir)
    paths = PathRetriever(retriever, store, settings.pathrag)
    started = time.perf_counter()
    paths.graph()
    print(f"graph load: {time.perf_counter() - started:.2f}s")

    flat_rows, path_rows, flat_ms, path_ms, search_ms = [], [], [], [], []
    print(f"{'question':28} {'flat sym':>8} {'path sym':>8} {'flat tok':>8} {'path tok':>8} paths")
    for question in questions:
        started = time.perf_counter()
        flat = pack_context(retriever.retrieve(question["question"]), budget, count)
        flat_ms.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        built = paths.build_context(question["question"], budget, count)
        path_ms.append((time.perf_counter() - started) * 1000)
        search_ms.append(_search_ms(paths, question["question"], settings.pathrag))

        flat_rows.append(score(question, flat))
        path_rows.append(score(question, built.context))
        print(f"{question['id']:28} {flat_rows[-1]['symbol_recall']:8.2f} {path_rows[-1]['symbol_recall']:8.2f}"
              f" {flat.tokens:8d} {built.context.tokens:8d} {len(built.paths)}")

    print(f"\nbudget {budget} tokens, {len(questions)} questions, settings {dataclasses.asdict(settings.pathrag)}")
    print(f"{'mode':10} {'sym recall':>10} {'sym hit':>8} {'file recall':>11} {'tokens':>7} {'p50 ms':>7} {'p95 ms':>7}")
    for name, rows, times in (("flat", flat_rows, flat_ms), ("pathrag", path_rows, path_ms)):
        means = mean_scores(rows)
        print(f"{name:10} {means['symbol_recall']:10.3f} {means['symbol_hit']:8.3f} {means['file_recall']:11.3f}"
              f" {means['tokens']:7.0f} {percentile(times, 50):7.1f} {percentile(times, 95):7.1f}")
    print(f"path search alone (start nodes + find_paths): p50 {percentile(search_ms, 50):.1f} ms,"
          f" p95 {percentile(search_ms, 95):.1f} ms")
    store.close()


def _search_ms(paths: PathRetriever, query: str, settings: PathRagSettings) -> float:
    started = time.perf_counter()
    starts, _ = paths.start_nodes(query)
    find_paths(paths.graph(), starts, settings.alpha, settings.threshold, settings.max_paths)
    return (time.perf_counter() - started) * 1000


def tune(repo: Path, questions: list[dict[str, Any]], settings: Settings, budget: int) -> None:
    """Score every grid point on the dev set and print the best ones (start nodes cached per N)."""
    assistant = Assistant(repo, settings)
    count = assistant.generator().count_tokens
    store = IndexStore.open(assistant.index_dir)
    retriever = PathRetriever(assistant.retriever(), store, settings.pathrag)
    graph = retriever.graph()
    token_cache: dict[str, int] = {}

    def cached_count(text: str) -> int:
        if text not in token_cache:
            token_cache[text] = count(text)
        return token_cache[text]

    starts_by_n: dict[int, list[tuple[list[str], dict[str, Any]]]] = {}
    for n in GRID["start_nodes"]:
        tuned = PathRetriever(assistant.retriever(), store, dataclasses.replace(settings.pathrag, start_nodes=n))
        starts_by_n[n] = [tuned.start_nodes(q["question"]) for q in questions]

    results = []
    for alpha, threshold, n, k, weight in itertools.product(*GRID.values()):
        rows = []
        for question, (starts, retrieved) in zip(questions, starts_by_n[n]):
            resources = start_resources(retrieved)
            found = find_paths(graph, starts, alpha, threshold, k, resources)
            code = retriever.node_code({node for path in found for node in path.nodes}, retrieved)
            priority = {node: weight * value for node, value in resources.items()}
            packed = pack_paths(found, starts, retrieved, code, budget, cached_count, priority)
            rows.append(score(question, packed.context))
        results.append((mean_scores(rows), alpha, threshold, n, k, weight))
    results.sort(key=lambda item: (-item[0]["symbol_recall"], -item[0]["file_recall"], item[0]["tokens"]))
    print(f"{'alpha':>5} {'theta':>5} {'N':>3} {'K':>3} {'lone':>5} {'sym recall':>10} {'sym hit':>8} {'file recall':>11} {'tokens':>7}")
    for means, alpha, threshold, n, k, weight in results[:15]:
        print(f"{alpha:5.2f} {threshold:5.2f} {n:3d} {k:3d} {weight:5.2f} {means['symbol_recall']:10.3f} {means['symbol_hit']:8.3f}"
              f" {means['file_recall']:11.3f} {means['tokens']:7.0f}")
    store.close()


def graph_sizes() -> None:
    """Build the graph alone (stand-in vectors) for three sizes of the standard library and time it."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sizes = {
        "json+email+asyncio": [stdlib / name for name in ("json", "email", "asyncio")],
        "stdlib without tests": [stdlib],
        "whole stdlib": [stdlib],
    }
    for label, roots in sizes.items():
        files = sorted({p for root in roots for p in root.rglob("*.py") if "site-packages" not in p.parts})
        if label == "stdlib without tests":
            files = [p for p in files if not {"test", "tests", "idle_test"} & set(p.relative_to(stdlib).parts)]
        with tempfile.TemporaryDirectory() as folder:
            _time_graph(label, stdlib, files, Path(folder))


def _time_graph(label: str, stdlib: Path, files: list[Path], folder: Path) -> None:
    store = IndexStore.open(folder / "index", create=True)
    store.set_meta(MODEL_ID_KEY, "none")
    started = time.perf_counter()
    with store.transaction():
        for file_path in files:
            relative = file_path.relative_to(stdlib).as_posix()
            source = file_path.read_bytes()
            try:
                chunks, symbols = chunk_file(relative, "python", source, 120)
            except (ValueError, RecursionError):
                continue
            record = FileRecord(relative, hashlib.sha256(source).hexdigest(), 0, len(source), "python")
            store.replace_file(record, chunks, symbols, np.zeros((len(chunks), 1), dtype=np.float32))
            store_file_facts(store, relative, source, symbols)
    chunk_seconds = time.perf_counter() - started
    full = update_graph(store, [], [], full=True)

    touched = next(f.relative_to(stdlib).as_posix() for f in files if f.name == "message.py")
    incremental = update_graph(store, [touched], [])
    print(f"{label}: {len(files)} files, chunk+facts {chunk_seconds:.1f}s; full graph {full.seconds:.2f}s,"
          f" {full.edges_total} edges, {full.edges_total / full.seconds:,.0f} edges/s;"
          f" update after one file ({touched}) re-resolved {incremental.files_resolved} files in {incremental.seconds:.2f}s")
    store.close()
    shutil.rmtree(folder / "index", ignore_errors=True)


def main() -> None:
    """Parse the command line and run the requested measurements."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, help="indexed repository the dev set is about")
    parser.add_argument("--dev", type=Path, default=DEV_SET, help="dev set, one JSON question per line")
    parser.add_argument("--budget", type=int, default=Settings().ask.context_tokens, help="context budget in tokens")
    parser.add_argument("--grid", action="store_true", help="tune alpha, threshold, start nodes and path count")
    parser.add_argument("--graph-sizes", action="store_true", help="time graph builds on three standard-library sizes")
    args = parser.parse_args()

    if args.graph_sizes:
        graph_sizes()
    if args.repo is None:
        return
    questions = [json.loads(line) for line in args.dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    settings = merge(load_repository_settings(args.repo), {"model": {"n_threads": 1}, "embedding": {"n_threads": 1}}, "bench")
    if args.grid:
        tune(args.repo, questions, settings, args.budget)
    else:
        compare(args.repo, questions, settings, args.budget)


if __name__ == "__main__":
    main()
