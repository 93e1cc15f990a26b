"""Nearest-neighbour search over chunk vectors: the FAISS adapter and a numpy reference.

This is the only module that imports faiss. Scores are inner products, higher is better.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any, Protocol

import faiss
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

FILE_MAGIC = b"RAGCODER-FAISS\n"
FILE_FORMAT_VERSION = 1
QUERY_THREADS = 1
"""OpenMP threads for FAISS. With another busy process on a two-core machine, two threads made
flat search about 6x slower than one (faiss-cpu 1.15.1, 100k x 384 vectors)."""


class VectorIndex(Protocol):
    """Exact or approximate inner-product search over vectors keyed by chunk id."""

    dimension: int

    def add(self, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        """Add one vector per id; an id already present has its vector replaced."""

    def remove(self, ids: npt.NDArray[np.int64]) -> None:
        """Remove the vectors of these ids; unknown ids are ignored."""

    def search(self, query: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """Return up to `k` (id, inner product) pairs for a query of shape (dimension,), best first."""

    def __len__(self) -> int:
        """Return the number of stored vectors."""


class FaissIndex:
    """A VectorIndex backed by FAISS `IndexIDMap2(IndexFlatIP)`: exact search, updatable by id.

    The CPU index stays the source of truth. When FAISS reports a CUDA GPU, searches run on a
    GPU copy that is rebuilt after each change, because GPU flat indexes cannot remove ids.
    """

    def __init__(self, dimension: int, index: Any | None = None) -> None:
        if dimension <= 0:
            raise ValueError(f"vector dimension must be positive, got {dimension}")
        faiss.omp_set_num_threads(QUERY_THREADS)
        self.dimension = dimension
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        self._ids: set[int] = set(int(i) for i in faiss.vector_to_array(self._index.id_map))
        self._gpu_index: Any | None = None
        self._use_gpu = faiss.get_num_gpus() > 0
        if self._use_gpu:
            logger.info("FAISS reports %d GPUs; searches will run on them", faiss.get_num_gpus())

    @classmethod
    def from_vectors(cls, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> FaissIndex:
        """Build an index from a matrix with one row per id."""
        matrix = np.asarray(vectors)
        if matrix.ndim != 2 or matrix.shape[1] == 0:
            raise ValueError(f"vectors must be a matrix with at least one column, got shape {matrix.shape}")
        index = cls(matrix.shape[1])
        index.add(ids, matrix)
        return index

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        """Add one vector per id; an id already present has its vector replaced."""
        id_array, matrix = _check_batch(ids, vectors, self.dimension)
        if len(id_array) == 0:
            return
        present = [int(i) for i in id_array if int(i) in self._ids]
        if present:
            self.remove(np.asarray(present, dtype=np.int64))
        self._index.add_with_ids(matrix, id_array)
        self._ids.update(int(i) for i in id_array)
        self._gpu_index = None

    def remove(self, ids: npt.NDArray[np.int64]) -> None:
        """Remove the vectors of these ids; unknown ids are ignored."""
        id_array = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        if len(id_array) == 0:
            return
        self._index.remove_ids(id_array)
        self._ids.difference_update(int(i) for i in id_array)
        self._gpu_index = None

    def search(self, query: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """Return up to `k` (id, inner product) pairs for a query of shape (dimension,), best first."""
        vector = _check_query(query, self.dimension)
        k = min(k, len(self))
        if k <= 0:
            return []
        scores, ids = self._search_index().search(vector.reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _search_index(self) -> Any:
        # NOTE: the GPU branch has not run yet, because the development machine has no GPU.
        if not self._use_gpu:
            return self._index
        if self._gpu_index is None:
            try:
                self._gpu_index = faiss.index_cpu_to_all_gpus(self._index)
            except RuntimeError as error:
                logger.warning("failed to move the vector index to the GPU (%s); searching on the CPU", error)
                self._use_gpu = False
                return self._index
        return self._gpu_index

    def save(self, path: Path, generation: int) -> None:
        """Write the index and the store generation it was built from into one file, atomically.

        A header contains the generation and a CRC-32 of the FAISS data, so `load` can tell a
        stale or damaged file from a good one. The temporary file replaces `path` only once
        complete, so readers see either the old file or the new one.
        """
        payload = faiss.serialize_index(self._index).tobytes()
        header = {
            "format": FILE_FORMAT_VERSION, "generation": generation, "dimension": self.dimension,
            "count": len(self), "payload_bytes": len(payload), "crc32": zlib.crc32(payload),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name + ".", suffix=".tmp", delete=False)
        try:
            with handle:
                handle.write(FILE_MAGIC + json.dumps(header).encode("utf-8") + b"\n")
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, path)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
        logger.debug("saved %d vectors of generation %d to %s", len(self), generation, path)

    @classmethod
    def load(cls, path: Path, expected_generation: int) -> FaissIndex | None:
        """Read an index written by `save`, or return None when it is missing, stale or unreadable."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            logger.debug("no vector index at %s", path)
            return None
        except OSError as error:
            logger.warning("failed to read vector index %s (%s); it will be rebuilt", path, error)
            return None

        try:
            header, payload = _parse_file(data)
        except ValueError as error:
            logger.warning("vector index %s is unreadable (%s); it will be rebuilt", path, error)
            return None
        if header["generation"] != expected_generation:
            logger.info(
                "vector index %s is from generation %s, the store is at %d; it will be rebuilt",
                path, header["generation"], expected_generation,
            )
            return None

        try:
            index = faiss.deserialize_index(np.frombuffer(payload, dtype=np.uint8))
        except RuntimeError as error:
            logger.warning("FAISS failed to read vector index %s (%s); it will be rebuilt", path, error)
            return None
        # deserialize_index already returns the concrete class. Do not call downcast_index on it:
        # dropping the owning wrapper frees the C++ object under the downcast one (faiss-cpu 1.15.1).
        if not isinstance(index, faiss.IndexIDMap2) or index.d != header["dimension"]:
            logger.warning(
                "vector index %s contains a %s of dimension %d, expected IndexIDMap2 of dimension %s; it will be rebuilt",
                path, type(index).__name__, index.d, header["dimension"],
            )
            return None
        return cls(int(index.d), index)


class NumpyIndex:
    """A brute-force VectorIndex in numpy, the reference that tests compare FAISS against."""

    def __init__(self, dimension: int) -> None:
        if dimension <= 0:
            raise ValueError(f"vector dimension must be positive, got {dimension}")
        self.dimension = dimension
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, dimension), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        """Add one vector per id; an id already present has its vector replaced."""
        id_array, matrix = _check_batch(ids, vectors, self.dimension)
        self.remove(id_array)
        self._ids = np.concatenate([self._ids, id_array])
        self._matrix = np.vstack([self._matrix, matrix])

    def remove(self, ids: npt.NDArray[np.int64]) -> None:
        """Remove the vectors of these ids; unknown ids are ignored."""
        keep = ~np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._ids = self._ids[keep]
        self._matrix = self._matrix[keep]

    def search(self, query: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """Return up to `k` (id, inner product) pairs for a query of shape (dimension,), best first."""
        vector = _check_query(query, self.dimension)
        k = min(k, len(self))
        if k <= 0:
            return []
        scores = self._matrix @ vector
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(self._ids[i]), float(scores[i])) for i in order]


def _check_batch(
    ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32], dimension: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    id_array = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(id_array) == 0 and matrix.size == 0:
        return id_array, matrix.reshape(0, dimension)
    if matrix.ndim != 2 or matrix.shape != (len(id_array), dimension):
        raise ValueError(
            f"vectors have shape {matrix.shape}; expected ({len(id_array)}, {dimension}), one row per id"
        )
    if len(np.unique(id_array)) != len(id_array):
        raise ValueError("ids passed to add() contain duplicates; pass each id once")
    return id_array, matrix


def _check_query(query: npt.NDArray[np.float32], dimension: int) -> npt.NDArray[np.float32]:
    vector = np.ascontiguousarray(query, dtype=np.float32)
    if vector.shape != (dimension,):
        raise ValueError(f"query has shape {vector.shape}; expected ({dimension},)")
    return vector


def _parse_file(data: bytes) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(FILE_MAGIC):
        raise ValueError("missing ragcoder header")
    header_end = data.find(b"\n", len(FILE_MAGIC))
    if header_end < 0:
        raise ValueError("header is not terminated")
    try:
        header = json.loads(data[len(FILE_MAGIC):header_end])
        expected_keys = {"format", "generation", "dimension", "payload_bytes", "crc32"}
        if not isinstance(header, dict) or not expected_keys <= header.keys():
            raise ValueError(f"header lacks {sorted(expected_keys)}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"header is not valid JSON ({error})") from None

    if header["format"] != FILE_FORMAT_VERSION:
        raise ValueError(f"file format {header['format']}, this build reads {FILE_FORMAT_VERSION}")
    payload = data[header_end + 1:]
    if len(payload) != header["payload_bytes"]:
        raise ValueError(f"FAISS data is {len(payload)} bytes, but the header records {header['payload_bytes']}")
    if zlib.crc32(payload) != header["crc32"]:
        raise ValueError("checksum mismatch")
    return header, payload
