"""Measure chunk KV caches (TurboRAG) and KV reuse between keystrokes, side by side in one run.

Part 1, per model: time to first token with full prefill versus restored chunk KV caches at 2, 4,
8 and 16 retrieved chunks of about 256 tokens (standard-library definitions). It also prints the
first-token KL divergence and top-1 agreement between the two, KV bytes per token on disk, restore
time per chunk and precompute throughput.

Part 2: a typing replay over a real file (json/decoder.py of the standard library, indexed
with json): completion latency per keystroke with the document's cached sequence reused, and
with every cached sequence dropped before each keystroke.

Run: python bench/bench_turbo.py [--models gemma3-270m smollm2-135m] [--chunks 2 4 8 16]
     [--repeats 3] [--kv-type f16] [--keystrokes 40]
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_turbo_quality import kl_divergence  # noqa: E402

from assistant.config import DefaultModel, KvCacheType, ModelSettings, Settings  # noqa: E402
from assistant.context import CHUNK_SEPARATOR  # noqa: E402
from assistant.model import LlamaGenerator, load_generator  # noqa: E402
from assistant.prompt_parts import PromptPart, PromptParts  # noqa: E402
from assistant.results import CompletionRequest  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from indexer.kv_store import open_kv_store  # noqa: E402

SOURCE_PACKAGES = ("json", "email", "asyncio")
MIN_CHUNK_TOKENS = 200
MAX_CHUNK_TOKENS = 320
HEADER = PromptPart("You are a careful programming assistant. Answer using the code below.\n\nCode from the repository:\n\n")
QUESTION = "Question: which function handles the case described above, and what does it return?\nAnswer:"


def stdlib_chunks(generator: LlamaGenerator, count: int) -> list[PromptPart]:
    """Render top-level definitions of json, email and asyncio whose size is near 256 tokens."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts: list[PromptPart] = []
    for package in SOURCE_PACKAGES:
        for path in sorted((stdlib / package).glob("*.py")):
            source = path.read_text(encoding="utf-8")
            lines = source.splitlines(keepends=True)
            for node in ast.parse(source).body:
                if not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
                    continue
                relative = f"{package}/{path.name}"
                assert node.end_lineno is not None
                body = "".join(lines[node.lineno - 1 : node.end_lineno]).rstrip()
                text = f"# {relative}:{node.lineno}-{node.end_lineno} ({node.name})\n{body}\n{CHUNK_SEPARATOR}"
                if MIN_CHUNK_TOKENS <= generator.count_tokens(text) <= MAX_CHUNK_TOKENS:
                    parts.append(PromptPart(text, source_path=relative))
                if len(parts) == count:
                    return parts
    raise SystemExit(f"found only {len(parts)} chunks of {MIN_CHUNK_TOKENS}-{MAX_CHUNK_TOKENS} tokens")


def time_to_first_token(generator: LlamaGenerator, prompt: PromptParts, cache_key: str) -> float:
    started = time.perf_counter()
    pieces = generator.generate(prompt, 4, 0.0, [], cache_key=cache_key)
    try:
        next(pieces, None)
    finally:
        pieces.close()
    return time.perf_counter() - started


def measure_model(model: DefaultModel, counts: list[int], repeats: int, kv_type: KvCacheType, threads: int) -> None:
    settings = ModelSettings(default=model, n_ctx=8192, cache_slots=2, kv_cache_type=kv_type, n_threads=threads)
    store_dir = Path(tempfile.mkdtemp(prefix="ragcoder-kv-"))
    with load_generator(settings) as generator:
        store = open_kv_store(store_dir, 8192)
        generator.attach_chunk_store(store)
        chunks = stdlib_chunks(generator, max(counts))
        chunk_tokens = sum(generator.count_tokens(part.text) for part in chunks)

        started = time.perf_counter()
        built = generator.precompute_chunks(chunks)
        precompute_s = time.perf_counter() - started
        bytes_per_token = store.size_bytes() / chunk_tokens
        print(f"\n## {model.value}, KV {kv_type.value}, {threads} threads")
        print(f"precompute: {built} chunks ({chunk_tokens} tokens) in {precompute_s:.1f} s = {built / precompute_s:.2f} chunks/s")
        print(f"KV on disk: {bytes_per_token / 1024:.1f} KiB per token, {store.size_bytes() / built / 1e6:.2f} MB per chunk")

        print("| chunks | prompt tokens | full prefill TTFT s | turbo TTFT s | speedup | first-token KL | top-1 same |")
        print("|---|---|---|---|---|---|---|")
        for count in counts:
            prompt = PromptParts((HEADER, *chunks[:count], PromptPart(QUESTION)))
            full_times: list[float] = []
            turbo_times: list[float] = []
            restore_s: list[float] = []
            for repeat in range(repeats):
                # Interleaved, with fresh cache keys, so neither side reuses a cached sequence.
                full_times.append(time_to_first_token(generator, prompt.without_chunk_cache(), f"full-{count}-{repeat}"))
                turbo_times.append(time_to_first_token(generator, prompt, f"turbo-{count}-{repeat}"))
                stats = generator.last_prefill
                assert stats is not None
                assert stats.restored_chunks == count
                assert stats.built_chunks == 0
                restore_s.append(stats.seconds)
            full_logits = generator.next_token_logits(prompt.without_chunk_cache(), f"full-logits-{count}")
            turbo_logits = generator.next_token_logits(prompt, f"turbo-logits-{count}")
            full_median = statistics.median(full_times)
            turbo_median = statistics.median(turbo_times)
            tokens = generator.last_prefill.prompt_tokens if generator.last_prefill else 0
            print(
                f"| {count} | {tokens} | {full_median:.3f} | {turbo_median:.3f} | {full_median / turbo_median:.1f}x | "
                f"{kl_divergence(full_logits, turbo_logits):.3f} | "
                f"{'yes' if int(np.argmax(full_logits)) == int(np.argmax(turbo_logits)) else 'no'} |"
            )
        print(f"restore + question prefill at {counts[-1]} chunks: {statistics.median(restore_s) * 1000:.0f} ms "
              f"({statistics.median(restore_s) * 1000 / counts[-1]:.1f} ms per chunk, question included)")
        store.close()
    shutil.rmtree(store_dir, ignore_errors=True)


def typing_replay(keystrokes: int, threads: int) -> None:
    """Type into json/decoder.py character by character and complete after each keystroke."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    repo = Path(tempfile.mkdtemp(prefix="ragcoder-typing-"))
    shutil.copytree(stdlib / "json", repo / "json", ignore=shutil.ignore_patterns("__pycache__"))
    settings = Settings()
    settings.model = ModelSettings(n_threads=threads)
    assistant = Assistant(repo, settings)
    assistant.index()
    generator = assistant.generator()
    assert isinstance(generator, LlamaGenerator)

    document = (repo / "json" / "decoder.py").read_text(encoding="utf-8")
    anchor = document.index("def JSONObject(")
    line_start = document.index("\n", document.index("\n", anchor) + 1) + 1
    line_end = document.index("\n", line_start)
    typed = document[line_start:line_end]
    before, after = document[:line_start], document[line_end:]
    line = before.count("\n")

    results: dict[str, tuple[list[float], list[float]]] = {}
    for mode in ("reuse", "no reuse"):
        latencies: list[float] = []
        prefill: list[float] = []
        for count in range(1, min(keystrokes, len(typed)) + 1):
            if mode == "no reuse":
                generator.clear_cached_sequences()
            text = before + typed[:count] + after
            request = CompletionRequest(path="json/decoder.py", text=text, line=line, column=count, language="python")
            started = time.perf_counter()
            assistant.complete(request)
            latencies.append(time.perf_counter() - started)
            if generator.last_prefill is not None:
                prefill.append(generator.last_prefill.seconds)
        results[mode] = (latencies, prefill)
    assistant.close()
    shutil.rmtree(repo, ignore_errors=True)

    print(f"\n## typing replay: {min(keystrokes, len(typed))} keystrokes on json/decoder.py line {line + 1}, {threads} threads")
    print("| mode | completion p50 s | completion p95 s | prompt evaluation p50 s |")
    print("|---|---|---|---|")
    for mode, (latencies, prefill) in results.items():
        ordered = sorted(latencies)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(f"| {mode} | {statistics.median(latencies):.3f} | {p95:.3f} | {statistics.median(prefill):.3f} |")
    reuse, cold = results["reuse"], results["no reuse"]
    print(f"p50 ratio (no reuse / reuse): completion {statistics.median(cold[0]) / statistics.median(reuse[0]):.1f}x, "
          f"prompt evaluation {statistics.median(cold[1]) / statistics.median(reuse[1]):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=[model.value for model in DefaultModel], help="shipped models to measure")
    parser.add_argument("--chunks", nargs="+", type=int, default=[2, 4, 8, 16], help="retrieved chunk counts")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per point; the median is printed")
    parser.add_argument("--kv-type", default=KvCacheType.F16.value, choices=[t.value for t in KvCacheType], help="KV element type")
    parser.add_argument("--keystrokes", type=int, default=40, help="keystrokes in the typing replay (0 skips it)")
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="model threads")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    for name in args.models:
        measure_model(DefaultModel(name), sorted(args.chunks), args.repeats, KvCacheType(args.kv_type), args.threads)
    if args.keystrokes:
        typing_replay(args.keystrokes, args.threads)


if __name__ == "__main__":
    main()
