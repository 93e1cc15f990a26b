"""Fills visible in a file: `.format(...)` keywords, `%` dicts, `invoke` dicts, `partial` calls, input variables."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from assistant.promptlint.facts import Call, FileFacts
from indexer.parse import NodeSpan

logger = logging.getLogger(__name__)

_KEYWORD_METHODS = frozenset({"format", "format_prompt", "format_messages", "aformat", "aformat_messages", "partial"})
_DICT_METHODS = frozenset({"invoke", "ainvoke", "stream", "astream", "format_map"})
_DICT_TYPES = frozenset({"dictionary", "object"})
_QUOTED = re.compile(r"[\"'`]([^\"'`]+)[\"'`]")
_DICT_KEY = re.compile(r"[\"'`]?([A-Za-z_]\w*)[\"'`]?\s*:")


@dataclass(frozen=True)
class FillSite:
    """A place that fills a template; `names` is None when they cannot be read from the source."""

    description: str
    start_byte: int
    names: frozenset[str] | None
    name_spans: tuple[tuple[str, int, int], ...] = ()
    is_partial: bool = False


def value_fill_site(facts: FileFacts, call: Call | None, percent_operand: NodeSpan | None) -> FillSite:
    """Read the names filled by `template.format(...)` / `format_map({...})` or by `template % {...}`."""
    if percent_operand is not None:
        return _dict_site(facts, "% operator", percent_operand)
    assert call is not None
    description = f"{_short(call.callee)}(...)"
    if call.method == "format_map":
        return _dict_site(facts, description, call.positional[0]) if call.positional else FillSite(description, call.span.start_byte, None)
    return _keyword_site(facts, call, description)


def template_fill_sites(
    facts: FileFacts, call: Call
) -> tuple[tuple[FillSite, ...], frozenset[str] | None, tuple[int, int] | None, frozenset[str]]:
    """Collect the fills of a LangChain template created by `call`.

    Follows the variable the template is assigned to, names assigned from `name.partial(...)`
    and pipes `name | model`, within the file. Returns (fill sites, declared input variables,
    span of the declaration, names filled by partial variables or partial calls).
    """
    declared, declared_span = _declared(facts, call)
    partial_names: set[str] = set(_dict_keys(facts, call.keywords.get("partial_variables") or call.keywords.get("partialVariables")))
    names = _aliases(facts, call)
    scope = facts.scope_at(call.span.start_byte)
    sites: list[FillSite] = []
    for name in names:
        for use in facts.calls_on(name, scope):
            site = _method_site(facts, use)
            if site is None:
                continue
            if site.is_partial and site.names:
                partial_names.update(site.names)
            else:
                sites.append(site)
    return tuple(sites), declared, declared_span, frozenset(partial_names)


def message_variables(facts: FileFacts, call: Call) -> frozenset[str]:
    """Return the variable names of `MessagesPlaceholder(...)` calls inside a template call.

    They are filled with message lists, so `invoke` and `input_variables` may name them
    although no string of the template has them as placeholders.
    """
    names: set[str] = set()
    for start, inner in facts.calls.items():
        if not call.span.start_byte < start < call.span.end_byte or not inner.callee.endswith("MessagesPlaceholder"):
            continue
        value = inner.keywords.get("variable_name") or inner.keywords.get("variableName")
        if value is None and inner.positional:
            value = inner.positional[0]
        if value is not None and value.type == "string":
            names.add(facts.text(value).strip("'\"`"))
    return frozenset(names)


def _aliases(facts: FileFacts, call: Call) -> list[str]:
    """Names that hold the template: its assignment target, then partial results and pipes built from it."""
    names = [item.target for item in facts.assignments.values() if item.value.start_byte == call.span.start_byte]
    scope = facts.scope_at(call.span.start_byte)
    nearby = [item for item in facts.assignments.values() if facts.scope_at(item.span.start_byte) == scope]
    is_growing = bool(names)
    while is_growing and len(names) < 8:
        is_growing = False
        for assignment in nearby:
            if assignment.target in names:
                continue
            value_text = facts.text(assignment.value)
            if any(re.match(rf"{re.escape(name)}\s*(\||\.partial\()", value_text) for name in names):
                names.append(assignment.target)
                is_growing = True
    return names


def _method_site(facts: FileFacts, call: Call) -> FillSite | None:
    description = f"{_short(call.callee)}(...)"
    if call.method in _KEYWORD_METHODS:
        site = _keyword_site(facts, call, description)
        return FillSite(site.description, site.start_byte, site.names, site.name_spans, call.method == "partial")
    if call.method in _DICT_METHODS:
        if call.positional and call.positional[0].type in _DICT_TYPES:
            return _dict_site(facts, description, call.positional[0])
        return FillSite(description, call.span.start_byte, None)
    return None


def _keyword_site(facts: FileFacts, call: Call, description: str) -> FillSite:
    if call.has_splat:
        return FillSite(description, call.span.start_byte, None)
    if call.positional and call.positional[0].type in _DICT_TYPES and facts.language != "python":
        return _dict_site(facts, description, call.positional[0])
    if call.positional:
        return FillSite(description, call.span.start_byte, None)
    spans = tuple((name, span.start_byte, span.end_byte) for name, span in call.keyword_spans.items())
    return FillSite(description, call.span.start_byte, frozenset(call.keywords), spans)


def _dict_site(facts: FileFacts, description: str, literal: NodeSpan) -> FillSite:
    """Read the keys of a dict or object literal; unknown (None) for anything else or with `**`/`...`."""
    text = facts.text(literal).strip()
    if not text.startswith("{") or "**" in text or "..." in text:
        return FillSite(description, literal.start_byte, None)
    spans: list[tuple[str, int, int]] = []
    for _, key, _ in facts.pairs_by_container.get(literal.start_byte, ()):
        if key.type not in ("string", "identifier", "property_identifier"):
            return FillSite(description, literal.start_byte, None)
        spans.append((facts.text(key).strip("'\"`"), key.start_byte, key.end_byte))
    return FillSite(description, literal.start_byte, frozenset(name for name, _, _ in spans), tuple(spans))


def _declared(facts: FileFacts, call: Call) -> tuple[frozenset[str] | None, tuple[int, int] | None]:
    span = call.keywords.get("input_variables") or call.keywords.get("inputVariables")
    if span is None:
        return None, None
    text = facts.text(span)
    if not text.lstrip().startswith("["):
        return None, None
    return frozenset(_QUOTED.findall(text)), (span.start_byte, span.end_byte)


def _dict_keys(facts: FileFacts, span: NodeSpan | None) -> list[str]:
    if span is None:
        return []
    return _DICT_KEY.findall(facts.text(span))


def _short(callee: str) -> str:
    return callee if len(callee) <= 40 else "..." + callee[-37:]
