"""End-to-end tests of prompt linting in the real language server (`python -m lsp`) over stdio,
driven by pytest-lsp's client: diagnostics for an opened file, a quick fix that removes its
finding (applied by the client, or sent back by the server through `workspace/applyEdit`),
and a hover that shows the real model's tokens."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls import uris
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

DRAFT = '''\
def answer(question, llm):
    msg = 'Reply in JSON like {"answer": "..."} for {question}'.format(question=question)
    prompt = f"Complete the code:\\n{question} "
    return llm(msg), llm(prompt)
'''
NOTIFICATION_TIMEOUT_S = 60


# A client that takes no code action literals, so quick fixes come to it as commands.
COMMAND_ONLY_CAPABILITIES = types.ClientCapabilities(
    workspace=types.WorkspaceClientCapabilities(apply_edit=True),
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(),
        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True),
    ),
)


async def _start(root: Path, capabilities: types.ClientCapabilities) -> LanguageClient:
    lsp_client = make_test_lsp_client()
    await lsp_client.start_io(sys.executable, "-m", "lsp", cwd=str(root))
    root_uri = uris.from_fs_path(str(root))
    assert root_uri is not None
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=capabilities,
        root_uri=root_uri,
        workspace_folders=[types.WorkspaceFolder(uri=root_uri, name=root.name)],
        initialization_options={"lint": {"debounce_ms": 50}},
    ))
    return lsp_client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[LanguageClient, Path]]:
    root = tmp_path_factory.mktemp("prompt_repo")
    (root / "pyproject.toml").write_text('[project]\nname = "prompt-demo"\nversion = "0.1.0"\n', encoding="utf-8")
    lsp_client = await _start(root, client_capabilities("visual-studio-code"))
    yield lsp_client, root
    await lsp_client.shutdown_session()
    await lsp_client.stop()


async def diagnostics_for(lsp_client: LanguageClient, uri: str, version: int) -> list[types.Diagnostic]:
    """Wait until the server publishes diagnostics for `uri` at `version`."""
    while True:
        params = await lsp_client.wait_for_notification("textDocument/publishDiagnostics")
        if params.uri == uri and params.version == version:
            return list(params.diagnostics)


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for edit in sorted(edits, key=lambda item: (item.range.start.line, item.range.start.character), reverse=True):
        start = offsets[edit.range.start.line] + edit.range.start.character
        end = offsets[edit.range.end.line] + edit.range.end.character
        text = text[:start] + edit.new_text + text[end:]
    return text


async def test_open_file_publishes_prompt_diagnostics(client: tuple[LanguageClient, Path]) -> None:
    lsp_client, root = client
    uri = uris.from_fs_path(str(root / "draft.py"))
    assert uri is not None
    lsp_client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=DRAFT)))
    diagnostics = await diagnostics_for(lsp_client, uri, 1)
    assert sorted(str(item.code) for item in diagnostics) == ["RCP003", "RCP005"]
    brace = next(item for item in diagnostics if item.code == "RCP003")
    assert brace.range.start == types.Position(line=1, character=30)
    assert brace.severity == types.DiagnosticSeverity.Error


async def test_quick_fix_edit_removes_finding(client: tuple[LanguageClient, Path]) -> None:
    lsp_client, root = client
    uri = uris.from_fs_path(str(root / "fix_me.py"))
    assert uri is not None
    lsp_client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=DRAFT)))
    diagnostics = await diagnostics_for(lsp_client, uri, 1)
    brace = next(item for item in diagnostics if item.code == "RCP003")

    actions = await lsp_client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=brace.range,
        context=types.CodeActionContext(diagnostics=[brace])))
    assert actions is not None
    fix = next(item for item in actions if isinstance(item, types.CodeAction) and "RCP003" in item.title)
    assert fix.kind == types.CodeActionKind.QuickFix
    assert fix.edit is not None and fix.edit.changes is not None
    fixed = apply_edits(DRAFT, list(fix.edit.changes[uri]))
    assert '{{"answer": "..."}} for {question}' in fixed

    lsp_client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)]))
    after = await diagnostics_for(lsp_client, uri, 2)
    assert [str(item.code) for item in after] == ["RCP005"]


async def test_hover_on_prompt_shows_tokens(client: tuple[LanguageClient, Path]) -> None:
    lsp_client, root = client
    uri = uris.from_fs_path(str(root / "hover.py"))
    assert uri is not None
    lsp_client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=DRAFT)))
    hover = await lsp_client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=2, character=20)))
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent)
    assert "tokens**" in hover.contents.value
    assert "' '" in hover.contents.value
    nothing = await lsp_client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=2)))
    assert nothing is None


async def test_quick_fix_command_applies_edit_through_server(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.ragcoder.lint]\nignore = ["RCP003"]\n', encoding="utf-8")
    lsp_client = await _start(tmp_path, COMMAND_ONLY_CAPABILITIES)
    uri = uris.from_fs_path(str(tmp_path / "commands.py"))
    assert uri is not None
    versions = [DRAFT]  # the client's text of the document, one entry per version
    applied: list[types.WorkspaceEdit] = []

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        assert params.edit.changes is not None
        applied.append(params.edit)
        versions.append(apply_edits(versions[-1], list(params.edit.changes[uri])))
        lsp_client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=len(versions)),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=versions[-1])]))
        return types.ApplyWorkspaceEditResult(applied=True)

    try:
        lsp_client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=DRAFT)))
        diagnostics = await diagnostics_for(lsp_client, uri, 1)
        assert [str(item.code) for item in diagnostics] == ["RCP005"]

        actions = await lsp_client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=diagnostics)))
        assert actions is not None
        assert all(isinstance(item, types.Command) for item in actions)
        command = next(item for item in actions if isinstance(item, types.Command) and "RCP005" in item.title)
        result = await lsp_client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=command.command, arguments=command.arguments))
        assert result == {"applied": True}
        assert len(applied) == 1
        assert 'f"Complete the code:\\n{question}"' in versions[-1]

        after = await diagnostics_for(lsp_client, uri, 2)
        assert after == []
        stale = await lsp_client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=command.command, arguments=command.arguments))
        assert stale is None
        assert len(applied) == 1
    finally:
        await lsp_client.shutdown_session()
        await lsp_client.stop()
