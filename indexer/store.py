"""The SQLite store of an index: files, chunks, symbols, embedding vectors and full-text search.

Every write runs inside `IndexStore.transaction()`, so a process killed mid-index leaves the
last committed state readable.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assistant.errors import IndexCorrupt, IndexMissing, IndexVersionMismatch
from indexer.graph_store import GRAPH_SCHEMA, GRAPH_TABLES
from indexer.lexical_terms import index_terms, match_expression
from indexer.types import Chunk, Symbol

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
DATABASE_NAME = "index.sqlite"
MODEL_ID_KEY = "embedding_model"
"""Meta key of the embedding model whose vectors `replace_file` stores and `all_vectors` returns."""

BUSY_TIMEOUT_MS = 10_000
"""How long a reader waits for another process's commit before SQLite raises "database is locked"."""

MAX_SQL_VARIABLES = 500
_FLOAT32_BYTES = np.dtype(np.float32).itemsize
FTS_COLUMN_WEIGHTS = (10.0, 3.0, 1.0)
"""BM25 weights of symbol name, path and text: a hit in the chunk's symbol name counts most."""

_REQUIRED_TABLES = frozenset({"meta", "files", "chunks", "symbols", "vectors", "chunk_fts"}) | GRAPH_TABLES
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE files (path TEXT PRIMARY KEY, content_hash TEXT NOT NULL, mtime_ns INTEGER NOT NULL,"
    " size_bytes INTEGER NOT NULL, language TEXT NOT NULL)",
    # AUTOINCREMENT never reuses an id, so a stale vector index cannot map an old id to new text.
    "CREATE TABLE chunks (id INTEGER PRIMARY KEY AUTOINCREMENT, ordinal INTEGER NOT NULL,"
    " path TEXT NOT NULL, language TEXT NOT NULL, symbol TEXT NOT NULL, chunk_type TEXT NOT NULL,"
    " start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, start_byte INTEGER NOT NULL,"
    " end_byte INTEGER NOT NULL, text TEXT NOT NULL, content_hash TEXT NOT NULL, part INTEGER NOT NULL)",
    "CREATE INDEX chunks_path ON chunks (path, ordinal)",
    "CREATE INDEX chunks_content_hash ON chunks (content_hash)",
    "CREATE TABLE symbols (id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,"
    " symbol_type TEXT NOT NULL, path TEXT NOT NULL, language TEXT NOT NULL, start_line INTEGER NOT NULL,"
    " end_line INTEGER NOT NULL, start_byte INTEGER NOT NULL, end_byte INTEGER NOT NULL, parent TEXT)",
    "CREATE INDEX symbols_name ON symbols (name)",
    "CREATE INDEX symbols_path ON symbols (path)",
    "CREATE TABLE vectors (content_hash TEXT NOT NULL, model_id TEXT NOT NULL, vector BLOB NOT NULL,"
    " PRIMARY KEY (content_hash, model_id))",
    # '_' is a token character, so a whole snake_case identifier stays one term next to its parts.
    "CREATE VIRTUAL TABLE chunk_fts USING fts5(symbol_terms, path_terms, text_terms,"
    " tokenize = \"unicode61 tokenchars '_'\")",
)
_CHUNK_COLUMNS = (
    "path, language, symbol, chunk_type, start_line, end_line, start_byte, end_byte, text, content_hash, part"
)
_SYMBOL_COLUMNS = "name, kind, symbol_type, path, language, start_line, end_line, start_byte, end_byte, parent"


@dataclass(frozen=True)
class FileRecord:
    """The stored state of one source file. `path` is relative to the repository root."""

    path: str
    content_hash: str
    mtime_ns: int
    size_bytes: int
    language: str


class IndexStore:
    """One open `index.sqlite`, safe to share between threads."""

    def __init__(self, connection: sqlite3.Connection, index_dir: Path) -> None:
        self._connection = connection
        self._index_dir = index_dir
        self._lock = threading.RLock()
        self._transaction_depth = 0

    @classmethod
    def open(cls, index_dir: Path, create: bool = False) -> IndexStore:
        """Open the index in `index_dir`, creating an empty one when `create` is true.

        Raises:
            IndexMissing: there is no index and `create` is false.
            IndexVersionMismatch: the index was written in another format.
            IndexCorrupt: the file is not a readable ragcoder index.
        """
        database = index_dir / DATABASE_NAME
        rebuild_hint = "run `ragcoder index --rebuild REPO`"
        if not database.exists() and not create:
            raise IndexMissing(f"no index at {index_dir}; run `ragcoder index REPO`")
        if create:
            index_dir.mkdir(parents=True, exist_ok=True)

        try:
            connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise IndexCorrupt(f"failed to open index {database} ({error}); {rebuild_hint}") from None
        store = cls(connection, index_dir)
        try:
            store._prepare(create, database, rebuild_hint)
        except BaseException:
            connection.close()
            raise
        return store

    def _prepare(self, create: bool, database: Path, rebuild_hint: str) -> None:
        try:
            self._connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # NORMAL keeps the database consistent after a crash and may lose only the last
            # commits on power loss, which the next index run redoes.
            self._connection.execute("PRAGMA synchronous = NORMAL")
            table_names = {row[0] for row in self._connection.execute("SELECT name FROM sqlite_master")}
            # An empty database is also what a first run killed before its first commit leaves.
            if create and not table_names:
                self._create_schema()
                return
            found = self.get_meta("format_version") if "meta" in table_names else None
        except sqlite3.DatabaseError as error:
            raise IndexCorrupt(f"failed to read index {database} ({error}); {rebuild_hint}") from None

        # The version comes first because another format may also have other tables.
        if found is not None and found.isdigit() and int(found) != FORMAT_VERSION:
            raise IndexVersionMismatch(
                f"index at {self._index_dir} has format {found}, this build reads {FORMAT_VERSION}; {rebuild_hint}"
            )
        missing = _REQUIRED_TABLES - table_names
        if missing:
            raise IndexCorrupt(f"index {database} is missing the tables {', '.join(sorted(missing))}; {rebuild_hint}")
        if found is None or not found.isdigit():
            raise IndexCorrupt(f"index {database} has no valid format version ({found!r}); {rebuild_hint}")

    def _create_schema(self) -> None:
        # WAL lets a language server read while `ragcoder index` writes in another process.
        self._connection.execute("PRAGMA journal_mode = WAL")
        with self.transaction():
            for statement in (*_SCHEMA, *GRAPH_SCHEMA):
                self._connection.execute(statement)
            self.set_meta("format_version", str(FORMAT_VERSION))
            self.set_meta("generation", "0")
            self.set_meta("created_at", datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def close(self) -> None:
        """Close the database connection. The store cannot be used afterwards."""
        with self._lock:
            self._connection.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block as one write transaction: commit at the end, roll back on an exception.

        BEGIN IMMEDIATE takes the write lock up front, so two writers wait for each other
        instead of failing halfway. A nested call runs inside a savepoint: when it raises, only
        its own writes are undone, so a caller that catches the error can still commit the rest.
        """
        with self._lock:
            if self._transaction_depth > 0:
                yield from self._savepoint()
                return

            self._connection.execute("BEGIN IMMEDIATE")
            self._transaction_depth = 1
            try:
                yield
                self._connection.execute("COMMIT")
            except BaseException:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise
            finally:
                self._transaction_depth = 0

    def _savepoint(self) -> Iterator[None]:
        name = f"nested_{self._transaction_depth}"
        self._connection.execute(f"SAVEPOINT {name}")
        self._transaction_depth += 1
        try:
            yield
        except BaseException:
            self._connection.execute(f"ROLLBACK TO {name}")
            raise
        finally:
            self._transaction_depth -= 1
            self._connection.execute(f"RELEASE {name}")

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Lend the connection, under the store's lock, to a module that owns tables of its own
        (the code graph in `indexer.graph_store`)."""
        with self._lock:
            yield self._connection

    def get_meta(self, key: str) -> str | None:
        """Return the metadata value stored under `key`, or None."""
        with self._lock:
            row = self._connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store a metadata value, replacing any earlier one."""
        with self.transaction():
            self._connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        """Return the counter that `bump_generation` raises after each change of the vectors."""
        return int(self.get_meta("generation") or 0)

    def bump_generation(self) -> int:
        """Increment the generation counter and return the new value."""
        with self.transaction():
            value = self.generation() + 1
            self.set_meta("generation", str(value))
        return value

    def files(self) -> dict[str, FileRecord]:
        """Return every indexed file by path."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT path, content_hash, mtime_ns, size_bytes, language FROM files ORDER BY path"
            ).fetchall()
        return {row[0]: FileRecord(*row) for row in rows}

    def file_chunk_ids(self, path: str) -> list[int]:
        """Return the ids of the chunks stored for `path`, in file order."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT id FROM chunks WHERE path = ? ORDER BY ordinal", (path,)
            ).fetchall()
        return [row[0] for row in rows]

    def replace_file(
        self,
        record: FileRecord,
        chunks: list[Chunk],
        symbols: list[Symbol],
        vectors: npt.NDArray[np.float32],
    ) -> list[int]:
        """Replace a file's chunks, symbols and vectors, and return the new chunk ids in order.

        Row i of `vectors` is the embedding of `chunks[i]`. The vectors are stored under the
        model named by the `MODEL_ID_KEY` meta value, keyed by chunk content hash.

        Raises:
            ValueError: the vectors do not match the chunks or the dimension stored for the
                model, a chunk or symbol belongs to another path, or chunks are given while
                no `MODEL_ID_KEY` meta value is set.
        """
        matrix = _check_file_contents(record, chunks, symbols, vectors)
        with self.transaction():
            model_id = self.get_meta(MODEL_ID_KEY)
            if len(chunks):
                self._check_vector_dimension(model_id, matrix.shape[1])
            self._delete_file_rows(record.path)
            self._connection.execute(
                "INSERT INTO files (path, content_hash, mtime_ns, size_bytes, language) VALUES (?, ?, ?, ?, ?)",
                (record.path, record.content_hash, record.mtime_ns, record.size_bytes, record.language),
            )
            ids = [self._insert_chunk(ordinal, chunk) for ordinal, chunk in enumerate(chunks)]
            self._connection.executemany(
                "INSERT OR REPLACE INTO vectors (content_hash, model_id, vector) VALUES (?, ?, ?)",
                [(chunk.content_hash, model_id, row.tobytes()) for chunk, row in zip(chunks, matrix)],
            )
            self._connection.executemany(
                f"INSERT INTO symbols ({_SYMBOL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_symbol_row(symbol) for symbol in symbols],
            )
        return ids

    def _check_vector_dimension(self, model_id: str | None, dimension: int) -> None:
        if model_id is None:
            raise ValueError(
                f"no embedding model recorded in the index; call set_meta({MODEL_ID_KEY!r}, model_id) first"
            )
        row = self._connection.execute(
            "SELECT length(vector) FROM vectors WHERE model_id = ? LIMIT 1", (model_id,)
        ).fetchone()
        stored = None if row is None else row[0] // _FLOAT32_BYTES
        if stored is not None and stored != dimension:
            raise ValueError(
                f"vectors have dimension {dimension}, but the index stores dimension {stored}"
                f" for model {model_id!r}; rebuild the index after changing the embedding model"
            )

    def _insert_chunk(self, ordinal: int, chunk: Chunk) -> int:
        cursor = self._connection.execute(
            f"INSERT INTO chunks (ordinal, {_CHUNK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ordinal, *_chunk_row(chunk)),
        )
        chunk_id = int(cursor.lastrowid or 0)
        self._connection.execute(
            "INSERT INTO chunk_fts (rowid, symbol_terms, path_terms, text_terms) VALUES (?, ?, ?, ?)",
            (chunk_id, index_terms(chunk.symbol), index_terms(chunk.path),
             index_terms(chunk.text)),
        )
        return chunk_id

    def remove_file(self, path: str) -> list[int]:
        """Remove a file with its chunks and symbols, and return the removed chunk ids.

        Vectors stay cached under their content hash until `prune_vectors`.
        """
        with self.transaction():
            return self._delete_file_rows(path)

    def _delete_file_rows(self, path: str) -> list[int]:
        ids = self.file_chunk_ids(path)
        self._connection.execute("DELETE FROM chunk_fts WHERE rowid IN (SELECT id FROM chunks WHERE path = ?)", (path,))
        self._connection.execute("DELETE FROM chunks WHERE path = ?", (path,))
        self._connection.execute("DELETE FROM symbols WHERE path = ?", (path,))
        self._connection.execute("DELETE FROM files WHERE path = ?", (path,))
        return ids

    def prune_vectors(self) -> int:
        """Delete cached vectors that no chunk uses or that another model made, and return their count."""
        with self.transaction():
            cursor = self._connection.execute(
                "DELETE FROM vectors WHERE content_hash NOT IN (SELECT content_hash FROM chunks)"
                " OR model_id IS NOT (SELECT value FROM meta WHERE key = ?)",
                (MODEL_ID_KEY,),
            )
        return cursor.rowcount

    def cached_vector(self, content_hash: str, model_id: str) -> npt.NDArray[np.float32] | None:
        """Return the stored vector of chunk text with this hash embedded by `model_id`, or None."""
        with self._lock:
            row = self._connection.execute(
                "SELECT vector FROM vectors WHERE content_hash = ? AND model_id = ?", (content_hash, model_id)
            ).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype=np.float32).copy()

    def chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """Return the chunks with the given ids. Unknown ids are left out."""
        found: dict[int, Chunk] = {}
        unique_ids = list(dict.fromkeys(int(chunk_id) for chunk_id in ids))
        with self._lock:
            for start in range(0, len(unique_ids), MAX_SQL_VARIABLES):
                batch = unique_ids[start:start + MAX_SQL_VARIABLES]
                rows = self._connection.execute(
                    f"SELECT id, {_CHUNK_COLUMNS} FROM chunks WHERE id IN ({', '.join('?' * len(batch))})",
                    batch,
                ).fetchall()
                found.update((row[0], Chunk(*row[1:])) for row in rows)
        return found

    def chunk_count(self) -> int:
        """Return the number of stored chunks."""
        return self._count("chunks")

    def file_count(self) -> int:
        """Return the number of stored files."""
        return self._count("files")

    def _count(self, table: str) -> int:
        with self._lock:
            return int(self._connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def all_vectors(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Return the chunk ids and their vectors (one row each) for the recorded model.

        Chunks without a vector for that model are left out. With no vectors, the matrix has
        shape (0, 0).
        """
        with self._lock:
            rows = self._connection.execute(
                "SELECT chunks.id, vectors.vector FROM chunks JOIN vectors"
                " ON vectors.content_hash = chunks.content_hash AND vectors.model_id = "
                " (SELECT value FROM meta WHERE key = ?) ORDER BY chunks.id",
                (MODEL_ID_KEY,),
            ).fetchall()
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.zeros((0, 0), dtype=np.float32)
        sizes = {len(row[1]) for row in rows}
        if len(sizes) != 1:
            raise IndexCorrupt(
                f"index at {self._index_dir} stores vectors of {len(sizes)} different sizes;"
                " run `ragcoder index --rebuild REPO`"
            )
        blob = b"".join(row[1] for row in rows)
        return ids, np.frombuffer(blob, dtype=np.float32).reshape(len(rows), -1).copy()

    def search_lexical(self, query: str, k: int) -> list[tuple[int, float]]:
        """Rank chunks by BM25 over symbol name, path and text, and return (chunk id, score), best first.

        Any query string is accepted. One without a word character returns no hits.
        """
        match = match_expression(query)
        if match is None or k <= 0:
            return []
        with self._lock:
            rows = self._connection.execute(
                "SELECT rowid, bm25(chunk_fts, ?, ?, ?) AS rank FROM chunk_fts"
                " WHERE chunk_fts MATCH ? ORDER BY rank LIMIT ?",
                (*FTS_COLUMN_WEIGHTS, match, k),
            ).fetchall()
        # FTS5's bm25() is lower-is-better, so negate it for a higher-is-better score.
        return [(int(row[0]), -float(row[1])) for row in rows]

    def symbols_named(self, name: str) -> list[Symbol]:
        """Return the symbols called exactly `name`, ordered by path and line."""
        with self._lock:
            rows = self._connection.execute(
                f"SELECT {_SYMBOL_COLUMNS} FROM symbols WHERE name = ? ORDER BY path, start_line, start_byte",
                (name,),
            ).fetchall()
        return [Symbol(*row) for row in rows]


def _check_file_contents(
    record: FileRecord, chunks: list[Chunk], symbols: list[Symbol], vectors: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    for item in [*chunks, *symbols]:
        if item.path != record.path:
            raise ValueError(f"{type(item).__name__} of {item.path!r} passed with file {record.path!r}")
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if not chunks and matrix.size == 0:
        return matrix.reshape(0, 0)
    if matrix.ndim != 2 or matrix.shape[0] != len(chunks):
        raise ValueError(f"vectors have shape {matrix.shape}; expected one row per chunk ({len(chunks)} rows)")
    return matrix


def _chunk_row(chunk: Chunk) -> tuple[object, ...]:
    return (chunk.path, chunk.language, chunk.symbol, chunk.chunk_type, chunk.start_line, chunk.end_line,
            chunk.start_byte, chunk.end_byte, chunk.text, chunk.content_hash, chunk.part)


def _symbol_row(symbol: Symbol) -> tuple[object, ...]:
    return (symbol.name, symbol.kind, symbol.symbol_type, symbol.path, symbol.language, symbol.start_line,
            symbol.end_line, symbol.start_byte, symbol.end_byte, symbol.parent)

