"""Place findings in lines and columns, drop the ones a `ragcoder: ignore` comment suppresses."""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable

from assistant.promptlint.checks import LintOptions
from assistant.promptlint.finding import Finding, Location

logger = logging.getLogger(__name__)

_SUPPRESSION = re.compile(r"ragcoder:\s*ignore(?:\[(?P<codes>[A-Z0-9,\s]+)\])?")


class Placer:
    """Convert source bytes to 0-based lines and code point columns."""

    def __init__(self, source: bytes) -> None:
        self._source = source
        self._line_starts = [0] + [match.end() for match in re.finditer(b"\n", source)]

    def position(self, byte: int) -> tuple[int, int]:
        """Return the 0-based line and code point column of a byte offset."""
        line = bisect.bisect_right(self._line_starts, byte) - 1
        start = self._line_starts[line]
        return line, len(self._source[start:byte].decode("utf-8", errors="replace"))

    def locate(self, path: str, item: Finding) -> Location:
        """Place a finding, and the call it refers to, in lines and columns."""
        line, column = self.position(item.start_byte)
        end_line, end_column = self.position(item.end_byte)
        related_line = self.position(item.related[0])[0] if item.related is not None else None
        return Location(path, line, column, end_line, end_column, item, related_line)


def place(path: str, text: str, findings: Iterable[Finding], options: LintOptions) -> list[Location]:
    """Place the enabled findings sorted by position, without duplicates and suppressed ones."""
    enabled = sorted({item for item in findings if options.is_enabled(item.code)}, key=lambda f: (f.start_byte, f.code))
    if not enabled:
        return []
    placer = Placer(text.encode("utf-8"))
    suppressed = suppressions(text)
    located = []
    for item in enabled:
        location = placer.locate(path, item)
        codes = suppressed.get(location.line, suppressed.get(location.end_line))
        if codes is not None and (not codes or item.code in codes):
            continue
        located.append(location)
    return located


def suppressions(text: str) -> dict[int, frozenset[str]]:
    """Map 0-based lines with `ragcoder: ignore[CODE, ...]` comments to their codes (empty set: all)."""
    found: dict[int, frozenset[str]] = {}
    if "ragcoder:" not in text:
        return found
    for line_number, line in enumerate(text.split("\n")):
        match = _SUPPRESSION.search(line)
        if match:
            codes = match.group("codes") or ""
            found[line_number] = frozenset(code.strip() for code in codes.split(",") if code.strip())
    return found
