"""Token healing logic on a hand-written vocabulary."""

from __future__ import annotations

import numpy as np

from assistant.alignment import HealingLogitsProcessor, VocabularyIndex, plan_healing

# id: piece; None marks a control token (BOS).
PIECES: list[bytes | None] = [
    None, b"re", b"ret", b"return", b"turn", b"urn", b" ", b"    ", b"  ", b"r", b"\xff", b"\xff\x01",
]


def make_index() -> VocabularyIndex:
    return VocabularyIndex(PIECES)


def test_ids_starting_with_prefix_range() -> None:
    index = make_index()
    assert sorted(index.ids_starting_with(b"re").tolist()) == [1, 2, 3]
    assert sorted(index.ids_starting_with(b"\xff").tolist()) == [10, 11]
    assert index.ids_starting_with(b"zz").tolist() == []


def test_ids_prefixing_proper_prefixes_only() -> None:
    index = make_index()
    assert sorted(index.ids_prefixing(b"    ")) == [6, 8]


def test_plan_healing_backs_off_last_token() -> None:
    plan = plan_healing([0, 7, 2], make_index(), max_tokens=1)
    assert plan.prompt_ids == [0, 7]
    assert plan.required_bytes == b"ret"


def test_plan_healing_stops_at_control_token() -> None:
    plan = plan_healing([0, 2], make_index(), max_tokens=2)
    assert plan.prompt_ids == [0]
    assert plan.required_bytes == b"ret"
    assert plan_healing([0], make_index(), max_tokens=1).required_bytes == b""


def test_healing_processor_masks_until_text_recreated() -> None:
    index = make_index()
    processor = HealingLogitsProcessor(index, prompt_length=2, required_bytes=b"ret")
    scores = np.zeros(len(PIECES), dtype=np.float32)

    first = processor(np.array([0, 7], dtype=np.intc), scores.copy())
    allowed = set(np.flatnonzero(np.isfinite(first)).tolist())
    assert allowed == {1, 2, 3, 9}

    # After "re" only tokens starting with "t" (or prefixes of it) may follow.
    second = processor(np.array([0, 7, 1], dtype=np.intc), scores.copy())
    assert set(np.flatnonzero(np.isfinite(second)).tolist()) == {4}

    done = processor(np.array([0, 7, 3], dtype=np.intc), scores.copy())
    assert np.isfinite(done).all()
