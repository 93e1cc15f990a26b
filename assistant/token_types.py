"""Token typing for compression: label each leaf of a code chunk with a program-analysis type.

The types follow CodePromptZip (He et al., 2025), extended with comments, literals, keywords
and whitespace so that every byte of a chunk belongs to a removable unit or to a gap.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass

from indexer.parse import Ancestor, LeafToken, leaf_tokens

logger = logging.getLogger(__name__)


class TokenType(str, enum.Enum):
    """The program-analysis type of a token, which decides when compression may drop it."""

    SYMBOL = "symbol"
    IDENTIFIER = "identifier"
    INVOCATION = "invocation"
    CONTROL = "control"
    SIGNATURE = "signature"
    COMMENT = "comment"
    WHITESPACE = "whitespace"
    STRING = "string"
    NUMBER = "number"
    KEYWORD = "keyword"


@dataclass(frozen=True)
class TypedToken:
    """One leaf of a chunk with its type; bytes index the UTF-8 source.

    `replacement` is the text left when the token is removed. It is empty, except for a
    Python docstring that is the only statement of its block, which becomes `...` so that
    the block stays valid.
    """

    start_byte: int
    end_byte: int
    type: TokenType
    text: str
    is_word: bool
    replacement: str = ""


CONTROL_KEYWORDS = frozenset({
    "if", "else", "elif", "for", "while", "do", "switch", "case", "default", "break", "continue",
    "return", "try", "except", "finally", "catch", "throw", "raise", "with", "yield", "match",
    "loop", "goto", "defer", "go", "select", "fallthrough",
})

# Parents in which a control word is no control flow: `export default`, `impl Trait for Type`.
_NON_CONTROL_PARENTS = frozenset({"export_statement", "impl_item", "for_lifetimes", "higher_ranked_trait_bound"})

# Named leaves that read as keywords rather than names.
_KEYWORD_LEAVES = frozenset({
    "true", "false", "none", "null", "nil", "undefined", "this", "super", "self", "primitive_type",
    "void_type", "boolean_type", "integral_type", "floating_point_type", "predefined_type", "pass_statement",
})

# Definitions whose non-body children (name, parameters, return type, modifiers) form the
# signature. Class-like headers count too, because they name what the body belongs to.
_SIGNATURE_OWNERS = frozenset({
    "class_definition", "class_declaration", "class", "abstract_class_declaration", "interface_declaration",
    "enum_declaration", "record_declaration", "struct_item", "enum_item", "trait_item", "impl_item",
    "function_definition", "function_declaration", "generator_function_declaration", "method_definition",
    "function_expression", "arrow_function", "function", "method_signature", "function_signature",
    "abstract_method_signature", "method_declaration", "func_literal", "function_item",
    "function_signature_item", "constructor_declaration", "compact_constructor_declaration", "method_elem",
    "method_spec",
})

# Call-like nodes and the field that contains the called expression.
_CALLEE_FIELDS: dict[str, frozenset[str]] = {
    "call": frozenset({"function"}),
    "call_expression": frozenset({"function"}),
    "new_expression": frozenset({"constructor"}),
    "macro_invocation": frozenset({"macro"}),
    "method_invocation": frozenset({"name"}),
    "object_creation_expression": frozenset({"type"}),
}

_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBER_HINTS = ("integer", "float", "number", "int_literal", "imaginary_literal")


def type_tokens(source: str, language: str) -> list[TypedToken]:
    """Label every leaf of `source` (one chunk or file in `language`) with its type, in byte order.

    Whitespace is not a leaf; the compressor derives blank-line and indentation units itself.
    """
    data = source.encode("utf-8")
    leaves = leaf_tokens(data, language)
    callee_names = _callee_name_starts(leaves)
    tokens = []
    for leaf in leaves:
        text = data[leaf.start_byte : leaf.end_byte].decode("utf-8", errors="replace")
        token_type = _classify(leaf, text, language, leaf.start_byte in callee_names)
        replacement = "..." if token_type is TokenType.COMMENT and _is_sole_docstring(leaf, language) else ""
        is_word = bool(_WORD.fullmatch(text))
        tokens.append(TypedToken(leaf.start_byte, leaf.end_byte, token_type, text, is_word, replacement))
    return tokens


def _classify(leaf: LeafToken, text: str, language: str, is_callee_name: bool) -> TokenType:
    if "comment" in leaf.type or _is_docstring(leaf, language):
        return TokenType.COMMENT
    if _is_in_signature(leaf.ancestors):
        return TokenType.SIGNATURE
    if is_callee_name:
        return TokenType.INVOCATION
    if not leaf.is_named:
        parent = leaf.ancestors[0].type if leaf.ancestors else ""
        if text in CONTROL_KEYWORDS and parent not in _NON_CONTROL_PARENTS:
            return TokenType.CONTROL
        return TokenType.KEYWORD if _WORD.fullmatch(text) else TokenType.SYMBOL
    if "string" in leaf.type or leaf.type in ("char_literal", "character_literal", "rune_literal", "jsx_text"):
        return TokenType.STRING
    if any(hint in leaf.type for hint in _NUMBER_HINTS):
        return TokenType.NUMBER
    if leaf.type in _KEYWORD_LEAVES:
        return TokenType.KEYWORD
    if _WORD.fullmatch(text):
        return TokenType.NUMBER if text[0].isdigit() else TokenType.IDENTIFIER
    return TokenType.SYMBOL


def _is_in_signature(ancestors: tuple[Ancestor, ...]) -> bool:
    """Tell whether the innermost enclosing function reaches this leaf through a non-body field."""
    for ancestor in ancestors:
        if ancestor.type in _SIGNATURE_OWNERS:
            return ancestor.child_field != "body"
    return False


def _callee_name_starts(leaves: list[LeafToken]) -> set[int]:
    """Find the called name of each call: the last name leaf inside the callee.

    In `self.store.get(key)` that is `get`; the receiver stays an identifier.
    """
    last_name_by_call: dict[tuple[str, int], int] = {}
    for leaf in leaves:
        if not leaf.is_named or "identifier" not in leaf.type:
            continue
        for ancestor in leaf.ancestors:
            fields = _CALLEE_FIELDS.get(ancestor.type)
            if fields is None:
                continue
            if ancestor.child_field in fields:
                last_name_by_call[(ancestor.type, ancestor.start_byte)] = leaf.start_byte
            break
    return set(last_name_by_call.values())


def _is_docstring(leaf: LeafToken, language: str) -> bool:
    """Tell whether a Python string is the first statement of a module, class or function body."""
    if language != "python" or leaf.type != "string" or len(leaf.ancestors) < 2:
        return False
    statement, body = leaf.ancestors[0], leaf.ancestors[1]
    if statement.type != "expression_statement" or statement.statement_count != 1 or body.child_index != 0:
        return False
    if body.type == "module":
        return True
    return body.type == "block" and len(leaf.ancestors) > 2 and leaf.ancestors[2].type in (
        "function_definition", "class_definition"
    )


def _is_sole_docstring(leaf: LeafToken, language: str) -> bool:
    return language == "python" and len(leaf.ancestors) > 1 and leaf.ancestors[1].type == "block" and (
        leaf.ancestors[1].statement_count == 1
    )
