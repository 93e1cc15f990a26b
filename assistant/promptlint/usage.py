"""Usage tracing: the call, keyword, dict key or variable that receives a string literal or a name."""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass

from assistant.promptlint.facts import Call, FileFacts
from indexer.parse import NodeSpan, parent_of

logger = logging.getLogger(__name__)


class CallKind(str, enum.Enum):
    """The role of a call that receives a prompt."""

    TEMPLATE = "template"
    MESSAGE = "message"
    LLM = "llm"
    DEDENT = "dedent"


_CALL_PATTERNS: tuple[tuple[CallKind, re.Pattern[str]], ...] = (
    (CallKind.DEDENT, re.compile(r"(^|\.)(dedent|cleandoc|stripIndent|stripIndents|outdent)$")),
    (CallKind.TEMPLATE, re.compile(
        r"(^|\.)(\w*PromptTemplate)(\.(from_template|from_messages|fromTemplate|fromMessages|from_strings))?$")),
    (CallKind.MESSAGE, re.compile(r"(^|\.)(SystemMessage|HumanMessage|AIMessage|ChatMessage|ToolMessage)$")),
    (CallKind.LLM, re.compile(
        r"(^|\.)((chat\.)?completions|messages|responses)\.(create|stream|parse)$"
        r"|(^|\.)create_(chat_)?completion$"
        r"|(^|\.)a?completion$"
        r"|(^|\.)(a?invoke|a?predict|generate_content|predict_messages)$"
        r"|(^|\.)(ollama|client|co|cohere|llm|model|chat_model|chat|chain|llama|pipe|generator|agent)"
        r"\.(generate|chat|stream|astream|complete|run|call|__call__)$"
        r"|^(llm|model|llama|chat_model|generator|chain|ollama\.generate|ollama\.chat)$"
    )),
)

# Arguments that carry prompt text into an LLM or template call; other keywords (model=, role=) do not.
PROMPT_KEYWORDS = frozenset({
    "prompt", "prompts", "messages", "system", "input", "instructions", "message", "content", "text",
    "preamble", "template", "query", "question", "contents", "system_prompt", "systemPrompt",
})
CONTENT_KEYS = frozenset({"content", "text", "prompt", "system", "message", "instructions", "input", "template"})
_STRIP_METHODS = frozenset({"strip", "lstrip", "rstrip", "trim", "trimEnd", "trimStart"})
_FORMAT_METHODS = frozenset({"format", "format_map"})
_TRANSPARENT = frozenset({
    "parenthesized_expression", "conditional_expression", "ternary_expression", "list", "tuple", "set",
    "dictionary", "array", "object", "expression_list", "await", "await_expression", "as_expression",
    "satisfies_expression", "non_null_expression", "concatenated_string",
})
_BINARY = frozenset({"binary_operator", "binary_expression"})
_MEMBER = frozenset({"attribute", "member_expression"})
_CALLS = frozenset({"call", "call_expression", "new_expression"})
_ARGUMENTS = frozenset({"argument_list", "arguments"})
_ASSIGNMENTS = frozenset({"assignment", "variable_declarator", "assignment_expression"})
# Levels walked up from a string; deep enough for `client.create(messages=[{"content": "..."}])`.
MAX_DEPTH = 12


def classify_call(callee: str) -> CallKind | None:
    """Tell what kind of prompt-consuming call `callee` (dotted source text) is, or None."""
    for kind, pattern in _CALL_PATTERNS:
        if pattern.search(callee):
            return kind
    return None


@dataclass
class Usage:
    """The context of a string or name, found by walking up its ancestors."""

    call: Call | None = None
    keyword: str | None = None
    position: int | None = None
    keys: tuple[str, ...] = ()
    is_tuple_head: bool = False
    target: str | None = None
    format_call: Call | None = None
    percent_operand: NodeSpan | None = None
    is_dedented: bool = False
    is_stripped: bool = False
    is_piece: bool = False

    @property
    def call_kind(self) -> CallKind | None:
        """The kind of the receiving call, when there is one."""
        return classify_call(self.call.callee) if self.call is not None else None

    @property
    def is_prompt_argument(self) -> bool:
        """True when the value is passed where an LLM, message or template call reads prompt text."""
        kind = self.call_kind
        if kind is None or kind is CallKind.DEDENT or self.is_tuple_head:
            return False
        if self.keys and not set(self.keys[:1]) & CONTENT_KEYS:
            return False
        if self.keyword is not None:
            return self.keyword in PROMPT_KEYWORDS
        return self.position == 0 or kind is CallKind.TEMPLATE

    @property
    def is_chat_message(self) -> bool:
        """True for one message of a chat (a `messages` entry, a from_messages tuple, a message class)."""
        callee = self.call.callee if self.call is not None else ""
        return (
            self.keyword == "messages" or "messages" in self.keys or self.call_kind is CallKind.MESSAGE
            or callee.endswith(("from_messages", "fromMessages"))
        )


def trace(facts: FileFacts, span: NodeSpan) -> Usage | None:
    """Walk up from a string or name to the call, keyword or assignment that receives it.

    Returns None when the value is used in a way no prompt is (a dict key, a comparison,
    `"".join(...)`) or when it is a part of an implicitly joined literal, which is traced whole.
    """
    usage = Usage()
    keys: list[str] = []
    child = span
    method: str | None = None
    parents = _Ancestors(span)
    index = 0
    while (parent := parents.get(index)) is not None:
        kind = parent.type
        if kind == "concatenated_string" and child is span and span.type == "string":
            return None
        if kind in _BINARY:
            if not _trace_binary(facts, usage, child, parent):
                return None
        elif kind in _MEMBER:
            if child.start_byte != parent.start_byte:
                return None
            method = facts.source[child.end_byte:parent.end_byte].decode("utf-8", "replace").strip().lstrip(".?")
        elif kind in _CALLS:
            call = facts.calls.get(parent.start_byte)
            if call is None:
                return None
            if method is not None:
                if method in _FORMAT_METHODS:
                    usage.format_call = call
                elif method in _STRIP_METHODS:
                    usage.is_stripped = True
                else:
                    return None
                method = None
            elif child.start_byte > parent.start_byte and classify_call(call.callee) is CallKind.DEDENT:
                usage.is_dedented = True
            else:
                return None
        elif kind in _ARGUMENTS:
            call_span = parents.get(index + 1)
            call = facts.calls.get(call_span.start_byte) if call_span is not None else None
            if call is None or call_span is None:
                return None
            if classify_call(call.callee) is CallKind.DEDENT:
                usage.is_dedented = True
                child = call_span
                index += 2
                continue
            usage.call = call
            usage.position = next((i for i, item in enumerate(call.positional) if item.start_byte == child.start_byte), None)
            if facts.language != "python" and keys and child.type == "object":
                # JavaScript passes options in an object, which takes the place of keyword arguments.
                usage.keyword = keys.pop()
            break
        elif kind == "keyword_argument":
            usage.keyword = facts.keywords.get(parent.start_byte, ("", parent))[0]
            usage.call = _enclosing_call(facts, parents, index + 1)
            break
        elif kind == "pair":
            if child.start_byte == parent.start_byte:
                return None
            keys.append(_pair_key(facts, parent))
        elif kind in _TRANSPARENT:
            if kind == "tuple" and not facts.source[parent.start_byte + 1:child.start_byte].strip():
                usage.is_tuple_head = True
        elif kind in _ASSIGNMENTS:
            assignment = facts.assignments.get(parent.start_byte)
            if assignment is None or child.start_byte == parent.start_byte:
                return None
            usage.target = assignment.target
            break
        else:
            break
        child = parent
        index += 1
    usage.keys = tuple(keys)
    return usage


class _Ancestors:
    """The ancestors of a node, fetched one at a time because each `parent_of` call walks the tree."""

    def __init__(self, span: NodeSpan) -> None:
        self._chain: list[NodeSpan] = []
        self._last: NodeSpan | None = span

    def get(self, index: int) -> NodeSpan | None:
        """Return the ancestor `index` levels above the node's parent, or None past the root or the limit."""
        while len(self._chain) <= index and self._last is not None and len(self._chain) < MAX_DEPTH:
            self._last = parent_of(self._last)
            if self._last is not None:
                self._chain.append(self._last)
        return self._chain[index] if index < len(self._chain) else None


def _enclosing_call(facts: FileFacts, parents: _Ancestors, index: int) -> Call | None:
    for offset in range(index, index + 3):
        parent = parents.get(offset)
        if parent is not None and parent.type in _CALLS:
            return facts.calls.get(parent.start_byte)
    return None


def _trace_binary(facts: FileFacts, usage: Usage, child: NodeSpan, parent: NodeSpan) -> bool:
    """Record what a binary operator does with the value; False when no prompt is used that way."""
    if child.start_byte == parent.start_byte:
        rest = facts.source[child.end_byte:parent.end_byte].decode("utf-8", "replace").lstrip()
        operator = rest[:1]
        if operator == "%":
            operand_start = parent.end_byte - len(rest[1:].lstrip().encode("utf-8"))
            usage.percent_operand = NodeSpan("operand", operand_start, parent.end_byte)
            return True
    else:
        before = facts.source[parent.start_byte:child.start_byte].decode("utf-8", "replace").rstrip()
        operator = before[-1:]
    if operator == "+":
        usage.is_piece = True
        return True
    return False


def _pair_key(facts: FileFacts, pair: NodeSpan) -> str:
    entry = facts.pairs.get(pair.start_byte)
    if entry is None:
        return ""
    return facts.text(entry[1]).strip("'\"`")
