"""Facts about one source file that prompt discovery needs: strings, calls, assignments and scopes.

Built from the `prompts` tree-sitter query, whose matches arrive as plain spans keyed by start byte.
"""

from __future__ import annotations

import bisect
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from indexer.parse import NodeSpan, parse, query_captures

logger = logging.getLogger(__name__)

# Ancestors fetched per string; deep enough for `client.create(messages=[{"content": "..."}])`.
PARENT_DEPTH = 10
_IGNORED_ARGUMENT_TYPES = frozenset({"comment", "(", ")", ","})
_SPLAT_TYPES = frozenset({"list_splat", "dictionary_splat", "spread_element"})


@dataclass
class Call:
    """A call or `new` expression: its callee text and its arguments."""

    span: NodeSpan
    callee: str = ""
    arguments: NodeSpan | None = None
    positional: list[NodeSpan] = field(default_factory=list)
    keywords: dict[str, NodeSpan] = field(default_factory=dict)
    keyword_spans: dict[str, NodeSpan] = field(default_factory=dict)
    has_splat: bool = False

    @property
    def receiver(self) -> str:
        """The text before the last `.` of the callee (`tpl` for `tpl.format`), else ""."""
        return self.callee.rpartition(".")[0]

    @property
    def method(self) -> str:
        """The last name of the callee (`format` for `tpl.format`)."""
        return self.callee.rpartition(".")[2]


@dataclass(frozen=True)
class Assignment:
    """`target = value`; `target` is the source text of the left side."""

    span: NodeSpan
    target: str
    value: NodeSpan


@dataclass
class FileFacts:
    """Everything the query found in one file, indexed for lookups by start byte."""

    source: bytes
    language: str
    strings: list[NodeSpan] = field(default_factory=list)
    refs: list[NodeSpan] = field(default_factory=list)
    calls: dict[int, Call] = field(default_factory=dict)
    assignments: dict[int, Assignment] = field(default_factory=dict)
    pairs: dict[int, tuple[NodeSpan, NodeSpan, NodeSpan]] = field(default_factory=dict)
    keywords: dict[int, tuple[str, NodeSpan]] = field(default_factory=dict)
    interpolations: dict[int, tuple[int, int, str, str, str]] = field(default_factory=dict)
    scopes: list[NodeSpan] = field(default_factory=list)
    defined: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))

    def text(self, span: NodeSpan) -> str:
        """Return the source text of a span."""
        return self.source[span.start_byte:span.end_byte].decode("utf-8", errors="replace")

    def calls_on(self, receiver: str) -> list[Call]:
        """Return the method calls whose receiver text is `receiver` (`tpl.format(...)` for "tpl")."""
        return [call for call in self.calls.values() if call.receiver == receiver]

    def is_defined_at(self, name: str, byte: int) -> bool:
        """Tell whether `name` is bound in the module scope or a function scope enclosing `byte`."""
        for scope_start, scope_end in self.defined.get(name, ()):
            if scope_start < 0 or scope_start <= byte < scope_end:
                return True
        return False


def collect_facts(source: bytes, language: str) -> FileFacts:
    """Parse `source` and collect its facts with the `prompts` query of `language`."""
    tree = parse(source, language)
    facts = FileFacts(source, language)
    definitions: list[NodeSpan] = []
    for match in query_captures(tree, "prompts", PARENT_DEPTH, with_parents=("string", "pair")):
        _add_match(facts, match, definitions)
    _resolve_keywords(facts)
    _assign_scopes(facts, definitions)
    return facts


def _add_match(facts: FileFacts, match: dict[str, NodeSpan], definitions: list[NodeSpan]) -> None:
    if "string" in match:
        facts.strings.append(match["string"])
    elif "string.ref" in match:
        facts.refs.append(match["string.ref"])
    elif "interpolation" in match:
        _add_interpolation(facts, match)
    elif "call" in match:
        _add_call(facts, match)
    elif "keyword" in match:
        facts.keywords[match["keyword"].start_byte] = (facts.text(match["key"]), match["value"])
    elif "pair" in match:
        facts.pairs[match["pair"].start_byte] = (match["pair"], match["key"], match["value"])
    elif "assignment" in match:
        span = match["assignment"]
        facts.assignments[span.start_byte] = Assignment(span, facts.text(match["target"]), match["value"])
    elif "scope" in match:
        facts.scopes.append(match["scope"])
    elif "defined" in match:
        definitions.append(match["defined"])


def _add_interpolation(facts: FileFacts, match: dict[str, NodeSpan]) -> None:
    span = match["interpolation"]
    start, end, expression, expression_type, spec = facts.interpolations.get(
        span.start_byte, (span.start_byte, span.end_byte, "", "", "")
    )
    if "expression" in match:
        expression, expression_type = facts.text(match["expression"]), match["expression"].type
    if "format_spec" in match:
        spec = facts.text(match["format_spec"])
    facts.interpolations[span.start_byte] = (start, end, expression, expression_type, spec)


def _add_call(facts: FileFacts, match: dict[str, NodeSpan]) -> None:
    span = match["call"]
    call = facts.calls.get(span.start_byte)
    if call is None:
        call = facts.calls[span.start_byte] = Call(span)
    if "callee" in match:
        call.callee = "".join(facts.text(match["callee"]).split())
        call.arguments = match["arguments"]
    argument = match.get("argument")
    if argument is None or argument.type in _IGNORED_ARGUMENT_TYPES:
        return
    if argument.type in _SPLAT_TYPES:
        call.has_splat = True
    elif argument.type != "keyword_argument":
        call.positional.append(argument)
    else:
        call.keyword_spans[str(argument.start_byte)] = argument


def _resolve_keywords(facts: FileFacts) -> None:
    """Give each call its keyword arguments by name.

    A JavaScript call has no keyword arguments, so the pairs of an object literal passed as its
    first argument (`new PromptTemplate({template, inputVariables})`) stand in for them.
    """
    object_calls: dict[int, Call] = {}
    for call in facts.calls.values():
        call.positional.sort(key=lambda span: span.start_byte)
        spans = list(call.keyword_spans.values())
        call.keyword_spans = {}
        for span in spans:
            name, value = facts.keywords.get(span.start_byte, ("", span))
            if name:
                call.keyword_spans[name] = span
                call.keywords[name] = value
        if facts.language != "python" and call.positional and call.positional[0].type == "object":
            object_calls[call.positional[0].start_byte] = call
    for pair, key, value in facts.pairs.values():
        if pair.parents and pair.parents[0].start_byte in object_calls and pair.parents[0].type == "object":
            call = object_calls[pair.parents[0].start_byte]
            name = facts.text(key).strip("'\"")
            call.keyword_spans[name] = pair
            call.keywords[name] = value


def _assign_scopes(facts: FileFacts, definitions: list[NodeSpan]) -> None:
    """Map each defined name to the innermost scope containing it, (-1, -1) for the module."""
    scopes = sorted(facts.scopes, key=lambda span: span.start_byte)
    starts = [span.start_byte for span in scopes]
    for name_span in definitions:
        name = facts.text(name_span)
        scope = _innermost(scopes, starts, name_span.start_byte, name_span.end_byte)
        facts.defined[name].append((scope.start_byte, scope.end_byte) if scope else (-1, -1))


def _innermost(scopes: list[NodeSpan], starts: list[int], start: int, end: int) -> NodeSpan | None:
    """Find the innermost scope containing [start, end); nested scopes start later, so scan backwards."""
    index = bisect.bisect_right(starts, start) - 1
    while index >= 0:
        scope = scopes[index]
        if scope.end_byte >= end and scope.start_byte <= start:
            return scope
        index -= 1
    return None
