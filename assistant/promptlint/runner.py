"""Lint files and folders for `ragcoder lint`: collect the files, load the model's tokenizer, render results."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from assistant.config import ModelSettings
from assistant.errors import InvalidInput
from assistant.promptlint.discovery import SOURCE_LANGUAGES, is_template_file
from assistant.promptlint.finding import RULES, Location, Severity
from assistant.promptlint.linter import LintOptions, lint_text
from assistant.promptlint.tokens import Tokenizer, TokenLimits
from indexer.parse import language_for_path

logger = logging.getLogger(__name__)

SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__", ".git", ".venv", "venv", ".tox", "build", "dist"})


def lintable_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield the source and template files under `paths`; a file named directly is always yielded."""
    for path in paths:
        if path.is_file():
            yield path
            continue
        if not path.is_dir():
            raise InvalidInput(f"path {path} does not exist; pass files or folders to lint")
        for folder, folder_names, file_names in os.walk(path):
            folder_names[:] = sorted(name for name in folder_names
                                     if name not in SKIPPED_FOLDERS and not name.startswith("."))
            for name in sorted(file_names):
                candidate = Path(folder) / name
                if language_for_path(name) in SOURCE_LANGUAGES or is_template_file(candidate.as_posix()):
                    yield candidate


def parse_codes(value: str | None) -> frozenset[str] | None:
    """Parse a comma-separated list of rule codes; None for an empty value."""
    if not value:
        return None
    codes = frozenset(code.strip().upper() for code in value.split(",") if code.strip())
    unknown = sorted(codes - set(RULES))
    if unknown:
        raise InvalidInput(f"unknown rule codes {', '.join(unknown)}; known codes: {', '.join(sorted(RULES))}")
    return codes


def model_options(settings: ModelSettings, budget_tokens: int | None, cache_dir: Path) -> tuple[LintOptions, object]:
    """Load the configured model's tokenizer and its under-trained tokens for the token rules.

    Returns the options and the loaded generator, which the caller closes.
    """
    from assistant.model import load_generator
    from assistant.promptlint.undertrained import load_undertrained

    generator = load_generator(settings)
    tokenizer: Tokenizer = generator
    undertrained = load_undertrained(generator.path, generator.model_id, cache_dir)
    options = LintOptions(limits=TokenLimits(generator.n_ctx, budget_tokens), tokenizer=tokenizer,
                          undertrained=undertrained)
    return options, generator


def lint_files(files: Iterable[Path], options: LintOptions) -> list[Location]:
    """Lint each file; a file that is not UTF-8 is skipped with a warning."""
    locations: list[Location] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            logger.warning("skipping %s: not UTF-8 text (byte %d is invalid)", path, error.start)
            continue
        locations.extend(lint_text(path.as_posix(), text, options))
    return locations


def render_json(locations: list[Location]) -> str:
    """Render findings as a JSON list with 1-based lines and columns."""
    rows = [
        {
            "path": item.path, "line": item.line + 1, "column": item.column + 1,
            "end_line": item.end_line + 1, "end_column": item.end_column + 1, "code": item.finding.code,
            "rule": item.finding.rule.name, "severity": item.finding.severity.value, "message": item.finding.message,
            "fix": item.finding.fix.title if item.finding.fix else None,
        }
        for item in locations
    ]
    return json.dumps(rows, indent=1)


def exit_status(locations: list[Location], fail_on: Severity) -> int:
    """Return 1 when a finding is at `fail_on` severity or above, else 0."""
    return 1 if any(item.finding.severity.rank >= fail_on.rank for item in locations) else 0
