"""Build ask cases whose chunks come from real retrieval, in the order retrieval ranks them.

    python bench/compression_retrieved.py [--cases 120] [--repo /tmp/ragcoder-compression-stdlib] [--out FILE]

The cases of bench/compression_dev.py put the chunk with the answer first, second or third
about equally often, which no retriever does. Here, standard-library packages are copied into
`--repo`, indexed with ragcoder's own indexer and embedder, and each question (the same kinds as
the dev set: purpose, raised exception, parameter default) goes through `HybridRetriever` with
the shipped retrieval settings. The top 3 chunks are kept in their real order. A case counts
only when the function it asks about lies inside one of them; the others are counted in the
output as misses. The cases go to bench/data/compression_retrieved.json, which
bench/bench_compression.py reads with `--ask-set retrieved`, so scoring needs no index.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import shutil
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.config import EmbeddingSettings, Settings
from assistant.retrieval import Hit, HybridRetriever, RetrievedChunk
from bench.compression_dev import (
    CHUNKS_PER_QUESTION,
    SEED,
    STDLIB_DIR,
    AskCase,
    _functions,
    _question,
)
from indexer.build import index_dir_for, index_repository, load_vector_index
from indexer.embedder import load_embedder
from indexer.store import IndexStore
from indexer.types import Chunk

logger = logging.getLogger("bench.compression_retrieved")

PACKAGES = ("email", "http", "json", "logging", "urllib", "concurrent", "importlib")
CASES_PATH = Path(__file__).resolve().parent / "data" / "compression_retrieved.json"
KINDS = ("purpose", "raises", "default")


def copy_packages(repo: Path) -> None:
    """Copy the standard-library packages into `repo`, without bytecode."""
    repo.mkdir(parents=True, exist_ok=True)
    for name in PACKAGES:
        target = repo / name
        if not target.exists():
            shutil.copytree(STDLIB_DIR / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def build_cases(repo: Path, count: int) -> dict[str, object]:
    """Index `repo`, ask every question, and keep the retrieved order; returns the JSON record."""
    settings = Settings()
    settings.embedding = EmbeddingSettings(n_threads=1)
    summary = index_repository(repo, settings, lambda: load_embedder(settings.embedding))
    logger.info("index: %s", summary)
    index_dir = index_dir_for(repo, settings)
    store = IndexStore.open(index_dir, create=False)
    retriever = HybridRetriever(store, load_vector_index(store, index_dir), load_embedder(settings.embedding), settings.retrieval)

    functions = [
        (path, function)
        for path in sorted(repo.rglob("*.py"))
        if ".ragcoder" not in path.parts
        for function in _functions(path.read_text(encoding="utf-8"))
    ]
    random.Random(SEED).shuffle(functions)
    cases: list[dict[str, object]] = []
    misses = 0
    for path, function in functions:
        relative = path.relative_to(repo).as_posix()
        kind = KINDS[(len(cases) + misses) % len(KINDS)]
        question_answer = _question(kind, function, relative)
        if question_answer is None:
            continue
        question, answer = question_answer
        retrieved = retriever.retrieve(question, top_k=CHUNKS_PER_QUESTION)
        gold_rank = next(
            (
                rank for rank, item in enumerate(retrieved, start=1)
                if item.chunk.path == relative
                and item.chunk.start_line <= function.lineno
                and item.chunk.end_line >= (function.end_lineno or function.lineno)
            ),
            None,
        )
        if gold_rank is None:
            misses += 1
            continue
        cases.append({
            "case_id": f"{relative}:{function.name}:{kind}",
            "question": question,
            "answer": answer,
            "gold_rank": gold_rank,
            "chunks": [{"chunk_id": item.hit.chunk_id, "score": item.hit.score, **dataclasses.asdict(item.chunk)} for item in retrieved],
        })
        if len(cases) >= count:
            break
    store.close()
    ranks = Counter(int(str(case["gold_rank"])) for case in cases)
    return {
        "packages": list(PACKAGES),
        "python": STDLIB_DIR.name,
        "questions_asked": len(cases) + misses,
        "answer_not_in_top_3": misses,
        "gold_rank_counts": {str(rank): ranks[rank] for rank in sorted(ranks)},
        "cases": cases,
    }


def load_retrieved_cases(path: Path = CASES_PATH) -> list[AskCase]:
    """Read the cases that `build_cases` stored, with their chunks in retrieval order."""
    record = json.loads(path.read_text(encoding="utf-8"))
    cases: list[AskCase] = []
    for case in record["cases"]:
        chunks = []
        for data in case["chunks"]:
            fields = {name: value for name, value in data.items() if name not in ("chunk_id", "score")}
            chunks.append(RetrievedChunk(hit=Hit(chunk_id=data["chunk_id"], score=data["score"]), chunk=Chunk(**fields)))
        cases.append(AskCase(case["case_id"], case["question"], case["answer"], chunks))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=120, help="cases to keep at most (default: 120)")
    parser.add_argument("--repo", type=Path, default=Path("/tmp/ragcoder-compression-stdlib"), help="folder to copy the packages into and index")
    parser.add_argument("--out", type=Path, default=CASES_PATH, help="JSON file to write the cases to")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    copy_packages(args.repo)
    record = build_cases(args.repo, args.cases)
    args.out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    logger.info(
        "%d cases, answer ranks %s, %d of %d questions without the answer in the top 3",
        len(record["cases"]), record["gold_rank_counts"], record["answer_not_in_top_3"], record["questions_asked"],
    )


if __name__ == "__main__":
    main()
