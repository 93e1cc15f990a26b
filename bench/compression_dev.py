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
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.ask import fill_template  # noqa: E402
from assistant.config import DefaultModel  # noqa: E402
from assistant.context import render_chunk  # noqa: E402
from assistant.model_files import default_model_path  # noqa: E402
from assistant.retrieval import Hit, RetrievedChunk  # noqa: E402
from indexer.types import Chunk  # noqa: E402
from prompts import load_prompt  # noqa: E402

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
            rank = len(cases) % CHUNKS_PER_QUESTION
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
    """Teacher-forced scoring with the shipped Gemma 3 270M on one thread.

    Note: this reads logits through llama-cpp-python directly, because the `Generator` seam has
    no scoring call; a `Generator.score()` would remove that.
    """

    def __init__(self, n_ctx: int = 2048) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        path = default_model_path(DefaultModel.GEMMA3_270M)
        self.llm = llama_cpp.Llama(str(path), n_ctx=n_ctx, n_threads=1, n_threads_batch=1, verbose=False)
        self.n_vocab = self.llm.n_vocab()

    def count_tokens(self, text: str) -> int:
        """Count tokens without BOS, like `Generator.count_tokens`."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def score(self, prompt: str, answer: str) -> Score:
        """Score `answer` as the continuation of `prompt`."""
        prompt_ids = self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
        answer_ids = self.llm.tokenize(answer.encode("utf-8"), add_bos=False, special=False)
        self.llm.reset()
        self.llm.eval(prompt_ids)
        logprobs: list[float] = []
        hits = 0
        for token_id in answer_ids:
            logits = np.ctypeslib.as_array(self._llama_cpp.llama_get_logits_ith(self.llm.ctx, -1), shape=(self.n_vocab,))
            shifted = logits - logits.max()
            logprobs.append(float(shifted[token_id] - math.log(float(np.exp(shifted).sum()))))
            hits += int(int(logits.argmax()) == token_id)
            self.llm.eval([token_id])
        return Score(sum(logprobs) / len(logprobs), hits / len(answer_ids), hits == len(answer_ids))


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
