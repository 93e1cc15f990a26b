"""Variants of ask-context compression that bench/bench_compression.py measures next to the shipped one.

- `*+lines`: `compress()` also keeps whole the lines that mention the question's protected
  words (`protect_mentioning_lines`), with context packing otherwise unchanged.

The earlier variant `uniform+lines`, every chunk compressed to one ratio, is now context
packing's mode "shared" (method `shared` of bench/bench_compression.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from unittest import mock

from assistant import context as context_module
from assistant.compress import compress, load_priorities, mentioned_identifiers
from assistant.context import CompressionPlan, pack_context
from bench.compression_dev import AskCase

Count = Callable[[str], int]


def _pack_with_lines(min_ratio: float) -> Callable[[AskCase, int, Count], str]:
    def build(case: AskCase, budget: int, count: Count) -> str:
        plan = CompressionPlan(load_priorities("ask"), min_ratio, mentioned_identifiers(case.question))
        with mock.patch.object(context_module, "compress", functools.partial(compress, protect_mentioning_lines=True)):
            return pack_context(case.chunks, budget, count, compression=plan).text

    return build


ASK_VARIANTS: dict[str, Callable[[AskCase, int, Count], str]] = {
    "compress+lines": _pack_with_lines(0.05),
    "compress_then_drop+lines": _pack_with_lines(0.5),
}
