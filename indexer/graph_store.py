"""The code graph's SQLite tables, kept in the index database beside the chunks.

`graph_refs` holds each file's reference facts (receiver, alias) and `graph_edges` the resolved
edges between node keys. A file's node key is its path; a definition's is "path::Qualified.name".
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence

from indexer.graph_facts import RefFact
from indexer.graph_resolve import DefRecord, Edge

GRAPH_TABLES = frozenset({"graph_refs", "graph_edges"})
GRAPH_SCHEMA = (
    # `short` is the name's last part, so a changed definition finds the files that may use it.
    (
        "CREATE TABLE graph_refs (path TEXT NOT NULL, name TEXT NOT NULL, ref_type TEXT NOT NULL, owner TEXT,"
        " receiver TEXT, alias TEXT, lineno INTEGER NOT NULL, short TEXT NOT NULL)"
    ),
    "CREATE INDEX graph_refs_path ON graph_refs (path)",
    "CREATE INDEX graph_refs_short ON graph_refs (short)",
    (
        "CREATE TABLE graph_edges (source TEXT NOT NULL, target TEXT NOT NULL, edge_type TEXT NOT NULL,"
        " confidence REAL NOT NULL, path TEXT NOT NULL, lineno INTEGER NOT NULL)"
    ),
    "CREATE INDEX graph_edges_source ON graph_edges (source)",
    "CREATE INDEX graph_edges_target ON graph_edges (target)",
    "CREATE INDEX graph_edges_path ON graph_edges (path)",
)
_MAX_SQL_VARIABLES = 500
_EDGE_COLUMNS = "source, target, edge_type, confidence, path, lineno"


def replace_refs(connection: sqlite3.Connection, path: str, facts: Sequence[RefFact]) -> None:
    """Replace the reference facts stored for one file."""
    connection.execute("DELETE FROM graph_refs WHERE path = ?", (path,))
    connection.executemany(
        "INSERT INTO graph_refs (path, name, ref_type, owner, receiver, alias, lineno, short)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(f.path, f.name, f.ref_type, f.owner, f.receiver, f.alias, f.lineno, ref_short_name(f.name)) for f in facts],
    )


def delete_refs_outside(connection: sqlite3.Connection) -> int:
    """Delete the facts of files that are no longer indexed, and return how many rows went."""
    cursor = connection.execute("DELETE FROM graph_refs WHERE path NOT IN (SELECT path FROM files)")
    return cursor.rowcount


def load_files(connection: sqlite3.Connection) -> dict[str, str]:
    """Return the language of every indexed file by path."""
    return dict(connection.execute("SELECT path, language FROM files ORDER BY path").fetchall())


def load_defs(connection: sqlite3.Connection) -> list[DefRecord]:
    """Return every definition symbol as a graph node record, in file order."""
    rows = connection.execute(
        "SELECT path, name, symbol_type, parent, language FROM symbols WHERE kind = 'def'"
        " ORDER BY path, start_byte"
    ).fetchall()
    return [DefRecord(*row) for row in rows]


def load_refs(connection: sqlite3.Connection, ref_types: Iterable[str], paths: Iterable[str] | None) -> list[RefFact]:
    """Return the stored facts of the given types, for the given files or (None) for all files."""
    types = list(ref_types)
    marks = ", ".join("?" * len(types))
    query = f"SELECT path, name, ref_type, owner, receiver, alias, lineno FROM graph_refs WHERE ref_type IN ({marks})"
    if paths is None:
        return [RefFact(*row) for row in connection.execute(query + " ORDER BY rowid", types)]

    facts: list[RefFact] = []
    wanted = sorted(set(paths))
    for start in range(0, len(wanted), _MAX_SQL_VARIABLES):
        batch = wanted[start : start + _MAX_SQL_VARIABLES]
        rows = connection.execute(
            query + f" AND path IN ({', '.join('?' * len(batch))}) ORDER BY rowid", [*types, *batch]
        )
        facts.extend(RefFact(*row) for row in rows)
    return facts


def paths_with_ref_names(connection: sqlite3.Connection, names: Iterable[str]) -> set[str]:
    """Return the files that have a reference whose last name part is one of `names`."""
    found: set[str] = set()
    wanted = sorted(set(names))
    for start in range(0, len(wanted), _MAX_SQL_VARIABLES):
        batch = wanted[start : start + _MAX_SQL_VARIABLES]
        rows = connection.execute(f"SELECT DISTINCT path FROM graph_refs WHERE short IN ({', '.join('?' * len(batch))})", batch)
        found.update(row[0] for row in rows)
    return found


def ref_short_name(name: str) -> str:
    """Return the last part of a reference name: "join" for "os.path.join", "http" for "net/http"."""
    return re.split(r"\.|/|::", name.rstrip("./"))[-1]


def edge_sources_into(connection: sqlite3.Connection, paths: Iterable[str]) -> set[str]:
    """Return the files with an edge that points into one of `paths` (a file node or its definitions)."""
    found: set[str] = set()
    for path in set(paths):
        rows = connection.execute(
            "SELECT DISTINCT path FROM graph_edges WHERE target = ? OR (target >= ? AND target < ?)",
            (path, path + "::", path + ":;"),
        )
        found.update(row[0] for row in rows)
    return found


def delete_edges_of(connection: sqlite3.Connection, paths: Iterable[str] | None) -> None:
    """Delete the edges produced by the given files, or every edge (None)."""
    if paths is None:
        connection.execute("DELETE FROM graph_edges")
        return
    wanted = sorted(set(paths))
    for start in range(0, len(wanted), _MAX_SQL_VARIABLES):
        batch = wanted[start : start + _MAX_SQL_VARIABLES]
        connection.execute(f"DELETE FROM graph_edges WHERE path IN ({', '.join('?' * len(batch))})", batch)


def insert_edges(connection: sqlite3.Connection, edges: Sequence[Edge]) -> None:
    """Insert resolved edges."""
    connection.executemany(
        f"INSERT INTO graph_edges ({_EDGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        [(e.source, e.target, e.edge_type, e.confidence, e.path, e.lineno) for e in edges],
    )


def edges_touching(connection: sqlite3.Connection, keys: Iterable[str]) -> list[Edge]:
    """Return the edges that start or end at one of the node keys."""
    edges: list[Edge] = []
    for key in set(keys):
        rows = connection.execute(
            f"SELECT {_EDGE_COLUMNS} FROM graph_edges WHERE source = ? UNION"
            f" SELECT {_EDGE_COLUMNS} FROM graph_edges WHERE target = ?",
            (key, key),
        )
        edges.extend(Edge(*row) for row in rows)
    return edges


def edges_of_file(connection: sqlite3.Connection, path: str) -> list[Edge]:
    """Return the edges produced by the facts of one file."""
    rows = connection.execute(f"SELECT {_EDGE_COLUMNS} FROM graph_edges WHERE path = ?", (path,))
    return [Edge(*row) for row in rows]


def all_edges(connection: sqlite3.Connection) -> list[Edge]:
    """Return every edge of the graph."""
    return [Edge(*row) for row in connection.execute(f"SELECT {_EDGE_COLUMNS} FROM graph_edges")]


def edge_count(connection: sqlite3.Connection) -> int:
    """Return the number of stored edges."""
    return int(connection.execute("SELECT COUNT(*) FROM graph_edges").fetchone()[0])
