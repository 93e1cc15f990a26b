"""The language-model runtime: the `Generator` seam and its llama.cpp implementation.

`LlamaGenerator` keeps one KV cache sequence per cache key (a document, or the ask pipeline)
and reuses it between requests, and it restores retrieved chunks from stored per-chunk KV
caches instead of evaluating them again (TurboRAG). llama.cpp calls go through
`assistant/llama_runtime.py`.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from assistant.alignment import HealingLogitsProcessor, VocabularyIndex, plan_healing
from assistant.config import ModelSettings, default_thread_count
from assistant.errors import ContextOverflow, InvalidInput, ModelLoadError
from assistant.fim import FimFormat, FimTokens, detect_fim
from assistant.kv_reuse import (
    ReusePlan,
    Slot,
    SlotTable,
    Unit,
    plan_reuse,
    unchanged_prefix,
)
from assistant.llama_runtime import (
    BATCH_TOKENS,
    ContextOptions,
    DecodeError,
    KvCacheFull,
    NativeContext,
    NativeModel,
    Sampler,
    llama_cpp_version,
    route_native_logs,
)
from assistant.model_files import default_model_path
from assistant.prompt_parts import CHUNK_WRAPPER_VERSION, PromptPart, PromptParts
from assistant.text_stream import StopFilter
from indexer.kv_store import ChunkKvStore, chunk_kv_key

logger = logging.getLogger(__name__)

MODEL_ID_HASH_BYTES = 1 << 20
# Sampling filters used when temperature > 0; greedy decoding ignores them.
TOP_K = 40
TOP_P = 0.95
MIN_P = 0.05
SCRATCH_SEQUENCE = 0
DEFAULT_CACHE_KEY = "default"

Prompt = str | list[int] | PromptParts


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
        prompt: Prompt,
        max_tokens: int,
        temperature: float,
        stop: list[str],
        is_cancelled: Callable[[], bool] | None = None,
        heal_tokens: int = 0,
        cache_key: str | None = None,
    ) -> Iterator[str]:
        """Stream generated text pieces until a stop string, max_tokens or end of text.

        A stop string is not part of the output. `heal_tokens` backs off that many trailing
        prompt tokens and constrains the output to re-create their text, which is then left
        out of the output. `cache_key` names the KV cache sequence to reuse (one per document),
        so the next prompt that shares its start with this one evaluates only the difference.
        Close or exhaust the iterator, because it keeps the model locked until then.
        """
        ...


@dataclass(frozen=True)
class PrefillStats:
    """Counts of one prompt evaluation: tokens reused, restored from chunk caches and evaluated."""

    prompt_tokens: int
    reused_tokens: int
    restored_tokens: int
    evaluated_tokens: int
    restored_chunks: int
    built_chunks: int
    seconds: float


@dataclass(frozen=True)
class ContinuationScore:
    """Teacher-forced scores of a given continuation of a prompt.

    `mean_logprob` is the mean per continuation token. `token_accuracy` is the share of
    continuation tokens that were the model's top choice. `first_logits` are the logits before
    the first continuation token.
    """

    mean_logprob: float
    token_accuracy: float
    is_exact: bool
    first_logits: npt.NDArray[np.float32]


@dataclass(frozen=True)
class _ChunkRun:
    """The units of one restorable chunk in a target prompt."""

    start: int
    tokens: list[int]
    key: str
    source_path: str


class LlamaGenerator:
    """A GGUF model run by llama.cpp; one request at a time, several cached sequences."""

    def __init__(self, path: Path, settings: ModelSettings) -> None:
        """Load the model at `path` and create its context.

        Raises:
            FileNotFoundError: `path` does not exist.
            ModelLoadError: llama.cpp could not load the file or create the context.
        """
        if not path.is_file():
            raise FileNotFoundError(
                f"language model file {path} not found; set model.path to an existing GGUF file, "
                "or leave it empty to use the shipped model"
            )
        _check_cache_settings(settings)
        route_native_logs()
        n_threads = settings.n_threads or default_thread_count()
        self._lock = threading.Lock()
        self._vocabulary_index: VocabularyIndex | None = None
        self._chunk_store: ChunkKvStore | None = None
        self._is_store_too_small = False
        self._settings = settings
        self._model = _load_model(path, settings)
        options = ContextOptions(settings.n_ctx, n_threads, settings.kv_cache_type, settings.cache_slots + 1)
        try:
            self._context = NativeContext(self._model, options)
        except ValueError as error:
            self._model.close()
            raise ModelLoadError(
                f"llama.cpp could not create a {settings.n_ctx}-token context for {path} ({error}); "
                "lower model.n_ctx or model.cache_slots, or run with -vv to see llama.cpp's log"
            ) from error
        self._slots = SlotTable(first_sequence=SCRATCH_SEQUENCE + 1, count=settings.cache_slots)
        self.path = path
        self.n_ctx = self._context.n_ctx
        self.model_id = compute_model_id(path)
        self.chat_template = self._model.metadata("tokenizer.chat_template")
        self.last_prefill: PrefillStats | None = None
        self._chunk_key_prefix = (
            f"{self.model_id}|kv {settings.kv_cache_type.value}|wrapper {CHUNK_WRAPPER_VERSION}"
            f"|llama-cpp-python {llama_cpp_version()}"
        )
        self._special_tokens = self._model.special_tokens()
        detected = detect_fim(self._special_tokens, self._model.fim_ids())
        self.fim_format: FimFormat | None = detected[0] if detected else None
        self.fim_tokens: FimTokens | None = detected[1] if detected else None
        if not self._context.can_shift:
            logger.warning(
                "%s cannot shift cached positions; chunk KV caches and shifted prefix reuse are off "
                "for it, and prompts are evaluated in full", path.name,
            )
        logger.info(
            "loaded %s (%s, context %d tokens, %d threads, %d cache slots, FIM %s)", path.name, self.model_id,
            self.n_ctx, n_threads, settings.cache_slots, self.fim_format.family.value if self.fim_format else "none",
        )

    def close(self) -> None:
        """Free the context and the model."""
        self._context.close()
        self._model.close()

    def __enter__(self) -> LlamaGenerator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def bos_id(self) -> int | None:
        """The BOS token when the model expects one at the start of a prompt, else None."""
        return self._model.bos_id if self._model.adds_bos else None

    @property
    def can_restore_chunks(self) -> bool:
        """Whether chunk KV caches can be restored: the model's cache positions can shift."""
        return self._context.can_shift

    def clear_cached_sequences(self) -> None:
        """Drop every cached sequence, so the next prompt is evaluated without reuse."""
        with self._lock:
            for slot in self._slots.slots:
                if slot.units:
                    self._drop_slot(slot)

    def attach_chunk_store(self, store: ChunkKvStore | None) -> None:
        """Use `store` for the KV caches of retrieved chunks (None turns restoring off)."""
        with self._lock:
            self._chunk_store = store
            self._is_store_too_small = False

    def chunk_cache_key(self, text: str) -> str:
        """Return the chunk KV store key of a chunk part with `text`, for this model and KV type."""
        return chunk_kv_key(self._chunk_key_prefix, text)

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        """Tokenize `text`; `add_bos` adds the BOS token only if the model expects one."""
        return self._model.tokenize(text.encode("utf-8"), add_bos=add_bos and self._model.adds_bos)

    def detokenize(self, ids: Sequence[int]) -> str:
        """Return the text of `ids`, without control tokens."""
        data = b"".join(self.token_bytes(token_id) for token_id in ids)
        return data.decode("utf-8", errors="replace")

    def count_tokens(self, text: str) -> int:
        """Count the tokens of `text` without BOS."""
        return len(self.tokenize(text))

    def token_bytes(self, token_id: int) -> bytes:
        """Return the byte text of one token; empty for a control token."""
        return self._model.token_bytes(token_id)

    def vocabulary_index(self) -> VocabularyIndex:
        """Return the prefix index over this model's vocabulary, built on first use (0.2-0.7 s)."""
        if self._vocabulary_index is None:
            started = time.perf_counter()
            pieces = self._model.pieces()
            self._vocabulary_index = VocabularyIndex(pieces)
            logger.debug("indexed %d vocabulary pieces in %.2fs", len(pieces), time.perf_counter() - started)
        return self._vocabulary_index

    def generate(
        self,
        prompt: Prompt,
        max_tokens: int,
        temperature: float,
        stop: list[str],
        is_cancelled: Callable[[], bool] | None = None,
        heal_tokens: int = 0,
        cache_key: str | None = None,
    ) -> Iterator[str]:
        """Stream generated text pieces; see `Generator.generate`."""
        units, runs = self._target_units(prompt)
        if not units:
            raise ValueError("cannot generate from an empty prompt; pass at least one token")
        if len(units) + max_tokens > self.n_ctx:
            raise ContextOverflow(
                f"prompt of {len(units)} tokens plus {max_tokens} tokens to generate exceeds the "
                f"context of {self.n_ctx} tokens; shorten the prompt or raise model.n_ctx"
            )
        return self._stream(units, runs, max_tokens, temperature, stop, is_cancelled, heal_tokens, cache_key)

    def next_token_logits(self, prompt: Prompt, cache_key: str | None = None) -> npt.NDArray[np.float32]:
        """Evaluate `prompt` and return a copy of the logits for the token after it.

        For measurements and tests that compare how a prompt was evaluated.
        """
        units, runs = self._target_units(prompt)
        if not units:
            raise ValueError("cannot evaluate an empty prompt; pass at least one token")
        with self._lock:
            slot = self._slot(cache_key or DEFAULT_CACHE_KEY)
            self._prefill(slot, units, runs, None)
            return self._context.logits().copy()

    def score(self, prompt: Prompt, continuation: str, cache_key: str | None = None) -> ContinuationScore:
        """Score `continuation` as the text after `prompt`, one forced token at a time.

        For measurements that compare ways of building or evaluating a prompt.
        """
        units, runs = self._target_units(prompt)
        forced = self.tokenize(continuation)
        if not units or not forced:
            raise ValueError("cannot score an empty prompt or continuation; pass text for both")
        with self._lock:
            slot = self._slot(cache_key or DEFAULT_CACHE_KEY)
            self._prefill(slot, units, runs, None)
            first_logits = self._context.logits().copy()
            logprobs: list[float] = []
            hits = 0
            for token_id in forced:
                logits = self._context.logits()
                shifted = logits - logits.max()
                logprobs.append(float(shifted[token_id] - np.log(np.exp(shifted).sum())))
                hits += int(int(np.argmax(logits)) == token_id)
                self._evaluate(slot, [(token_id, None)], wants_logits=True)
        return ContinuationScore(sum(logprobs) / len(forced), hits / len(forced), hits == len(forced), first_logits)

    def precompute_chunks(self, parts: Sequence[PromptPart], is_cancelled: Callable[[], bool] | None = None) -> int:
        """Compute and store the KV caches of the chunk parts that the store lacks; returns how many.

        Raises:
            ValueError: no chunk store is attached.
        """
        built = 0
        with self._lock:
            store = self._chunk_store
            if store is None:
                raise ValueError("no chunk KV store is attached; open the index first")
            for part in parts:
                if is_cancelled is not None and is_cancelled():
                    break
                if part.source_path is None:
                    continue
                key = self.chunk_cache_key(part.text)
                if store.get(key) is not None:
                    continue
                self._build_chunk(_ChunkRun(0, self.tokenize(part.text), key, part.source_path), store)
                built += 1
        return built

    def _target_units(self, prompt: Prompt) -> tuple[list[Unit], list[_ChunkRun]]:
        """Tokenize `prompt` into units; chunk parts get their store key as origin when restorable."""
        if isinstance(prompt, str):
            return [(token_id, None) for token_id in self.tokenize(prompt, add_bos=True)], []
        if isinstance(prompt, list):
            return [(int(token_id), None) for token_id in prompt], []
        units: list[Unit] = [(token_id, None) for token_id in self.tokenize("", add_bos=True)]
        runs: list[_ChunkRun] = []
        is_restorable = self._chunk_store is not None and self._context.can_shift and not self._is_store_too_small
        last_index = len(prompt.parts) - 1
        for index, part in enumerate(prompt.parts):
            tokens = self.tokenize(part.text)
            # The last part is always evaluated, because its last token's logits give the first output token.
            if is_restorable and part.source_path is not None and index < last_index and tokens:
                key = self.chunk_cache_key(part.text)
                runs.append(_ChunkRun(len(units), tokens, key, part.source_path))
                units.extend((token_id, key) for token_id in tokens)
            else:
                units.extend((token_id, None) for token_id in tokens)
        return units, runs

    def _stream(
        self,
        units: list[Unit],
        runs: list[_ChunkRun],
        max_tokens: int,
        temperature: float,
        stop: list[str],
        is_cancelled: Callable[[], bool] | None,
        heal_tokens: int,
        cache_key: str | None,
    ) -> Iterator[str]:
        with self._lock:
            prompt_ids, processors, skip_bytes = self._plan_healing([token_id for token_id, _ in units], heal_tokens)
            # The backed-off tokens stay in the prompt and get logits, so while the model re-creates
            # them its next-token logits are already known. Decoding starts at the first difference.
            backed_off = [token_id for token_id, _ in units[len(prompt_ids) :]]
            max_tokens += len(backed_off)
            units = _trim_units(units, runs, len(backed_off) + 1)
            slot = self._slot(cache_key or DEFAULT_CACHE_KEY)
            # Row i contains the logits after prompt token len(prompt_ids) - 1 + i.
            rows = self._cached_rows(slot, units, len(prompt_ids) - 1) if backed_off else []
            logits_tail = len(units) - len(prompt_ids) + 1 - len(rows)
            if not self._prefill(slot, units, runs, is_cancelled, logits_tail=logits_tail):
                return
            if backed_off:
                rows += [self._context.logits_row(index).copy() for index in range(-logits_tail, 0)]
                slot.logits_rows = {len(prompt_ids) - 1 + offset: row for offset, row in enumerate(rows)}
            recreated = 0
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            text_filter = StopFilter(stop)
            generated: list[int] = []
            with Sampler(temperature, TOP_K, TOP_P, MIN_P, self._settings.seed) as sampler:
                for _ in range(max_tokens):
                    if is_cancelled is not None and is_cancelled():
                        return
                    if rows:
                        self._context.logits()[:] = rows[recreated]
                    token_id = self._sample(sampler, processors, prompt_ids, generated)
                    if self._is_end(token_id):
                        break
                    generated.append(token_id)
                    data = self.token_bytes(token_id)
                    if skip_bytes:
                        skipped = min(skip_bytes, len(data))
                        data, skip_bytes = data[skipped:], skip_bytes - skipped
                    piece = text_filter.push(decoder.decode(data))
                    if piece:
                        yield piece
                    if text_filter.is_stopped:
                        return
                    if rows and recreated < len(backed_off) and token_id == backed_off[recreated]:
                        # The cache already contains this prompt token, evaluated.
                        recreated += 1
                        continue
                    if rows:
                        # Generation left the prompt's tokens: drop the rest of them from the cache.
                        position = len(prompt_ids) + recreated
                        self._context.remove(slot.sequence, position, -1)
                        slot.truncate(position)
                        rows = []
                    # The sampled token is evaluated only when another one is needed after it.
                    self._evaluate(slot, [(token_id, None)], wants_logits=True)
                tail = text_filter.push(decoder.decode(b"", final=True)) + text_filter.flush()
                if tail:
                    yield tail

    def _sample(
        self, sampler: Sampler, processors: list[HealingLogitsProcessor], prompt_ids: list[int], generated: list[int]
    ) -> int:
        if processors:
            logits = self._context.logits()
            input_ids = np.array(prompt_ids + generated, dtype=np.intc)
            for processor in processors:
                constrained = processor(input_ids, logits)
                if constrained is not logits:
                    logits[:] = constrained
        return sampler.sample(self._context)

    def _slot(self, cache_key: str) -> Slot:
        slot, is_new = self._slots.acquire(cache_key)
        if is_new and slot.units:
            self._context.remove(slot.sequence, 0, -1)
            slot.truncate(0)
        return slot

    def _cached_rows(self, slot: Slot, units: list[Unit], first: int) -> list[npt.NDArray[np.float32]]:
        """Return the slot's kept logits for positions `first`... that `units` leaves unchanged.

        The last position is always evaluated again, because the sampler reads its logits.
        """
        plan = plan_reuse(slot.units, units, self._settings.reuse_min_tokens, self._context.can_shift)
        end = min(unchanged_prefix(plan), len(units) - 1)
        rows = []
        for position in range(first, end):
            row = slot.logits_rows.get(position)
            if row is None:
                break
            rows.append(row)
        return rows

    def _prefill(
        self,
        slot: Slot,
        units: list[Unit],
        runs: list[_ChunkRun],
        is_cancelled: Callable[[], bool] | None,
        logits_tail: int = 1,
    ) -> bool:
        """Bring `slot` to contain `units` by reuse, restores and evaluation; False when cancelled.

        The last `logits_tail` units are evaluated in one batch with logits, so that
        `NativeContext.logits_row` reads them; they must not belong to a restored chunk.
        """
        started = time.perf_counter()
        plan = plan_reuse(
            slot.units, units, self._settings.reuse_min_tokens, self._context.can_shift, evaluate_last=logits_tail
        )
        self._apply_reuse(slot, units, plan)

        restored = restored_chunks = built = entry_bytes = 0
        run_by_start = {run.start: run for run in runs}
        position = plan.kept
        while position < len(units):
            if is_cancelled is not None and is_cancelled():
                return False
            run = run_by_start.get(position)
            if run is not None and self._chunk_store is not None:
                is_built, size_bytes = self._restore_chunk(slot, run, self._chunk_store)
                built += is_built
                entry_bytes += size_bytes
                restored += len(run.tokens)
                restored_chunks += 1
                position += len(run.tokens)
                continue
            # One batch at a time, so a cancelled request stops soon and keeps what it evaluated.
            end = min(_plain_run_end(units, position, run_by_start), position + BATCH_TOKENS)
            if end < len(units) and len(units) - end < logits_tail:
                end = len(units) - logits_tail
            is_last = end == len(units)
            self._evaluate(slot, units[position:end], wants_logits=is_last, logits_tail=logits_tail if is_last else 1)
            position = end

        if self._chunk_store is not None and entry_bytes > self._chunk_store.size_limit_bytes:
            self._is_store_too_small = True
            logger.warning(
                "the chunk KV caches of one prompt take %d MiB, more than the store's cap of %d MiB, so they "
                "evict each other; retrieved chunks are evaluated in full from now on. Raise turbo.cache_size_mb",
                entry_bytes >> 20, self._chunk_store.size_limit_bytes >> 20,
            )

        self.last_prefill = PrefillStats(
            prompt_tokens=len(units), reused_tokens=plan.kept, restored_tokens=restored,
            evaluated_tokens=len(units) - plan.kept - restored, restored_chunks=restored_chunks,
            built_chunks=built, seconds=time.perf_counter() - started,
        )
        logger.debug(
            "prompt of %d tokens: %d reused, %d restored from %d chunk caches (%d built), %d evaluated in %.3fs",
            len(units), plan.kept, restored, restored_chunks, built, self.last_prefill.evaluated_tokens,
            self.last_prefill.seconds,
        )
        return True

    def _apply_reuse(self, slot: Slot, units: list[Unit], plan: ReusePlan) -> None:
        for move in plan.moves:
            if move.source_start != move.target_start:
                self._context.remove(slot.sequence, move.target_start, move.source_start)
                self._context.shift(
                    slot.sequence, move.source_start, move.source_start + move.length,
                    move.target_start - move.source_start,
                )
        self._context.remove(slot.sequence, plan.kept, -1)
        slot.truncate(unchanged_prefix(plan))
        slot.units = list(units[: plan.kept])

    def _evaluate(self, slot: Slot, units: Sequence[Unit], wants_logits: bool, logits_tail: int = 1) -> None:
        """Evaluate `units` after the slot's current end, freeing other slots when the cache is full."""
        tokens = [token_id for token_id, _ in units]
        self._with_room(
            slot,
            lambda: self._context.decode(tokens, slot.sequence, len(slot.units), wants_logits, logits_tail),
            len(tokens),
        )
        slot.units.extend(units)

    def _restore_chunk(self, slot: Slot, run: _ChunkRun, store: ChunkKvStore) -> tuple[int, int]:
        """Append a chunk's stored KV cells to `slot`.

        Returns 1 when the entry had to be built (else 0), and the entry's size in bytes.
        """
        context = self._context
        context.remove(SCRATCH_SEQUENCE, 0, -1)
        has_bos = self.bos_id is not None
        expected_cells = len(run.tokens) + int(has_bos)
        data = store.get(run.key)
        is_built = 0
        if data is not None and not self._load_scratch(slot, data, expected_cells):
            logger.warning("chunk KV entry %s for %s does not fit this model; rebuilding it", run.key[:12], run.source_path)
            store.discard(run.key)
            data = None
        if data is None:
            size_bytes = self._build_chunk(run, store, slot)
            is_built = 1
        else:
            size_bytes = len(data)
        start = len(slot.units)
        if has_bos:
            # The chunk attended to its own BOS; the prompt's BOS takes its place as attention sink.
            context.remove(SCRATCH_SEQUENCE, 0, 1)
            context.shift(SCRATCH_SEQUENCE, 1, -1, start - 1)
        else:
            context.shift(SCRATCH_SEQUENCE, 0, -1, start)
        context.copy_sequence(SCRATCH_SEQUENCE, slot.sequence)
        context.remove(SCRATCH_SEQUENCE, 0, -1)
        slot.units.extend((token_id, run.key) for token_id in run.tokens)
        return is_built, size_bytes

    def _load_scratch(self, slot: Slot, data: bytes, expected_cells: int) -> bool:
        is_restored = self._with_room(
            slot, lambda: self._context.restore_sequence(data, SCRATCH_SEQUENCE), expected_cells
        )
        if is_restored and self._context.max_position(SCRATCH_SEQUENCE) == expected_cells - 1:
            return True
        self._context.remove(SCRATCH_SEQUENCE, 0, -1)
        return False

    def _build_chunk(self, run: _ChunkRun, store: ChunkKvStore, slot: Slot | None = None) -> int:
        """Evaluate a chunk alone after BOS in the scratch sequence, store its KV cells and return their size."""
        context = self._context
        context.remove(SCRATCH_SEQUENCE, 0, -1)
        tokens = ([self._model.bos_id] if self.bos_id is not None else []) + run.tokens
        started = time.perf_counter()
        self._with_room(slot, lambda: context.decode(tokens, SCRATCH_SEQUENCE, 0, wants_logits=False), len(tokens))
        data = context.save_sequence(SCRATCH_SEQUENCE)
        store.put(run.key, data, run.source_path)
        logger.debug(
            "built chunk KV entry %s for %s: %d tokens, %d bytes in %.3fs", run.key[:12], run.source_path,
            len(tokens), len(data), time.perf_counter() - started,
        )
        return len(data)

    def _with_room(self, slot: Slot | None, action: Callable[[], Any], cells: int) -> Any:
        """Run an action that fills `cells` KV cells, first dropping least recently used other slots.

        Every cell belongs to a slot's units (restored chunks pass through the scratch sequence
        and end up in a slot), so the free cells are known without asking llama.cpp. A full cache
        reported anyway (fragmentation) drops one more slot per retry.
        """
        victims = self._slots.eviction_order(slot if slot is not None else _NO_SLOT)
        used = sum(len(candidate.units) for candidate in self._slots.slots)
        while victims and used + cells > self.n_ctx:
            used -= len(victims[0].units)
            self._drop_slot(victims.pop(0))
        while True:
            try:
                return action()
            except KvCacheFull:
                if not victims:
                    raise ContextOverflow(
                        f"the KV cache of {self.n_ctx} tokens is full; raise model.n_ctx or shorten the prompt"
                    ) from None
                self._drop_slot(victims.pop(0))

    def _drop_slot(self, victim: Slot) -> None:
        logger.debug("dropping the cached sequence of %s to make room", victim.key)
        self._context.remove(victim.sequence, 0, -1)
        victim.truncate(0)

    def _plan_healing(
        self, prompt_ids: list[int], heal_tokens: int
    ) -> tuple[list[int], list[HealingLogitsProcessor], int]:
        """Return the prompt to evaluate, the healing constraint and how many output bytes it re-creates."""
        if heal_tokens <= 0:
            return prompt_ids, [], 0
        index = self.vocabulary_index()
        plan = plan_healing(prompt_ids, index, heal_tokens)
        if not plan.required_bytes:
            return prompt_ids, [], 0
        processor = HealingLogitsProcessor(index, len(plan.prompt_ids), plan.required_bytes)
        return plan.prompt_ids, [processor], len(plan.required_bytes)

    def _is_end(self, token_id: int) -> bool:
        # Any control token ends a completion: FIM models emit file separators or padding.
        return self._model.is_end_of_generation(token_id) or self._model.is_control(token_id)


_NO_SLOT = Slot(sequence=-1)


MAX_CACHE_SLOTS = 64


def _check_cache_settings(settings: ModelSettings) -> None:
    if not 1 <= settings.cache_slots <= MAX_CACHE_SLOTS:
        raise InvalidInput(
            f"setting model.cache_slots is {settings.cache_slots}; pass a number from 1 to {MAX_CACHE_SLOTS}"
        )
    if settings.reuse_min_tokens < 0:
        raise InvalidInput(
            f"setting model.reuse_min_tokens is {settings.reuse_min_tokens}; pass 0 (off) or a positive token count"
        )


def _trim_units(units: list[Unit], runs: list[_ChunkRun], plain_tail: int) -> list[Unit]:
    """Mark chunk units as normal when their chunk reaches into the last `plain_tail` units, and drop those runs.

    Those units are evaluated, because their logits are needed: the last one's for the first
    generated token, the ones before it for the tokens that alignment backed off.
    """
    length = len(units)
    for run in list(runs):
        if run.start + len(run.tokens) > length - plain_tail:
            runs.remove(run)
            for index in range(run.start, run.start + len(run.tokens)):
                units[index] = (units[index][0], None)
    return units


def _plain_run_end(units: list[Unit], start: int, run_by_start: dict[int, _ChunkRun]) -> int:
    end = start + 1
    while end < len(units) and end not in run_by_start:
        end += 1
    return end


def _load_model(path: Path, settings: ModelSettings) -> NativeModel:
    try:
        return NativeModel(path, settings.n_gpu_layers)
    except ValueError as error:
        raise ModelLoadError(
            f"llama.cpp failed to load {path} ({error}); check that it is a GGUF model file "
            f"that llama-cpp-python {llama_cpp_version()} supports, or run with -vv to see llama.cpp's log"
        ) from error


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


__all__ = ["ContinuationScore", "DecodeError", "Generator", "LlamaGenerator", "PrefillStats", "Prompt", "compute_model_id", "load_generator"]
