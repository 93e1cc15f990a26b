"""Values of the prompt linter: rule codes, severities, findings and their quick fixes."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)


class Severity(str, enum.Enum):
    """The severity of a finding; `ragcoder lint` fails at warning and above by default."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Order for comparisons: error 2, warning 1, info 0."""
        return {Severity.ERROR: 2, Severity.WARNING: 1, Severity.INFO: 0}[self]


@dataclass(frozen=True)
class Rule:
    """A lint rule: its stable code, a short name and its default severity."""

    code: str
    name: str
    severity: Severity
    summary: str


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule("RCP001", "unfilled-placeholder", Severity.ERROR, "a placeholder that no visible fill provides"),
        Rule("RCP002", "unknown-fill", Severity.WARNING, "a fill for a name that the template lacks"),
        Rule("RCP003", "literal-brace", Severity.ERROR, "a literal brace in a str.format or f-string template"),
        Rule("RCP004", "missing-f-prefix", Severity.WARNING, "{name} with name in scope but no f prefix"),
        Rule("RCP005", "trailing-whitespace", Severity.WARNING, "a prompt that ends in spaces or tabs"),
        Rule("RCP006", "leaking-indentation", Severity.WARNING, "code indentation inside a triple-quoted prompt"),
        Rule("RCP007", "prompt-too-long", Severity.ERROR, "a prompt longer than the context window or budget"),
        Rule("RCP008", "secret-in-prompt", Severity.ERROR, "an API key, private key or bearer token"),
        Rule("RCP009", "invisible-unicode", Severity.WARNING, "invisible, bidirectional or confusable characters"),
        Rule("RCP010", "under-trained-token", Severity.INFO, "a token that the model barely saw in training"),
    )
}


@dataclass(frozen=True)
class TextEdit:
    """Replace source bytes [start_byte, end_byte) with `new_text`."""

    start_byte: int
    end_byte: int
    new_text: str


@dataclass(frozen=True)
class Fix:
    """A quick fix: a title for the editor and the edits that apply it."""

    title: str
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True)
class Finding:
    """One problem in one prompt; the span is in source bytes of the linted text.

    `related` is the byte span of the call that the message refers to, such as the
    `.format(...)` call that leaves a placeholder unfilled.
    """

    code: str
    severity: Severity
    message: str
    start_byte: int
    end_byte: int
    fix: Fix | None = None
    related: tuple[int, int] | None = None

    def shifted(self, delta: int) -> Finding:
        """Return this finding moved by `delta` bytes, with its fix and related span."""
        fix = None
        if self.fix is not None:
            edits = tuple(TextEdit(edit.start_byte + delta, edit.end_byte + delta, edit.new_text) for edit in self.fix.edits)
            fix = Fix(self.fix.title, edits)
        related = (self.related[0] + delta, self.related[1] + delta) if self.related is not None else None
        return Finding(self.code, self.severity, self.message, self.start_byte + delta, self.end_byte + delta, fix, related)

    @property
    def rule(self) -> Rule:
        """The rule that produced this finding."""
        return RULES[self.code]


def finding(code: str, message: str, start_byte: int, end_byte: int, fix: Fix | None = None,
            severity: Severity | None = None) -> Finding:
    """Create a finding with the rule's default severity unless `severity` overrides it."""
    return Finding(code, severity or RULES[code].severity, message, start_byte, end_byte, fix)


@dataclass(frozen=True)
class Location:
    """A finding placed in a file: 0-based line and code point column of its start and end.

    `related_line` is the 0-based line of the finding's related call, if it has one.
    """

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    finding: Finding
    related_line: int | None = None

    @property
    def message(self) -> str:
        """The finding's message, naming the line of its related call."""
        if self.related_line is None:
            return self.finding.message
        return f"{self.finding.message} (call on line {self.related_line + 1})"

    def format_text(self) -> str:
        """Render as `path:line:col: CODE severity message` with 1-based line and column."""
        item = self.finding
        return f"{self.path}:{self.line + 1}:{self.column + 1}: {item.code} {item.severity.value} {self.message}"
