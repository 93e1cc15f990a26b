"""A scripted stand-in for the assistant, and a language server process that uses it.

Run as `python -m tests.lsp.fake_assistant` from the repository root. The behaviour is
chosen by markers in the request: a completion on a line containing `# wait` blocks until
it is cancelled, `# boom` raises RuntimeError, `# assistant-error` raises ModelLoadError.
Every call is appended as one JSON line to the file named by $RAGCODER_FAKE_EVENTS.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import ModelLoadError
from assistant.results import (
    AskStream,
    CompletionRequest,
    CompletionResult,
    IndexSummary,
    ProgressCallback,
    Source,
)
from lsp.server import create_server

EVENTS_VARIABLE = "RAGCODER_FAKE_EVENTS"
FAKE_COMPLETION = "fake_completion()"
FAKE_ANSWER = "fake answer"
FAKE_SOURCE = Source(path="pkg/mod.py", symbol="helper", start_line=3, end_line=9, score=0.5)
# Long enough that only a broken cancellation path reaches it, short enough that such a
# bug fails the test instead of hanging it.
WAIT_LIMIT_S = 30.0

_events_lock = threading.Lock()


def record(event: dict[str, Any]) -> None:
    """Append `event` to the events file, if one is configured."""
    path = os.environ.get(EVENTS_VARIABLE)
    if not path:
        return
    with _events_lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(event) + "\n")


def read_events(path: Path) -> list[dict[str, Any]]:
    """Read the events the fake recorded so far."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _wait_for_cancel(is_cancelled: Callable[[], bool] | None) -> bool:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while time.monotonic() < deadline:
        if is_cancelled is not None and is_cancelled():
            return True
        time.sleep(0.01)
    return False


class FakeAssistant:
    """Implements `lsp.session.AssistantLike` with scripted results."""

    def __init__(self, repo: Path, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        record({"call": "init", "repo": str(repo), "completion_max_tokens": settings.completion.max_tokens})

    def complete(
        self, request: CompletionRequest, is_cancelled: Callable[[], bool] | None = None
    ) -> CompletionResult | None:
        line_text = request.text.split("\n")[request.line]
        event = {"call": "complete", "path": request.path, "line": request.line, "column": request.column,
                 "language": request.language}
        if "# wait" in line_text:
            record({**event, "outcome": "started"})
            outcome = "cancelled" if _wait_for_cancel(is_cancelled) else "timeout"
            record({**event, "outcome": outcome})
            return None
        if "# boom" in line_text:
            raise RuntimeError("fake failure in complete")
        if "# assistant-error" in line_text:
            raise ModelLoadError("fake model failed to load; reinstall the model package")
        record({**event, "outcome": "result"})
        return CompletionResult(
            text=FAKE_COMPLETION,
            line=request.line,
            column=request.column,
            replace_end_column=request.column + line_text[request.column :].count(")"),
            latency_ms=1.0,
        )

    def ask(self, question: str, is_cancelled: Callable[[], bool] | None = None) -> AskStream:
        record({"call": "ask", "question": question})
        if question == "boom":
            raise RuntimeError("fake failure in ask")
        return AskStream(tokens=self._tokens(question, is_cancelled), sources=[FAKE_SOURCE])

    def _tokens(self, question: str, is_cancelled: Callable[[], bool] | None) -> Iterator[str]:
        if question == "wait":
            yield "partial"
            outcome = "cancelled" if _wait_for_cancel(is_cancelled) else "timeout"
            record({"call": "ask", "question": question, "outcome": outcome})
            return
        yield "fake "
        yield "answer"

    def index(self, progress: ProgressCallback | None = None, rebuild: bool = False) -> IndexSummary:
        record({"call": "index", "rebuild": rebuild})
        for done in range(5):
            if progress is not None:
                progress(done, 4, f"file{done}.py")
        return IndexSummary(
            files_indexed=4, files_unchanged=0, files_removed=0, files_skipped=0,
            chunks_total=12, chunks_embedded=12, seconds=0.1,
        )


def main() -> None:
    """Serve over stdio with the fake assistant."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    server = create_server(Settings(), None, FakeAssistant)
    server.start_io()


if __name__ == "__main__":
    main()
