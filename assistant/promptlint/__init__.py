"""Prompt linting: find LLM prompts in code and template files and check them with stable rule codes."""

from assistant.promptlint.finding import RULES, Finding, Fix, Location, Rule, Severity, TextEdit
from assistant.promptlint.linter import LintOptions, discover_text, lint_text, worst_severity
from assistant.promptlint.tokens import TokenLimits, Tokenizer, TokenView, token_view

__all__ = [
    "RULES", "Finding", "Fix", "LintOptions", "Location", "Rule", "Severity", "TextEdit", "TokenLimits",
    "TokenView", "Tokenizer", "discover_text", "lint_text", "token_view", "worst_severity",
]
