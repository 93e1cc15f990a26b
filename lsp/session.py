"""The ragcoder language server's state: settings, repository root, the lazily created
assistant, the worker threads that run it, and the handler wrapper that contains errors."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from lsprotocol import types
from pygls import uris
from pygls.lsp.server import LanguageServer

from assistant.config import Settings, load_repository_settings, merge
from assistant.errors import AssistantError, InvalidInput
from assistant.results import (
    AskStream,
    CompletionRequest,
    CompletionResult,
    IndexSummary,
    ProgressCallback,
)
from lsp.features.documents import PendingCompletions, workspace_version_reader

logger = logging.getLogger(__name__)

T = TypeVar("T")
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])

SERVER_NAME = "ragcoder"
WORKER_PREFIX = "ragcoder-"
INDEX_WORKER = "ragcoder-index"


class AssistantLike(Protocol):
    """The part of `assistant.service.Assistant` that the server calls (tests pass fakes)."""

    def index(self, progress: ProgressCallback | None = None, rebuild: bool = False) -> IndexSummary: ...

    def ask(self, question: str, is_cancelled: Callable[[], bool] | None = None) -> AskStream: ...

    def complete(
        self, request: CompletionRequest, is_cancelled: Callable[[], bool] | None = None
    ) -> CompletionResult | None: ...


AssistantFactory = Callable[[Path, Settings], AssistantLike]


def create_assistant(repo: Path, settings: Settings) -> AssistantLike:
    """Create the real assistant for `repo`."""
    # Imported here because the facade imports the model and index libraries, and the
    # server should reply to `initialize` before paying for that import.
    from assistant.service import Assistant

    return Assistant(repo, settings)


def package_version() -> str:
    """Return ragcoder's installed version, as the server reports it to the client."""
    try:
        return metadata.version("ragcoder")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def find_root(params: types.InitializeParams) -> Path | None:
    """Pick the repository root: the first workspace folder, else rootUri, else rootPath."""
    for folder in params.workspace_folders or []:
        fs_path = uris.to_fs_path(folder.uri)
        if fs_path:
            return Path(fs_path)
    if params.root_uri:
        fs_path = uris.to_fs_path(params.root_uri)
        if fs_path:
            return Path(fs_path)
    if params.root_path:
        return Path(params.root_path)
    return None


def resolve_settings(
    base: Settings, root: Path | None, options: Any, load_repository_files: bool
) -> tuple[Settings, list[str]]:
    """Apply the repository's settings files (when requested) and then `initializationOptions`.

    A source that fails validation is skipped as a whole. Its error is returned as a
    message for the user, and the settings from the earlier sources stay in force.
    """
    problems: list[str] = []
    settings = base
    if load_repository_files and root is not None:
        try:
            settings = load_repository_settings(root, settings)
        except InvalidInput as error:
            problems.append(f"ragcoder ignored the repository settings: {error}")
    if options is not None:
        try:
            settings = merge(settings, options, "initializationOptions")
        except InvalidInput as error:
            problems.append(f"ragcoder ignored all initializationOptions: {error}")
    return settings, problems


@dataclass
class ServerActivity:
    """The work in progress and the last results that `ragcoder.status` reports.

    The indexing thread writes the progress fields while the event loop reads them. Each
    write replaces one attribute, so a reader sees every field whole, though the three
    progress fields may come from two neighbouring reports.
    """

    index_runs: int = 0
    index_done: int = 0
    index_total: int = 0
    index_message: str = ""
    last_completion_latency_ms: float | None = None

    @property
    def is_indexing(self) -> bool:
        """Tell whether a `ragcoder.reindex` run is in progress or queued."""
        return self.index_runs > 0


class RagcoderServer(LanguageServer):
    """A pygls server that owns one repository's assistant.

    The assistant is created on first use in a worker thread. Completion and ask share one
    worker because the language model serves one request at a time. Indexing has its own
    worker, so an index run never occupies the model worker. The assistant's own lock
    decides whether a completion can run while an index run is in progress.
    """

    def __init__(
        self, settings: Settings, repo: Path | None, assistant_factory: AssistantFactory
    ) -> None:
        super().__init__(SERVER_NAME, package_version())
        self.settings = settings
        self.root: Path | None = repo
        self.closing = threading.Event()
        self.completions = PendingCompletions(workspace_version_reader(lambda: self.workspace), self.closing)
        self._repo_override = repo
        self._assistant_factory = assistant_factory
        self._assistant: AssistantLike | None = None
        self._assistant_lock = threading.Lock()
        self._workers: list[ThreadPoolExecutor] = []
        self._model_worker = self.add_worker("ragcoder-model")
        self._index_worker = self.add_worker(INDEX_WORKER)
        self._shown_messages: set[str] = set()
        self._queued_messages: list[types.ShowMessageParams] = []
        self._is_initialized = False
        self.is_shut_down = False
        self.activity = ServerActivity()

    def configure(self, params: types.InitializeParams) -> None:
        """Find the repository root and resolve the settings from an `initialize` request."""
        if self._repo_override is None:
            self.root = find_root(params)
        self.settings, problems = resolve_settings(
            self.settings, self.root, params.initialization_options, self._repo_override is None
        )
        for problem in problems:
            self.show_once(problem, types.MessageType.Error)
        if self.root is None:
            self.show_once(
                "ragcoder found no workspace folder or rootUri, so it answers no requests; "
                "open a folder (the repository root) in the editor",
                types.MessageType.Warning,
            )
        logger.info("repository root %s, position encoding %s", self.root, self.workspace.position_encoding)

    def mark_initialized(self) -> None:
        """Send the messages queued before the client finished initializing."""
        self._is_initialized = True
        queued, self._queued_messages = self._queued_messages, []
        for params in queued:
            self.window_show_message(params)

    def show_once(self, message: str, severity: types.MessageType = types.MessageType.Warning) -> None:
        """Show `message` in the editor unless the same text was shown before.

        Call it on the event loop thread only.
        """
        if message in self._shown_messages:
            logger.debug("not showing a repeated message: %s", message)
            return
        self._shown_messages.add(message)
        params = types.ShowMessageParams(type=severity, message=message)
        if self._is_initialized:
            self.window_show_message(params)
        else:
            self._queued_messages.append(params)

    def get_assistant(self) -> AssistantLike | None:
        """Return the assistant, creating it on first use; None without a repository root.

        Called on worker threads.
        """
        if self.root is None:
            return None
        with self._assistant_lock:
            if self._assistant is None:
                logger.info("creating the assistant for %s", self.root)
                self._assistant = self._assistant_factory(self.root, self.settings)
            return self._assistant

    def add_worker(self, name: str) -> ThreadPoolExecutor:
        """Create a one-thread worker named `name` (it must start with "ragcoder-") that `close` shuts down."""
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._workers.append(worker)
        return worker

    async def run_model(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(*args)` on the worker thread that owns the language model."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._model_worker, function, *args)

    async def run_index(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(*args)` on the indexing worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._index_worker, function, *args)

    def close(self) -> None:
        """Ask running work to stop and drop queued work; called on `shutdown`."""
        self.is_shut_down = True
        self.closing.set()
        for worker in self._workers:
            worker.shutdown(wait=False, cancel_futures=True)

    def wait_for_workers(self, timeout_s: float) -> list[str]:
        """Wait up to `timeout_s` for the worker threads to end after `close`; return the names of those still running.

        An index run is waited for without a limit, because stopping it halfway through a write
        could leave the index inconsistent.
        """
        # TODO: stop a running index job early; until then the process exits only
        # after it finishes, because Assistant.index takes no cancellation callback.
        deadline = time.monotonic() + timeout_s
        workers = [thread for thread in threading.enumerate() if thread.name.startswith(WORKER_PREFIX)]
        for thread in workers:
            if thread.name.startswith(INDEX_WORKER) and thread.is_alive():
                logger.info("waiting for the index run to finish before exiting")
                thread.join()
            else:
                thread.join(max(0.0, deadline - time.monotonic()))
        return [thread.name for thread in workers if thread.is_alive()]


def guarded(name: str, *, is_command: bool) -> Callable[[Handler], Handler]:
    """Wrap an async handler so that no exception reaches the client.

    An `AssistantError` (a one-line message meant for the user) is logged and shown once.
    Any other exception is logged with its traceback; commands also show it once. The
    handler then returns None. Cancellation (`asyncio.CancelledError`) passes through, so
    pygls replies with a RequestCancelled error.
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(ls: RagcoderServer, *args: Any) -> Any:
            try:
                return await handler(ls, *args)
            except AssistantError as error:
                logger.warning("%s failed: %s", name, error)
                ls.show_once(f"ragcoder {name}: {error}", types.MessageType.Error)
            except Exception as error:
                logger.exception("%s failed", name)
                if is_command:
                    ls.show_once(
                        f"ragcoder {name} failed: {error}; the server log has the traceback",
                        types.MessageType.Error,
                    )
            return None

        return cast(Handler, wrapper)

    return decorate
