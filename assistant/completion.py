"""Inline completion at a cursor: prompt building, generation and post-processing.

Independent of LSP: callers pass the document text around the cursor and retrieved context.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from assistant.completion_rules import (
    Cursor,
    allows_multiline,
    finish_completion,
    make_cursor,
    shape_lines,
)
from assistant.config import CompletionSettings
from assistant.context import Context
from assistant.fim import build_fim_prompt
from assistant.model import Generator, Prompt
from assistant.prompt_parts import PromptPart, PromptParts
from prompts import load_prompt

logger = logging.getLogger(__name__)


class PromptFormat(str, enum.Enum):
    """Placement of the code after the cursor in the prompt of a model without FIM tokens."""

    PREFIX = "prefix"
    SUFFIX_COMMENT = "suffix_comment"
    NEXT_LINES_COMMENT = "next_lines_comment"


# TODO: move these into CompletionSettings once the settings tree has them. Until then the
# defaults live here.
# On the 60 cases of `python bench/dev_completion.py` (Gemma 3 270M, 2-core AMD EPYC), PREFIX and
# SUFFIX_COMMENT tied within one case on exact match (0.15-0.17) and parse rate (0.87-0.93), and
# NEXT_LINES_COMMENT scored 0.00. PREFIX wins the tie because its prompt start does not change
# when the cursor moves to another line, so the cached start of the previous prompt is reused.
DEFAULT_PROMPT_FORMAT = PromptFormat.PREFIX
HEAL_TOKENS = 1
SUFFIX_HINT_LINES = 3
PREFIX_START_STEP_LINES = 16
# Tokens kept free for the fill-in-the-middle markers and BOS when sizing the prompt.
_MARKER_TOKENS = 8
# Tokens kept free for the comment template around the suffix hint.
_HINT_TEMPLATE_TOKENS = 32
# A token is rarely longer than this many characters; trimming text to budget x this first
# keeps the exact, tokenizer-based trim cheap on large files.
_MAX_CHARS_PER_TOKEN = 16

COMMENT_MARKERS = {
    "python": "#", "ruby": "#", "shell": "#", "bash": "#", "toml": "#", "yaml": "#", "r": "#",
    "javascript": "//", "typescript": "//", "tsx": "//", "go": "//", "rust": "//", "java": "//",
    "c": "//", "cpp": "//", "csharp": "//", "kotlin": "//", "swift": "//", "scala": "//", "php": "//",
    "lua": "--", "sql": "--", "haskell": "--",
}
DEFAULT_COMMENT_MARKER = "#"


def build_completion_prompt(
    prefix: str,
    suffix: str,
    context: str | Context,
    generator: Generator,
    settings: CompletionSettings,
    prompt_format: PromptFormat = DEFAULT_PROMPT_FORMAT,
    language: str | None = None,
    is_cacheable: bool = False,
) -> Prompt:
    """Build the prompt for completing between `prefix` and `suffix`.

    `prefix` is cut to `settings.prefix_tokens` at a line boundary, keeping its end. `context`
    (code retrieved from other files) goes first; plain text is cut to `settings.context_tokens`,
    keeping its start, while a packed `Context` is already within its budget. With
    `is_cacheable`, the chunks of a packed context become prompt parts whose stored KV caches the
    model may restore. Models with FIM tokens get their own format as token ids, so
    `prompt_format` and `is_cacheable` do not apply to them.
    """
    suffix_text = "\n".join(suffix.split("\n")[: settings.suffix_lines + 1])
    comment = COMMENT_MARKERS.get((language or "").lower(), DEFAULT_COMMENT_MARKER)
    context_parts = _context_parts(context, generator, settings, comment, is_cacheable)
    context_block = "".join(part.text for part in context_parts)

    reserved = settings.max_tokens + _MARKER_TOKENS + generator.count_tokens(context_block)
    if generator.fim_tokens is not None:
        reserved += generator.count_tokens(suffix_text)
    elif prompt_format is not PromptFormat.PREFIX:
        hint_lines = [line for line in suffix_text.split("\n")[1:] if line.strip()][:SUFFIX_HINT_LINES]
        reserved += generator.count_tokens("\n".join(hint_lines)) + _HINT_TEMPLATE_TOKENS
    prefix_budget = max(0, min(settings.prefix_tokens, generator.n_ctx - reserved))
    prefix_text = trim_to_tokens(prefix, generator, prefix_budget, keep_end=True)

    if generator.fim_tokens is not None:
        bos = generator.tokenize("", add_bos=True)
        return build_fim_prompt(
            generator.fim_tokens,
            generator.tokenize(prefix_text),
            generator.tokenize(suffix_text),
            generator.tokenize(context_block),
            bos_id=bos[0] if bos else None,
        )
    cursor = make_cursor(prefix_text, suffix_text, SUFFIX_HINT_LINES)
    code = _with_suffix_hint(prefix_text, cursor, prompt_format, comment)
    if context_parts and context_parts[-1].source_path is None:
        # The code joins the closing line of the context block, so the prompt ends with a plain part.
        context_parts = [*context_parts[:-1], PromptPart(context_parts[-1].text + code)]
    else:
        context_parts = [*context_parts, PromptPart(code)]
    return PromptParts(tuple(part for part in context_parts if part.text))


def _context_parts(
    context: str | Context, generator: Generator, settings: CompletionSettings, comment: str, is_cacheable: bool
) -> list[PromptPart]:
    """Wrap retrieved code in the completion context template, as prompt parts."""
    if isinstance(context, Context):
        chunks = list(context.prompt_parts(is_cacheable))
    else:
        text = trim_to_tokens(context, generator, settings.context_tokens, keep_end=False)
        chunks = [PromptPart(text.rstrip("\n") + "\n")] if text.strip() else []
    if not any(part.text.strip() for part in chunks):
        return []
    template = load_prompt("completion_context")
    before, _, after = template.partition("{context}")
    values = {"comment": comment, "context": ""}
    closing = after.format(**values)
    # Chunk parts end with a newline of their own, so the line break before the closing line goes.
    closing = closing.removeprefix("\n")
    return [PromptPart(before.format(**values)), *chunks, PromptPart(closing)]


def _with_suffix_hint(prefix: str, cursor: Cursor, prompt_format: PromptFormat, comment: str) -> str:
    hint_lines = [line for line in cursor.next_lines if line.strip()][:SUFFIX_HINT_LINES]
    if prompt_format is PromptFormat.PREFIX or not hint_lines:
        return prefix
    if prompt_format is PromptFormat.SUFFIX_COMMENT:
        commented = "\n".join(f"{comment} {line}" for line in hint_lines)
        return _render("completion_suffix_comment", comment=comment, suffix_comment=commented) + prefix
    indent = cursor.left[: len(cursor.left) - len(cursor.left.lstrip())] or cursor.previous_line[
        : len(cursor.previous_line) - len(cursor.previous_line.lstrip())
    ]
    commented = "\n".join(f"{indent}{comment} {line.strip()}" for line in hint_lines)
    hint = _render("completion_next_lines", indent=indent, comment=comment, suffix_comment=commented)
    before_cursor_line = prefix[: len(prefix) - len(cursor.left)]
    return before_cursor_line + hint + cursor.left


def _render(name: str, **values: str) -> str:
    return load_prompt(name).format(**values)


def trim_to_tokens(text: str, generator: Generator, budget_tokens: int, keep_end: bool) -> str:
    """Cut `text` to at most `budget_tokens` tokens at a line boundary.

    `keep_end` keeps the last lines (a prefix before the cursor), otherwise the first lines. A
    single line longer than the budget is cut inside the line.
    """
    if budget_tokens <= 0 or not text:
        return ""
    lines = text.splitlines(keepends=True)
    if keep_end:
        return _keep_last_lines(lines, generator, budget_tokens)
    lines = _lines_within_chars(lines, budget_tokens * _MAX_CHARS_PER_TOKEN)
    count = _max_fitting(len(lines), lambda n: generator.count_tokens("".join(lines[:n])) <= budget_tokens)
    if count > 0:
        return "".join(lines[:count])
    return generator.detokenize(generator.tokenize(lines[0])[:budget_tokens])


def _keep_last_lines(lines: list[str], generator: Generator, budget_tokens: int) -> str:
    """Keep the last lines that fit, starting at a multiple of `PREFIX_START_STEP_LINES`.

    While the user types, the prefix grows at its end. A start line snapped to a coarse grid
    stays put across keystrokes, so the model reuses its cached keys and values for the
    unchanged start of the prompt instead of evaluating the whole prompt again.
    """
    char_limit = budget_tokens * _MAX_CHARS_PER_TOKEN
    chars_from_end = 0
    earliest = len(lines)
    while earliest > 0 and chars_from_end + len(lines[earliest - 1]) <= char_limit:
        earliest -= 1
        chars_from_end += len(lines[earliest])

    def fits(start: int) -> bool:
        return generator.count_tokens("".join(lines[start:])) <= budget_tokens

    step = PREFIX_START_STEP_LINES
    first_step = -(-earliest // step)
    steps = list(range(first_step * step, len(lines), step))
    # Later starts give fewer tokens, so the first fitting start is found by bisection.
    fitting = len(steps) - _max_fitting(len(steps), lambda n: fits(steps[len(steps) - n]))
    if fitting < len(steps):
        return "".join(lines[steps[fitting] :])

    tail = lines[max(earliest, steps[-1] if steps else 0) :] or lines[-1:]
    count = _max_fitting(len(tail), lambda n: fits(len(lines) - n))
    if count > 0:
        return "".join(lines[len(lines) - count :])
    return generator.detokenize(generator.tokenize(lines[-1])[-budget_tokens:])


def _lines_within_chars(lines: list[str], char_limit: int) -> list[str]:
    total = 0
    for index, line in enumerate(lines):
        total += len(line)
        if total > char_limit:
            return lines[: max(index, 1)]
    return lines


def _max_fitting(count: int, fits: Callable[[int], bool]) -> int:
    """Return the largest n in [0, count] with fits(n), for a `fits` true up to some n."""
    low, high = 0, count
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def complete_at(
    prefix: str,
    suffix: str,
    context: str | Context,
    generator: Generator,
    settings: CompletionSettings,
    is_cancelled: Callable[[], bool] | None = None,
    prompt_format: PromptFormat = DEFAULT_PROMPT_FORMAT,
    language: str | None = None,
    heal_tokens: int | None = None,
    is_cacheable: bool = False,
    cache_key: str | None = None,
) -> str:
    """Generate the text to insert at the cursor between `prefix` and `suffix`.

    `heal_tokens` overrides how many trailing prompt tokens token healing backs off (None keeps
    the default, 0 turns healing off). `is_cacheable` lets the model restore the retrieved
    chunks from their stored KV caches, and `cache_key` (the document) names the KV cache
    sequence reused between keystrokes. Returns "" when there is nothing worth suggesting or
    the request was cancelled.
    """
    prompt = build_completion_prompt(
        prefix, suffix, context, generator, settings, prompt_format, language, is_cacheable
    )
    cursor = make_cursor(prefix, suffix, settings.suffix_lines)
    stop = ["\n"] if cursor.right.strip() else []
    if heal_tokens is None:
        heal_tokens = 0 if generator.fim_tokens is not None else HEAL_TOKENS
    logger.debug("completing %s", "multi-line" if allows_multiline(cursor) else "a single line")

    generated = ""
    pieces = generator.generate(
        prompt, settings.max_tokens, settings.temperature, stop, is_cancelled, heal_tokens, cache_key
    )
    try:
        for piece in pieces:
            generated += piece
            _, is_done = shape_lines(generated, cursor, settings.max_lines, is_final=False)
            if is_done:
                break
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
    if is_cancelled is not None and is_cancelled():
        return ""
    return finish_completion(generated, cursor, settings.max_lines)
