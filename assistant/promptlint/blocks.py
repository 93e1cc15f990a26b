"""Top-level statements as units of prompt discovery, and the module-level names that link them.

Discovery looks past one top-level statement in only two ways: through a module-level name
that is assigned a prompt string or template (its uses, `.format` calls and pipes elsewhere),
and to ask whether a name is bound at module level. So statements linked by such a name are read as
one group, and the bound-name question goes to `FileFacts.outside`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.promptlint.facts import MODULE_SCOPE, FileFacts, collect_facts
from assistant.promptlint.usage import CallKind, classify_call, trace

logger = logging.getLogger(__name__)

# `chain = tpl | llm` and `filled = tpl.partial(...)`, as the template fill search follows them.
_ALIAS = re.compile(r"([A-Za-z_$][\w$.]*)\s*(?:\||\.partial\()")


@dataclass(frozen=True)
class Block:
    """One top-level statement read on its own, with the names that link it to other statements.

    `exports` are module-level names assigned a prompt string or a template. `aliases` are
    module-level (name, source name) pairs of pipes and partial calls. `mentions` are names
    read where a module-level binding is visible, and `defined` are names bound at module level.
    `facts` are None in a cached block, because they hold the syntax tree.
    """

    source: bytes
    facts: FileFacts | None
    exports: frozenset[str]
    aliases: tuple[tuple[str, str], ...]
    mentions: frozenset[str]
    defined: frozenset[str]


def read_block(source: bytes, language: str) -> Block:
    """Parse one top-level statement and collect its facts and linking names."""
    facts = collect_facts(source, language)
    exports: set[str] = set()
    for span in facts.strings:
        if facts.scope_at(span.start_byte) == MODULE_SCOPE:
            usage = trace(facts, span)
            if usage is not None and usage.target:
                exports.add(usage.target)

    template_starts = {start for start, call in facts.calls.items() if classify_call(call.callee) is CallKind.TEMPLATE}
    aliases: list[tuple[str, str]] = []
    for assignment in facts.assignments.values():
        if facts.scope_at(assignment.span.start_byte) != MODULE_SCOPE:
            continue
        if assignment.value.start_byte in template_starts:
            exports.add(assignment.target)
        match = _ALIAS.match(facts.text(assignment.value))
        if match:
            aliases.append((assignment.target, match.group(1)))

    mentions = {name for ref in facts.refs if _is_visible(facts, name := facts.text(ref), facts.scope_at(ref.start_byte))}
    for receiver, by_scope in facts.calls_by_receiver.items():
        if receiver and any(_is_visible(facts, receiver, scope) for scope in by_scope):
            mentions.add(receiver)
    defined = frozenset(name for name, scopes in facts.defined.items() if MODULE_SCOPE in scopes)
    return Block(source, facts, frozenset(exports), tuple(aliases), frozenset(mentions), defined)


def _is_visible(facts: FileFacts, name: str, scope: tuple[int, int]) -> bool:
    """Tell whether a module-level binding of `name` is what a use in `scope` reads."""
    return scope == MODULE_SCOPE or scope not in facts.defined.get(name, ())


def link_blocks(blocks: Sequence[Block]) -> list[list[int]]:
    """Group the blocks that share module-level prompt names; each group is sorted, groups by first block."""
    exporters: dict[str, set[int]] = {}
    for index, block in enumerate(blocks):
        for name in block.exports:
            exporters.setdefault(name, set()).add(index)
    aliasing = [(index, target, root) for index, block in enumerate(blocks) for target, root in block.aliases]
    is_growing = bool(aliasing)
    while is_growing:
        is_growing = False
        for index, target, root in aliasing:
            if root in exporters and index not in exporters.get(target, ()):
                exporters.setdefault(target, set()).add(index)
                is_growing = True

    parents = list(range(len(blocks)))
    for owners in exporters.values():
        first = min(owners)
        for owner in owners:
            _union(parents, first, owner)
    for index, block in enumerate(blocks):
        for name in block.mentions:
            if name in exporters:
                _union(parents, index, min(exporters[name]))

    groups: dict[int, list[int]] = {}
    for index in range(len(blocks)):
        groups.setdefault(_find(parents, index), []).append(index)
    return sorted(groups.values(), key=lambda members: members[0])


def defined_counts(blocks: Sequence[Block]) -> Counter[str]:
    """Count, per name, the blocks that bind it at module level."""
    return Counter(name for block in blocks for name in block.defined)


def outside_names(counts: Counter[str], blocks: Sequence[Block], members: Sequence[int]) -> Callable[[str], bool]:
    """Return a test for whether a block outside `members` binds a name at module level."""
    inside = [blocks[index].defined for index in members]

    def is_bound_outside(name: str) -> bool:
        return counts[name] > sum(1 for defined in inside if name in defined)

    return is_bound_outside


def _find(parents: list[int], index: int) -> int:
    while parents[index] != index:
        parents[index] = parents[parents[index]]
        index = parents[index]
    return index


def _union(parents: list[int], first: int, second: int) -> None:
    root_first, root_second = _find(parents, first), _find(parents, second)
    if root_first != root_second:
        parents[max(root_first, root_second)] = min(root_first, root_second)
