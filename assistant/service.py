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
from assistant.config import RetrievalMode, Settings
from assistant.context import compression_plan, pack_context
from assistant.errors import IndexMissing, InvalidInput
from assistant.model import Generator, load_generator
from assistant.results import (
    AskStream,
    CompletionRequest,
    CompletionResult,
    IndexSummary,
    ProgressCallback,
    Source,
)
from assistant.path_context import PathRetriever
from assistant.retrieval import HybridRetriever
from indexer.build import index_dir_for, index_repository, load_vector_index
from indexer.embedder import Embedder, load_embedder
from indexer.parse import language_for_path
from indexer.store import IndexStore

logger = logging.getLogger(__name__)

__all__ = [
    "Assistant",
    "AskStream",
    "CompletionRequest",
    "CompletionResult",
    "IndexSummary",
    "ProgressCallback",
    "Source",
]

COMPLETION_QUERY_LINES = 6
COMPLETION_TOP_K = 4


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

    @property
    def index_dir(self) -> Path:
        """The folder that contains this repository's index."""
        return index_dir_for(self.repo, self.settings)

    def generator(self) -> Generator:
        """Return the language model, loading it on first use."""
        with self._lock:
            if self._generator is None:
                self._generator = load_generator(self.settings.model)
            return self._generator

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
            return index_repository(self.repo, self.settings, self.embedder, progress=progress, rebuild=rebuild)

    def prepare_ask(self, question: str) -> AskPrompt:
        """Retrieve and pack the context for `question`, flat or along code-graph paths
        as `retrieval.mode` selects."""
        with self._lock:
            retriever = self.retriever()
            path_retriever = None
            if self.settings.retrieval.mode is RetrievalMode.PATHRAG and self._store is not None:
                path_retriever = PathRetriever(retriever, self._store, self.settings.pathrag)
            return build_ask_prompt(question, retriever, self.generator(), self.settings.ask, path_retriever)

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
        with self._lock:
            if is_cancelled is not None and is_cancelled():
                return None
            context = self._completion_context(request, prefix)
            language = request.language or language_for_path(request.path)
            text = complete_at(
                prefix, suffix, context, self.generator(), self.settings.completion, is_cancelled, language=language
            )
        if not text or (is_cancelled is not None and is_cancelled()):
            return None
        return CompletionResult(
            text=text,
            line=request.line,
            column=request.column,
            replace_end_column=request.column,
            latency_ms=(time.perf_counter() - started) * 1000.0,
        )

    def close(self) -> None:
        """Release the index handles; the models stay loaded until the process ends."""
        with self._lock:
            self._close_index()

    def _close_index(self) -> None:
        if self._store is not None:
            self._store.close()
        self._store = None
        self._retriever = None

    def _completion_context(self, request: CompletionRequest, prefix: str) -> str:
        query = "\n".join(prefix.splitlines()[-COMPLETION_QUERY_LINES:])
        if not query.strip():
            return ""
        try:
            retriever = self.retriever()
        except IndexMissing:
            logger.debug("no index at %s; completing without retrieved context", self.index_dir)
            return ""
        relative = _relative_path(self.repo, request.path)
        retrieved = retriever.retrieve(query, top_k=COMPLETION_TOP_K, exclude_path=relative)
        language = request.language or language_for_path(request.path) or ""
        comment = "#" if language == "python" else "//"
        generator = self.generator()
        settings = self.settings.completion
        compression = compression_plan(settings.compression, settings.compression_min_ratio, "completion", query)
        return pack_context(retrieved, settings.context_tokens, generator.count_tokens, comment, compression).text

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
