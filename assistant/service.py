"""The assistant facade that the CLI and the language server call.

It owns the long-lived resources of one repository (index, embedder, language model), loads
each of them once and lazily, and exposes the three jobs: index, ask and complete.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from assistant.ask import AskPrompt, build_ask_prompt, stream_answer
from assistant.completion import complete_at
from assistant.completion_rules import (
    fit_to_word_after,
    is_inside_indentation,
    make_cursor,
)
from assistant.config import RetrievalMode, Settings
from assistant.context import (
    CHUNK_SEPARATOR,
    Context,
    compression_plan,
    pack_context,
    render_chunk,
)
from assistant.errors import IndexMissing, InvalidInput
from assistant.graph_context import graph_context
from assistant.model import Generator, LlamaGenerator, load_generator
from assistant.path_context import PathRetriever
from assistant.prompt_parts import PromptPart
from assistant.results import (
    AskStream,
    CompletionRequest,
    CompletionResult,
    IndexSummary,
    ProgressCallback,
    Source,
)
from assistant.retrieval import Hit, HybridRetriever, RetrievedChunk
from indexer.build import index_dir_for, index_repository, load_vector_index
from indexer.embedder import Embedder, load_embedder
from indexer.kv_store import ChunkKvStore, open_kv_store
from indexer.parse import language_for_path
from indexer.store import DATABASE_NAME, IndexStore

logger = logging.getLogger(__name__)

__all__ = [
    "AskStream",
    "Assistant",
    "CompletionRequest",
    "CompletionResult",
    "IndexSummary",
    "ProgressCallback",
    "Source",
]

COMPLETION_QUERY_LINES = 6
COMPLETION_TOP_K = 4
MAX_CACHED_COMPLETION_CONTEXTS = 64
# Precomputing stops at this share of the chunk KV store's cap, so it does not evict its own work.
PRECOMPUTE_CAP_SHARE = 0.9


class Assistant:
    """One repository's index, embedder and language model, loaded on first use.

    Safe to call from several threads: model calls are serialised by one lock, because a
    llama.cpp context serves one sequence of calls at a time.
    """

    def __init__(self, repo: Path, settings: Settings) -> None:
        self.repo = repo.resolve()
        self.settings = settings
        self._lock = threading.RLock()
        self._generator: Generator | None = None
        self._embedder: Embedder | None = None
        self._retriever: HybridRetriever | None = None
        self._store: IndexStore | None = None
        self._chunk_kv_store: ChunkKvStore | None = None
        # Document path -> (cursor line, retrieved context), oldest first.
        self._completion_contexts: dict[str, tuple[int, Context | str]] = {}

    @property
    def index_dir(self) -> Path:
        """The folder that contains this repository's index."""
        return index_dir_for(self.repo, self.settings)

    def generator(self) -> Generator:
        """Return the language model, loading it on first use.

        When the repository is indexed, the model gets the index's chunk KV store, so retrieved
        chunks are restored from their stored KV caches instead of evaluated again.
        """
        with self._lock:
            if self._generator is None:
                self._generator = load_generator(self.settings.model)
                self._attach_chunk_kv_store()
            return self._generator

    def _attach_chunk_kv_store(self) -> None:
        generator = self._generator
        if not isinstance(generator, LlamaGenerator) or not (self.index_dir / DATABASE_NAME).is_file():
            return
        if not (self.settings.turbo.ask or self.settings.turbo.completion):
            logger.info("chunk KV caches are off (turbo.ask and turbo.completion are false)")
            return
        if not generator.can_restore_chunks:
            return
        if self._chunk_kv_store is None:
            self._chunk_kv_store = open_kv_store(self.index_dir, self.settings.turbo.cache_size_mb)
        generator.attach_chunk_store(self._chunk_kv_store)

    def embedder(self) -> Embedder:
        """Return the embedding model, loading it on first use."""
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(self.settings.embedding)
            return self._embedder

    def retriever(self) -> HybridRetriever:
        """Return a retriever over the current index.

        Raises:
            IndexMissing: the repository has not been indexed yet.
        """
        with self._lock:
            if self._retriever is None:
                store = IndexStore.open(self.index_dir, create=False)
                vector_index = load_vector_index(store, self.index_dir)
                self._store = store
                self._retriever = HybridRetriever(store, vector_index, self.embedder(), self.settings.retrieval)
            return self._retriever

    def index(self, progress: ProgressCallback | None = None, rebuild: bool = False) -> IndexSummary:
        """Index the repository, re-reading only files that changed since the last run."""
        with self._lock:
            self._close_index()
            summary = index_repository(self.repo, self.settings, self.embedder, progress=progress, rebuild=rebuild)
            if self._generator is not None:
                self._attach_chunk_kv_store()
            return summary

    def precompute_chunk_kv(self, progress: ProgressCallback | None = None) -> tuple[int, int]:
        """Compute the stored KV caches of indexed chunks that the chunk KV store lacks.

        Chunks are rendered as ask prompts render them. It stops before the store reaches its
        size cap, so it never evicts what it built. Returns (chunks built, chunks seen).

        Raises:
            IndexMissing: the repository has not been indexed yet.
            InvalidInput: chunk KV caches are off or the model cannot use them.
        """
        with self._lock:
            self.retriever()
            generator = self.generator()
            kv_store = self._chunk_kv_store
            if kv_store is None or self._store is None or not isinstance(generator, LlamaGenerator):
                raise InvalidInput(
                    "chunk KV caches are off: set turbo.ask or turbo.completion to true, and use a model "
                    "whose cached positions can shift (see the log of `ragcoder -v index`)"
                )
            files = sorted(self._store.files())
            limit_bytes = int(kv_store.size_limit_bytes * PRECOMPUTE_CAP_SHARE)
            built = seen = 0
            bytes_per_token = 0.0
            for number, path in enumerate(files):
                if progress is not None:
                    progress(number, len(files), path)
                chunks = self._store.chunks(self._store.file_chunk_ids(path))
                for chunk_id, chunk in sorted(chunks.items()):
                    part = PromptPart(
                        render_chunk(RetrievedChunk(Hit(chunk_id, 0.0), chunk)) + CHUNK_SEPARATOR, source_path=path
                    )
                    tokens = generator.count_tokens(part.text)
                    # Checked per chunk with the size per token seen so far, so a build never
                    # pushes the store over its cap and evicts entries built before it.
                    before = kv_store.size_bytes()
                    if before + bytes_per_token * tokens > limit_bytes:
                        logger.info("chunk KV store is near its cap of %d MiB; stopped precomputing", self.settings.turbo.cache_size_mb)
                        return self._precomputed(progress, files, built, seen)
                    if generator.precompute_chunks([part]):
                        built += 1
                        bytes_per_token = max(bytes_per_token, (kv_store.size_bytes() - before) / max(tokens, 1))
                    seen += 1
            return self._precomputed(progress, files, built, seen)

    @staticmethod
    def _precomputed(
        progress: ProgressCallback | None, files: list[str], built: int, seen: int
    ) -> tuple[int, int]:
        if progress is not None:
            progress(len(files), len(files), "done")
        return built, seen

    def prepare_ask(self, question: str) -> AskPrompt:
        """Retrieve and pack the context for `question`, flat or along code-graph paths
        as `retrieval.mode` selects."""
        with self._lock:
            retriever = self.retriever()
            path_retriever = None
            if self.settings.retrieval.mode is RetrievalMode.PATHRAG and self._store is not None:
                path_retriever = PathRetriever(retriever, self._store, self.settings.pathrag)
            return build_ask_prompt(
                question, retriever, self.generator(), self.settings.ask, path_retriever, self.settings.turbo.ask
            )

    def ask(self, question: str, is_cancelled: Callable[[], bool] | None = None) -> AskStream:
        """Retrieve context for `question` and start generating the answer.

        The returned token iterator holds the model lock while it runs, so consume it fully
        (or close it) before the next call.
        """
        prompt = self.prepare_ask(question)
        stream = stream_answer(prompt, self.generator(), self.settings.ask, is_cancelled)
        return AskStream(tokens=self._locked(stream.tokens), sources=stream.sources)

    def complete(
        self, request: CompletionRequest, is_cancelled: Callable[[], bool] | None = None
    ) -> CompletionResult | None:
        """Complete the code at the cursor; None when there is nothing to suggest or the
        request was cancelled."""
        started = time.perf_counter()
        prefix, suffix = split_at_cursor(request)
        cursor = make_cursor(prefix, suffix, 0)
        if is_inside_indentation(cursor):
            return None
        with self._lock:
            if is_cancelled is not None and is_cancelled():
                return None
            context = self._completion_context(request, prefix, suffix)
            language = request.language or language_for_path(request.path)
            text = complete_at(
                prefix, suffix, context, self.generator(), self.settings.completion, is_cancelled,
                language=language, is_cacheable=self.settings.turbo.completion, cache_key=request.path,
            )
        if not text or (is_cancelled is not None and is_cancelled()):
            return None
        fitted = fit_to_word_after(text, cursor)
        if fitted is None:
            logger.debug("dropped a completion that would split the word after the cursor: %r", text)
            return None
        text, replaced = fitted
        return CompletionResult(
            text=text,
            line=request.line,
            column=request.column,
            replace_end_column=request.column + replaced,
            latency_ms=(time.perf_counter() - started) * 1000.0,
        )

    def completion_context(self, request: CompletionRequest) -> Context | str:
        """Return the context that a completion at the cursor of `request` puts before the code.

        An empty string means none: no index, or nothing before the cursor to retrieve for.
        """
        prefix, suffix = split_at_cursor(request)
        with self._lock:
            return self._completion_context(request, prefix, suffix)

    def close(self) -> None:
        """Release the index handles; the models stay loaded until the process ends."""
        with self._lock:
            self._close_index()

    def _close_index(self) -> None:
        self._completion_contexts.clear()
        if self._store is not None:
            self._store.close()
        self._store = None
        self._retriever = None
        # A rebuild replaces the index folder, and the chunk KV store inside it with it.
        if isinstance(self._generator, LlamaGenerator):
            self._generator.attach_chunk_store(None)
        if self._chunk_kv_store is not None:
            self._chunk_kv_store.close()
        self._chunk_kv_store = None

    def _completion_context(self, request: CompletionRequest, prefix: str, suffix: str) -> Context | str:
        """Return the retrieved context for a completion, kept while the cursor stays on one line.

        Retrieving again on every keystroke would change the chunks at the start of the prompt,
        and everything after a change must be evaluated again. Keeping them while the user types
        on one line lets the next request reuse the cached prompt up to the cursor.
        """
        cached = self._completion_contexts.get(request.path)
        if cached is not None and cached[0] == request.line:
            return cached[1]
        context = self._retrieve_completion_context(request, prefix, suffix)
        self._completion_contexts.pop(request.path, None)
        self._completion_contexts[request.path] = (request.line, context)
        while len(self._completion_contexts) > MAX_CACHED_COMPLETION_CONTEXTS:
            del self._completion_contexts[next(iter(self._completion_contexts))]
        return context

    def _retrieve_completion_context(self, request: CompletionRequest, prefix: str, suffix: str) -> Context | str:
        """Retrieve the context of a completion: code-graph definitions first, then similar chunks.

        The definitions of the names near the cursor (`completion.graph_context`) come first, so
        they win the budget. The chunks similar to the lines before the cursor fill what is left.
        """
        query = "\n".join(prefix.splitlines()[-COMPLETION_QUERY_LINES:])
        if not query.strip():
            return ""
        try:
            retriever = self.retriever()
        except IndexMissing:
            logger.debug("no index at %s; completing without retrieved context", self.index_dir)
            return ""
        relative = _relative_path(self.repo, request.path)
        language = request.language or language_for_path(request.path) or ""
        comment = "#" if language == "python" else "//"
        generator = self.generator()
        settings = self.settings.completion
        items: list[RetrievedChunk] = []
        if settings.graph_context and self._store is not None:
            items += graph_context(
                self._store, relative, prefix, suffix, language, settings.context_tokens, generator.count_tokens, comment
            )
        items += retriever.retrieve(query, top_k=COMPLETION_TOP_K, exclude_path=relative)
        compression = compression_plan(settings.compression, settings.compression_min_ratio, "completion", query)
        return pack_context(items, settings.context_tokens, generator.count_tokens, comment, compression)

    def _locked(self, tokens: Iterator[str]) -> Iterator[str]:
        with self._lock:
            yield from tokens


def split_at_cursor(request: CompletionRequest) -> tuple[str, str]:
    """Split a document at a 0-based (line, column) into the text before and after it.

    Raises:
        InvalidInput: the position is outside the document.
    """
    lines = request.text.split("\n")
    if request.line < 0 or request.line >= len(lines):
        raise InvalidInput(
            f"line {request.line + 1} is past the end of {request.path} ({len(lines)} lines); "
            "pass a line inside the file"
        )
    line_text = lines[request.line]
    if request.column < 0 or request.column > len(line_text):
        raise InvalidInput(
            f"column {request.column + 1} is outside line {request.line + 1} of {request.path} "
            f"({len(line_text)} characters); pass a column from 1 to {len(line_text) + 1}"
        )
    offset = sum(len(line) + 1 for line in lines[: request.line]) + request.column
    return request.text[:offset], request.text[offset:]


def _relative_path(repo: Path, path: str) -> str:
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.resolve().relative_to(repo).as_posix()
        except ValueError:
            return candidate.as_posix()
    return candidate.as_posix()
