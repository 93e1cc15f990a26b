"""Streaming text helpers that need no model: cutting a token stream at stop strings."""

from __future__ import annotations

from collections.abc import Sequence


class StopFilter:
    """Cuts streamed text at the first stop string, holding back a possible partial match."""

    def __init__(self, stop: Sequence[str]) -> None:
        self._stop = [text for text in stop if text]
        self._pending = ""
        self.is_stopped = False

    def push(self, text: str) -> str:
        """Add streamed text; return what is safe to emit now."""
        if self.is_stopped:
            return ""
        self._pending += text
        positions = [self._pending.find(stop) for stop in self._stop]
        found = [position for position in positions if position >= 0]
        if found:
            self.is_stopped = True
            emitted, self._pending = self._pending[: min(found)], ""
            return emitted
        hold = max((_partial_match_length(self._pending, stop) for stop in self._stop), default=0)
        emitted = self._pending[: len(self._pending) - hold]
        self._pending = self._pending[len(emitted) :]
        return emitted

    def flush(self) -> str:
        """Return the held-back text at the end of the stream."""
        emitted, self._pending = self._pending, ""
        return "" if self.is_stopped else emitted


def _partial_match_length(text: str, stop: str) -> int:
    """Return the length of the longest end of `text` that starts `stop`."""
    for length in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:length]):
            return length
    return 0
