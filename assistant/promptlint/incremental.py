"""Lint one document version after version, re-reading only the statements an edit touched.

The first version is parsed whole and split into top-level statements. A later version is
compared with the one before: only the edited bytes and the statements around them are parsed
again, and the other statements keep their text and move by the edit's length. Statements
are grouped by the module-level prompt names they share (see blocks.py), and a statement's
linking names and a group's findings are cached by their text, so an unchanged group costs
a dictionary lookup wherever the edit moved it.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from assistant.promptlint.blocks import (
    Block,
    defined_counts,
    link_blocks,
    outside_names,
    read_block,
)
from assistant.promptlint.checks import LintOptions, run_rules
from assistant.promptlint.discovery import (
    SOURCE_LANGUAGES,
    discover_file_template,
    discover_in,
    is_template_file,
)
from assistant.promptlint.facts import collect_facts
from assistant.promptlint.finding import Finding, Location
from assistant.promptlint.placement import place
from indexer.parse import language_for_path, parse, top_level_spans

logger = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")
Span = tuple[int, int]

# Cached entries stay while one of the last two versions used them, so text that an edit
# took out of the file is still cached when the edit is undone.
_GENERATIONS = 2


@dataclass(frozen=True)
class GroupResult:
    """The findings and prompts of one group of statements, each relative to its statement's start.

    Entries name their statement by its position in the group; a finding's related call is
    (statement position, start, end). `outside_answers` are the module-level names the rules
    looked up outside the group, with the results.
    """

    findings: tuple[tuple[int, Finding, tuple[int, int, int] | None], ...]
    prompts: tuple[tuple[int, int, int, str], ...]
    outside_answers: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class _Version:
    """The last linted version: its source, statement spans, groups and their results."""

    source: bytes
    spans: list[Span]
    groups: list[list[int]]
    results: list[GroupResult]


class DocumentLinter:
    """The lint state of one document: its last version's statements and caches keyed by text.

    Note: a statement that does not parse on its own (an unclosed string or bracket while
    typing) stays one statement with the text around the edit. A fresh parse of the whole file
    could instead read everything after it as part of the string, so for such versions the
    findings differ from `lint_text`, on purpose: other statements keep theirs.
    """

    def __init__(self, path: str, options: LintOptions, language: str | None = None) -> None:
        self.path = path
        self._options = options
        self._is_template = is_template_file(path)
        self._language = language or language_for_path(path)
        self._version: _Version | None = None
        self._blocks: list[dict[bytes, Block]] = [{} for _ in range(_GENERATIONS)]
        self._groups: list[dict[tuple[bytes, ...], GroupResult]] = [{} for _ in range(_GENERATIONS)]

    @property
    def options(self) -> LintOptions:
        """The options findings are computed with; setting new ones drops the cached findings."""
        return self._options

    @options.setter
    def options(self, options: LintOptions) -> None:
        self._options = options
        self._groups = [{} for _ in range(_GENERATIONS)]

    def lint(self, text: str) -> list[Location]:
        """Lint this version of the document; findings come sorted by position, without suppressed ones."""
        return place(self.path, text, self.findings(text), self._options)

    def findings(self, text: str) -> list[Finding]:
        """Return the unplaced findings of this version, in source bytes."""
        source = text.encode("utf-8")
        if self._is_template:
            return list(run_rules(source, discover_file_template(self.path, text), self._options))
        language = self._language
        if language is None or language not in SOURCE_LANGUAGES:
            return []

        spans = self._statement_spans(source, language)
        self._blocks = [{}, *self._blocks[:-1]]
        self._groups = [{}, *self._groups[:-1]]
        read: dict[bytes, Block] = {}
        blocks = [self._block(source[start:end], language, read) for start, end in spans]
        groups = link_blocks(blocks)
        counts = defined_counts(blocks)
        results = [self._group_result(blocks, members, counts, read, language) for members in groups]
        self._version = _Version(source, spans, groups, results)
        return [item for members, result in zip(groups, results) for item in _absolute(result, members, spans)]

    def prompt_at(self, byte: int) -> str | None:
        """Return the text of the prompt around source byte `byte` in the last linted version, or None."""
        if self._version is None:
            return None
        spans, groups, results = self._version.spans, self._version.groups, self._version.results
        statement = bisect.bisect_right([start for start, _ in spans], byte) - 1
        for members, result in zip(groups, results):
            if statement not in members:
                continue
            for member, start, end, text in result.prompts:
                offset = spans[members[member]][0]
                if start + offset <= byte < end + offset:
                    return text
        return None

    def _statement_spans(self, source: bytes, language: str) -> list[Span]:
        if self._version is None:
            return top_level_spans(parse(source, language))
        return respan(self._version.spans, self._version.source, source, language)

    def _block(self, source: bytes, language: str, read: dict[bytes, Block]) -> Block:
        block = read.get(source) or _lookup(self._blocks, source)
        if block is None:
            block = read[source] = read_block(source, language)
        self._blocks[0][source] = dataclasses.replace(block, facts=None) if block.facts is not None else block
        return block

    def _group_result(self, blocks: Sequence[Block], members: list[int], counts: Counter[str],
                      read: dict[bytes, Block], language: str) -> GroupResult:
        key = tuple(blocks[index].source for index in members)
        is_bound_outside = outside_names(counts, blocks, members)
        result = _lookup(self._groups, key)
        if result is None or any(is_bound_outside(name) != answer for name, answer in result.outside_answers):
            result = self._read_group(key, is_bound_outside, read, language)
        self._groups[0][key] = result
        return result

    def _read_group(self, sources: tuple[bytes, ...], is_bound_outside: Callable[[str], bool],
                    read: dict[bytes, Block], language: str) -> GroupResult:
        """Discover and check the prompts of statements read as one text, joined by newlines."""
        starts = [0]
        for part in sources[:-1]:
            starts.append(starts[-1] + len(part) + 1)
        source = b"\n".join(sources)
        block = read.get(source) if len(sources) == 1 else None
        facts = block.facts if block is not None and block.facts is not None else collect_facts(source, language)
        facts = dataclasses.replace(facts, outside=is_bound_outside, outside_answers={})
        discovery = discover_in(facts)
        findings = [_relative(item, starts) for item in run_rules(source, discovery, self._options)]
        prompts = []
        for prompt in discovery.prompts:
            member = bisect.bisect_right(starts, prompt.start_byte) - 1
            prompts.append((member, prompt.start_byte - starts[member], prompt.end_byte - starts[member], prompt.text.text))
        return GroupResult(tuple(findings), tuple(prompts), tuple(sorted(facts.outside_answers.items())))


def changed_span(old: bytes, new: bytes) -> tuple[int, int, int]:
    """Return (start, old_end, new_end): old[start:old_end] became new[start:new_end], the rest is equal."""
    start = _common_prefix_length(old, new)
    suffix = _common_suffix_length(old, new, min(len(old), len(new)) - start)
    return start, len(old) - suffix, len(new) - suffix


def respan(spans: Sequence[Span], old: bytes, new: bytes, language: str) -> list[Span]:
    """Find the statement spans of `new` from those of the earlier version `old`.

    The statements the edit touches are parsed again together with their neighbours, because
    an edit can join a statement to the one before it (an indented line after a function) or
    split one. If that text has a syntax error, the touched statements alone are tried, and if
    they too fail they stay one statement.
    """
    if old == new:
        return list(spans)
    start, old_end, new_end = changed_span(old, new)
    delta = new_end - old_end
    first = bisect.bisect_left([end for _, end in spans], start)
    last = bisect.bisect_right([begin for begin, _ in spans], old_end)
    before = list(spans[:first])
    after = [(begin + delta, end + delta) for begin, end in spans[last:]]
    region = (min([start, *(begin for begin, _ in spans[first:last])]),
              max([old_end, *(end for _, end in spans[first:last])]) + delta)

    wide = (before[-1][0] if before else region[0], after[0][1] if after else region[1])
    pieces = _split(new, wide, language)
    if pieces is not None:
        return before[:-1] + pieces + after[1:]
    pieces = _split(new, region, language)
    if pieces is None:
        pieces = [region] if region[1] > region[0] else []
    return before + pieces + after


def _split(source: bytes, span: Span, language: str) -> list[Span] | None:
    """Parse source[span] on its own and return its statements' spans, or None on a syntax error."""
    tree = parse(source[span[0]:span[1]], language)
    if tree.has_errors:
        return None
    return [(span[0] + begin, span[0] + end) for begin, end in top_level_spans(tree)]


def _common_prefix_length(first: bytes, second: bytes) -> int:
    """Find the common prefix by bisection on slice equality, which compares in C."""
    low, high = 0, min(len(first), len(second))
    while low < high:
        middle = (low + high + 1) // 2
        if first[low:middle] == second[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix_length(first: bytes, second: bytes, limit: int) -> int:
    """Find the common suffix, at most `limit` bytes long so that it cannot overlap the common prefix."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if first[len(first) - middle:len(first) - low] == second[len(second) - middle:len(second) - low]:
            low = middle
        else:
            high = middle - 1
    return low


def _lookup(generations: Sequence[dict[K, V]], key: K) -> V | None:
    for cache in generations:
        value = cache.get(key)
        if value is not None:
            return value
    return None


def _relative(item: Finding, starts: list[int]) -> tuple[int, Finding, tuple[int, int, int] | None]:
    """Express a finding of a joined group text relative to its statement, and its related call to its own."""
    member = bisect.bisect_right(starts, item.start_byte) - 1
    related = None
    if item.related is not None:
        related_member = bisect.bisect_right(starts, item.related[0]) - 1
        offset = starts[related_member]
        related = (related_member, item.related[0] - offset, item.related[1] - offset)
    return member, dataclasses.replace(item, related=None).shifted(-starts[member]), related


def _absolute(result: GroupResult, members: list[int], spans: list[Span]) -> list[Finding]:
    placed = []
    for member, item, related in result.findings:
        absolute = item.shifted(spans[members[member]][0])
        if related is not None:
            offset = spans[members[related[0]]][0]
            absolute = dataclasses.replace(absolute, related=(related[1] + offset, related[2] + offset))
        placed.append(absolute)
    return placed
