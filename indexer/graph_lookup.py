"""Point look-ups in the code graph for one place in the code, such as a completion cursor.

`GraphLookup` reads definitions by node key, finds class members through the stored base-class
edges, resolves import names to files and rebuilds a definition's text from its chunks. Path
search over the whole graph is in `assistant.pathrag`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from indexer import graph_store
from indexer.graph import graph_version
from indexer.graph_modules import ImportTarget, ModuleMap
from indexer.graph_resolve import INHERITS, REFERENCES, Edge, def_key, short_name

if TYPE_CHECKING:
    from indexer.store import IndexStore

_modules: weakref.WeakKeyDictionary[IndexStore, tuple[int, ModuleMap]] = weakref.WeakKeyDictionary()
_modules_lock = threading.Lock()
MAX_BASE_DEPTH = 4
MAX_REEXPORT_DEPTH = 2


@dataclass(frozen=True)
class DefinitionText:
    """A definition of the index with its whole text, rebuilt from its chunks.

    `chunk_id` is the id of its first chunk. Pieces that chunking dropped between chunks (blank
    lines, a lone closing brace) come back as one newline.
    """

    key: str
    path: str
    name: str
    symbol_type: str
    language: str
    start_line: int
    end_line: int
    chunk_id: int
    text: str


class GraphLookup:
    """Look-ups in one index store; cheap to create, so make one per request."""

    def __init__(self, store: IndexStore) -> None:
        self._store = store
        self._modules: ModuleMap | None = None
        self._edges_by_file: dict[str, list[Edge]] = {}

    def modules(self) -> ModuleMap:
        """Return the module names of every indexed file, shared by the look-ups of one store
        until the next graph update, because building them took 11 ms for 734 files."""
        if self._modules is None:
            version = graph_version(self._store)
            with _modules_lock:
                cached = _modules.get(self._store)
                if cached is None or cached[0] != version:
                    with self._store.connection() as connection:
                        cached = (version, ModuleMap(graph_store.load_files(connection)))
                    _modules[self._store] = cached
            self._modules = cached[1]
        return self._modules

    def resolve_import(self, importer: str, language: str, import_name: str) -> ImportTarget | None:
        """Resolve an import name of file `importer`; None when it points outside the index."""
        return self.modules().resolve(importer, language, import_name)

    def has_definition(self, key: str) -> bool:
        """Tell whether `key` ("path::Qualified.name") is a definition of the index."""
        path, _, name = key.partition("::")
        with self._store.connection() as connection:
            row = connection.execute(
                "SELECT 1 FROM symbols WHERE kind = 'def' AND path = ? AND name = ? LIMIT 1", (path, name)
            ).fetchone()
        return row is not None

    def definition(self, key: str) -> DefinitionText | None:
        """Return a definition with its text, or None when the index has no such definition."""
        path, _, name = key.partition("::")
        with self._store.connection() as connection:
            symbol = connection.execute(
                "SELECT symbol_type, language, start_line, end_line, start_byte, end_byte FROM symbols"
                " WHERE kind = 'def' AND path = ? AND name = ? ORDER BY start_byte LIMIT 1",
                (path, name),
            ).fetchone()
            if symbol is None:
                return None
            symbol_type, language, start_line, end_line, start_byte, end_byte = symbol
            rows = connection.execute(
                "SELECT id, start_byte, end_byte, text FROM chunks WHERE path = ? AND start_byte >= ?"
                " AND end_byte <= ? ORDER BY start_byte, part",
                (path, start_byte, end_byte),
            ).fetchall()
        if not rows:
            return None
        return DefinitionText(key, path, name, symbol_type, language, start_line, end_line, rows[0][0], _join_pieces(rows))

    def module_member(self, paths: Sequence[str], member: str, depth: int = MAX_REEXPORT_DEPTH) -> str | None:
        """Find definition `member` ("Class.method" or "function") in one of the module files.

        A package that re-exports a name (`from .case import TestCase` in an `__init__`) has a
        "references" edge to it, which is followed up to `depth` times.
        """
        if not member:
            return None
        for path in paths:
            key = def_key(path, member)
            if self.has_definition(key):
                return key
        if depth <= 0:
            return None

        head, _, rest = member.partition(".")
        for path in paths:
            for edge in self.file_edges(path):
                if edge.edge_type != REFERENCES or short_name(edge.target.partition("::")[2]) != head:
                    continue
                target_path, _, target_name = edge.target.partition("::")
                found = self.module_member((target_path,), ".".join(part for part in (target_name, rest) if part), depth - 1)
                if found is not None:
                    return found
        return None

    def class_member(self, class_key: str, member: str, depth: int = MAX_BASE_DEPTH, include_own: bool = True) -> str | None:
        """Find method or nested definition `member` of a class, looking through its base classes.

        With `include_own` false only the base classes are searched, as for `super().name`.
        """
        path, _, class_name = class_key.partition("::")
        if include_own and self.has_definition(def_key(path, f"{class_name}.{member}")):
            return def_key(path, f"{class_name}.{member}")
        if depth <= 0:
            return None
        for base in self.base_classes(class_key):
            found = self.class_member(base, member, depth - 1)
            if found is not None:
                return found
        return None

    def base_classes(self, class_key: str) -> list[str]:
        """Return the keys of a class's resolved base classes, most confident first."""
        edges = [edge for edge in self.edges_touching(class_key) if edge.edge_type == INHERITS and edge.source == class_key]
        return [edge.target for edge in sorted(edges, key=lambda edge: -edge.confidence)]

    def edges_touching(self, key: str) -> list[Edge]:
        """Return the edges that start or end at `key`."""
        with self._store.connection() as connection:
            return graph_store.edges_touching(connection, [key])

    def file_edges(self, path: str) -> list[Edge]:
        """Return the edges that the facts of file `path` produced, cached for this look-up object."""
        if path not in self._edges_by_file:
            with self._store.connection() as connection:
                self._edges_by_file[path] = graph_store.edges_of_file(connection, path)
        return self._edges_by_file[path]


def _join_pieces(rows: Sequence[tuple[int, int, int, str]]) -> str:
    parts: list[str] = []
    end = -1
    for _, start_byte, end_byte, text in rows:
        if parts and start_byte > end:
            parts.append("\n")
        parts.append(text)
        end = end_byte
    return "".join(parts)
