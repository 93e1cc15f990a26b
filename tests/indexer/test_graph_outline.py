"""Tests for the compact text of definitions: long function bodies elided, signatures and docstrings kept."""

from __future__ import annotations

import pytest

from indexer.graph_outline import compact_definition
from indexer.parse import parses_cleanly

LONG_PYTHON = '''    def save(self, store):
        """Write the record to `store`.

        The key comes from the store.
        """
        key = store.next_key()
        store.put(key, self)
        store.flush()
        store.log("saved", key)
        store.count += 1
        return key
'''


def test_compact_python_long_body_keeps_docstring_summary() -> None:
    compact = compact_definition(LONG_PYTHON, "python")

    assert compact == 'def save(self, store):\n    """Write the record to `store`.\n    """\n    ...'
    assert parses_cleanly(compact, "python")


def test_compact_python_short_body_stays_whole() -> None:
    text = "def price(item):\n    return item.price\n"

    assert compact_definition(text, "python") == text.rstrip()


def test_compact_python_class_elides_methods_not_fields() -> None:
    text = "class Store:\n    limit = 3\n\n" + LONG_PYTHON + "\n    def size(self):\n        return 0\n"

    compact = compact_definition(text, "python")

    assert compact.startswith("class Store:\n    limit = 3\n")
    assert "    def save(self, store):\n" in compact
    assert "store.flush()" not in compact
    assert compact.endswith("    def size(self):\n        return 0")
    assert parses_cleanly(compact, "python")


def test_compact_python_zero_body_lines_keeps_signatures() -> None:
    text = "class Desk:\n    def lend(self):\n        return 1\n\n    def keep(self):\n        return 2\n"

    compact = compact_definition(text, "python", max_body_lines=0)

    assert compact == "class Desk:\n    def lend(self):\n        ...\n\n    def keep(self):\n        ..."
    assert parses_cleanly(compact, "python")


def test_compact_python_body_without_docstring_becomes_ellipsis() -> None:
    body = "".join(f"    x{number} = {number}\n" for number in range(8))

    assert compact_definition("def fill():\n" + body, "python") == "def fill():\n    ..."


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("javascript", "// Add.\nfunction add(a, b) {\n" + "  a += 1;\n" * 7 + "  return a + b;\n}", "// Add.\nfunction add(a, b) { ... }"),
        ("typescript", "class A {\n  n = 1;\n  m(x: number): number {\n" + "    x++;\n" * 7 + "    return x;\n  }\n}",
         "class A {\n  n = 1;\n  m(x: number): number { ... }\n}"),
        ("go", "func (s *S) Get(k string) int {\n" + "\tk = k + \"a\"\n" * 7 + "\treturn 0\n}", "func (s *S) Get(k string) int { ... }"),
        ("rust", "fn get(&self) -> i32 {\n" + "    let a = 1;\n" * 7 + "    a\n}", "fn get(&self) -> i32 { ... }"),
        ("java", "class A {\n  int m() {\n" + "    int a = 1;\n" * 7 + "    return a;\n  }\n}", "class A {\n  int m() { ... }\n}"),
    ],
)
def test_compact_brace_languages_elide_body(language: str, text: str, expected: str) -> None:
    assert compact_definition(text, language) == expected
