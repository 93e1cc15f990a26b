"""Convert a Hugging Face BERT checkpoint (safetensors + tokenizer.json) into a GGUF file.

llama.cpp runs the result as an embedding model. Only numpy, safetensors and gguf are needed,
so the conversion runs on the user's machine at first use, without torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import numpy.typing as npt
from safetensors import safe_open

logger = logging.getLogger(__name__)

CONVERTER_VERSION = 1
"""Bump when the written file changes, so cached conversions are rebuilt."""

CACHE_DIR_ENV = "RAGCODER_CACHE_DIR"

WEIGHTS_FILE = "model.safetensors"

# HF checkpoint entries that llama.cpp's BERT graph does not use: a constant index buffer and
# the pooler head, which sentence-transformers' mean pooling never calls.
_SKIPPED_TENSORS = ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias")

# The position and token-type tables are small (0.8 MB together), so they keep full precision.
_F32_MATRICES = ("position_embd.weight", "token_types.weight")


@dataclass(frozen=True)
class CachedConversion:
    """A converted GGUF file in the cache and where it came from."""

    path: Path
    weights_sha256: str
    conversion_s: float
    """Seconds spent converting in this call; 0.0 when the cached file was reused."""


@dataclass(frozen=True)
class BertConfig:
    """The hyperparameters of a BERT encoder, read from `config.json`."""

    n_layers: int
    hidden_size: int
    intermediate_size: int
    n_heads: int
    max_positions: int
    n_token_types: int
    layer_norm_eps: float


def default_cache_dir() -> Path:
    """Return where converted models are cached: $RAGCODER_CACHE_DIR, else $XDG_CACHE_HOME/ragcoder.

    Without either variable it is ~/.cache/ragcoder. The XDG spec says to ignore a relative path.
    """
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    xdg_cache = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg_cache) if os.path.isabs(xdg_cache) else Path.home() / ".cache"
    return base / "ragcoder"


def file_sha256(path: Path) -> str:
    """Hash a file in 1 MiB blocks; the 91 MB MiniLM weights took about 60 ms on a 2-core x86-64 machine."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def cached_conversion(model_dir: Path, cache_dir: Path, name: str, rebuild: bool = False) -> CachedConversion:
    """Return the GGUF conversion of `model_dir` from `cache_dir`, converting it first if needed.

    The file name contains the SHA-256 of the weights and `CONVERTER_VERSION`, so new weights or a
    new converter get a new file. `rebuild` replaces a cached file that failed to load. Older
    conversions of the same `name` are deleted after a new one is written.
    """
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} is missing, so {weights.parent} is not a complete checkpoint")
    weights_sha256 = file_sha256(weights)
    path = cache_dir / f"{name}-{weights_sha256[:16]}-v{CONVERTER_VERSION}-f16.gguf"
    if path.is_file() and not rebuild:
        return CachedConversion(path=path, weights_sha256=weights_sha256, conversion_s=0.0)

    started = time.perf_counter()
    convert_bert_checkpoint(model_dir, path)
    conversion_s = time.perf_counter() - started
    logger.info("converted %s to %s in %.1fs (done once per model version)", weights, path, conversion_s)

    for stale in cache_dir.glob(f"{name}-*-f16.gguf"):
        if stale != path:
            logger.info("deleting outdated conversion %s", stale)
            stale.unlink(missing_ok=True)
    return CachedConversion(path=path, weights_sha256=weights_sha256, conversion_s=conversion_s)


def convert_bert_checkpoint(model_dir: Path, output: Path) -> None:
    """Write `model_dir` (an HF BERT checkpoint) to `output` as a GGUF file with f16 weights.

    The file appears at `output` only when it is complete: it is written to a temporary file in
    the same directory, flushed to disk and then renamed over `output`.

    Raises:
        FileNotFoundError: a file of the checkpoint is missing.
        ValueError: the checkpoint is not a BERT encoder with a WordPiece tokenizer and mean or
            CLS pooling, which is all this converter supports.
    """
    config = _read_config(model_dir)
    pooling = _read_pooling(model_dir)
    output.parent.mkdir(parents=True, exist_ok=True)

    handle, temp_name = tempfile.mkstemp(prefix=output.name + ".", suffix=".tmp", dir=output.parent)
    os.close(handle)
    temp_path = Path(temp_name)
    try:
        writer = gguf.GGUFWriter(path=None, arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.BERT])
        writer.add_name(model_dir.name)
        _add_hyperparameters(writer, config, pooling)
        _add_vocab(writer, model_dir, config)
        _add_tensors(writer, model_dir / WEIGHTS_FILE, config)
        writer.write_header_to_file(path=temp_path)
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        with temp_path.open("rb+") as written:
            os.fsync(written.fileno())
        os.replace(temp_path, output)
    finally:
        temp_path.unlink(missing_ok=True)
    logger.debug("wrote %s (%d bytes)", output, output.stat().st_size)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing, so {path.parent} is not a complete checkpoint")
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def _read_config(model_dir: Path) -> BertConfig:
    raw = _read_json(model_dir / "config.json")
    expected = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
    for key, value in expected.items():
        if raw.get(key, value) != value:
            raise ValueError(
                f"{model_dir / 'config.json'} has {key}={raw.get(key)!r}; "
                f"this converter supports only {key}={value!r} (a plain BERT encoder)"
            )
    return BertConfig(
        n_layers=int(raw["num_hidden_layers"]),
        hidden_size=int(raw["hidden_size"]),
        intermediate_size=int(raw["intermediate_size"]),
        n_heads=int(raw["num_attention_heads"]),
        max_positions=int(raw["max_position_embeddings"]),
        n_token_types=int(raw.get("type_vocab_size", 2)),
        layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
    )


def _read_pooling(model_dir: Path) -> gguf.PoolingType:
    path = model_dir / "1_Pooling" / "config.json"
    raw = _read_json(path)
    if raw.get("pooling_mode_mean_tokens"):
        return gguf.PoolingType.MEAN
    if raw.get("pooling_mode_cls_token"):
        return gguf.PoolingType.CLS
    raise ValueError(f"{path} selects neither mean nor CLS pooling; llama.cpp supports only those two")


def _add_hyperparameters(writer: gguf.GGUFWriter, config: BertConfig, pooling: gguf.PoolingType) -> None:
    writer.add_context_length(config.max_positions)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_block_count(config.n_layers)
    writer.add_head_count(config.n_heads)
    writer.add_layer_norm_eps(config.layer_norm_eps)
    writer.add_causal_attention(False)
    writer.add_pooling_type(pooling)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)


def _add_vocab(writer: gguf.GGUFWriter, model_dir: Path, config: BertConfig) -> None:
    """Write the WordPiece vocabulary in the spelling llama.cpp's "bert" tokenizer expects.

    llama.cpp marks a word start with U+2581 instead of marking a continuation with "##", so
    every piece is rewritten: "##ing" becomes "ing" and "def" becomes "\u2581def". Special
    tokens such as [CLS] keep their text and are typed CONTROL.
    """
    path = model_dir / "tokenizer.json"
    tokenizer = _read_json(path)
    model = tokenizer.get("model", {})
    if model.get("type") != "WordPiece" or model.get("continuing_subword_prefix", "##") != "##":
        raise ValueError(f"{path} does not describe a WordPiece tokenizer with '##' continuations")
    normalizer = tokenizer.get("normalizer") or {}
    if not normalizer.get("lowercase", False):
        # llama.cpp's WordPiece tokenizer (in llama-cpp-python 0.3.36) lowercases every input, so
        # a cased vocabulary would silently lose all of its upper-case pieces.
        raise ValueError(f"{path} describes a cased tokenizer; llama.cpp supports only uncased BERT")

    vocab: dict[str, int] = model["vocab"]
    pieces = sorted(vocab, key=vocab.__getitem__)
    if [vocab[piece] for piece in pieces] != list(range(len(pieces))):
        raise ValueError(f"{path} has token ids with gaps; expected ids 0..{len(pieces) - 1}")
    special = {entry["content"] for entry in tokenizer.get("added_tokens", []) if entry.get("special")}

    tokens: list[str] = []
    token_types: list[int] = []
    for piece in pieces:
        if piece in special:
            tokens.append(piece)
            token_types.append(gguf.TokenType.CONTROL)
        elif piece.startswith("##"):
            tokens.append(piece[2:])
            token_types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append("\u2581" + piece)
            token_types.append(gguf.TokenType.NORMAL)

    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(token_types)
    writer.add_token_type_count(config.n_token_types)
    _add_special_tokens(writer, model_dir, vocab)


def _add_special_tokens(writer: gguf.GGUFWriter, model_dir: Path, vocab: dict[str, int]) -> None:
    names = _read_json(model_dir / "tokenizer_config.json")
    ids = {role: vocab[names[f"{role}_token"]] for role in ("cls", "sep", "unk", "pad", "mask")}
    # llama.cpp puts the BOS token first when it adds special tokens; for BERT that is [CLS].
    writer.add_bos_token_id(ids["cls"])
    writer.add_sep_token_id(ids["sep"])
    writer.add_unk_token_id(ids["unk"])
    writer.add_pad_token_id(ids["pad"])
    writer.add_mask_token_id(ids["mask"])
    writer.add_add_bos_token(True)
    writer.add_add_sep_token(True)
    writer.add_add_eos_token(False)


def _add_tensors(writer: gguf.GGUFWriter, weights: Path, config: BertConfig) -> None:
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} is missing, so {weights.parent} is not a complete checkpoint")
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, config.n_layers)
    with safe_open(str(weights), framework="np") as checkpoint:
        for hf_name in checkpoint.keys():
            name = hf_name.removeprefix("bert.")
            if name in _SKIPPED_TENSORS:
                continue
            gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
            if gguf_name is None:
                raise ValueError(f"{weights} has tensor {hf_name!r}, which is not part of a BERT encoder")
            data = _to_storage_type(gguf_name, checkpoint.get_tensor(hf_name))
            writer.add_tensor(gguf_name, data)


def _to_storage_type(gguf_name: str, data: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Store weight matrices as f16 and biases, norms and lookup tables as f32."""
    if data.ndim >= 2 and gguf_name not in _F32_MATRICES:
        return data.astype(np.float16)
    return data.astype(np.float32)
