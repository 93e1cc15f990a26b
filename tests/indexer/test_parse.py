"""Tests for the tree-sitter adapter: languages, queries, error checks and split points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer import parse
from indexer.import_names import expand_use_tree, import_names

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def _fixture(language: str) -> tuple[bytes, dict[str, object]]:
    expected = json.loads((DATA_DIR / language / "expected.json").read_text(encoding="utf-8"))
    source = (DATA_DIR / language / str(expected["file"])).read_bytes()
    return source, expected


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("pkg/mod.py", "python"),
        ("stubs/mod.pyi", "python"),
        ("web/app.js", "javascript"),
        ("web/app.mjs", "javascript"),
        ("web/app.cjs", "javascript"),
        ("web/App.jsx", "javascript"),
        ("web/app.ts", "typescript"),
        ("web/app.mts", "typescript"),
        ("web/app.cts", "typescript"),
        ("web/App.tsx", "tsx"),
        ("cmd/main.go", "go"),
        ("src/lib.rs", "rust"),
        ("src/Main.java", "java"),
        ("LEGACY.PY", "python"),
    ],
)
def test_language_for_path_known_extension_maps(path: str, language: str) -> None:
    assert parse.language_for_path(path) == language


@pytest.mark.parametrize("path", ["README.md", "Makefile", "main.c", "archive.py.bak", ".py"])
def test_language_for_path_unknown_extension_none(path: str) -> None:
    assert parse.language_for_path(path) is None


def test_parse_unknown_language_raises() -> None:
    with pytest.raises(ValueError, match="unsupported language 'cobol'"):
        parse.parse(b"IDENTIFICATION DIVISION.", "cobol")


@pytest.mark.parametrize("language", parse.LANGUAGES)
def test_find_symbols_every_query_compiles(language: str) -> None:
    definitions, references = parse.find_symbols(parse.parse(b"", language))

    assert definitions == []
    assert references == []


@pytest.mark.parametrize("language", parse.LANGUAGES)
def test_parses_cleanly_fixture_true(language: str) -> None:
    source, _ = _fixture(language)

    assert parse.parses_cleanly(source, language)
    assert parse.error_lines(source, language) == []


@pytest.mark.parametrize(
    ("language", "source", "bad_line"),
    [
        ("python", "x = 1\ndef f(:\n    return x\n", 2),
        ("javascript", "const a = 1;\nfunction f( {\n", 2),
        ("go", "package main\n\nfunc main() {\n\tx := \n}\n", 4),
        ("rust", "fn main() {\n    let x = ;\n}\n", 2),
        ("java", "class A {\n    void f() { int x = ; }\n}\n", 2),
    ],
)
def test_parses_cleanly_broken_line_false(language: str, source: str, bad_line: int) -> None:
    assert not parse.parses_cleanly(source, language)
    assert bad_line in parse.error_lines(source, language)


def test_parses_cleanly_completed_line_true() -> None:
    assert parse.parses_cleanly("def f(x):\n    return x + 1\n", "python")
    assert not parse.parses_cleanly("def f(x):\n    return x +\n", "python")


@pytest.mark.parametrize("language", parse.LANGUAGES)
def test_find_symbols_fixture_definitions_found(language: str) -> None:
    source, expected = _fixture(language)
    definitions, _ = parse.find_symbols(parse.parse(source, language))

    found = {definition.name for definition in definitions}
    expected_names = {str(item["name"]).rsplit(".", 1)[-1] for item in expected["definitions"]}  # type: ignore[union-attr]
    assert expected_names <= found, f"missing: {sorted(expected_names - found)}"


def test_find_symbols_python_span_covers_decorator_and_comment() -> None:
    source = b"x = 1\n\n# Why total is cached.\n@property\ndef total(self):\n    return 1\n"
    definitions, _ = parse.find_symbols(parse.parse(source, "python"))

    (definition,) = definitions
    assert source[definition.start_byte : definition.end_byte].startswith(b"# Why total is cached.\n@property\n")


def test_find_symbols_comment_after_code_not_absorbed() -> None:
    source = b"x = 1  # trailing note\ndef f():\n    pass\n"
    definitions, _ = parse.find_symbols(parse.parse(source, "python"))

    (definition,) = definitions
    assert source[definition.start_byte :].startswith(b"def f")


def test_find_symbols_rust_attribute_and_doc_comment_absorbed() -> None:
    source = b"/// A point.\n#[derive(Debug)]\nstruct Point { x: i32 }\n"
    definitions, _ = parse.find_symbols(parse.parse(source, "rust"))

    (definition,) = definitions
    assert definition.start_byte == 0
    assert definition.kind == "struct"


def test_find_symbols_go_method_has_receiver() -> None:
    source = b"package p\n\nfunc (s *Server) Start() error { return nil }\n"
    definitions, _ = parse.find_symbols(parse.parse(source, "go"))

    (definition,) = definitions
    assert (definition.kind, definition.name, definition.receiver) == ("method", "Start", "Server")


def test_find_symbols_javascript_export_and_const_arrow_wrapped() -> None:
    source = b"export const add = (a, b) => a + b;\nexport function sub(a, b) { return a - b; }\n"
    definitions, _ = parse.find_symbols(parse.parse(source, "javascript"))

    spans = {d.name: source[d.start_byte : d.end_byte].decode() for d in definitions}
    assert spans == {
        "add": "export const add = (a, b) => a + b;",
        "sub": "export function sub(a, b) { return a - b; }",
    }


def test_find_symbols_tsx_has_typescript_and_jsx_patterns() -> None:
    source = b"interface Props { n: number }\nexport const App = (p: Props) => <Counter n={p.n} />;\n"
    definitions, references = parse.find_symbols(parse.parse(source, "tsx"))

    assert {(d.kind, d.name) for d in definitions} == {("interface", "Props"), ("function", "App")}
    assert ("call", "Counter") in {(r.kind, r.name) for r in references}


def test_find_symbols_lowercase_jsx_tag_not_a_call() -> None:
    source = b"const App = () => <div><span /></div>;\n"
    _, references = parse.find_symbols(parse.parse(source, "tsx"))

    assert [r.name for r in references if r.kind == "call"] == []


@pytest.mark.parametrize(
    ("language", "source", "names"),
    [
        ("python", b"from ..pkg import a, b as c\n", ["..pkg.a", "..pkg.b"]),
        ("python", b"from . import sibling\nimport os.path\n", [".sibling", "os.path"]),
        ("javascript", b'import def, { x } from "./m";\n', ["./m.x", "./m"]),
        ("javascript", b'const fs = require("fs");\n', ["fs"]),
        ("go", b'package p\nimport (\n\t"fmt"\n\th "net/http"\n)\n', ["fmt", "net/http"]),
        ("rust", b"use std::io::{self, Write as W};\n", ["std::io", "std::io::Write"]),
        ("java", b"import static java.lang.Math.max;\nimport java.io.*;\n", ["java.lang.Math.max", "java.io.*"]),
    ],
)
def test_find_symbols_imports_full_names(language: str, source: bytes, names: list[str]) -> None:
    _, references = parse.find_symbols(parse.parse(source, language))

    assert sorted(r.name for r in references if r.kind == "import") == sorted(names)


def test_expand_use_tree_nested_lists_flattened() -> None:
    assert expand_use_tree("crate::a::{b::{c, d as e}, f, self}") == [
        "crate::a::b::c",
        "crate::a::b::d",
        "crate::a::f",
        "crate::a",
    ]


def test_expand_use_tree_multiline_whitespace_ignored() -> None:
    assert expand_use_tree("std::{\n    fmt,\n    io :: Read,\n}") == ["std::fmt", "std::io::Read"]


def test_import_names_relative_python_module_no_double_dot() -> None:
    assert import_names("python", "utils", ".") == [".utils"]
    assert import_names("python", "utils", "..pkg") == ["..pkg.utils"]


def test_split_points_long_function_cuts_only_at_line_starts() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(30))
    source = ("def long():\n" + body).encode()
    tree = parse.parse(source, "python")

    points = parse.split_points(tree, 0, len(source), max_lines=10)

    assert points, "a 31-line function with a 10-line limit needs cut points"
    for byte, _depth in points:
        assert byte > 0
        assert source[byte - 1 : byte] == b"\n"
    assert [byte for byte, _ in points] == sorted(byte for byte, _ in points)


def test_split_points_header_kept_with_first_statement() -> None:
    source = b"def f():\n    a = 1\n    b = 2\n"
    tree = parse.parse(source, "python")

    points = parse.split_points(tree, 0, len(source), max_lines=1)

    assert points == [(source.index(b"    b = 2"), 1)]


def test_split_points_string_never_opened() -> None:
    lines = "\n".join(f"line {i}" for i in range(30))
    source = f'def banner():\n    return """\n{lines}\n"""\n'.encode()
    tree = parse.parse(source, "python")

    assert parse.split_points(tree, 0, len(source), max_lines=5) == []


def test_top_level_spans_one_per_statement() -> None:
    source = b"import os\n\n# note\ndef f():\n    return 1\n\nx = f()\n"
    spans = parse.top_level_spans(parse.parse(source, "python"))
    assert [source[start:end] for start, end in spans] == [b"import os", b"# note", b"def f():\n    return 1", b"x = f()"]
