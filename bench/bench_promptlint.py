"""Benchmark the prompt linter: precision and recall per rule on the labelled snippets, the time
per change of a 10,000-line file (a fresh lint against the incremental linter, side by side in
one run), and the findings on installed packages' real code.

Run: python bench/bench_promptlint.py [--model] [--runs 3] [--packages langchain_core openai]
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.promptlint import (
    DocumentLinter,
    LintOptions,
    Location,
    TokenLimits,
    lint_text,
)
from assistant.promptlint.runner import lint_files, lintable_files
from indexer.parse import parses_cleanly
from tests.assistant.promptlint.labelled import LABELLED_SETS, score_rules

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
SHARED_HEADER = '''\
SHARED_TEMPLATE = "Answer {question} for reader {reader}."


'''
SHARED_USER = '''\
def ask_{n}(question, llm):
    return llm(SHARED_TEMPLATE.format(question=question, reader={n}))


'''


def generated_file(lines: int = TARGET_LINES) -> str:
    """Build a Python file of about `lines` lines with a prompt-heavy function repeated."""
    block_lines = BLOCK.count("\n")
    return "".join(BLOCK.format(n=n) for n in range(lines // block_lines + 1))


def shared_template_file(lines: int = TARGET_LINES, users: int = 25) -> str:
    """Build the prompt-dense file plus a module-level template that `users` functions format.

    The template and its users are read as one group, so an edit in one of them re-reads all of them.
    """
    block_count = lines // BLOCK.count("\n") + 1
    step = block_count // users
    parts = [SHARED_HEADER]
    for n in range(block_count):
        if n % step == 0 and n // step < users:
            parts.append(SHARED_USER.format(n=n))
        parts.append(BLOCK.format(n=n))
    return "".join(parts)


def stdlib_file(lines: int = TARGET_LINES) -> str:
    """Build a file of about `lines` lines from whole standard-library modules, with a prompt block after each.

    Ordinary code with a few prompts is the common case; `generated_file` is the prompt-dense worst case.
    """
    import sysconfig

    chunks: list[str] = []
    total = 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if not text.isascii() or "\t" in text or not parses_cleanly(text, "python"):
            continue
        chunks.append(text + "\n\n" + BLOCK.format(n=len(chunks)))
        total += text.count("\n") + BLOCK.count("\n") + 2
        if total >= lines:
            break
    return "\n".join(chunks)


def typing_session(text: str, prompt_anchor: str) -> list[str]:
    """Return the versions of `text` while someone edits it, one keystroke per version.

    First a word is typed into the prompt that starts with `prompt_anchor`, the one nearest the
    middle of the file. Then a new statement is typed on a new line in the middle, passing
    through versions with syntax errors, and deleted again. Last, a comment is typed at the top
    of the file, which moves every statement below it.
    """
    versions: list[str] = []
    prompt_at = text.find(prompt_anchor, len(text) // 2)
    prompt_at = (prompt_at if prompt_at >= 0 else text.index(prompt_anchor)) + prompt_anchor.index(" ")
    for count in range(1, len(" briefly") + 1):
        versions.append(text[:prompt_at] + " briefly"[:count] + text[prompt_at:])
    text = versions[-1]

    line_end = text.index("\n", text.index("words = len(doc.split())", len(text) // 2))
    typed = "\n    words += 1"
    for count in range(1, len(typed) + 1):
        versions.append(text[:line_end] + typed[:count] + text[line_end:])
    versions.append(text)

    comment = "# reviewed\n"
    for count in range(1, len(comment) + 1):
        versions.append(comment[:count] + text)
    return versions


def _time(function: Callable[[], list[Location]]) -> tuple[float, list[Location]]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def time_changes(text: str, prompt_anchor: str, options: LintOptions, runs: int) -> None:
    """Lint every version of a typing session both ways, interleaved, and print the times per change."""
    versions = typing_session(text, prompt_anchor)
    incremental = DocumentLinter("generated.py", options)
    opened, _ = _time(lambda: incremental.lint(text))
    fresh_times: list[float] = []
    incremental_times: list[float] = []
    mismatches = 0
    for index, version in enumerate(versions):
        seconds, located = _time(functools.partial(incremental.lint, version))
        incremental_times.append(seconds)
        if index % max(1, len(versions) // runs) == 0:
            seconds, fresh = _time(functools.partial(lint_text, "generated.py", version, options))
            fresh_times.append(seconds)
            is_clean = parses_cleanly(version, "python")
            mismatches += is_clean and [item.message for item in fresh] != [item.message for item in located]
    fresh_median = statistics.median(fresh_times)
    incremental_median = statistics.median(incremental_times)
    p95 = sorted(incremental_times)[int(0.95 * (len(incremental_times) - 1))]
    print(f"  first lint of the open document: {opened * 1000:.0f} ms")
    print(f"  fresh lint per change: median {fresh_median * 1000:.0f} ms over {len(fresh_times)} versions")
    print(f"  incremental lint per change: median {incremental_median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
          f"max {max(incremental_times) * 1000:.1f} ms over {len(versions)} versions")
    print(f"  speed-up (median fresh / median incremental): {fresh_median / incremental_median:.1f}x; "
          f"versions without syntax errors whose findings differ: {mismatches}")


def print_scores() -> None:
    """Print precision and recall per rule, once per labelled set."""
    for name in LABELLED_SETS:
        scores, mismatches = score_rules(name)
        print(f"labelled set {name}: rule    TP  FP  FN  precision  recall")
        for score in scores:
            found = score.true_positives + score.false_positives
            labelled = score.true_positives + score.false_negatives
            precision = f"{score.precision:9.2f}" if found else f"{'-':>9}"
            recall = f"{score.recall:6.2f}" if labelled else f"{'-':>6}"
            print(f"  {score.code}  {score.true_positives:3d} {score.false_positives:3d} {score.false_negatives:3d}"
                  f"  {precision}  {recall}")
        for line in mismatches:
            print("    ", line)


def lint_packages(packages: list[str]) -> None:
    """Lint installed packages and print the findings per rule and the first findings."""
    for package in packages:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="store_true", help="also time with the shipped model's tokenizer")
    parser.add_argument("--runs", type=int, default=6, help="versions per file that are also linted fresh (default 6)")
    parser.add_argument("--packages", nargs="*", default=["langchain_core", "openai", "anthropic", "litellm", "ollama"],
                        help="installed packages whose code is linted for a real-code check")
    args = parser.parse_args()

    print_scores()
    samples = [
        ("prompt-dense generated file", generated_file(), "Summarize {text}"),
        ("the same with a module-level template formatted in 25 functions, typing in the template",
         shared_template_file(), "Answer {question}"),
        ("standard-library code with prompts", stdlib_file(), "Summarize {text}"),
    ]
    for title, sample, anchor in samples:
        print(f"\n{title}: {sample.count(chr(10))} lines, {len(sample.encode())} bytes, no tokenizer")
        time_changes(sample, anchor, LintOptions(), args.runs)
    if args.model:
        from assistant.config import ModelSettings
        from assistant.model import load_generator
        from assistant.model_files import cache_dir
        from assistant.promptlint.undertrained import load_undertrained

        with load_generator(ModelSettings(n_threads=1)) as generator:
            undertrained = load_undertrained(generator.path, generator.model_id, cache_dir() / "promptlint")
            options = LintOptions(limits=TokenLimits(generator.n_ctx), tokenizer=generator, undertrained=undertrained)
            print(f"\nprompt-dense generated file with the Gemma 3 tokenizer ({len(undertrained)} under-trained tokens; "
                  "RCP007 and RCP010 on):")
            time_changes(samples[0][1], samples[0][2], options, args.runs)
    lint_packages(args.packages)


if __name__ == "__main__":
    main()
