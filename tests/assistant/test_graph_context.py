"""Tests for completion context from the code graph, on a small library and on the standard library."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.config import CompletionSettings, Settings
from assistant.context import Context, pack_context, render_chunk
from assistant.graph_context import DOCUMENT_CHUNK_ID, graph_context
from assistant.results import CompletionRequest
from assistant.retrieval import RetrievedChunk
from assistant.service import Assistant
from indexer.chunks import chunk_file
from indexer.graph import store_file_facts, update_graph
from indexer.graph_lookup import GraphLookup
from indexer.store import MODEL_ID_KEY, FileRecord, IndexStore

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "data" / "graph_context" / "python" / "library"
DESK = "library/desk.py"
CURSOR = "<|>"


def count_tokens(text: str) -> int:
    """Count words and punctuation marks, a stand-in for a tokenizer in the unit tests."""
    return len(re.findall(r"\w+|[^\w\s]", text))


@pytest.fixture
def library(tmp_path: Path) -> Iterator[IndexStore]:
    root = tmp_path / "repo"
    shutil.copytree(LIBRARY_DIR, root)
    store = IndexStore.open(tmp_path / "index", create=True)
    store.set_meta(MODEL_ID_KEY, "test")
    paths = sorted(path.relative_to(root).as_posix() for path in root.rglob("*.py"))
    with store.transaction():
        for path in paths:
            source = (root / path).read_bytes()
            chunks, symbols = chunk_file(path, "python", source, 120)
            record = FileRecord(path, hashlib.sha256(source).hexdigest(), 0, len(source), "python")
            store.replace_file(record, chunks, symbols, np.zeros((len(chunks), 1), dtype=np.float32))
            store_file_facts(store, path, source, symbols)
    update_graph(store, paths, [])
    yield store
    store.close()


def desk_with(code: str) -> str:
    """Return desk.py with `code` appended; `code` marks the cursor with CURSOR."""
    return (LIBRARY_DIR / DESK).read_text(encoding="utf-8") + code


def context_of(store: IndexStore, document: str, budget_tokens: int = 400, path: str = DESK) -> list[RetrievedChunk]:
    prefix, _, suffix = document.partition(CURSOR)
    return graph_context(store, path, prefix, suffix, "python", budget_tokens, count_tokens)


def symbols_of(items: list[RetrievedChunk]) -> list[str]:
    return [f"{item.chunk.path}::{item.chunk.symbol}" for item in items]


def test_graph_context_callee_at_cursor_comes_first(library: IndexStore) -> None:
    items = context_of(library, desk_with("\n    def keep(self, title):\n        shelve(" + CURSOR + ")\n"))

    assert symbols_of(items)[0] == "library/books.py::shelve"
    assert items[0].chunk.text == 'def shelve(book, shelf):\n    """Put `book` on `shelf`."""\n    shelf.append(book)'


def test_graph_context_long_body_keeps_signature_and_docstring(library: IndexStore) -> None:
    # Shelf is not indexed: its base class comes from the document, the base's base from the index.
    document = desk_with("\n\nclass Shelf(Book):\n    def store(self, store):\n        return self.save(" + CURSOR + ")\n")

    items = context_of(library, document)

    assert symbols_of(items)[0] == "library/books.py::Record.save"
    assert items[0].chunk.text == 'def save(self, store):\n    """Write the record to `store` and return its key."""\n    ...'


def test_graph_context_module_alias_resolves_class_with_relation(library: IndexStore) -> None:
    items = context_of(library, desk_with("\n    def keep(self, title):\n        book = books.Book(" + CURSOR + ")\n"))

    symbols = symbols_of(items)
    assert symbols[0] == "library/books.py::Book"
    assert "def summary(self):" in items[0].chunk.text
    relation = items[symbols.index("library/books.py::Record")]
    assert relation.chunk.text.startswith("# `Book` inherits from `Record`\n")


def test_graph_context_typing_self_member_puts_class_first(library: IndexStore) -> None:
    items = context_of(library, desk_with("\n    def keep(self, title):\n        self." + CURSOR + "\n"))

    assert symbols_of(items)[0] == "library/desk.py::Desk"
    assert items[0].hit.chunk_id == DOCUMENT_CHUNK_ID
    assert "def lend(self, title):" in items[0].chunk.text


def test_graph_context_visible_definition_is_not_repeated(library: IndexStore) -> None:
    items = context_of(library, desk_with("\n    def keep(self, title):\n        return self.lend(" + CURSOR + ")\n"))

    assert "library/desk.py::Desk.lend" not in symbols_of(items)


def test_graph_context_far_definition_comes_from_document(library: IndexStore) -> None:
    filler = "".join(f"\n\ndef filler_{number}():\n    return {number}\n" for number in range(12))
    far = '\n\ndef far_helper(value):\n    """Not in the index yet."""\n    return value * 2\n'
    document = desk_with("\n    def keep(self, title):\n        return far_helper(" + CURSOR + ")\n" + filler + far)

    items = context_of(library, document)

    assert symbols_of(items)[0] == "library/desk.py::far_helper"
    assert items[0].hit.chunk_id == DOCUMENT_CHUNK_ID
    assert items[0].chunk.text == far.strip()
    assert not any(symbol.startswith("library/desk.py::filler_") for symbol in symbols_of(items))


@pytest.mark.parametrize(("budget_tokens", "min_items"), [(0, 0), (20, 0), (50, 1), (120, 2), (400, 5)])
def test_graph_context_fits_budget(library: IndexStore, budget_tokens: int, min_items: int) -> None:
    document = desk_with("\n\nclass Shelf(Book):\n    def store(self, store):\n        return self.save(" + CURSOR + ")\n")

    items = context_of(library, document, budget_tokens)

    assert sum(count_tokens(render_chunk(item)) for item in items) <= budget_tokens
    assert pack_context(items, budget_tokens, count_tokens).used == items
    assert len(items) >= min_items
    assert budget_tokens > 0 or not items


def test_graph_context_unsupported_language_is_empty(library: IndexStore) -> None:
    assert graph_context(library, "notes.txt", "shelve(", ")", "text", 400, count_tokens) == []


def test_graph_lookup_follows_reexport_and_bases(library: IndexStore) -> None:
    lookup = GraphLookup(library)

    assert lookup.module_member(["library/__init__.py"], "Book") == "library/books.py::Book"
    assert lookup.class_member("library/books.py::Book", "save") == "library/books.py::Record.save"
    assert lookup.class_member("library/books.py::Book", "missing") is None


@pytest.fixture(scope="module")
def stdlib_store(indexed_stdlib: Assistant) -> Iterator[IndexStore]:
    store = IndexStore.open(indexed_stdlib.index_dir)
    yield store
    store.close()


def stdlib_document(stdlib_repo: Path, path: str, marker: str) -> tuple[str, str]:
    """Split a standard-library file right after the first occurrence of `marker`."""
    text = (stdlib_repo / path).read_text(encoding="utf-8")
    end = text.index(marker) + len(marker)
    return text[:end], text[end:]


def test_graph_context_stdlib_inherited_method(indexed_stdlib: Assistant, stdlib_store: IndexStore, stdlib_repo: Path) -> None:
    # MIMEText -> MIMENonMultipart -> MIMEBase -> Message, each in another module.
    prefix, suffix = stdlib_document(stdlib_repo, "email/mime/text.py", "self.set_payload(")
    count = indexed_stdlib.generator().count_tokens

    items = graph_context(stdlib_store, "email/mime/text.py", prefix, suffix, "python", 512, count)

    assert symbols_of(items)[0] == "email/message.py::Message.set_payload"
    text = items[0].chunk.text
    assert text.startswith("def set_payload(self, payload, charset=None):\n")
    assert text.endswith("\n    ...")
    assert sum(count(render_chunk(item)) for item in items) <= 512


def test_graph_context_stdlib_imported_class_is_compact(
    indexed_stdlib: Assistant, stdlib_store: IndexStore, stdlib_repo: Path
) -> None:
    prefix, suffix = stdlib_document(stdlib_repo, "json/__init__.py", "        cls = JSONDecoder")
    count = indexed_stdlib.generator().count_tokens

    items = graph_context(stdlib_store, "json/__init__.py", prefix, suffix, "python", 512, count)

    by_symbol = dict(zip(symbols_of(items), items))
    decoder = by_symbol["json/decoder.py::JSONDecoder"].chunk.text
    assert "    def raw_decode(self, s, idx=0):\n" in decoder
    assert "scan_once" not in decoder


def test_completion_context_puts_graph_definitions_first(indexed_stdlib: Assistant, stdlib_repo: Path) -> None:
    # The assistant's completion path, not the graph function alone. The inherited method's
    # definition from the code graph comes first, and similar chunks only fill what the graph leaves.
    prefix, suffix = stdlib_document(stdlib_repo, "email/mime/text.py", "self.set_payload(")
    line = prefix.count("\n")
    request = CompletionRequest(
        path=str(stdlib_repo / "email/mime/text.py"), text=prefix + suffix, line=line,
        column=len(prefix) - (prefix.rfind("\n") + 1),
    )

    with_graph = indexed_stdlib.completion_context(request)
    without_graph = Assistant(stdlib_repo, Settings(completion=CompletionSettings(graph_context=False)))
    try:
        flat = without_graph.completion_context(request)
    finally:
        without_graph.close()

    assert isinstance(with_graph, Context) and isinstance(flat, Context)
    assert (with_graph.used[0].chunk.path, with_graph.used[0].chunk.symbol) == ("email/message.py", "Message.set_payload")
    assert "email/message.py::Message.set_payload" not in {f"{item.chunk.path}::{item.chunk.symbol}" for item in flat.used}
    assert with_graph.tokens <= CompletionSettings().context_tokens
