"""Unit tests of the language server's logic, with a scripted fake in place of the assistant.

The first half calls the helpers directly. The second half drives a server process that
uses `tests.lsp.fake_assistant` through pytest-lsp's client, so the protocol paths
(cancellation, document changes, messages, progress) run for real.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls import uris
from pygls.exceptions import JsonRpcRequestCancelled
from pygls.workspace import Workspace
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from assistant.config import Settings
from assistant.errors import InvalidInput
from lsp.features.commands import (
    ASK_COMMAND,
    EXPLAIN_COMMAND,
    REINDEX_COMMAND,
    STATUS_COMMAND,
)
from lsp.features.documents import (
    PendingCompletions,
    take_snapshot,
    to_client_units,
    to_code_points,
)
from lsp.features.promptlint import APPLY_FIX_COMMAND
from lsp.session import guarded, resolve_settings
from tests.lsp.fake_assistant import (
    EVENTS_VARIABLE,
    FAKE_ANSWER,
    FAKE_COMPLETION,
    FAKE_SOURCE,
    read_events,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
EMOJI_LINE = 'label = "😋" + greet()'
EMOJI_CURSOR = EMOJI_LINE.index("()") + 1


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- position conversion -------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "character", "expected"),
    [
        ("utf-16", 9, 9),  # up to the opening quote
        ("utf-16", 12, 11),  # after the emoji: two UTF-16 units, one code point
        ("utf-16", 11, 10),  # inside the surrogate pair: rounds down to the emoji's start
        ("utf-8", 14, 11),  # the emoji takes four bytes
        ("utf-32", 11, 11),
        ("utf-16", 500, len(EMOJI_LINE)),  # past the end: clamped
    ],
)
def test_to_code_points_emoji_line(encoding: str, character: int, expected: int) -> None:
    assert to_code_points(EMOJI_LINE, character, encoding) == expected


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_to_client_units_round_trip(encoding: str) -> None:
    for column in range(len(EMOJI_LINE) + 1):
        units = to_client_units(EMOJI_LINE, column, encoding)
        assert to_code_points(EMOJI_LINE, units, encoding) == column


def make_workspace(encoding: str = "utf-16") -> Workspace:
    return Workspace(None, position_encoding=encoding)


def open_in(workspace: Workspace, uri: str, text: str, version: int = 1) -> None:
    workspace.put_text_document(types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text))


def test_take_snapshot_emoji_counts_code_points(tmp_path: Path) -> None:
    workspace = make_workspace()
    uri = uris.from_fs_path(str(tmp_path / "pkg" / "mod.py"))
    assert uri is not None
    open_in(workspace, uri, f"import os\r\n{EMOJI_LINE}\r\n")

    position = types.Position(line=1, character=utf16_length(EMOJI_LINE[:EMOJI_CURSOR]))
    snapshot = take_snapshot(workspace, uri, position, tmp_path)

    assert snapshot is not None
    assert snapshot.column == EMOJI_CURSOR
    assert snapshot.line == 1
    assert snapshot.text == f"import os\n{EMOJI_LINE}\n"
    assert snapshot.path == "pkg/mod.py"
    assert snapshot.language == "python"


def test_take_snapshot_line_past_end_returns_none() -> None:
    workspace = make_workspace()
    open_in(workspace, "file:///tmp/a.py", "x = 1\ny = 2")

    past_end = take_snapshot(workspace, "file:///tmp/a.py", types.Position(line=9, character=0), None)
    last_line = take_snapshot(workspace, "file:///tmp/a.py", types.Position(line=1, character=0), None)

    assert past_end is None
    assert last_line is not None
    assert (last_line.line, last_line.column) == (1, 0)


def test_take_snapshot_unopened_document_returns_none() -> None:
    assert take_snapshot(make_workspace(), "file:///tmp/none.py", types.Position(line=0, character=0), None) is None


# --- stale requests ------------------------------------------------------------------


def test_pending_completions_newer_request_cancels_older() -> None:
    versions = {"file:///a.py": 1, "file:///b.py": 1}
    pending = PendingCompletions(versions.get, threading.Event())

    older = pending.start("file:///a.py", 1)
    other_document = pending.start("file:///b.py", 1)
    newer = pending.start("file:///a.py", 1)

    assert older.is_cancelled()
    assert not newer.is_cancelled()
    assert not other_document.is_cancelled()


def test_ticket_document_version_changed_is_cancelled() -> None:
    versions = {"file:///a.py": 3}
    ticket = PendingCompletions(versions.get, threading.Event()).start("file:///a.py", 3)
    assert not ticket.is_cancelled()

    versions["file:///a.py"] = 4

    assert ticket.is_cancelled()


def test_ticket_document_closed_is_cancelled() -> None:
    versions: dict[str, int] = {"file:///a.py": 3}
    ticket = PendingCompletions(versions.get, threading.Event()).start("file:///a.py", 3)

    del versions["file:///a.py"]

    assert ticket.is_cancelled()


def test_ticket_server_closing_is_cancelled() -> None:
    closing = threading.Event()
    ticket = PendingCompletions({"file:///a.py": 1}.get, closing).start("file:///a.py", 1)

    closing.set()

    assert ticket.is_cancelled()


def test_pending_completions_finish_keeps_newer_ticket() -> None:
    pending = PendingCompletions({"file:///a.py": 1}.get, threading.Event())
    older = pending.start("file:///a.py", 1)
    newer = pending.start("file:///a.py", 1)

    pending.finish(older)
    third = pending.start("file:///a.py", 1)

    assert newer.is_cancelled()
    assert not third.is_cancelled()


# --- settings ------------------------------------------------------------------------


def test_resolve_settings_invalid_options_keeps_defaults() -> None:
    options = {"completion": {"max_tokens": "many"}}

    settings, problems = resolve_settings(Settings(), None, options, load_repository_files=False)

    assert settings == Settings()
    assert len(problems) == 1
    assert "completion.max_tokens" in problems[0]
    assert "initializationOptions" in problems[0]


def test_resolve_settings_valid_options_applied() -> None:
    options = {"completion": {"max_tokens": 7}, "ask": {"temperature": 0}}

    settings, problems = resolve_settings(Settings(), None, options, load_repository_files=False)

    assert problems == []
    assert settings.completion.max_tokens == 7
    assert settings.ask.temperature == 0.0


def test_resolve_settings_repository_file_read_before_options(tmp_path: Path) -> None:
    (tmp_path / ".ragcoder.toml").write_text("[completion]\nmax_tokens = 9\nmax_lines = 3\n", encoding="utf-8")

    settings, problems = resolve_settings(
        Settings(), tmp_path, {"completion": {"max_tokens": 5}}, load_repository_files=True
    )

    assert problems == []
    assert settings.completion.max_tokens == 5
    assert settings.completion.max_lines == 3


def test_resolve_settings_options_not_a_table_reports_problem() -> None:
    settings, problems = resolve_settings(Settings(), None, ["max_tokens"], load_repository_files=False)

    assert settings == Settings()
    assert len(problems) == 1


# --- error wrapper -------------------------------------------------------------------


class MessageRecorder:
    """Stands in for the server in `guarded`: records what would be shown."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def show_once(self, message: str, severity: types.MessageType = types.MessageType.Warning) -> None:
        if message not in self.shown:
            self.shown.append(message)


def failing_handler(error: BaseException) -> Callable[..., Any]:
    async def handler(ls: Any, *arguments: Any) -> str:
        raise error

    return handler


async def test_guarded_command_error_shown_once(caplog: pytest.LogCaptureFixture) -> None:
    recorder = MessageRecorder()
    handler = guarded("ragcoder.test", is_command=True)(failing_handler(RuntimeError("disk on fire")))

    with caplog.at_level(logging.ERROR, logger="lsp.session"):
        first = await handler(recorder)
        second = await handler(recorder)

    assert first is None
    assert second is None
    assert len(recorder.shown) == 1
    assert "disk on fire" in recorder.shown[0]
    assert caplog.records[0].exc_info is not None  # the traceback is logged


async def test_guarded_feature_error_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    recorder = MessageRecorder()
    handler = guarded("completion", is_command=False)(failing_handler(KeyError("line")))

    with caplog.at_level(logging.ERROR, logger="lsp.session"):
        result = await handler(recorder)

    assert result is None
    assert recorder.shown == []
    assert caplog.records[0].exc_info is not None


async def test_guarded_feature_assistant_error_shows_message() -> None:
    recorder = MessageRecorder()
    handler = guarded("completion", is_command=False)(failing_handler(InvalidInput("bad column; pass 1-5")))

    assert await handler(recorder) is None
    assert recorder.shown == ["ragcoder completion: bad column; pass 1-5"]


async def test_guarded_cancellation_passes_through() -> None:
    handler = guarded("completion", is_command=False)(failing_handler(asyncio.CancelledError()))

    with pytest.raises(asyncio.CancelledError):
        await handler(MessageRecorder())


# --- protocol paths with the fake assistant ------------------------------------------


@dataclasses.dataclass
class FakeServer:
    client: LanguageClient
    events: Path
    root: Path

    def uri(self, name: str) -> str:
        uri = uris.from_fs_path(str(self.root / name))
        assert uri is not None
        return uri


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeServer]:
    events = tmp_path / "events.jsonl"
    root = tmp_path / "repo"
    root.mkdir()
    client = make_test_lsp_client()
    env = {**os.environ, EVENTS_VARIABLE: str(events)}
    await client.start_io(sys.executable, "-m", "tests.lsp.fake_assistant", env=env, cwd=str(REPO_ROOT))
    yield FakeServer(client, events, root)
    await client.shutdown_session()
    await client.stop()


async def initialize(
    fake: FakeServer, *, has_root: bool = True, options: Any = None, encodings: list[str] | None = None
) -> types.InitializeResult:
    capabilities = client_capabilities("visual-studio-code")
    if encodings is not None:
        capabilities.general = types.GeneralClientCapabilities(position_encodings=encodings)
    root_uri = uris.from_fs_path(str(fake.root)) if has_root else None
    folders = [types.WorkspaceFolder(uri=root_uri, name="repo")] if root_uri else None
    params = types.InitializeParams(
        capabilities=capabilities, root_uri=root_uri, workspace_folders=folders, initialization_options=options
    )
    return await fake.client.initialize_session(params)


def open_document(fake: FakeServer, uri: str, text: str, version: int = 1) -> None:
    item = types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
    fake.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))


def inline_params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
    )


async def execute(fake: FakeServer, command: str, *arguments: Any) -> Any:
    params = types.ExecuteCommandParams(command=command, arguments=list(arguments))
    return await fake.client.workspace_execute_command_async(params)


async def wait_for_event(path: Path, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        for event in read_events(path):
            if predicate(event):
                return event
        await asyncio.sleep(0.02)
    raise AssertionError(f"no matching event; recorded: {read_events(path)}")


async def test_initialize_fake_advertises_features(fake: FakeServer) -> None:
    result = await initialize(fake)

    capabilities = result.capabilities
    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is not None
    assert capabilities.execute_command_provider is not None
    assert set(capabilities.execute_command_provider.commands) == {
        ASK_COMMAND, EXPLAIN_COMMAND, REINDEX_COMMAND, STATUS_COMMAND, APPLY_FIX_COMMAND
    }
    assert result.server_info is not None
    assert result.server_info.name == "ragcoder"


async def test_initialize_invalid_options_uses_defaults(fake: FakeServer) -> None:
    await initialize(fake, options={"completion": {"max_tokens": "many"}, "no_such_group": {}})
    answer = await execute(fake, ASK_COMMAND, "what is here?")

    assert answer is not None
    assert len(fake.client.messages) == 1
    assert "initializationOptions" in fake.client.messages[0].message
    init_event = await wait_for_event(fake.events, lambda event: event["call"] == "init")
    assert init_event["completion_max_tokens"] == Settings().completion.max_tokens


async def test_initialize_valid_options_reach_assistant(fake: FakeServer) -> None:
    await initialize(fake, options={"completion": {"max_tokens": 7}})
    await execute(fake, ASK_COMMAND, "what is here?")

    init_event = await wait_for_event(fake.events, lambda event: event["call"] == "init")
    assert init_event["completion_max_tokens"] == 7
    assert init_event["repo"] == str(fake.root)
    assert fake.client.messages == []


async def test_initialize_without_root_returns_none(fake: FakeServer) -> None:
    await initialize(fake, has_root=False)
    open_document(fake, "file:///tmp/loose.py", "x = 1\n")

    completion = await fake.client.text_document_inline_completion_async(inline_params("file:///tmp/loose.py", 0, 5))
    answer = await execute(fake, ASK_COMMAND, "anything?")
    summary = await execute(fake, REINDEX_COMMAND)

    assert completion is None
    assert answer is None
    assert summary is None
    assert len(fake.client.messages) == 1
    assert "no workspace folder" in fake.client.messages[0].message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
async def test_inline_completion_emoji_before_cursor_converts_columns(fake: FakeServer, encoding: str) -> None:
    await initialize(fake, encodings=[encoding])
    uri = fake.uri("mod.py")
    open_document(fake, uri, f"import os\n{EMOJI_LINE}\n")
    character = to_client_units(EMOJI_LINE, EMOJI_CURSOR, encoding)

    result = await fake.client.text_document_inline_completion_async(inline_params(uri, 1, character))

    event = await wait_for_event(fake.events, lambda event: event.get("outcome") == "result")
    assert event["column"] == EMOJI_CURSOR
    assert event["path"] == "mod.py"
    assert isinstance(result, types.InlineCompletionList)
    assert len(result.items) == 1
    item = result.items[0]
    assert item.insert_text == FAKE_COMPLETION
    assert item.range is not None
    assert item.range.start == types.Position(line=1, character=character)
    # The fake replaces the ")" after the cursor, one code unit in every encoding.
    assert item.range.end == types.Position(line=1, character=character + 1)


async def test_completion_word_before_cursor_kept_in_edit(fake: FakeServer) -> None:
    await initialize(fake)
    uri = fake.uri("mod.py")
    line = "value = compu"
    open_document(fake, uri, f"{line}\n")

    params = types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=len(line))
    )
    result = await fake.client.text_document_completion_async(params)

    assert isinstance(result, types.CompletionList)
    assert len(result.items) == 1
    item = result.items[0]
    assert item.label == FAKE_COMPLETION
    assert item.detail == "ragcoder"
    assert item.kind == types.CompletionItemKind.Text
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.new_text == "compu" + FAKE_COMPLETION
    assert item.text_edit.range.start == types.Position(line=0, character=line.index("compu"))
    assert item.text_edit.range.end == types.Position(line=0, character=len(line))


async def test_inline_completion_cancel_request_stops_worker(fake: FakeServer) -> None:
    await initialize(fake)
    uri = fake.uri("mod.py")
    open_document(fake, uri, "x = 1  # wait\n")

    pending = asyncio.ensure_future(
        fake.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, 0, 5), msg_id="inline-1"
        )
    )
    await wait_for_event(fake.events, lambda event: event.get("outcome") == "started")
    fake.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="inline-1"))

    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    event = await wait_for_event(fake.events, lambda event: event.get("outcome") in ("cancelled", "timeout"))
    assert event["outcome"] == "cancelled"


async def test_inline_completion_document_changed_returns_none(fake: FakeServer) -> None:
    await initialize(fake)
    uri = fake.uri("mod.py")
    open_document(fake, uri, "x = 1  # wait\n")

    pending = asyncio.ensure_future(fake.client.text_document_inline_completion_async(inline_params(uri, 0, 5)))
    await wait_for_event(fake.events, lambda event: event.get("outcome") == "started")
    change = types.TextDocumentContentChangeWholeDocument(text="x = 12  # wait\n")
    fake.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2), content_changes=[change]
        )
    )

    assert await pending is None
    event = await wait_for_event(fake.events, lambda event: event.get("outcome") in ("cancelled", "timeout"))
    assert event["outcome"] == "cancelled"


async def test_inline_completion_newer_request_cancels_older(fake: FakeServer) -> None:
    await initialize(fake)
    uri = fake.uri("mod.py")
    open_document(fake, uri, "x = 1  # wait\ny = 2\n")

    older = asyncio.ensure_future(fake.client.text_document_inline_completion_async(inline_params(uri, 0, 5)))
    await wait_for_event(fake.events, lambda event: event.get("outcome") == "started")
    newer = await fake.client.text_document_inline_completion_async(inline_params(uri, 1, 5))

    assert await older is None
    assert isinstance(newer, types.InlineCompletionList)
    assert newer.items[0].insert_text == FAKE_COMPLETION
    outcomes = [event["outcome"] for event in read_events(fake.events) if event.get("line") == 0]
    assert outcomes == ["started", "cancelled"]


async def test_inline_completion_error_returns_none(fake: FakeServer) -> None:
    await initialize(fake)
    uri = fake.uri("mod.py")
    open_document(fake, uri, "x = 1  # boom\ny = 2\n")

    failed = await fake.client.text_document_inline_completion_async(inline_params(uri, 0, 5))
    recovered = await fake.client.text_document_inline_completion_async(inline_params(uri, 1, 5))

    assert failed is None
    assert isinstance(recovered, types.InlineCompletionList)
    assert fake.client.messages == []


async def test_inline_completion_assistant_error_shown_once(fake: FakeServer) -> None:
    await initialize(fake)
    uri = fake.uri("mod.py")
    open_document(fake, uri, "x = 1  # assistant-error\n")

    first = await fake.client.text_document_inline_completion_async(inline_params(uri, 0, 5))
    second = await fake.client.text_document_inline_completion_async(inline_params(uri, 0, 6))

    assert first is None
    assert second is None
    assert len(fake.client.messages) == 1
    assert "reinstall the model package" in fake.client.messages[0].message


async def test_ask_returns_answer_and_sources(fake: FakeServer) -> None:
    await initialize(fake)

    result = await execute(fake, ASK_COMMAND, "where is helper defined?")

    assert result == {"answer": FAKE_ANSWER, "sources": [dataclasses.asdict(FAKE_SOURCE)]}


async def test_ask_error_returns_none_and_shows_once(fake: FakeServer) -> None:
    await initialize(fake)

    first = await execute(fake, ASK_COMMAND, "boom")
    second = await execute(fake, ASK_COMMAND, "boom")

    assert first is None
    assert second is None
    assert len(fake.client.messages) == 1
    assert "fake failure in ask" in fake.client.messages[0].message


async def test_ask_missing_question_shows_usage(fake: FakeServer) -> None:
    await initialize(fake)

    result = await execute(fake, ASK_COMMAND)

    assert result is None
    assert len(fake.client.messages) == 1
    assert "takes [question]" in fake.client.messages[0].message


async def test_explain_open_document_quotes_selection(fake: FakeServer) -> None:
    await initialize(fake)
    uri = fake.uri("pkg/util.py")
    open_document(fake, uri, "import os\n\ndef home():\n    return os.environ['HOME']\n")

    result = await execute(fake, EXPLAIN_COMMAND, uri, 2, 3)

    assert result is not None
    assert result["answer"] == FAKE_ANSWER
    event = await wait_for_event(fake.events, lambda event: event["call"] == "ask")
    assert "lines 3-4 of pkg/util.py" in event["question"]
    assert "def home():\n    return os.environ['HOME']" in event["question"]
    assert "import os" not in event["question"]


async def test_reindex_reports_progress(fake: FakeServer) -> None:
    await initialize(fake)

    summary = await execute(fake, REINDEX_COMMAND)

    assert summary is not None
    assert summary["files_indexed"] == 4
    assert summary["chunks_total"] == 12
    assert len(fake.client.progress_reports) == 1
    reports = next(iter(fake.client.progress_reports.values()))
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    percentages = [report.percentage for report in reports[1:-1]]
    assert percentages == [0, 25, 50, 75, 100]


async def test_reindex_rebuild_argument_reaches_assistant(fake: FakeServer) -> None:
    await initialize(fake)

    await execute(fake, REINDEX_COMMAND, True)

    event = await wait_for_event(fake.events, lambda event: event["call"] == "index")
    assert event["rebuild"] is True


async def start_real_server(root: Path) -> LanguageClient:
    # No request here touches the assistant, so the model is never loaded.
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "lsp", cwd=str(REPO_ROOT))
    root_uri = uris.from_fs_path(str(root))
    params = types.InitializeParams(capabilities=client_capabilities("visual-studio-code"), root_uri=root_uri)
    await client.initialize_session(params)
    return client


async def test_serve_shutdown_exit_code_zero(tmp_path: Path) -> None:
    client = await start_real_server(tmp_path)

    await client.shutdown_session()
    await client.stop()

    assert client._server is not None
    assert client._server.returncode == 0


async def test_serve_exit_without_shutdown_code_one(tmp_path: Path) -> None:
    client = await start_real_server(tmp_path)

    client.exit(None)
    assert client._server is not None
    returncode = await client._server.wait()
    await client.stop()

    assert returncode == 1
