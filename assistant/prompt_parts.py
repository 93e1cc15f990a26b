"""Prompts as a sequence of parts, so the model runtime can reuse stored KV caches of chunks."""

from __future__ import annotations

from dataclasses import dataclass

# Bump when the text around a chunk in a prompt changes, so stored chunk KV caches are rebuilt.
CHUNK_WRAPPER_VERSION = 1


@dataclass(frozen=True)
class PromptPart:
    """A piece of prompt text.

    `source_path` is set for a retrieved chunk whose KV cache may be computed on its own and
    stored. It names the chunk's file, because edits of that file invalidate the stored entry.
    """

    text: str
    source_path: str | None = None

    @property
    def is_chunk(self) -> bool:
        """Whether this part is a retrieved chunk that may come from the chunk KV store."""
        return self.source_path is not None


@dataclass(frozen=True)
class PromptParts:
    """A prompt made of parts, each tokenized on its own and evaluated in order."""

    parts: tuple[PromptPart, ...]

    @property
    def text(self) -> str:
        """The whole prompt as one string."""
        return "".join(part.text for part in self.parts)

    @property
    def chunk_count(self) -> int:
        """Number of parts that are retrieved chunks."""
        return sum(1 for part in self.parts if part.is_chunk)

    def without_chunk_cache(self) -> PromptParts:
        """Return the same text with every part evaluated normally (full prefill)."""
        return PromptParts(tuple(PromptPart(part.text) for part in self.parts))
