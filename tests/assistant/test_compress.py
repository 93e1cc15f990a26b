"""Tests for token typing and type-aware compression, with real tree-sitter and Gemma's tokenizer."""

from __future__ import annotations

import ast
import dataclasses
import email.feedparser
import itertools
import json
import json.decoder
import json.encoder
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.compress import (
    compress,
    load_priorities,
    mentioned_identifiers,
    strip_types,
)
from assistant.config import ModelSettings
from assistant.context import CompressionPlan, pack_context
from assistant.model import LlamaGenerator, load_generator
from assistant.retrieval import Hit, RetrievedChunk
from assistant.token_types import TokenType, type_tokens
from indexer.chunks import chunk_file
from indexer.types import Chunk

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LANGUAGES = ["python", "javascript", "typescript", "tsx", "go", "rust", "java"]
RATIOS = [0.3, 0.5, 0.7]
NAME_TYPES = {TokenType.IDENTIFIER, TokenType.INVOCATION, TokenType.SIGNATURE}
# Tokens of each fixture whose type is known: (text, expected type).
EXPECTED_TYPES = {
    "python": [("getLogger", "invocation"), ("is_empty", "signature"), ("return", "control"),
               ("DEFAULT_CAPACITY", "identifier"), ("100", "number"), ("=", "symbol"), ("import", "keyword"),
               ('"""Holds items by SKU."""', "comment"), ('"added %d of %s"', "string")],
    "javascript": [("emit", "invocation"), ("return", "control"), ("TAX_RATE", "identifier"),
                   ("0.2", "number"), ('"change"', "string"), ("// Shopping cart with tax and a change event.", "comment")],
    "typescript": [("forEach", "invocation"), ("return", "control"), ('"events"', "string"), ("import", "keyword")],
    "tsx": [("useState", "invocation"), ("TodoList", "signature"), ('"react"', "string"), ("return", "control")],
    "go": [("Lock", "invocation"), ("NewMemoryStore", "signature"), ("defer", "control"), ('"fmt"', "string"),
           ("// Store keeps key-value pairs.", "comment")],
    "rust": [("format", "invocation"), ("area", "signature"), ("for", "control"), ("HashMap", "identifier")],
    "java": [("equals", "invocation"), ("addBook", "signature"), ("return", "control"), ('"added "', "string"),
             ("/** Lends books to members. */", "comment")],
}


def _fixture_text(language: str) -> str:
    expected = json.loads((DATA_DIR / language / "expected.json").read_text(encoding="utf-8"))
    return (DATA_DIR / language / str(expected["file"])).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def gemma() -> Iterator[LlamaGenerator]:
    generator = load_generator(ModelSettings(n_threads=1, n_ctx=512))
    yield generator
    generator.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_type_tokens_fixture_known_tokens_typed(language: str) -> None:
    tokens = type_tokens(_fixture_text(language), language)

    types_by_text: dict[str, set[str]] = {}
    for token in tokens:
        types_by_text.setdefault(token.text, set()).add(token.type.value)
    for text, expected in EXPECTED_TYPES[language]:
        assert expected in types_by_text.get(text, set()), f"{text!r} typed {types_by_text.get(text)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_type_tokens_fixture_covers_all_code(language: str) -> None:
    text = _fixture_text(language)
    data = text.encode("utf-8")
    tokens = type_tokens(text, language)

    uncovered = bytearray(data)
    for token in tokens:
        uncovered[token.start_byte : token.end_byte] = b" " * (token.end_byte - token.start_byte)
    assert bytes(uncovered).strip() == b""
    assert all(left.end_byte <= right.start_byte for left, right in itertools.pairwise(tokens))


def test_type_tokens_python_docstring_alone_gets_ellipsis() -> None:
    tokens = type_tokens('class E(Exception):\n    """Raised on errors."""\n', "python")

    docstrings = [token for token in tokens if token.type is TokenType.COMMENT]
    assert [token.replacement for token in docstrings] == ["..."]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("ratio", RATIOS)
def test_compress_ratio_within_five_percent(gemma: LlamaGenerator, language: str, ratio: float) -> None:
    result = compress(_fixture_text(language), language, gemma.count_tokens, load_priorities("ask"), ratio=ratio)

    assert result.tokens == gemma.count_tokens(result.text)
    assert result.ratio <= ratio
    assert abs(result.ratio - ratio) <= 0.05 * ratio


def test_compress_budget_result_fits(gemma: LlamaGenerator) -> None:
    result = compress(_fixture_text("go"), "go", gemma.count_tokens, load_priorities("completion"), budget_tokens=100)

    assert result.tokens <= 100
    assert result.tokens >= 90


@pytest.mark.parametrize("language", LANGUAGES)
def test_compress_protected_identifiers_kept(gemma: LlamaGenerator, language: str) -> None:
    text = _fixture_text(language)
    names = [token.text for token in type_tokens(text, language) if token.type is TokenType.IDENTIFIER][-3:]

    result = compress(text, language, gemma.count_tokens, load_priorities("ask"), ratio=0.3,
                      protected_identifiers=names)

    name_tokens = [token.text for token in type_tokens(text, language) if token.type in NAME_TYPES]
    for name in names:
        assert len(re.findall(rf"\b{name}\b", result.text)) >= name_tokens.count(name), name


def test_compress_keep_lines_unchanged(gemma: LlamaGenerator) -> None:
    text = _fixture_text("python")
    lines = text.splitlines()

    result = compress(text, "python", gemma.count_tokens, load_priorities("completion"), ratio=0.5, keep_lines=(37, 41))

    assert "\n".join(lines[37:42]) in result.text
    assert result.ratio <= 0.5


@pytest.mark.parametrize("types", [[TokenType.COMMENT], [TokenType.WHITESPACE], [TokenType.WHITESPACE, TokenType.COMMENT]])
def test_strip_types_python_layout_types_still_parse(types: list[TokenType]) -> None:
    stripped = strip_types(_fixture_text("python"), "python", types)

    ast.parse(stripped)
    assert stripped.count("\n") < _fixture_text("python").count("\n")


def test_compress_python_layout_priorities_parse_stdlib(gemma: LlamaGenerator) -> None:
    text = Path(ast.__file__).read_text(encoding="utf-8")[:12_000]
    text = text[: text.rfind("\ndef ")] + "\n"

    result = compress(text, "python", gemma.count_tokens, [TokenType.WHITESPACE, TokenType.COMMENT], ratio=0.9)

    ast.parse(result.text)
    assert result.ratio <= 0.9


def test_compress_bad_ratio_raises() -> None:
    with pytest.raises(ValueError, match="outside"):
        compress("x = 1\n", "python", len, load_priorities("ask"), ratio=1.5)


def test_compress_both_targets_raises() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        compress("x = 1\n", "python", len, load_priorities("ask"), ratio=0.5, budget_tokens=3)


def test_load_priorities_every_task_lists_every_type() -> None:
    for task in ("ask", "completion"):
        assert sorted(load_priorities(task)) == sorted(TokenType)


def test_mentioned_identifiers_lowercases_words() -> None:
    assert mentioned_identifiers("Where does `Warehouse.add` call x?") == {"where", "does", "warehouse", "add", "call"}


def _item(rank: int, text: str) -> RetrievedChunk:
    chunk = Chunk(path=f"m{rank}.py", language="python", symbol=f"f{rank}", chunk_type="function", start_line=1,
                  end_line=text.count("\n") + 1, start_byte=0, end_byte=len(text), text=text, content_hash=str(rank))
    return RetrievedChunk(hit=Hit(chunk_id=rank, score=1.0 / rank), chunk=chunk)


def _count_pieces(text: str) -> int:
    return len(text.split()) + sum(1 for character in text if not character.isalnum() and not character.isspace())


def test_pack_context_compression_keeps_all_chunks_top_untouched() -> None:
    body = "def f{n}(items, limit=10):\n    # pick the items\n    return [item for item in items if item.size > limit]\n"
    items = [_item(rank, body.format(n=rank)) for rank in (1, 2, 3)]
    full_cost = sum(_count_pieces(pack_context([item], 1000, _count_pieces).text) for item in items)
    plan = CompressionPlan(load_priorities("ask"), min_ratio=0.3)

    without = pack_context(items, full_cost - 10, _count_pieces)
    packed = pack_context(items, full_cost - 10, _count_pieces, compression=plan)

    assert len(without.used) == 2
    assert [item.chunk.symbol for item in packed.used] == ["f1", "f2", "f3"]
    assert packed.tokens <= full_cost - 10
    assert packed.compressed_chunks == 1
    assert body.format(n=1).rstrip() in packed.text


def test_pack_context_compression_too_tight_drops_chunk() -> None:
    body = "def f{n}(items, limit=10):\n    return [item for item in items if item.size > limit]\n"
    items = [_item(rank, body.format(n=rank)) for rank in (1, 2)]
    one_cost = _count_pieces(pack_context(items[:1], 1000, _count_pieces).text)
    plan = CompressionPlan(load_priorities("ask"), min_ratio=0.9)

    packed = pack_context(items, one_cost + 5, _count_pieces, compression=plan)

    assert [item.chunk.symbol for item in packed.used] == ["f1"]
    assert packed.tokens <= one_cost + 5


def test_pack_context_compression_unknown_language_left_whole() -> None:
    body = "line one of the notes\nline two of the notes\nline three of the notes\n"
    items = [_item(1, body), _item(2, body)]
    items[1] = RetrievedChunk(hit=items[1].hit, chunk=dataclasses.replace(items[1].chunk, language="markdown"))
    one_cost = _count_pieces(pack_context(items[:1], 1000, _count_pieces).text)
    plan = CompressionPlan(load_priorities("ask"), min_ratio=0.3)

    packed = pack_context(items, one_cost + 8, _count_pieces, compression=plan)

    assert packed.compressed_chunks == 0
    assert packed.tokens <= one_cost + 8


def test_compress_large_first_unit_kept_for_accuracy(gemma: LlamaGenerator) -> None:
    docstring = '    """' + " ".join(f"word{number}" for number in range(60)) + '."""\n'
    body = "".join(f"    total_{number} = compute(value_{number}, limit={number})\n" for number in range(30))
    text = "def f(value):\n" + docstring + body

    result = compress(text, "python", gemma.count_tokens, [TokenType.COMMENT, TokenType.SYMBOL], ratio=0.85)

    assert '"""' in result.text
    assert result.ratio <= 0.85
    assert abs(result.ratio - 0.85) <= 0.05 * 0.85


def test_compress_docstring_shrinks_to_summary_first(gemma: LlamaGenerator) -> None:
    details = "".join(f"    Detail line {number}.\n" for number in range(30))
    text = f'def evict(cache, limit):\n    """Drop the oldest entries.\n\n{details}    """\n    return cache.pop(limit)\n'

    result = compress(text, "python", gemma.count_tokens, [TokenType.COMMENT], ratio=0.6)

    assert '"""Drop the oldest entries.' in result.text
    assert "Detail line 0" in result.text
    assert "Detail line 29" not in result.text
    ast.parse(result.text)
    assert abs(result.ratio - 0.6) <= 0.05 * 0.6


@pytest.mark.parametrize(("language", "text"), [
    ("javascript", "/**\n{lines} */\nfunction total(items) {{\n  return items.length;\n}}\n"),
    ("java", "class Totals {{\n  /**\n{lines}   */\n  int total(int[] items) {{\n    return items.length;\n  }}\n}}\n"),
    ("go", "package totals\n\n/*\n{lines}*/\nfunc Total(items []int) int {{\n\treturn len(items)\n}}\n"),
])
def test_compress_block_comment_inner_lines_removed(gemma: LlamaGenerator, language: str, text: str) -> None:
    lines = "".join(f" * Note {number}.\n" for number in range(30))
    source = text.format(lines=lines)

    result = compress(source, language, gemma.count_tokens, [TokenType.COMMENT], ratio=0.7)

    assert "/*" in result.text
    assert "*/" in result.text
    assert "Note 0." in result.text
    assert "Note 29." not in result.text
    assert abs(result.ratio - 0.7) <= 0.05 * 0.7


@pytest.mark.parametrize("ratio", [0.3, 0.5])
def test_compress_large_units_gap_filled_by_earlier_types(gemma: LlamaGenerator, ratio: float) -> None:
    header = "".join(
        f"// Line {number} of the licence header, which says nothing about the code.\n" if number % 4 else "//\n"
        for number in range(10)
    )
    imports = "".join(f'\t"{name}"\n' for name in ("fmt", "log", "net", "os", "path/filepath", "syscall"))
    text = f"{header}\npackage main\n\nimport (\n{imports})\n"
    priorities = [TokenType.WHITESPACE, TokenType.KEYWORD, TokenType.STRING, TokenType.SYMBOL, TokenType.COMMENT]

    result = compress(text, "go", gemma.count_tokens, priorities, ratio=ratio)

    assert result.ratio <= ratio
    assert abs(result.ratio - ratio) <= 0.05 * ratio


def _stdlib_chunks(min_tokens: int, count_tokens: Callable[[str], int]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for module in (json.decoder, json.encoder, email.feedparser):
        path = Path(str(module.__file__))
        found, _ = chunk_file(path.name, "python", path.read_bytes(), max_chunk_lines=120)
        chunks.extend(chunk for chunk in found if count_tokens(chunk.text) >= min_tokens)
    return chunks


@pytest.mark.parametrize("ratio", RATIOS)
def test_compress_stdlib_chunks_ratio_within_five_percent(gemma: LlamaGenerator, ratio: float) -> None:
    chunks = _stdlib_chunks(100, gemma.count_tokens)

    misses = []
    for chunk in chunks:
        result = compress(chunk.text, "python", gemma.count_tokens, load_priorities("ask"), ratio=ratio)
        if result.ratio > ratio or abs(result.ratio - ratio) > 0.05 * ratio:
            misses.append(f"{chunk.path}:{chunk.start_line} {result.original_tokens} -> {result.tokens}")
    assert len(chunks) >= 20
    assert misses == []


def test_compress_mentioning_lines_kept_whole(gemma: LlamaGenerator) -> None:
    text = (
        "def lookup(table, key, default=None):\n"
        '    """Find a value in the table.\n\n'
        "    Walks every bucket of the table in order and compares keys.\n"
        "    Falls back to the parent table when a key is missing.\n"
        '    """\n'
        "    bucket = table.buckets[hash(key) % len(table.buckets)]\n"
        "    found = bucket.find_entry(key, strict=True)\n"
        "    return found.value if found is not None else default\n"
    )
    protected = mentioned_identifiers("Where does `find_entry` run? It falls back to the parent table when missing.")

    result = compress(text, "python", gemma.count_tokens, load_priorities("ask"), ratio=0.5,
                      protected_identifiers=protected, protect_mentioning_lines=True)
    without = compress(text, "python", gemma.count_tokens, load_priorities("ask"), ratio=0.5,
                       protected_identifiers=protected)

    assert "found = bucket.find_entry(key, strict=True)" in result.text
    assert "Falls back to the parent table when a key is missing." in result.text
    assert "found = bucket.find_entry(key, strict=True)" not in without.text
    assert result.ratio <= 0.5
