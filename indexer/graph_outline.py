"""Compact text of a definition for prompt context: long function bodies become an ellipsis.

The signature, the comments above it, Python docstrings and short bodies stay. Function bodies
are found with the `indexer/queries/<language>-outline.scm` queries, so a class keeps its
fields and the signatures of its methods.
"""

from __future__ import annotations

import re

from indexer import parse

SHORT_BODY_LINES = 6
"""A function body of at most this many lines stays whole."""
MAX_DOC_LINES = 6
"""A Python docstring is cut after its first paragraph or this many lines, whichever is shorter,
and gets its closing quotes back."""
_STRING_PREFIX = re.compile(r"^[rRbBuUfF]*")


def compact_definition(text: str, language: str, max_body_lines: int = SHORT_BODY_LINES) -> str:
    """Return `text` dedented, with each outermost function body longer than `max_body_lines` elided.

    A Python body keeps its docstring (its first paragraph, at most `MAX_DOC_LINES` lines) and
    becomes `...`; other languages get `{ ... }`. Class bodies are never elided, only the
    methods in them, so `max_body_lines=0` leaves a class's fields and method signatures.
    """
    source = _dedent(text).encode("utf-8")
    matches = parse.query_captures(parse.parse(source, language), "outline")
    docs_by_body: dict[tuple[int, int], tuple[int, int] | None] = {}
    class_docs: list[tuple[int, int]] = []
    for match in matches:
        doc = match.get("doc")
        doc_span = (doc.start_byte, doc.end_byte) if doc is not None else None
        body = match.get("body")
        if body is None:
            if doc_span is not None:
                class_docs.append(doc_span)
            continue
        span = (body.start_byte, body.end_byte)
        if docs_by_body.get(span) is None:
            docs_by_body[span] = doc_span

    edits: list[tuple[int, int, bytes]] = []
    covered_end = -1
    for (start, end), doc_span in sorted(docs_by_body.items()):
        if start < covered_end or source.count(b"\n", start, end) + 1 <= max_body_lines:
            continue
        edits.append((start, end, _elision(source, start, doc_span, language)))
        covered_end = end
    for start, end in class_docs:
        if not any(edit_start <= start < edit_end for edit_start, edit_end, _ in edits):
            edits.append((start, end, _trimmed_doc(source, start, end)))
    return _apply(source, edits).decode("utf-8", errors="replace").rstrip()


def _elision(source: bytes, body_start: int, doc_span: tuple[int, int] | None, language: str) -> bytes:
    if language != "python":
        return b"{ ... }"
    indent = b" " * (body_start - (source.rfind(b"\n", 0, body_start) + 1))
    if doc_span is None:
        return b"..."
    return _trimmed_doc(source, *doc_span) + b"\n" + indent + b"..."


def _trimmed_doc(source: bytes, start: int, end: int) -> bytes:
    doc = source[start:end]
    lines = doc.split(b"\n")
    blank = next((index for index, line in enumerate(lines) if index > 0 and not line.strip()), len(lines))
    kept_lines = min(blank, MAX_DOC_LINES)
    if kept_lines >= len(lines) - 1:
        return doc
    text = doc.decode("utf-8", errors="replace")
    quote = text[len(_STRING_PREFIX.match(text).group(0)) :][:3]  # type: ignore[union-attr]
    indent = b" " * (start - (source.rfind(b"\n", 0, start) + 1))
    return b"\n".join(lines[:kept_lines]) + b"\n" + indent + quote.encode("utf-8")


def _apply(source: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    result = source
    for start, end, replacement in sorted(edits, reverse=True):
        result = result[:start] + replacement + result[end:]
    return result


def _dedent(text: str) -> str:
    """Remove the first line's indentation from every line that starts with it.

    Lines indented less (inside a string, say) stay as they are; `textwrap.dedent` would
    instead keep the common indentation of all lines.
    """
    first = text.split("\n", 1)[0]
    indent = first[: len(first) - len(first.lstrip(" \t"))]
    if not indent:
        return text
    return "\n".join(line.removeprefix(indent) for line in text.split("\n"))
