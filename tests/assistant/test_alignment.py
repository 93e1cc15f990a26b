"""Token alignment logic on a hand-written vocabulary."""

from __future__ import annotations

import numpy as np
import pytest

from assistant import alignment
from assistant.alignment import HealingLogitsProcessor, VocabularyIndex, plan_healing

# id: piece; None marks a control token (BOS, EOS).
PIECES: list[bytes | None] = [
    None, b"re", b"ret", b"return", b"turn", b"urn", b" ", b"    ", b"  ", b"r", b"\xff", b"\xff\x01",
    b"conf", b"ig", b"config", b" =", b"\n", b"\n    ", b"x", b")", b"))", b":", b"\xc3", b"\xa9", b"caf",
    b"'", None, b" foo", b" f", b"oo", b"rrrr", b"\n        ",
]
BOS, EOS = 0, 26


def make_index() -> VocabularyIndex:
    return VocabularyIndex(PIECES)


def ids_of(*pieces: bytes) -> list[int]:
    return [PIECES.index(piece) for piece in pieces]


def allowed_after(processor: HealingLogitsProcessor, input_ids: list[int]) -> set[int]:
    scores = np.zeros(len(PIECES), dtype=np.float32)
    masked = processor(np.array(input_ids, dtype=np.intc), scores)
    return set(np.flatnonzero(np.isfinite(masked)).tolist())


def test_ids_starting_with_prefix_range() -> None:
    index = make_index()
    assert sorted(index.ids_starting_with(b"re").tolist()) == [1, 2, 3]
    assert sorted(index.ids_starting_with(b"\xff").tolist()) == [10, 11]
    assert index.ids_starting_with(b"zz").tolist() == []


def test_ids_prefixing_proper_prefixes_only() -> None:
    index = make_index()
    assert sorted(index.ids_prefixing(b"    ")) == [6, 8]


def test_plan_healing_backs_off_last_token() -> None:
    plan = plan_healing([BOS, 7, 2], make_index(), max_tokens=1)
    assert plan.prompt_ids == [BOS, 7]
    assert plan.required_bytes == b"ret"
    assert plan.backed_off_tokens == 1


def test_plan_healing_zero_tokens_keeps_prompt() -> None:
    plan = plan_healing([BOS, 12, 13], make_index(), max_tokens=0)
    assert plan.prompt_ids == [BOS, 12, 13]
    assert plan.required_bytes == b""
    assert plan.backed_off_tokens == 0


def test_plan_healing_stops_at_control_token() -> None:
    plan = plan_healing([BOS, 2], make_index(), max_tokens=2)
    assert plan.prompt_ids == [BOS]
    assert plan.required_bytes == b"ret"
    assert plan_healing([BOS], make_index(), max_tokens=1).required_bytes == b""


def test_plan_healing_split_identifier_backs_off_whole_word() -> None:
    # "x = conf|ig" tokenized as "x", " =", " ", "conf", "ig": one token is not enough, because
    # the model would have to continue after "conf" instead of choosing "config".
    prompt = [BOS, *ids_of(b"x", b" =", b" ", b"conf", b"ig")]
    plan = plan_healing(prompt, make_index(), max_tokens=1)
    assert plan.required_bytes == b"config"
    assert plan.prompt_ids == [BOS, *ids_of(b"x", b" =", b" ")]
    assert plan.backed_off_tokens == 2


def test_plan_healing_whitespace_run_backs_off_to_line_break() -> None:
    # The cursor sits in indentation that a byte-level BPE vocabulary merges with the newline.
    prompt = [BOS, *ids_of(b":", b"\n", b"  ", b"  ")]
    plan = plan_healing(prompt, make_index(), max_tokens=1)
    assert plan.required_bytes == b"\n    "
    assert plan.prompt_ids == [BOS, *ids_of(b":")]


def test_plan_healing_word_after_whitespace_stops_at_whitespace() -> None:
    prompt = [BOS, *ids_of(b":", b"\n    ", b"ret")]
    plan = plan_healing(prompt, make_index(), max_tokens=1)
    assert plan.required_bytes == b"ret"


def test_plan_healing_punctuation_run_backs_off_together() -> None:
    prompt = [BOS, *ids_of(b"x", b")", b")")]
    plan = plan_healing(prompt, make_index(), max_tokens=1)
    assert plan.required_bytes == b"))"


def test_plan_healing_split_utf8_character_kept_whole() -> None:
    # "é" is spelled with two byte tokens; backing off only its second byte would leave the kept
    # prompt ending in half a character. No token spans "caf" and "é", so the back-off stops there.
    prompt = [BOS, *ids_of(b"'", b"caf", b"\xc3", b"\xa9")]
    plan = plan_healing(prompt, make_index(), max_tokens=1)
    assert plan.required_bytes == "é".encode()
    assert plan.prompt_ids == [BOS, *ids_of(b"'", b"caf")]


def test_plan_healing_cut_no_token_spans_stops() -> None:
    # ")" and ":" are one run of punctuation, but no piece starts with "):".
    prompt = [BOS, *ids_of(b"x", b")", b":")]
    plan = plan_healing(prompt, make_index(), max_tokens=1)
    assert plan.required_bytes == b":"


def test_plan_healing_extension_stops_at_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alignment, "MAX_BACKOFF_TOKENS", 3)
    prompt = [BOS, *ids_of(b"r", b"r", b"r", b"r", b"r")]
    plan = plan_healing(prompt, make_index(), max_tokens=1)
    assert plan.required_bytes == b"rrr"
    assert plan.backed_off_tokens == 3


def test_plan_healing_requested_count_above_limit_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alignment, "MAX_BACKOFF_TOKENS", 1)
    prompt = [BOS, *ids_of(b"x", b" =", b" foo")]
    plan = plan_healing(prompt, make_index(), max_tokens=2)
    assert plan.required_bytes == b" = foo"


def test_healing_processor_masks_until_text_recreated() -> None:
    index = make_index()
    # No piece starts with "returnx", so pieces ending inside the word are allowed.
    processor = HealingLogitsProcessor(index, prompt_length=2, required_bytes=b"returnx")

    assert allowed_after(processor, [BOS, 7]) == set(ids_of(b"r", b"re", b"ret", b"return"))
    # After "re" only tokens starting with "turnx" (or prefixes of it) may follow.
    assert allowed_after(processor, [BOS, 7, 1]) == set(ids_of(b"turn"))
    assert allowed_after(processor, [BOS, 7, 3]) == set(ids_of(b"x"))
    assert allowed_after(processor, [BOS, 7, 3, PIECES.index(b"x")]) == set(range(len(PIECES)))


def test_allowed_ids_word_pieces_need_no_split() -> None:
    index = make_index()
    # "ret" and "return" spell all of "ret", so "r" and "re" would only split the word.
    assert set(index.allowed_ids(b"ret").tolist()) == set(ids_of(b"ret", b"return"))
    # A split between a line break and indentation is not inside a word.
    assert PIECES.index(b"\n") in set(index.allowed_ids(b"\n    ").tolist())


def test_healing_processor_space_allows_space_prefixed_words() -> None:
    processor = HealingLogitsProcessor(make_index(), prompt_length=2, required_bytes=b" ")
    allowed = allowed_after(processor, [BOS, *ids_of(b" =")])
    assert {PIECES.index(b" foo"), PIECES.index(b" f"), PIECES.index(b" =")} <= allowed
    assert PIECES.index(b"oo") not in allowed


def test_healing_processor_never_allows_control_tokens() -> None:
    index = make_index()
    for required in (b"r", b" ", b"\n", b"\xc3\xa9", b"))"):
        processor = HealingLogitsProcessor(index, prompt_length=1, required_bytes=required)
        allowed = allowed_after(processor, [BOS])
        assert allowed
        assert BOS not in allowed
        assert EOS not in allowed


def test_healing_processor_utf8_bytes_are_spelled_byte_by_byte() -> None:
    processor = HealingLogitsProcessor(make_index(), prompt_length=1, required_bytes="é'".encode())
    assert allowed_after(processor, [BOS]) == {PIECES.index(b"\xc3")}
    assert allowed_after(processor, [BOS, PIECES.index(b"\xc3")]) == {PIECES.index(b"\xa9")}


def test_healing_processor_left_plan_passes_scores_through() -> None:
    processor = HealingLogitsProcessor(make_index(), prompt_length=1, required_bytes=b"config")
    # A generator that sampled past the mask (for example a grammar of its own) is not fought.
    assert allowed_after(processor, [BOS, PIECES.index(b"x")]) == set(range(len(PIECES)))


def test_allowed_ids_repeated_prefix_uses_cache() -> None:
    index = make_index()
    first = index.allowed_ids(b"ret")
    second = index.allowed_ids(b"ret")
    assert second is first
    assert index.cached_prefix_count() == 1


def test_allowed_ids_cache_drops_least_recent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alignment, "MASK_CACHE_ENTRIES", 2)
    index = make_index()
    kept = index.allowed_ids(b"r")
    index.allowed_ids(b"re")
    index.allowed_ids(b"r")
    index.allowed_ids(b"ret")
    assert index.cached_prefix_count() == 2
    assert index.allowed_ids(b"r") is kept


def indentation_plan(cursor_line: bytes) -> tuple[list[int], HealingLogitsProcessor]:
    """Plan ":\n    x = foo\n" plus `cursor_line`; return the kept prompt and its processor."""
    index = make_index()
    prompt = [BOS, *ids_of(b":", b"\n    ", b"x", b" =", b" foo", b"\n", cursor_line)]
    plan = plan_healing(prompt, index, max_tokens=1)
    assert plan.required_bytes == b"\n" + cursor_line
    return plan.prompt_ids, HealingLogitsProcessor(index, len(plan.prompt_ids), plan.required_bytes)


def test_healing_processor_used_indentation_is_not_deepened() -> None:
    kept, processor = indentation_plan(b"    ")

    first = allowed_after(processor, kept)
    assert PIECES.index(b"\n    ") in first
    assert PIECES.index(b"\n") in first
    assert PIECES.index(b"\n        ") not in first

    after_prefix = allowed_after(processor, [*kept, PIECES.index(b"\n    ")])
    assert PIECES.index(b"x") in after_prefix
    assert not after_prefix & set(ids_of(b" ", b"    ", b" foo", b" ="))

    free = allowed_after(processor, [*kept, PIECES.index(b"\n    "), PIECES.index(b"x")])
    assert free == set(range(len(PIECES)))


def test_healing_processor_partial_indentation_may_deepen() -> None:
    kept, processor = indentation_plan(b"  ")

    first = allowed_after(processor, kept)
    assert PIECES.index(b"\n    ") in first
    assert PIECES.index(b"\n        ") in first
