"""End-to-end test of `ragcoder.status` in the real language server (`python -m lsp`) over
stdio: the model file, the index state before, during and after `ragcoder.reindex`, and
the latency of the last completion, on a small repository with the real model."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls import uris
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from assistant.config import DefaultModel
from assistant.model_files import default_model_path
from lsp.features.commands import REINDEX_COMMAND, STATUS_COMMAND

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

REPOSITORY_FILES = {
    "pyproject.toml": """\
        [project]
        name = "units-demo"
        version = "0.1.0"
        """,
    "units.py": '''\
        """Length conversions."""

        INCHES_PER_FOOT = 12


        def feet_to_inches(feet):
            """Convert feet to inches."""
            return feet * INCHES_PER_FOOT


        def inches_to_feet(inches):
            """Convert inches to feet."""
            return inches / INCHES_PER_FOOT
        ''',
    "report.py": '''\
        """Print a conversion table."""

        from units import feet_to_inches


        def table(limit):
            """Return lines of feet and inches up to `limit` feet."""
            return [f"{feet} ft = {feet_to_inches(feet)} in" for feet in range(limit)]
        ''',
}

DRAFT_TEXT = "from units import INCHES_PER_FOOT\n\n\ndef yards_to_inches(yards):\n    return "


async def execute(client: LanguageClient, command: str, *arguments: Any) -> Any:
    params = types.ExecuteCommandParams(command=command, arguments=list(arguments))
    return await client.workspace_execute_command_async(params)


async def start_server(root: Path) -> LanguageClient:
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "lsp", cwd=str(root))
    root_uri = uris.from_fs_path(str(root))
    assert root_uri is not None
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root_uri,
            workspace_folders=[types.WorkspaceFolder(uri=root_uri, name=root.name)],
        )
    )
    return client


async def test_status_follows_index_and_completion(tmp_path: Path) -> None:
    for name, text in REPOSITORY_FILES.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    client = await start_server(tmp_path)
    try:
        before = await execute(client, STATUS_COMMAND)

        # The server sends the first `$/progress` report after the index run has started
        # and before it loads the embedder, so the status request that follows finds it going.
        progress_begin = client.protocol.wait_for_notification_async(types.PROGRESS)
        reindex = asyncio.ensure_future(execute(client, REINDEX_COMMAND))
        await progress_begin
        during = await execute(client, STATUS_COMMAND)
        summary = await reindex
        after_index = await execute(client, STATUS_COMMAND)

        uri = uris.from_fs_path(str(tmp_path / "draft.py"))
        assert uri is not None
        item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=DRAFT_TEXT)
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        last_line = DRAFT_TEXT.split("\n")[-1]
        completion = await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=DRAFT_TEXT.count("\n"), character=len(last_line)),
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            )
        )
        after_completion = await execute(client, STATUS_COMMAND)
    finally:
        await client.shutdown_session()
        await client.stop()

    model_name = default_model_path(DefaultModel.GEMMA3_270M).name
    assert before == {"model": model_name, "index": {"state": "missing"}, "last_completion_latency_ms": None}

    assert during["index"]["state"] == "indexing"
    assert 0 <= during["index"]["percentage"] <= 100
    assert during["model"] == model_name

    assert summary is not None
    assert after_index["index"] == {
        "state": "ready",
        "files": summary["files_indexed"],
        "chunks": summary["chunks_total"],
    }
    assert summary["files_indexed"] == 2
    assert after_index["last_completion_latency_ms"] is None

    assert isinstance(completion, types.InlineCompletionList)
    latency_ms = after_completion["last_completion_latency_ms"]
    assert isinstance(latency_ms, float)
    assert latency_ms > 0
    assert after_completion["index"] == after_index["index"]
    assert client.messages == []


async def test_status_rejects_arguments(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "empty"\nversion = "0.1.0"\n', encoding="utf-8")
    client = await start_server(tmp_path)
    try:
        result = await execute(client, STATUS_COMMAND, "extra")
    finally:
        await client.shutdown_session()
        await client.stop()

    assert result is None
    assert len(client.messages) == 1
    assert client.messages[0].type == types.MessageType.Error
    assert "ragcoder.status takes no arguments" in client.messages[0].message
