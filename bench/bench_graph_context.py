"""Measure inline completion with and without code-graph context on the completion dev set.

Run it as below. On first use it builds an index of the standard library without its tests
(about 30 s). The index has stand-in vectors, because neither the graph nor lexical search
reads them.

    python bench/bench_graph_context.py [--index /tmp/ragcoder-stdlib-index] [--limit N]

Each case of bench/data/completion_dev.jsonl is completed with the default model and prompt
format under several contexts, all within `completion.context_tokens`:
- none: no retrieved context (what bench/dev_completion.py measures);
- flat: lexical top-k chunks of other files for the last lines before the cursor, as the
  assistant retrieves them when the index has no vectors;
- graph: `assistant.graph_context.graph_context` items;
- graph+flat: graph items first, flat chunks in what budget remains.
The table gives exact match and parse rate as in dev_completion.py, the context tokens, and the
time to build the context.

The file being completed is in the index as it was before the line was removed, so neither
context may read it from the index: flat retrieval excludes the file, and graph context reads
the file's own definitions from the open document only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import statistics
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.completion import DEFAULT_PROMPT_FORMAT, complete_at
from assistant.config import CompletionSettings, ModelSettings, RetrievalSettings
from assistant.context import Context, pack_context
from assistant.graph_context import graph_context
from assistant.model import load_generator
from assistant.retrieval import HybridRetriever, RetrievedChunk
from assistant.service import COMPLETION_QUERY_LINES, COMPLETION_TOP_K
from bench.dev_completion import DATA_PATH, normalise, parses
from indexer.chunks import chunk_file
from indexer.graph import store_file_facts, update_graph
from indexer.store import MODEL_ID_KEY, FileRecord, IndexStore

logger = logging.getLogger("bench.graph_context")

DEFAULT_INDEX = Path("/tmp/ragcoder-stdlib-index")
MODES = ("none", "flat", "graph", "graph+flat")
TEST_FOLDERS = frozenset({"test", "tests", "idle_test"})
MAX_CHUNK_LINES = 120


def stdlib_files(stdlib: Path, include_tests: bool) -> list[Path]:
    """Return the standard library's Python files, without site-packages and optionally without tests."""
    files = sorted(path for path in stdlib.rglob("*.py") if "site-packages" not in path.parts)
    if include_tests:
        return files
    return [path for path in files if not TEST_FOLDERS & set(path.relative_to(stdlib).parts)]


def build_graph_index(root: Path, files: list[Path], index_dir: Path) -> IndexStore:
    """Store chunks, symbols and graph facts of `files` with stand-in vectors, then build the graph."""
    store = IndexStore.open(index_dir, create=True)
    store.set_meta(MODEL_ID_KEY, "none")
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
    update_graph(store, [], [], full=True)
    return store


def open_index(index_dir: Path) -> IndexStore:
    """Open the benchmark index, building it from the standard library when it is missing."""
    if (index_dir / "index.sqlite").exists():
        return IndexStore.open(index_dir)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    started = time.perf_counter()
    store = build_graph_index(stdlib, stdlib_files(stdlib, include_tests=False), index_dir)
    print(f"built {index_dir} in {time.perf_counter() - started:.1f}s", flush=True)
    return store


def build_context(
    mode: str,
    case: dict[str, str],
    store: IndexStore,
    retriever: HybridRetriever,
    budget_tokens: int,
    count_tokens: Callable[[str], int],
) -> Context:
    """Build the context of one case in one mode, wired as the assistant would wire it."""
    items: list[RetrievedChunk] = []
    if mode in ("graph", "graph+flat"):
        items += graph_context(store, case["path"], case["prefix"], case["suffix"], "python", budget_tokens, count_tokens)
    if mode in ("flat", "graph+flat"):
        query = "\n".join(case["prefix"].splitlines()[-COMPLETION_QUERY_LINES:])
        items += retriever.retrieve(query, top_k=COMPLETION_TOP_K, exclude_path=case["path"])
    return pack_context(items, budget_tokens, count_tokens, "#")


def run(cases: list[dict[str, str]], store: IndexStore, modes: list[str]) -> None:
    """Complete every case in every mode and print one Markdown row per mode."""
    settings = CompletionSettings()
    generator = load_generator(ModelSettings(n_threads=1))
    generator.vocabulary_index()
    retriever = HybridRetriever(store, None, None, RetrievalSettings())
    print("| context | exact | first line exact | parses | empty | context tokens | context p50 / p95 ms | completion p50 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for mode in modes:
        exact = first_line = parsed = empty = 0
        tokens: list[int] = []
        context_ms: list[float] = []
        completion_ms: list[float] = []
        for case in cases:
            started = time.perf_counter()
            context = build_context(mode, case, store, retriever, settings.context_tokens, generator.count_tokens)
            context_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            completion = complete_at(
                case["prefix"], case["suffix"], context, generator, settings,
                prompt_format=DEFAULT_PROMPT_FORMAT, language="python",
            )
            completion_ms.append((time.perf_counter() - started) * 1000)
            tokens.append(context.tokens)
            expected = normalise(case["expected"])
            exact += normalise(completion) == expected
            first_line += normalise(completion.split("\n")[0]) == expected
            parsed += parses(case["prefix"] + completion + case["suffix"])
            empty += not completion
            logger.debug("%s %s: %r (expected %r)", mode, case["id"], completion, case["expected"])
        count = len(cases)
        p95 = statistics.quantiles(context_ms, n=20)[18]
        print(
            f"| {mode} | {exact / count:.2f} | {first_line / count:.2f} | {parsed / count:.2f} | {empty / count:.2f}"
            f" | {statistics.fmean(tokens):.0f} | {statistics.median(context_ms):.1f} / {p95:.1f}"
            f" | {statistics.median(completion_ms):.0f} |",
            flush=True,
        )
    generator.close()


def main() -> None:
    """Parse the command line, open or build the index and run the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="index folder; built when missing")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES, help="contexts to compare")
    parser.add_argument("--limit", type=int, default=0, help="run only the first N cases (0: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every completion")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.verbose:
        logger.setLevel(logging.DEBUG)

    cases = [json.loads(line) for line in DATA_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    cases = cases[: args.limit] if args.limit else cases
    store = open_index(args.index)
    print(f"{len(cases)} cases, index {args.index} ({store.file_count()} files)")
    run(cases, store, args.modes)
    store.close()


if __name__ == "__main__":
    main()
