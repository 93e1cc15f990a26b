"""The code graph of an index: facts stored per file, edges re-resolved after each build, queries.

Nodes are files (key: the path) and the indexed definitions (key: "path::Qualified.name").
Edges are typed ("contains", "calls", "imports", "inherits", "overrides", "references") and
carry a confidence in (0, 1] that records how the reference was resolved.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from indexer import graph_store
from indexer.graph_facts import ATTRIBUTE_REF, RefFact, reference_facts
from indexer.graph_modules import module_parts
from indexer.graph_resolve import (
    CALLS,
    CONTAINS,
    INHERITS,
    MAX_FALLBACK_CANDIDATES,
    DefRecord,
    Edge,
    Resolver,
    resolve_all,
    short_name,
)
from indexer.types import Symbol

if TYPE_CHECKING:
    from indexer.store import IndexStore

logger = logging.getLogger(__name__)

_SCOPE_REF_TYPES = ("import", "inherits")
GRAPH_VERSION_KEY = "graph_version"
"""Meta key of a counter that each graph update raises, so in-memory copies of the edges can tell they are stale."""


@dataclass(frozen=True)
class GraphUpdate:
    """Summary of one graph update: files whose edges were re-resolved, total edges, seconds taken."""

    files_resolved: int
    edges_total: int
    seconds: float


def store_file_facts(store: IndexStore, path: str, source: bytes, symbols: list[Symbol]) -> None:
    """Store one file's reference facts; call it after `IndexStore.replace_file` for the same file."""
    with store.connection() as connection:
        graph_store.replace_refs(connection, path, reference_facts(source, symbols))


def update_graph(
    store: IndexStore, changed_paths: Collection[str], removed_paths: Collection[str], full: bool = False
) -> GraphUpdate:
    """Re-resolve the edges that the changed and removed files can affect, in one transaction.

    Affected are the changed files, the files with an edge into a changed or removed file, and
    the files with a reference named like a module of a changed file or like one of its
    definitions whose by-name resolution can change. `full` (or an empty graph) re-resolves
    every file.
    """
    started = time.perf_counter()
    with store.transaction(), store.connection() as connection:
        graph_store.delete_refs_outside(connection)
        files = graph_store.load_files(connection)
        defs = graph_store.load_defs(connection)
        if full or graph_store.edge_count(connection) == 0:
            affected: set[str] | None = None
        else:
            affected = _affected_paths(connection, defs, files, set(changed_paths), set(removed_paths))

        graph_store.delete_edges_of(connection, None if affected is None else affected | set(removed_paths))
        facts = graph_store.load_refs(connection, _SCOPE_REF_TYPES, None)
        if affected is None or affected:
            facts += graph_store.load_refs(connection, ("call", ATTRIBUTE_REF), affected)
        edges = resolve_all(Resolver(files, defs), _by_path(facts), affected)
        graph_store.insert_edges(connection, edges)
        total = graph_store.edge_count(connection)
        store.set_meta(GRAPH_VERSION_KEY, str(graph_version(store) + 1))

    seconds = time.perf_counter() - started
    resolved = len(files) if affected is None else len(affected)
    logger.info("code graph: re-resolved %d files, %d edges in total, in %.2fs", resolved, total, seconds)
    return GraphUpdate(files_resolved=resolved, edges_total=total, seconds=seconds)


def graph_version(store: IndexStore) -> int:
    """Return the number of graph updates the index has had (0 for an index built before the counter)."""
    return int(store.get_meta(GRAPH_VERSION_KEY) or 0)


def _affected_paths(
    connection: sqlite3.Connection, defs: list[DefRecord], files: dict[str, str], changed: set[str], removed: set[str]
) -> set[str]:
    """Find the files whose edges a change can alter.

    A definition name matters for files outside the change only through the by-name fallback,
    which gives up on names with more than `MAX_FALLBACK_CANDIDATES` definitions. So a name
    with more definitions than that both before and after the change (`get`, `__init__`)
    pulls in no files. Scope and import resolution into a changed file is covered by the
    files that already had an edge into it.

    NOTE: a file that reaches a changed module only through a re-exporting package (and had
    no edge into the module before) is not re-resolved until a full update.
    """
    touched = changed | removed
    after = Counter(short_name(record.name) for record in defs)
    added = Counter(short_name(record.name) for record in defs if record.path in changed)
    dropped: Counter[str] = Counter()
    module_names: set[str] = set()
    for path in touched:
        rows = connection.execute(
            "SELECT target FROM graph_edges WHERE edge_type = ? AND path = ?", (CONTAINS, path)
        ).fetchall()
        dropped.update(short_name(row[0].partition("::")[2]) for row in rows)
        parts = module_parts(path, files.get(path) or "python")
        if parts:
            module_names.add(parts[-1])

    names = {
        name
        for name in added.keys() | dropped.keys()
        if min(after[name], after[name] - added[name] + dropped[name]) <= MAX_FALLBACK_CANDIDATES
    }
    affected = set(changed)
    affected |= graph_store.edge_sources_into(connection, touched)
    affected |= graph_store.paths_with_ref_names(connection, names | module_names)
    return (affected - removed) & set(files)


def _by_path(facts: list[RefFact]) -> dict[str, list[RefFact]]:
    grouped: dict[str, list[RefFact]] = defaultdict(list)
    for fact in facts:
        grouped[fact.path].append(fact)
    return grouped


@dataclass(frozen=True)
class Neighbor:
    """A node next to the queried one, with the edge that links them."""

    key: str
    edge_type: str
    confidence: float
    lineno: int


@dataclass(frozen=True)
class Neighborhood:
    """The direct relations of one node.

    Parents are the node's container and its base classes; children are what it contains and
    its subclasses. Other relations (imports, references, overrides) go both ways in `related`.
    """

    key: str
    callers: list[Neighbor]
    callees: list[Neighbor]
    parents: list[Neighbor]
    children: list[Neighbor]
    related: list[Neighbor]


def find_nodes(store: IndexStore, symbol: str) -> list[str]:
    """Return the node keys for a symbol: a file path, a qualified name, or the last part of a name."""
    with store.connection() as connection:
        if connection.execute("SELECT 1 FROM files WHERE path = ?", (symbol,)).fetchone():
            return [symbol]
        rows = connection.execute(
            "SELECT DISTINCT path, name FROM symbols WHERE kind = 'def' AND (name = ? OR name LIKE ? ESCAPE '\\')"
            " ORDER BY path, start_byte",
            (symbol, "%." + symbol.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")),
        ).fetchall()
    return [f"{path}::{name}" for path, name in rows]


def neighborhood(store: IndexStore, key: str) -> Neighborhood:
    """Return the callers, callees, parents, children and other relations of one node."""
    with store.connection() as connection:
        edges = graph_store.edges_touching(connection, [key])
    groups: dict[str, list[Neighbor]] = defaultdict(list)
    for edge in sorted(edges, key=lambda item: (-item.confidence, item.source, item.target)):
        is_outgoing = edge.source == key
        other = edge.target if is_outgoing else edge.source
        neighbor = Neighbor(other, edge.edge_type, edge.confidence, edge.lineno)
        groups[_group_of(edge.edge_type, is_outgoing)].append(neighbor)
    return Neighborhood(
        key=key,
        callers=groups["callers"],
        callees=groups["callees"],
        parents=groups["parents"],
        children=groups["children"],
        related=groups["related"],
    )


def _group_of(edge_type: str, is_outgoing: bool) -> str:
    if edge_type == CALLS:
        return "callees" if is_outgoing else "callers"
    if edge_type == CONTAINS:
        return "children" if is_outgoing else "parents"
    if edge_type == INHERITS:
        return "parents" if is_outgoing else "children"
    return "related"


def load_edges(store: IndexStore) -> list[Edge]:
    """Return every edge of the graph, for in-memory path search."""
    with store.connection() as connection:
        return graph_store.all_edges(connection)


def node_chunk_ids(store: IndexStore, keys: Collection[str], max_file_chunks: int) -> dict[str, list[int]]:
    """Return the chunk ids of each node in file order: a definition's parts, or a file's first
    `max_file_chunks` module chunks (a whole module would crowd out everything else)."""
    found: dict[str, list[int]] = {}
    with store.connection() as connection:
        for key in keys:
            path, separator, name = key.partition("::")
            if separator:
                rows = connection.execute(
                    "SELECT id FROM chunks WHERE path = ? AND symbol = ? ORDER BY ordinal", (path, name)
                ).fetchall()
            else:
                rows = connection.execute(
                    "SELECT id FROM chunks WHERE path = ? AND chunk_type = 'module' ORDER BY ordinal LIMIT ?",
                    (path, max_file_chunks),
                ).fetchall()
            found[key] = [row[0] for row in rows]
    return found
