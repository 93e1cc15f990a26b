"""Find a model's under-trained tokens from its GGUF weights, once per model, and cache them on disk.

The method follows "Fishing for Magikarp" (Land and Bartolo, 2024): tokens whose input embedding
points the same way as the embeddings of tokens that are never used in training were barely
trained themselves. Unlike the paper, candidates are not confirmed by prompting the model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
BLOCK_ROWS = 16384
# Candidates must be at least as close to the unused-token direction as this share of the unused
# tokens themselves are, and at most this share of the normal tokens is flagged.
REFERENCE_QUANTILE = 0.10
MAX_FLAGGED_SHARE = 0.02
MIN_REFERENCE_TOKENS = 8
_TOKEN_TYPE_NORMAL = 1
_TOKEN_TYPE_UNUSED = 5
_UNUSED_NAME = re.compile(r"<unused\d+>|\[unused\d+\]|<\|reserved_special_token_\d+\|>|<extra_id_\d+>")


@dataclass(frozen=True)
class UndertrainedToken:
    """A normal vocabulary token whose embedding resembles the unused tokens'; higher score is closer."""

    token_id: int
    text: str
    score: float


def find_undertrained(model_path: Path) -> list[UndertrainedToken]:
    """Compute the under-trained tokens of a GGUF model (about 25 s for a 262k-token vocabulary).

    Returns an empty list when the vocabulary has no known-unused tokens to compare with,
    because then there is no reference direction.
    """
    started = time.perf_counter()
    reader = gguf.GGUFReader(str(model_path))
    tokens = _string_array(reader, "tokenizer.ggml.tokens")
    types = np.asarray(_int_array(reader, "tokenizer.ggml.token_type"), dtype=np.int32)
    embedding = next((tensor for tensor in reader.tensors if tensor.name == "token_embd.weight"), None)
    if embedding is None:
        raise ValueError(f"{model_path} has no token_embd.weight tensor; pass a GGUF language model")

    reference = [i for i, text in enumerate(tokens) if types[i] == _TOKEN_TYPE_UNUSED or _UNUSED_NAME.fullmatch(text)]
    if len(reference) < MIN_REFERENCE_TOKENS:
        logger.warning("%s has %d known-unused tokens, fewer than %d; skipping the under-trained token check",
                       model_path.name, len(reference), MIN_REFERENCE_TOKENS)
        return []
    scores = _direction_scores(embedding, np.asarray(reference))
    flagged = _select(scores, types, np.asarray(reference))
    logger.info("found %d under-trained tokens of %d in %s in %.1fs", len(flagged), len(tokens),
                model_path.name, time.perf_counter() - started)
    return [UndertrainedToken(int(i), tokens[i].replace("\u2581", " "), float(scores[i])) for i in flagged]


def _direction_scores(embedding: gguf.ReaderTensor, reference: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """Cosine of each centred embedding with the centred mean of the reference embeddings, in row blocks."""
    rows = embedding.data.shape[0]
    total = None
    for start in range(0, rows, BLOCK_ROWS):
        block = _rows(embedding, start, start + BLOCK_ROWS)
        total = block.sum(axis=0) if total is None else total + block.sum(axis=0)
    assert total is not None
    mean = total / rows
    direction = np.stack([_rows(embedding, int(i), int(i) + 1)[0] for i in reference]).mean(axis=0) - mean
    direction /= np.linalg.norm(direction) or 1.0
    scores = np.empty(rows, dtype=np.float32)
    for start in range(0, rows, BLOCK_ROWS):
        centred = _rows(embedding, start, start + BLOCK_ROWS) - mean
        norms = np.linalg.norm(centred, axis=1)
        scores[start:start + len(centred)] = (centred @ direction) / np.maximum(norms, 1e-9)
    return scores


def _rows(embedding: gguf.ReaderTensor, start: int, end: int) -> npt.NDArray[np.float32]:
    data = embedding.data[start:end]
    if embedding.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
        return np.asarray(data, dtype=np.float32)
    return np.asarray(gguf.quants.dequantize(data, embedding.tensor_type), dtype=np.float32)


def _select(scores: npt.NDArray[np.float32], types: npt.NDArray[np.int32],
            reference: npt.NDArray[np.int64]) -> list[int]:
    threshold = float(np.quantile(scores[reference], REFERENCE_QUANTILE))
    normal = np.flatnonzero(types == _TOKEN_TYPE_NORMAL)
    candidates = normal[scores[normal] >= threshold]
    limit = int(len(normal) * MAX_FLAGGED_SHARE)
    ordered = candidates[np.argsort(-scores[candidates], kind="stable")]
    return [int(i) for i in ordered[:limit]]


def _string_array(reader: gguf.GGUFReader, key: str) -> list[str]:
    field = reader.fields[key]
    return [bytes(field.parts[index]).decode("utf-8", errors="replace") for index in field.data]


def _int_array(reader: gguf.GGUFReader, key: str) -> list[int]:
    field = reader.fields[key]
    return [int(field.parts[index][0]) for index in field.data]


def load_undertrained(model_path: Path, model_id: str, cache_dir: Path) -> dict[int, str]:
    """Return {token id: token text} of under-trained tokens, computing and caching them on first use.

    The cache file is keyed by `model_id` (name, size and a hash of the file's start) and the cache
    format, so a different model or a changed method computes again.
    """
    digest = hashlib.sha256(f"{model_id}:{CACHE_FORMAT}".encode()).hexdigest()[:16]
    path = cache_dir / f"undertrained-{digest}.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("format") == CACHE_FORMAT and stored.get("model_id") == model_id:
            return {int(item[0]): str(item[1]) for item in stored["tokens"]}
    except (OSError, ValueError, KeyError, TypeError):
        logger.debug("no usable under-trained token cache at %s", path)
    found = find_undertrained(model_path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    payload = {"format": CACHE_FORMAT, "model_id": model_id,
               "tokens": [[item.token_id, item.text, round(item.score, 4)] for item in found]}
    temporary.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(temporary, path)
    return {item.token_id: item.text for item in found}
