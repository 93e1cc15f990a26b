"""Completion handlers: `textDocument/inlineCompletion` (ghost text, LSP 3.18) and
`textDocument/completion` (one item), both backed by `Assistant.complete`."""

from __future__ import annotations

import asyncio
import logging
import time

from lsprotocol import types

from assistant.results import CompletionRequest, CompletionResult
from lsp.features.documents import (
    DocumentSnapshot,
    Ticket,
    client_position,
    take_snapshot,
)
from lsp.session import RagcoderServer, guarded

logger = logging.getLogger(__name__)

COMPLETION_DETAIL = "ragcoder"


def _complete_in_worker(
    ls: RagcoderServer, request: CompletionRequest, ticket: Ticket
) -> CompletionResult | None:
    # A request that waited behind another one may be stale before it starts.
    if ticket.is_cancelled():
        return None
    assistant = ls.get_assistant()
    if assistant is None:
        return None
    return assistant.complete(request, ticket.is_cancelled)


async def complete_at(
    ls: RagcoderServer, uri: str, position: types.Position
) -> tuple[DocumentSnapshot, CompletionResult] | None:
    """Run the assistant at a cursor; None when there is nothing to insert or the
    request went stale (cancelled, superseded, or the document changed meanwhile)."""
    started = time.perf_counter()
    snapshot = take_snapshot(ls.workspace, uri, position, ls.root)
    if snapshot is None or ls.root is None:
        return None

    request = CompletionRequest(
        path=snapshot.path,
        text=snapshot.text,
        line=snapshot.line,
        column=snapshot.column,
        language=snapshot.language,
    )
    ticket = ls.completions.start(uri, snapshot.version)
    try:
        result = await ls.run_model(_complete_in_worker, ls, request, ticket)
    except asyncio.CancelledError:
        ticket.cancel()
        raise
    finally:
        ls.completions.finish(ticket)

    if result is None or not result.text or ticket.is_cancelled():
        return None
    # Includes the wait for the model worker, because the user waits for that too.
    ls.activity.last_completion_latency_ms = (time.perf_counter() - started) * 1000.0
    return snapshot, result


def _replace_range(snapshot: DocumentSnapshot, result: CompletionResult, start_column: int) -> types.Range:
    end_column = max(result.replace_end_column, snapshot.column)
    return types.Range(
        start=client_position(snapshot, start_column), end=client_position(snapshot, end_column)
    )


def inline_completion_list(snapshot: DocumentSnapshot, result: CompletionResult) -> types.InlineCompletionList:
    """Build the inline completion result: one item whose range covers cursor..replace end."""
    item = types.InlineCompletionItem(
        insert_text=result.text, range=_replace_range(snapshot, result, snapshot.column)
    )
    return types.InlineCompletionList(items=[item])


def _word_start(line_text: str, column: int) -> int:
    start = column
    while start > 0 and (line_text[start - 1].isalnum() or line_text[start - 1] == "_"):
        start -= 1
    return start


def completion_list(snapshot: DocumentSnapshot, result: CompletionResult) -> types.CompletionList:
    """Build the completion list: one plain-text item with the completed text.

    The edit starts at the beginning of the word under the cursor, because editors
    filter items by that word: an item for `def add_nu|` must begin with `add_nu`.
    """
    start = _word_start(snapshot.line_text, snapshot.column)
    typed = snapshot.line_text[start : snapshot.column]
    new_text = typed + result.text
    first_line = next((line.strip() for line in result.text.splitlines() if line.strip()), "")
    item = types.CompletionItem(
        label=first_line or result.text,
        kind=types.CompletionItemKind.Text,
        detail=COMPLETION_DETAIL,
        filter_text=typed + result.text.split("\n", 1)[0],
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=_replace_range(snapshot, result, start), new_text=new_text),
    )
    # Incomplete, so the editor sends a new request after each keystroke instead of
    # filtering a completion computed for an earlier cursor.
    return types.CompletionList(is_incomplete=True, items=[item])


def register(server: RagcoderServer) -> None:
    """Register both completion features on `server`."""

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    @guarded("inline completion", is_command=False)
    async def on_inline_completion(
        ls: RagcoderServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        completed = await complete_at(ls, params.text_document.uri, params.position)
        if completed is None:
            return None
        return inline_completion_list(*completed)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    @guarded("completion", is_command=False)
    async def on_completion(ls: RagcoderServer, params: types.CompletionParams) -> types.CompletionList | None:
        completed = await complete_at(ls, params.text_document.uri, params.position)
        if completed is None:
            return None
        return completion_list(*completed)
