"""chunk_file against Python's own `ast` on real code nobody here wrote: json, email, asyncio.

Correspondence: every ast ClassDef, FunctionDef and AsyncFunctionDef that is not inside a
function body, found at any depth of module-level or class-level statements (so also inside
`if`, `try` or `with` blocks), is one def symbol and one chunk. Its name is qualified by the
enclosing classes ("Outer.Inner.method"); a function whose nearest enclosing definition is a
class is a "method", otherwise a "function". Definitions inside functions are not chunks.
Names are compared as multisets, because a module may define one name twice (if/else, setters).
"""

from __future__ import annotations

import ast
import asyncio
import collections
import email
import json
from pathlib import Path
from types import ModuleType

import pytest

from indexer.chunks import chunk_file

Definition = tuple[str, str]


def _ast_definitions(source: bytes) -> collections.Counter[Definition]:
    found: collections.Counter[Definition] = collections.Counter()

    def visit(node: ast.AST, prefix: str, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[(prefix + child.name, "method" if in_class else "function")] += 1
            elif isinstance(child, ast.ClassDef):
                found[(prefix + child.name, "class")] += 1
                visit(child, f"{prefix}{child.name}.", in_class=True)
            else:
                visit(child, prefix, in_class)

    visit(ast.parse(source), "", in_class=False)
    return found


def _chunked_definitions(path: str, source: bytes) -> tuple[collections.Counter[Definition], collections.Counter[Definition]]:
    chunks, symbols = chunk_file(path, "python", source, max_chunk_lines=120)
    from_symbols = collections.Counter((s.name, s.symbol_type) for s in symbols if s.kind == "def")
    # A split definition has several chunks; count each definition once, by its first part.
    from_chunks = collections.Counter(
        (c.symbol, c.chunk_type) for c in chunks if c.chunk_type != "module" and c.part <= 1
    )
    return from_symbols, from_chunks


@pytest.mark.parametrize("package", [json, email, asyncio], ids=lambda module: module.__name__)
def test_chunk_file_stdlib_package_matches_ast(package: ModuleType) -> None:
    assert package.__file__ is not None
    root = Path(package.__file__).parent
    differences: list[str] = []
    total = 0
    for file_path in sorted(root.rglob("*.py")):
        source = file_path.read_bytes()
        relative = file_path.relative_to(root.parent).as_posix()
        expected = _ast_definitions(source)
        from_symbols, from_chunks = _chunked_definitions(relative, source)
        total += sum(expected.values())

        if from_symbols != expected:
            differences.append(
                f"{relative} symbols: only ast {sorted((expected - from_symbols).elements())},"
                f" only chunk_file {sorted((from_symbols - expected).elements())}"
            )
        # Class-like chunks are "class" whatever the symbol type, so compare on that level.
        expected_chunks = collections.Counter(
            {(name, "class" if kind == "class" else kind): count for (name, kind), count in expected.items()}
        )
        if from_chunks != expected_chunks:
            differences.append(
                f"{relative} chunks: only ast {sorted((expected_chunks - from_chunks).elements())},"
                f" only chunk_file {sorted((from_chunks - expected_chunks).elements())}"
            )

    assert differences == [], "\n".join(differences)
    assert total > 20, f"{root} has only {total} definitions; wrong folder?"
