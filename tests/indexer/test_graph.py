"""Tests for the code graph: edges built from small multi-file projects, incremental updates, queries."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from indexer.chunks import chunk_file
from indexer.graph import (
    find_nodes,
    load_edges,
    neighborhood,
    store_file_facts,
    update_graph,
)
from indexer.graph_facts import RefFact
from indexer.graph_resolve import FALLBACK_CONFIDENCE, DefRecord, Edge, Resolver
from indexer.parse import language_for_path
from indexer.store import MODEL_ID_KEY, FileRecord, IndexStore

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "graph"
MAX_LINES = 120


def _index(store: IndexStore, root: Path, paths: list[str]) -> None:
    """Store chunks, symbols and graph facts of the files, as the index build does (vectors are stand-ins)."""
    with store.transaction():
        for path in paths:
            file_path = root / path
            if not file_path.exists():
                store.remove_file(path)
                continue
            source = file_path.read_bytes()
            language = language_for_path(path) or ""
            chunks, symbols = chunk_file(path, language, source, MAX_LINES)
            record = FileRecord(path, hashlib.sha256(source).hexdigest(), 0, len(source), language)
            store.replace_file(record, chunks, symbols, np.zeros((len(chunks), 1), dtype=np.float32))
            store_file_facts(store, path, source, symbols)


def _all_paths(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def project(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, IndexStore]]:
    root = tmp_path / "repo"
    shutil.copytree(DATA_DIR / request.param, root)
    store = IndexStore.open(tmp_path / "index", create=True)
    store.set_meta(MODEL_ID_KEY, "test")
    paths = _all_paths(root)
    _index(store, root, paths)
    update_graph(store, paths, [])
    yield root, store
    store.close()


def _edges(store: IndexStore, edge_type: str) -> dict[tuple[str, str], float]:
    return {(e.source, e.target): round(e.confidence, 3) for e in load_edges(store) if e.edge_type == edge_type}


def _edge_set(edges: list[Edge]) -> set[tuple[str, str, str, float]]:
    return {(e.source, e.target, e.edge_type, round(e.confidence, 6)) for e in edges}


M = "shop/models.py"
S = "shop/service.py"
INIT = "shop/__init__.py"


@pytest.mark.parametrize("project", ["python"], indirect=True)
def test_graph_python_calls_resolved_through_scope_and_imports(project: tuple[Path, IndexStore]) -> None:
    _, store = project

    calls = _edges(store, "calls")

    assert calls[(f"{M}::Base.save", f"{M}::Base.validate")] == 0.95  # self.validate()
    assert calls[(f"{M}::Item.total", f"{M}::price_of")] == 0.95  # same-file function
    assert calls[(f"{S}::checkout", f"{M}::Item")] == 0.9  # imported through the package's __init__
    assert calls[(f"{S}::checkout", f"{M}::price_of")] == 0.9  # alias `price` and `models.price_of`
    assert calls[(f"{S}::checkout", f"{M}::Base.save")] == 0.4  # item.save(): by name only
    assert len(calls) == 5


@pytest.mark.parametrize("project", ["python"], indirect=True)
def test_graph_python_structure_edges_match_hand_worked(project: tuple[Path, IndexStore]) -> None:
    _, store = project

    assert _edges(store, "inherits") == {(f"{M}::Item", f"{M}::Base"): 0.95}
    assert _edges(store, "overrides") == {(f"{M}::Item.validate", f"{M}::Base.validate"): 0.95}
    assert set(_edges(store, "imports")) == {(INIT, M), (S, M), (S, INIT)}
    assert set(_edges(store, "references")) == {(INIT, f"{M}::Item"), (S, f"{M}::Item"), (S, f"{M}::price_of")}
    assert set(_edges(store, "contains")) == {
        (M, f"{M}::Base"), (f"{M}::Base", f"{M}::Base.save"), (f"{M}::Base", f"{M}::Base.validate"),
        (M, f"{M}::Item"), (f"{M}::Item", f"{M}::Item.validate"), (f"{M}::Item", f"{M}::Item.total"),
        (M, f"{M}::price_of"), (S, f"{S}::checkout"),
    }


@pytest.mark.parametrize("project", ["go"], indirect=True)
def test_graph_go_package_scope_resolves_across_files(project: tuple[Path, IndexStore]) -> None:
    _, store = project

    calls = _edges(store, "calls")

    assert calls == {
        ("kv/store.go::Store.Get", "kv/util.go::normalize"): 0.95,
        ("kv/store.go::Store.Put", "kv/util.go::normalize"): 0.95,
        ("kv/util.go::Copy", "kv/store.go::NewStore"): 0.95,
        ("kv/util.go::Copy", "kv/store.go::Store.Put"): 0.4,
        ("kv/util.go::Copy", "kv/store.go::Store.Get"): 0.4,
    }
    assert ("kv/store.go::Store", "kv/store.go::Store.Get") in _edges(store, "contains")


@pytest.mark.parametrize("project", ["python"], indirect=True)
def test_graph_update_after_edits_matches_full_rebuild(project: tuple[Path, IndexStore]) -> None:
    root, store = project
    models = root / M
    models.write_text(models.read_text().replace("price_of", "cost_of"))
    (root / "shop" / "extra.py").write_text("def helper():\n    return 1\n")
    (root / S).write_text((root / S).read_text() + "\n\ndef later():\n    return helper()\n")

    changed = [M, "shop/extra.py", S]
    _index(store, root, changed)
    update = update_graph(store, changed, [])
    incremental = _edge_set(load_edges(store))
    update_graph(store, [], [], full=True)

    assert incremental == _edge_set(load_edges(store))
    assert update.files_resolved == 4
    calls = _edges(store, "calls")
    assert (f"{S}::later", "shop/extra.py::helper") in calls
    assert not any(target.endswith("::price_of") for _, target in calls)


@pytest.mark.parametrize("project", ["python"], indirect=True)
def test_graph_update_removed_file_drops_edges_into_it(project: tuple[Path, IndexStore]) -> None:
    root, store = project
    (root / M).unlink()

    _index(store, root, [M])
    update_graph(store, [], [M])

    assert not [e for e in load_edges(store) if M in (e.source, e.target.partition("::")[0], e.path)]
    assert set(_edges(store, "imports")) == {(S, INIT)}


@pytest.mark.parametrize("project", ["python"], indirect=True)
def test_graph_neighborhood_lists_callers_callees_parents_children(project: tuple[Path, IndexStore]) -> None:
    _, store = project

    [key] = find_nodes(store, "price_of")
    around = neighborhood(store, key)
    [item_key] = find_nodes(store, "Item")
    item = neighborhood(store, item_key)

    assert key == f"{M}::price_of"
    assert {n.key for n in around.callers} == {f"{M}::Item.total", f"{S}::checkout"}
    assert around.callees == []
    assert [n.key for n in around.parents] == [M]
    assert {n.key for n in item.children} == {f"{M}::Item.validate", f"{M}::Item.total"}
    assert {n.key for n in item.parents} == {M, f"{M}::Base"}


def _fact(name: str, receiver: str | None = None, path: str = "app/main.py") -> RefFact:
    return RefFact(path=path, name=name, ref_type="call", owner=None, receiver=receiver, alias=None, lineno=1)


def test_resolver_bare_call_skips_methods_and_builtins() -> None:
    files = {"app/main.py": "python", "app/tools.py": "python", "app/report.py": "python"}
    defs = [
        DefRecord("app/tools.py", "Sheet", "class", None, "python"),
        DefRecord("app/tools.py", "Sheet.render", "method", "Sheet", "python"),
        DefRecord("app/tools.py", "helper", "function", None, "python"),
        DefRecord("app/report.py", "print", "function", None, "python"),
    ]
    resolver = Resolver(files, defs)

    assert resolver.resolve_call(_fact("helper")) == [("app/tools.py::helper", FALLBACK_CONFIDENCE)]
    assert resolver.resolve_call(_fact("render")) == []
    assert resolver.resolve_call(_fact("print")) == []
    assert resolver.resolve_call(_fact("render", receiver="sheet")) == [("app/tools.py::Sheet.render", FALLBACK_CONFIDENCE)]


def test_resolver_by_name_needs_reachable_file() -> None:
    files = {"app/main.py": "python", "app/tools.py": "python", "lib/far.py": "python"}
    defs = [
        DefRecord("lib/far.py", "faraway", "function", None, "python"),
        DefRecord("app/tools.py", "nearby", "function", None, "python"),
    ]
    resolver = Resolver(files, defs)
    resolver.bind_imports("app/main.py", "python", [])
    resolver.bind_imports("app/tools.py", "python", [RefFact("app/tools.py", "lib.far", "import", None, None, None, 1)])

    assert resolver.resolve_call(_fact("faraway")) == []
    assert resolver.resolve_call(_fact("nearby")) == [("app/tools.py::nearby", FALLBACK_CONFIDENCE)]
    assert resolver.resolve_call(_fact("faraway", path="app/tools.py")) == [("lib/far.py::faraway", FALLBACK_CONFIDENCE)]


def test_resolver_module_receiver_gets_no_guess() -> None:
    files = {"app/main.py": "python", "app/packing.py": "python", "app/boxes.py": "python"}
    defs = [DefRecord("app/boxes.py", "Box", "class", None, "python"), DefRecord("app/boxes.py", "Box.pack", "method", "Box", "python")]
    resolver = Resolver(files, defs)
    resolver.bind_imports("app/main.py", "python", [RefFact("app/main.py", "packing", "import", None, None, None, 1)])

    assert resolver.resolve_call(_fact("pack", receiver="packing")) == []
    assert resolver.resolve_call(_fact("pack", receiver="box")) == [("app/boxes.py::Box.pack", FALLBACK_CONFIDENCE)]


def _call_edges_of(root: Path, index_dir: Path) -> dict[tuple[str, str], float]:
    """Index every file under `root` into a new store and return its call edges."""
    store = IndexStore.open(index_dir, create=True)
    store.set_meta(MODEL_ID_KEY, "test")
    paths = _all_paths(root)
    _index(store, root, paths)
    update_graph(store, paths, [])
    try:
        return _edges(store, "calls")
    finally:
        store.close()


def test_graph_python_call_through_typed_attribute(tmp_path: Path) -> None:
    # `self.done = locks.Event()` in __init__ types `self.done`, so `self.done.wait()` reaches
    # Event.wait in another module; an attribute assigned two classes stays unresolved that way.
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pkg" / "locks.py").write_text(
        "class Event:\n    def wait(self):\n        return True\n\n\nclass Lock:\n    def wait(self):\n        return False\n",
        encoding="utf-8",
    )
    (root / "pkg" / "queues.py").write_text(
        "from . import locks\nfrom .locks import Lock\n\n\n"
        "class Queue:\n"
        "    def __init__(self, fair):\n"
        "        self.done = locks.Event()\n"
        "        self.guard = Lock() if fair else None\n"
        "        self.either = locks.Event()\n"
        "        if fair:\n"
        "            self.either = Lock()\n\n"
        "    def join(self):\n"
        "        self.done.wait()\n"
        "        self.guard.wait()\n"
        "        return self.either.wait()\n",
        encoding="utf-8",
    )
    calls = _call_edges_of(root, tmp_path / "index")

    assert calls[("pkg/queues.py::Queue.join", "pkg/locks.py::Event.wait")] == 0.81
    # `Lock() if fair else None` is not a plain constructor call, and `either` has two classes:
    # both fall back to by-name resolution, which shares its confidence between the two methods.
    assert calls[("pkg/queues.py::Queue.join", "pkg/locks.py::Lock.wait")] < 0.81


def test_graph_python_call_through_typed_local(tmp_path: Path) -> None:
    # `box = Box()` types the local `box` in that function only; a function result types nothing.
    root = tmp_path / "repo"
    root.mkdir()
    (root / "shapes.py").write_text(
        "class Box:\n    def area(self):\n        return 1\n\n\n"
        "class Ring:\n    def area(self):\n        return 2\n\n\n"
        "def make():\n    return Ring()\n\n\n"
        "def measure():\n    box = Box()\n    return box.area()\n\n\n"
        "def guess():\n    box = make()\n    return box.area()\n",
        encoding="utf-8",
    )
    calls = _call_edges_of(root, tmp_path / "index")

    assert calls[("shapes.py::measure", "shapes.py::Box.area")] > 0.8
    assert ("shapes.py::measure", "shapes.py::Ring.area") not in calls
    assert calls.get(("shapes.py::guess", "shapes.py::Box.area"), 0.0) <= FALLBACK_CONFIDENCE
