"""End-to-end tests of the main path on real code: index, retrieve, ask, complete, bad input.

They use the real embedder, the real default model, tree-sitter, SQLite and FAISS.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.errors import InvalidInput
from assistant.langchain_adapters import AskRunnable, CodeRetriever
from assistant.results import CompletionRequest
from assistant.service import Assistant
from indexer.build import FACTS_VERSION, FACTS_VERSION_KEY, index_dir_for
from indexer.graph import load_edges
from indexer.store import IndexStore
from tests.conftest import STDLIB_PACKAGES
from tests.indexer.test_chunks_stdlib import _ast_definitions as ast_definitions

pytestmark = pytest.mark.slow


def _run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=900,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_index_definitions_match_ast(indexed_stdlib: Assistant, stdlib_repo: Path) -> None:
    store = IndexStore.open(index_dir_for(stdlib_repo, indexed_stdlib.settings))
    try:
        files = store.files()
        ids, vectors = store.all_vectors()
        chunks = store.chunks([int(chunk_id) for chunk_id in ids])
    finally:
        store.close()
    stored: dict[str, collections.Counter[tuple[str, str]]] = collections.defaultdict(collections.Counter)
    for chunk in chunks.values():
        if chunk.chunk_type != "module" and chunk.part <= 1:
            stored[chunk.path][(chunk.symbol, chunk.chunk_type)] += 1

    differences = []
    python_files = sorted(path for name in STDLIB_PACKAGES for path in (stdlib_repo / name).rglob("*.py"))
    for path in python_files:
        relative = path.relative_to(stdlib_repo).as_posix()
        expected = ast_definitions(path.read_bytes())
        if stored[relative] != expected:
            differences.append(f"{relative}: only ast {expected - stored[relative]}, only index {stored[relative] - expected}")

    assert len(files) == len(python_files)
    assert len(ids) == len(chunks)
    assert vectors.shape[0] == len(ids)
    assert differences == []


def test_retrieve_address_header_query_top5(indexed_stdlib: Assistant) -> None:
    results = indexed_stdlib.retriever().retrieve("parse an address header into display name and email", top_k=5)

    paths = [item.chunk.path for item in results]
    assert any(path in ("email/_header_value_parser.py", "email/utils.py") for path in paths), paths


def test_langchain_retriever_returns_documents(indexed_stdlib: Assistant) -> None:
    retriever = CodeRetriever.from_assistant(indexed_stdlib, top_k=3)

    documents = retriever.invoke("decode a JSON document")

    assert len(documents) == 3
    assert all(document.metadata["path"].endswith(".py") for document in documents)
    assert any(document.metadata["path"].startswith("json/") for document in documents)


def test_langchain_ask_runnable_answers(indexed_stdlib: Assistant) -> None:
    result = AskRunnable(indexed_stdlib).invoke("Which function encodes a Python object as JSON?")

    assert result["answer"].strip()
    assert result["sources"]
    assert all({"path", "symbol", "start_line", "end_line", "score"} <= set(source) for source in result["sources"])


def test_second_index_run_reembeds_only_changed(indexed_stdlib: Assistant, stdlib_repo: Path) -> None:
    target = stdlib_repo / "json" / "tool.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n\ndef added_for_test():\n    return 42\n", encoding="utf-8")

    summary = indexed_stdlib.index()

    assert summary.files_indexed == 1
    assert summary.chunks_embedded == 1
    assert summary.files_unchanged >= 60


def test_cli_ask_prints_answer_and_sources(indexed_stdlib: Assistant, stdlib_repo: Path) -> None:
    result = _run_cli("ask", "How does the JSON decoder scan a string?", "--repo", str(stdlib_repo), "--max-tokens", "48")

    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("Sources:")
    assert answer.strip()
    assert "json/" in sources


def test_cli_complete_removed_line(indexed_stdlib: Assistant, stdlib_repo: Path) -> None:
    path = stdlib_repo / "json" / "__init__.py"
    lines = path.read_text(encoding="utf-8").split("\n")
    target = next(number for number, line in enumerate(lines) if line.strip().startswith("if not isinstance(s, (bytes, bytearray))"))
    removed = lines[target]
    edited = lines[:target] + [removed[: len(removed) - len(removed.lstrip())]] + lines[target + 1 :]
    edited_path = stdlib_repo / "json" / "edited_copy.py"
    edited_path.write_text("\n".join(edited), encoding="utf-8")
    column = len(removed) - len(removed.lstrip()) + 1

    result = _run_cli("complete", f"{edited_path}:{target + 1}:{column}", "--repo", str(stdlib_repo))

    assert result.returncode == 0, result.stderr
    completion = result.stdout.rstrip("\n")
    assert completion.strip()
    assert "\n" not in completion
    assert completion.strip() != lines[target + 1].strip()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["index", "/nonexistent/ragcoder-repo"], "does not exist"),
        (["complete", "/nonexistent/file.py:1:1"], "does not exist"),
        (["complete", "nocolon.py"], "FILE:LINE:COL"),
    ],
)
def test_cli_bad_input_one_line_error(args: list[str], expected: str) -> None:
    result = _run_cli(*args)

    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_not_utf8_file_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.py"
    path.write_bytes("name = 'caf\xe9'\n".encode("latin-1"))

    result = _run_cli("complete", f"{path}:1:1", "--repo", str(tmp_path))

    assert result.returncode == 1
    assert "not UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_position_past_end_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "small.py"
    path.write_text("x = 1\n", encoding="utf-8")

    result = _run_cli("complete", f"{path}:40:1", "--repo", str(tmp_path))

    assert result.returncode == 1
    assert "past the end" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_empty_repository_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("no code here\n", encoding="utf-8")

    result = _run_cli("index", str(tmp_path))

    assert result.returncode == 1
    assert "no source files" in result.stderr
    assert not (tmp_path / ".ragcoder").exists()


def test_index_skips_binary_and_non_utf8(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text("def good():\n    return 1\n", encoding="utf-8")
    (tmp_path / "binary.py").write_bytes(b"\x00\x01\x02def x(): pass\n")
    (tmp_path / "latin.py").write_bytes("s = 'caf\xe9'\n".encode("latin-1"))

    result = _run_cli("-v", "index", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "indexed 1 files" in result.stdout
    assert "2 skipped" in result.stdout


def test_ask_without_index_names_fix(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")

    result = _run_cli("ask", "what is x?", "--repo", str(tmp_path))

    assert result.returncode == 1
    assert "ragcoder index" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_index_named_and_rebuilt(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def alpha():\n    return 1\n", encoding="utf-8")
    index_dir = tmp_path / ".ragcoder"
    index_dir.mkdir()
    (index_dir / "index.sqlite").write_bytes(b"this is not a database" * 100)

    asked = _run_cli("ask", "what does alpha return?", "--repo", str(tmp_path))
    rebuilt = _run_cli("index", str(tmp_path))

    assert asked.returncode == 1
    assert "--rebuild" in asked.stderr
    assert "Traceback" not in asked.stderr
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "indexed 1 files" in rebuilt.stdout


def test_old_format_index_named(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def alpha():\n    return 1\n", encoding="utf-8")
    assert _run_cli("index", str(tmp_path)).returncode == 0
    store = IndexStore.open(tmp_path / ".ragcoder")
    with store.transaction():
        store.set_meta("format_version", "0")
    store.close()

    result = _run_cli("ask", "what does alpha return?", "--repo", str(tmp_path))

    assert result.returncode == 1
    assert "format" in result.stderr
    assert "--rebuild" in result.stderr


def test_split_at_cursor_rejects_column_past_line() -> None:
    from assistant.service import split_at_cursor

    with pytest.raises(InvalidInput):
        split_at_cursor(CompletionRequest(path="a.py", text="ab\ncd", line=0, column=5))


def test_killed_first_index_leaves_no_index(tmp_path: Path) -> None:
    for number in range(40):
        (tmp_path / f"module_{number}.py").write_text(
            "".join(f"def function_{number}_{index}(value):\n    return value + {index}\n\n" for index in range(30)),
            encoding="utf-8",
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "index", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".ragcoder.building-*/index.sqlite")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()
    process.wait()

    asked = _run_cli("ask", "what does function_1_2 return?", "--repo", str(tmp_path))

    assert list(tmp_path.glob(".ragcoder.building-*/index.sqlite"))
    assert not (tmp_path / ".ragcoder" / "index.sqlite").exists()
    assert asked.returncode == 1
    assert "ragcoder index" in asked.stderr


@pytest.mark.parametrize("dir_name", ["", ".", "..", "keep"])
def test_index_dir_name_never_deletes_user_files(tmp_path: Path, dir_name: str) -> None:
    # A rebuild replaces the whole index folder. Pointed at the repository, a folder containing it
    # or a folder of the user's, it would delete their files.
    repo = tmp_path / "repo"
    (repo / "keep").mkdir(parents=True)
    (repo / "a.py").write_text("def alpha():\n    return 1\n", encoding="utf-8")
    (repo / "keep" / "notes.txt").write_text("my notes\n", encoding="utf-8")
    (repo / ".ragcoder.toml").write_text(f'[index]\ndir_name = "{dir_name}"\n', encoding="utf-8")

    result = _run_cli("index", str(repo), "--rebuild")

    assert result.returncode == 1
    assert "index.dir_name" in result.stderr
    assert "Traceback" not in result.stderr
    assert (repo / "a.py").is_file()
    assert (repo / "keep" / "notes.txt").read_text(encoding="utf-8") == "my notes\n"


def test_cli_ask_show_context_counts_add_up(indexed_stdlib: Assistant, stdlib_repo: Path) -> None:
    # The listed chunks are as the prompt contains them, compressed or not, so their tokens make the total.
    result = _run_cli(
        "ask", "How does the JSON decoder scan a string?", "--repo", str(stdlib_repo), "--max-tokens", "8", "--show-context"
    )

    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.split("\n\n")[0].splitlines()
    total = int(header.split(", ")[1].split()[0])
    listed = [int(line.rsplit("score ", 1)[1].split(", ")[1].split()[0]) for line in lines]
    assert listed
    assert sum(listed) == total


def test_outdated_graph_facts_reread_without_embedding(tmp_path: Path) -> None:
    # An index whose graph facts come from an older extractor re-reads every file once, so the
    # typed-name edges appear, while unchanged chunks keep their vectors and their KV caches.
    (tmp_path / "shapes.py").write_text(
        "class Box:\n    def area(self):\n        return 1\n\n\n"
        "def measure():\n    box = Box()\n    return box.area()\n",
        encoding="utf-8",
    )
    (tmp_path / "other.py").write_text("def helper():\n    return 2\n", encoding="utf-8")
    assistant = Assistant(tmp_path, Settings())
    try:
        assistant.index()
        store = IndexStore.open(index_dir_for(tmp_path, Settings()))
        store.set_meta(FACTS_VERSION_KEY, "1")
        store.close()

        summary = assistant.index()
        again = assistant.index()
    finally:
        assistant.close()

    assert summary.files_indexed == 2
    assert summary.chunks_embedded == 0
    assert again.files_indexed == 0
    store = IndexStore.open(index_dir_for(tmp_path, Settings()))
    try:
        assert store.get_meta(FACTS_VERSION_KEY) == FACTS_VERSION
        edges = {(edge.source, edge.target) for edge in load_edges(store)}
    finally:
        store.close()
    assert ("shapes.py::measure", "shapes.py::Box.area") in edges


@pytest.mark.parametrize(
    ("setup", "dir_name"),
    [
        # Folders named like the rebuild's own staging and retired folders.
        (lambda repo: (repo / "notes.old").mkdir() or (repo / "notes.old" / "keep.txt").write_text("mine\n"), "notes"),
        (lambda repo: (repo / "notes.building").mkdir() or (repo / "notes.building" / "keep.txt").write_text("mine\n"), "notes"),
        # Files whose names start like index files.
        (lambda repo: (repo / "idx").mkdir() or (repo / "idx" / "index.sqlite.bak").write_text("mine\n"), "idx"),
        # A file where the index folder would go.
        (lambda repo: None, "a.py"),
    ],
)
def test_index_rebuild_keeps_nearby_user_files(tmp_path: Path, setup: Any, dir_name: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.py").write_text("def alpha():\n    return 1\n", encoding="utf-8")
    setup(repo)
    (repo / ".ragcoder.toml").write_text(f'[index]\ndir_name = "{dir_name}"\n', encoding="utf-8")
    before = {path.relative_to(repo): path.read_bytes() for path in repo.rglob("*") if path.is_file()}

    for args in (["index", str(repo)], ["index", str(repo), "--rebuild"]):
        result = _run_cli(*args)
        assert "Traceback" not in result.stderr

    after = {path.relative_to(repo): path.read_bytes() for path in repo.rglob("*") if path.is_file()}
    assert {path: data for path, data in after.items() if path in before} == before
