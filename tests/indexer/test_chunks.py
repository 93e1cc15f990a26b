"""Tests for chunk_file on the per-language fixtures and on hard cases (splitting, errors, empty)."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from indexer import parse
from indexer.chunks import chunk_file
from indexer.types import Chunk, Symbol

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MAX_LINES = 120
CHUNK_TYPES = {"module", "class", "function", "method"}
# Bytes that may stay outside every chunk: whitespace and the brackets that close a class.
UNCHUNKED_BYTES = b"{}[]();, \t\r\n"


def _fixture(language: str) -> tuple[str, bytes, dict[str, Any]]:
    expected = json.loads((DATA_DIR / language / "expected.json").read_text(encoding="utf-8"))
    path = f"{language}/{expected['file']}"
    return path, (DATA_DIR / path).read_bytes(), expected


def _chunk_fixture(language: str) -> tuple[bytes, list[Chunk], list[Symbol], dict[str, Any]]:
    path, source, expected = _fixture(language)
    chunks, symbols = chunk_file(path, language, source, MAX_LINES)
    return source, chunks, symbols, expected


def _definitions(symbols: list[Symbol]) -> list[tuple[str, str, int, int]]:
    return sorted((s.name, s.symbol_type, s.start_line, s.end_line) for s in symbols if s.kind == "def")


def _uncovered(source: bytes, chunks: list[Chunk]) -> bytes:
    covered = bytearray(len(source))
    for chunk in chunks:
        covered[chunk.start_byte : chunk.end_byte] = b"\x01" * (chunk.end_byte - chunk.start_byte)
    return bytes(byte for byte, is_covered in zip(source, covered) if not is_covered)


@pytest.mark.parametrize("language", parse.LANGUAGES)
def test_chunk_file_fixture_definitions_match_expected(language: str) -> None:
    _, _, symbols, expected = _chunk_fixture(language)

    wanted = sorted((d["name"], d["type"], d["start_line"], d["end_line"]) for d in expected["definitions"])
    assert _definitions(symbols) == wanted


@pytest.mark.parametrize("language", parse.LANGUAGES)
def test_chunk_file_fixture_one_chunk_per_definition(language: str) -> None:
    _, chunks, symbols, _ = _chunk_fixture(language)

    chunk_symbols = sorted({(c.symbol, c.start_line) for c in chunks if c.chunk_type != "module"})
    definition_starts = {(s.name, s.start_line) for s in symbols if s.kind == "def"}
    for symbol, start_line in chunk_symbols:
        assert any(name == symbol and start <= start_line for name, start in definition_starts), symbol
    assert {name for name, _ in definition_starts} == {symbol for symbol, _ in chunk_symbols}


@pytest.mark.parametrize("language", parse.LANGUAGES)
def test_chunk_file_fixture_references_present(language: str) -> None:
    _, _, symbols, expected = _chunk_fixture(language)

    found = {(s.symbol_type, s.name, s.parent) for s in symbols if s.kind == "ref"}
    missing = [ref for ref in expected["references"] if tuple(ref) not in found]
    assert missing == [], f"missing references {missing}; found {sorted(found, key=str)}"


@pytest.mark.parametrize("language", parse.LANGUAGES)
def test_chunk_file_fixture_methods_qualified_by_class(language: str) -> None:
    _, chunks, symbols, _ = _chunk_fixture(language)

    class_names = {s.name for s in symbols if s.kind == "def" and s.symbol_type not in ("function", "method")}
    methods = [s for s in symbols if s.kind == "def" and s.symbol_type == "method"]
    assert methods, "every fixture defines methods"
    for method in methods:
        assert method.parent in class_names
        assert method.name.startswith(f"{method.parent}.")
    assert {c.chunk_type for c in chunks} <= CHUNK_TYPES


@pytest.mark.parametrize("language", parse.LANGUAGES)
def test_chunk_file_fixture_byte_ranges_round_trip(language: str) -> None:
    source, chunks, _, _ = _chunk_fixture(language)

    for chunk in chunks:
        assert source[chunk.start_byte : chunk.end_byte].decode("utf-8") == chunk.text
        assert chunk.start_line == source[: chunk.start_byte].count(b"\n") + 1
        assert chunk.end_line == source[: chunk.end_byte].count(b"\n") + 1
        assert chunk.content_hash == hashlib.sha256(chunk.text.encode("utf-8")).hexdigest()
        assert chunk.text == chunk.text.rstrip()
        assert chunk.language == language


@pytest.mark.parametrize("language", parse.LANGUAGES)
def test_chunk_file_fixture_chunks_tile_file(language: str) -> None:
    source, chunks, _, _ = _chunk_fixture(language)

    spans = sorted((c.start_byte, c.end_byte) for c in chunks)
    for (_, previous_end), (start, _) in zip(spans, spans[1:]):
        assert previous_end <= start, "chunks overlap, so some text would be embedded twice"
    assert _uncovered(source, chunks).translate(None, UNCHUNKED_BYTES) == b""


@pytest.mark.parametrize("language", parse.LANGUAGES)
def test_chunk_file_fixture_module_chunk_holds_top_level_code(language: str) -> None:
    path, _, expected = _fixture(language)
    _, chunks, _, _ = _chunk_fixture(language)

    module_chunks = [c for c in chunks if c.chunk_type == "module"]
    module_text = "\n".join(c.text for c in module_chunks)
    assert {c.symbol for c in module_chunks} == {path}
    for snippet in expected["module_snippets"]:
        assert snippet in module_text


def test_chunk_file_python_class_chunk_excludes_methods() -> None:
    _, chunks, _, _ = _chunk_fixture("python")

    (warehouse,) = [c for c in chunks if c.symbol == "Warehouse"]
    assert warehouse.chunk_type == "class"
    assert warehouse.part == 0
    assert warehouse.text == 'class Warehouse:\n    """Holds items by SKU."""\n\n    capacity = DEFAULT_CAPACITY'


def test_chunk_file_python_nested_function_stays_in_parent() -> None:
    _, chunks, symbols, _ = _chunk_fixture("python")

    (sync,) = [c for c in chunks if c.symbol == "Warehouse.sync"]
    assert "def payload() -> dict:" in sync.text
    assert not any("payload" in s.name for s in symbols if s.kind == "def")


def test_chunk_file_python_decorator_and_comment_in_method_chunk() -> None:
    _, chunks, _, _ = _chunk_fixture("python")

    (total,) = [c for c in chunks if c.symbol == "Warehouse.total"]
    assert total.text.startswith("    # Computed on demand because items change often.\n    @property\n    def total(")


def test_chunk_file_java_class_pieces_numbered_in_order() -> None:
    source = (
        b"class Config {\n"
        b"    private int port;\n"
        b"\n"
        b"    int port() { return port; }\n"
        b"\n"
        b"    private String host;\n"
        b"}\n"
    )
    chunks, _ = chunk_file("Config.java", "java", source, MAX_LINES)

    pieces = [(c.part, c.text) for c in chunks if c.symbol == "Config"]
    assert pieces == [(1, "class Config {\n    private int port;"), (2, "    private String host;\n}")]


def _long_python_function(statement_count: int) -> str:
    lines = ["def process(items):", '    """Process items one by one."""', "    total = 0"]
    for i in range(statement_count):
        if i % 10 == 0:
            lines += [f"    if len(items) > {i}:", f"        total += items[{i}]", "    else:", "        total -= 1"]
        else:
            lines.append(f"    total += {i}")
    lines.append("    return total")
    return "\n".join(lines) + "\n"


def test_chunk_file_long_function_split_at_statements() -> None:
    source = ("import os\n\n\n" + _long_python_function(200)).encode()
    function_start = source.index(b"def process")
    max_lines = 40

    chunks, symbols = chunk_file("long.py", "python", source, max_lines)

    parts = [c for c in chunks if c.symbol == "process"]
    assert [c.part for c in parts] == list(range(1, len(parts) + 1))
    assert len(parts) >= 6
    assert {c.chunk_type for c in parts} == {"function"}
    assert parts[0].text.startswith('def process(items):\n    """Process items one by one."""\n    total = 0\n')
    assert parts[-1].text.endswith("    return total")

    statement_lines = {
        node.lineno + 3 for node in ast.walk(ast.parse(source[function_start:])) if isinstance(node, ast.stmt)
    }
    for part in parts:
        assert part.end_line - part.start_line + 1 <= max_lines
        assert part.start_line in statement_lines, part.text.splitlines()[0]
        assert source[part.start_byte : part.end_byte].decode() == part.text


def test_chunk_file_long_function_parts_cover_body_without_overlap() -> None:
    source = _long_python_function(200).encode()

    chunks, _ = chunk_file("long.py", "python", source, 40)

    parts = [c for c in chunks if c.symbol == "process"]
    for previous, current in zip(parts, parts[1:]):
        assert previous.end_byte <= current.start_byte
        assert not source[previous.end_byte : current.start_byte].strip()
    assert parts[0].start_byte == 0
    assert parts[-1].end_byte == len(source.rstrip())
    assert "".join(p.text for p in parts).replace("\n", "") == source.decode().replace("\n", "")


def test_chunk_file_long_go_function_split_inside_braces() -> None:
    statements = "".join(f'\tfmt.Println("step {i}")\n' for i in range(90))
    source = f"package main\n\nimport \"fmt\"\n\nfunc main() {{\n{statements}}}\n".encode()

    chunks, _ = chunk_file("main.go", "go", source, 25)

    parts = [c for c in chunks if c.symbol == "main"]
    assert len(parts) == 4
    assert parts[0].text.startswith("func main() {\n")
    assert parts[-1].text.endswith("\n}")
    for part in parts:
        assert part.end_line - part.start_line + 1 <= 25
        assert part.start_line == 5 or part.text.startswith('\tfmt.Println("step ')


def test_chunk_file_uneven_split_balanced() -> None:
    source = _long_python_function(120).encode()
    line_count = source.count(b"\n")

    chunks, _ = chunk_file("long.py", "python", source, line_count - 5)

    sizes = [c.end_line - c.start_line + 1 for c in chunks if c.symbol == "process"]
    assert len(sizes) == 2
    assert min(sizes) >= line_count // 2 - 10


def test_chunk_file_single_long_statement_stays_whole() -> None:
    body = "\n".join(f"line {i}" for i in range(60))
    source = f'def banner():\n    return """\n{body}\n"""\n'.encode()

    chunks, _ = chunk_file("banner.py", "python", source, 20)

    (chunk,) = chunks
    assert chunk.part == 0
    assert chunk.text == source.decode().rstrip()


def test_chunk_file_long_module_code_split_into_parts() -> None:
    source = "".join(f"SETTING_{i} = {i}\n" for i in range(50)).encode()

    chunks, symbols = chunk_file("settings.py", "python", source, 20)

    assert [c.part for c in chunks] == [1, 2, 3]
    assert {c.chunk_type for c in chunks} == {"module"}
    assert "\n".join(c.text for c in chunks) == source.decode().rstrip()
    assert symbols == []


@pytest.mark.parametrize(
    ("language", "source", "names"),
    [
        (
            "python",
            b"def ok():\n    return 1\n\ndef broken(:\n    return\n\nclass Fine:\n    def m(self):\n        return 2\n",
            {"ok", "Fine", "Fine.m"},
        ),
        (
            "javascript",
            b"function ok() { return 1; }\nfunction broken( { return; }\nclass Fine { m() { return 2; } }\n",
            {"ok", "Fine", "Fine.m"},
        ),
        (
            "go",
            b"package p\n\nfunc ok() int { return 1 }\n\nfunc broken( {\n}\n\nfunc fine() int { return 2 }\n",
            {"ok", "fine"},
        ),
    ],
)
def test_chunk_file_syntax_errors_keeps_valid_definitions(language: str, source: bytes, names: set[str]) -> None:
    assert not parse.parses_cleanly(source, language)

    chunks, symbols = chunk_file(f"broken.{language}", language, source, MAX_LINES)

    assert names <= {s.name for s in symbols if s.kind == "def"}
    assert names <= {c.symbol for c in chunks}
    for chunk in chunks:
        assert source[chunk.start_byte : chunk.end_byte].decode() == chunk.text


@pytest.mark.parametrize("source", [b"", b"\n", b"   \n\t\n\n"])
def test_chunk_file_empty_file_no_chunks(source: bytes) -> None:
    assert chunk_file("empty.py", "python", source, MAX_LINES) == ([], [])


def test_chunk_file_comment_only_file_one_module_chunk() -> None:
    chunks, symbols = chunk_file("notes.py", "python", b"# Nothing here yet.\n", MAX_LINES)

    assert [(c.chunk_type, c.symbol, c.part, c.text) for c in chunks] == [
        ("module", "notes.py", 0, "# Nothing here yet.")
    ]
    assert symbols == []


def test_chunk_file_zero_max_lines_raises() -> None:
    with pytest.raises(ValueError, match="max_chunk_lines is 0"):
        chunk_file("a.py", "python", b"x = 1\n", 0)


def test_chunk_file_refs_in_nested_function_belong_to_outer() -> None:
    source = b"def outer():\n    def inner():\n        helper()\n    return inner\n"

    _, symbols = chunk_file("n.py", "python", source, MAX_LINES)

    refs = [(s.name, s.parent) for s in symbols if s.kind == "ref"]
    assert refs == [("helper", "outer")]


def test_chunk_file_non_utf8_bytes_replaced() -> None:
    source = b"def f():\n    return '\xff'\n"

    chunks, _ = chunk_file("latin.py", "python", source, MAX_LINES)

    (chunk,) = chunks
    assert "\ufffd" in chunk.text
    assert chunk.end_byte == len(source) - 1
