"""Fill-in-the-middle (FIM) prompt formats of the code model families that have FIM tokens.

The family is detected from the special-token texts of a GGUF vocabulary, so this module needs
no model: tests pass hand-written vocabularies.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)


class FimFamily(str, enum.Enum):
    """Model families whose vocabularies carry fill-in-the-middle tokens."""

    QWEN_CODER = "qwen2.5-coder"
    STARCODER = "starcoder2"
    CODELLAMA = "codellama"
    DEEPSEEK_CODER = "deepseek-coder"
    CODEGEMMA = "codegemma"


@dataclass(frozen=True)
class FimFormat:
    """The token texts of one family's prefix-suffix-middle (PSM) prompt.

    `marker_text`, when set, must also be in the vocabulary. It distinguishes families that
    share their FIM texts, because Qwen2.5-Coder and CodeGemma both use `<|fim_prefix|>`.
    """

    family: FimFamily
    prefix_text: str
    suffix_text: str
    middle_text: str
    file_separator_text: str | None = None
    marker_text: str | None = None


@dataclass(frozen=True)
class FimTokens:
    """The token ids of a detected FIM format in one vocabulary."""

    prefix_id: int
    suffix_id: int
    middle_id: int
    file_separator_id: int | None = None


# Formats with a marker come first, so that a shared FIM text resolves to the marked family.
FIM_FORMATS: tuple[FimFormat, ...] = (
    FimFormat(
        FimFamily.QWEN_CODER, "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>",
        file_separator_text="<|file_sep|>", marker_text="<|file_sep|>",
    ),
    FimFormat(
        FimFamily.CODEGEMMA, "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>",
        file_separator_text="<|file_separator|>", marker_text="<|file_separator|>",
    ),
    FimFormat(
        FimFamily.STARCODER, "<fim_prefix>", "<fim_suffix>", "<fim_middle>",
        file_separator_text="<file_sep>",
    ),
    FimFormat(FimFamily.CODELLAMA, "▁<PRE>", "▁<SUF>", "▁<MID>"),
    FimFormat(FimFamily.DEEPSEEK_CODER, "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
    # A Qwen-style vocabulary without the repository tokens still takes the same prompt.
    FimFormat(FimFamily.QWEN_CODER, "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
)


def detect_fim(
    special_tokens: Mapping[str, int], fim_ids: tuple[int, int, int] | None = None
) -> tuple[FimFormat, FimTokens] | None:
    """Find the FIM format of a vocabulary, or None when it has no FIM tokens.

    Args:
        special_tokens: token text -> id for the vocabulary's control and user-defined tokens.
        fim_ids: (prefix, suffix, middle) ids that the GGUF metadata names, when it names them
            (llama.cpp returns -1 for a missing one). They win over the texts, because some
            conversions name FIM tokens whose texts no family here uses.
    """
    for fim_format in FIM_FORMATS:
        texts = (fim_format.prefix_text, fim_format.suffix_text, fim_format.middle_text)
        if not all(text in special_tokens for text in texts):
            continue
        if fim_format.marker_text is not None and fim_format.marker_text not in special_tokens:
            continue
        separator_id = special_tokens.get(fim_format.file_separator_text or "")
        tokens = FimTokens(*(special_tokens[text] for text in texts), file_separator_id=separator_id)
        if fim_ids is not None and _is_complete(fim_ids) and fim_ids != _ids(tokens):
            logger.debug("FIM ids %s from the GGUF metadata differ from the %s texts", fim_ids, fim_format.family.value)
            tokens = FimTokens(*fim_ids, file_separator_id=separator_id)
        return fim_format, tokens

    if fim_ids is not None and _is_complete(fim_ids):
        # Named in the metadata but with unknown texts: the PSM order is the common one.
        names = {token_id: text for text, token_id in special_tokens.items()}
        texts = [names.get(token_id, f"<token {token_id}>") for token_id in fim_ids]
        logger.debug("FIM tokens %s have texts %s of no known family; using the PSM order", fim_ids, texts)
        unknown = FimFormat(FimFamily.QWEN_CODER, texts[0], texts[1], texts[2])
        return unknown, FimTokens(*fim_ids)
    return None


def _is_complete(fim_ids: tuple[int, int, int]) -> bool:
    return all(token_id >= 0 for token_id in fim_ids)


def _ids(tokens: FimTokens) -> tuple[int, int, int]:
    return (tokens.prefix_id, tokens.suffix_id, tokens.middle_id)


def build_fim_prompt(
    tokens: FimTokens,
    prefix_ids: Sequence[int],
    suffix_ids: Sequence[int],
    context_ids: Sequence[int] = (),
    bos_id: int | None = None,
) -> list[int]:
    """Assemble a prefix-suffix-middle prompt from already tokenized parts.

    Retrieved `context_ids` go first: in a file-separated block when the family has a file
    separator token, otherwise at the start of the prefix section.
    """
    prompt: list[int] = [bos_id] if bos_id is not None else []
    prefix_section = list(prefix_ids)
    if context_ids and tokens.file_separator_id is not None:
        prompt += [tokens.file_separator_id, *context_ids, tokens.file_separator_id]
    elif context_ids:
        prefix_section = [*context_ids, *prefix_section]
    prompt += [tokens.prefix_id, *prefix_section, tokens.suffix_id, *suffix_ids, tokens.middle_id]
    return prompt
