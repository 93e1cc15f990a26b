"""The llama.cpp runtime with the real shipped models."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import DefaultModel, ModelSettings
from assistant.errors import ContextOverflow, ModelLoadError
from assistant.model import LlamaGenerator, compute_model_id, load_generator
from assistant.model_files import smollm2_path
from assistant.text_stream import StopFilter

pytestmark = pytest.mark.slow

# Egyptian hieroglyphs are outside Gemma 3's merged pieces, so each one is spelled with
# several byte tokens and its UTF-8 bytes arrive split across generated tokens.
RARE_CHARACTER = "\U00013000"


@pytest.fixture(scope="module")
def gemma() -> Iterator[LlamaGenerator]:
    generator = load_generator(ModelSettings(default=DefaultModel.GEMMA3_270M))
    yield generator
    generator.close()


@pytest.mark.parametrize("text", ["def f(x):\n    return x + 1\n", "naïve café ünïcode", "tab\tand  spaces\n\n"])
def test_tokenize_detokenize_round_trip(gemma: LlamaGenerator, text: str) -> None:
    ids = gemma.tokenize(text)
    assert ids
    assert gemma.detokenize(ids) == text
    assert gemma.count_tokens(text) == len(ids)


def test_tokenize_add_bos_follows_model(gemma: LlamaGenerator) -> None:
    assert gemma.bos_id is not None
    assert gemma.tokenize("x", add_bos=True)[0] == gemma.bos_id
    assert gemma.bos_id not in gemma.tokenize("x")


def test_generate_streams_non_empty_pieces(gemma: LlamaGenerator) -> None:
    pieces = list(gemma.generate("def add(a, b):\n    return", 8, 0.0, []))
    assert pieces
    assert all(pieces)
    assert "".join(pieces).strip()


def test_generate_stop_string_ends_output(gemma: LlamaGenerator) -> None:
    prompt = "numbers = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13"
    unstopped = "".join(gemma.generate(prompt, 24, 0.0, []))
    assert ", 16" in unstopped
    stopped = "".join(gemma.generate(prompt, 24, 0.0, [", 16"]))
    assert unstopped.startswith(stopped)
    assert ", 16" not in stopped
    assert ", 15" in stopped


def test_generate_split_utf8_character_is_whole(gemma: LlamaGenerator) -> None:
    assert len(gemma.tokenize(RARE_CHARACTER)) > 1
    prompt = "glyphs = '" + RARE_CHARACTER * 12
    pieces = list(gemma.generate(prompt, 12, 0.0, ["'"]))
    text = "".join(pieces)
    assert RARE_CHARACTER in text
    assert "\ufffd" not in text


def test_generate_heal_tokens_continues_inside_word(gemma: LlamaGenerator) -> None:
    prompt = "import math\n\n\ndef circle_area(radius):\n    return math.p"
    text = "".join(gemma.generate(prompt, 8, 0.0, ["\n"], heal_tokens=1))
    assert text.startswith("i")
    assert not text.startswith("p")


def test_generate_cancelled_yields_nothing(gemma: LlamaGenerator) -> None:
    assert list(gemma.generate("x = 1\ny =", 8, 0.0, [], is_cancelled=lambda: True)) == []


def test_generate_prompt_over_context_raises(gemma: LlamaGenerator) -> None:
    with pytest.raises(ContextOverflow, match="exceeds the context"):
        gemma.generate([gemma.tokenize("x")[0]] * gemma.n_ctx, 16, 0.0, [])


def test_vocabulary_index_prefix_lookup(gemma: LlamaGenerator) -> None:
    index = gemma.vocabulary_index()
    ids = index.ids_starting_with(b"retur")
    assert len(ids) > 0
    assert all(index.piece(int(token_id)).startswith(b"retur") for token_id in ids)
    assert gemma.tokenize("return")[0] in set(ids.tolist())


def test_model_id_is_stable_and_names_file(gemma: LlamaGenerator) -> None:
    assert gemma.model_id == compute_model_id(gemma.path)
    assert gemma.model_id.startswith("gemma-3-270m-q4_k_m.gguf:")
    assert gemma.fim_format is None
    assert gemma.chat_template is None


def test_load_generator_missing_path_names_path(tmp_path: Path) -> None:
    missing = tmp_path / "absent.gguf"
    with pytest.raises(FileNotFoundError, match="absent.gguf.*model.path"):
        load_generator(ModelSettings(path=str(missing)))


def test_load_generator_invalid_file_raises_model_load_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"this is not a GGUF file" * 100)
    with pytest.raises(ModelLoadError, match="broken.gguf"):
        load_generator(ModelSettings(path=str(broken)))


def test_load_generator_native_log_goes_to_logger(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="assistant.llama_runtime.native")
    generator = load_generator(ModelSettings(path=str(smollm2_path())))
    generator.close()
    assert any("llama" in record.getMessage() for record in caplog.records)
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "llama_model_loader" not in captured.err


def test_smollm2_loads_and_generates() -> None:
    with load_generator(ModelSettings(default=DefaultModel.SMOLLM2_135M)) as smollm2:
        assert smollm2.model_id.startswith("SmolLM2-135M-Instruct.Q4_1.gguf:")
        assert smollm2.chat_template is not None
        assert smollm2.bos_id is None
        assert smollm2.detokenize(smollm2.tokenize("def f():\n    pass")) == "def f():\n    pass"
        assert "".join(smollm2.generate("def add(a, b):\n    return a", 6, 0.0, [], heal_tokens=1)).strip()


def test_stop_filter_holds_back_partial_stop() -> None:
    text_filter = StopFilter(["\n\n"])
    assert text_filter.push("abc\n") == "abc"
    assert text_filter.push("def") == "\ndef"
    assert text_filter.push("\n\nxyz") == ""
    assert text_filter.is_stopped
