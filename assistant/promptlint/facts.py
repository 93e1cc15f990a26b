"""Facts about one source file that prompt discovery needs: strings, calls, assignments and scopes.

Built from the `prompts` tree-sitter query, whose matches arrive as plain spans keyed by start byte.
"""

from __future__ import annotations

import bisect
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from indexer.parse import NodeSpan, parent_of, parse, query_captures

logger = logging.getLogger(__name__)

MODULE_SCOPE = (-1, -1)
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
    pairs_by_container: dict[int, list[tuple[NodeSpan, NodeSpan, NodeSpan]]] = field(default_factory=dict)
    interpolation_starts: list[int] = field(default_factory=list)
    string_starts: list[int] = field(default_factory=list)
    keywords: dict[int, tuple[str, NodeSpan]] = field(default_factory=dict)
    interpolations: dict[int, tuple[int, int, str, str, str]] = field(default_factory=dict)
    scopes: list[NodeSpan] = field(default_factory=list)
    defined: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    # Filled last by collect_facts: method calls by receiver text and the flattened scope segments.

    def text(self, span: NodeSpan) -> str:
        """Return the source text of a span."""
        return self.source[span.start_byte:span.end_byte].decode("utf-8", errors="replace")

    calls_by_receiver: dict[str, dict[tuple[int, int], list[Call]]] = field(default_factory=dict)
    scope_starts: list[int] = field(default_factory=list)
    scope_segments: list[tuple[int, int]] = field(default_factory=list)
    # When these facts cover only part of a file, `outside` returns whether the rest binds a
    # module-level name. Each result is recorded, so a cached result can be checked later.
    outside: Callable[[str], bool] | None = None
    outside_answers: dict[str, bool] = field(default_factory=dict)

    def calls_on(self, receiver: str, scope: tuple[int, int]) -> list[Call]:
        """Return the method calls on the variable `receiver` bound in `scope` (`tpl.format(...)` for "tpl")."""
        by_scope = self.calls_by_receiver.get(receiver, {})
        if scope != MODULE_SCOPE:
            return by_scope.get(scope, [])
        bound = set(self.defined.get(receiver, ()))
        return [call for here, calls in by_scope.items() if here == scope or here not in bound for call in calls]

    def scope_at(self, byte: int) -> tuple[int, int]:
        """Return the innermost function scope around `byte` as (start, end) bytes, (-1, -1) for the module."""
        index = bisect.bisect_right(self.scope_starts, byte) - 1
        return self.scope_segments[index] if index >= 0 else MODULE_SCOPE

    def is_defined_at(self, name: str, byte: int) -> bool:
        """Tell whether `name` is bound in the module scope or a function scope enclosing `byte`."""
        for scope_start, scope_end in self.defined.get(name, ()):
            if scope_start < 0 or scope_start <= byte < scope_end:
                return True
        if self.outside is None:
            return False
        answer = self.outside_answers[name] = self.outside(name)
        return answer


def collect_facts(source: bytes, language: str) -> FileFacts:
    """Parse `source` and collect its facts with the `prompts` query of `language`."""
    tree = parse(source, language)
    facts = FileFacts(source, language)
    definitions: list[NodeSpan] = []
    for match in query_captures(tree, "prompts"):
        _add_match(facts, match, definitions)
    _resolve_keywords(facts)
    _build_scope_segments(facts)
    for name_span in definitions:
        facts.defined[facts.text(name_span)].append(facts.scope_at(name_span.start_byte))
    for call in facts.calls.values():
        by_scope = facts.calls_by_receiver.setdefault(call.receiver, {})
        by_scope.setdefault(facts.scope_at(call.span.start_byte), []).append(call)
    facts.strings.sort(key=lambda span: span.start_byte)
    facts.string_starts = [span.start_byte for span in facts.strings]
    facts.interpolation_starts = sorted(facts.interpolations)
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
        entry = (match["pair"], match["key"], match["value"])
        facts.pairs[match["pair"].start_byte] = entry
        container = parent_of(match["pair"])
        if container is not None:
            facts.pairs_by_container.setdefault(container.start_byte, []).append(entry)
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
    for container_start, call in object_calls.items():
        for pair, key, value in facts.pairs_by_container.get(container_start, ()):
            name = facts.text(key).strip("'\"")
            call.keyword_spans[name] = pair
            call.keywords[name] = value


def _build_scope_segments(facts: FileFacts) -> None:
    """Flatten the nested function scopes into sorted segments, so `scope_at` is one bisection.

    Scopes from a syntax tree nest properly, so a stack sweep emits segment starts in order.
    """
    stack: list[NodeSpan] = []
    segments: list[tuple[int, tuple[int, int]]] = []

    for scope in sorted(facts.scopes, key=lambda span: (span.start_byte, -span.end_byte)):
        while stack and stack[-1].end_byte <= scope.start_byte:
            ended = stack.pop()
            parent = (stack[-1].start_byte, stack[-1].end_byte) if stack else MODULE_SCOPE
            segments.append((ended.end_byte, parent))
        segments.append((scope.start_byte, (scope.start_byte, scope.end_byte)))
        stack.append(scope)
    while stack:
        ended = stack.pop()
        parent = (stack[-1].start_byte, stack[-1].end_byte) if stack else MODULE_SCOPE
        segments.append((ended.end_byte, parent))
    facts.scope_starts = [start for start, _ in segments]
    facts.scope_segments = [scope for _, scope in segments]
