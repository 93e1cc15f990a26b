"""Run the prompt rules over one file's text and place the findings in lines and columns."""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from assistant.promptlint.content import check_secrets, check_unicode
from assistant.promptlint.discovery import Discovery, Prompt, discover, discover_file_template, is_template_file
from assistant.promptlint.finding import RULES, Finding, Location, Severity
from assistant.promptlint.rules import (
    check_braces,
    check_fills,
    check_indentation,
    check_missing_prefix,
    check_trailing_whitespace,
)
from assistant.promptlint.tokens import TokenLimits, Tokenizer, check_length, check_undertrained
from indexer.parse import language_for_path

logger = logging.getLogger(__name__)

SOURCE_LANGUAGES = frozenset({"python", "javascript", "typescript", "tsx"})
# Context window used when no model is loaded; the default of model.n_ctx.
DEFAULT_N_CTX = 4096
_SUPPRESSION = re.compile(r"ragcoder:\s*ignore(?:\[(?P<codes>[A-Z0-9,\s]+)\])?")


@dataclass(frozen=True)
class LintOptions:
    """Lint settings: selected and ignored rule codes, token limits and the model's tokenizer.

    Without a tokenizer the token rules (RCP007, RCP010) are skipped.
    """

    select: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    limits: TokenLimits = TokenLimits(DEFAULT_N_CTX)
    tokenizer: Tokenizer | None = None
    undertrained: Mapping[int, str] = field(default_factory=dict)

    def is_enabled(self, code: str) -> bool:
        """Tell whether rule `code` runs under these options."""
        return (self.select is None or code in self.select) and code not in self.ignore


def discover_text(path: str, text: str, language: str | None = None) -> Discovery | None:
    """Find the prompts of a file; None when the file is neither a supported source file nor a template file."""
    if is_template_file(path):
        return discover_file_template(path, text)
    language = language or language_for_path(path)
    if language not in SOURCE_LANGUAGES:
        return None
    return discover(text.encode("utf-8"), language)


def lint_text(path: str, text: str, options: LintOptions = LintOptions(), language: str | None = None) -> list[Location]:
    """Lint one file's text; findings come sorted by position, without suppressed ones."""
    discovery = discover_text(path, text, language)
    if discovery is None:
        return []
    source = text.encode("utf-8")
    findings = [item for item in _run_rules(source, discovery, options) if options.is_enabled(item.code)]
    placer = Placer(source)
    suppressed = _suppressions(text)
    located = []
    for item in sorted(set(findings), key=lambda f: (f.start_byte, f.code)):
        location = placer.locate(path, item)
        codes = suppressed.get(location.line, suppressed.get(location.end_line))
        if codes is not None and (not codes or item.code in codes):
            continue
        located.append(location)
    return located


def _run_rules(source: bytes, discovery: Discovery, options: LintOptions) -> Iterator[Finding]:
    for template in discovery.templates:
        yield from check_fills(source, template)
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


def _suppressions(text: str) -> dict[int, frozenset[str]]:
    """Map 0-based lines with `ragcoder: ignore[CODE, ...]` comments to their codes (empty set: all)."""
    found: dict[int, frozenset[str]] = {}
    if "ragcoder:" not in text:
        return found
    for line_number, line in enumerate(text.split("\n")):
        match = _SUPPRESSION.search(line)
        if match:
            codes = match.group("codes") or ""
            found[line_number] = frozenset(code.strip() for code in codes.split(",") if code.strip())
    return found


class Placer:
    """Convert source bytes to 0-based lines and code point columns."""

    def __init__(self, source: bytes) -> None:
        self._source = source
        self._line_starts = [0] + [match.end() for match in re.finditer(b"\n", source)]

    def position(self, byte: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, byte) - 1
        start = self._line_starts[line]
        return line, len(self._source[start:byte].decode("utf-8", errors="replace"))

    def locate(self, path: str, item: Finding) -> Location:
        line, column = self.position(item.start_byte)
        end_line, end_column = self.position(item.end_byte)
        return Location(path, line, column, end_line, end_column, item)


def worst_severity(locations: list[Location]) -> Severity | None:
    """Return the most severe severity among the findings, or None without findings."""
    return max((item.finding.severity for item in locations), key=lambda s: s.rank, default=None)


def rule_codes() -> list[str]:
    """List every rule code, sorted."""
    return sorted(RULES)
