"""Inline completion end to end: a real standard-library function and the real default model."""

from __future__ import annotations

import ast
import posixpath
from pathlib import Path

import pytest

from assistant.completion import complete_at
from assistant.config import CompletionSettings, ModelSettings, Settings
from assistant.model import load_generator
from assistant.results import CompletionRequest
from assistant.service import Assistant

pytestmark = pytest.mark.slow

REMOVED_LINE = "    i = p.rfind(sep) + 1"
TYPED_PART = "    i = "


def test_complete_at_stdlib_line_is_single_new_line() -> None:
    source = Path(posixpath.__file__).read_text(encoding="utf-8")
    start = source.index(REMOVED_LINE)
    end = start + len(REMOVED_LINE)
    prefix = source[:start] + TYPED_PART
    suffix = source[end:]
    next_line = suffix.split("\n")[1]

    with load_generator(ModelSettings()) as generator:
        completion = complete_at(prefix, suffix, "", generator, CompletionSettings(), language="python")

    assert completion.strip()
    assert "\n" not in completion
    assert (TYPED_PART + completion).strip() != next_line.strip()
    assert next_line.strip() not in completion
    ast.parse(prefix + completion + suffix)


@pytest.mark.parametrize("column_text", ["        self._loo", "        self._name = ", "    "])
def test_assistant_complete_never_splits_right_side(tmp_path: Path, column_text: str) -> None:
    # Cursors with text right of them on the line, from the real default model through the
    # assistant: mid-identifier, before a string prefix, inside indentation before code.
    source = (
        "class Task:\n"
        "    def __init__(self, loop, name):\n"
        "        self._loop = loop\n"
        "        self._name = f'Task-{name}'\n"
        "        self._loop.call_soon(self.step)\n"
    )
    (tmp_path / "task.py").write_text(source, encoding="utf-8")
    lines = source.split("\n")
    line = next(index for index, text in enumerate(lines) if text.startswith(column_text) and text != column_text)
    if column_text.strip() == "":
        line = 3
    column = len(column_text)
    right = lines[line][column:]
    assistant = Assistant(tmp_path, Settings(model=ModelSettings(n_threads=1)))
    try:
        result = assistant.complete(CompletionRequest(path=str(tmp_path / "task.py"), text=source, line=line, column=column))
    finally:
        assistant.close()

    if result is None:
        return
    word = right[: len(right) - len(right.lstrip("abcdefghijklmnopqrstuvwxyz_"))]
    assert word and result.text.startswith(word), f"{result.text!r} splits {right!r}"
    assert result.replace_end_column == column + len(word)
