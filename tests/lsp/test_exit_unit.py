"""Unit tests of the server's exit path: after `close`, waiting for its worker threads is bounded."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from assistant.config import Settings
from lsp.session import AssistantLike, RagcoderServer


def _no_assistant(repo: Path, settings: Settings) -> AssistantLike:
    raise AssertionError("the exit tests never create an assistant")


def test_wait_for_workers_busy_worker_listed() -> None:
    server = RagcoderServer(Settings(), None, _no_assistant)
    release = threading.Event()
    worker = server.add_worker("ragcoder-exit-test")
    worker.submit(release.wait)
    server.close()

    started = time.perf_counter()
    running = server.wait_for_workers(0.2)
    waited_s = time.perf_counter() - started
    release.set()

    assert "ragcoder-exit-test_0" in running
    assert waited_s < 1.0
    assert "ragcoder-exit-test_0" not in server.wait_for_workers(5.0)


def test_wait_for_workers_queued_work_dropped() -> None:
    server = RagcoderServer(Settings(), None, _no_assistant)
    release = threading.Event()
    worker = server.add_worker("ragcoder-exit-queue")
    worker.submit(release.wait)
    queued = worker.submit(time.sleep, 60)
    server.close()
    release.set()

    running = server.wait_for_workers(5.0)

    assert queued.cancelled()
    assert "ragcoder-exit-queue_0" not in running
