"""Dev sets and a log-likelihood scorer shared by the compression ablation and benchmark.

Ask cases: questions about Python 3.11 standard-library functions with a short reference answer
(the function name, the exception it raises, a parameter default). Their context is the gold
function plus its neighbours in the file, with the gold chunk at a rotating rank, standing in
for retrieval. Completion cases: bench/data/completion_dev.jsonl; their context is the code above
the lines nearest the cursor, which stay uncompressed.

Quality is measured by teacher forcing the reference answer after the prompt. The scores are the
mean log-probability per answer token, the share of answer tokens that are the model's top
choice, and whether all of them are, in which case greedy decoding would output the answer.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.ask import fill_template
from assistant.config import ModelSettings
from assistant.context import render_chunk
from assistant.model import load_generator
from assistant.retrieval import Hit, RetrievedChunk
from indexer.types import Chunk
from prompts import load_prompt

STDLIB_DIR = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
COMPLETION_PATH = Path(__file__).resolve().parent / "data" / "completion_dev.jsonl"
SEED = 20261208
CHUNKS_PER_QUESTION = 3
MAX_FUNCTION_LINES = 30
MIN_FUNCTION_LINES = 5
NEAR_LINES = 8
FAR_LINES = 40


@dataclass(frozen=True)
class AskCase:
    """A question, its reference answer and the retrieved chunks, best first."""

    case_id: str
    question: str
    answer: str
    chunks: list[RetrievedChunk]


@dataclass(frozen=True)
class CompletionCase:
    """The far code (compressible), the near code before the cursor and the expected line."""

    case_id: str
    far: str
    near: str
    expected: str


@dataclass(frozen=True)
class Score:
    """Teacher-forced quality of one reference answer."""

    mean_logprob: float
    token_accuracy: float
    is_exact: bool


def build_ask_cases(count: int) -> list[AskCase]:
    """Build `count` ask cases from standard-library modules, deterministically."""
    rng = random.Random(SEED)
    modules = sorted(path for path in STDLIB_DIR.glob("*.py") if 6_000 <= path.stat().st_size <= 40_000 and not path.name.startswith("_"))
    rng.shuffle(modules)
    cases: list[AskCase] = []
    kinds = ["purpose", "raises", "default"]
    for path in modules:
        source = path.read_text(encoding="utf-8")
        functions = _functions(source)
        if len(functions) < CHUNKS_PER_QUESTION:
            continue
        kind = kinds[len(cases) % len(kinds)]
        for index, function in enumerate(functions):
            question_answer = _question(kind, function, path.name)
            if question_answer is None:
                continue
            neighbours = [item for offset, item in enumerate(functions) if offset != index]
            neighbours.sort(key=lambda item: abs(item.lineno - function.lineno))
            chosen = [function, *neighbours[: CHUNKS_PER_QUESTION - 1]]
            # Kinds rotate with every case and ranks with every round of kinds, so each kind meets every rank.
            rank = (len(cases) // len(kinds)) % CHUNKS_PER_QUESTION
            chosen[0], chosen[rank] = chosen[rank], chosen[0]
            chunks = [_retrieved(path.name, source, item, number) for number, item in enumerate(chosen, start=1)]
            cases.append(AskCase(f"{path.name}:{function.name}:{kind}", question_answer[0], question_answer[1], chunks))
            break
        if len(cases) >= count:
            break
    return cases


def _functions(source: str) -> list[ast.FunctionDef]:
    tree = ast.parse(source)
    return [
        node for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and MIN_FUNCTION_LINES <= (node.end_lineno or node.lineno) - node.lineno + 1 <= MAX_FUNCTION_LINES
        and not node.name.startswith("__")
    ]


def _question(kind: str, function: ast.FunctionDef, file_name: str) -> tuple[str, str] | None:
    if kind == "purpose":
        doc = ast.get_docstring(function)
        summary = doc.strip().split("\n")[0].strip().rstrip(".") if doc else ""
        if len(summary.split()) < 4:
            return None
        return f"Which function in {file_name} does this: {summary}?", f"`{function.name}`"
    if kind == "raises":
        for node in ast.walk(function):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name):
                return f"Which exception does `{function.name}` in {file_name} raise?", f"`{node.exc.func.id}`"
        return None
    defaults = function.args.defaults
    names = function.args.args[len(function.args.args) - len(defaults):]
    for argument, default in zip(names, defaults):
        if isinstance(default, ast.Constant) and default.value is not None:
            return (
                f"What is the default value of the parameter `{argument.arg}` of `{function.name}` in {file_name}?",
                f"`{default.value!r}`",
            )
    return None


def _retrieved(file_name: str, source: str, function: ast.FunctionDef, rank: int) -> RetrievedChunk:
    lines = source.split("\n")
    start = min([function.lineno, *(decorator.lineno for decorator in function.decorator_list)])
    end = function.end_lineno or function.lineno
    text = "\n".join(lines[start - 1 : end])
    chunk = Chunk(
        path=file_name, language="python", symbol=function.name, chunk_type="function", start_line=start,
        end_line=end, start_byte=0, end_byte=len(text.encode("utf-8")), text=text, content_hash=f"{file_name}:{start}",
    )
    return RetrievedChunk(hit=Hit(chunk_id=rank, score=1.0 / rank), chunk=chunk)


def build_completion_cases(count: int) -> list[CompletionCase]:
    """Take the first `count` completion cases whose prefix has enough code above the cursor."""
    cases: list[CompletionCase] = []
    for line in COMPLETION_PATH.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        prefix_lines = str(record["prefix"]).split("\n")
        if len(prefix_lines) < NEAR_LINES + FAR_LINES // 2:
            continue
        near = "\n".join(prefix_lines[-NEAR_LINES:])
        far = "\n".join(prefix_lines[-NEAR_LINES - FAR_LINES : -NEAR_LINES]) + "\n"
        cases.append(CompletionCase(str(record["id"]), far, near, str(record["expected"]).strip()))
        if len(cases) >= count:
            break
    return cases


def ask_prompt(context_text: str, question: str) -> str:
    """Fill the shipped ask template."""
    return fill_template(load_prompt("ask"), {"context": context_text, "question": question})


def render_context(chunks: Sequence[RetrievedChunk], texts: Sequence[str] | None = None) -> str:
    """Render chunks as context packing does, optionally with replaced (compressed) texts."""
    return "\n".join(render_chunk(item, "#", None if texts is None else texts[index]) for index, item in enumerate(chunks))


class Scorer:
    """Teacher-forced scoring with the shipped Gemma 3 270M on one thread, through `LlamaGenerator.score`.

    Every prompt is evaluated from an empty KV cache. Reusing the prompt before it changed the
    mean log-probability of an answer by up to 0.17 in a check on 15 prompts, because llama.cpp
    then evaluates the rest in a smaller batch. With `cache_path`, scores are also stored in a
    JSON-lines file keyed by model, prompt and answer, so a rerun evaluates only new prompts.
    """

    def __init__(self, n_ctx: int = 4096, cache_path: Path | None = None) -> None:
        self.generator = load_generator(ModelSettings(n_threads=1, n_ctx=n_ctx))
        self.evaluated = 0
        self._cache_path = cache_path
        self._cache: dict[str, Score] = {}
        if cache_path is not None and cache_path.is_file():
            for line in cache_path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                self._cache[record["key"]] = Score(record["mean_logprob"], record["token_accuracy"], record["is_exact"])

    def count_tokens(self, text: str) -> int:
        """Count tokens without BOS, like `Generator.count_tokens`."""
        return self.generator.count_tokens(text)

    def score(self, prompt: str, answer: str) -> Score:
        """Score `answer` as the continuation of `prompt`."""
        key = hashlib.sha256(f"{self.generator.model_id}\x00{prompt}\x00{answer}".encode()).hexdigest()
        if key in self._cache:
            return self._cache[key]
        self.generator.clear_cached_sequences()
        result = self.generator.score(prompt, answer)
        score = Score(result.mean_logprob, result.token_accuracy, result.is_exact)
        self._cache[key] = score
        self.evaluated += 1
        if self._cache_path is not None:
            with self._cache_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"key": key, **dataclasses.asdict(score)}) + "\n")
        return score

    def close(self) -> None:
        """Free the model."""
        self.generator.close()


def mean_scores(scores: Sequence[Score]) -> dict[str, float]:
    """Average scores over cases."""
    return {
        "mean_logprob": round(sum(score.mean_logprob for score in scores) / len(scores), 4),
        "token_accuracy": round(sum(score.token_accuracy for score in scores) / len(scores), 4),
        "exact": round(sum(score.is_exact for score in scores) / len(scores), 4),
    }


def cut_lines_to_tokens(text: str, budget_tokens: int, count_tokens: Callable[[str], int], keep_end: bool) -> str:
    """Plain truncation at a line boundary: the most first (or last) lines within the budget."""
    lines = text.splitlines(keepends=True)
    low, high = 0, len(lines)
    while low < high:
        middle = (low + high + 1) // 2
        part = "".join(lines[len(lines) - middle :] if keep_end else lines[:middle])
        if count_tokens(part) <= budget_tokens:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return ""
    return "".join(lines[len(lines) - low :] if keep_end else lines[:low])
