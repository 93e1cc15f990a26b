"""Split one source file into chunks (one per definition, plus the module code) and symbols.

The chunking rules are in the docstring of `chunk_file`.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
from dataclasses import dataclass

from indexer import parse
from indexer.split import LineIndex, pack_parts
from indexer.types import Chunk, Symbol

logger = logging.getLogger(__name__)

CLASS_KINDS = frozenset({"class", "struct", "interface", "enum", "trait", "impl", "record"})

# Pieces made of these bytes alone (a class's closing brace, say) are not worth a chunk.
_TRIVIAL_BYTES = b"{}[]();, \t\r\n\f\v"


@dataclass(frozen=True)
class _Entry:
    """A definition that gets a chunk, with its place in the nesting."""

    qualified_name: str
    symbol_type: str
    parent: str | None
    start_byte: int
    end_byte: int
    parent_index: int | None


def chunk_file(path: str, language: str, source: bytes, max_chunk_lines: int) -> tuple[list[Chunk], list[Symbol]]:
    """Parse one file and return its chunks (sorted by position) and symbols.

    Chunking rules:
    - Classes and class-like types (struct, interface, enum, trait, impl, record), functions and
      methods each get their own chunk. A method is a function whose nearest enclosing
      definition is class-like, or a Go function with a receiver. Definitions inside a function
      stay in the function's chunk and get no symbol of their own.
    - A class-like chunk contains the class's own code without its methods and nested classes,
      which have their own chunks, so no text is embedded twice. Likewise the module chunk
      contains the code outside every definition. Both are made of the contiguous pieces between
      child definitions, and pieces of only whitespace or brackets are dropped.
    - Every chunk is one contiguous span: `text == source[start_byte:end_byte].decode()`. A
      definition or module with several pieces, or with a piece longer than `max_chunk_lines`,
      gets one chunk per part, numbered from 1. A chunk that is the whole of its definition or
      module has `part` 0.
    - A definition's span covers its decorators, `export`, Rust attributes and the comments
      right above it. It starts at the beginning of its line when only indentation precedes it.

    Symbols: one "def" per chunked definition, named like its chunk ("Class.method"), with
    `parent` the enclosing class (or Go receiver type) and the definition's whole span. One
    "ref" per call, import and base class ("call", "import", "inherits"), with `parent` the
    innermost chunked definition around it (None at module level) and the span of the name.

    Args:
        path: the file's path relative to the repository root, with forward slashes. It is the
            `symbol` of the module chunks.
        language: a name from `indexer.parse.LANGUAGES`.
        source: the file's bytes, UTF-8 (invalid bytes become U+FFFD in chunk text).
        max_chunk_lines: the maximum lines of a chunk before a piece is split at statement
            boundaries. A single statement longer than this stays whole.

    Raises:
        ValueError: `max_chunk_lines` is below 1 or `language` is not supported.
    """
    if max_chunk_lines < 1:
        raise ValueError(f"max_chunk_lines is {max_chunk_lines}; it must be at least 1")
    if not source.strip():
        return [], []

    tree = parse.parse(source, language)
    definitions, references = parse.find_symbols(tree)
    lines = LineIndex(source)
    entries = _nest(definitions, source)
    if tree.has_errors:
        logger.debug("%s has syntax errors; chunking what tree-sitter recovered", path)

    chunks = _module_chunks(path, language, tree, entries, lines, max_chunk_lines)
    for index, entry in enumerate(entries):
        chunks.extend(_entry_chunks(path, language, tree, entries, index, lines, max_chunk_lines))
    chunks.sort(key=lambda chunk: (chunk.start_byte, chunk.part))

    symbols = [_definition_symbol(path, language, entry, lines) for entry in entries]
    symbols.extend(_reference_symbols(path, language, entries, references, lines))
    logger.debug("%s: %d chunks, %d symbols", path, len(chunks), len(symbols))
    return chunks, symbols


def _nest(definitions: list[parse.Definition], source: bytes) -> list[_Entry]:
    """Keep the definitions that get chunks, in source order, with qualified names."""
    ordered = sorted(set(definitions), key=lambda item: (item.start_byte, -item.end_byte, item.name))
    entries: list[_Entry] = []
    # Each stack item is (end_byte, index into entries or None for a definition inside a function).
    stack: list[tuple[int, int | None]] = []
    for definition in ordered:
        while stack and stack[-1][0] <= definition.start_byte:
            stack.pop()
        enclosing = stack[-1][1] if stack else -1
        if enclosing is None or (enclosing >= 0 and entries[enclosing].symbol_type not in CLASS_KINDS):
            stack.append((definition.end_byte, None))
            continue

        parent_entry = entries[enclosing] if enclosing >= 0 else None
        entries.append(_entry(definition, parent_entry, enclosing if enclosing >= 0 else None, source))
        stack.append((definition.end_byte, len(entries) - 1))
    return entries


def _entry(definition: parse.Definition, parent: _Entry | None, parent_index: int | None, source: bytes) -> _Entry:
    if definition.kind in CLASS_KINDS:
        symbol_type = definition.kind
    elif parent is not None or definition.receiver:
        symbol_type = "method"
    else:
        symbol_type = "function"

    owner = parent.qualified_name if parent is not None else definition.receiver
    qualified_name = f"{owner}.{definition.name}" if owner else definition.name
    line_start = source.rfind(b"\n", 0, definition.start_byte) + 1
    is_indented = not source[line_start : definition.start_byte].strip()
    start_byte = line_start if is_indented else definition.start_byte
    return _Entry(qualified_name, symbol_type, owner, start_byte, definition.end_byte, parent_index)


def _chunk_type(symbol_type: str) -> str:
    return "class" if symbol_type in CLASS_KINDS else symbol_type


def _module_chunks(
    path: str, language: str, tree: parse.SyntaxTree, entries: list[_Entry], lines: LineIndex, max_lines: int
) -> list[Chunk]:
    children = [(entry.start_byte, entry.end_byte) for entry in entries if entry.parent_index is None]
    pieces = _pieces(tree.source, 0, len(tree.source), children)
    return _make_chunks(path, language, path, "module", tree, pieces, lines, max_lines)


def _entry_chunks(
    path: str,
    language: str,
    tree: parse.SyntaxTree,
    entries: list[_Entry],
    index: int,
    lines: LineIndex,
    max_lines: int,
) -> list[Chunk]:
    entry = entries[index]
    if entry.symbol_type in CLASS_KINDS:
        children = [(child.start_byte, child.end_byte) for child in entries if child.parent_index == index]
        pieces = _pieces(tree.source, entry.start_byte, entry.end_byte, children)
    else:
        pieces = [(entry.start_byte, entry.end_byte)]
    chunk_type = _chunk_type(entry.symbol_type)
    return _make_chunks(path, language, entry.qualified_name, chunk_type, tree, pieces, lines, max_lines)


def _pieces(source: bytes, start: int, end: int, children: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return the trimmed, non-trivial spans of [start, end) outside the children's spans."""
    pieces: list[tuple[int, int]] = []
    cursor = start
    for child_start, child_end in sorted(children):
        pieces.append((cursor, child_start))
        cursor = max(cursor, child_end)
    pieces.append((cursor, end))

    kept: list[tuple[int, int]] = []
    for piece_start, piece_end in pieces:
        trimmed = _trim(source, piece_start, piece_end)
        if trimmed is not None and source[trimmed[0] : trimmed[1]].translate(None, _TRIVIAL_BYTES):
            kept.append(trimmed)
    return kept


def _trim(source: bytes, start: int, end: int) -> tuple[int, int] | None:
    """Drop blank lines around a span and trailing whitespace, but keep the first line's indentation."""
    text = source[start:end]
    stripped_end = start + len(text.rstrip())
    if stripped_end <= start:
        return None
    first_visible = start + len(text) - len(text.lstrip())
    line_start = source.rfind(b"\n", 0, first_visible) + 1
    return (line_start if line_start >= start else first_visible), stripped_end


def _make_chunks(
    path: str,
    language: str,
    symbol: str,
    chunk_type: str,
    tree: parse.SyntaxTree,
    pieces: list[tuple[int, int]],
    lines: LineIndex,
    max_lines: int,
) -> list[Chunk]:
    spans: list[tuple[int, int]] = []
    for start, end in pieces:
        if lines.count(start, end) <= max_lines:
            spans.append((start, end))
            continue
        cut_points = parse.split_points(tree, start, end, max_lines)
        for part_start, part_end in pack_parts(tree.source, start, end, cut_points, max_lines, lines):
            trimmed = _trim(tree.source, part_start, part_end)
            if trimmed is not None:
                spans.append(trimmed)

    is_split = len(spans) > 1
    chunks: list[Chunk] = []
    for number, (start, end) in enumerate(spans, start=1):
        text = tree.source[start:end].decode("utf-8", errors="replace")
        chunks.append(
            Chunk(
                path=path,
                language=language,
                symbol=symbol,
                chunk_type=chunk_type,
                start_line=lines.line_of(start),
                end_line=lines.line_of(end - 1),
                start_byte=start,
                end_byte=end,
                text=text,
                content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                part=number if is_split else 0,
            )
        )
    return chunks


def _definition_symbol(path: str, language: str, entry: _Entry, lines: LineIndex) -> Symbol:
    return Symbol(
        name=entry.qualified_name,
        kind="def",
        symbol_type=entry.symbol_type,
        path=path,
        language=language,
        start_line=lines.line_of(entry.start_byte),
        end_line=lines.line_of(entry.end_byte - 1),
        start_byte=entry.start_byte,
        end_byte=entry.end_byte,
        parent=entry.parent,
    )


def _reference_symbols(
    path: str, language: str, entries: list[_Entry], references: list[parse.Reference], lines: LineIndex
) -> list[Symbol]:
    """Make ref symbols whose parent is the innermost chunked definition around them."""
    boundaries, owners = _owner_segments(entries)
    symbols: list[Symbol] = []
    for reference in references:
        owner = owners[bisect.bisect_right(boundaries, reference.start_byte) - 1]
        symbols.append(
            Symbol(
                name=reference.name,
                kind="ref",
                symbol_type=reference.kind,
                path=path,
                language=language,
                start_line=lines.line_of(reference.start_byte),
                end_line=lines.line_of(max(reference.start_byte, reference.end_byte - 1)),
                start_byte=reference.start_byte,
                end_byte=reference.end_byte,
                parent=owner,
            )
        )
    return symbols


def _owner_segments(entries: list[_Entry]) -> tuple[list[int], list[str | None]]:
    """Flatten the nested entry spans into sorted boundaries, each with the innermost owner from there on."""
    boundaries: list[int] = [0]
    owners: list[str | None] = [None]

    def mark(position: int, owner: str | None) -> None:
        if boundaries[-1] == position:
            owners[-1] = owner
        else:
            boundaries.append(position)
            owners.append(owner)

    stack: list[_Entry] = []
    for entry in entries:
        while stack and stack[-1].end_byte <= entry.start_byte:
            closed = stack.pop()
            mark(closed.end_byte, stack[-1].qualified_name if stack else None)
        mark(entry.start_byte, entry.qualified_name)
        stack.append(entry)
    while stack:
        closed = stack.pop()
        mark(closed.end_byte, stack[-1].qualified_name if stack else None)
    return boundaries, owners
