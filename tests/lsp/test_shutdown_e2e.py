"""End-to-end tests of a prompt exit: the real server (`python -m lsp`) over stdio with an empty
cache folder, so the first completion starts the long under-trained token scan, and `exit`
must end the process while that scan is still running. The next session resumes the scan."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pygls import uris
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from assistant.model_files import CACHE_DIR_VARIABLE, gemma3_path
from assistant.promptlint.undertrained import find_undertrained
from indexer.gguf_convert import default_cache_dir
from tests.lsp.test_server_e2e import open_draft, write_repository

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]

# The scan took 11 to 22 s on Gemma 3 270M on a shared 2-core machine, so an exit within 3 s did not wait for it.
EXIT_TIMEOUT_S = 3.0
SCAN_START_TIMEOUT_S = 120.0
# Logged by load_undertrained just before the scan starts, when no cached result exists.
SCAN_START_LOG = "no usable under-trained token cache"
# Logged after each block of embedding rows, once the scan is past reading the GGUF metadata.
SCAN_PROGRESS_LOG = "saved the under-trained token scan progress"
SCAN_RESUME_LOG = "resuming the under-trained token scan"
SCAN_DONE_LOG = r"prompt lint uses \d+ under-trained tokens"
SCAN_DONE_TIMEOUT_S = 180.0


def fresh_cache(cache: Path) -> None:
    """Fill `cache` with links to the assembled models only, so nothing cached for prompt lint exists."""
    model = gemma3_path()
    (cache / "models").mkdir(parents=True)
    (cache / "models" / model.name).symlink_to(model)
    stamp = model.with_name(model.name + ".verified.json")
    if stamp.is_file():
        shutil.copy(stamp, cache / "models" / stamp.name)
    # The converted embedding model; without it the completion would convert it again.
    for converted in default_cache_dir().glob("*.gguf"):
        (cache / converted.name).symlink_to(converted)


async def wait_for_log(path: Path, pattern: str, timeout_s: float) -> None:
    """Wait until the server's log file has a line that matches the regular expression `pattern`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.is_file() and re.search(pattern, path.read_text(encoding="utf-8", errors="replace")):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the server did not log {pattern!r} within {timeout_s} s; see {path}")


class Session:
    """One server process over `root` with `cache` as its cache folder, logging to `log`."""

    def __init__(self, root: Path, cache: Path, log: Path) -> None:
        self.root, self.cache, self.log = root, cache, log
        self.client = make_test_lsp_client()

    async def start_scan(self) -> None:
        """Start the server, open a document and request a completion, which starts the scan."""
        environment = {**os.environ, CACHE_DIR_VARIABLE: str(self.cache)}
        await self.client.start_io(sys.executable, "-m", "lsp", "-vv", "--log-file", str(self.log),
                                   cwd=str(self.root), env=environment)
        root_uri = uris.from_fs_path(str(self.root))
        assert root_uri is not None
        await self.client.initialize_session(types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root_uri,
            workspace_folders=[types.WorkspaceFolder(uri=root_uri, name=self.root.name)],
            initialization_options={"lint": {"debounce_ms": 50}},
        ))
        uri, position = open_draft(self.client, self.root)
        params = types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
        await self.client.text_document_completion_async(params)

    async def exit_time_s(self) -> float:
        """Send `shutdown` and `exit`, and return the seconds until the process ended."""
        await self.client.shutdown_async(None)
        self.client.exit(None)
        started = time.perf_counter()
        assert self.client._server is not None
        try:
            await asyncio.wait_for(self.client._server.wait(), EXIT_TIMEOUT_S)
        except TimeoutError:
            pytest.fail(f"the server was still running {EXIT_TIMEOUT_S} s after exit; see {self.log}")
        return time.perf_counter() - started

    async def stop(self) -> None:
        """Kill the server if it still runs, then stop the client.

        pygls' `stop` waits for the process to end, so a test that fails before `exit`
        would otherwise hang.
        """
        server = self.client._server
        if server is not None and server.returncode is None:
            server.kill()
        await self.client.stop()

    @property
    def return_code(self) -> int | None:
        assert self.client._server is not None
        return self.client._server.returncode


def new_session(tmp_path: Path, name: str) -> Session:
    root, cache = tmp_path / "repo", tmp_path / "cache"
    if not root.exists():
        root.mkdir()
        write_repository(root)
        fresh_cache(cache)
    return Session(root, cache, tmp_path / f"{name}.log")


async def test_exit_during_undertrained_scan_is_prompt(tmp_path: Path) -> None:
    session = new_session(tmp_path, "server")
    try:
        await session.start_scan()
        await wait_for_log(session.log, SCAN_START_LOG, SCAN_START_TIMEOUT_S)
        # Let the scan get going; the GGUF metadata read alone takes several seconds.
        await asyncio.sleep(1.0)
        exit_s = await session.exit_time_s()
    finally:
        await session.stop()

    assert session.return_code == 0
    assert exit_s < EXIT_TIMEOUT_S
    # No finished result is cached, so the exit did not wait for the scan to end.
    assert list(session.cache.glob("promptlint/undertrained-*.json")) == []


async def test_exit_mid_scan_next_session_resumes(tmp_path: Path) -> None:
    first = new_session(tmp_path, "first")
    try:
        await first.start_scan()
        await wait_for_log(first.log, SCAN_PROGRESS_LOG, SCAN_START_TIMEOUT_S)
        exit_s = await first.exit_time_s()
    finally:
        await first.stop()

    assert first.return_code == 0
    assert exit_s < EXIT_TIMEOUT_S
    assert list(first.cache.glob("promptlint/undertrained-*.json")) == []
    assert len(list(first.cache.glob("promptlint/undertrained-*.partial.npz"))) == 1

    second = new_session(tmp_path, "second")
    try:
        await second.start_scan()
        await wait_for_log(second.log, SCAN_DONE_LOG, SCAN_DONE_TIMEOUT_S)
        await second.client.shutdown_session()
    finally:
        await second.stop()

    assert SCAN_RESUME_LOG in second.log.read_text(encoding="utf-8")
    assert list(second.cache.glob("promptlint/undertrained-*.partial.npz")) == []
    cached = list(second.cache.glob("promptlint/undertrained-*.json"))
    assert len(cached) == 1
    stored = json.loads(cached[0].read_text(encoding="utf-8"))
    expected = find_undertrained(gemma3_path())
    assert [row[:2] for row in stored["tokens"]] == [[item.token_id, item.text] for item in expected]
