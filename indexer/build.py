"""Incremental index builds: walk, chunk, embed and store the files that changed.

Each batch of files is committed in one SQLite transaction, so a killed run leaves a consistent
index in which every file is either fully old or fully new. The FAISS file is derived from the
vectors in SQLite and rebuilt whenever its recorded generation differs from the store's.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assistant.config import Settings
from assistant.errors import IndexCorrupt, IndexVersionMismatch, InvalidInput
from assistant.results import IndexSummary, ProgressCallback
from indexer.chunks import chunk_file
from indexer.embedder import Embedder
from indexer.graph import store_file_facts, update_graph
from indexer.kv_store import KV_FOLDER, open_kv_store
from indexer.parse import language_for_path
from indexer.store import DATABASE_NAME, FileRecord, IndexStore
from indexer.types import Chunk
from indexer.vector_index import FaissIndex
from indexer.walk import SkippedFile, SourceFile, walk_repository

logger = logging.getLogger(__name__)

FILES_PER_TRANSACTION = 64
VECTORS_FILE = "vectors.faiss"
# Meta key and version of the graph facts read from each file; 2 added typed names
# (`self.NAME = Class()` and local `NAME = Class()`). A new version re-reads every file.
FACTS_VERSION_KEY = "graph_facts_version"
FACTS_VERSION = "2"
# Entries of an index folder: the database with its SQLite side files, the vectors (and the
# temporary file they are written through), the chunk KV store.
_INDEX_ENTRIES = frozenset(
    {DATABASE_NAME, f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm", f"{DATABASE_NAME}-journal", VECTORS_FILE, KV_FOLDER}
)
_STAGING_SUFFIX = ".building-"
_RETIRED_SUFFIX = ".old-"


def _is_index_entry(name: str) -> bool:
    return name in _INDEX_ENTRIES or (name.startswith(f"{VECTORS_FILE}.") and name.endswith(".tmp"))


def _holds_only_index(folder: Path) -> bool:
    """Tell whether every entry of `folder` is one that an index folder holds."""
    return all(_is_index_entry(entry.name) for entry in folder.iterdir())


def index_dir_for(repo: Path, settings: Settings) -> Path:
    """Return the index folder: `index.dir_name` relative to the repository, or absolute.

    Raises:
        InvalidInput: the folder is the repository or contains it, is a file, or is an existing
            folder with entries that are not an index's. A rebuild replaces the whole index
            folder, so such a folder would be deleted.
    """
    name = settings.index.dir_name
    configured = Path(name).expanduser()
    index_dir = configured if configured.is_absolute() else repo / configured
    resolved, repo_resolved = index_dir.resolve(), repo.resolve()
    if not name.strip() or resolved == repo_resolved or resolved in repo_resolved.parents:
        raise InvalidInput(
            f"setting index.dir_name is {name!r}, which makes the index folder {resolved}, the repository "
            f"or a folder that holds it; pass a folder name of its own, such as \".ragcoder\""
        )
    if resolved.exists() and not resolved.is_dir():
        raise InvalidInput(
            f"setting index.dir_name points at {resolved}, which is a file; pass the name of a folder for the index"
        )
    if resolved.is_dir() and not _holds_only_index(resolved):
        raise InvalidInput(
            f"setting index.dir_name points at {resolved}, a folder with files that are not a ragcoder index, "
            f"which re-indexing would replace; pass an empty or new folder"
        )
    return index_dir


def embedding_text(chunk: Chunk) -> str:
    """Build the text that is embedded for a chunk.

    The path and qualified name go first because queries often name the module or the class
    that the code itself never mentions.
    """
    return f"{chunk.path} {chunk.symbol}\n{chunk.text}"


@dataclass
class _RunCounts:
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded: int = 0
    failed: list[str] = field(default_factory=list)


def index_repository(
    repo: Path,
    settings: Settings,
    embedder_factory: Callable[[], Embedder],
    progress: ProgressCallback | None = None,
    rebuild: bool = False,
) -> IndexSummary:
    """Index `repo` into its index folder and return what was done.

    An index of another format or one that cannot be read is rebuilt from scratch in a
    temporary folder that replaces the old one only when the build has finished.
    """
    started = time.perf_counter()
    repo = _validate_repo(repo)
    index_dir = index_dir_for(repo, settings)
    walked = walk_repository(repo, settings.index, _is_supported(settings))
    if not walked[0]:
        raise InvalidInput(
            f"no source files to index in {repo} ({len(walked[1])} skipped; languages: "
            f"{', '.join(settings.index.languages)}); check the path, .gitignore and .ragcoderignore"
        )

    # A first build goes through the staging folder too, so a killed run leaves no index
    # rather than an empty one that ask would use without a word.
    if not (index_dir / DATABASE_NAME).exists():
        rebuild = True
    if not rebuild:
        try:
            store = IndexStore.open(index_dir, create=True)
        except (IndexVersionMismatch, IndexCorrupt) as error:
            logger.warning("the existing index cannot be used, so it is rebuilt from scratch (%s)", error)
            rebuild = True
    if rebuild:
        return _rebuild(walked, index_dir, settings, embedder_factory, progress, started)

    try:
        return _update(walked, index_dir, store, settings, embedder_factory, progress, started)
    except IndexVersionMismatch as error:
        logger.warning("the existing index cannot be used, so it is rebuilt from scratch (%s)", error)
    finally:
        store.close()
    return _rebuild(walked, index_dir, settings, embedder_factory, progress, started)


def _validate_repo(repo: Path) -> Path:
    if not repo.exists():
        raise InvalidInput(f"repository path {repo} does not exist; pass the folder of a code repository")
    if not repo.is_dir():
        raise InvalidInput(f"repository path {repo} is not a folder; pass the folder that contains the code")
    return repo.resolve()


def _rebuild(
    walked: tuple[list[SourceFile], list[SkippedFile]],
    index_dir: Path,
    settings: Settings,
    embedder_factory: Callable[[], Embedder],
    progress: ProgressCallback | None,
    started: float,
) -> IndexSummary:
    # Private names next to the index folder, so that no folder of the user's is replaced or
    # deleted. Leftovers of a killed rebuild are deleted only when they hold index files alone.
    _delete_leftovers(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=index_dir.name + _STAGING_SUFFIX, dir=index_dir.parent))
    store = IndexStore.open(staging, create=True)
    try:
        summary = _update(walked, staging, store, settings, embedder_factory, progress, started)
    finally:
        store.close()

    retired = Path(tempfile.mkdtemp(prefix=index_dir.name + _RETIRED_SUFFIX, dir=index_dir.parent))
    if index_dir.exists():
        # Renaming a folder over an empty one replaces it on POSIX; the empty one was ours.
        index_dir.rename(retired)
    staging.rename(index_dir)
    shutil.rmtree(retired, ignore_errors=True)
    return summary


def _delete_leftovers(index_dir: Path) -> None:
    if not index_dir.parent.is_dir():
        return
    for suffix in (_STAGING_SUFFIX, _RETIRED_SUFFIX):
        for leftover in index_dir.parent.glob(f"{index_dir.name}{suffix}*"):
            if leftover.is_dir() and _holds_only_index(leftover):
                shutil.rmtree(leftover, ignore_errors=True)


def _update(
    walked: tuple[list[SourceFile], list[SkippedFile]],
    index_dir: Path,
    store: IndexStore,
    settings: Settings,
    embedder_factory: Callable[[], Embedder],
    progress: ProgressCallback | None,
    started: float,
) -> IndexSummary:
    files, skipped = walked
    known = store.files()
    counts = _RunCounts()

    # Graph facts from an older extractor are re-read from every file; unchanged chunks keep
    # their cached vectors, so this costs parsing, not embedding.
    facts_outdated = bool(known) and store.get_meta(FACTS_VERSION_KEY) != FACTS_VERSION
    if facts_outdated:
        logger.info("the index's code graph facts are from an older version; re-reading every file")
    edited = [item for item in files if _is_changed(item, known.get(item.path))]
    changed = list(files) if facts_outdated else edited
    embedder: Embedder | None = None
    if changed:
        embedder = embedder_factory()
        _check_embedding_model(store, index_dir, embedder)
    counts.unchanged = len(files) - len(changed)
    current = {item.path for item in files}
    stale = sorted(path for path in known if path not in current)

    if stale:
        with store.transaction():
            for path in stale:
                store.remove_file(path)
        counts.removed = len(stale)

    for start in range(0, len(changed), FILES_PER_TRANSACTION):
        batch = changed[start : start + FILES_PER_TRANSACTION]
        with store.transaction():
            for offset, source_file in enumerate(batch):
                if progress is not None:
                    progress(start + offset, len(changed), source_file.path)
                assert embedder is not None
                _index_file(source_file, store, embedder, counts, settings)
    if progress is not None:
        progress(len(changed), len(changed), "done")
    if changed or stale:
        update_graph(store, [item.path for item in changed], stale)
    if store.get_meta(FACTS_VERSION_KEY) != FACTS_VERSION:
        store.set_meta(FACTS_VERSION_KEY, FACTS_VERSION)
    if edited or stale:
        _drop_chunk_kv(index_dir, [item.path for item in edited if item.path in known] + stale, settings)

    if changed or stale or not (index_dir / VECTORS_FILE).exists():
        with store.transaction():
            pruned = store.prune_vectors()
            generation = store.bump_generation()
        logger.debug("pruned %d cached vectors that no chunk uses", pruned)
        _write_vector_index(store, index_dir, generation)

    seconds = time.perf_counter() - started
    summary = IndexSummary(
        files_indexed=counts.indexed,
        files_unchanged=counts.unchanged,
        files_removed=counts.removed,
        files_skipped=len(skipped) + len(counts.failed),
        chunks_total=store.chunk_count(),
        chunks_embedded=counts.embedded,
        seconds=seconds,
    )
    logger.info(
        "indexed %d files (%d unchanged, %d removed, %d skipped), %d chunks, %d embedded, in %.1fs",
        summary.files_indexed,
        summary.files_unchanged,
        summary.files_removed,
        summary.files_skipped,
        summary.chunks_total,
        summary.chunks_embedded,
        seconds,
    )
    return summary


def _drop_chunk_kv(index_dir: Path, paths: list[str], settings: Settings) -> None:
    """Delete the stored chunk KV caches of edited and deleted files."""
    if not paths or not (index_dir / KV_FOLDER).is_dir():
        return
    store = open_kv_store(index_dir, settings.turbo.cache_size_mb)
    try:
        store.evict_paths(paths)
    finally:
        store.close()


def _is_supported(settings: Settings) -> Callable[[str], bool]:
    enabled = set(settings.index.languages)

    def is_supported(path: str) -> bool:
        language = language_for_path(path)
        return language is not None and language in enabled

    return is_supported


def _is_changed(source_file: SourceFile, record: FileRecord | None) -> bool:
    if record is None:
        return True
    return record.mtime_ns != source_file.mtime_ns or record.size_bytes != source_file.size_bytes


def _index_file(
    source_file: SourceFile,
    store: IndexStore,
    embedder: Embedder,
    counts: _RunCounts,
    settings: Settings,
) -> None:
    # Broad except on purpose: one file that crashes the parser or the embedder must not stop
    # the whole repository from being indexed.
    try:
        source = source_file.abs_path.read_bytes()
        content_hash = hashlib.sha256(source).hexdigest()
        language = language_for_path(source_file.path) or ""
        record = FileRecord(
            path=source_file.path,
            content_hash=content_hash,
            mtime_ns=source_file.mtime_ns,
            size_bytes=source_file.size_bytes,
            language=language,
        )
        chunks, symbols = chunk_file(source_file.path, language, source, settings.index.max_chunk_lines)
        vectors = _vectors_for(chunks, store, embedder, counts)
        store.replace_file(record, chunks, symbols, vectors)
        store_file_facts(store, source_file.path, source, symbols)
        counts.indexed += 1
        logger.debug("indexed %s: %d chunks", source_file.path, len(chunks))
    except Exception:
        logger.exception("skipped %s: indexing failed", source_file.path)
        counts.failed.append(source_file.path)


def _vectors_for(
    chunks: list[Chunk],
    store: IndexStore,
    model: Embedder,
    counts: _RunCounts,
) -> npt.NDArray[np.float32]:
    if not chunks:
        return np.zeros((0, model.dimension), dtype=np.float32)
    rows: list[npt.NDArray[np.float32] | None] = [
        store.cached_vector(chunk.content_hash, model.model_id) for chunk in chunks
    ]
    missing = [index for index, row in enumerate(rows) if row is None]
    if missing:
        fresh = model.embed([embedding_text(chunks[index]) for index in missing])
        for position, index in enumerate(missing):
            rows[index] = fresh[position]
        counts.embedded += len(missing)
    return np.vstack([row for row in rows if row is not None]).astype(np.float32)


def _check_embedding_model(store: IndexStore, index_dir: Path, embedder: Embedder) -> None:
    stored = store.get_meta("embedding_model")
    if stored is not None and stored != embedder.model_id:
        raise IndexVersionMismatch(
            f"index at {index_dir} was embedded with {stored}, the configured embedder is "
            f"{embedder.model_id}; run `ragcoder index --rebuild`"
        )
    if stored is None:
        with store.transaction():
            store.set_meta("embedding_model", embedder.model_id)
            store.set_meta("embedding_dimension", str(embedder.dimension))


def _write_vector_index(store: IndexStore, index_dir: Path, generation: int) -> FaissIndex | None:
    ids, vectors = store.all_vectors()
    if len(ids) == 0:
        (index_dir / VECTORS_FILE).unlink(missing_ok=True)
        return None
    index = FaissIndex.from_vectors(ids, vectors)
    index.save(index_dir / VECTORS_FILE, generation)
    return index


def load_vector_index(store: IndexStore, index_dir: Path) -> FaissIndex | None:
    """Load the FAISS index of `store`, rebuilding it from stored vectors when stale."""
    generation = store.generation()
    index = FaissIndex.load(index_dir / VECTORS_FILE, generation)
    if index is None:
        ids, _ = store.all_vectors()
        if len(ids) == 0:
            return None
        logger.warning("vector index at %s is missing or stale; rebuilding it", index_dir)
        index = _write_vector_index(store, index_dir, generation)
    return index
