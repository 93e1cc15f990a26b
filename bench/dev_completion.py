"""Measure inline completion on standard-library functions with one line removed.

Build the dev set (deterministic: fixed seed, fixed Python 3.11 standard library):
    python bench/dev_completion.py --build
Run every shipped model with every prompt format for models without FIM tokens:
    python bench/dev_completion.py [--models gemma3-270m smollm2-135m] [--formats prefix ...]

Each case is a document whose removed line leaves only its indentation, with the cursor at
the end of that indentation (what an auto-indenting editor shows). The table gives, per model
and format:
- exact match of the whole completion, and of its first line, with the removed line
  (whitespace-normalised);
- the share of documents that parse with `ast.parse` once the completion is inserted;
- the share of empty completions;
- p50 and p95 latency of `complete_at` with the model already loaded;
- p50 latency while typing the first characters of the removed line in the first cases, when
  the model reuses its cached start of the previous prompt.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.completion import PromptFormat, complete_at  # noqa: E402
from assistant.config import CompletionSettings, DefaultModel, ModelSettings  # noqa: E402
from assistant.model import LlamaGenerator, load_generator  # noqa: E402

logger = logging.getLogger("bench.dev_completion")

DATA_PATH = Path(__file__).resolve().parent / "data" / "completion_dev.jsonl"
STDLIB_DIR = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
SEED = 20261204
MODULE_COUNT = 12
CASES_PER_MODULE = 5
MIN_FILE_BYTES = 6_000
MAX_FILE_BYTES = 30_000
MIN_LINE_CHARS = 12
QUALITY_KEYS = ("exact", "first_line_exact", "parses", "empty")
LATENCY_KEYS = ("p50_ms", "p95_ms", "typing_p50_ms")
TYPING_CASES = 10
TYPED_CHARS = 3
# Statement kinds whose line can be removed without taking a block header with it.
SIMPLE_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Expr, ast.Raise)


def build_dev_set(stdlib_dir: Path, seed: int) -> list[dict[str, object]]:
    """Pick functions from standard-library modules and remove one body line from each."""
    rng = random.Random(seed)
    modules = sorted(
        path for path in stdlib_dir.glob("*.py")
        if MIN_FILE_BYTES <= path.stat().st_size <= MAX_FILE_BYTES and not path.name.startswith("_")
    )
    rng.shuffle(modules)
    cases: list[dict[str, object]] = []
    for path in modules:
        module_cases = _cases_from_module(path, stdlib_dir, rng)
        if len(module_cases) >= CASES_PER_MODULE:
            cases.extend(module_cases[:CASES_PER_MODULE])
        if len(cases) >= MODULE_COUNT * CASES_PER_MODULE:
            break
    return cases


def _cases_from_module(path: Path, stdlib_dir: Path, rng: random.Random) -> list[dict[str, object]]:
    source = path.read_text(encoding="utf-8")
    lines = source.split("\n")
    functions = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)]
    rng.shuffle(functions)
    cases = []
    for function in functions:
        candidates = [
            statement for statement in ast.walk(function)
            if isinstance(statement, SIMPLE_STATEMENTS)
            and statement.lineno == statement.end_lineno
            and statement.lineno > function.body[0].lineno
            and not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
            and len(lines[statement.lineno - 1].strip()) >= MIN_LINE_CHARS
            and lines[statement.lineno - 1].strip() == ast.get_source_segment(source, statement)
        ]
        if not candidates:
            continue
        statement = rng.choice(candidates)
        index = statement.lineno - 1
        line = lines[index]
        indent = line[: len(line) - len(line.lstrip())]
        cases.append({
            "id": f"{path.stem}.{function.name}:{statement.lineno}",
            "path": str(path.relative_to(stdlib_dir)),
            "lineno": statement.lineno,
            "expected": line.strip(),
            "prefix": "\n".join(lines[:index]) + "\n" + indent,
            "suffix": "\n" + "\n".join(lines[index + 1 :]),
        })
    return cases


def normalise(text: str) -> str:
    """Collapse whitespace runs so that spacing differences do not count."""
    return " ".join(text.split())


def parses(source: str) -> bool:
    """Tell whether `source` is valid Python."""
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def run(model: DefaultModel, prompt_format: PromptFormat, cases: list[dict[str, str]]) -> dict[str, float]:
    """Complete every case with one model and format; return the scores."""
    settings = CompletionSettings()
    generator = load_generator(ModelSettings(default=model))
    generator.vocabulary_index()  # built once per model; kept out of the latencies
    exact = first_line_exact = parsed = empty = 0
    latencies_ms = []
    for case in cases:
        started = time.perf_counter()
        completion = complete_at(
            case["prefix"], case["suffix"], "", generator, settings, prompt_format=prompt_format, language="python"
        )
        latencies_ms.append((time.perf_counter() - started) * 1000.0)
        expected = normalise(case["expected"])
        exact += normalise(completion) == expected
        first_line_exact += normalise(completion.split("\n")[0]) == expected
        parsed += parses(case["prefix"] + completion + case["suffix"])
        empty += not completion
        logger.debug("%s: %r (expected %r)", case["id"], completion, case["expected"])
    typing_ms = _typing_latencies(generator, settings, prompt_format, cases[:TYPING_CASES])
    generator.close()
    count = len(cases)
    quantiles = statistics.quantiles(latencies_ms, n=20)
    return {
        "exact": exact / count, "first_line_exact": first_line_exact / count,
        "parses": parsed / count, "empty": empty / count,
        "p50_ms": statistics.median(latencies_ms), "p95_ms": quantiles[18],
        "typing_p50_ms": statistics.median(typing_ms),
    }


def _typing_latencies(
    generator: LlamaGenerator, settings: CompletionSettings, prompt_format: PromptFormat, cases: list[dict[str, str]]
) -> list[float]:
    """Time completions after each of the first keystrokes of the removed line.

    The prompt then differs from the previous one only at its end, which is the case the
    cached keys and values of the model speed up.
    """
    latencies_ms = []
    for case in cases:
        for typed in range(TYPED_CHARS + 1):
            prefix = case["prefix"] + case["expected"][:typed]
            started = time.perf_counter()
            complete_at(prefix, case["suffix"], "", generator, settings, prompt_format=prompt_format, language="python")
            if typed > 0:
                latencies_ms.append((time.perf_counter() - started) * 1000.0)
    return latencies_ms


def main() -> None:
    """Build the dev set or run the measurement, printing a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="store_true", help="rebuild bench/data/completion_dev.jsonl and exit")
    parser.add_argument("--models", nargs="+", default=[model.value for model in DefaultModel], help="models to run")
    parser.add_argument("--formats", nargs="+", default=[f.value for f in PromptFormat], help="prompt formats to run")
    parser.add_argument("--limit", type=int, default=0, help="run only the first N cases (0: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every completion")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.verbose:
        logger.setLevel(logging.DEBUG)

    if args.build:
        cases = build_dev_set(STDLIB_DIR, SEED)
        DATA_PATH.parent.mkdir(parents=True, exist_ok=True)
        with DATA_PATH.open("w", encoding="utf-8") as handle:
            for case in cases:
                handle.write(json.dumps(case) + "\n")
        modules = sorted({str(case["path"]) for case in cases})
        print(f"wrote {len(cases)} cases from {len(modules)} modules to {DATA_PATH}: {', '.join(modules)}")
        return

    cases = [json.loads(line) for line in DATA_PATH.read_text(encoding="utf-8").splitlines()]
    cases = cases[: args.limit] if args.limit else cases
    print(f"{len(cases)} cases; {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("| model | format | exact | first line exact | parses | empty | p50 ms | p95 ms | typing p50 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model in args.models:
        for format_name in args.formats:
            scores = run(DefaultModel(model), PromptFormat(format_name), cases)
            columns = [model, format_name] + [f"{scores[key]:.2f}" for key in QUALITY_KEYS]
            columns += [f"{scores[key]:.0f}" for key in LATENCY_KEYS]
            print("| " + " | ".join(columns) + " |", flush=True)


if __name__ == "__main__":
    main()
