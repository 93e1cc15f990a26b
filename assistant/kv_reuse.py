"""Bookkeeping of what each KV cache sequence contains, and plans for reusing it in the next prompt.

A sequence contains units: a token id plus its origin. The origin is None for a token evaluated
in its full prompt context, or the store key of a chunk whose KV cache was computed on its own
and restored. Two units are interchangeable only when both the token and the origin match.
Pure logic with no llama.cpp calls, so the reuse rules are unit-tested without a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Unit = tuple[int, "str | None"]


@dataclass(frozen=True)
class Move:
    """Cached units [source_start, source_start + length) that the next prompt needs at target_start."""

    source_start: int
    target_start: int
    length: int


@dataclass(frozen=True)
class ReusePlan:
    """How much of the next prompt the cache already contains.

    The first `kept` units of the prompt are in the cache once `moves` are applied in order. The
    first move is the common prefix and never shifts. Everything after `kept` must be evaluated.
    """

    kept: int
    moves: tuple[Move, ...]


def common_prefix_length(cached: Sequence[Unit], target: Sequence[Unit]) -> int:
    """Number of leading units that `cached` and `target` share."""
    limit = min(len(cached), len(target))
    for index in range(limit):
        if cached[index] != target[index]:
            return index
    return limit


def unchanged_prefix(plan: ReusePlan) -> int:
    """Return how many leading units a plan keeps at their positions, with nothing moved before them."""
    end = plan.kept
    for move in plan.moves:
        if move.source_start != move.target_start:
            end = min(end, move.target_start)
    return end


def plan_reuse(
    cached: Sequence[Unit], target: Sequence[Unit], min_move_tokens: int, can_shift: bool, evaluate_last: int = 1
) -> ReusePlan:
    """Plan the reuse of `cached` for `target`: the common prefix, then shifted runs.

    After the common prefix, a run of at least `min_move_tokens` units that appears later in
    the cache (because lines above it were deleted or changed) is shifted into place, as the
    llama.cpp server's cache reuse does. The skipped cached units are dropped. Runs are only
    searched forward in the cache, so text inserted above a run ends the reuse. At least the
    `evaluate_last` units of `target` (at least one) are always left to evaluate, because their
    logits are needed.
    """
    prefix = common_prefix_length(cached, target)
    moves = [Move(0, 0, prefix)] if prefix else []
    source, kept = prefix, prefix
    if can_shift and min_move_tokens > 0:
        while source < len(cached) and kept < len(target):
            length = common_prefix_length(cached[source:], target[kept:])
            if length >= min_move_tokens:
                moves.append(Move(source, kept, length))
                source += length
                kept += length
            else:
                source += 1
    kept = min(kept, len(target) - max(evaluate_last, 1))
    kept = _chunk_boundary(target, kept)
    return ReusePlan(kept=max(kept, 0), moves=tuple(move for move in moves if move.target_start < kept))


def _chunk_boundary(target: Sequence[Unit], kept: int) -> int:
    """Back `kept` off to the start of a restored chunk that it would cut in two."""
    if kept <= 0 or kept >= len(target):
        return kept
    origin = target[kept][1]
    if origin is None or target[kept - 1][1] != origin:
        return kept
    while kept > 0 and target[kept - 1][1] == origin:
        kept -= 1
    return kept


@dataclass
class Slot:
    """One KV cache sequence reserved for a cache key (a document, or the ask pipeline)."""

    sequence: int
    key: str | None = None
    units: list[Unit] = field(default_factory=list)
    last_used: int = 0
    # Next-token logits after `units[: position + 1]`, by position, kept from the last aligned
    # request: the next keystroke needs the same positions and need not evaluate them again.
    logits_rows: dict[int, Any] = field(default_factory=dict)

    def truncate(self, length: int) -> None:
        """Forget the units from `length` on, and the logits that depend on them."""
        del self.units[length:]
        self.logits_rows = {position: row for position, row in self.logits_rows.items() if position < length}


class SlotTable:
    """Assigns KV cache sequences to cache keys, reusing the least recently used one."""

    def __init__(self, first_sequence: int, count: int) -> None:
        if count < 1:
            raise ValueError(f"need at least one cache slot, got {count}; set model.cache_slots to 1 or more")
        self.slots = [Slot(sequence=first_sequence + index) for index in range(count)]
        self._clock = 0

    def acquire(self, key: str) -> tuple[Slot, bool]:
        """Return the slot of `key`, or take over the least recently used slot.

        The flag is True when the slot was taken over, so the caller must clear its cells.
        """
        self._clock += 1
        for slot in self.slots:
            if slot.key == key:
                slot.last_used = self._clock
                return slot, False
        slot = min(self.slots, key=lambda candidate: candidate.last_used)
        slot.key = key
        slot.last_used = self._clock
        return slot, True

    def eviction_order(self, keep: Slot) -> list[Slot]:
        """Slots other than `keep` that hold cells, least recently used first."""
        holding = [slot for slot in self.slots if slot is not keep and slot.units]
        return sorted(holding, key=lambda slot: slot.last_used)
