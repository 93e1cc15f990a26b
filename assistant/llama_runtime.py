"""Thin adapter over llama.cpp's C API (through llama-cpp-python's ctypes bindings).

It owns the model handle, the vocabulary, one context with several sequences over a unified KV
cache, the per-sequence state save and restore, and the sampler chain. llama.cpp's own terms
(`n_ctx`, sequence ids, positions) stay inside this module and `assistant/model.py`.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
import numpy.typing as npt

from assistant.config import KvCacheType

logger = logging.getLogger(__name__)

_PIECE_BUFFER_BYTES = 256
_META_BUFFER_BYTES = 1 << 16
# Batch size of one llama_decode call; also the largest number of prompt tokens evaluated at once.
BATCH_TOKENS = 512


class DecodeError(RuntimeError):
    """llama_decode failed for a reason other than a full KV cache."""


class KvCacheFull(RuntimeError):
    """The KV cache has no free cells for the tokens of one llama_decode call."""


class NativeModel:
    """A loaded GGUF model and its vocabulary."""

    def __init__(self, path: Path, n_gpu_layers: int) -> None:
        """Load the weights at `path`.

        Raises:
            ValueError: llama.cpp could not load the file.
        """
        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = n_gpu_layers
        if cpu_has_amx():
            # llama.cpp's AMX matrix kernels crash on some Sapphire Rapids class CPUs
            # (ggml-org/llama.cpp#20824, seen here on a Xeon VM): keep the weights out of
            # the AMX buffers, at the cost of the other repacked CPU layouts.
            logger.info("the CPU has AMX; llama.cpp's extra weight buffers (AMX, repacked layouts) are off")
            params.use_extra_bufts = False
        handle = llama_cpp.llama_model_load_from_file(str(path).encode("utf-8"), params)
        if not handle:
            raise ValueError(f"llama_model_load_from_file returned no model for {path}")
        self.handle = handle
        self.vocab = llama_cpp.llama_model_get_vocab(handle)
        self.n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        self.n_ctx_train = int(llama_cpp.llama_model_n_ctx_train(handle))
        self._piece_buffer = ctypes.create_string_buffer(_PIECE_BUFFER_BYTES)

    def close(self) -> None:
        """Free the weights; contexts made from this model must be closed first."""
        if self.handle:
            llama_cpp.llama_model_free(self.handle)
            self.handle = None

    @property
    def adds_bos(self) -> bool:
        """Whether the model expects a BOS token at the start of a prompt."""
        return bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))

    @property
    def bos_id(self) -> int:
        """The BOS token id."""
        return int(llama_cpp.llama_vocab_bos(self.vocab))

    def tokenize(self, data: bytes, add_bos: bool) -> list[int]:
        """Tokenize UTF-8 bytes without parsing special-token text."""
        capacity = len(data) + 8
        buffer = (llama_cpp.llama_token * capacity)()
        count = llama_cpp.llama_tokenize(self.vocab, data, len(data), buffer, capacity, add_bos, False)
        if count < 0:
            # llama.cpp returns minus the number of tokens it needs when the buffer is too small.
            capacity = -count
            buffer = (llama_cpp.llama_token * capacity)()
            count = llama_cpp.llama_tokenize(self.vocab, data, len(data), buffer, capacity, add_bos, False)
        return list(buffer[:count])

    def token_bytes(self, token_id: int) -> bytes:
        """Return the byte text of one token; empty for a control token."""
        buffer = self._piece_buffer
        length = llama_cpp.llama_token_to_piece(self.vocab, token_id, buffer, len(buffer), 0, False)
        if length < 0:
            # The piece is longer than the buffer; llama.cpp returns minus the size it needs.
            buffer = ctypes.create_string_buffer(-length)
            length = llama_cpp.llama_token_to_piece(self.vocab, token_id, buffer, len(buffer), 0, False)
        return ctypes.string_at(buffer, length)

    def is_control(self, token_id: int) -> bool:
        """Return whether `token_id` is a control token (BOS, EOS, FIM markers, padding)."""
        return bool(llama_cpp.llama_vocab_get_attr(self.vocab, token_id) & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL)

    def is_end_of_generation(self, token_id: int) -> bool:
        """Return whether `token_id` ends generation (EOS, EOT and their kin)."""
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token_id))

    def special_tokens(self) -> dict[str, int]:
        """Map the text of every control and user-defined token to its id."""
        special_attributes = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
        found: dict[str, int] = {}
        for token_id in range(self.n_vocab):
            if llama_cpp.llama_vocab_get_attr(self.vocab, token_id) & special_attributes:
                text = llama_cpp.llama_vocab_get_text(self.vocab, token_id)
                found[text.decode("utf-8", errors="replace")] = token_id
        return found

    def fim_ids(self) -> tuple[int, int, int]:
        """Return the prefix, suffix and middle FIM token ids that the GGUF metadata names (-1 when absent)."""
        return (
            int(llama_cpp.llama_vocab_fim_pre(self.vocab)),
            int(llama_cpp.llama_vocab_fim_suf(self.vocab)),
            int(llama_cpp.llama_vocab_fim_mid(self.vocab)),
        )

    def metadata(self, key: str) -> str | None:
        """Return one GGUF metadata value as text, or None when the key is absent."""
        buffer = ctypes.create_string_buffer(_META_BUFFER_BYTES)
        length = llama_cpp.llama_model_meta_val_str(self.handle, key.encode("utf-8"), buffer, len(buffer))
        if length < 0:
            return None
        if length >= len(buffer):
            buffer = ctypes.create_string_buffer(length + 1)
            llama_cpp.llama_model_meta_val_str(self.handle, key.encode("utf-8"), buffer, len(buffer))
        return buffer.value.decode("utf-8", errors="replace")

    def pieces(self) -> list[bytes | None]:
        """Return the byte text of every token, None for control tokens."""
        return [None if self.is_control(token_id) else self.token_bytes(token_id) for token_id in range(self.n_vocab)]


@dataclass(frozen=True)
class ContextOptions:
    """How to create a context: window, threads, KV element type and sequence count."""

    n_ctx: int
    n_threads: int
    kv_cache_type: KvCacheType
    n_sequences: int


class NativeContext:
    """One llama.cpp context whose sequences share a unified KV cache.

    A unified cache lets a sequence copy cells of another (`copy_sequence`) without copying
    data, and lets state saved from one sequence be restored into another. `swa_full` keeps the
    whole window of sliding-window layers (Gemma 3), because otherwise llama.cpp cannot shift
    positions of cached keys.
    """

    def __init__(self, model: NativeModel, options: ContextOptions) -> None:
        """Create the context.

        Raises:
            ValueError: llama.cpp could not create it (for example, not enough memory).
        """
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = options.n_ctx
        params.n_batch = BATCH_TOKENS
        params.n_ubatch = BATCH_TOKENS
        params.n_seq_max = options.n_sequences
        params.n_threads = options.n_threads
        params.n_threads_batch = options.n_threads
        params.kv_unified = True
        params.swa_full = True
        params.no_perf = True
        if options.kv_cache_type is KvCacheType.Q8_0:
            # A quantized V cache needs flash attention in llama.cpp.
            params.type_k = llama_cpp.GGML_TYPE_Q8_0
            params.type_v = llama_cpp.GGML_TYPE_Q8_0
            params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        else:
            params.type_k = llama_cpp.GGML_TYPE_F16
            params.type_v = llama_cpp.GGML_TYPE_F16
        handle = llama_cpp.llama_init_from_model(model.handle, params)
        if not handle:
            raise ValueError(
                f"llama_init_from_model failed for a {options.n_ctx}-token context with "
                f"{options.n_sequences} sequences"
            )
        self.handle = handle
        self.model = model
        self.n_ctx = int(llama_cpp.llama_n_ctx(handle))
        self.n_sequences = options.n_sequences
        self._memory = llama_cpp.llama_get_memory(handle)
        self._batch = llama_cpp.llama_batch_init(BATCH_TOKENS, 0, 1)
        self.can_shift = bool(llama_cpp.llama_memory_can_shift(self._memory))

    def close(self) -> None:
        """Free the batch and the context."""
        if self.handle:
            llama_cpp.llama_batch_free(self._batch)
            llama_cpp.llama_free(self.handle)
            self.handle = None

    def decode(
        self, tokens: Sequence[int], sequence: int, start_position: int, wants_logits: bool, logits_tail: int = 1
    ) -> None:
        """Evaluate `tokens` at positions `start_position`... of `sequence`.

        When `wants_logits`, the last `logits_tail` tokens get logits (read them with
        `logits_row`); the batches are cut so that those tokens share the last one. On failure
        the cells of this call's tokens are removed again, so the sequence keeps exactly what
        came before.

        Raises:
            KvCacheFull: no free cells for a batch; the caller may free other sequences and retry.
            DecodeError: llama.cpp failed otherwise.
        """
        tail = min(max(logits_tail, 1), len(tokens), BATCH_TOKENS) if wants_logits else 0
        for offset, end in _batch_bounds(len(tokens), tail):
            part = tokens[offset:end]
            self._fill_batch(part, sequence, start_position + offset, tail if end == len(tokens) else 0)
            status = llama_cpp.llama_decode(self.handle, self._batch)
            if status != 0:
                self.remove(sequence, start_position, -1)
                if status == 1:
                    raise KvCacheFull(f"no KV cells left for {len(part)} tokens in a {self.n_ctx}-token context")
                raise DecodeError(f"llama_decode returned {status}")

    def _fill_batch(self, tokens: Sequence[int], sequence: int, start_position: int, logits_tail: int) -> None:
        batch = self._batch
        batch.n_tokens = len(tokens)
        first_with_logits = len(tokens) - logits_tail
        for index, token_id in enumerate(tokens):
            batch.token[index] = token_id
            batch.pos[index] = start_position + index
            batch.n_seq_id[index] = 1
            batch.seq_id[index][0] = sequence
            batch.logits[index] = index >= first_with_logits

    def logits(self) -> npt.NDArray[np.float32]:
        """A writable view of the logits of the last evaluated token that had logits.

        Writing to it changes what the sampler reads, which is how token constraints work.
        """
        return self.logits_row(-1)

    def logits_row(self, index: int) -> npt.NDArray[np.float32]:
        """Return a writable view of one row of the last decode's logits; -1 is the last token's row."""
        pointer = llama_cpp.llama_get_logits_ith(self.handle, index)
        if not pointer:
            raise DecodeError(f"llama.cpp has no logits for output row {index} of the last batch")
        return np.ctypeslib.as_array(pointer, shape=(self.model.n_vocab,))

    def remove(self, sequence: int, start_position: int, end_position: int) -> None:
        """Drop the cells of `sequence` in [start, end); -1 as end means to the end."""
        llama_cpp.llama_memory_seq_rm(self._memory, sequence, start_position, end_position)

    def shift(self, sequence: int, start_position: int, end_position: int, delta: int) -> None:
        """Add `delta` to the positions in [start, end) of `sequence`.

        The rotary embedding of the shifted keys is updated at the next decode.
        """
        llama_cpp.llama_memory_seq_add(self._memory, sequence, start_position, end_position, delta)

    def copy_sequence(self, source: int, destination: int) -> None:
        """Make `destination` also own every cell of `source` (no data is copied)."""
        llama_cpp.llama_memory_seq_cp(self._memory, source, destination, -1, -1)

    def max_position(self, sequence: int) -> int:
        """Return the largest position in `sequence`, or -1 when it is empty."""
        return int(llama_cpp.llama_memory_seq_pos_max(self._memory, sequence))

    def save_sequence(self, sequence: int) -> bytes:
        """Serialize the KV cells of one sequence."""
        size = llama_cpp.llama_state_seq_get_size(self.handle, sequence)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self.handle, buffer, size, sequence)
        return bytes(buffer[:written])

    def restore_sequence(self, data: bytes, sequence: int) -> bool:
        """Replace `sequence` with cells saved by `save_sequence`; False when llama.cpp rejects them."""
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        read = llama_cpp.llama_state_seq_set_data(self.handle, buffer, len(data), sequence)
        return bool(read)


class Sampler:
    """A llama.cpp sampler chain: greedy at temperature 0, else top-k, top-p, min-p and temperature."""

    def __init__(self, temperature: float, top_k: int, top_p: float, min_p: float, seed: int) -> None:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        if temperature <= 0.0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
        else:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_k(top_k))
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_top_p(top_p, 1))
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_min_p(min_p, 1))
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_temp(temperature))
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        self._chain = chain

    def sample(self, context: NativeContext) -> int:
        """Pick the next token from the context's last logits."""
        return int(llama_cpp.llama_sampler_sample(self._chain, context.handle, -1))

    def close(self) -> None:
        """Free the chain and its samplers."""
        if self._chain:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_NATIVE_LOG_CALLBACK: Any = None
_native_logger = logging.getLogger(f"{__name__}.native")


def route_native_logs() -> None:
    """Send llama.cpp's native log lines to our logger at DEBUG instead of stderr.

    The hook is process-wide and the embedder sets its own, so it is set again for every model.
    """
    global _NATIVE_LOG_CALLBACK
    if _NATIVE_LOG_CALLBACK is None:

        def forward(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            message = text.decode("utf-8", errors="replace").rstrip("\n")
            if message:
                _native_logger.debug("%s", message)

        # The ctypes function object must stay referenced while llama.cpp may call it.
        _NATIVE_LOG_CALLBACK = llama_cpp.llama_log_callback(forward)
        llama_cpp.llama_backend_init()
    llama_cpp.llama_log_set(_NATIVE_LOG_CALLBACK, ctypes.c_void_p(0))


def llama_cpp_version() -> str:
    """The installed llama-cpp-python version, part of the chunk KV cache key."""
    return str(llama_cpp.__version__)


def _batch_bounds(length: int, tail: int) -> list[tuple[int, int]]:
    """Cut `length` tokens into batches of at most `BATCH_TOKENS`, the last `tail` in the last one."""
    bounds = [(offset, min(offset + BATCH_TOKENS, length)) for offset in range(0, length, BATCH_TOKENS)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < tail:
        cut = length - tail
        bounds[-2:] = [(bounds[-2][0], cut), (cut, length)]
    return bounds


@functools.cache
def cpu_has_amx() -> bool:
    """Tell whether Linux reports Intel AMX tiles on this CPU (False elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return "amx_tile" in line.split()
    return False
