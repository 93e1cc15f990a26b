"""Measure ragcoder's embedder on 256 real code chunks of the Python standard library.

Reports GGUF conversion time, load time, chunks per second, and the min/mean cosine to
sentence-transformers' vectors for the same weights. When sentence-transformers is not installed,
the cosine is taken against tests/data/embeddings/minilm_reference.npz instead. sentence-transformers
is a developer-only extra here (`pip install sentence-transformers`); ragcoder never imports it.

Usage: python bench/bench_embeddings.py [--chunks 256] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from assistant.config import EmbeddingSettings  # noqa: E402
from indexer.embedder import MiniLmEmbedder, shipped_model_dir  # noqa: E402
from indexer.gguf_convert import cached_conversion  # noqa: E402
from make_embedding_reference import DEFAULT_OUTPUT, evenly_spaced, stdlib_chunks  # noqa: E402

BENCH_PACKAGES = ("json", "email", "http", "logging", "asyncio", "importlib", "unittest", "xml")


def reference_vectors(texts: list[str]) -> tuple[str, list[str], npt.NDArray[np.float32], float | None]:
    """Return (source, texts, vectors, chunks/s) from sentence-transformers, or the stored file."""
    if importlib.util.find_spec("sentence_transformers") is None:
        with np.load(DEFAULT_OUTPUT) as data:
            return "stored reference file", [str(text) for text in data["texts"]], data["vectors"], None
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(shipped_model_dir()), device="cpu")
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
    rate = len(texts) / (time.perf_counter() - started)
    return "sentence-transformers", texts, np.asarray(vectors, dtype=np.float32), rate


def measure(threads: int, cache: Path, texts: list[str]) -> tuple[float, float, npt.NDArray[np.float32]]:
    """Return (load seconds, chunks/s, vectors) for one thread count, with a warm conversion cache."""
    os.environ["RAGCODER_CACHE_DIR"] = str(cache)
    started = time.perf_counter()
    embedder = MiniLmEmbedder(EmbeddingSettings(n_threads=threads))
    load_s = time.perf_counter() - started
    embedder.embed(texts[:4])
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    rate = len(texts) / (time.perf_counter() - started)
    embedder.close()
    return load_s, rate, vectors


def token_counts(texts: list[str]) -> list[int]:
    """Count word pieces (with [CLS] and [SEP]) before truncation, with the model's own tokenizer."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(shipped_model_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return [len(encoding.ids) for encoding in tokenizer.encode_batch(texts)]


def cosines_for(threads: int, cache: Path, texts: list[str], expected: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    os.environ["RAGCODER_CACHE_DIR"] = str(cache)
    embedder = MiniLmEmbedder(EmbeddingSettings(n_threads=threads))
    vectors = embedder.embed(texts)
    embedder.close()
    return (vectors * expected).sum(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=256, help="number of stdlib code chunks to embed")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts to measure")
    args = parser.parse_args()

    texts = evenly_spaced(list(stdlib_chunks(BENCH_PACKAGES, min_lines=5, max_lines=120)), args.chunks)
    counts = token_counts(texts)
    source, reference_texts, expected, reference_rate = reference_vectors(texts)

    with tempfile.TemporaryDirectory() as cache_name:
        cache = Path(cache_name)
        conversion = cached_conversion(shipped_model_dir(), cache, "all-MiniLM-L6-v2")
        size_mb = conversion.path.stat().st_size / 1e6
        rows = []
        for threads in args.threads:
            load_s, rate, vectors = measure(threads, cache, texts)
            if reference_texts is texts:
                cosines = (vectors * expected).sum(axis=1)
            else:
                cosines = cosines_for(threads, cache, reference_texts, expected)
            rows.append((threads, load_s, rate, cosines))

    print(f"python {platform.python_version()}, {os.cpu_count()} logical CPUs")
    print(
        f"{len(texts)} chunks from stdlib {', '.join(BENCH_PACKAGES)}: word pieces median "
        f"{statistics.median(counts):.0f}, mean {statistics.mean(counts):.0f}, "
        f"{sum(count > 256 for count in counts)} truncated to 256"
    )
    print(f"GGUF conversion (once per model version): {conversion.conversion_s:.2f} s, {size_mb:.1f} MB")
    print(f"cosine against: {source}")
    print()
    print("| runtime | threads | load s | chunks/s | min cosine | mean cosine |")
    print("|---|---|---|---|---|---|")
    for threads, load_s, rate, cosines in rows:
        print(f"| ragcoder, llama.cpp f16 | {threads} | {load_s:.2f} | {rate:.1f} | {cosines.min():.6f} | {cosines.mean():.6f} |")
    if reference_rate is not None:
        print(f"| sentence-transformers + torch | {torch_threads()} | - | {reference_rate:.1f} | 1 | 1 |")


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


if __name__ == "__main__":
    main()
