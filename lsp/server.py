"""Build and run the ragcoder language server over stdio or TCP."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from lsprotocol import types

from assistant.config import Settings
from lsp.features import commands, completion, promptlint
from lsp.session import AssistantFactory, RagcoderServer, create_assistant, guarded

logger = logging.getLogger(__name__)

# How long work still running after `exit` may take to notice the cancellation and save its progress.
EXIT_GRACE_S = 0.2


def create_server(
    settings: Settings | None = None,
    repo: Path | None = None,
    assistant_factory: AssistantFactory = create_assistant,
) -> RagcoderServer:
    """Create the server with every feature registered.

    Args:
        settings: base settings; `initializationOptions` are merged over them.
        repo: repository root; None takes it from the client's workspace folder or rootUri.
        assistant_factory: builds the assistant on first use (tests pass a fake).
    """
    server = RagcoderServer(settings or Settings(), repo, assistant_factory)

    @server.feature(types.INITIALIZE)
    @guarded("initialize", is_command=False)
    async def on_initialize(ls: RagcoderServer, params: types.InitializeParams) -> None:
        ls.configure(params)

    @server.feature(types.INITIALIZED)
    @guarded("initialized", is_command=False)
    async def on_initialized(ls: RagcoderServer, params: types.InitializedParams) -> None:
        ls.mark_initialized()

    @server.feature(types.SHUTDOWN)
    @guarded("shutdown", is_command=False)
    async def on_shutdown(ls: RagcoderServer, params: None) -> None:
        ls.close()

    completion.register(server)
    commands.register(server)
    promptlint.register(server)
    return server


def serve(settings: Settings, repo: Path | None, tcp: tuple[str, int] | None) -> None:
    """Run the server until the client sends `exit` or disconnects.

    `settings` should already contain the repository's settings files when `repo` is
    given. When `repo` is None the root comes from the client, and the server reads that
    repository's `[tool.ragcoder]` and `.ragcoder.toml` over `settings` itself.

    When worker threads are still running `EXIT_GRACE_S` after the client's `exit`, the
    process ends inside this function with the same status instead of returning.

    Raises:
        SystemExit: with code 1 when the client exits without a `shutdown` request,
            as the LSP specification asks.
    """
    server = create_server(settings, repo)
    if tcp is None:
        _start_stdio(server)
    else:
        host, port = tcp
        server.start_tcp(host, port)

    status = 0
    if not server.is_shut_down:
        logger.warning("client exited without a shutdown request")
        server.close()
        status = 1
    running = server.wait_for_workers(EXIT_GRACE_S)
    if running:
        _exit_now(status, running)
    if status:
        raise SystemExit(status)
    logger.info("server stopped")


def _exit_now(status: int, running: list[str]) -> None:
    """End the process without waiting for the worker threads in `running`.

    Note: a normal interpreter exit joins every worker thread, so a model load or another
    step that cannot be cancelled would keep the process alive long after the client sent
    `exit`. `os._exit` skips that join and also skips atexit handlers, so the log is flushed
    here first. The model and prompt-lint workers write their files under a temporary name and
    rename them, so a cut leaves at most a stray temporary file, never a half-written one.
    """
    logger.warning("exiting without waiting for the still running threads %s", ", ".join(running))
    logger.info("server stopped")
    logging.shutdown()
    sys.stderr.flush()
    os._exit(status)


def _start_stdio(server: RagcoderServer) -> None:
    """Run over stdin/stdout, with stdout reserved for the protocol.

    Note: native code (llama.cpp, ggml) and stray `print` calls write to file
    descriptor 1 directly. The protocol therefore gets a duplicate of that descriptor,
    and descriptor 1 is pointed at stderr, so such output cannot corrupt the stream.
    """
    sys.stdout.flush()
    protocol_fd = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with os.fdopen(protocol_fd, "wb") as protocol_out:
        server.start_io(sys.stdin.buffer, protocol_out)
