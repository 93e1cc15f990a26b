"""Benchmark the prompt linter: precision and recall per rule on the labelled snippets, the time
to lint a generated 10,000-line Python file, and the findings on installed packages' real code.

Run: python bench/bench_promptlint.py [--model] [--runs 7] [--packages langchain_core openai]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.promptlint import LintOptions, TokenLimits, lint_text  # noqa: E402
from assistant.promptlint.runner import lint_files, lintable_files  # noqa: E402
from tests.assistant.promptlint.labelled import score_rules  # noqa: E402

TARGET_LINES = 10_000
BLOCK = '''\
def summarize_{n}(doc, llm, client):
    """Summarize one document."""
    words = len(doc.split())
    template = "Summarize {{text}} in {{n_words}} words for reader {n}."
    prompt = template.format(text=doc, n_words=words)
    system = "You are assistant number {n}. Reply in JSON like {{\\"summary\\": \\"...\\"}}."
    result = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{{"role": "system", "content": system}}, {{"role": "user", "content": prompt}}],
    )
    items = [word.upper() for word in doc.split() if len(word) > 3]
    total = sum(len(item) for item in items)
    if total > 100:
        return llm(f"Shorten this:\\n{{doc}} ")
    return result, items, total


'''


def generated_file(lines: int = TARGET_LINES) -> str:
    """Build a Python file of about `lines` lines with a prompt-heavy function repeated."""
    block_lines = BLOCK.count("\n")
    return "".join(BLOCK.format(n=n) for n in range(lines // block_lines + 1))


def stdlib_file(lines: int = TARGET_LINES) -> str:
    """Build a file of about `lines` lines of standard-library code with one prompt block per 500 lines.

    Ordinary code with a few prompts is the common case; `generated_file` is the prompt-dense worst case.
    """
    import sysconfig

    sources = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    chunks: list[str] = []
    total = 0
    for path in sources:
        text = path.read_text(encoding="utf-8", errors="replace")
        if not text.isascii() or "\t" in text:
            continue
        for start in range(0, text.count("\n"), 500):
            chunk = "\n".join(text.split("\n")[start:start + 500])
            chunks.append(chunk + "\n" + BLOCK.format(n=len(chunks)))
            total += chunk.count("\n") + BLOCK.count("\n")
            if total >= lines:
                return "\n".join(chunks)
    return "\n".join(chunks)


def time_lint(text: str, options: LintOptions, runs: int) -> tuple[float, float, int]:
    """Return (median, min) seconds of linting `text` and its finding count."""
    times = []
    count = 0
    for _ in range(runs):
        started = time.perf_counter()
        count = len(lint_text("generated.py", text, options))
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="store_true", help="also time with the shipped model's tokenizer")
    parser.add_argument("--runs", type=int, default=7, help="lint runs per timing (default 7)")
    parser.add_argument("--packages", nargs="*", default=["langchain_core", "openai", "anthropic", "litellm", "ollama"],
                        help="installed packages whose code is linted for a real-code check")
    args = parser.parse_args()

    scores, mismatches = score_rules()
    print("rule    TP  FP  FN  precision  recall")
    for score in scores:
        print(f"{score.code}  {score.true_positives:3d} {score.false_positives:3d} {score.false_negatives:3d}"
              f"  {score.precision:9.2f}  {score.recall:6.2f}")
    for line in mismatches:
        print("  ", line)

    text = generated_file()
    for title, sample in (("prompt-dense generated file", text), ("standard-library code with prompts", stdlib_file())):
        print(f"\n{title}: {sample.count(chr(10))} lines, {len(sample.encode())} bytes")
        median, best, count = time_lint(sample, LintOptions(), args.runs)
        print(f"lint without tokenizer: median {median * 1000:.0f} ms, min {best * 1000:.0f} ms, {count} findings")
    if args.model:
        from assistant.config import ModelSettings
        from assistant.model import load_generator

        with load_generator(ModelSettings(n_threads=1)) as generator:
            options = LintOptions(limits=TokenLimits(generator.n_ctx), tokenizer=generator)
            median, best, count = time_lint(text, options, args.runs)
            print(f"lint with the Gemma 3 tokenizer: median {median * 1000:.0f} ms, min {best * 1000:.0f} ms, {count} findings")

    for package in args.packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            print(f"\n{package}: not installed")
            continue
        files = list(lintable_files([Path(spec.submodule_search_locations[0])]))
        started = time.perf_counter()
        locations = lint_files(files, LintOptions())
        seconds = time.perf_counter() - started
        by_code = Counter(item.finding.code for item in locations)
        print(f"\n{package}: {len(files)} files in {seconds:.1f} s, findings {dict(sorted(by_code.items()))}")
        for item in locations[:40]:
            print("  ", item.format_text()[:220])


if __name__ == "__main__":
    main()
