"""The README's settings table must match the settings tree."""

from __future__ import annotations

from pathlib import Path

from assistant.config import settings_markdown

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_settings_table_current() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("-->", text.index("<!-- settings-table: generated")) + len("-->")
    end = text.index("<!-- settings-table: end -->")

    assert text[start:end].strip() == settings_markdown(), "regenerate it with: python -m assistant.config"
