"""Tests of the SQLite index store with hand-built chunks, symbols and vectors."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from assistant.errors import IndexCorrupt, IndexMissing, IndexVersionMismatch
from indexer.store import DATABASE_NAME, FORMAT_VERSION, MODEL_ID_KEY, FileRecord, IndexStore
from indexer.types import Chunk, Symbol

MODEL_ID = "test-model"
DIMENSION = 4

PARSE_PY = '''def parse_address_header(value):
    """Split an RFC 5322 address header into mailboxes."""
    return [part.strip() for part in value.split(",")]
'''
PARSE_JS = """function parseAddressHeader(value) {
  return value.split(",").map((part) => part.trim());
}
"""
CALLER_PY = """def send(message):
    recipients = parse_address_header(message["To"])
    return deliver(recipients)
"""
UNRELATED_PY = """def compute_checksum(data):
    return sum(data) % 256
"""


def make_chunk(path: str, symbol: str, text: str, start_line: int = 1, part: int = 0) -> Chunk:
    end_line = start_line + text.count("\n")
    return Chunk(
        path=path,
        language="javascript" if path.endswith(".js") else "python",
        symbol=symbol,
        chunk_type="function",
        start_line=start_line,
        end_line=end_line,
        start_byte=0,
        end_byte=len(text.encode("utf-8")),
        text=text,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        part=part,
    )


def make_symbol(path: str, name: str, kind: str = "def", line: int = 1) -> Symbol:
    return Symbol(name=name, kind=kind, symbol_type="function", path=path, language="python",
                  start_line=line, end_line=line + 2, start_byte=0, end_byte=10)


def make_record(path: str, content: str = "", mtime_ns: int = 1) -> FileRecord:
    return FileRecord(path=path, content_hash=hashlib.sha256(content.encode()).hexdigest(),
                      mtime_ns=mtime_ns, size_bytes=len(content), language="python")


def vectors_for(chunks: list[Chunk]) -> npt.NDArray[np.float32]:
    # Derive each vector from the chunk text so equal text gets an equal vector.
    rows = [np.frombuffer(hashlib.sha256(c.text.encode()).digest()[:DIMENSION], dtype=np.uint8) for c in chunks]
    return np.array(rows, dtype=np.float32).reshape(len(chunks), DIMENSION) / 255.0


def put_file(store: IndexStore, path: str, chunks: list[Chunk], symbols: list[Symbol] | None = None) -> list[int]:
    return store.replace_file(make_record(path), chunks, symbols or [], vectors_for(chunks))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IndexStore]:
    opened = IndexStore.open(tmp_path / ".ragcoder", create=True)
    opened.set_meta(MODEL_ID_KEY, MODEL_ID)
    yield opened
    opened.close()


@pytest.fixture
def search_store(store: IndexStore) -> IndexStore:
    put_file(store, "mail/header_parser.py", [make_chunk("mail/header_parser.py", "parse_address_header", PARSE_PY)])
    put_file(store, "web/address.js", [make_chunk("web/address.js", "parseAddressHeader", PARSE_JS)])
    put_file(store, "mail/send.py", [make_chunk("mail/send.py", "send", CALLER_PY)])
    put_file(store, "util/checksum.py", [make_chunk("util/checksum.py", "compute_checksum", UNRELATED_PY)])
    return store


def hit_paths(store: IndexStore, query: str, k: int = 10) -> list[str]:
    hits = store.search_lexical(query, k)
    chunks = store.chunks([chunk_id for chunk_id, _ in hits])
    return [chunks[chunk_id].path for chunk_id, _ in hits]


def test_open_missing_index_raises_index_missing(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="ragcoder index") as raised:
        IndexStore.open(tmp_path / ".ragcoder")

    assert str(tmp_path / ".ragcoder") in str(raised.value)
    assert not (tmp_path / ".ragcoder").exists()


def test_store_round_trip_after_reopen(tmp_path: Path) -> None:
    index_dir = tmp_path / ".ragcoder"
    chunks = [make_chunk("a.py", "f", "def f():\n    pass\n"), make_chunk("a.py", "g", "def g():\n    pass\n", 3)]
    symbols = [make_symbol("a.py", "f"), make_symbol("a.py", "g", line=3), make_symbol("a.py", "f", "ref", 4)]
    store = IndexStore.open(index_dir, create=True)
    store.set_meta(MODEL_ID_KEY, MODEL_ID)
    ids = store.replace_file(make_record("a.py", "source"), chunks, symbols, vectors_for(chunks))
    store.close()

    reopened = IndexStore.open(index_dir)
    try:
        assert reopened.files() == {"a.py": make_record("a.py", "source")}
        assert reopened.chunks(ids) == dict(zip(ids, chunks))
        assert reopened.symbols_named("f") == [symbols[0], symbols[2]]
        assert reopened.chunk_count() == 2
        assert reopened.file_count() == 1
        all_ids, matrix = reopened.all_vectors()
        assert all_ids.tolist() == ids
        assert matrix.dtype == np.float32
        np.testing.assert_array_equal(matrix, vectors_for(chunks))
    finally:
        reopened.close()


def test_replace_file_drops_old_chunks_and_symbols(store: IndexStore) -> None:
    old_ids = put_file(store, "a.py", [make_chunk("a.py", "obsolete", "def obsolete():\n    pass\n")],
                       [make_symbol("a.py", "obsolete")])
    new_chunks = [make_chunk("a.py", "fresh", "def fresh():\n    pass\n")]

    new_ids = put_file(store, "a.py", new_chunks, [make_symbol("a.py", "fresh")])

    assert store.chunks(old_ids) == {}
    assert store.chunks(new_ids) == dict(zip(new_ids, new_chunks))
    assert min(new_ids) > max(old_ids)
    assert store.symbols_named("obsolete") == []
    assert [s.name for s in store.symbols_named("fresh")] == ["fresh"]
    assert store.search_lexical("obsolete", 5) == []
    assert store.chunk_count() == 1


def test_file_chunk_ids_follow_chunk_order(store: IndexStore) -> None:
    chunks = [make_chunk("a.py", f"f{i}", f"def f{i}():\n    pass\n", 2 * i + 1) for i in range(3)]

    ids = put_file(store, "a.py", chunks)

    assert store.file_chunk_ids("a.py") == ids
    assert store.file_chunk_ids("missing.py") == []


def test_remove_file_returns_removed_ids(store: IndexStore) -> None:
    ids = put_file(store, "a.py", [make_chunk("a.py", "f", "def f():\n    pass\n")], [make_symbol("a.py", "f")])
    kept_ids = put_file(store, "b.py", [make_chunk("b.py", "g", "def g():\n    pass\n")])

    removed = store.remove_file("a.py")

    assert removed == ids
    assert list(store.files()) == ["b.py"]
    assert store.chunks(ids + kept_ids).keys() == set(kept_ids)
    assert store.symbols_named("f") == []
    assert store.search_lexical("f", 5) == []
    assert store.remove_file("a.py") == []


def test_replace_file_with_no_chunks_keeps_record(store: IndexStore) -> None:
    put_file(store, "empty.py", [])

    assert list(store.files()) == ["empty.py"]
    assert store.chunk_count() == 0


def test_replace_file_wrong_vector_rows_raises(store: IndexStore) -> None:
    chunks = [make_chunk("a.py", "f", "def f():\n    pass\n")]

    with pytest.raises(ValueError, match="one row per chunk"):
        store.replace_file(make_record("a.py"), chunks, [], np.zeros((2, DIMENSION), dtype=np.float32))

    assert store.files() == {}


def test_replace_file_chunk_of_other_path_raises(store: IndexStore) -> None:
    chunks = [make_chunk("b.py", "f", "def f():\n    pass\n")]

    with pytest.raises(ValueError, match="b.py"):
        store.replace_file(make_record("a.py"), chunks, [], vectors_for(chunks))


def test_replace_file_without_model_id_raises(tmp_path: Path) -> None:
    store = IndexStore.open(tmp_path / ".ragcoder", create=True)
    chunks = [make_chunk("a.py", "f", "def f():\n    pass\n")]
    try:
        with pytest.raises(ValueError, match=MODEL_ID_KEY):
            store.replace_file(make_record("a.py"), chunks, [], vectors_for(chunks))
        assert store.files() == {}
    finally:
        store.close()


def test_cached_vector_survives_rename(store: IndexStore) -> None:
    text = "def f():\n    pass\n"
    chunk = make_chunk("old.py", "f", text)
    put_file(store, "old.py", [chunk])

    store.remove_file("old.py")
    cached = store.cached_vector(chunk.content_hash, MODEL_ID)

    assert cached is not None
    assert cached.dtype == np.float32
    np.testing.assert_array_equal(cached, vectors_for([chunk])[0])
    assert store.cached_vector(chunk.content_hash, "other-model") is None
    assert store.cached_vector("no-such-hash", MODEL_ID) is None


def test_prune_vectors_drops_unused_vectors(store: IndexStore) -> None:
    used = make_chunk("a.py", "f", "def f():\n    pass\n")
    unused = make_chunk("b.py", "g", "def g():\n    pass\n")
    put_file(store, "a.py", [used])
    put_file(store, "b.py", [unused])
    store.remove_file("b.py")

    pruned = store.prune_vectors()

    assert pruned == 1
    assert store.cached_vector(unused.content_hash, MODEL_ID) is None
    assert store.cached_vector(used.content_hash, MODEL_ID) is not None


def test_replace_file_other_dimension_raises(store: IndexStore) -> None:
    put_file(store, "a.py", [make_chunk("a.py", "f", "def f():\n    pass\n")])
    chunks = [make_chunk("b.py", "g", "def g():\n    pass\n")]

    with pytest.raises(ValueError, match=f"dimension {DIMENSION + 1}, but the index stores dimension {DIMENSION}"):
        store.replace_file(make_record("b.py"), chunks, [], np.zeros((1, DIMENSION + 1), dtype=np.float32))

    assert list(store.files()) == ["a.py"]


def test_prune_vectors_drops_other_models(store: IndexStore) -> None:
    chunk = make_chunk("a.py", "f", "def f():\n    pass\n")
    put_file(store, "a.py", [chunk])
    store.set_meta(MODEL_ID_KEY, "next-model")
    put_file(store, "a.py", [chunk])

    pruned = store.prune_vectors()

    assert pruned == 1
    assert store.cached_vector(chunk.content_hash, MODEL_ID) is None
    assert store.cached_vector(chunk.content_hash, "next-model") is not None


def test_all_vectors_shares_vector_of_equal_text(store: IndexStore) -> None:
    text = "def f():\n    pass\n"
    first = put_file(store, "a.py", [make_chunk("a.py", "f", text)])
    second = put_file(store, "b.py", [make_chunk("b.py", "f", text)])

    ids, matrix = store.all_vectors()

    assert ids.dtype == np.int64
    assert ids.tolist() == first + second
    np.testing.assert_array_equal(matrix[0], matrix[1])


def test_all_vectors_empty_store_returns_empty_arrays(store: IndexStore) -> None:
    ids, matrix = store.all_vectors()

    assert ids.shape == (0,)
    assert matrix.shape == (0, 0)


@pytest.mark.parametrize("query", ["parse_address_header", "parseAddressHeader", "parse address header",
                                   "ParseAddressHeader", "PARSE_ADDRESS_HEADER"])
def test_search_lexical_identifier_spellings_find_both_definitions(search_store: IndexStore, query: str) -> None:
    paths = hit_paths(search_store, query)

    assert "mail/header_parser.py" in paths
    assert "web/address.js" in paths
    assert "util/checksum.py" not in paths


def test_search_lexical_symbol_name_outranks_text_mention(search_store: IndexStore) -> None:
    paths = hit_paths(search_store, "parse_address_header")

    assert paths.index("mail/header_parser.py") < paths.index("mail/send.py")


def test_search_lexical_matches_path_words(search_store: IndexStore) -> None:
    assert hit_paths(search_store, "checksum.py")[0] == "util/checksum.py"
    assert hit_paths(search_store, "header_parser")[0] == "mail/header_parser.py"


def test_search_lexical_scores_are_descending(search_store: IndexStore) -> None:
    hits = search_store.search_lexical("parse address header value", 10)
    scores = [score for _, score in hits]

    assert len(hits) >= 3
    assert scores == sorted(scores, reverse=True)
    assert all(score > 0 for score in scores)


def test_search_lexical_respects_k(search_store: IndexStore) -> None:
    assert len(search_store.search_lexical("value", 1)) == 1
    assert search_store.search_lexical("value", 0) == []


@pytest.mark.parametrize(
    "query",
    ['"', '""', "*", "parse*", ":", "path:mail", "(", ")", "(parse", "NEAR", "NEAR(a b)", "AND", "OR", "NOT",
     "a AND", "AND OR NOT", "", "   ", "^parse", "-parse", "+", "{symbol_terms}: x", '"unterminated', "'",
     "\x00", "é ü ß", "\u0301", "a" * 5000, " ".join(f"term{i}" for i in range(500)), "\\", "%_", ";--"],
)
def test_search_lexical_nasty_query_does_not_raise(search_store: IndexStore, query: str) -> None:
    hits = search_store.search_lexical(query, 5)

    assert isinstance(hits, list)


def test_search_lexical_operator_words_match_as_terms(store: IndexStore) -> None:
    put_file(store, "near.py", [make_chunk("near.py", "near_and_not", "NEAR = AND = NOT = 1\n")])

    assert hit_paths(store, "NEAR") == ["near.py"]
    assert hit_paths(store, "NOT") == ["near.py"]


def test_search_lexical_punctuation_only_returns_nothing(search_store: IndexStore) -> None:
    assert search_store.search_lexical("(*:)", 5) == []


def test_generation_bump_persists(tmp_path: Path) -> None:
    store = IndexStore.open(tmp_path / ".ragcoder", create=True)
    assert store.generation() == 0
    assert store.bump_generation() == 1
    assert store.bump_generation() == 2
    store.close()

    reopened = IndexStore.open(tmp_path / ".ragcoder")
    try:
        assert reopened.generation() == 2
    finally:
        reopened.close()


def test_transaction_exception_rolls_back(store: IndexStore) -> None:
    put_file(store, "a.py", [make_chunk("a.py", "f", "def f():\n    pass\n")])

    with pytest.raises(RuntimeError):
        with store.transaction():
            store.remove_file("a.py")
            store.set_meta("note", "changed")
            raise RuntimeError("abort")

    assert list(store.files()) == ["a.py"]
    assert store.get_meta("note") is None


def test_nested_failure_undoes_only_its_own_writes(store: IndexStore) -> None:
    put_file(store, "a.py", [make_chunk("a.py", "f", "def f():\n    pass\n")])
    bad_chunks = [make_chunk("a.py", "g", "def g():\n    pass\n")]

    with store.transaction():
        put_file(store, "b.py", [make_chunk("b.py", "h", "def h():\n    pass\n")])
        with pytest.raises(ValueError):
            store.replace_file(make_record("a.py"), bad_chunks, [], np.zeros((3, DIMENSION), dtype=np.float32))

    assert sorted(store.files()) == ["a.py", "b.py"]
    assert [chunk.symbol for chunk in store.chunks(store.file_chunk_ids("a.py")).values()] == ["f"]


def test_open_other_format_raises_version_mismatch(tmp_path: Path) -> None:
    index_dir = tmp_path / ".ragcoder"
    IndexStore.open(index_dir, create=True).close()
    with sqlite3.connect(index_dir / DATABASE_NAME) as connection:
        connection.execute("UPDATE meta SET value = '0' WHERE key = 'format_version'")
    connection.close()

    with pytest.raises(IndexVersionMismatch) as raised:
        IndexStore.open(index_dir)

    message = str(raised.value)
    assert f"has format 0, this build reads {FORMAT_VERSION}" in message
    assert str(index_dir) in message
    assert "ragcoder index --rebuild" in message


@pytest.mark.parametrize("create", [False, True])
def test_open_garbage_file_raises_index_corrupt(tmp_path: Path, create: bool) -> None:
    index_dir = tmp_path / ".ragcoder"
    index_dir.mkdir()
    garbage = bytes(range(256)) * 64
    (index_dir / DATABASE_NAME).write_bytes(garbage)

    with pytest.raises(IndexCorrupt, match="ragcoder index --rebuild"):
        IndexStore.open(index_dir, create=create)

    assert (index_dir / DATABASE_NAME).read_bytes() == garbage


def test_open_database_without_tables_raises_index_corrupt(tmp_path: Path) -> None:
    index_dir = tmp_path / ".ragcoder"
    index_dir.mkdir()
    with sqlite3.connect(index_dir / DATABASE_NAME) as connection:
        connection.execute("CREATE TABLE unrelated (x)")
    connection.close()

    with pytest.raises(IndexCorrupt, match="is missing the tables"):
        IndexStore.open(index_dir)


def test_open_empty_database_with_create_builds_schema(tmp_path: Path) -> None:
    index_dir = tmp_path / ".ragcoder"
    index_dir.mkdir()
    (index_dir / DATABASE_NAME).write_bytes(b"")

    store = IndexStore.open(index_dir, create=True)
    try:
        assert store.get_meta("format_version") == str(FORMAT_VERSION)
        assert store.file_count() == 0
    finally:
        store.close()


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from tests.indexer.test_store import make_chunk, put_file
    from indexer.store import IndexStore

    store = IndexStore.open(Path(sys.argv[1]))
    with store.transaction():
        store.remove_file("keep.py")
        for i in range(200):
            path = f"new_{i}.py"
            text = f"def uncommitted_{i}():\\n" + "    value = 1\\n" * 2000
            put_file(store, path, [make_chunk(path, f"uncommitted_{i}", text)])
        store.set_meta("generation", "99")
        print("in transaction", flush=True)
        sys.stdin.readline()
    """
)


def test_kill_mid_transaction_keeps_committed_state(tmp_path: Path) -> None:
    index_dir = tmp_path / ".ragcoder"
    store = IndexStore.open(index_dir, create=True)
    store.set_meta(MODEL_ID_KEY, MODEL_ID)
    keep_ids = put_file(store, "keep.py", [make_chunk("keep.py", "kept_function", "def kept_function():\n    pass\n")])
    store.bump_generation()
    store.close()

    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(index_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).parents[2], text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "in transaction\n"
        wal_bytes = (index_dir / (DATABASE_NAME + "-wal")).stat().st_size
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait()

    assert writer.returncode == -signal.SIGKILL
    # Uncommitted pages reached the write-ahead log, so the kill left real partial writes on disk.
    assert wal_bytes > 1_000_000
    reopened = IndexStore.open(index_dir)
    try:
        assert list(reopened.files()) == ["keep.py"]
        assert reopened.generation() == 1
        assert reopened.chunk_count() == 1
        assert list(reopened.chunks(keep_ids)) == keep_ids
        assert hit_paths(reopened, "kept_function") == ["keep.py"]
        assert hit_paths(reopened, "uncommitted_1") == []
    finally:
        reopened.close()
