"""Token rules counted with the model's own tokenizer: prompt length and under-trained tokens,
plus the token view of a prompt that the editor shows on hover."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.promptlint.discovery import Prompt
from assistant.promptlint.finding import Finding, Severity, finding

logger = logging.getLogger(__name__)

MAX_SHOWN_PIECES = 40


class Tokenizer(Protocol):
    """The part of `assistant.model.Generator` the linter uses; tests pass a fake."""

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        """Tokenize `text`."""
        ...

    def detokenize(self, ids: Sequence[int]) -> str:
        """Return the text of `ids`."""
        ...


@dataclass(frozen=True)
class TokenLimits:
    """The context window and the optional budget a prompt is checked against, in tokens."""

    n_ctx: int
    budget_tokens: int | None = None


def check_length(prompt: Prompt, tokenizer: Tokenizer, limits: TokenLimits) -> Iterator[Finding]:
    """RCP007: a prompt longer than the context window (error) or the budget (warning)."""
    limit = min(limits.n_ctx, limits.budget_tokens or limits.n_ctx)
    # A token covers at least one byte, so a text with fewer bytes than the limit always fits.
    if len(prompt.text.text.encode("utf-8")) < limit:
        return
    count = len(tokenizer.tokenize(prompt.text.text))
    end = prompt.start_byte + min(prompt.end_byte - prompt.start_byte, 1)
    if count > limits.n_ctx:
        message = (f"prompt has {count} tokens, more than the model's context window of {limits.n_ctx}; "
                   "shorten it or raise model.n_ctx")
        yield finding("RCP007", message, prompt.start_byte, end)
    elif limits.budget_tokens is not None and count > limits.budget_tokens:
        message = (f"prompt has {count} tokens, more than the budget of {limits.budget_tokens}; "
                   "shorten it or raise the budget")
        yield finding("RCP007", message, prompt.start_byte, end, severity=Severity.WARNING)


def check_undertrained(prompt: Prompt, tokenizer: Tokenizer, undertrained: Mapping[int, str]) -> Iterator[Finding]:
    """RCP010: tokens of the prompt that the model barely saw in training (reported once per token)."""
    if not undertrained:
        return
    text = prompt.text.text
    seen: set[int] = set()
    for token_id in tokenizer.tokenize(text):
        if token_id not in undertrained or token_id in seen:
            continue
        seen.add(token_id)
        piece = tokenizer.detokenize([token_id]) or undertrained[token_id]
        position = text.find(piece.strip()) if piece.strip() else -1
        start, end = (prompt.text.source_span(position, position + len(piece.strip())) if position >= 0
                      else (prompt.start_byte, prompt.start_byte + 1))
        message = (f"token {piece!r} (id {token_id}) looks under-trained in this model, so the model may "
                   "handle it unpredictably; reword the text around it if the output goes wrong")
        yield finding("RCP010", message, start, end)


@dataclass(frozen=True)
class TokenView:
    """A prompt as the model tokenizes it: the token count and the pieces of its last line."""

    token_count: int
    last_line: str
    last_line_pieces: tuple[str, ...]

    def to_markdown(self) -> str:
        """Render for an editor hover."""
        visible = self.last_line_pieces[-MAX_SHOWN_PIECES:]
        pieces = " ".join(f"`{piece!r}`" for piece in visible)
        skipped = len(self.last_line_pieces) - len(visible)
        more = f"({skipped} earlier pieces not shown) " if skipped else ""
        return (f"**Prompt: {self.token_count} tokens**\n\nLast line as the model tokenizes it "
                f"({len(self.last_line_pieces)} tokens): {more}{pieces}")


def token_view(text: str, tokenizer: Tokenizer) -> TokenView:
    """Tokenize `text` and list the pieces that make up its last line, as tokenized in the whole prompt.

    The last line is the text after the final newline, or the line before it when the text ends
    with a newline. The pieces come from the whole prompt, because a line alone may tokenize differently.
    """
    ids = tokenizer.tokenize(text)
    body = text.removesuffix("\n")
    line_start = body.rfind("\n") + 1
    pieces: list[str] = []
    consumed = 0
    for token_id in ids:
        piece = tokenizer.detokenize([token_id])
        consumed += len(piece)
        if consumed > line_start:
            pieces.append(piece)
    return TokenView(len(ids), body[line_start:], tuple(pieces))
