"""Per-file facts for the code graph: each reference with its receiver and import alias.

The reference symbols of `indexer.chunks` carry only the referenced name; the graph also needs
what comes before it (`self.save()` versus `store.save()`) and the name an import binds
(`import numpy as np`). Both are read from the source bytes around the reference's span.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from indexer.types import Symbol

logger = logging.getLogger(__name__)

# A receiver is read backwards over identifier characters and member separators only, so
# `a.b(c).save()` stops at the closing bracket and gets the receiver "<expr>".
_RECEIVER_CHARS = re.compile(rb"[A-Za-z0-9_$.:]*$")
_SEPARATORS = (b"::", b".", b"->")
_ALIAS = re.compile(rb"\s+as\s+([A-Za-z_$][A-Za-z0-9_$]*)")
EXPRESSION_RECEIVER = "<expr>"
"""Receiver of a call on a computed value (a call result, an index), which name lookup cannot follow."""

MAX_RECEIVER_BYTES = 200


@dataclass(frozen=True)
class RefFact:
    """One reference of a file, ready for name resolution.

    `receiver` is the text before the name's member separator ("self", "os.path", "Self",
    `EXPRESSION_RECEIVER`), or None for a bare name. `alias` is the local name an import binds
    when the code renames it (`as np`). `owner` is the innermost definition around the reference.
    """

    path: str
    name: str
    ref_type: str
    owner: str | None
    receiver: str | None
    alias: str | None
    lineno: int


ATTRIBUTE_REF = "attribute"
"""Reference type of an attribute or local variable assigned a call; its name is the callee as written."""
# The assignment must start its line, so `x: int = f()` does not type `int`.
_ATTRIBUTE_TARGET = re.compile(rb"(?:^|\n)[ \t]*((?:self\.)?[A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*$")


def reference_facts(source: bytes, symbols: list[Symbol]) -> list[RefFact]:
    """Return the graph facts of a file's reference symbols, in the order given."""
    facts: list[RefFact] = []
    for symbol in symbols:
        if symbol.kind != "ref":
            continue
        receiver = _receiver(source, symbol.start_byte) if symbol.symbol_type == "call" else None
        alias = _alias(source, symbol.end_byte) if symbol.symbol_type == "import" else None
        if symbol.symbol_type == ATTRIBUTE_REF:
            # `self.NAME = Class(...)` or `NAME = Class(...)`: the receiver is the name as calls write it.
            match = _ATTRIBUTE_TARGET.search(source[max(0, symbol.start_byte - MAX_RECEIVER_BYTES) : symbol.start_byte])
            if match is None:
                continue
            receiver = match.group(1).decode("utf-8", errors="replace")
        facts.append(
            RefFact(
                path=symbol.path,
                name=symbol.name,
                ref_type=symbol.symbol_type,
                owner=symbol.parent,
                receiver=receiver,
                alias=alias,
                lineno=symbol.start_line,
            )
        )
    return facts


def _receiver(source: bytes, start_byte: int) -> str | None:
    before = source[max(0, start_byte - MAX_RECEIVER_BYTES) : start_byte]
    separator = next((item for item in _SEPARATORS if before.endswith(item)), None)
    if separator is None:
        return None

    head = before[: -len(separator)]
    match = _RECEIVER_CHARS.search(head)
    text = match.group(0) if match else b""
    if not text or head[: len(head) - len(text)].endswith((b")", b"]", b"}", b"'", b'"')) or text[:1].isdigit():
        return EXPRESSION_RECEIVER
    if not text.strip(b".:"):
        return EXPRESSION_RECEIVER
    return text.decode("utf-8", errors="replace").replace("::", ".").replace("->", ".")


def _alias(source: bytes, end_byte: int) -> str | None:
    match = _ALIAS.match(source, end_byte)
    return match.group(1).decode("utf-8", errors="replace") if match else None
