"""Tests for stopping answers that loop on one line."""

from __future__ import annotations

from collections.abc import Iterator

from assistant.ask import stop_repeated_lines


def _pieces(text: str, size: int = 3) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def test_stop_repeated_lines_third_copy_dropped() -> None:
    looping = "It returns the index.\n" * 6

    shown = "".join(stop_repeated_lines(_pieces(looping)))

    assert shown == "It returns the index.\n" * 2


def test_stop_repeated_lines_distinct_lines_kept() -> None:
    text = "First line.\nSecond line.\n\n\nThird line without newline"

    shown = "".join(stop_repeated_lines(_pieces(text)))

    assert shown == text


def test_stop_repeated_lines_closes_source() -> None:
    closed: list[bool] = []

    def source() -> Iterator[str]:
        try:
            while True:
                yield "again\n"
        finally:
            closed.append(True)

    shown = list(stop_repeated_lines(source()))

    assert "".join(shown) == "again\nagain\n"
    assert closed == [True]


def test_stop_repeated_lines_streams_new_text_early() -> None:
    stream = stop_repeated_lines(iter(["The decoder ", "scans ", "strings.\n"]))

    assert next(stream) == "The decoder "
