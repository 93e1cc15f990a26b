"""Inline completion at a cursor: prompt building, generation and post-processing.

Independent of LSP: callers pass the document text around the cursor and retrieved context.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from assistant.completion_rules import Cursor, allows_multiline, finish_completion, make_cursor, shape_lines
from assistant.config import CompletionSettings
from assistant.fim import build_fim_prompt
from assistant.model import Generator
from prompts import load_prompt

logger = logging.getLogger(__name__)


class PromptFormat(str, enum.Enum):
    """Where the prompt of a model without fill-in-the-middle tokens shows the code after the cursor."""

    PREFIX = "prefix"
    SUFFIX_COMMENT = "suffix_comment"
    NEXT_LINES_COMMENT = "next_lines_comment"


# TODO: move these into CompletionSettings once the settings tree has them; until then the
# defaults live here. PREFIX scored best on bench/data/completion_dev.jsonl (see bench/).
DEFAULT_PROMPT_FORMAT = PromptFormat.PREFIX
HEAL_TOKENS = 1
SUFFIX_HINT_LINES = 3
# Tokens kept free for the fill-in-the-middle markers and BOS when sizing the prompt.
_MARKER_TOKENS = 8
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
    context: str,
    generator: Generator,
    settings: CompletionSettings,
    prompt_format: PromptFormat = DEFAULT_PROMPT_FORMAT,
    language: str | None = None,
) -> list[int]:
    """Build the token prompt for completing between `prefix` and `suffix`.

    `prefix` is cut to `settings.prefix_tokens` at a line boundary, keeping its end. `context`
    (code retrieved from other files) is cut to `settings.context_tokens`, keeping its start,
    and goes first. Models with FIM tokens get their own format, so `prompt_format` is ignored.
    """
    suffix_text = "\n".join(suffix.split("\n")[: settings.suffix_lines + 1])
    context_text = trim_to_tokens(context, generator, settings.context_tokens, keep_end=False)
    comment = COMMENT_MARKERS.get((language or "").lower(), DEFAULT_COMMENT_MARKER)
    context_block = _render("completion_context", comment=comment, context=context_text.rstrip("\n")) if context_text.strip() else ""

    reserved = settings.max_tokens + _MARKER_TOKENS + generator.count_tokens(context_block)
    if generator.fim_tokens is not None:
        reserved += generator.count_tokens(suffix_text)
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
    text = context_block + _with_suffix_hint(prefix_text, cursor, prompt_format, comment)
    return generator.tokenize(text, add_bos=True)


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
    max_chars = budget_tokens * _MAX_CHARS_PER_TOKEN
    text = text[-max_chars:] if keep_end else text[:max_chars]
    if generator.count_tokens(text) <= budget_tokens:
        return text

    lines = text.splitlines(keepends=True)
    # Binary search for the most lines that fit; the token count grows with the line count.
    low, high = 0, len(lines)
    while low < high:
        middle = (low + high + 1) // 2
        part = "".join(lines[len(lines) - middle :] if keep_end else lines[:middle])
        if generator.count_tokens(part) <= budget_tokens:
            low = middle
        else:
            high = middle - 1
    if low > 0:
        return "".join(lines[len(lines) - low :] if keep_end else lines[:low])
    ids = generator.tokenize(lines[-1] if keep_end else lines[0])
    return generator.detokenize(ids[-budget_tokens:] if keep_end else ids[:budget_tokens])


def complete_at(
    prefix: str,
    suffix: str,
    context: str,
    generator: Generator,
    settings: CompletionSettings,
    is_cancelled: Callable[[], bool] | None = None,
    prompt_format: PromptFormat = DEFAULT_PROMPT_FORMAT,
    language: str | None = None,
) -> str:
    """Generate the text to insert at the cursor between `prefix` and `suffix`.

    Returns "" when there is nothing worth suggesting or the request was cancelled.
    """
    prompt = build_completion_prompt(prefix, suffix, context, generator, settings, prompt_format, language)
    cursor = make_cursor(prefix, suffix, settings.suffix_lines)
    stop = ["\n"] if cursor.right.strip() else []
    heal_tokens = 0 if generator.fim_tokens is not None else HEAL_TOKENS
    logger.debug(
        "completing with %d prompt tokens, %s", len(prompt), "multi-line" if allows_multiline(cursor) else "single line"
    )

    generated = ""
    pieces = generator.generate(prompt, settings.max_tokens, settings.temperature, stop, is_cancelled, heal_tokens)
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
