"""Prompt templates stored as Markdown files and loaded by name."""

from __future__ import annotations

from importlib import resources


def load_prompt(name: str) -> str:
    """Read the template `prompts/<name>.md` shipped with the package."""
    path = resources.files(__name__).joinpath(f"{name}.md")
    if not path.is_file():
        raise FileNotFoundError(f"prompt template {name!r} not found in {__name__}; expected {name}.md")
    return path.read_text(encoding="utf-8")
