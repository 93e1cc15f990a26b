"""Measure what removing each token type from the context costs, and store the removal order.

    python bench/ablate_compression.py [--ask-cases 18] [--completion-cases 18] [--write] [--score-cache FILE]

For each type, every token of that type is removed from the context of every case. For ask
the context is the retrieved chunks, for completion the code above the lines nearest the
cursor. Gemma 3 270M then scores the reference answer, and the drop of its mean
log-probability is the type's cost (see bench/compression_dev.py). The removal order sorts types by that drop per share of context
tokens saved, lowest first, so a type that saves much and hurts little goes first. `--write`
stores the order and the numbers in assistant/data/compression_priorities.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.compress import PRIORITIES_FORMAT, strip_types
from assistant.token_types import TokenType
from bench.compression_dev import (
    Scorer,
    ask_prompt,
    build_ask_cases,
    build_completion_cases,
    mean_scores,
    render_context,
)

logger = logging.getLogger("bench.ablate_compression")

PRIORITIES_PATH = Path(__file__).resolve().parents[1] / "assistant" / "data" / "compression_priorities.json"
# A type that saves less than this share of tokens is ranked as if it saved this much, so that
# near-free types with a tiny measured gain do not sort by noise.
MIN_SAVED_SHARE = 0.01


def ablate_ask(scorer: Scorer, case_count: int) -> dict[str, dict[str, float]]:
    """Score ask cases with the full context and with each type removed."""
    cases = build_ask_cases(case_count)
    results: dict[str, dict[str, float]] = {}
    conditions: list[TokenType | None] = [None, *TokenType]
    for token_type in conditions:
        scores, tokens = [], 0
        for case in cases:
            texts = [item.chunk.text if token_type is None else strip_types(item.chunk.text, "python", [token_type]) for item in case.chunks]
            context = render_context(case.chunks, texts)
            tokens += scorer.count_tokens(context)
            scores.append(scorer.score(ask_prompt(context, case.question), " " + case.answer))
        name = "none" if token_type is None else token_type.value
        results[name] = {**mean_scores(scores), "context_tokens": tokens}
        logger.info("ask, removed %s: %s", name, results[name])
    return results


def ablate_completion(scorer: Scorer, case_count: int) -> dict[str, dict[str, float]]:
    """Score completion cases with the far code whole and with each type removed."""
    cases = build_completion_cases(case_count)
    results: dict[str, dict[str, float]] = {}
    for token_type in [None, *TokenType]:
        scores, tokens = [], 0
        for case in cases:
            far = case.far if token_type is None else strip_types(case.far, "python", [token_type])
            tokens += scorer.count_tokens(far)
            scores.append(scorer.score(far + case.near, case.expected))
        name = "none" if token_type is None else token_type.value
        results[name] = {**mean_scores(scores), "context_tokens": tokens}
        logger.info("completion, removed %s: %s", name, results[name])
    return results


def priority_order(results: dict[str, dict[str, float]]) -> list[dict[str, float | str]]:
    """Rank types by log-probability lost per share of context tokens saved, lowest first."""
    base = results["none"]
    rows: list[dict[str, float | str]] = []
    for name, values in results.items():
        if name == "none":
            continue
        saved_share = 1.0 - values["context_tokens"] / base["context_tokens"]
        loss = base["mean_logprob"] - values["mean_logprob"]
        rows.append({
            "type": name,
            "saved_share": round(saved_share, 4),
            "logprob_loss": round(loss, 4),
            "token_accuracy_loss": round(base["token_accuracy"] - values["token_accuracy"], 4),
            "loss_per_saved_share": round(loss / max(saved_share, MIN_SAVED_SHARE), 4),
        })
    rows.sort(key=lambda row: float(row["loss_per_saved_share"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ask-cases", type=int, default=18)
    parser.add_argument("--completion-cases", type=int, default=18)
    parser.add_argument("--write", action="store_true", help="store the order in assistant/data/compression_priorities.json")
    parser.add_argument("--score-cache", type=Path, help="JSON-lines file of scores to reuse and extend")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    started = time.perf_counter()
    scorer = Scorer(cache_path=args.score_cache)
    tasks = {}
    for task, run, count in (("ask", ablate_ask, args.ask_cases), ("completion", ablate_completion, args.completion_cases)):
        results = run(scorer, count)
        rows = priority_order(results)
        tasks[task] = {
            "priority": [row["type"] for row in rows],
            "cases": count,
            "baseline": results["none"],
            "ablation": rows,
        }
        print(json.dumps({task: tasks[task]}, indent=1))
    scorer.close()
    data = {
        "format": PRIORITIES_FORMAT,
        "source": (
            "bench/ablate_compression.py: Gemma 3 270M Q4_K_M, teacher-forced reference answers; "
            "order = mean log-probability lost per share of context tokens saved, lowest first"
        ),
        "measured": f"{datetime.date.today().isoformat()} on {platform.machine()}, {platform.python_version()}, 1 thread",
        "tasks": tasks,
    }
    logger.info("ablation took %.0fs", time.perf_counter() - started)
    if args.write:
        PRIORITIES_PATH.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        logger.info("wrote %s", PRIORITIES_PATH)


if __name__ == "__main__":
    main()
