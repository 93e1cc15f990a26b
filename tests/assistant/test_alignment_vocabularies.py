"""Token alignment on real vocabularies: both shipped models and a vocab-only GGUF built here.

Each partial-token case is a prompt that ends mid-token and the text that follows it. The plan
must back off far enough that the canonical tokens of the whole text can be generated under
the mask, and must never allow a control token.
"""

from __future__ import annotations

import ctypes
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import gguf
import llama_cpp
import numpy as np
import pytest

from assistant.alignment import HealingLogitsProcessor, VocabularyIndex, plan_healing
from assistant.config import DefaultModel, ModelSettings
from assistant.model import LlamaGenerator, load_generator

pytestmark = pytest.mark.slow

HIEROGLYPH = "\U00013000"  # outside every vocabulary here, so it is spelled with byte tokens
# kind: (text before the cursor, text after it)
PARTIAL_TOKEN_CASES = {
    "identifier": ("    result = self.conf", "ig.get(key)\n"),
    "split_identifier": ("    raise NotImplem", "entedError(message)\n"),
    "after_space": ("    value = ", "compute(items)\n"),
    "line_start": ("def f(x):\n", "    return x\n"),
    "partial_indentation": ("def f(x):\n    if x:\n    ", "    return x\n"),
    "whitespace_run": ("x = 1\n\n", "\ndef f(x):\n"),
    "punctuation": ("if (a and (b or c)", "):\n"),
    "utf8_word": ("name = 'caf", "é'\n"),
    "utf8_byte_pieces": (f"glyph = '{HIEROGLYPH}", f"{HIEROGLYPH}'\n"),
    "tag": ("    html = '<di", "v>' + body\n"),
}
TEST_VOCAB_WORDS = ("return", "self", "config", "value", "compute", "items", "def", "glyph", "name", "caf", "if")


@dataclass
class Vocabulary:
    """A tokenizer with the pieces the alignment index is built from."""

    tokenize: Callable[[str], list[int]]
    index: VocabularyIndex
    control_ids: list[int]


@pytest.fixture(scope="module")
def gemma() -> Iterator[LlamaGenerator]:
    generator = load_generator(ModelSettings(default=DefaultModel.GEMMA3_270M, n_threads=1))
    yield generator
    generator.close()


@pytest.fixture(scope="module")
def smollm2() -> Iterator[LlamaGenerator]:
    generator = load_generator(ModelSettings(default=DefaultModel.SMOLLM2_135M, n_threads=1))
    yield generator
    generator.close()


def write_spm_vocabulary(path: Path) -> None:
    """Write a vocab-only SentencePiece GGUF unlike both shipped ones.

    It merges a line break with the indentation after it (as SmolLM2's byte-level BPE does) while
    spelling every non-ASCII character with byte tokens. Its control and user-defined tokens have
    text that looks like code.
    """
    pieces = set(string.ascii_letters + string.digits + "()[]{}:.,'\"=+-*/<>_#!\n\t\u2581")
    words = [*TEST_VOCAB_WORDS, *("\u2581" + word for word in TEST_VOCAB_WORDS)]
    words += ["\u2581\u2581\u2581\u2581\u2581\u2581\u2581\u2581", "\n\u2581\u2581\u2581\u2581\u2581\u2581\u2581\u2581"]
    words += ["\n\n", "):", "))", "\u2581=", "\u2581'", "<|"]
    for word in words:
        pieces.update(word[:end] for end in range(1, len(word) + 1))
    normal = sorted(pieces)
    special = [
        ("<unk>", gguf.TokenType.UNKNOWN), ("<s>", gguf.TokenType.CONTROL), ("</s>", gguf.TokenType.CONTROL),
        ("<|file_sep|>", gguf.TokenType.CONTROL), ("<|marker|>", gguf.TokenType.USER_DEFINED),
    ]
    tokens = [text for text, _ in special] + [f"<0x{byte:02X}>" for byte in range(256)] + normal
    types = [kind for _, kind in special] + [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * len(normal)
    # SentencePiece merges the pair whose merged piece scores highest, so longer pieces win.
    scores = [0.0] * (len(special) + 256) + [len(piece) + rank * 1e-6 for rank, piece in enumerate(normal)]

    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_context_length(256)
    writer.add_embedding_length(64)
    writer.add_block_count(1)
    writer.add_feed_forward_length(128)
    writer.add_head_count(1)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(False)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.fixture(scope="module")
def spm_vocabulary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vocabulary]:
    path = tmp_path_factory.mktemp("vocab") / "test-spm.gguf"
    write_spm_vocabulary(path)
    llm = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    vocab = llm._model.vocab
    buffer = ctypes.create_string_buffer(64)
    pieces: list[bytes | None] = []
    control_ids = []
    for token_id in range(llama_cpp.llama_vocab_n_tokens(vocab)):
        if llama_cpp.llama_vocab_get_attr(vocab, token_id) & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL:
            control_ids.append(token_id)
            pieces.append(None)
        else:
            length = llama_cpp.llama_token_to_piece(vocab, token_id, buffer, len(buffer), 0, False)
            pieces.append(ctypes.string_at(buffer, length))

    def tokenize(text: str) -> list[int]:
        return list(llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    yield Vocabulary(tokenize, VocabularyIndex(pieces), control_ids)
    llm.close()


def generator_vocabulary(generator: LlamaGenerator) -> Vocabulary:
    index = generator.vocabulary_index()
    control_ids = [token_id for token_id in range(index.n_vocab) if not index.piece(token_id)]
    return Vocabulary(lambda text: generator.tokenize(text, add_bos=True), index, control_ids)


@pytest.fixture(params=["gemma", "smollm2", "spm_vocabulary"])
def vocabulary(request: pytest.FixtureRequest) -> Vocabulary:
    if request.param == "spm_vocabulary":
        value: Vocabulary = request.getfixturevalue("spm_vocabulary")
        return value
    return generator_vocabulary(request.getfixturevalue(request.param))


def token_ends(ids: list[int], index: VocabularyIndex) -> list[int]:
    """Return the byte offset where each token of `ids` ends."""
    ends, offset = [], 0
    for token_id in ids:
        offset += len(index.piece(token_id))
        ends.append(offset)
    return ends


@pytest.mark.parametrize("kind", PARTIAL_TOKEN_CASES)
def test_plan_healing_canonical_tokens_stay_reachable(vocabulary: Vocabulary, kind: str) -> None:
    before, after = PARTIAL_TOKEN_CASES[kind]
    index = vocabulary.index
    plan = plan_healing(vocabulary.tokenize(before), index, 1)
    kept = b"".join(index.piece(token_id) for token_id in plan.prompt_ids)

    assert kept + plan.required_bytes == before.encode("utf-8")
    assert plan.required_bytes
    kept.decode("utf-8")  # the kept prompt ends on a whole character

    full = vocabulary.tokenize(before + after)
    ends = token_ends(full, index)
    assert len(kept) in ends, f"{kind}: the kept prompt ends inside a canonical token"
    processor = HealingLogitsProcessor(index, len(plan.prompt_ids), plan.required_bytes)
    generated = list(plan.prompt_ids)
    for token_id in full[ends.index(len(kept)) + 1 :]:
        if not processor.remaining_bytes(generated):
            break
        scores = processor(np.array(generated, dtype=np.intc), np.zeros(index.n_vocab, dtype=np.float32))
        assert np.isfinite(scores[token_id]), f"{kind}: canonical token {index.piece(token_id)!r} is masked"
        assert not np.isfinite(scores[vocabulary.control_ids]).any()
        generated.append(token_id)
    assert processor.remaining_bytes(generated) == b""


def test_partial_token_cases_are_mid_token(vocabulary: Vocabulary) -> None:
    # Without a back-off most cases would make the model continue from a token boundary that
    # the canonical tokenization of the whole text does not have.
    mid_token = [
        kind for kind, (before, after) in PARTIAL_TOKEN_CASES.items()
        if len(before.encode("utf-8")) not in token_ends(vocabulary.tokenize(before + after), vocabulary.index)
    ]
    assert len(mid_token) >= 4, mid_token


def test_spm_vocabulary_control_token_never_allowed(spm_vocabulary: Vocabulary) -> None:
    index = spm_vocabulary.index
    file_separator = spm_vocabulary.tokenize("<|file_sep|>")
    assert len(file_separator) > 2  # a control token's text is not parsed into it
    for remaining in (b"<", b"<|", b"<|file_sep|>"):
        allowed = set(index.allowed_ids(remaining).tolist())
        assert allowed
        assert not allowed & set(spm_vocabulary.control_ids)


def test_spm_vocabulary_user_defined_token_reachable(spm_vocabulary: Vocabulary) -> None:
    # llama.cpp's tokenizer turns the text of a user-defined token into that token, so
    # alignment must let the model choose it.
    index = spm_vocabulary.index
    marker_id = spm_vocabulary.tokenize("<|marker|>")[1]
    plan = plan_healing(spm_vocabulary.tokenize("x = <|mar"), index, 1)
    assert plan.required_bytes == b"<|mar"
    assert marker_id in set(index.allowed_ids(plan.required_bytes).tolist())


def test_spm_vocabulary_merges_line_break_with_indentation(spm_vocabulary: Vocabulary) -> None:
    ids = spm_vocabulary.tokenize("if x:\n        return x")
    pieces = [spm_vocabulary.index.piece(token_id) for token_id in ids]
    assert b"\n        " in pieces
    assert b"\xc3" in [spm_vocabulary.index.piece(token_id) for token_id in spm_vocabulary.tokenize("é")]


GENERATION_CASES = [
    # (prompt, pattern the first generated line must match)
    ("import math\n\n\ndef circle_area(radius):\n    return math.p", r"i\b"),
    ("def mean(values):\n    total = sum(values)\n    return total / le", r"n\("),
    ("def greet(name):\n    message = 'Hello, ' + na", r"me\b"),
    ("def absolute(x):\n    if x < 0:\n    ", r"    \S"),
    ("def absolute(x):\n    if x < 0:\n", r"        \S"),
]


@pytest.mark.parametrize("model", ["gemma", "smollm2"])
@pytest.mark.parametrize(("prompt", "pattern"), GENERATION_CASES)
def test_generate_aligned_continues_partial_token(
    request: pytest.FixtureRequest, model: str, prompt: str, pattern: str
) -> None:
    generator: LlamaGenerator = request.getfixturevalue(model)
    text = "".join(generator.generate(prompt, 12, 0.0, ["\n\n"], heal_tokens=1))
    first_line = text.split("\n")[0]
    assert re.match(pattern, first_line), f"{model}: {prompt[-16:]!r} continued with {text!r}"


@dataclass
class DecodeSpy:
    """Records what an aligned generation sampled and evaluated, around the real llama.cpp calls."""

    generator: LlamaGenerator
    sampled: list[int]
    decodes: list[tuple[int, int]]

    @classmethod
    def attach(cls, generator: LlamaGenerator, monkeypatch: pytest.MonkeyPatch) -> DecodeSpy:
        spy = cls(generator, [], [])
        context, sample = generator._context, generator._sample
        decode = context.decode

        def recording_decode(tokens: list[int], sequence: int, start: int, wants_logits: bool, logits_tail: int = 1) -> None:
            spy.decodes.append((len(tokens), logits_tail if wants_logits else 0))
            decode(tokens, sequence, start, wants_logits, logits_tail)

        def recording_sample(*args: object) -> int:
            token_id = sample(*args)  # type: ignore[arg-type]
            spy.sampled.append(token_id)
            return token_id

        monkeypatch.setattr(context, "decode", recording_decode)
        monkeypatch.setattr(generator, "_sample", recording_sample)
        return spy


ALIGNED_DECODE_CASES = [
    # (prompt, the model re-creates the backed-off tokens): a cursor at a token boundary and
    # one inside a word, where the model spells the word with a token of its own.
    ("import math\n\n\ndef circle_area(radius):\n    return math.pi", True),
    ("import math\n\n\ndef circle_area(radius):\n    return math.p", False),
]


@pytest.mark.parametrize("model", ["gemma", "smollm2"])
@pytest.mark.parametrize(("prompt", "recreates"), ALIGNED_DECODE_CASES)
def test_aligned_generation_evaluates_backed_off_tokens_once(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, model: str, prompt: str, recreates: bool
) -> None:
    generator: LlamaGenerator = request.getfixturevalue(model)
    prompt_ids = generator.tokenize(prompt, add_bos=True)
    plan = plan_healing(prompt_ids, generator.vocabulary_index(), 1)
    backed_off = prompt_ids[len(plan.prompt_ids) :]
    assert backed_off, "the case must back off at least one token"
    generator.clear_cached_sequences()
    spy = DecodeSpy.attach(generator, monkeypatch)

    text = "".join(generator.generate(prompt, 8, 0.0, [], heal_tokens=1, cache_key="aligned"))

    generated = [token_id for token_id in spy.sampled if not generator._is_end(token_id)]
    recreated = 0
    while recreated < min(len(backed_off), len(generated)) and generated[recreated] == backed_off[recreated]:
        recreated += 1
    assert (recreated == len(backed_off)) is recreates, f"{model}: sampled {generated[:4]}, backed off {backed_off}"
    # One prompt decode with logits for every backed-off position, then one decode per token
    # that the prompt did not already hold.
    assert spy.decodes[0] == (len(prompt_ids), len(backed_off) + 1)
    assert spy.decodes[1:] == [(1, 1)] * (len(generated) - recreated)
    # The cached sequence contains exactly the tokens the slot lists, so the next request can reuse it.
    slot = next(slot for slot in generator._slots.slots if slot.key == "aligned")
    assert [token_id for token_id, _ in slot.units] == plan.prompt_ids + generated
    assert generator._context.max_position(slot.sequence) == len(slot.units) - 1
    assert text


@pytest.mark.parametrize("model", ["gemma", "smollm2"])
def test_aligned_generation_matches_decoding_each_token(request: pytest.FixtureRequest, model: str) -> None:
    # The logits kept from the prompt decode give the same greedy text as evaluating the
    # backed-off prompt and decoding each re-created token, done here by hand with a fresh cache.
    generator: LlamaGenerator = request.getfixturevalue(model)
    prompt = "import math\n\n\ndef circle_area(radius):\n    return math.pi"
    prompt_ids = generator.tokenize(prompt, add_bos=True)
    plan = plan_healing(prompt_ids, generator.vocabulary_index(), 1)
    processor = HealingLogitsProcessor(generator.vocabulary_index(), len(plan.prompt_ids), plan.required_bytes)
    generator.clear_cached_sequences()

    aligned = "".join(generator.generate(prompt, 6, 0.0, [], heal_tokens=1, cache_key="aligned"))

    generator.clear_cached_sequences()
    ids = list(plan.prompt_ids)
    by_hand = b""
    for _ in range(6 + len(prompt_ids) - len(plan.prompt_ids)):
        logits = generator.next_token_logits(ids, cache_key="by-hand")
        token_id = int(np.argmax(processor(np.array(ids, dtype=np.intc), logits.copy())))
        if generator._is_end(token_id):
            break
        ids.append(token_id)
        by_hand += generator.token_bytes(token_id)
    expected = by_hand[len(plan.required_bytes) :].decode("utf-8", errors="replace")
    assert aligned == expected


def test_aligned_prompt_across_batches_keeps_tail_together(gemma: LlamaGenerator, monkeypatch: pytest.MonkeyPatch) -> None:
    # 513 tokens: the batch of 512 would leave one token for the next, but the two positions
    # whose logits alignment needs must be evaluated in the same batch.
    filler = gemma.tokenize("".join(f"value_{index} = {index}\n" for index in range(200)))
    tail = gemma.tokenize("import math\narea = math.pi")
    prompt_ids = gemma.tokenize("", add_bos=True) + filler[: 513 - 1 - len(tail)] + tail
    assert len(prompt_ids) == 513
    plan = plan_healing(prompt_ids, gemma.vocabulary_index(), 1)
    backed_off = len(prompt_ids) - len(plan.prompt_ids)
    gemma.clear_cached_sequences()
    spy = DecodeSpy.attach(gemma, monkeypatch)

    text = "".join(gemma.generate(prompt_ids, 4, 0.0, [], heal_tokens=1, cache_key="long"))

    assert spy.decodes[:2] == [(512 - backed_off, 0), (backed_off + 1, backed_off + 1)]
    assert text


@pytest.mark.parametrize("model", ["gemma", "smollm2"])
def test_next_keystroke_reuses_kept_logits(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, model: str) -> None:
    # Typing "i" after "math.p": the logits after "." were computed for the first request, so
    # the second evaluates only its new last token, as a request without alignment would.
    generator: LlamaGenerator = request.getfixturevalue(model)
    typed = "import math\n\n\ndef circle_area(radius):\n    return math.p"
    generator.clear_cached_sequences()
    "".join(generator.generate(typed, 4, 0.0, [], heal_tokens=1, cache_key="typing"))
    spy = DecodeSpy.attach(generator, monkeypatch)

    text = "".join(generator.generate(typed + "i", 4, 0.0, [], heal_tokens=1, cache_key="typing"))

    assert spy.decodes[0] == (1, 1)
    assert text
