"""Measure the code graph on the standard library: call resolution, build time and path search latency.

    python bench/bench_graph.py --accuracy                 # call resolution counts and sample precision
    python bench/bench_graph.py --write-sample             # draw the call sample to check by hand
    python bench/bench_graph.py --sizes                    # build time and path latency at 3 sizes

The indexes hold chunks, symbols and graph facts with stand-in vectors, because embedding the
whole standard library takes hours on a CPU. So path search takes its start nodes from lexical
retrieval alone. The 31 questions of bench/data/pathrag_dev.jsonl are asked at every size,
because each size contains the json, email and asyncio packages they are about.
"""

from __future__ import annotations

import argparse
import builtins
import hashlib
import json
import logging
import random
import statistics
import sys
import sysconfig
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.config import ModelSettings, PathRagSettings, RetrievalSettings
from assistant.context import pack_context
from assistant.model import load_generator
from assistant.path_context import PathRetriever
from assistant.retrieval import HybridRetriever
from indexer import graph_store
from indexer.chunks import chunk_file
from indexer.graph import store_file_facts, update_graph
from indexer.graph_facts import ATTRIBUTE_REF, EXPRESSION_RECEIVER, RefFact
from indexer.graph_resolve import (
    FALLBACK_CONFIDENCE,
    PYTHON_BUILTIN_METHODS,
    SCOPE_CONFIDENCE,
    Resolver,
)
from indexer.store import MODEL_ID_KEY, FileRecord, IndexStore

logger = logging.getLogger("bench.graph")

STDLIB = Path(sysconfig.get_paths()["stdlib"])
DATA_DIR = Path(__file__).resolve().parent / "data"
SAMPLE_PATH = DATA_DIR / "pathrag_call_sample.jsonl"
DEV_SET = DATA_DIR / "pathrag_dev.jsonl"
SAMPLE_SEED = 20261205
SAMPLE_RESOLVED = 40
SAMPLE_BY_NAME = 15
TEST_FOLDERS = frozenset({"test", "tests", "idle_test"})
SMALL_PACKAGES = ("json", "email", "asyncio")
MAX_CHUNK_LINES = 120


def stdlib_files(include_tests: bool, packages: tuple[str, ...] = ()) -> list[Path]:
    """Return the standard library's Python files without site-packages, optionally only some packages or no tests."""
    roots = [STDLIB / name for name in packages] or [STDLIB]
    files = sorted({path for root in roots for path in root.rglob("*.py") if "site-packages" not in path.parts})
    if include_tests:
        return files
    return [path for path in files if not TEST_FOLDERS & set(path.relative_to(STDLIB).parts)]


def build_graph_index(root: Path, files: list[Path], index_dir: Path) -> tuple[IndexStore, float]:
    """Store chunks, symbols and graph facts with stand-in vectors; return the store and the seconds taken.

    The graph edges are not built yet: call `update_graph` and time it on its own.
    """
    store = IndexStore.open(index_dir, create=True)
    store.set_meta(MODEL_ID_KEY, "none")
    started = time.perf_counter()
    with store.transaction():
        for file_path in files:
            relative = file_path.relative_to(root).as_posix()
            source = file_path.read_bytes()
            try:
                chunks, symbols = chunk_file(relative, "python", source, MAX_CHUNK_LINES)
            except (ValueError, RecursionError):
                logger.warning("skipped %s: chunking failed", relative)
                continue
            record = FileRecord(relative, hashlib.sha256(source).hexdigest(), 0, len(source), "python")
            store.replace_file(record, chunks, symbols, np.zeros((len(chunks), 1), dtype=np.float32))
            store_file_facts(store, relative, source, symbols)
    return store, time.perf_counter() - started


@dataclass(frozen=True)
class CallSite:
    """One call of the standard library with what resolution made of it."""

    fact: RefFact
    targets: tuple[tuple[str, float], ...]
    outcome: str


def classify_calls(store: IndexStore) -> list[CallSite]:
    """Resolve every call fact as a graph update does, and name the outcome of each."""
    with store.connection() as connection:
        files = graph_store.load_files(connection)
        defs = graph_store.load_defs(connection)
        facts = graph_store.load_refs(connection, ("import", "inherits", "call", ATTRIBUTE_REF), None)
    by_path: dict[str, list[RefFact]] = defaultdict(list)
    for fact in facts:
        by_path[fact.path].append(fact)
    resolver = Resolver(files, defs)
    for path, language in files.items():
        resolver.bind_imports(path, language, by_path[path])
    for path in files:
        resolver.resolve_bases(path, by_path[path])

    sites = []
    for path in files:
        for fact, found in resolver.resolve_calls(path, by_path[path]):
            targets = tuple(found)
            sites.append(CallSite(fact, targets, _outcome(fact, targets)))
    return sites


def _outcome(fact: RefFact, targets: tuple[tuple[str, float], ...]) -> str:
    if targets:
        confidence = targets[0][1]
        if confidence <= FALLBACK_CONFIDENCE:
            return "resolved by name only"
        return "resolved in scope" if confidence == SCOPE_CONFIDENCE else "resolved through imports or base classes"
    if fact.receiver is None:
        return "unresolved: builtin function" if hasattr(builtins, fact.name) else "unresolved: other bare name"
    if fact.receiver == EXPRESSION_RECEIVER:
        return "unresolved: call on an expression"
    if fact.name in PYTHON_BUILTIN_METHODS:
        return "unresolved: builtin-type method name"
    return "unresolved: other receiver"


def print_accuracy(sites: list[CallSite], sample_path: Path) -> None:
    """Print how many calls each outcome got, and the precision of the checked sample."""
    counts = Counter(site.outcome for site in sites)
    total = len(sites)
    print(f"{total} call sites")
    for outcome, count in sorted(counts.items()):
        print(f"  {outcome}: {count} ({count / total:.1%})")
    resolved = sum(count for outcome, count in counts.items() if outcome.startswith("resolved"))
    print(f"  resolved in total: {resolved} ({resolved / total:.1%})")

    if not sample_path.exists():
        return
    rows = [json.loads(line) for line in sample_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for group in ("scope or imports", "by name"):
        checked = [row for row in rows if row["group"] == group and row["verdict"] in ("right", "wrong")]
        right = sum(row["verdict"] == "right" for row in checked)
        if checked:
            print(f"sample, {group}: {right} of {len(checked)} right ({right / len(checked):.0%})")


def write_sample(sites: list[CallSite], sample_path: Path) -> None:
    """Draw resolved calls to check by hand: most from scope and imports, some from by-name resolution."""
    rng = random.Random(SAMPLE_SEED)
    by_name = [site for site in sites if site.outcome == "resolved by name only"]
    certain = [site for site in sites if site.outcome in ("resolved in scope", "resolved through imports or base classes")]
    rows = []
    for group, drawn in (("scope or imports", rng.sample(certain, SAMPLE_RESOLVED)), ("by name", rng.sample(by_name, SAMPLE_BY_NAME))):
        for site in drawn:
            line = (STDLIB / site.fact.path).read_text(encoding="utf-8", errors="replace").split("\n")[site.fact.lineno - 1]
            rows.append({
                "site": f"{site.fact.path}:{site.fact.lineno}", "code": line.strip(), "owner": site.fact.owner,
                "target": site.targets[0][0], "candidates": len(site.targets), "confidence": round(site.targets[0][1], 3),
                "group": group, "verdict": "", "note": "",
            })
    sample_path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    print(f"wrote {len(rows)} calls to {sample_path}; fill in verdict (right/wrong) and note by reading the code")


def measure_sizes() -> None:
    """Time the graph build and path search at three repository sizes and print a Markdown table."""
    questions = [json.loads(line)["question"] for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    generator = load_generator(ModelSettings(n_threads=1))
    count_tokens = generator.count_tokens
    sizes = (
        ("json + email + asyncio", stdlib_files(False, SMALL_PACKAGES)),
        ("standard library without tests", stdlib_files(False)),
        ("whole standard library", stdlib_files(True)),
    )
    print("| repository | files | chunk + facts s | full graph s | edges | edges/s | update after 1 file | graph load s |"
          " path context p50 / p95 ms | of it path search p50 / p95 ms | flat context p50 / p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, files in sizes:
        with tempfile.TemporaryDirectory() as folder:
            store, chunk_seconds = build_graph_index(STDLIB, files, Path(folder) / "index")
            full = update_graph(store, [], [], full=True)
            touched = next(f.relative_to(STDLIB).as_posix() for f in files if f.relative_to(STDLIB).as_posix() == "email/message.py")
            incremental = update_graph(store, [touched], [])
            latency = _path_latency(store, questions, count_tokens)
            store.close()
        print(f"| {label} | {len(files)} | {chunk_seconds:.1f} | {full.seconds:.2f} | {full.edges_total:,} |"
              f" {full.edges_total / full.seconds:,.0f} | {incremental.files_resolved} files, {incremental.seconds:.2f} s |"
              f" {latency['load']:.2f} | {latency['path']} | {latency['search']} | {latency['flat']} |", flush=True)
    generator.close()


def _path_latency(store: IndexStore, questions: list[str], count_tokens: Callable[[str], int]) -> dict[str, object]:
    """Time PathRAG context building (lexical start nodes) and flat packing for each question."""
    settings = PathRagSettings()
    retriever = HybridRetriever(store, None, None, RetrievalSettings())
    paths = PathRetriever(retriever, store, settings)
    started = time.perf_counter()
    paths.graph()
    load_seconds = time.perf_counter() - started
    budget = 1500

    path_ms, search_ms, flat_ms = [], [], []
    for question in questions:
        started = time.perf_counter()
        paths.build_context(question, budget, count_tokens)
        path_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        paths.search(question)
        search_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        pack_context(retriever.retrieve(question), budget, count_tokens)
        flat_ms.append((time.perf_counter() - started) * 1000)
    return {"load": load_seconds, "path": _p50_p95(path_ms), "search": _p50_p95(search_ms), "flat": _p50_p95(flat_ms)}


def _p50_p95(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} / {statistics.quantiles(values, n=20)[18]:.0f}"


def main() -> None:
    """Parse the command line and run the requested measurements."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accuracy", action="store_true", help="count resolved and unresolved calls, report sample precision")
    parser.add_argument("--write-sample", action="store_true", help=f"draw a new call sample into {SAMPLE_PATH.name}")
    parser.add_argument("--sizes", action="store_true", help="time graph build and path search at three sizes")
    parser.add_argument("--no-tests", action="store_true", help="leave the standard library's tests out of --accuracy")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    if args.accuracy or args.write_sample:
        with tempfile.TemporaryDirectory() as folder:
            store, _ = build_graph_index(STDLIB, stdlib_files(not args.no_tests), Path(folder) / "index")
            sites = classify_calls(store)
            store.close()
        if args.write_sample:
            write_sample(sites, SAMPLE_PATH)
        print_accuracy(sites, SAMPLE_PATH)
    if args.sizes:
        measure_sizes()


if __name__ == "__main__":
    main()
