"""Value objects shared by the indexer and the assistant: chunks and symbols."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Symbol:
    """A definition or reference that tree-sitter found in a file.

    `kind` is "def" or "ref"; `symbol_type` says what was defined or referenced
    ("module", "class", "function", "method", "call", "import", ...).
    Lines are 1-based and inclusive, bytes are 0-based and end-exclusive.
    """

    name: str
    kind: str
    symbol_type: str
    path: str
    language: str
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    parent: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A span of one source file that is embedded and retrieved as a unit.

    `path` is relative to the repository root and uses forward slashes.
    `chunk_type` is "module", "class", "function" or "method"; a definition that
    was split at statement boundaries keeps its type and gets `part` > 0.
    """

    path: str
    language: str
    symbol: str
    chunk_type: str
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    text: str
    content_hash: str
    part: int = 0
