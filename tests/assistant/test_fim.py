"""FIM format detection and prompt assembly on hand-written vocabularies of each family."""

from __future__ import annotations

import pytest

from assistant.fim import FimFamily, build_fim_prompt, detect_fim

# Special tokens as each family's GGUF vocabulary spells them; the ids are made up.
VOCABULARIES = {
    FimFamily.QWEN_CODER: {
        "<|endoftext|>": 151643, "<|fim_prefix|>": 151659, "<|fim_middle|>": 151660,
        "<|fim_suffix|>": 151661, "<|fim_pad|>": 151662, "<|repo_name|>": 151663, "<|file_sep|>": 151664,
    },
    FimFamily.STARCODER: {
        "<|endoftext|>": 0, "<fim_prefix>": 1, "<fim_middle>": 2, "<fim_suffix>": 3, "<fim_pad>": 4,
        "<repo_name>": 5, "<file_sep>": 6,
    },
    FimFamily.CODELLAMA: {"<s>": 1, "</s>": 2, "▁<PRE>": 32007, "▁<SUF>": 32008, "▁<MID>": 32009, "▁<EOT>": 32010},
    FimFamily.DEEPSEEK_CODER: {
        "<｜begin▁of▁sentence｜>": 32013, "<｜fim▁hole｜>": 32015, "<｜fim▁begin｜>": 32016, "<｜fim▁end｜>": 32017,
    },
    FimFamily.CODEGEMMA: {
        "<bos>": 2, "<|fim_prefix|>": 67, "<|fim_middle|>": 68, "<|fim_suffix|>": 69, "<|file_separator|>": 70,
    },
}
EXPECTED_IDS = {
    FimFamily.QWEN_CODER: (151659, 151661, 151660, 151664),
    FimFamily.STARCODER: (1, 3, 2, 6),
    FimFamily.CODELLAMA: (32007, 32008, 32009, None),
    FimFamily.DEEPSEEK_CODER: (32016, 32015, 32017, None),
    FimFamily.CODEGEMMA: (67, 69, 68, 70),
}


@pytest.mark.parametrize("family", list(FimFamily))
def test_detect_fim_family_vocabulary_finds_family(family: FimFamily) -> None:
    detected = detect_fim(VOCABULARIES[family])
    assert detected is not None
    fim_format, tokens = detected
    assert fim_format.family is family
    assert (tokens.prefix_id, tokens.suffix_id, tokens.middle_id, tokens.file_separator_id) == EXPECTED_IDS[family]


@pytest.mark.parametrize("family", list(FimFamily))
def test_detect_fim_metadata_ids_agree_with_texts(family: FimFamily) -> None:
    expected = EXPECTED_IDS[family]
    detected = detect_fim(VOCABULARIES[family], fim_ids=expected[:3])
    assert detected is not None
    assert detected[0].family is family


def test_detect_fim_no_fim_tokens_is_none() -> None:
    gemma3 = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<start_of_turn>": 105, "<end_of_turn>": 106}
    assert detect_fim(gemma3, fim_ids=(-1, -1, -1)) is None


def test_detect_fim_unknown_texts_use_psm() -> None:
    vocabulary = {"<bos>": 1, "[PREFIX]": 10, "[SUFFIX]": 11, "[MIDDLE]": 12}
    detected = detect_fim(vocabulary, fim_ids=(10, 11, 12))
    assert detected is not None
    fim_format, tokens = detected
    assert (fim_format.prefix_text, fim_format.suffix_text, fim_format.middle_text) == ("[PREFIX]", "[SUFFIX]", "[MIDDLE]")
    assert (tokens.prefix_id, tokens.suffix_id, tokens.middle_id) == (10, 11, 12)


def test_detect_fim_qwen_without_repo_tokens() -> None:
    vocabulary = {"<|fim_prefix|>": 5, "<|fim_suffix|>": 6, "<|fim_middle|>": 7}
    detected = detect_fim(vocabulary)
    assert detected is not None
    assert detected[0].family is FimFamily.QWEN_CODER
    assert detected[1].file_separator_id is None


def test_build_fim_prompt_psm_order() -> None:
    _, tokens = detect_fim(VOCABULARIES[FimFamily.STARCODER])  # type: ignore[misc]
    prompt = build_fim_prompt(tokens, [100, 101], [200], bos_id=None)
    assert prompt == [1, 100, 101, 3, 200, 2]


def test_build_fim_prompt_context_in_file_separated_block() -> None:
    _, tokens = detect_fim(VOCABULARIES[FimFamily.QWEN_CODER])  # type: ignore[misc]
    prompt = build_fim_prompt(tokens, [100], [200], context_ids=[300, 301])
    assert prompt == [151664, 300, 301, 151664, 151659, 100, 151661, 200, 151660]


def test_build_fim_prompt_context_without_separator_starts_prefix() -> None:
    _, tokens = detect_fim(VOCABULARIES[FimFamily.CODELLAMA])  # type: ignore[misc]
    prompt = build_fim_prompt(tokens, [100], [200], context_ids=[300], bos_id=1)
    assert prompt == [1, 32007, 300, 100, 32008, 200, 32009]
