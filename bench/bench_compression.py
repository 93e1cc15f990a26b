"""Benchmark type-aware compression against truncation and dropping whole chunks.

    python bench/bench_compression.py [--ask-cases 18] [--completion-cases 18] [--json OUT]

At 0.3, 0.5 and 0.7 of the context's tokens, each method fills the same budget:
- compress: `pack_context` with compression allowed down to 5% of a chunk (ask), or
  `compress()` on the code above the cursor (completion), with the shipped priorities;
- compress_then_drop (ask): `pack_context` with the shipped minimum ratio of 0.5;
- truncate: the first lines of the rendered context (ask), or the last lines above the cursor
  (completion), that fit;
- drop_chunks: whole chunks in rank order (ask), or whole blank-line-separated blocks nearest
  the cursor (completion), while they fit.
Quality is teacher-forced (bench/compression_dev.py); "none" is the prompt without context.
Also measured: compression throughput and its share of ask latency with the real `Generator`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.compression_dev import (  # noqa: E402
    AskCase, CompletionCase, Scorer, ask_prompt, build_ask_cases, build_completion_cases, cut_lines_to_tokens,
    mean_scores, render_context,
)
from assistant.compress import compress, load_priorities, mentioned_identifiers  # noqa: E402
from assistant.config import ModelSettings  # noqa: E402
from assistant.context import CompressionPlan, pack_context  # noqa: E402
from assistant.model import load_generator  # noqa: E402

logger = logging.getLogger("bench.bench_compression")

RATIOS = (0.3, 0.5, 0.7)
PURE_COMPRESSION_MIN_RATIO = 0.05
SHIPPED_MIN_RATIO = 0.5
LATENCY_CASES = 6
ANSWER_TOKENS = 64


def ask_contexts(case: AskCase, ratio: float, count: Callable[[str], int]) -> dict[str, str]:
    """Build each method's context for one ask case at one ratio."""
    full = render_context(case.chunks)
    budget = math.floor(ratio * count(full))
    protected = mentioned_identifiers(case.question)
    contexts = {}
    for name, min_ratio in (("compress", PURE_COMPRESSION_MIN_RATIO), ("compress_then_drop", SHIPPED_MIN_RATIO)):
        plan = CompressionPlan(load_priorities("ask"), min_ratio, protected)
        contexts[name] = pack_context(case.chunks, budget, count, compression=plan).text
    contexts["truncate"] = cut_lines_to_tokens(full, budget, count, keep_end=False)
    kept, used = [], 0
    for item in case.chunks:
        cost = count(render_context([item]))
        if used + cost > budget:
            break
        kept.append(item)
        used += cost
    contexts["drop_chunks"] = render_context(kept)
    return contexts


def completion_contexts(case: CompletionCase, ratio: float, count: Callable[[str], int]) -> dict[str, str]:
    """Build each method's far code for one completion case at one ratio."""
    budget = math.floor(ratio * count(case.far))
    result = compress(
        case.far, "python", count, load_priorities("completion"), budget_tokens=budget,
        protected_identifiers=mentioned_identifiers(case.near),
    )
    blocks = [block + "\n\n" for block in case.far.rstrip("\n").split("\n\n")]
    kept: list[str] = []
    for block in reversed(blocks):
        if count("".join([block, *kept])) > budget:
            break
        kept.insert(0, block)
    return {
        "compress": result.text,
        "truncate": cut_lines_to_tokens(case.far, budget, count, keep_end=True),
        "drop_chunks": "".join(kept),
    }


def run_ask(scorer: Scorer, cases: list[AskCase]) -> dict[str, dict[str, float]]:
    """Score every ask method at every ratio."""
    count = scorer.count_tokens
    table: dict[str, list[tuple[float, int]]] = {}
    scores: dict[str, list] = {}
    for case in cases:
        full = render_context(case.chunks)
        conditions = {"uncompressed": full, "none": ""}
        for ratio in RATIOS:
            for method, text in ask_contexts(case, ratio, count).items():
                conditions[f"{method}@{ratio}"] = text
        for name, text in conditions.items():
            scores.setdefault(name, []).append(scorer.score(ask_prompt(text, case.question), " " + case.answer))
            table.setdefault(name, []).append((count(text) / max(1, count(full)), count(text)))
    return _summarise(scores, table)


def run_completion(scorer: Scorer, cases: list[CompletionCase]) -> dict[str, dict[str, float]]:
    """Score every completion method at every ratio."""
    count = scorer.count_tokens
    table: dict[str, list[tuple[float, int]]] = {}
    scores: dict[str, list] = {}
    for case in cases:
        conditions = {"uncompressed": case.far, "none": ""}
        for ratio in RATIOS:
            for method, text in completion_contexts(case, ratio, count).items():
                conditions[f"{method}@{ratio}"] = text
        for name, text in conditions.items():
            scores.setdefault(name, []).append(scorer.score(text + case.near, case.expected))
            table.setdefault(name, []).append((count(text) / max(1, count(case.far)), count(text)))
    return _summarise(scores, table)


def _summarise(scores: dict[str, list], table: dict[str, list[tuple[float, int]]]) -> dict[str, dict[str, float]]:
    summary = {}
    for name, values in scores.items():
        summary[name] = {
            **mean_scores(values),
            "achieved_ratio": round(statistics.mean(ratio for ratio, _ in table[name]), 4),
            "max_ratio_error": round(max(abs(ratio - _nominal(name)) for ratio, _ in table[name]), 4) if "@" in name else 0.0,
        }
    return summary


def _nominal(name: str) -> float:
    return float(name.split("@")[1])


def measure_speed(cases: list[AskCase]) -> dict[str, float]:
    """Time compression (real tokenizer) and ask generation on the same prompts."""
    generator = load_generator(ModelSettings(n_threads=1, n_ctx=4096))
    priorities = load_priorities("ask")
    compressed_tokens, compress_s = 0, 0.0
    for case in cases:
        for item in case.chunks:
            started = time.perf_counter()
            result = compress(item.chunk.text, "python", generator.count_tokens, priorities, ratio=0.5)
            compress_s += time.perf_counter() - started
            compressed_tokens += result.original_tokens

    pack_s, generate_s = [], []
    for case in cases[:LATENCY_CASES]:
        full = render_context(case.chunks)
        budget = math.floor(0.5 * generator.count_tokens(full))
        plan = CompressionPlan(priorities, SHIPPED_MIN_RATIO, mentioned_identifiers(case.question))
        started = time.perf_counter()
        context = pack_context(case.chunks, budget, generator.count_tokens, compression=plan)
        pack_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        for _ in generator.generate(ask_prompt(context.text, case.question), ANSWER_TOKENS, 0.0, []):
            pass
        generate_s.append(time.perf_counter() - started)
    generator.close()
    return {
        "compress_tokens_per_s": round(compressed_tokens / compress_s, 1),
        "pack_with_compression_s_mean": round(statistics.mean(pack_s), 4),
        "generate_s_mean": round(statistics.mean(generate_s), 3),
        "share_of_ask_latency": round(sum(pack_s) / (sum(pack_s) + sum(generate_s)), 4),
        "answer_tokens": ANSWER_TOKENS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ask-cases", type=int, default=18)
    parser.add_argument("--completion-cases", type=int, default=18)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    ask_cases = build_ask_cases(args.ask_cases)
    results = {"speed": measure_speed(ask_cases)}
    logger.info("speed: %s", results["speed"])
    scorer = Scorer()
    results["ask"] = run_ask(scorer, ask_cases)
    results["completion"] = run_completion(scorer, build_completion_cases(args.completion_cases))
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
