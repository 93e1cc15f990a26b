"""Completion context from the code graph: the definitions of the names used near the cursor.

It does for inline completion what go-to-definition does in an editor, from our own index and
without a language server of the target language. Tree-sitter reads the names around the
cursor. Each name is resolved through the open document (its definitions, its imports, the
class of `self`) and the stored code graph (base classes, re-exports, the edges the indexer
resolved for this file). The definitions go into the prompt in compact form (signature and
docstring when the body is long), then, while the budget lasts, their nearest graph relations.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.context import render_chunk
from assistant.graph_names import NameUse, callee_at_cursor, names_near_cursor
from assistant.retrieval import Hit, RetrievedChunk
from indexer.chunks import CLASS_KINDS, chunk_file
from indexer.graph_facts import reference_facts
from indexer.graph_lookup import MAX_BASE_DEPTH, GraphLookup
from indexer.graph_modules import ImportTarget
from indexer.graph_outline import SHORT_BODY_LINES, compact_definition
from indexer.graph_resolve import (
    CALLS,
    CONTAINS,
    FALLBACK_CONFIDENCE,
    INHERITS,
    OVERRIDES,
    SELF_RECEIVERS,
    SUPER_RECEIVERS,
    bound_names,
    def_key,
    short_name,
)
from indexer.parse import LANGUAGES
from indexer.types import Chunk, Symbol

if TYPE_CHECKING:
    from indexer.store import IndexStore

logger = logging.getLogger(__name__)

VISIBLE_LINES_BEFORE = 60
VISIBLE_LINES_AFTER = 20
"""A definition of the open document that starts this close to the cursor is already in the
prompt (1,024 prefix tokens are about 60-100 lines of code), so it is not repeated."""
MIN_GUESS_CONFIDENCE = FALLBACK_CONFIDENCE
"""Lowest confidence of an indexer edge used for a name that scope and imports do not resolve:
a by-name match with a single candidate."""
MAX_RELATIONS_PER_NODE = 3
MIN_CUT_LINES = 3
DOCUMENT_CHUNK_ID = 0
"""Chunk id of an item taken from the open document rather than the index (stored ids start at 1)."""
_MAX_CHUNK_LINES = 100_000
# Edge types followed from a definition to its nearest relations, with their weight and the
# direction: True means the definition is the edge's source.
_RELATIONS = (
    (INHERITS, True, 1.0, "inherits from"),
    (OVERRIDES, True, 0.9, "overrides"),
    (CALLS, True, 0.6, "calls"),
    (CONTAINS, False, 0.5, "contains"),
)
# Ranks: lower goes first. Names keep their order by distance within each tier.
_RANK_CALLEE, _RANK_SELF_TYPING, _RANK_NAMES, _RANK_SELF_CLASS, _RANK_GUESSES, _RANK_RELATIONS = 0, 1, 2, 1000, 2000, 3000


@dataclass(frozen=True)
class _Candidate:
    """A definition that may go into the context; `relation` is set for a relation of another one."""

    key: str
    rank: float
    relation: str | None = None


@dataclass
class _Document:
    """The open document's definitions, base classes and imports, and the class around the cursor."""

    path: str
    language: str
    source: bytes
    cursor_line: int
    definitions: dict[str, Symbol]
    bases: dict[str, list[str]]
    imports: dict[str, ImportTarget]
    enclosing_class: Symbol | None


def graph_context(
    store: IndexStore,
    path: str,
    prefix: str,
    suffix: str,
    language: str,
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    comment_prefix: str = "#",
) -> list[RetrievedChunk]:
    """Return the definitions of the names used near the cursor, best first, within `budget_tokens`.

    Args:
        store: the open index of the repository.
        path: the document's path relative to the repository root, as the index stores it.
        prefix: the document's text before the cursor.
        suffix: the document's text after the cursor.
        language: a name from `indexer.parse.LANGUAGES`; other languages get no items.
        budget_tokens: the maximum tokens of the items rendered by `assistant.context.render_chunk`
            with `comment_prefix`, as `pack_context` renders them.
        count_tokens: the language model's token counter.
        comment_prefix: the line-comment marker the caller renders the items with.

    Returns:
        Items in priority order: the callee at the cursor, the definitions of the other names
        near the cursor by distance, the class of `self`, guesses from by-name resolution,
        then graph relations of those definitions (base classes, overridden methods, callees,
        the containing class), each with a comment line that names the relation. Items from
        the open document have chunk id `DOCUMENT_CHUNK_ID`.
    """
    if budget_tokens <= 0 or language not in LANGUAGES or not (prefix + suffix).strip():
        return []
    lookup = GraphLookup(store)
    document = _read_document(path, language, prefix, suffix, lookup)
    uses = names_near_cursor(prefix, suffix, language)
    callee = callee_at_cursor(prefix, language)

    candidates = _direct_candidates(document, uses, callee, prefix, lookup)
    candidates += _relation_candidates(document, candidates, lookup)
    items = _fit(document, candidates, lookup, budget_tokens, count_tokens, comment_prefix)
    logger.debug("graph context for %s: %d names, %d candidates, %d items", path, len(uses), len(candidates), len(items))
    return items


def _read_document(path: str, language: str, prefix: str, suffix: str, lookup: GraphLookup) -> _Document:
    source = (prefix + suffix).encode("utf-8")
    cursor_byte = len(prefix.encode("utf-8"))
    _, symbols = chunk_file(path, language, source, _MAX_CHUNK_LINES)
    definitions = {symbol.name: symbol for symbol in symbols if symbol.kind == "def"}

    bases: dict[str, list[str]] = {}
    for symbol in symbols:
        if symbol.kind == "ref" and symbol.symbol_type == "inherits" and symbol.parent is not None:
            bases.setdefault(symbol.parent, []).append(symbol.name)

    imports: dict[str, ImportTarget] = {}
    for fact in reference_facts(source, [symbol for symbol in symbols if symbol.symbol_type == "import"]):
        target = lookup.resolve_import(path, language, fact.name)
        if target is not None and target.name != "*":
            for local in bound_names(language, fact, target):
                imports.setdefault(local, target)

    around = [symbol for symbol in definitions.values() if _contains_cursor(source, symbol, cursor_byte)]
    classes = [symbol for symbol in around if symbol.symbol_type in CLASS_KINDS]
    enclosing_class = max(classes, key=lambda symbol: symbol.start_byte, default=None)
    cursor_line = prefix.count("\n") + 1
    return _Document(path, language, source, cursor_line, definitions, bases, imports, enclosing_class)


def _contains_cursor(source: bytes, symbol: Symbol, cursor_byte: int) -> bool:
    """Tell whether the cursor is inside a definition.

    A syntax node ends at its last token. So a cursor on a new line after a definition's last
    statement counts as inside when only whitespace lies between them and the cursor's line is
    indented deeper than the definition, as for the next statement of a Python body.
    """
    if symbol.start_byte <= cursor_byte < symbol.end_byte:
        return True
    if cursor_byte < symbol.end_byte or source[symbol.end_byte : cursor_byte].strip():
        return False
    line_start = source.rfind(b"\n", 0, cursor_byte) + 1
    cursor_line = source[line_start:cursor_byte]
    cursor_indent = len(cursor_line) - len(cursor_line.lstrip())
    symbol_line_start = source.rfind(b"\n", 0, symbol.start_byte) + 1
    symbol_line = source[symbol_line_start : symbol_line_start + 200]
    return cursor_indent > len(symbol_line) - len(symbol_line.lstrip())


def _direct_candidates(
    document: _Document, uses: list[NameUse], callee: NameUse | None, prefix: str, lookup: GraphLookup
) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    if callee is not None:
        found = _resolve(document, callee, lookup)
        if found is not None:
            candidates.append(_Candidate(found[0], _RANK_CALLEE))

    for index, use in enumerate(uses):
        found = _resolve(document, use, lookup)
        if found is not None:
            key, is_guess = found
            candidates.append(_Candidate(key, (_RANK_GUESSES if is_guess else _RANK_NAMES) + index))

    if document.enclosing_class is not None:
        class_key = def_key(document.path, document.enclosing_class.name)
        is_typing_member = prefix.rstrip(" \t").endswith(tuple(f"{name}." for name in SELF_RECEIVERS))
        candidates.append(_Candidate(class_key, _RANK_SELF_TYPING if is_typing_member else _RANK_SELF_CLASS))
    return candidates


def _resolve(document: _Document, use: NameUse, lookup: GraphLookup, depth: int = MAX_BASE_DEPTH) -> tuple[str, bool] | None:
    """Resolve a name to a definition key; the flag is true for a by-name guess."""
    definitions = document.definitions
    if use.receiver is None:
        if use.name in definitions:
            return def_key(document.path, use.name), False
        target = document.imports.get(use.name)
        if target is not None and target.name is not None:
            key = lookup.module_member(target.paths, target.name)
            return (key, False) if key is not None else None
        if document.language == "java" and document.enclosing_class is not None:
            found = _member(document, document.enclosing_class.name, use.name, lookup, depth=depth)
            if found is not None:
                return found, False
        return _guess(document, use.name, lookup)

    if use.receiver in SELF_RECEIVERS or use.receiver in SUPER_RECEIVERS:
        if document.enclosing_class is None:
            return None
        include_own = use.receiver not in SUPER_RECEIVERS
        found = _member(document, document.enclosing_class.name, use.name, lookup, include_own, depth)
        return (found, False) if found is not None else _guess(document, use.name, lookup)

    if use.receiver in definitions and definitions[use.receiver].symbol_type in CLASS_KINDS:
        found = _member(document, use.receiver, use.name, lookup, depth=depth)
        return (found, False) if found is not None else None

    head, _, rest = use.receiver.partition(".")
    target, suffix = (document.imports[use.receiver], "") if use.receiver in document.imports else (document.imports.get(head), rest)
    if target is not None:
        member = ".".join(part for part in (target.name, suffix, use.name) if part)
        key = lookup.module_member(target.paths, member)
        if key is None and target.name is not None:
            class_key = lookup.module_member(target.paths, ".".join(part for part in (target.name, suffix) if part))
            key = lookup.class_member(class_key, use.name) if class_key is not None else None
        return (key, False) if key is not None else None
    return _guess(document, use.name, lookup)


def _member(
    document: _Document, class_name: str, member: str, lookup: GraphLookup, include_own: bool = True, depth: int = MAX_BASE_DEPTH
) -> str | None:
    """Find a member of a class of the open document, in the class, then in its base classes.

    The bases are read from the document, so a class that is not indexed yet still finds its
    inherited methods. The indexed bases of the class come last, for a base the document
    names in a way this look-up does not resolve.
    """
    qualified = f"{class_name}.{member}"
    if include_own and qualified in document.definitions:
        return def_key(document.path, qualified)
    if depth <= 0:
        return None
    for base in document.bases.get(class_name, []):
        receiver, _, name = base.replace("::", ".").rpartition(".")
        resolved = _resolve(document, NameUse(receiver or None, name, 0), lookup, depth - 1)
        if resolved is None or resolved[1]:
            continue
        base_path, _, base_name = resolved[0].partition("::")
        if base_path == document.path:
            found = _member(document, base_name, member, lookup, depth=depth - 1)
        else:
            found = lookup.class_member(resolved[0], member)
        if found is not None:
            return found
    return lookup.class_member(def_key(document.path, class_name), member, include_own=False)


def _guess(document: _Document, name: str, lookup: GraphLookup) -> tuple[str, bool] | None:
    """Take the most confident edge the indexer resolved from this file to a definition called `name`."""
    edges = [
        edge
        for edge in lookup.file_edges(document.path)
        if edge.edge_type == CALLS
        and edge.confidence >= MIN_GUESS_CONFIDENCE
        and short_name(edge.target.partition("::")[2]) == name
        and not edge.target.startswith(document.path + "::")
    ]
    if not edges:
        return None
    best = max(edges, key=lambda edge: (edge.confidence, edge.target))
    return best.target, best.confidence <= FALLBACK_CONFIDENCE


def _relation_candidates(document: _Document, direct: list[_Candidate], lookup: GraphLookup) -> list[_Candidate]:
    """Return the nearest graph relations of the direct candidates, ranked after all of them."""
    relations: list[_Candidate] = []
    for order, candidate in enumerate(sorted(direct, key=lambda item: item.rank)):
        edges = lookup.edges_touching(candidate.key)
        scored: list[tuple[float, str, str]] = []
        for edge_type, is_outgoing, weight, verb in _RELATIONS:
            for edge in edges:
                if edge.edge_type != edge_type or (edge.source == candidate.key) != is_outgoing:
                    continue
                other = edge.target if is_outgoing else edge.source
                if "::" not in other:
                    continue
                description = f"`{_display(edge.source)}` {verb} `{_display(edge.target)}`"
                scored.append((weight * edge.confidence, other, description))
        scored.sort(key=lambda item: (-item[0], item[1]))
        for index, (score, other, description) in enumerate(scored[:MAX_RELATIONS_PER_NODE]):
            rank = _RANK_RELATIONS + order * MAX_RELATIONS_PER_NODE + index + (1 - score)
            relations.append(_Candidate(other, rank, description))
    return relations


def _display(key: str) -> str:
    path, _, name = key.partition("::")
    return f"{name}" if name else path


def _fit(
    document: _Document,
    candidates: list[_Candidate],
    lookup: GraphLookup,
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    comment_prefix: str,
) -> list[RetrievedChunk]:
    """Render the candidates in rank order and keep those that fit, cutting one that fits only in part."""
    items: list[RetrievedChunk] = []
    seen: set[str] = set()
    remaining = budget_tokens
    for candidate in sorted(candidates, key=lambda item: item.rank):
        if candidate.key in seen:
            continue
        seen.add(candidate.key)
        item = _item(document, candidate, lookup, comment_prefix, len(items))
        if item is None:
            continue
        cost = _cost(item, count_tokens, comment_prefix)
        if cost > remaining:
            item = _cut(item, remaining, count_tokens, comment_prefix)
            if item is None:
                continue
            cost = _cost(item, count_tokens, comment_prefix)
        items.append(item)
        remaining -= cost
    return items


def _item(
    document: _Document, candidate: _Candidate, lookup: GraphLookup, comment_prefix: str, position: int
) -> RetrievedChunk | None:
    """Build the compact item of a candidate, or None when it is missing or already in the prompt."""
    path, _, name = candidate.key.partition("::")
    if path == document.path:
        symbol = document.definitions.get(name)
        if symbol is None or _is_visible(document, symbol, candidate):
            return None
        text = document.source[symbol.start_byte : symbol.end_byte].decode("utf-8", errors="replace")
        chunk_id, symbol_type, start_line, end_line = DOCUMENT_CHUNK_ID, symbol.symbol_type, symbol.start_line, symbol.end_line
        language = document.language
    else:
        definition = lookup.definition(candidate.key)
        if definition is None:
            return None
        text, chunk_id, symbol_type = definition.text, definition.chunk_id, definition.symbol_type
        start_line, end_line, language = definition.start_line, definition.end_line, definition.language

    # The prompt has the code around the cursor, so the class around it lists only its members.
    is_cursor_class = path == document.path and document.enclosing_class is not None and name == document.enclosing_class.name
    compact = compact_definition(text, language, max_body_lines=0 if is_cursor_class else SHORT_BODY_LINES)
    if candidate.relation is not None:
        compact = f"{comment_prefix} {candidate.relation}\n{compact}"
    chunk_type = "class" if symbol_type in CLASS_KINDS else symbol_type
    content_hash = hashlib.sha256(compact.encode("utf-8")).hexdigest()
    chunk = Chunk(path, language, name, chunk_type, start_line, end_line, 0, 0, compact, content_hash)
    return RetrievedChunk(Hit(chunk_id, 1.0 / (1 + position)), chunk)


def _is_visible(document: _Document, symbol: Symbol, candidate: _Candidate) -> bool:
    """Tell whether a definition of the open document is already in the prompt near the cursor.

    The class around the cursor is the exception: its outline lists members the prompt may not show.
    """
    if document.enclosing_class is not None and symbol.name == document.enclosing_class.name and candidate.relation is None:
        return False
    contains_cursor = symbol.start_line <= document.cursor_line <= symbol.end_line
    is_near = document.cursor_line - VISIBLE_LINES_BEFORE <= symbol.start_line <= document.cursor_line + VISIBLE_LINES_AFTER
    return contains_cursor or is_near


def _cut(item: RetrievedChunk, budget_tokens: int, count_tokens: Callable[[str], int], comment_prefix: str) -> RetrievedChunk | None:
    """Keep the first lines of an item that fit the budget, or None when fewer than `MIN_CUT_LINES` fit."""
    lines = item.chunk.text.split("\n")
    low, high = 0, len(lines)
    while low < high:
        middle = (low + high + 1) // 2
        trial = _with_text(item, "\n".join(lines[:middle]))
        if _cost(trial, count_tokens, comment_prefix) <= budget_tokens:
            low = middle
        else:
            high = middle - 1
    if low < MIN_CUT_LINES:
        return None
    return _with_text(item, "\n".join(lines[:low]))


def _cost(item: RetrievedChunk, count_tokens: Callable[[str], int], comment_prefix: str) -> int:
    """Count an item's tokens as context packing renders it: with a blank line after it."""
    return count_tokens(render_chunk(item, comment_prefix) + "\n")


def _with_text(item: RetrievedChunk, text: str) -> RetrievedChunk:
    content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RetrievedChunk(item.hit, dataclasses.replace(item.chunk, text=text, content_hash=content_hash))
