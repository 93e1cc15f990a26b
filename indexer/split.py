"""Line arithmetic over source bytes and the packing of long spans into parts at cut points."""

from __future__ import annotations

import bisect
import itertools
import logging
import math

logger = logging.getLogger(__name__)

_WHITESPACE = b" \t\r\n\f\v"


class LineIndex:
    """Maps byte offsets of one source to 1-based line numbers."""

    def __init__(self, source: bytes) -> None:
        line_lengths = map(len, source.split(b"\n")[:-1])
        # Built with C-level iterators only: line i + 1 starts one byte after line i ends.
        self._line_starts = [0, *itertools.accumulate(map((1).__add__, line_lengths))]

    def line_of(self, byte: int) -> int:
        """Return the 1-based line that contains `byte`; a newline belongs to the line it ends."""
        return bisect.bisect_right(self._line_starts, byte)

    def count(self, start_byte: int, end_byte: int) -> int:
        """Return how many lines the span [start_byte, end_byte) touches."""
        if end_byte <= start_byte:
            return 0
        return self.line_of(end_byte - 1) - self.line_of(start_byte) + 1


def pack_parts(
    source: bytes,
    start_byte: int,
    end_byte: int,
    cut_points: list[tuple[int, int]],
    max_lines: int,
    lines: LineIndex,
) -> list[tuple[int, int]]:
    """Cut [start_byte, end_byte) into consecutive parts of at most `max_lines` lines where possible.

    `cut_points` are (byte, depth) pairs sorted by byte, as `indexer.parse.split_points` returns
    them. Whole depth-0 units are packed first. Only a unit that alone is too long is opened at
    its deeper cut points, and the text before it may join its first part. The parts tile the
    span without gaps or overlap, and a unit with no cut point inside stays whole even when it
    is too long.

    The line limit is evened out over the expected number of parts, so 130 lines with a limit of
    120 become two parts of about 65 lines rather than 120 and 10. Blank lines at the end of a
    part do not count, because the caller trims them.
    """
    total_lines = lines.count(start_byte, end_byte)
    part_count = max(1, math.ceil(total_lines / max_lines))
    limit = math.ceil(total_lines / part_count)

    packer = _Packer(source, cut_points, limit, lines)
    parts, open_start = packer.pack(start_byte, start_byte, end_byte, depth=0)
    parts.append((open_start, end_byte))
    return parts


class _Packer:
    def __init__(self, source: bytes, cut_points: list[tuple[int, int]], limit: int, lines: LineIndex) -> None:
        self._source = source
        self._bytes = [byte for byte, _ in cut_points]
        self._depths = [depth for _, depth in cut_points]
        self._limit = limit
        self._lines = lines

    def pack(self, open_start: int, start: int, end: int, depth: int) -> tuple[list[tuple[int, int]], int]:
        """Pack [start, end) into parts, continuing a part that is open since `open_start`.

        Returns the closed parts and the start of the part still open at `end`.
        """
        low = bisect.bisect_right(self._bytes, start)
        high = bisect.bisect_left(self._bytes, end)
        deeper = [self._depths[i] for i in range(low, high) if self._depths[i] >= depth]
        if not deeper:
            return [], open_start

        level = min(deeper)
        cuts = [self._bytes[i] for i in range(low, high) if self._depths[i] == level]
        bounds = [start, *cuts, end]
        parts: list[tuple[int, int]] = []
        for unit_start, unit_end in zip(bounds, bounds[1:]):
            if self._fits(open_start, unit_end):
                continue
            if open_start < unit_start and self._fits(unit_start, unit_end):
                parts.append((open_start, unit_start))
                open_start = unit_start
                continue

            inner_parts, inner_open = self.pack(open_start, unit_start, unit_end, level + 1)
            if not inner_parts and open_start < unit_start and not self._fits(inner_open, unit_end):
                # The unit cannot be split far enough, so keep the text before it apart.
                parts.append((open_start, unit_start))
                open_start = unit_start
                continue
            parts.extend(inner_parts)
            open_start = inner_open
        return parts, open_start

    def _fits(self, start: int, end: int) -> bool:
        source = self._source
        while end > start and source[end - 1] in _WHITESPACE:
            end -= 1
        return self._lines.count(start, end) <= self._limit
