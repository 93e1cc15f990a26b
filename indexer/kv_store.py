"""The on-disk store of per-chunk KV caches (TurboRAG) inside the index folder.

Entries are the serialized KV cells of one chunk as the prompt wraps it, evaluated alone after
BOS by one model. The store is capped in bytes and evicts the least recently used entries.
Each entry is tagged with its chunk's file, so re-indexing an edited file drops its entries.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import diskcache  # type: ignore[import-untyped]

from assistant.errors import InvalidInput

logger = logging.getLogger(__name__)

KV_FOLDER = "kv"
_MAGIC = b"RCKV1\n"
_DIGEST_BYTES = 16


def chunk_kv_key(model_key: str, text: str) -> str:
    """Key of one chunk's entry: a hash of the model key (model, KV type, wrapper) and the text."""
    digest = hashlib.sha256()
    digest.update(model_key.encode("utf-8"))
    digest.update(b"\0")
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()


class ChunkKvStore:
    """Per-chunk KV caches on disk, shared by the processes that use one index.

    diskcache keeps the entries (files for large values, SQLite for the index and access
    times) and culls the least recently used ones once `size_limit_bytes` is exceeded.
    """

    def __init__(self, directory: Path, size_limit_bytes: int) -> None:
        """Open the store in `directory`, creating it if needed.

        Raises:
            sqlite3.DatabaseError: the store's database is damaged.
            OSError: the folder cannot be created or read.
        """
        self.directory = directory
        self.size_limit_bytes = size_limit_bytes
        self._cache = diskcache.Cache(
            str(directory),
            size_limit=size_limit_bytes,
            eviction_policy="least-recently-used",
            tag_index=True,
            # KV entries are several MB; culling a few per insert keeps the store near its cap.
            cull_limit=16,
        )
        # diskcache culls only when it writes, so a lowered cap takes effect here.
        self._cache.cull()

    def close(self) -> None:
        """Close the store's database handle."""
        self._cache.close()

    def get(self, key: str) -> bytes | None:
        """Return the stored KV bytes for `key`, or None when missing or damaged.

        A damaged entry (truncated or altered file) is deleted with a warning, so the caller
        rebuilds it.
        """
        try:
            value = self._cache.get(key)
        except (OSError, sqlite3.DatabaseError) as error:
            logger.warning("chunk KV entry %s could not be read (%s); rebuilding it", key[:12], error)
            self.discard(key)
            return None
        if value is None:
            return None
        payload = _unwrap(value)
        if payload is None:
            logger.warning("chunk KV entry %s is damaged (bad header or checksum); rebuilding it", key[:12])
            self.discard(key)
        return payload

    def put(self, key: str, data: bytes, path: str) -> bool:
        """Store the KV bytes of one chunk of the file `path`; False when the store failed to write."""
        try:
            self._cache.set(key, _wrap(data), tag=path)
        except (OSError, sqlite3.DatabaseError) as error:
            logger.warning("could not store chunk KV entry %s for %s: %s", key[:12], path, error)
            return False
        return True

    def discard(self, key: str) -> None:
        """Delete one entry if it exists."""
        try:
            self._cache.delete(key)
        except (OSError, sqlite3.DatabaseError) as error:
            logger.warning("could not delete chunk KV entry %s: %s", key[:12], error)

    def evict_paths(self, paths: Iterable[str]) -> int:
        """Delete the entries of chunks from `paths`; returns how many were deleted."""
        removed = 0
        for path in paths:
            try:
                removed += int(self._cache.evict(path))
            except (OSError, sqlite3.DatabaseError) as error:
                logger.warning("could not drop the chunk KV entries of %s: %s", path, error)
        if removed:
            logger.info("dropped %d chunk KV entries of edited or deleted files", removed)
        return removed

    def entry_count(self) -> int:
        """Number of stored entries."""
        return len(self._cache)

    def size_bytes(self) -> int:
        """Bytes on disk that the entries use, as diskcache counts them."""
        return int(self._cache.volume())


def _wrap(data: bytes) -> bytes:
    return _MAGIC + hashlib.blake2b(data, digest_size=_DIGEST_BYTES).digest() + data


def _unwrap(value: object) -> bytes | None:
    if not isinstance(value, bytes) or not value.startswith(_MAGIC):
        return None
    start = len(_MAGIC) + _DIGEST_BYTES
    digest, payload = value[len(_MAGIC) : start], value[start:]
    if hashlib.blake2b(payload, digest_size=_DIGEST_BYTES).digest() != digest:
        return None
    return payload


MAX_CACHE_SIZE_MB = 1 << 20


def size_limit_bytes(cache_size_mb: int) -> int:
    """Convert the turbo.cache_size_mb setting to bytes.

    Raises:
        InvalidInput: the size is not between 1 MiB and 1 TiB.
    """
    if not 1 <= cache_size_mb <= MAX_CACHE_SIZE_MB:
        raise InvalidInput(
            f"setting turbo.cache_size_mb is {cache_size_mb}; pass a size in MiB from 1 to {MAX_CACHE_SIZE_MB}"
        )
    return cache_size_mb << 20


def open_kv_store(index_dir: Path, cache_size_mb: int) -> ChunkKvStore:
    """Open (creating if needed) the chunk KV store of the index at `index_dir`.

    The store is a cache, so a damaged one is deleted with a warning and started again empty.

    Raises:
        InvalidInput: `cache_size_mb` is out of range.
    """
    directory = index_dir / KV_FOLDER
    limit = size_limit_bytes(cache_size_mb)
    try:
        return ChunkKvStore(directory, limit)
    except sqlite3.DatabaseError as error:
        logger.warning("chunk KV store %s is damaged (%s); deleting it and starting an empty one", directory, error)
        shutil.rmtree(directory, ignore_errors=True)
        return ChunkKvStore(directory, limit)
