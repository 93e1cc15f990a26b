"""Values that the assistant returns to the CLI and the language server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class CompletionRequest:
    """A cursor in a document. `line` and `column` are 0-based, counted in code points."""

    path: str
    text: str
    line: int
    column: int
    language: str | None = None


@dataclass(frozen=True)
class CompletionResult:
    """Text to insert at the cursor; `replace_end_column` > cursor column when the
    completion also replaces text to the right of the cursor on the same line."""

    text: str
    line: int
    column: int
    replace_end_column: int
    latency_ms: float


@dataclass(frozen=True)
class Source:
    """A chunk that went into the context of an answer."""

    path: str
    symbol: str
    start_line: int
    end_line: int
    score: float


@dataclass(frozen=True)
class IndexSummary:
    """Counts and duration of one `ragcoder index` run."""

    files_indexed: int
    files_unchanged: int
    files_removed: int
    files_skipped: int
    chunks_total: int
    chunks_embedded: int
    seconds: float


ProgressCallback = Callable[[int, int, str], None]
"""Called as (done, total, message) while a long job runs."""


@dataclass
class AskStream:
    """An answer being generated: iterate `tokens`, then read `sources`."""

    tokens: Iterator[str]
    sources: list[Source]
