"""The names used near a completion cursor, read from tree-sitter leaves: `self.save`, `os.path.join`.

Only the lines around the cursor are parsed. A fragment cut out of a file has syntax errors,
but its identifier and punctuation leaves are still the right tokens, which is all this needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.parse import LeafToken, leaf_tokens

NEAR_LINES_BEFORE = 12
NEAR_LINES_AFTER = 4
MAX_NAMES = 24
MAX_CALLEE_LEAVES = 200
"""Leaves scanned backwards from the cursor for the call it is in."""
_MEMBER_SEPARATORS = frozenset({".", "::", "?.", "->"})
_KEYWORD_NAMES = frozenset({"self", "this", "super"})


@dataclass(frozen=True)
class NameUse:
    """A name near the cursor with the member chain before it.

    `receiver` is that chain joined with dots ("self", "os.path", "super"), or None for a bare
    name. `distance` counts the bytes between the name and the cursor.
    """

    receiver: str | None
    name: str
    distance: int


def names_near_cursor(prefix: str, suffix: str, language: str) -> list[NameUse]:
    """Return the names used in the lines around the cursor, nearest first, one per (receiver, name)."""
    before = "\n".join(prefix.split("\n")[-NEAR_LINES_BEFORE:])
    after = "\n".join(suffix.split("\n")[: NEAR_LINES_AFTER + 1])
    window = (before + after).encode("utf-8")
    cursor = len(before.encode("utf-8"))

    nearest: dict[tuple[str | None, str], NameUse] = {}
    for use in _chains(window, leaf_tokens(window, language), cursor):
        key = (use.receiver, use.name)
        if key not in nearest or use.distance < nearest[key].distance:
            nearest[key] = use
    return sorted(nearest.values(), key=lambda use: (use.distance, use.receiver or "", use.name))[:MAX_NAMES]


def callee_at_cursor(prefix: str, language: str) -> NameUse | None:
    """Return the function whose argument list the cursor is in (`parse(` gives "parse"), or None."""
    before = "\n".join(prefix.split("\n")[-NEAR_LINES_BEFORE:]).encode("utf-8")
    leaves = leaf_tokens(before, language)
    depth = 0
    for index in range(len(leaves) - 1, max(-1, len(leaves) - 1 - MAX_CALLEE_LEAVES), -1):
        text = _text(before, leaves[index])
        if text in (")", "]", "}"):
            depth += 1
        elif text in ("(", "[", "{"):
            if depth > 0:
                depth -= 1
                continue
            if text != "(" or index == 0 or not _is_name(leaves[index - 1]):
                return None
            uses = _chains(before, leaves[:index], len(before))
            return uses[-1] if uses else None
    return None


def _chains(source: bytes, leaves: list[LeafToken], cursor: int) -> list[NameUse]:
    """Return every name with its member chain, in source order.

    `super().name` gets the receiver "super"; any other call or index before a separator ends
    the chain, because its value is not known.
    """
    uses: list[NameUse] = []
    chain: list[str] = []
    index = 0
    while index < len(leaves):
        leaf = leaves[index]
        text = _text(source, leaf)
        if _is_name(leaf):
            follows_separator = index > 0 and _text(source, leaves[index - 1]) in _MEMBER_SEPARATORS and bool(chain)
            if not follows_separator:
                chain = []
            receiver = ".".join(chain) if chain else None
            uses.append(NameUse(receiver, text, _distance(leaf, cursor)))
            chain.append(text)
            if text == "super" and [_text(source, item) for item in leaves[index + 1 : index + 3]] == ["(", ")"]:
                index += 3
                if index < len(leaves) and _text(source, leaves[index]) in _MEMBER_SEPARATORS:
                    chain = ["super"]
                    continue
                chain = []
                continue
        elif text not in _MEMBER_SEPARATORS:
            chain = []
        index += 1
    return uses


def _is_name(leaf: LeafToken) -> bool:
    return leaf.type.endswith("identifier") or leaf.type in _KEYWORD_NAMES


def _text(source: bytes, leaf: LeafToken) -> str:
    return source[leaf.start_byte : leaf.end_byte].decode("utf-8", errors="replace")


def _distance(leaf: LeafToken, cursor: int) -> int:
    if leaf.end_byte <= cursor:
        return cursor - leaf.end_byte
    return max(0, leaf.start_byte - cursor)
