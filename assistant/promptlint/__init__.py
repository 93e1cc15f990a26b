"""Prompt linting: find LLM prompts in code and template files and check them with stable rule codes."""

from assistant.promptlint.checks import LintOptions
from assistant.promptlint.finding import (
    RULES,
    Finding,
    Fix,
    Location,
    Rule,
    Severity,
    TextEdit,
)
from assistant.promptlint.incremental import DocumentLinter
from assistant.promptlint.linter import discover_text, lint_text, worst_severity
from assistant.promptlint.tokens import Tokenizer, TokenLimits, TokenView, token_view

__all__ = [
    "RULES", "DocumentLinter", "Finding", "Fix", "LintOptions", "Location", "Rule", "Severity", "TextEdit", "TokenLimits",
    "TokenView", "Tokenizer", "discover_text", "lint_text", "token_view", "worst_severity",
]
