"""End-to-end tests of the real language server (`python -m lsp`) over stdio, driven by
pytest-lsp's client with VS Code's capabilities, on a small repository with the real
embedder and the real default model."""

from __future__ import annotations

import dataclasses
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls import uris
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

from lsp.features.commands import ASK_COMMAND, EXPLAIN_COMMAND, REINDEX_COMMAND

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

REPOSITORY_FILES = {
    "pyproject.toml": """\
        [project]
        name = "shapes-demo"
        version = "0.1.0"
        """,
    "geometry.py": '''\
        """Area and distance helpers for the shapes package."""

        import math


        def circle_area(radius):
            """Return the area of a circle with the given radius."""
            return math.pi * radius ** 2


        def square_area(side):
            """Return the area of a square."""
            return side * side


        def distance(x1, y1, x2, y2):
            """Return the Euclidean distance between two points."""
            return math.hypot(x2 - x1, y2 - y1)
        ''',
    "shapes.py": '''\
        """Shape classes built on the geometry helpers."""

        from geometry import circle_area


        class Circle:
            """A circle given by its radius."""

            def __init__(self, radius):
                self.radius = radius

            def area(self):
                return circle_area(self.radius)


        class Rectangle:
            """An axis-aligned rectangle."""

            def __init__(self, width, height):
                self.width = width
                self.height = height

            def area(self):
                return self.width * self.height

            def perimeter(self):
                return 2 * (self.width + self.height)
        ''',
    "report.py": '''\
        """Print the total area of a list of shapes."""

        from shapes import Circle, Rectangle


        def total_area(shapes):
            """Sum the areas of all shapes."""
            return sum(shape.area() for shape in shapes)


        if __name__ == "__main__":
            print(total_area([Circle(1.0), Rectangle(2.0, 3.0)]))
        ''',
}

# The new file that the completion tests open; the cursor goes to the end of the last line.
DRAFT_TEXT = 'from shapes import Rectangle\n\n\ndef square(side):\n    """Return a square as a Rectangle."""\n    return '


def write_repository(root: Path) -> None:
    for name, text in REPOSITORY_FILES.items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")


async def start_server(root: Path) -> tuple[LanguageClient, types.InitializeResult]:
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "lsp", cwd=str(root))
    root_uri = uris.from_fs_path(str(root))
    assert root_uri is not None
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=root_uri,
        workspace_folders=[types.WorkspaceFolder(uri=root_uri, name=root.name)],
    )
    result = await client.initialize_session(params)
    return client, result


def open_draft(client: LanguageClient, root: Path) -> tuple[str, types.Position]:
    uri = uris.from_fs_path(str(root / "draft.py"))
    assert uri is not None
    item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=DRAFT_TEXT)
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
    last_line = DRAFT_TEXT.split("\n")[-1]
    return uri, types.Position(line=DRAFT_TEXT.count("\n"), character=len(last_line))


async def execute(client: LanguageClient, command: str, *arguments: Any) -> Any:
    params = types.ExecuteCommandParams(command=command, arguments=list(arguments))
    return await client.workspace_execute_command_async(params)


@dataclasses.dataclass
class Session:
    client: LanguageClient
    root: Path
    initialize_result: types.InitializeResult
    reindex_summary: Any


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Session]:
    """One server over the repository, indexed through `ragcoder.reindex` first."""
    root = tmp_path_factory.mktemp("shapes_repo")
    write_repository(root)
    client, result = await start_server(root)
    summary = await execute(client, REINDEX_COMMAND)
    yield Session(client, root, result, summary)
    await client.shutdown_session()
    await client.stop()


async def test_initialize_real_server_advertises_providers(session: Session) -> None:
    capabilities = session.initialize_result.capabilities

    assert capabilities.inline_completion_provider is not None
    assert capabilities.completion_provider is not None
    assert capabilities.execute_command_provider is not None
    assert ASK_COMMAND in capabilities.execute_command_provider.commands
    assert REINDEX_COMMAND in capabilities.execute_command_provider.commands
    assert EXPLAIN_COMMAND in capabilities.execute_command_provider.commands
    assert session.initialize_result.server_info is not None
    assert session.initialize_result.server_info.name == "ragcoder"


async def test_reindex_real_repository_reports_progress(session: Session) -> None:
    summary = session.reindex_summary

    assert summary is not None
    assert summary["files_indexed"] == 3
    assert summary["chunks_total"] > 0
    assert len(session.client.progress_reports) == 1
    reports = next(iter(session.client.progress_reports.values()))
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    percentages = [report.percentage for report in reports if isinstance(report, types.WorkDoneProgressReport)]
    assert percentages
    assert percentages == sorted(percentages)
    assert percentages[-1] == 100
    assert session.client.messages == []


async def test_inline_completion_open_document_returns_text(session: Session) -> None:
    uri, position = open_draft(session.client, session.root)
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=position,
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
    )

    result = await session.client.text_document_inline_completion_async(params)

    assert isinstance(result, types.InlineCompletionList)
    assert len(result.items) == 1
    item = result.items[0]
    assert isinstance(item.insert_text, str)
    assert item.insert_text.strip() != ""
    assert item.range is not None
    assert item.range.start == position


async def test_completion_open_document_returns_one_item(session: Session) -> None:
    uri, position = open_draft(session.client, session.root)
    params = types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)

    result = await session.client.text_document_completion_async(params)

    assert isinstance(result, types.CompletionList)
    assert len(result.items) == 1
    item = result.items[0]
    assert item.detail == "ragcoder"
    assert item.label.strip() != ""
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.new_text.strip() != ""


async def test_ask_indexed_repository_returns_sources(session: Session) -> None:
    result = await execute(session.client, ASK_COMMAND, "How is the area of a Rectangle computed?")

    assert result is not None
    assert result["answer"].strip() != ""
    assert len(result["sources"]) > 0
    paths = {source["path"] for source in result["sources"]}
    assert paths <= set(REPOSITORY_FILES)
    assert "shapes.py" in paths
    for source in result["sources"]:
        assert set(source) == {"path", "symbol", "start_line", "end_line", "score"}
        assert 1 <= source["start_line"] <= source["end_line"]
    assert session.client.messages == []


async def test_shutdown_after_completion_exit_code_zero(tmp_path: Path) -> None:
    write_repository(tmp_path)
    client, _ = await start_server(tmp_path)
    uri, position = open_draft(client, tmp_path)
    params = types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    await client.text_document_completion_async(params)

    await client.shutdown_session()
    await client.stop()

    assert client._server is not None
    assert client._server.returncode == 0
