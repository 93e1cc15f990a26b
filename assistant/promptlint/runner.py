"""Lint files and folders for `ragcoder lint`: collect the files, load the model's tokenizer, render results."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import urllib.parse
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from assistant.config import ModelSettings
from assistant.errors import InvalidInput
from assistant.promptlint.checks import LintOptions
from assistant.promptlint.discovery import SOURCE_LANGUAGES, is_template_file
from assistant.promptlint.finding import RULES, Location, Severity
from assistant.promptlint.linter import lint_text
from assistant.promptlint.tokens import Tokenizer, TokenLimits
from indexer.parse import language_for_path

logger = logging.getLogger(__name__)

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
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


def with_model(options: LintOptions, settings: ModelSettings, cache_dir: Path) -> tuple[LintOptions, object]:
    """Add the configured model's tokenizer, context window and under-trained tokens to `options`.

    Returns the options and the loaded generator, which the caller closes.
    """
    from assistant.model import load_generator
    from assistant.promptlint.undertrained import load_undertrained

    generator = load_generator(settings)
    tokenizer: Tokenizer = generator
    undertrained = load_undertrained(generator.path, generator.model_id, cache_dir)
    limits = TokenLimits(generator.n_ctx, options.limits.budget_tokens)
    return dataclasses.replace(options, limits=limits, tokenizer=tokenizer, undertrained=undertrained), generator


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
            "rule": item.finding.rule.name, "severity": item.finding.severity.value, "message": item.message,
            "related_line": item.related_line + 1 if item.related_line is not None else None,
            "fix": item.finding.fix.title if item.finding.fix else None,
        }
        for item in locations
    ]
    return json.dumps(rows, indent=1)


def render_sarif(locations: list[Location]) -> str:
    """Render findings as a SARIF 2.1.0 log for code scanning tools, with quick fixes as byte replacements."""
    codes = sorted(RULES)
    rules = [
        {"id": code, "name": RULES[code].name, "shortDescription": {"text": RULES[code].summary},
         "defaultConfiguration": {"level": _SARIF_LEVELS[RULES[code].severity]}}
        for code in codes
    ]
    run = {
        "tool": {"driver": {"name": "ragcoder", "version": _version(), "rules": rules}},
        "columnKind": "unicodeCodePoints",
        "results": [_sarif_result(item, codes.index(item.finding.code)) for item in locations],
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=1)


def _sarif_result(item: Location, rule_index: int) -> dict[str, Any]:
    uri = urllib.parse.quote(item.path)
    region = {"startLine": item.line + 1, "startColumn": item.column + 1,
              "endLine": item.end_line + 1, "endColumn": item.end_column + 1}
    result: dict[str, Any] = {
        "ruleId": item.finding.code, "ruleIndex": rule_index, "level": _SARIF_LEVELS[item.finding.severity],
        "message": {"text": item.message},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
    }
    if item.related_line is not None:
        related = {"artifactLocation": {"uri": uri}, "region": {"startLine": item.related_line + 1}}
        result["relatedLocations"] = [{"id": 1, "physicalLocation": related, "message": {"text": "the related call"}}]
    fix = item.finding.fix
    if fix is not None:
        replacements = [{"deletedRegion": {"byteOffset": edit.start_byte, "byteLength": edit.end_byte - edit.start_byte},
                         "insertedContent": {"text": edit.new_text}} for edit in fix.edits]
        result["fixes"] = [{"description": {"text": fix.title},
                            "artifactChanges": [{"artifactLocation": {"uri": uri}, "replacements": replacements}]}]
    return result


def _version() -> str:
    try:
        return metadata.version("ragcoder")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def exit_status(locations: list[Location], fail_on: Severity) -> int:
    """Return 1 when a finding is at `fail_on` severity or above, else 0."""
    return 1 if any(item.finding.severity.rank >= fail_on.rank for item in locations) else 0
