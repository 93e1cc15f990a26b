"""Prompt linting in the editor: debounced diagnostics per changed document, quick fixes as
code actions, and a hover with a prompt's token count and how the model tokenizes its last line."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from lsprotocol import types

from assistant.promptlint import (
    LintOptions,
    Location,
    Severity,
    Tokenizer,
    TokenLimits,
    discover_text,
    lint_text,
    token_view,
)
from assistant.promptlint.placement import Placer
from lsp.features.documents import (
    encoding_name,
    language_for,
    request_path,
    split_lines,
    to_client_units,
    to_code_points,
)
from lsp.session import RagcoderServer, guarded

logger = logging.getLogger(__name__)

# Delay after the last change before a document is linted again; a setting once config.py has one.
DEBOUNCE_S = 0.3
DIAGNOSTIC_SOURCE = "ragcoder-prompts"
_SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


@dataclass(frozen=True)
class LintResult:
    """The findings of one document version, kept for code actions."""

    version: int | None
    text: str
    locations: tuple[Location, ...]


class PromptLinter:
    """Per-server state: pending debounced lints, the last results and the lazily loaded tokenizer."""

    def __init__(self, server: RagcoderServer) -> None:
        self.server = server
        self._pending: dict[str, asyncio.Task[None]] = {}
        self.results: dict[str, LintResult] = {}
        # A thread of its own, so linting never waits behind a long generation on the model worker.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragcoder-promptlint")
        self._options = LintOptions()
        self._model_lock = threading.Lock()
        self._is_model_requested = False

    def schedule(self, uri: str) -> None:
        """Lint `uri` after the debounce delay, dropping a lint still waiting for the same document."""
        previous = self._pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self._pending[uri] = asyncio.get_running_loop().create_task(self._lint_later(uri))

    def forget(self, uri: str) -> None:
        """Drop a closed document's pending lint and results, and clear its diagnostics."""
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.results.pop(uri, None)
        self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    async def _lint_later(self, uri: str) -> None:
        await asyncio.sleep(DEBOUNCE_S)
        document = self.server.workspace.text_documents.get(uri)
        if document is None:
            return
        text = "\n".join(split_lines(document.source))
        path = request_path(uri, self.server.root)
        language = language_for(document.language_id)
        loop = asyncio.get_running_loop()
        locations = await loop.run_in_executor(self._worker, lint_text, path, text, self._options, language)
        self._pending.pop(uri, None)
        self.results[uri] = LintResult(document.version, text, tuple(locations))
        encoding = encoding_name(self.server.workspace.position_encoding)
        diagnostics = [to_diagnostic(item, text, encoding) for item in locations]
        self.server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=document.version, diagnostics=diagnostics)
        )
        self._request_model()

    def _request_model(self) -> None:
        """Load the model's tokenizer in the background once, so later lints run the token rules."""
        with self._model_lock:
            if self._is_model_requested or self.server.root is None:
                return
            self._is_model_requested = True
        self._worker.submit(self._load_model)

    def _load_model(self) -> None:
        tokenizer = self.tokenizer()
        if tokenizer is None:
            return
        from assistant.model_files import cache_dir
        from assistant.promptlint.undertrained import load_undertrained

        limits = TokenLimits(getattr(tokenizer, "n_ctx", self._options.limits.n_ctx))
        undertrained: dict[int, str] = {}
        path, model_id = getattr(tokenizer, "path", None), getattr(tokenizer, "model_id", None)
        if path is not None and model_id is not None:
            undertrained = load_undertrained(path, model_id, cache_dir() / "promptlint")
        self._options = replace(self._options, tokenizer=tokenizer, limits=limits, undertrained=undertrained)
        logger.info("prompt lint uses the model tokenizer (%d under-trained tokens)", len(undertrained))

    def tokenizer(self) -> Tokenizer | None:
        """Return the assistant's model as a tokenizer, loading it on first use; None without one."""
        assistant = self.server.get_assistant()
        generator = getattr(assistant, "generator", None)
        return generator() if callable(generator) else None



def to_range(text: str, start_byte: int, end_byte: int, encoding: str) -> types.Range:
    """Convert source bytes of `text` into an LSP range in the client's position encoding."""
    placer = Placer(text.encode("utf-8"))
    lines = text.split("\n")
    positions = []
    for byte in (start_byte, end_byte):
        line, column = placer.position(byte)
        positions.append(types.Position(line=line, character=to_client_units(lines[line], column, encoding)))
    return types.Range(start=positions[0], end=positions[1])


def to_diagnostic(location: Location, text: str, encoding: str) -> types.Diagnostic:
    """Convert a located finding into an LSP diagnostic."""
    item = location.finding
    return types.Diagnostic(
        range=to_range(text, item.start_byte, item.end_byte, encoding),
        message=item.message,
        severity=_SEVERITIES[item.severity],
        code=item.code,
        source=DIAGNOSTIC_SOURCE,
    )


def code_actions(uri: str, result: LintResult, requested: types.Range, encoding: str) -> list[types.CodeAction]:
    """Build the quick fixes of the findings that overlap `requested`."""
    actions = []
    for location in result.locations:
        fix = location.finding.fix
        diagnostic = to_diagnostic(location, result.text, encoding)
        if fix is None or not _overlaps(diagnostic.range, requested):
            continue
        edits = [types.TextEdit(range=to_range(result.text, edit.start_byte, edit.end_byte, encoding), new_text=edit.new_text)
                 for edit in fix.edits]
        actions.append(types.CodeAction(
            title=f"{fix.title} ({location.finding.code})", kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic], edit=types.WorkspaceEdit(changes={uri: edits}), is_preferred=True,
        ))
    return actions


def _overlaps(first: types.Range, second: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(first.start) <= key(second.end) and key(second.start) <= key(first.end)


def hover_markdown(linter: PromptLinter, uri: str, position: types.Position) -> str | None:
    """Describe the prompt under the cursor with the model's tokens; None when no prompt is there."""
    document = linter.server.workspace.text_documents.get(uri)
    if document is None:
        return None
    lines = split_lines(document.source)
    if position.line >= len(lines):
        return None
    text = "\n".join(lines)
    encoding = encoding_name(linter.server.workspace.position_encoding)
    column = to_code_points(lines[position.line], position.character, encoding)
    byte = len("\n".join(lines[:position.line]).encode("utf-8")) + (1 if position.line else 0)
    byte += len(lines[position.line][:column].encode("utf-8"))
    discovery = discover_text(request_path(uri, linter.server.root), text, language_for(document.language_id))
    prompt = next((p for p in discovery.prompts if p.start_byte <= byte < p.end_byte), None) if discovery else None
    tokenizer = linter.tokenizer() if prompt is not None else None
    if prompt is None or tokenizer is None:
        return None
    return token_view(prompt.text.text, tokenizer).to_markdown()


def register(server: RagcoderServer) -> None:
    """Register prompt diagnostics, quick fixes and hover on `server`."""
    linter = PromptLinter(server)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @guarded("prompt lint", is_command=False)
    async def on_open(ls: RagcoderServer, params: types.DidOpenTextDocumentParams) -> None:
        linter.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @guarded("prompt lint", is_command=False)
    async def on_change(ls: RagcoderServer, params: types.DidChangeTextDocumentParams) -> None:
        linter.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @guarded("prompt lint", is_command=False)
    async def on_close(ls: RagcoderServer, params: types.DidCloseTextDocumentParams) -> None:
        linter.forget(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    @guarded("prompt quick fix", is_command=False)
    async def on_code_action(ls: RagcoderServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        result = linter.results.get(uri)
        document = ls.workspace.text_documents.get(uri)
        if result is None or document is None or result.version != document.version:
            return None
        return code_actions(uri, result, params.range, encoding_name(ls.workspace.position_encoding)) or None

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded("prompt hover", is_command=False)
    async def on_hover(ls: RagcoderServer, params: types.HoverParams) -> types.Hover | None:
        markdown = await ls.run_model(hover_markdown, linter, params.text_document.uri, params.position)
        if markdown is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))
