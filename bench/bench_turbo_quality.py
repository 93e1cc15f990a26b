"""Quality guard for chunk KV caches: restored chunks versus full prefill on the ask and completion dev sets.

Restored chunks attend only to themselves, not to the chunks before them, so facts that span
chunks can be lost. This compares, case by case and in one run, the same prompt evaluated in
full and with its chunks restored from the chunk KV store:

- ask: questions about standard-library functions with a reference answer and three chunks of
  context (bench/compression_dev.py); teacher-forced answer token accuracy and exact rate,
  first-token KL divergence, and agreement of the greedy 24-token answers;
- completion: cases of bench/data/completion_dev.jsonl whose 40 lines of code above the near
  lines become two retrieved chunks; teacher-forced expected-line token accuracy, exact rate,
  first-token KL, and exact match of the greedy completion through `complete_at`.

Run: python bench/bench_turbo_quality.py [--ask 30] [--completion 30] [--model gemma3-270m]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.compression_dev import build_ask_cases, build_completion_cases  # noqa: E402

from assistant.ask import split_template  # noqa: E402
from assistant.completion import build_completion_prompt, complete_at  # noqa: E402
from assistant.config import CompletionSettings, DefaultModel, ModelSettings  # noqa: E402
from assistant.context import pack_context  # noqa: E402
from assistant.model import LlamaGenerator, load_generator  # noqa: E402
from assistant.prompt_parts import PromptParts  # noqa: E402
from assistant.retrieval import Hit, RetrievedChunk  # noqa: E402
from indexer.kv_store import open_kv_store  # noqa: E402
from indexer.types import Chunk  # noqa: E402
from prompts import load_prompt  # noqa: E402

ANSWER_TOKENS = 24
BUDGET_TOKENS = 4000
FAR_CHUNKS = 2


def kl_divergence(reference: npt.NDArray[np.float32], other: npt.NDArray[np.float32]) -> float:
    """KL(reference || other) of the softmax distributions, in nats."""
    log_p = reference - reference.max()
    log_p = log_p - np.log(np.exp(log_p).sum())
    log_q = other - other.max()
    log_q = log_q - np.log(np.exp(log_q).sum())
    return float((np.exp(log_p) * (log_p - log_q)).sum())


def greedy(generator: LlamaGenerator, prompt: PromptParts, cache_key: str) -> str:
    return "".join(generator.generate(prompt, ANSWER_TOKENS, 0.0, ["\n"], cache_key=cache_key))


def run_ask(generator: LlamaGenerator, count: int) -> dict[str, list[float]]:
    template = load_prompt("ask")
    results: dict[str, list[float]] = {key: [] for key in ("full_acc", "turbo_acc", "full_exact", "turbo_exact", "kl", "agree")}
    for index, case in enumerate(build_ask_cases(count)):
        context = pack_context(case.chunks, BUDGET_TOKENS, generator.count_tokens)
        prompt = split_template(template, case.question, context, is_cacheable=True)
        generator.precompute_chunks(prompt.parts)
        full = generator.score(prompt.without_chunk_cache(), case.answer, cache_key=f"ask-full-{index}")
        turbo = generator.score(prompt, case.answer, cache_key=f"ask-turbo-{index}")
        assert generator.last_prefill is not None and generator.last_prefill.restored_chunks == len(case.chunks)
        results["full_acc"].append(full.token_accuracy)
        results["turbo_acc"].append(turbo.token_accuracy)
        results["full_exact"].append(float(full.is_exact))
        results["turbo_exact"].append(float(turbo.is_exact))
        results["kl"].append(kl_divergence(full.first_logits, turbo.first_logits))
        answers = greedy(generator, prompt.without_chunk_cache(), f"ask-gf-{index}"), greedy(generator, prompt, f"ask-gt-{index}")
        results["agree"].append(float(answers[0].strip() == answers[1].strip()))
        generator.clear_cached_sequences()
    return results


def completion_context_chunks(far: str, case_id: str) -> list[RetrievedChunk]:
    """Split the far code into chunks that stand in for retrieved code from the same file."""
    lines = far.splitlines(keepends=True)
    size = max(1, -(-len(lines) // FAR_CHUNKS))
    chunks: list[RetrievedChunk] = []
    for number, start in enumerate(range(0, len(lines), size), start=1):
        text = "".join(lines[start : start + size]).rstrip("\n")
        chunk = Chunk(
            path=case_id.split(":")[0], language="python", symbol=f"part {number}", chunk_type="block",
            start_line=start + 1, end_line=start + size, start_byte=0, end_byte=len(text.encode("utf-8")),
            text=text, content_hash=f"{case_id}:{number}",
        )
        chunks.append(RetrievedChunk(hit=Hit(chunk_id=number, score=1.0 / number), chunk=chunk))
    return chunks


def run_completion(generator: LlamaGenerator, count: int) -> dict[str, list[float]]:
    settings = CompletionSettings(context_tokens=BUDGET_TOKENS)
    results: dict[str, list[float]] = {
        key: [] for key in ("full_acc", "turbo_acc", "full_exact", "turbo_exact", "kl", "full_match", "turbo_match")
    }
    for index, case in enumerate(build_completion_cases(count)):
        context = pack_context(completion_context_chunks(case.far, case.case_id), BUDGET_TOKENS, generator.count_tokens)
        prefix = case.near + "\n"
        prompt = build_completion_prompt(prefix, "", context, generator, settings, language="python", is_cacheable=True)
        assert isinstance(prompt, PromptParts)
        generator.precompute_chunks(prompt.parts)
        full = generator.score(prompt.without_chunk_cache(), case.expected, cache_key=f"cmp-full-{index}")
        turbo = generator.score(prompt, case.expected, cache_key=f"cmp-turbo-{index}")
        results["full_acc"].append(full.token_accuracy)
        results["turbo_acc"].append(turbo.token_accuracy)
        results["full_exact"].append(float(full.is_exact))
        results["turbo_exact"].append(float(turbo.is_exact))
        results["kl"].append(kl_divergence(full.first_logits, turbo.first_logits))
        for mode, is_cacheable in (("full", False), ("turbo", True)):
            text = complete_at(
                prefix, "", context, generator, settings, language="python", is_cacheable=is_cacheable,
                cache_key=f"cmp-{mode}-gen-{index}",
            )
            first_line = text.strip("\n").split("\n")[0].strip()
            results[f"{mode}_match"].append(float(first_line == case.expected.strip()))
        generator.clear_cached_sequences()
    return results


def report(task: str, results: dict[str, list[float]]) -> None:
    count = len(results["kl"])
    print(f"\n## {task}: {count} cases")
    print("| measure | full prefill | restored chunks | difference (points) |")
    print("|---|---|---|---|")
    pairs = [("teacher-forced token accuracy", "full_acc", "turbo_acc"), ("teacher-forced exact", "full_exact", "turbo_exact")]
    if "full_match" in results:
        pairs.append(("greedy completion exact match", "full_match", "turbo_match"))
    for label, full_key, turbo_key in pairs:
        full_mean = 100 * statistics.fmean(results[full_key])
        turbo_mean = 100 * statistics.fmean(results[turbo_key])
        print(f"| {label} | {full_mean:.1f} | {turbo_mean:.1f} | {turbo_mean - full_mean:+.1f} |")
    kl = results["kl"]
    print(f"first-token KL: mean {statistics.fmean(kl):.3f}, median {statistics.median(kl):.3f}, max {max(kl):.3f}")
    if "agree" in results:
        print(f"greedy {ANSWER_TOKENS}-token answers identical: {100 * statistics.fmean(results['agree']):.0f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ask", type=int, default=30, help="ask cases")
    parser.add_argument("--completion", type=int, default=30, help="completion cases")
    parser.add_argument("--model", default=DefaultModel.GEMMA3_270M.value, choices=[m.value for m in DefaultModel])
    parser.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="model threads")
    args = parser.parse_args()
    settings = ModelSettings(default=DefaultModel(args.model), n_ctx=4096, cache_slots=2, n_threads=args.threads)
    with tempfile.TemporaryDirectory(prefix="ragcoder-kv-") as store_dir, load_generator(settings) as generator:
        store = open_kv_store(Path(store_dir), 8192)
        generator.attach_chunk_store(store)
        print(f"model {args.model}, {args.threads} threads, {os.cpu_count()} cores")
        if args.ask:
            report("ask", run_ask(generator, args.ask))
        if args.completion:
            report("completion", run_completion(generator, args.completion))
        store.close()


if __name__ == "__main__":
    main()
