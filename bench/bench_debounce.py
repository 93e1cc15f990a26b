"""Measure how the editor's completion debounce trades requests against waiting, with the
real language server (`python -m lsp`), model and index.

A simulated typist types real code lines into an open document, one character per
keystroke with random pauses between keys, and stops at the end of each line. The client
does what the VS Code extension does: each keystroke sends `didChange`, cancels the
request still waiting out its debounce or running, and starts a new debounce. For each
debounce value it prints the requests sent per 100 keystrokes and the time from the last
keystroke of a line to the suggestion (median and p90), measured side by side in one run.

Run: python bench/bench_debounce.py [--debounce-ms 0,50,75,100,125,150,200] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls import uris
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

# The typed lines come from the standard library's json package, which is also the indexed repository.
PREFIX = '"""Helpers around the json package."""\n\nimport json\n\n\n'
TYPED_LINES = [
    "def dump_sorted(obj, fp):",
    "    return json.dump(obj, fp, sort_keys=True, indent=4)",
    "def loads_or_none(text):",
    "    try:",
    "        return json.loads(text)",
    "    except json.JSONDecodeError:",
]
# Median gaps between keystrokes in milliseconds, for a fast and a slower typist. They are
# assumptions that span common typing speeds, not measurements of people.
TYPIST_MEDIAN_GAP_MS = (120, 220)
GAP_SIGMA = 0.5
LINE_PAUSE_S = 2.0
SUGGESTION_TIMEOUT_S = 30.0


@dataclass
class Result:
    """Counts and waits of one typing run."""

    keystrokes: int = 0
    requests: int = 0
    waits_ms: list[float] = field(default_factory=list)
    missed: int = 0


class DebouncingClient:
    """The extension's request logic over a pygls client: debounce, then cancel on the next key."""

    def __init__(self, client: LanguageClient, uri: str, debounce_s: float) -> None:
        self.client = client
        self.uri = uri
        self.debounce_s = debounce_s
        self.version = 1
        self.pending: asyncio.Task[types.InlineCompletionList | None] | None = None
        self.result = Result()
        self.last_key_s = 0.0
        self.answered_s = 0.0

    def keystroke(self, text: str, position: types.Position) -> None:
        """Send the new text and restart the debounce for a request at `position`."""
        self.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        self.result.keystrokes += 1
        self.last_key_s = time.perf_counter()
        if self.pending is not None:
            self.pending.cancel()
        self.pending = asyncio.ensure_future(self._request_later(position))

    async def _request_later(self, position: types.Position) -> types.InlineCompletionList | None:
        await asyncio.sleep(self.debounce_s)
        self.result.requests += 1
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri),
            position=position,
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
        )
        # pygls 2.1 sends no $/cancelRequest for a cancelled request, and a reply to a cancelled
        # future stops its client, so the request future is shielded and the typist sends the
        # cancellation itself, as VS Code does.
        request_id = str(uuid.uuid4())
        reply = asyncio.wrap_future(
            self.client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=request_id)
        )
        reply.add_done_callback(lambda done: done.exception())
        try:
            result: types.InlineCompletionList | None = await asyncio.shield(reply)
        except asyncio.CancelledError:
            self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))
            raise
        self.answered_s = time.perf_counter()
        return result


async def type_lines(typist: DebouncingClient, rng: random.Random, median_gap_ms: float) -> None:
    text = PREFIX
    for line in TYPED_LINES:
        for character in line:
            text += character
            cursor_line = text.split("\n")
            typist.keystroke(text, types.Position(line=len(cursor_line) - 1, character=len(cursor_line[-1])))
            await asyncio.sleep(rng.lognormvariate(0.0, GAP_SIGMA) * median_gap_ms / 1000.0)

        pending = typist.pending
        assert pending is not None
        try:
            suggestion = await asyncio.wait_for(asyncio.shield(pending), SUGGESTION_TIMEOUT_S)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            suggestion = None
        if suggestion is None or not suggestion.items:
            typist.result.missed += 1
        else:
            # Timed from the last keystroke, because the user stops typing there and waits.
            typist.result.waits_ms.append((typist.answered_s - typist.last_key_s) * 1000.0)
        await asyncio.sleep(LINE_PAUSE_S)
        text += "\n"


async def start(repo: Path) -> LanguageClient:
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "lsp", cwd=str(repo))
    root_uri = uris.from_fs_path(str(repo))
    assert root_uri is not None
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root_uri,
            workspace_folders=[types.WorkspaceFolder(uri=root_uri, name=repo.name)],
        )
    )
    await client.workspace_execute_command_async(types.ExecuteCommandParams(command="ragcoder.reindex", arguments=[]))
    return client


async def run(debounces_ms: list[int], rounds: int) -> dict[tuple[int, int], Result]:
    results: dict[tuple[int, int], Result] = {}
    with tempfile.TemporaryDirectory(prefix="ragcoder-debounce-") as directory:
        repo = Path(directory) / "repo"
        shutil.copytree(Path(sysconfig.get_paths()["stdlib"]) / "json", repo / "json", ignore=shutil.ignore_patterns("__pycache__"))
        (repo / ".ragcoder.toml").write_text("[model]\nn_threads = 1\n\n[embedding]\nn_threads = 1\n", encoding="utf-8")
        client = await start(repo)
        try:
            # Interleave the settings round by round, so drift in machine load hits them alike.
            for round_index in range(rounds):
                for gap_ms in TYPIST_MEDIAN_GAP_MS:
                    for debounce_ms in debounces_ms:
                        uri = uris.from_fs_path(str(repo / f"draft_{round_index}_{gap_ms}_{debounce_ms}.py"))
                        assert uri is not None
                        item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=PREFIX)
                        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
                        typist = DebouncingClient(client, uri, debounce_ms / 1000.0)
                        await type_lines(typist, random.Random(round_index), gap_ms)
                        client.text_document_did_close(
                            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
                        )
                        total = results.setdefault((gap_ms, debounce_ms), Result())
                        total.keystrokes += typist.result.keystrokes
                        total.requests += typist.result.requests
                        total.waits_ms += typist.result.waits_ms
                        total.missed += typist.result.missed
                        print(f"round {round_index + 1}: {table_row(gap_ms, debounce_ms, total)}", file=sys.stderr, flush=True)
        finally:
            await client.shutdown_session()
            await client.stop()
    return results


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def table_row(gap_ms: int, debounce_ms: int, result: Result) -> str:
    """Format one setting's totals as a Markdown table row."""
    per_100 = 100.0 * result.requests / max(1, result.keystrokes)
    median = statistics.median(result.waits_ms) if result.waits_ms else float("nan")
    p90 = percentile(result.waits_ms, 0.9) if result.waits_ms else float("nan")
    return (
        f"| {gap_ms} ms | {debounce_ms} ms | {per_100:.0f} | {median:.0f} ms | {p90:.0f} ms | "
        f"{result.missed} of {result.missed + len(result.waits_ms)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--debounce-ms", default="0,50,75,100,125,150,200", help="comma-separated debounce values in ms")
    parser.add_argument("--rounds", type=int, default=2, help="repetitions of every setting, interleaved")
    args = parser.parse_args()
    debounces_ms = [int(value) for value in args.debounce_ms.split(",")]

    results = asyncio.run(run(debounces_ms, args.rounds))

    print("| median key gap | debounce | requests per 100 keys | wait after last key, median | p90 | lines without suggestion |")
    print("|---|---|---|---|---|---|")
    for (gap_ms, debounce_ms), result in sorted(results.items()):
        print(table_row(gap_ms, debounce_ms, result))


if __name__ == "__main__":
    main()
