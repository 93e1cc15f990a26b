"""Lint options and the run of every rule over the prompts and templates of one discovery."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from assistant.config import LintSettings
from assistant.errors import InvalidInput
from assistant.promptlint.content import check_secrets, check_unicode
from assistant.promptlint.discovery import Discovery, Prompt
from assistant.promptlint.finding import RULES, Finding
from assistant.promptlint.rules import (
    check_braces,
    check_fills,
    check_indentation,
    check_missing_prefix,
    check_trailing_whitespace,
)
from assistant.promptlint.tokens import (
    Tokenizer,
    TokenLimits,
    check_length,
    check_undertrained,
)

logger = logging.getLogger(__name__)

# Context window used when no model is loaded; the default of model.n_ctx.
DEFAULT_N_CTX = 4096
DEFAULT_LIMITS = TokenLimits(DEFAULT_N_CTX)


@dataclass(frozen=True)
class LintOptions:
    """Lint settings: selected and ignored rule codes, token limits and the model's tokenizer.

    Without a tokenizer the token rules (RCP007, RCP010) are skipped.
    """

    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    limits: TokenLimits = DEFAULT_LIMITS
    tokenizer: Tokenizer | None = None
    undertrained: Mapping[int, str] = field(default_factory=dict)

    def is_enabled(self, code: str) -> bool:
        """Tell whether rule `code` runs under these options."""
        return (self.select is None or code in self.select) and code not in self.ignore


def options_from_settings(settings: LintSettings, limits: TokenLimits = DEFAULT_LIMITS) -> LintOptions:
    """Build lint options from the `lint` settings; the token budget goes into `limits`.

    Raises:
        InvalidInput: a rule code in `lint.select` or `lint.ignore` is unknown, or the budget is negative.
    """
    if settings.budget_tokens < 0:
        raise InvalidInput(f"lint.budget_tokens is {settings.budget_tokens}; pass 0 (no budget) or a token count")
    budget = settings.budget_tokens or None
    select = rule_codes(settings.select, "lint.select") if settings.select else None
    return LintOptions(select=select, ignore=rule_codes(settings.ignore, "lint.ignore"),
                       limits=TokenLimits(limits.n_ctx, budget))


def rule_codes(values: list[str], key: str) -> frozenset[str]:
    """Validate rule codes such as "rcp001" and return them in upper case.

    Raises:
        InvalidInput: a code is not one of the known rule codes.
    """
    codes = frozenset(value.strip().upper() for value in values if value.strip())
    unknown = sorted(codes - set(RULES))
    if unknown:
        raise InvalidInput(f"{key} has unknown rule codes {', '.join(unknown)}; known codes: {', '.join(sorted(RULES))}")
    return codes


def run_rules(source: bytes, discovery: Discovery, options: LintOptions) -> Iterator[Finding]:
    """Yield the findings of every rule; rule selection is applied later, except for the token rules."""
    for template in discovery.templates:
        yield from check_fills(template)
    for prompt in discovery.prompts:
        yield from _prompt_rules(source, discovery, prompt, options)


def _prompt_rules(source: bytes, discovery: Discovery, prompt: Prompt, options: LintOptions) -> Iterator[Finding]:
    yield from check_braces(source, prompt)
    if not prompt.is_llm_prompt:
        return
    yield from check_missing_prefix(discovery.facts, prompt)
    yield from check_trailing_whitespace(prompt)
    yield from check_indentation(prompt)
    yield from check_secrets(prompt)
    yield from check_unicode(prompt)
    if options.tokenizer is not None:
        if options.is_enabled("RCP007"):
            yield from check_length(prompt, options.tokenizer, options.limits)
        if options.is_enabled("RCP010"):
            yield from check_undertrained(prompt, options.tokenizer, options.undertrained)
