"""Token rules: prompt length against the context and a budget, under-trained tokens from GGUF
weights, and the hover view. One test uses the real shipped model's tokenizer."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import gguf
import numpy as np
import pytest

from assistant.config import ModelSettings
from assistant.model import load_generator
from assistant.promptlint import (
    LintOptions,
    Severity,
    TokenLimits,
    lint_text,
    token_view,
)
from assistant.promptlint.undertrained import (
    ScanCancelled,
    ScanCheckpoint,
    find_undertrained,
    load_undertrained,
)
from tests.assistant.promptlint.labelled import WordTokenizer

LONG_PROMPT = "SYSTEM_PROMPT = '" + ("alpha beta " * 30).strip() + "'\n"


def _codes(text: str, options: LintOptions) -> list[tuple[str, Severity]]:
    return [(item.finding.code, item.finding.severity) for item in lint_text("p.py", text, options)]


def test_length_over_context_is_error() -> None:
    options = LintOptions(limits=TokenLimits(n_ctx=50), tokenizer=WordTokenizer())
    assert _codes(LONG_PROMPT, options) == [("RCP007", Severity.ERROR)]


def test_length_over_budget_is_warning() -> None:
    options = LintOptions(limits=TokenLimits(n_ctx=1000, budget_tokens=50), tokenizer=WordTokenizer())
    assert _codes(LONG_PROMPT, options) == [("RCP007", Severity.WARNING)]


def test_length_within_limits_no_finding() -> None:
    options = LintOptions(limits=TokenLimits(n_ctx=1000, budget_tokens=500), tokenizer=WordTokenizer())
    assert _codes(LONG_PROMPT, options) == []


def test_length_without_tokenizer_skipped() -> None:
    assert _codes(LONG_PROMPT, LintOptions(limits=TokenLimits(n_ctx=10))) == []


def test_token_view_lists_last_line_pieces() -> None:
    view = token_view("Complete the code:\ndef add(a, b): ", WordTokenizer())
    assert view.token_count == 18
    assert view.last_line == "def add(a, b): "
    assert view.last_line_pieces == ("def", " ", "add", "(", "a", ",", " ", "b", ")", ":", " ")


def _write_gguf(path: Path, planted: list[int], rng: np.random.Generator) -> list[str]:
    """Write a GGUF with 40 unused tokens pointing one way, 400 random tokens and `planted` ones pointing the same way."""
    dims = 32
    unused_direction = rng.normal(size=dims) * 3
    tokens = [f"<unused{i}>" for i in range(40)] + [f"word{i}" for i in range(400)]
    types = [gguf.TokenType.CONTROL] * 40 + [gguf.TokenType.NORMAL] * 400
    embedding = rng.normal(size=(len(tokens), dims)).astype(np.float32)
    embedding[:40] = unused_direction + rng.normal(scale=0.1, size=(40, dims))
    for index in planted:
        embedding[index] = unused_direction + rng.normal(scale=0.1, size=dims)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_tensor("token_embd.weight", embedding)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return tokens


def test_undertrained_finds_planted_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    tokens = _write_gguf(path, planted=[100, 250], rng=np.random.default_rng(7))
    found = find_undertrained(path)
    assert sorted(item.token_id for item in found) == [100, 250]
    assert {item.text for item in found} == {tokens[100], tokens[250]}


def test_undertrained_without_unused_tokens_empty(tmp_path: Path) -> None:
    path = tmp_path / "plain.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_token_list([f"w{i}" for i in range(20)])
    writer.add_token_types([gguf.TokenType.NORMAL] * 20)
    writer.add_tensor("token_embd.weight", np.random.default_rng(1).normal(size=(20, 8)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert find_undertrained(path) == []


def test_undertrained_cache_reused(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    _write_gguf(path, planted=[120], rng=np.random.default_rng(3))
    first = load_undertrained(path, "tiny:1", tmp_path / "cache")
    path.unlink()
    second = load_undertrained(path, "tiny:1", tmp_path / "cache")
    assert first == second == {120: "word80"}


# The tiny model of _write_gguf has 440 rows of 32 dimensions, so blocks of 64 rows make 7 blocks
# per pass, and a scan checks for cancellation once per block and once per reference row (40).
TINY_ROWS, TINY_DIMS, TINY_BLOCK_ROWS = 440, 32, 64


def _cancel_after(checks: int) -> Callable[[], bool]:
    counter = itertools.count()
    return lambda: next(counter) >= checks


def _counting() -> tuple[Callable[[], bool], list[int]]:
    calls = [0]

    def is_cancelled() -> bool:
        calls[0] += 1
        return False

    return is_cancelled, calls


def test_undertrained_cancelled_in_sum_resumes(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    _write_gguf(path, planted=[100, 250], rng=np.random.default_rng(7))
    expected = find_undertrained(path, block_rows=TINY_BLOCK_ROWS)
    checkpoint = ScanCheckpoint(tmp_path / "scan.partial.npz", "tiny:1")

    with pytest.raises(ScanCancelled):
        find_undertrained(path, _cancel_after(3), checkpoint, TINY_BLOCK_ROWS)
    progress = checkpoint.load(TINY_ROWS, TINY_DIMS, TINY_BLOCK_ROWS)
    assert progress.summed_rows == 3 * TINY_BLOCK_ROWS
    assert progress.scored_rows == 0

    is_cancelled, calls = _counting()
    assert find_undertrained(path, is_cancelled, checkpoint, TINY_BLOCK_ROWS) == expected
    assert calls[0] == 4 + 40 + 7


def test_undertrained_cancelled_in_scores_resumes(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    _write_gguf(path, planted=[100, 250], rng=np.random.default_rng(7))
    expected = find_undertrained(path, block_rows=TINY_BLOCK_ROWS)
    checkpoint = ScanCheckpoint(tmp_path / "scan.partial.npz", "tiny:1")

    with pytest.raises(ScanCancelled):
        find_undertrained(path, _cancel_after(7 + 40 + 2), checkpoint, TINY_BLOCK_ROWS)
    progress = checkpoint.load(TINY_ROWS, TINY_DIMS, TINY_BLOCK_ROWS)
    assert progress.summed_rows == TINY_ROWS
    assert progress.scored_rows == 2 * TINY_BLOCK_ROWS

    is_cancelled, calls = _counting()
    assert find_undertrained(path, is_cancelled, checkpoint, TINY_BLOCK_ROWS) == expected
    assert calls[0] == 40 + 5


def test_undertrained_checkpoint_other_model_ignored(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    _write_gguf(path, planted=[100], rng=np.random.default_rng(7))
    with pytest.raises(ScanCancelled):
        find_undertrained(path, _cancel_after(3), ScanCheckpoint(tmp_path / "scan.partial.npz", "tiny:1"),
                          TINY_BLOCK_ROWS)

    other_model = ScanCheckpoint(tmp_path / "scan.partial.npz", "tiny:2")
    assert other_model.load(TINY_ROWS, TINY_DIMS, TINY_BLOCK_ROWS).summed_rows == 0
    same_model = ScanCheckpoint(tmp_path / "scan.partial.npz", "tiny:1")
    assert same_model.load(TINY_ROWS, TINY_DIMS, 2 * TINY_BLOCK_ROWS).summed_rows == 0
    assert same_model.load(TINY_ROWS, TINY_DIMS, TINY_BLOCK_ROWS).summed_rows == 3 * TINY_BLOCK_ROWS
    assert same_model.load(TINY_ROWS, TINY_DIMS + 1, TINY_BLOCK_ROWS).summed_rows == 0


def test_undertrained_cancelled_load_then_cached(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    _write_gguf(path, planted=[120], rng=np.random.default_rng(3))
    cache = tmp_path / "cache"
    with pytest.raises(ScanCancelled):
        load_undertrained(path, "tiny:1", cache, _cancel_after(0))
    assert list(cache.glob("undertrained-*.json")) == []

    assert load_undertrained(path, "tiny:1", cache) == {120: "word80"}
    assert len(list(cache.glob("undertrained-*.json"))) == 1
    assert list(cache.glob("*.npz")) == []


@pytest.mark.slow
def test_real_tokenizer_counts_and_hover() -> None:
    with load_generator(ModelSettings(n_threads=1)) as generator:
        text = "Complete the code:\ndef add(a, b):\n    return "
        view = token_view(text, generator)
        assert view.token_count == generator.count_tokens(text)
        assert "".join(view.last_line_pieces).endswith("return ")
        options = LintOptions(limits=TokenLimits(n_ctx=generator.n_ctx, budget_tokens=20), tokenizer=generator)
        sentences = ("Answer in short sentences. " * 10).strip()
        long_text = f"SYSTEM_PROMPT = '{sentences}'\n"
        findings = lint_text("p.py", long_text, options)
        assert [(item.finding.code, item.finding.severity) for item in findings] == [("RCP007", Severity.WARNING)]
        assert str(generator.count_tokens(sentences)) in findings[0].finding.message
