"""Reuse planning of cached KV sequences, on hand-made unit lists."""

from __future__ import annotations

import pytest

from assistant.kv_reuse import Move, SlotTable, Unit, common_prefix_length, plan_reuse


def plain(*tokens: int) -> list[Unit]:
    return [(token, None) for token in tokens]


def chunk(key: str, *tokens: int) -> list[Unit]:
    return [(token, key) for token in tokens]


def apply(cached: list[Unit], target: list[Unit], plan_moves: tuple[Move, ...], kept: int) -> list[Unit]:
    """Replay a plan the way the generator applies it to a sequence: position -> unit."""
    cells = dict(enumerate(cached))
    for move in plan_moves:
        if move.source_start == move.target_start:
            continue
        for position in range(move.target_start, move.source_start):
            cells.pop(position, None)
        moved = {position: cells.pop(position) for position in range(move.source_start, move.source_start + move.length)}
        for position, unit in moved.items():
            cells[position + move.target_start - move.source_start] = unit
    return [cells[position] for position in range(kept)]


def test_common_prefix_length_counts_equal_units() -> None:
    assert common_prefix_length(plain(1, 2, 3), plain(1, 2, 4)) == 2
    assert common_prefix_length(plain(1, 2), plain(1, 2, 3)) == 2
    assert common_prefix_length([], plain(1)) == 0


def test_common_prefix_needs_same_origin() -> None:
    assert common_prefix_length(plain(1, 2, 3), plain(1) + chunk("a", 2, 3)) == 1


def test_plan_typing_one_character_keeps_prefix() -> None:
    cached = plain(*range(100))
    target = plain(*range(100), 500)
    plan = plan_reuse(cached, target, min_move_tokens=8, can_shift=True)
    assert plan.kept == 100
    assert plan.moves == (Move(0, 0, 100),)


def test_plan_same_prompt_leaves_last_token() -> None:
    cached = plain(*range(50))
    plan = plan_reuse(cached, list(cached), min_move_tokens=8, can_shift=True)
    assert plan.kept == 49


def test_plan_leaves_tokens_whose_logits_are_needed() -> None:
    # Alignment needs logits for the backed-off tokens too, so they are evaluated again.
    cached = plain(*range(50))
    plan = plan_reuse(cached, list(cached), min_move_tokens=8, can_shift=True, evaluate_last=3)
    assert plan.kept == 47
    assert plan_reuse(plain(1, 2), plain(1, 2), min_move_tokens=8, can_shift=True, evaluate_last=5).kept == 0


def test_plan_deleted_line_above_shifts_rest() -> None:
    # Tokens 10..14 (a line above the cursor) were deleted; the 40 tokens after them move up by 5.
    cached = plain(*range(60))
    target = plain(*range(10), *range(15, 55), 900)
    plan = plan_reuse(cached, target, min_move_tokens=8, can_shift=True)
    assert plan.kept == 50
    assert plan.moves == (Move(0, 0, 10), Move(15, 10, 40))
    assert apply(cached, target, plan.moves, plan.kept) == target[: plan.kept]


def test_plan_changed_line_above_shifts_rest() -> None:
    cached = plain(*range(60))
    target = plain(*range(10), 777, *range(15, 60), 900)
    plan = plan_reuse(cached, target, min_move_tokens=8, can_shift=True)
    # The edited token itself is not in the cache, so reuse stops after the prefix.
    assert plan.kept == 10


def test_plan_short_runs_are_not_moved() -> None:
    cached = plain(*range(30))
    target = plain(*range(10), *range(15, 20), 999)
    plan = plan_reuse(cached, target, min_move_tokens=8, can_shift=True)
    assert plan.kept == 10


def test_plan_without_shift_keeps_only_prefix() -> None:
    cached = plain(*range(60))
    target = plain(*range(10), *range(15, 60))
    plan = plan_reuse(cached, target, min_move_tokens=8, can_shift=False)
    assert plan.kept == 10
    assert plan.moves == (Move(0, 0, 10),)


def test_plan_moves_restored_chunk_with_same_key() -> None:
    cached = plain(1, 2) + chunk("a", *range(10, 30)) + chunk("b", *range(40, 60)) + plain(7, 8)
    target = plain(1, 2) + chunk("b", *range(40, 60)) + plain(9)
    plan = plan_reuse(cached, target, min_move_tokens=8, can_shift=True)
    assert plan.kept == 22
    assert apply(cached, target, plan.moves, plan.kept) == target[:22]


def test_plan_never_cuts_restored_chunk() -> None:
    # The cache contains chunk "a" fully, but the target ends inside the same chunk run.
    # Reuse backs off to the chunk start instead of keeping half of it.
    cached = plain(1) + chunk("a", *range(10, 30)) + plain(5)
    target = plain(1) + chunk("a", *range(10, 30))
    plan = plan_reuse(cached, target, min_move_tokens=8, can_shift=True)
    assert plan.kept == 1


def test_plan_empty_cache_keeps_nothing() -> None:
    plan = plan_reuse([], plain(1, 2, 3), min_move_tokens=8, can_shift=True)
    assert plan.kept == 0
    assert plan.moves == ()


def test_slot_table_reuses_key_and_evicts_oldest() -> None:
    table = SlotTable(first_sequence=1, count=2)
    first, is_new = table.acquire("a.py")
    assert is_new
    first.units = plain(1)
    again, is_new = table.acquire("a.py")
    assert again is first
    assert not is_new
    second, _ = table.acquire("b.py")
    second.units = plain(2)
    table.acquire("a.py")
    third, is_new = table.acquire("c.py")
    assert is_new
    assert third is second
    assert {slot.sequence for slot in table.slots} == {1, 2}


def test_slot_table_eviction_order_skips_kept_and_empty() -> None:
    table = SlotTable(first_sequence=1, count=3)
    a, _ = table.acquire("a")
    table.acquire("b")
    c, _ = table.acquire("c")
    a.units = plain(1)
    c.units = plain(2)
    assert table.eviction_order(c) == [a]


def test_slot_table_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="model.cache_slots"):
        SlotTable(first_sequence=1, count=0)
