"""Lint one file's text: find its prompts, run the rules and place the findings in lines and columns."""

from __future__ import annotations

import logging

from assistant.promptlint.checks import LintOptions
from assistant.promptlint.discovery import (
    SOURCE_LANGUAGES,
    Discovery,
    discover,
    discover_file_template,
    is_template_file,
)
from assistant.promptlint.finding import RULES, Location, Severity
from assistant.promptlint.incremental import DocumentLinter
from indexer.parse import language_for_path

logger = logging.getLogger(__name__)

def discover_text(path: str, text: str, language: str | None = None) -> Discovery | None:
    """Find the prompts of a file; None when the file is neither a supported source file nor a template file."""
    if is_template_file(path):
        return discover_file_template(path, text)
    language = language or language_for_path(path)
    if language not in SOURCE_LANGUAGES:
        return None
    return discover(text.encode("utf-8"), language)


def lint_text(path: str, text: str, options: LintOptions | None = None, language: str | None = None) -> list[Location]:
    """Lint one file's text; findings come sorted by position, without suppressed ones."""
    return DocumentLinter(path, options or LintOptions(), language).lint(text)


def worst_severity(locations: list[Location]) -> Severity | None:
    """Return the most severe severity among the findings, or None without findings."""
    return max((item.finding.severity for item in locations), key=lambda s: s.rank, default=None)


def rule_codes() -> list[str]:
    """List every rule code, sorted."""
    return sorted(RULES)
