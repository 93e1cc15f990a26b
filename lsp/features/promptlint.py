"""Prompt linting in the editor: debounced, incremental diagnostics per changed document and
quick fixes. A fix comes as a code action or as a command that applies it through
`workspace/applyEdit`. A hover shows a prompt's token count and the tokens of its last line."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lsprotocol import types

from assistant.errors import InvalidInput
from assistant.promptlint import (
    DocumentLinter,
    LintOptions,
    Location,
    Severity,
    Tokenizer,
    TokenLimits,
    discover_text,
    token_view,
)
from assistant.promptlint.checks import options_from_settings
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

APPLY_FIX_COMMAND = "ragcoder.promptlint.applyFix"
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
    """Per-server state: pending debounced lints, one incremental linter and the last result per
    document, and the lazily loaded tokenizer."""

    def __init__(self, server: RagcoderServer) -> None:
        self.server = server
        self._pending: dict[str, asyncio.Task[None]] = {}
        self.results: dict[str, LintResult] = {}
        self.documents: dict[str, DocumentLinter] = {}
        # A thread of its own, so linting never waits behind a long generation on the model
        # worker. Only this thread lints and changes the options; the hover reads a linter's last
        # prompts from the model worker.
        self._worker = server.add_worker("ragcoder-promptlint")
        self._options: LintOptions | None = None
        self._model_lock = threading.Lock()
        self._is_model_requested = False

    @property
    def options(self) -> LintOptions:
        """The lint options from the `lint` settings; invalid settings are shown once and replaced by defaults."""
        if self._options is None:
            try:
                self._options = options_from_settings(self.server.settings.lint)
            except InvalidInput as error:
                self.server.show_once(f"ragcoder ignored the lint settings: {error}", types.MessageType.Error)
                self._options = LintOptions()
        return self._options

    def schedule(self, uri: str) -> None:
        """Lint `uri` after the debounce delay, dropping a lint still waiting for the same document."""
        previous = self._pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self._pending[uri] = asyncio.get_running_loop().create_task(self._lint_later(uri))

    def forget(self, uri: str) -> None:
        """Drop a closed document's pending lint, state and results, and clear its diagnostics."""
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.results.pop(uri, None)
        self.documents.pop(uri, None)
        self.server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    async def _lint_later(self, uri: str) -> None:
        await asyncio.sleep(self.server.settings.lint.debounce_ms / 1000)
        document = self.server.workspace.text_documents.get(uri)
        if document is None:
            return
        text = "\n".join(split_lines(document.source))
        options = self.options
        linter = self.documents.get(uri)
        if linter is None:
            path = request_path(uri, self.server.root)
            linter = self.documents[uri] = DocumentLinter(path, options, language_for(document.language_id))
        loop = asyncio.get_running_loop()
        locations = await loop.run_in_executor(self._worker, linter.lint, text)
        self._pending.pop(uri, None)
        self.results[uri] = LintResult(document.version, text, tuple(locations))
        converter = RangeConverter(text, encoding_name(self.server.workspace.position_encoding))
        diagnostics = [converter.diagnostic(item, uri) for item in locations]
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
        if self.server.closing.is_set():
            return
        tokenizer = self.tokenizer()
        if tokenizer is None:
            return
        options = self.options
        limits = TokenLimits(getattr(tokenizer, "n_ctx", options.limits.n_ctx), options.limits.budget_tokens)
        self._use_options(replace(options, tokenizer=tokenizer, limits=limits))
        logger.info("prompt lint uses the model tokenizer")
        path, model_id = getattr(tokenizer, "path", None), getattr(tokenizer, "model_id", None)
        if path is not None and model_id is not None:
            # A daemon thread, so lints go on during a scan and a scan that is still reading
            # the GGUF metadata (which cannot be cancelled) does not keep the process alive.
            threading.Thread(target=self._scan_undertrained, args=(path, model_id),
                             name="ragcoder-undertrained-scan", daemon=True).start()

    def _scan_undertrained(self, path: Path, model_id: str) -> None:
        """Find the model's under-trained tokens, reading them from the cache when it has them.

        A scan on a fresh cache took about 22 s for Gemma 3 270M on a shared 2-core machine. It
        stops at `shutdown`, and the next session resumes it from the progress saved in the cache.
        """
        from assistant.model_files import cache_dir
        from assistant.promptlint.undertrained import ScanCancelled, load_undertrained

        try:
            undertrained = load_undertrained(path, model_id, cache_dir() / "promptlint", self.server.closing.is_set)
        except ScanCancelled as error:
            logger.info("%s at shutdown; the next session resumes the scan", error)
            return
        except (OSError, ValueError, KeyError) as error:
            logger.warning("prompt lint runs without the under-trained token rule: reading %s failed: %s", path, error)
            return
        try:
            self._worker.submit(self._use_undertrained, undertrained)
        except RuntimeError:
            logger.debug("server shut down before the under-trained tokens were used")

    def _use_undertrained(self, undertrained: dict[int, str]) -> None:
        self._use_options(replace(self.options, undertrained=undertrained))
        logger.info("prompt lint uses %d under-trained tokens", len(undertrained))

    def _use_options(self, options: LintOptions) -> None:
        """Lint with `options` from the next lint of each document on; call it on the lint worker only."""
        # TODO: lint the open documents again here; until then a document that is not edited
        # shows the token rules' findings only after its next change.
        self._options = options
        for linter in list(self.documents.values()):
            linter.options = options

    def tokenizer(self) -> Tokenizer | None:
        """Return the assistant's model as a tokenizer, loading it on first use; None without one."""
        assistant = self.server.get_assistant()
        generator = getattr(assistant, "generator", None)
        return generator() if callable(generator) else None


class RangeConverter:
    """Convert source bytes of one document text into LSP ranges in the client's position encoding."""

    def __init__(self, text: str, encoding: str) -> None:
        self._placer = Placer(text.encode("utf-8"))
        self._lines = text.split("\n")
        self._encoding = encoding

    def position(self, line: int, column: int) -> types.Position:
        """Convert a 0-based line and code point column."""
        return types.Position(line=line, character=to_client_units(self._lines[line], column, self._encoding))

    def range(self, start_byte: int, end_byte: int) -> types.Range:
        """Convert the byte span [start_byte, end_byte)."""
        return types.Range(start=self.position(*self._placer.position(start_byte)),
                           end=self.position(*self._placer.position(end_byte)))

    def diagnostic(self, location: Location, uri: str) -> types.Diagnostic:
        """Convert a located finding into an LSP diagnostic, pointing at its related call if it has one."""
        item = location.finding
        related = None
        if item.related is not None:
            related = [types.DiagnosticRelatedInformation(
                location=types.Location(uri=uri, range=self.range(*item.related)),
                message="the call that fills this template",
            )]
        return types.Diagnostic(
            range=types.Range(start=self.position(location.line, location.column),
                              end=self.position(location.end_line, location.end_column)),
            message=location.message,
            severity=_SEVERITIES[item.severity],
            code=item.code,
            source=DIAGNOSTIC_SOURCE,
            related_information=related,
        )


def fix_edit(uri: str, converter: RangeConverter, location: Location) -> types.WorkspaceEdit:
    """Convert a finding's quick fix into a workspace edit of document `uri`."""
    assert location.finding.fix is not None
    edits = [types.TextEdit(range=converter.range(edit.start_byte, edit.end_byte), new_text=edit.new_text)
             for edit in location.finding.fix.edits]
    return types.WorkspaceEdit(changes={uri: edits})


def code_actions(uri: str, result: LintResult, requested: types.Range, encoding: str,
                 is_literal_supported: bool) -> list[types.CodeAction | types.Command]:
    """Build the quick fixes of the findings that overlap `requested`.

    A client that takes code action literals gets each fix as an edit to apply itself. Any
    other client can only run commands, so it gets a command that makes the server send the
    edit back through `workspace/applyEdit`.
    """
    converter = RangeConverter(result.text, encoding)
    actions: list[types.CodeAction | types.Command] = []
    for index, location in enumerate(result.locations):
        fix = location.finding.fix
        diagnostic = converter.diagnostic(location, uri)
        if fix is None or not _overlaps(diagnostic.range, requested):
            continue
        title = f"{fix.title} ({location.finding.code})"
        if not is_literal_supported:
            actions.append(types.Command(title=title, command=APPLY_FIX_COMMAND, arguments=[uri, result.version, index]))
            continue
        actions.append(types.CodeAction(
            title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
            edit=fix_edit(uri, converter, location), is_preferred=True,
        ))
    return actions


def _overlaps(first: types.Range, second: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(first.start) <= key(second.end) and key(second.start) <= key(first.end)


def fix_arguments(arguments: tuple[Any, ...]) -> tuple[str, int | None, int]:
    """Validate the arguments of the apply-fix command: [uri, document version, finding index]."""
    if (len(arguments) != 3 or not isinstance(arguments[0], str) or not isinstance(arguments[2], int)
            or not (arguments[1] is None or isinstance(arguments[1], int))):
        raise InvalidInput(f"{APPLY_FIX_COMMAND} takes [uri, version, finding index], got {list(arguments)!r}")
    return arguments[0], arguments[1], arguments[2]


async def apply_fix(ls: RagcoderServer, linter: PromptLinter, uri: str, version: int | None, index: int) -> dict[str, Any]:
    """Send the quick fix of finding `index` of `uri` at `version` to the client through `workspace/applyEdit`.

    Raises:
        InvalidInput: the document changed since the fix was offered, or the finding has no fix.
    """
    result = linter.results.get(uri)
    document = ls.workspace.text_documents.get(uri)
    if result is None or document is None or result.version != version or document.version != version:
        raise InvalidInput(f"{uri} changed since the quick fix was offered; request the quick fix again")
    if not 0 <= index < len(result.locations) or result.locations[index].finding.fix is None:
        raise InvalidInput(f"finding {index} of {uri} has no quick fix; request the quick fix again")
    location = result.locations[index]
    assert location.finding.fix is not None
    edit = fix_edit(uri, RangeConverter(result.text, encoding_name(ls.workspace.position_encoding)), location)
    params = types.ApplyWorkspaceEditParams(edit=edit, label=location.finding.fix.title)
    response = await ls.workspace_apply_edit_async(params)
    if not response.applied:
        logger.warning("client did not apply the quick fix for %s: %s", uri, response.failure_reason)
    return {"applied": response.applied}


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
    prompt_text = _prompt_at(linter, uri, document.version, text, byte, document.language_id)
    tokenizer = linter.tokenizer() if prompt_text is not None else None
    if prompt_text is None or tokenizer is None:
        return None
    return token_view(prompt_text, tokenizer).to_markdown()


def _prompt_at(linter: PromptLinter, uri: str, version: int | None, text: str, byte: int,
               language_id: str | None) -> str | None:
    """Find the prompt at `byte`, from the last lint when it saw this version, else by reading the text."""
    result = linter.results.get(uri)
    document_linter = linter.documents.get(uri)
    if result is not None and document_linter is not None and result.version == version and result.text == text:
        return document_linter.prompt_at(byte)
    discovery = discover_text(request_path(uri, linter.server.root), text, language_for(language_id))
    prompt = next((p for p in discovery.prompts if p.start_byte <= byte < p.end_byte), None) if discovery else None
    return prompt.text.text if prompt is not None else None


def register(server: RagcoderServer) -> None:
    """Register prompt diagnostics, quick fixes, the apply-fix command and hover on `server`."""
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
    async def on_code_action(ls: RagcoderServer, params: types.CodeActionParams) -> list[types.CodeAction | types.Command] | None:
        uri = params.text_document.uri
        result = linter.results.get(uri)
        document = ls.workspace.text_documents.get(uri)
        if result is None or document is None or result.version != document.version:
            return None
        capabilities = ls.client_capabilities.text_document
        is_literal_supported = bool(capabilities and capabilities.code_action and capabilities.code_action.code_action_literal_support)
        encoding = encoding_name(ls.workspace.position_encoding)
        return code_actions(uri, result, params.range, encoding, is_literal_supported) or None

    @server.command(APPLY_FIX_COMMAND)
    @guarded(APPLY_FIX_COMMAND, is_command=True)
    async def on_apply_fix(ls: RagcoderServer, *arguments: Any) -> dict[str, Any] | None:
        uri, version, index = fix_arguments(arguments)
        return await apply_fix(ls, linter, uri, version, index)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded("prompt hover", is_command=False)
    async def on_hover(ls: RagcoderServer, params: types.HoverParams) -> types.Hover | None:
        markdown = await ls.run_model(hover_markdown, linter, params.text_document.uri, params.position)
        if markdown is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))
