"""The ask pipeline: retrieve, pack context, fill the ask template, stream the answer."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.config import AskSettings
from assistant.context import Context, compression_plan, pack_context
from assistant.errors import ContextOverflow, InvalidInput
from assistant.model import Generator
from assistant.prompt_parts import PromptPart, PromptParts
from assistant.results import AskStream, Source
from assistant.retrieval import HybridRetriever
from prompts import load_prompt

if TYPE_CHECKING:
    from assistant.path_context import ContextPath, PathRetriever

logger = logging.getLogger(__name__)

ASK_TEMPLATE = "ask"
ANSWER_STOP = ["\nQuestion:", "\n\n\n\n"]
# Ask prompts share one KV cache sequence, so the template start is evaluated once.
ASK_CACHE_KEY = "ask"
_PLACEHOLDER = re.compile(r"\{(context|question)\}")


@dataclass(frozen=True)
class AskPrompt:
    """The filled ask template, the context inside it, and the graph paths when PathRAG built it.

    `parts` is the same text split into the template before the context, the context's chunks
    and the rest, so stored chunk KV caches can be restored.
    """

    text: str
    context: Context
    paths: list[ContextPath] = field(default_factory=list)
    parts: PromptParts | None = None

    def prompt(self) -> str | PromptParts:
        """What to pass to the generator: the parts when there are any, else the text."""
        return self.parts if self.parts is not None else self.text


def split_template(template: str, question: str, context: Context, is_cacheable: bool) -> PromptParts:
    """Fill `template` as parts: the text before `{context}`, the context's parts, the text after."""
    before, marker, after = template.partition("{context}")
    if not marker:
        return PromptParts((PromptPart(fill_template(template, {"context": "", "question": question})),))
    values = {"context": "", "question": question}
    parts = [PromptPart(fill_template(before, values)), *context.prompt_parts(is_cacheable), PromptPart(fill_template(after, values))]
    return PromptParts(tuple(part for part in parts if part.text))


def fill_template(template: str, values: dict[str, str]) -> str:
    """Replace `{context}` and `{question}` in one pass.

    One pass matters: a question that itself contains "{context}" must stay literal.
    """
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def build_ask_prompt(
    question: str,
    retriever: HybridRetriever,
    generator: Generator,
    settings: AskSettings,
    path_retriever: PathRetriever | None = None,
    is_cacheable: bool = False,
) -> AskPrompt:
    """Retrieve chunks for `question` and pack them into what is left of the context window.

    With a `path_retriever`, the context is PathRAG paths over the code graph instead of flat
    top-k chunks. `is_cacheable` marks the chunks as parts whose stored KV caches the model
    may restore.
    """
    if not question.strip():
        raise InvalidInput("the question is empty; pass the question as text, e.g. ragcoder ask \"where is X parsed?\"")
    template = load_prompt(ASK_TEMPLATE)
    fixed_tokens = generator.count_tokens(fill_template(template, {"context": "", "question": question}))
    available = generator.n_ctx - settings.max_tokens - fixed_tokens
    if available <= 0:
        raise ContextOverflow(
            f"the question takes {fixed_tokens} tokens and the answer {settings.max_tokens}, more than the "
            f"model's context window of {generator.n_ctx}; shorten the question or raise model.n_ctx"
        )
    budget = min(settings.context_tokens, available)
    if path_retriever is not None:
        return _path_prompt(question, template, path_retriever, budget, generator, is_cacheable)
    retrieved = retriever.retrieve(question)
    compression = compression_plan(
        settings.compression, settings.compression_min_ratio, "ask", question, settings.compression_mode.value
    )
    context = pack_context(retrieved, budget, generator.count_tokens, compression=compression)
    text = fill_template(template, {"context": context.text, "question": question})
    parts = split_template(template, question, context, is_cacheable)
    logger.debug("ask prompt: %d context tokens from %d chunks", context.tokens, len(context.used))
    return AskPrompt(text=text, context=context, parts=parts)


def _path_prompt(
    question: str,
    template: str,
    path_retriever: PathRetriever,
    budget: int,
    generator: Generator,
    is_cacheable: bool,
) -> AskPrompt:
    path_context = path_retriever.build_context(question, budget, generator.count_tokens)
    context = path_context.context
    text = fill_template(template, {"context": context.text, "question": question})
    parts = split_template(template, question, context, is_cacheable)
    logger.debug("ask prompt: %d context tokens from %d paths", context.tokens, len(path_context.paths))
    return AskPrompt(text=text, context=context, paths=path_context.paths, parts=parts)


def sources_of(context: Context) -> list[Source]:
    """List the chunks of a context as answer sources."""
    return [
        Source(
            path=item.chunk.path,
            symbol=item.chunk.symbol,
            start_line=item.chunk.start_line,
            end_line=item.chunk.end_line,
            score=item.hit.score,
        )
        for item in context.used
    ]


def stream_answer(
    prompt: AskPrompt,
    generator: Generator,
    settings: AskSettings,
    is_cancelled: Callable[[], bool] | None = None,
) -> AskStream:
    """Start generating the answer to a filled ask prompt."""
    tokens: Iterator[str] = generator.generate(
        prompt.prompt(),
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        stop=ANSWER_STOP,
        is_cancelled=is_cancelled,
        cache_key=ASK_CACHE_KEY,
    )
    return AskStream(tokens=stop_repeated_lines(tokens), sources=sources_of(prompt.context))


MAX_LINE_REPEATS = 2


def stop_repeated_lines(pieces: Iterator[str], max_repeats: int = MAX_LINE_REPEATS) -> Iterator[str]:
    """Pass text through until the model writes a line it already wrote `max_repeats` times.

    Small models fall into loops that repeat one sentence until the token limit. Text that could
    still become such a line is held back until the line ends, so the repeat is never shown.
    """
    counts: dict[str, int] = {}
    pending = ""
    shown = 0
    try:
        for piece in pieces:
            pending += piece
            while "\n" in pending:
                line, pending = pending.split("\n", 1)
                key = line.strip()
                if key and counts.get(key, 0) >= max_repeats:
                    logger.debug("stopped an answer that repeats a line %d times", max_repeats + 1)
                    return
                if key:
                    counts[key] = counts.get(key, 0) + 1
                yield line[shown:] + "\n"
                shown = 0
            saturated = [key for key, count in counts.items() if count >= max_repeats]
            partial = pending.strip()
            if not any(key.startswith(partial) for key in saturated) and len(pending) > shown:
                yield pending[shown:]
                shown = len(pending)
        if pending.strip() not in {key for key, count in counts.items() if count >= max_repeats}:
            if len(pending) > shown:
                yield pending[shown:]
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
