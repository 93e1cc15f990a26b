"""Exceptions raised by ragcoder; each message says what failed and what to do next."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class of every error that ragcoder reports to the user as one line."""


class InvalidInput(AssistantError):
    """A path, position, setting or other user input that ragcoder cannot use."""


class IndexMissing(AssistantError):
    """No index exists where one was expected."""


class IndexVersionMismatch(AssistantError):
    """The index on disk was written in a format this build does not read."""


class IndexCorrupt(AssistantError):
    """The index on disk exists but cannot be read."""


class ContextOverflow(AssistantError):
    """A prompt does not fit into the model's context window."""


class ModelLoadError(AssistantError):
    """The language model or the embedding model failed to load."""
