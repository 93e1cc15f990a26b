"""Benchmark type-aware compression against truncation and dropping whole chunks.

    python bench/bench_compression.py [--ask-cases 42] [--ask-set rotating|retrieved] [--completion-cases 12] [--ratios 0.3 0.5 0.7]
        [--ask-methods ...] [--score-cache FILE] [--no-speed] [--json OUT] [--per-case OUT]

At each ratio of the context's tokens, every method fills the same budget:
- compress_then_drop (ask): `pack_context` with the shipped minimum ratio of 0.5, the ask setting;
- compress (ask, not run by default): `pack_context` with compression allowed down to 5% of a chunk;
- shared, shared_then_drop (ask): `pack_context` in mode "shared", every chunk compressed to one
  common ratio, allowed down to 0.1 and to 0.5 of a chunk's tokens;
- compress (completion): `compress()` on the code above the cursor, removing the code farthest
  from the cursor first, with the shipped priorities;
- truncate: the first lines of the rendered context (ask), or the last lines above the cursor
  (completion), that fit;
- drop_chunks: whole chunks in rank order (ask), or whole blank-line-separated blocks nearest
  the cursor (completion), while they fit.
Variants of ask compression that are not shipped can be added with `--ask-methods` (see
ASK_METHODS). Quality is teacher-forced (bench/compression_dev.py); "none" is the prompt without
context. The summary gives, per condition, the mean scores, the achieved ratio, and the mean
difference in top-token share from truncation and from compress_then_drop at the same ratio, each
with a 95% interval over cases.
Also measured: compression throughput and its share of ask latency with the real `Generator`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.compress import compress, load_priorities, mentioned_identifiers
from assistant.context import CompressionMode, CompressionPlan, pack_context
from assistant.model import LlamaGenerator
from bench.compression_dev import (
    AskCase,
    CompletionCase,
    Score,
    Scorer,
    ask_prompt,
    build_ask_cases,
    build_completion_cases,
    cut_lines_to_tokens,
    mean_scores,
    render_context,
)
from bench.compression_retrieved import load_retrieved_cases
from bench.compression_variants import ASK_VARIANTS

logger = logging.getLogger("bench.bench_compression")

RATIOS = (0.3, 0.5, 0.7)
PURE_COMPRESSION_MIN_RATIO = 0.05
SHIPPED_MIN_RATIO = 0.5
# The floor of mode "shared". On the first 42 rotating ask cases the search never went below 0.12 at 0.3 of
# the tokens, so a floor of 0.1 packs the same contexts as one of 0.05.
SHARED_MIN_RATIO = 0.1
LATENCY_CASES = 6
ANSWER_TOKENS = 64
# A 95% interval of a mean difference over cases, from the normal approximation.
Z_95 = 1.96
# Every method is compared case by case with these at the same ratio: plain truncation, and the
# ask setting's "rank" packing.
PAIRED_BASELINES = ("truncate", "compress_then_drop")

Count = Callable[[str], int]
AskMethod = Callable[[AskCase, int, Count], str]


def _pack(min_ratio: float, mode: CompressionMode = "rank") -> AskMethod:
    def build(case: AskCase, budget: int, count: Count) -> str:
        plan = CompressionPlan(load_priorities("ask"), min_ratio, mentioned_identifiers(case.question), mode)
        return pack_context(case.chunks, budget, count, compression=plan).text

    return build


def _truncate(case: AskCase, budget: int, count: Count) -> str:
    return cut_lines_to_tokens(render_context(case.chunks), budget, count, keep_end=False)


def _drop_chunks(case: AskCase, budget: int, count: Count) -> str:
    kept, used = [], 0
    for item in case.chunks:
        cost = count(render_context([item]))
        if used + cost > budget:
            break
        kept.append(item)
        used += cost
    return render_context(kept)


ASK_METHODS: dict[str, AskMethod] = {
    "compress": _pack(PURE_COMPRESSION_MIN_RATIO),
    "compress_then_drop": _pack(SHIPPED_MIN_RATIO),
    "shared": _pack(SHARED_MIN_RATIO, "shared"),
    "shared_then_drop": _pack(SHIPPED_MIN_RATIO, "shared"),
    "truncate": _truncate,
    "drop_chunks": _drop_chunks,
    **ASK_VARIANTS,
}
DEFAULT_ASK_METHODS = ("compress_then_drop", "truncate", "drop_chunks")


def completion_contexts(case: CompletionCase, ratio: float, count: Count) -> dict[str, str]:
    """Build each method's far code for one completion case at one ratio."""
    budget = math.floor(ratio * count(case.far))
    # The cursor is just below the far code: ordering removals by distance from the line after
    # it removes the code farthest from the cursor first. That line is past the end of the
    # text, so nothing is kept whole.
    cursor_line = case.far.count("\n")
    result = compress(
        case.far, "python", count, load_priorities("completion"), budget_tokens=budget,
        protected_identifiers=mentioned_identifiers(case.near), keep_lines=(cursor_line, cursor_line),
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


def run_ask(scorer: Scorer, cases: list[AskCase], ratios: list[float], methods: list[str]) -> dict[str, dict[str, object]]:
    """Score every ask method at every ratio; returns the summary and the per-case top-token shares."""
    count = scorer.count_tokens
    scores: dict[str, list[Score]] = {}
    achieved: dict[str, list[float]] = {}
    for number, case in enumerate(cases, start=1):
        full = render_context(case.chunks)
        full_tokens = max(1, count(full))
        conditions = {"uncompressed": full, "none": ""}
        for ratio in ratios:
            budget = math.floor(ratio * full_tokens)
            for method in methods:
                conditions[f"{method}@{ratio}"] = ASK_METHODS[method](case, budget, count)
        for name, text in conditions.items():
            scores.setdefault(name, []).append(scorer.score(ask_prompt(text, case.question), " " + case.answer))
            achieved.setdefault(name, []).append(count(text) / full_tokens)
        logger.info("ask case %d/%d done, %d prompts evaluated so far", number, len(cases), scorer.evaluated)
    return _summarise(scores, achieved, [case.case_id for case in cases])


def run_completion(scorer: Scorer, cases: list[CompletionCase], ratios: list[float]) -> dict[str, dict[str, object]]:
    """Score every completion method at every ratio; returns the summary and the per-case top-token shares."""
    count = scorer.count_tokens
    scores: dict[str, list[Score]] = {}
    achieved: dict[str, list[float]] = {}
    for case in cases:
        conditions = {"uncompressed": case.far, "none": ""}
        for ratio in ratios:
            for method, text in completion_contexts(case, ratio, count).items():
                conditions[f"{method}@{ratio}"] = text
        for name, text in conditions.items():
            scores.setdefault(name, []).append(scorer.score(text + case.near, case.expected))
            achieved.setdefault(name, []).append(count(text) / max(1, count(case.far)))
    return _summarise(scores, achieved, [case.case_id for case in cases])


def _summarise(
    scores: dict[str, list[Score]], achieved: dict[str, list[float]], case_ids: list[str]
) -> dict[str, dict[str, object]]:
    summary: dict[str, object] = {}
    for name, values in scores.items():
        row = {
            **mean_scores(values),
            "achieved_ratio": round(statistics.mean(achieved[name]), 4),
            "max_ratio_error": round(max(abs(ratio - _nominal(name)) for ratio in achieved[name]), 4) if "@" in name else 0.0,
        }
        for baseline_method in PAIRED_BASELINES:
            baseline = f"{baseline_method}@{_nominal(name)}" if "@" in name else None
            if baseline in scores and baseline != name:
                mean, half_width = _paired_difference(values, scores[baseline])
                row[f"top_token_vs_{baseline_method}"] = mean
                row[f"top_token_vs_{baseline_method}_95"] = half_width
        summary[name] = row
    per_case = {name: [round(score.token_accuracy, 4) for score in values] for name, values in scores.items()}
    return {"summary": summary, "per_case": {"cases": case_ids, "top_token_share": per_case}}


def _paired_difference(values: list[Score], baseline: list[Score]) -> tuple[float, float]:
    """Return the mean difference in top-token share over cases and the half-width of its 95% interval."""
    differences = [score.token_accuracy - base.token_accuracy for score, base in zip(values, baseline, strict=True)]
    half_width = Z_95 * statistics.stdev(differences) / math.sqrt(len(differences)) if len(differences) > 1 else 0.0
    return round(statistics.mean(differences), 4), round(half_width, 4)


def _nominal(name: str) -> float:
    return float(name.split("@")[1])


def measure_speed(generator: LlamaGenerator, cases: list[AskCase]) -> dict[str, float]:
    """Time compression (real tokenizer) and ask generation on the same prompts."""
    priorities = load_priorities("ask")
    compressed_tokens, compress_s = 0, 0.0
    for case in cases:
        for item in case.chunks:
            started = time.perf_counter()
            result = compress(item.chunk.text, "python", generator.count_tokens, priorities, ratio=0.5)
            compress_s += time.perf_counter() - started
            compressed_tokens += result.original_tokens

    pack_s, pack_shared_s, generate_s = [], [], []
    for case in cases[:LATENCY_CASES]:
        full = render_context(case.chunks)
        budget = math.floor(0.5 * generator.count_tokens(full))
        plan = CompressionPlan(priorities, SHIPPED_MIN_RATIO, mentioned_identifiers(case.question))
        started = time.perf_counter()
        context = pack_context(case.chunks, budget, generator.count_tokens, compression=plan)
        pack_s.append(time.perf_counter() - started)
        shared_plan = dataclasses.replace(plan, min_ratio=SHARED_MIN_RATIO, mode="shared")
        started = time.perf_counter()
        pack_context(case.chunks, budget, generator.count_tokens, compression=shared_plan)
        pack_shared_s.append(time.perf_counter() - started)
        generator.clear_cached_sequences()
        started = time.perf_counter()
        for _ in generator.generate(ask_prompt(context.text, case.question), ANSWER_TOKENS, 0.0, []):
            pass
        generate_s.append(time.perf_counter() - started)
    return {
        "compress_tokens_per_s": round(compressed_tokens / compress_s, 1),
        "pack_with_compression_s_mean": round(statistics.mean(pack_s), 4),
        "generate_s_mean": round(statistics.mean(generate_s), 3),
        "share_of_ask_latency": round(sum(pack_s) / (sum(pack_s) + sum(generate_s)), 4),
        "pack_shared_s_mean": round(statistics.mean(pack_shared_s), 4),
        "shared_share_of_ask_latency": round(sum(pack_shared_s) / (sum(pack_shared_s) + sum(generate_s)), 4),
        "answer_tokens": ANSWER_TOKENS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ask-cases", type=int, default=42, help="ask cases to use (default: 42)")
    parser.add_argument(
        "--ask-set", choices=("rotating", "retrieved"), default="rotating",
        help="rotating: the answer chunk at rank 1, 2 and 3 in turn (bench/compression_dev.py); "
        "retrieved: chunks in HybridRetriever's order (bench/compression_retrieved.py)",
    )
    parser.add_argument("--completion-cases", type=int, default=12, help="completion cases, 0 to skip (default: 12)")
    parser.add_argument("--ratios", type=float, nargs="+", default=list(RATIOS), help="shares of the context's tokens")
    parser.add_argument("--ask-methods", nargs="+", default=list(DEFAULT_ASK_METHODS), choices=sorted(ASK_METHODS))
    parser.add_argument("--score-cache", type=Path, help="JSON-lines file of scores to reuse and extend")
    parser.add_argument("--no-speed", action="store_true", help="skip the throughput and latency measurement")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--per-case", type=Path, help="write each case's top-token share per condition to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    started = time.perf_counter()
    scorer = Scorer(cache_path=args.score_cache)
    ask_cases = build_ask_cases(args.ask_cases) if args.ask_set == "rotating" else load_retrieved_cases()[: args.ask_cases]
    results: dict[str, object] = {}
    per_case: dict[str, object] = {}
    if not args.no_speed:
        results["speed"] = measure_speed(scorer.generator, ask_cases)
        logger.info("speed: %s", results["speed"])
    ask = run_ask(scorer, ask_cases, args.ratios, args.ask_methods)
    results["ask"], per_case["ask"] = ask["summary"], ask["per_case"]
    if args.completion_cases:
        completion = run_completion(scorer, build_completion_cases(args.completion_cases), args.ratios)
        results["completion"], per_case["completion"] = completion["summary"], completion["per_case"]
    scorer.close()
    logger.info("evaluated %d prompts in %.0fs", scorer.evaluated, time.perf_counter() - started)
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    if args.per_case:
        args.per_case.write_text(json.dumps(per_case, indent=1) + "\n", encoding="utf-8")

if __name__ == "__main__":
    main()
