"""Find a model's under-trained tokens from its GGUF weights, once per model, and cache them on disk.
The scan can be cancelled, and an interrupted scan resumes from its last saved block.

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
BLOCK_ROWS = 16384
# Rows dequantized between two cancellation checks: 7 ms for Gemma 3 270M (Q8_0) on a shared 2-core x86-64 machine.
CHECK_ROWS = 2048
# Candidates must be at least as close to the unused-token direction as this share of the unused
# tokens themselves are, and at most this share of the normal tokens is flagged.
REFERENCE_QUANTILE = 0.10
MAX_FLAGGED_SHARE = 0.02
MIN_REFERENCE_TOKENS = 8
_TOKEN_TYPE_NORMAL = 1
_TOKEN_TYPE_UNUSED = 5
_UNUSED_NAME = re.compile(r"<unused\d+>|\[unused\d+\]|<\|reserved_special_token_\d+\|>|<extra_id_\d+>")


class ScanCancelled(Exception):
    """The under-trained token scan stopped early because its caller cancelled it."""


@dataclass(frozen=True)
class UndertrainedToken:
    """A normal vocabulary token whose embedding resembles the unused tokens'; higher score is closer."""

    token_id: int
    text: str
    score: float


def find_undertrained(model_path: Path, is_cancelled: Callable[[], bool] | None = None,
                      checkpoint: ScanCheckpoint | None = None,
                      block_rows: int = BLOCK_ROWS) -> list[UndertrainedToken]:
    """Compute the under-trained tokens of a GGUF model.

    For Gemma 3 270M (262k tokens) this took 11 s alone and about 22 s inside the language
    server on a shared 2-core x86-64 machine. Returns an empty list when the vocabulary has no
    known-unused tokens to compare with, because then there is no reference direction. The scan
    resumes from `checkpoint` and saves its progress there after each block of `block_rows` rows,
    so a scan that was cancelled or killed loses at most one block.

    Raises:
        ScanCancelled: `is_cancelled` returned True; it is checked every `CHECK_ROWS` rows.
    """
    started = time.perf_counter()
    # NOTE: GGUFReader parses every metadata field up front: 8 s of the 11 s above, spent on
    # the 262k-entry token arrays. That step cannot be cancelled or resumed, so a session that
    # ends before it completes repeats it next time.
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
    scan = _Scan(embedding, is_cancelled or _never_cancelled, checkpoint, block_rows)
    scores = scan.direction_scores(np.asarray(reference))
    flagged = _select(scores, types, np.asarray(reference))
    logger.info("found %d under-trained tokens of %d in %s in %.1fs", len(flagged), len(tokens),
                model_path.name, time.perf_counter() - started)
    return [UndertrainedToken(int(i), tokens[i].replace("\u2581", " "), float(scores[i])) for i in flagged]


def _never_cancelled() -> bool:
    return False


@dataclass
class ScanProgress:
    """The state of a scan after whole blocks: the row sum of the first pass and the scores of the second."""

    summed_rows: int = 0
    total: npt.NDArray[np.float32] | None = None
    scores: npt.NDArray[np.float32] | None = None

    @property
    def scored_rows(self) -> int:
        """The number of rows whose score is known."""
        return 0 if self.scores is None else len(self.scores)


class ScanCheckpoint:
    """The progress of one model's scan in an `.npz` file, written after every block.

    A file from another model, another cache format or another block size is ignored.
    """

    def __init__(self, path: Path, model_id: str) -> None:
        self.path = path
        self.model_id = model_id

    def load(self, rows: int, dims: int, block_rows: int) -> ScanProgress:
        """Return the saved progress, or an empty one when the file is missing or does not match."""
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                header = (int(stored["format"]), str(stored["model_id"]), int(stored["block_rows"]))
                # An empty array stands for None, which savez cannot store.
                total, scores = stored["total"], stored["scores"]
                progress = ScanProgress(int(stored["summed_rows"]), total if total.size else None,
                                        scores if scores.size else None)
        except FileNotFoundError:
            return ScanProgress()
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("ignoring the unreadable under-trained scan progress %s: %s", self.path, error)
            return ScanProgress()
        if header != (CACHE_FORMAT, self.model_id, block_rows) or not _is_consistent(progress, rows, dims):
            logger.info("ignoring the under-trained scan progress %s, saved for another model or format", self.path)
            return ScanProgress()
        return progress

    def save(self, progress: ScanProgress, block_rows: int) -> None:
        """Replace the file with `progress`; a reader never sees a half-written file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.stem}.{os.getpid()}.npz")
        empty = np.zeros(0, dtype=np.float32)
        np.savez(temporary, format=CACHE_FORMAT, model_id=self.model_id, block_rows=block_rows,
                 summed_rows=progress.summed_rows,
                 total=empty if progress.total is None else progress.total,
                 scores=empty if progress.scores is None else progress.scores)
        os.replace(temporary, self.path)

    def remove(self) -> None:
        """Delete the file once the finished result is cached."""
        self.path.unlink(missing_ok=True)


def _is_consistent(progress: ScanProgress, rows: int, dims: int) -> bool:
    """Tell whether saved progress fits a model with `rows` x `dims` embeddings."""
    total_shape = None if progress.total is None else progress.total.shape
    if progress.summed_rows == 0:
        is_sum_valid = total_shape is None
    else:
        is_sum_valid = progress.summed_rows <= rows and total_shape == (dims,)
    is_scores_valid = progress.scored_rows == 0 or (progress.summed_rows == rows and progress.scored_rows <= rows)
    return is_sum_valid and is_scores_valid


class _Scan:
    """Cosine of each centred embedding with the centred mean of the reference embeddings.

    Both passes over the rows go in blocks of `block_rows`, and the block boundaries stay the
    same when a scan resumes, so a resumed scan sums in the same order and gives the same scores.
    """

    def __init__(self, embedding: gguf.ReaderTensor, is_cancelled: Callable[[], bool],
                 checkpoint: ScanCheckpoint | None, block_rows: int) -> None:
        self.embedding = embedding
        self.is_cancelled = is_cancelled
        self.checkpoint = checkpoint
        self.block_rows = block_rows
        self.rows, self.dims = embedding.data.shape[0], int(embedding.shape[0])
        self.progress = checkpoint.load(self.rows, self.dims, block_rows) if checkpoint else ScanProgress()
        if self.progress.summed_rows or self.progress.scored_rows:
            logger.info("resuming the under-trained token scan at row %d of the sum and row %d of the scores, of %d",
                        self.progress.summed_rows, self.progress.scored_rows, self.rows)

    def direction_scores(self, reference: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        progress = self.progress
        for start in range(progress.summed_rows, self.rows, self.block_rows):
            block = self._rows(start, start + self.block_rows)
            progress.total = block.sum(axis=0) if progress.total is None else progress.total + block.sum(axis=0)
            progress.summed_rows = start + len(block)
            self._save()
        assert progress.total is not None
        mean = progress.total / self.rows
        direction = np.stack([self._rows(int(i), int(i) + 1)[0] for i in reference]).mean(axis=0) - mean
        direction /= np.linalg.norm(direction) or 1.0

        scores = np.empty(self.rows, dtype=np.float32)
        done = progress.scored_rows
        if progress.scores is not None:
            scores[:done] = progress.scores
        for start in range(done, self.rows, self.block_rows):
            centred = self._rows(start, start + self.block_rows) - mean
            norms = np.linalg.norm(centred, axis=1)
            scores[start:start + len(centred)] = (centred @ direction) / np.maximum(norms, 1e-9)
            progress.scores = scores[:start + len(centred)]
            self._save()
        return scores

    def _rows(self, start: int, end: int) -> npt.NDArray[np.float32]:
        """Dequantize rows [start, end) in parts of `CHECK_ROWS`, checking for cancellation before each part."""
        parts = []
        for part_start in range(start, min(end, self.rows), CHECK_ROWS):
            if self.is_cancelled():
                raise ScanCancelled(f"under-trained token scan cancelled at row {part_start} of {self.rows}")
            parts.append(_dequantize(self.embedding, part_start, min(end, part_start + CHECK_ROWS)))
        return np.concatenate(parts)

    def _save(self) -> None:
        if self.checkpoint is None:
            return
        self.checkpoint.save(self.progress, self.block_rows)
        logger.debug("saved the under-trained token scan progress to %s: %d rows summed, %d rows scored of %d",
                     self.checkpoint.path, self.progress.summed_rows, self.progress.scored_rows, self.rows)


def _dequantize(embedding: gguf.ReaderTensor, start: int, end: int) -> npt.NDArray[np.float32]:
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


def load_undertrained(model_path: Path, model_id: str, cache_dir: Path,
                      is_cancelled: Callable[[], bool] | None = None) -> dict[int, str]:
    """Return {token id: token text} of under-trained tokens, computing and caching them on first use.

    The cache file is keyed by `model_id` (name, size and a hash of the file's start) and the cache
    format, so a different model or a changed method computes again. The progress of an unfinished
    scan is kept beside it, and the next call resumes from there.

    Raises:
        ScanCancelled: `is_cancelled` returned True before the scan finished.
    """
    digest = hashlib.sha256(f"{model_id}:{CACHE_FORMAT}".encode()).hexdigest()[:16]
    path = cache_dir / f"undertrained-{digest}.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("format") == CACHE_FORMAT and stored.get("model_id") == model_id:
            return {int(item[0]): str(item[1]) for item in stored["tokens"]}
    except (OSError, ValueError, KeyError, TypeError):
        logger.debug("no usable under-trained token cache at %s", path)
    checkpoint = ScanCheckpoint(cache_dir / f"undertrained-{digest}.partial.npz", model_id)
    found = find_undertrained(model_path, is_cancelled, checkpoint)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    payload = {"format": CACHE_FORMAT, "model_id": model_id,
               "tokens": [[item.token_id, item.text, round(item.score, 4)] for item in found]}
    temporary.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(temporary, path)
    checkpoint.remove()
    return {item.token_id: item.text for item in found}
