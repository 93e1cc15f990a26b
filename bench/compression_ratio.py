"""Measure how close compression gets to the requested ratio on real code chunks.

    python bench/compression_ratio.py [--chunks 200] [--min-tokens 100] [--json OUT] [--show-misses 5]

Chunks come from indexer chunking of real files found on the benchmark machine. Python comes
from the standard library (json, email, asyncio) and JavaScript from npm's own sources.
TypeScript comes from the packages in the VS Code extension's node_modules, and Go and Rust from
the few example files that git and rustup install as documentation. That machine had no Java
or TSX sources. A chunk is a hit when its achieved ratio is
at most the requested one and within 5% of it (relative). Chunks shorter than `--min-tokens`
are reported apart, because there one token is already more than 5% of 0.3 of the chunk.
Only the tokenizer of Gemma 3 270M is used, no model evaluation.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.compress import compress, load_priorities
from assistant.config import ModelSettings
from assistant.model import load_generator
from indexer.chunks import chunk_file
from indexer.types import Chunk

STDLIB_DIR = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
REPOSITORY = Path(__file__).resolve().parents[1]
SOURCES: dict[str, list[tuple[Path, str]]] = {
    "python": [(STDLIB_DIR / package, "*.py") for package in ("json", "email", "asyncio")],
    "javascript": [(Path("/usr/lib/node_modules/npm"), "*.js")],
    "typescript": [(REPOSITORY / "lsp" / "vscode" / "node_modules", "*.ts")],
    "go": [(Path("/usr/share/doc/git/contrib"), "*.go")],
    "rust": [(Path("/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc"), "*.rs")],
}
RATIOS = (0.3, 0.5, 0.7)
TOLERANCE = 0.05
MAX_CHUNK_LINES = 120
SEED = 20261208


def real_chunks(language: str, count: int, min_tokens: int, count_tokens: Callable[[str], int]) -> list[Chunk]:
    """Sample up to `count` chunks of at least `min_tokens` tokens, deterministically."""
    chunks: list[Chunk] = []
    for root, pattern in SOURCES[language]:
        for path in sorted(root.rglob(pattern)):
            if path.name.endswith(".d.ts") or "/test" in str(path) or not path.is_file():
                continue
            found, _ = chunk_file(str(path), language, path.read_bytes(), MAX_CHUNK_LINES)
            chunks.extend(chunk for chunk in found if chunk.text.strip())
    random.Random(SEED).shuffle(chunks)
    sized = [chunk for chunk in chunks if count_tokens(chunk.text) >= min_tokens] if min_tokens else chunks
    return sized[:count]


def measure(language: str, chunks: list[Chunk], count_tokens: Callable[[str], int], show_misses: int) -> dict[str, object]:
    """Compress every chunk at every ratio with the ask priorities and count the hits."""
    priorities = load_priorities("ask")
    rows: dict[str, object] = {"chunks": len(chunks)}
    tokens_total, seconds = 0, 0.0
    for ratio in RATIOS:
        hits, errors, misses = 0, [], []
        for chunk in chunks:
            started = time.perf_counter()
            result = compress(chunk.text, language, count_tokens, priorities, ratio=ratio)
            seconds += time.perf_counter() - started
            tokens_total += result.original_tokens
            error = (ratio - result.ratio) / ratio
            errors.append(error)
            if result.ratio <= ratio and error <= TOLERANCE:
                hits += 1
            else:
                misses.append((error, chunk, result))
        rows[str(ratio)] = {
            "within_5_percent": round(hits / len(chunks), 4) if chunks else None,
            "median_shortfall": round(statistics.median(errors), 4) if errors else None,
            "max_shortfall": round(max(errors), 4) if errors else None,
        }
        for error, chunk, result in sorted(misses, key=lambda item: -item[0])[:show_misses]:
            print(f"--- {language} @{ratio}: {chunk.path}:{chunk.start_line} shortfall {error:.3f} "
                  f"({result.original_tokens} -> {result.tokens}, removed {result.removed_units}, "
                  f"{result.truncated_lines} lines dropped)", file=sys.stderr)
    rows["tokens_per_s"] = round(tokens_total / seconds, 1) if seconds else None
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=200, help="chunks per language (default: 200)")
    parser.add_argument("--min-tokens", type=int, default=100, help="smallest chunk in the main sample (default: 100)")
    parser.add_argument("--languages", nargs="*", default=list(SOURCES))
    parser.add_argument("--show-misses", type=int, default=0, help="print this many worst misses per ratio to stderr")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    generator = load_generator(ModelSettings(n_threads=1, n_ctx=512))
    count = generator.count_tokens
    results: dict[str, dict[str, object]] = {}
    for language in args.languages:
        large = real_chunks(language, args.chunks, args.min_tokens, count)
        small = [chunk for chunk in real_chunks(language, 10 * args.chunks, 0, count) if count(chunk.text) < args.min_tokens]
        results[language] = {
            f"at least {args.min_tokens} tokens": measure(language, large, count, args.show_misses),
            f"under {args.min_tokens} tokens": measure(language, small[: args.chunks], count, 0),
        }
        print(json.dumps({language: results[language]}), flush=True)
    generator.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
