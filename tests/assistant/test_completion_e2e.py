"""Inline completion end to end: a real standard-library function and the real default model."""

from __future__ import annotations

import ast
import posixpath
from pathlib import Path

import pytest

from assistant.completion import complete_at
from assistant.config import CompletionSettings, ModelSettings
from assistant.model import load_generator

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
