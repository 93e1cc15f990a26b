"""The language-model runtime: the `Generator` seam and its llama.cpp implementation.

This is the only module that imports `llama_cpp` for generation.
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import hashlib
import io
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import llama_cpp

from assistant.alignment import HealingLogitsProcessor, VocabularyIndex, plan_healing
from assistant.config import KvCacheType, ModelSettings, default_thread_count
from assistant.errors import ContextOverflow, ModelLoadError
from assistant.fim import FimFormat, FimTokens, detect_fim
from assistant.model_files import default_model_path
from assistant.text_stream import StopFilter

logger = logging.getLogger(__name__)

MODEL_ID_HASH_BYTES = 1 << 20
_PIECE_BUFFER_BYTES = 256
# Sampling filters used when temperature > 0; greedy decoding ignores them.
TOP_K = 40
TOP_P = 0.95
MIN_P = 0.05


class Generator(Protocol):
    """A loaded language model that tokenizes and streams generated text."""

    model_id: str
    n_ctx: int
    fim_format: FimFormat | None
    fim_tokens: FimTokens | None
    chat_template: str | None

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        """Tokenize `text`; `add_bos` adds the BOS token only if the model expects one."""
        ...

    def detokenize(self, ids: Sequence[int]) -> str:
        """Return the text of `ids`, without control tokens."""
        ...

    def count_tokens(self, text: str) -> int:
        """Count the tokens of `text` without BOS."""
        ...

    def generate(
        self,
        prompt: str | list[int],
        max_tokens: int,
        temperature: float,
        stop: list[str],
        is_cancelled: Callable[[], bool] | None = None,
        heal_tokens: int = 0,
    ) -> Iterator[str]:
        """Stream generated text pieces until a stop string, max_tokens or end of text.

        A stop string is not part of the output. `heal_tokens` backs off that many trailing
        prompt tokens and constrains the output to re-create their text, which is then left
        out of the output. Close or exhaust the iterator, because it keeps the model locked until then.
        """
        ...


class LlamaGenerator:
    """A GGUF model run by llama-cpp-python; one generation at a time."""

    def __init__(self, path: Path, settings: ModelSettings) -> None:
        """Load the model at `path`.

        Raises:
            FileNotFoundError: `path` does not exist.
            ModelLoadError: llama.cpp could not load the file.
        """
        if not path.is_file():
            raise FileNotFoundError(
                f"language model file {path} not found; set model.path to an existing GGUF file, "
                "or leave it empty to use the shipped model"
            )
        _route_native_logs()
        n_threads = settings.n_threads or default_thread_count()
        self._stack = contextlib.ExitStack()
        self._lock = threading.Lock()
        self._vocabulary_index: VocabularyIndex | None = None
        try:
            with _python_prints_to_log():
                self._llm = llama_cpp.Llama(
                    str(path), n_ctx=settings.n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                    n_gpu_layers=settings.n_gpu_layers, seed=settings.seed,
                    verbose=True, **_kv_cache_arguments(settings.kv_cache_type),
                )
        except (ValueError, RuntimeError) as error:
            raise ModelLoadError(
                f"llama.cpp failed to load {path} ({error}); check that it is a GGUF model file "
                "that llama-cpp-python 0.3.36 supports, or run with -vv to see llama.cpp's log"
            ) from error
        self._stack.enter_context(contextlib.closing(self._llm))
        self._vocab = self._llm._model.vocab
        self.path = path
        self.n_ctx = self._llm.n_ctx()
        self.model_id = compute_model_id(path)
        self.chat_template = self._llm.metadata.get("tokenizer.chat_template")
        self._special_tokens = self._read_special_tokens()
        fim_ids = (
            llama_cpp.llama_vocab_fim_pre(self._vocab),
            llama_cpp.llama_vocab_fim_suf(self._vocab),
            llama_cpp.llama_vocab_fim_mid(self._vocab),
        )
        detected = detect_fim(self._special_tokens, fim_ids)
        self.fim_format, self.fim_tokens = detected if detected else (None, None)
        logger.info(
            "loaded %s (%s, context %d tokens, %d threads, FIM %s)", path.name, self.model_id, self.n_ctx,
            n_threads, self.fim_format.family.value if self.fim_format else "none",
        )

    def close(self) -> None:
        """Free the model and its context."""
        self._stack.close()

    def __enter__(self) -> LlamaGenerator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def bos_id(self) -> int | None:
        """The BOS token when the model expects one at the start of a prompt, else None."""
        if not llama_cpp.llama_vocab_get_add_bos(self._vocab):
            return None
        return int(llama_cpp.llama_vocab_bos(self._vocab))

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        """Tokenize `text`; `add_bos` adds the BOS token only if the model expects one."""
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=False))

    def detokenize(self, ids: Sequence[int]) -> str:
        """Return the text of `ids`, without control tokens."""
        data = b"".join(self.token_bytes(token_id) for token_id in ids)
        return data.decode("utf-8", errors="replace")

    def count_tokens(self, text: str) -> int:
        """Count the tokens of `text` without BOS."""
        return len(self.tokenize(text))

    def token_bytes(self, token_id: int) -> bytes:
        """Return the byte text of one token; empty for a control token."""
        return _token_piece(self._vocab, token_id, ctypes.create_string_buffer(_PIECE_BUFFER_BYTES))

    def vocabulary_index(self) -> VocabularyIndex:
        """Return the prefix index over this model's vocabulary, built on first use (0.2-0.7 s)."""
        if self._vocabulary_index is None:
            started = time.perf_counter()
            buffer = ctypes.create_string_buffer(_PIECE_BUFFER_BYTES)
            control = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
            pieces = [
                None if llama_cpp.llama_vocab_get_attr(self._vocab, token_id) & control
                else _token_piece(self._vocab, token_id, buffer)
                for token_id in range(llama_cpp.llama_vocab_n_tokens(self._vocab))
            ]
            self._vocabulary_index = VocabularyIndex(pieces)
            logger.debug("indexed %d vocabulary pieces in %.2fs", len(pieces), time.perf_counter() - started)
        return self._vocabulary_index

    def generate(
        self,
        prompt: str | list[int],
        max_tokens: int,
        temperature: float,
        stop: list[str],
        is_cancelled: Callable[[], bool] | None = None,
        heal_tokens: int = 0,
    ) -> Iterator[str]:
        """Stream generated text pieces; see `Generator.generate`."""
        prompt_ids = self.tokenize(prompt, add_bos=True) if isinstance(prompt, str) else list(prompt)
        if not prompt_ids:
            raise ValueError("cannot generate from an empty prompt; pass at least one token")
        if len(prompt_ids) + max_tokens > self.n_ctx:
            raise ContextOverflow(
                f"prompt of {len(prompt_ids)} tokens plus {max_tokens} tokens to generate exceeds the "
                f"context of {self.n_ctx} tokens; shorten the prompt or raise model.n_ctx"
            )
        return self._stream(prompt_ids, max_tokens, temperature, stop, is_cancelled, heal_tokens)

    def _stream(
        self,
        prompt_ids: list[int],
        max_tokens: int,
        temperature: float,
        stop: list[str],
        is_cancelled: Callable[[], bool] | None,
        heal_tokens: int,
    ) -> Iterator[str]:
        with self._lock:
            prompt_ids, processors, skip_bytes = self._plan_healing(prompt_ids, heal_tokens)
            max_tokens += heal_tokens if processors else 0
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            text_filter = StopFilter(stop)
            tokens = self._llm.generate(
                prompt_ids, temp=temperature, top_k=TOP_K, top_p=TOP_P, min_p=MIN_P,
                repeat_penalty=1.0, logits_processor=processors,
            )
            try:
                for _ in range(max_tokens):
                    if is_cancelled is not None and is_cancelled():
                        return
                    with _python_prints_to_log():
                        token_id = next(tokens)
                    if self._is_end(token_id):
                        break
                    data = self.token_bytes(token_id)
                    if skip_bytes:
                        skipped = min(skip_bytes, len(data))
                        data, skip_bytes = data[skipped:], skip_bytes - skipped
                    piece = text_filter.push(decoder.decode(data))
                    if piece:
                        yield piece
                    if text_filter.is_stopped:
                        return
                tail = text_filter.push(decoder.decode(b"", final=True)) + text_filter.flush()
                if tail:
                    yield tail
            finally:
                tokens.close()

    def _plan_healing(
        self, prompt_ids: list[int], heal_tokens: int
    ) -> tuple[list[int], llama_cpp.LogitsProcessorList | None, int]:
        """Return the prompt to evaluate, the healing constraint and how many output bytes it re-creates."""
        if heal_tokens <= 0:
            return prompt_ids, None, 0
        index = self.vocabulary_index()
        plan = plan_healing(prompt_ids, index, heal_tokens)
        if not plan.required_bytes:
            return prompt_ids, None, 0
        processor = HealingLogitsProcessor(index, len(plan.prompt_ids), plan.required_bytes)
        return plan.prompt_ids, llama_cpp.LogitsProcessorList([processor]), len(plan.required_bytes)

    def _is_end(self, token_id: int) -> bool:
        # Any control token ends a completion: FIM models emit file separators or padding.
        is_control = llama_cpp.llama_vocab_get_attr(self._vocab, token_id) & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token_id) or is_control)

    def _read_special_tokens(self) -> dict[str, int]:
        special_attributes = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
        found: dict[str, int] = {}
        for token_id in range(llama_cpp.llama_vocab_n_tokens(self._vocab)):
            if llama_cpp.llama_vocab_get_attr(self._vocab, token_id) & special_attributes:
                text = llama_cpp.llama_vocab_get_text(self._vocab, token_id)
                found[text.decode("utf-8", errors="replace")] = token_id
        return found


def _token_piece(vocab: Any, token_id: int, buffer: ctypes.Array[ctypes.c_char]) -> bytes:
    length = llama_cpp.llama_token_to_piece(vocab, token_id, buffer, len(buffer), 0, False)
    if length < 0:
        # The piece is longer than the buffer; llama.cpp returns minus the size it needs.
        buffer = ctypes.create_string_buffer(-length)
        length = llama_cpp.llama_token_to_piece(vocab, token_id, buffer, len(buffer), 0, False)
    return ctypes.string_at(buffer, length)


def compute_model_id(path: Path) -> str:
    """Identify a model file by name, size and a hash of its first MiB, without reading it all."""
    size_bytes = path.stat().st_size
    with path.open("rb") as handle:
        digest = hashlib.sha256(handle.read(MODEL_ID_HASH_BYTES)).hexdigest()[:16]
    return f"{path.name}:{size_bytes}:{digest}"


def load_generator(settings: ModelSettings) -> LlamaGenerator:
    """Load the model that `settings` names; the caller keeps it, because loading takes ~0.5 s.

    Raises:
        FileNotFoundError: `settings.path` is set but does not exist.
        ImportError: the package that ships the default model is missing.
        ModelLoadError: llama.cpp failed to load the file.
    """
    path = Path(settings.path).expanduser() if settings.path else default_model_path(settings.default)
    return LlamaGenerator(path, settings)


def _kv_cache_arguments(kv_cache_type: KvCacheType) -> dict[str, Any]:
    if kv_cache_type is KvCacheType.Q8_0:
        # A quantized V cache needs flash attention in llama.cpp.
        return {"type_k": llama_cpp.GGML_TYPE_Q8_0, "type_v": llama_cpp.GGML_TYPE_Q8_0, "flash_attn": True}
    return {"type_k": llama_cpp.GGML_TYPE_F16, "type_v": llama_cpp.GGML_TYPE_F16}


_NATIVE_LOG_CALLBACK: Any = None
_native_logger = logging.getLogger(f"{__name__}.llama_cpp")


def _route_native_logs() -> None:
    """Send llama.cpp's native log lines to our logger at DEBUG instead of stderr."""
    global _NATIVE_LOG_CALLBACK
    if _NATIVE_LOG_CALLBACK is not None:
        return

    def forward(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        message = text.decode("utf-8", errors="replace").rstrip("\n")
        if message:
            _native_logger.debug("%s", message)

    # The ctypes function object must stay referenced while llama.cpp may call it.
    _NATIVE_LOG_CALLBACK = llama_cpp.llama_log_callback(forward)
    llama_cpp.llama_log_set(_NATIVE_LOG_CALLBACK, ctypes.c_void_p(0))


class _LogWriter(io.TextIOBase):
    """A text stream that forwards each written line to our logger at DEBUG.

    A logging handler that writes to `sys.stderr` while the redirect is active would call back
    into this writer. Such nested writes go to the process's real stderr instead of recursing.
    """

    _state = threading.local()

    def write(self, text: str) -> int:
        if getattr(self._state, "is_writing", False):
            if sys.__stderr__ is not None:
                sys.__stderr__.write(text)
            return len(text)
        self._state.is_writing = True
        try:
            if text.strip():
                _native_logger.debug("%s", text.rstrip("\n"))
        finally:
            self._state.is_writing = False
        return len(text)


@contextlib.contextmanager
def _python_prints_to_log() -> Iterator[None]:
    """Catch llama-cpp-python's `print(..., file=sys.stderr)` calls and log them instead.

    Note: `verbose=False` would silence them by pointing file descriptors 1 and 2 at /dev/null
    during a load. That also swallows what other threads write to stdout meanwhile, which under
    stdio LSP is a lost protocol message. Swapping `sys.stderr` is process-wide too, but it only
    moves other threads' Python-level stderr writes into our DEBUG log.
    """
    with contextlib.redirect_stderr(_LogWriter()):
        yield

