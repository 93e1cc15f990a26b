"""Chunk KV caches (TurboRAG) and KV reuse between requests, with the real shipped models."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from assistant.config import DefaultModel, ModelSettings, Settings
from assistant.errors import InvalidInput
from assistant.model import LlamaGenerator, load_generator
from assistant.prompt_parts import PromptPart, PromptParts
from assistant.service import Assistant
from indexer.kv_store import KV_FOLDER, MAX_CACHE_SIZE_MB, ChunkKvStore, open_kv_store

pytestmark = pytest.mark.slow

CHUNK = PromptPart(
    textwrap.dedent(
        '''\
        # json/decoder.py:15-30 (JSONDecodeError)
        class JSONDecodeError(ValueError):
            """Subclass of ValueError with the following additional properties:

            msg: The unformatted error message
            doc: The JSON document being parsed
            pos: The start index of doc where parsing failed
            lineno: The line corresponding to pos
            colno: The column corresponding to pos
            """
            def __init__(self, msg, doc, pos):
                lineno = doc.count('\\n', 0, pos) + 1
                colno = pos - doc.rfind('\\n', 0, pos)
                errmsg = '%s: line %d column %d (char %d)' % (msg, lineno, colno, pos)
                ValueError.__init__(self, errmsg)

        '''
    ),
    source_path="json/decoder.py",
)
OTHER_CHUNK = PromptPart(
    textwrap.dedent(
        """\
        # json/__init__.py:183-190 (dumps)
        def dumps(obj, *, skipkeys=False, ensure_ascii=True, check_circular=True,
                allow_nan=True, cls=None, indent=None, separators=None,
                default=None, sort_keys=False, **kw):
            if cls is None:
                cls = JSONEncoder
            return cls(skipkeys=skipkeys, ensure_ascii=ensure_ascii, indent=indent,
                separators=separators, default=default, sort_keys=sort_keys, **kw).encode(obj)

        """
    ),
    source_path="json/__init__.py",
)
QUESTION = PromptPart("Question: which exception does the decoder raise on bad input?\nAnswer:")


def settings_for(model: DefaultModel) -> ModelSettings:
    return ModelSettings(default=model, n_threads=1, n_ctx=2048, cache_slots=2)


def top_ids(logits: npt.NDArray[np.float32], count: int = 5) -> set[int]:
    return {int(token_id) for token_id in np.argsort(logits)[::-1][:count]}


@pytest.fixture(scope="module")
def gemma() -> Iterator[LlamaGenerator]:
    generator = load_generator(settings_for(DefaultModel.GEMMA3_270M))
    yield generator
    generator.close()


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[ChunkKvStore]:
    kv_store = open_kv_store(tmp_path, 1024)
    yield kv_store
    kv_store.close()


@pytest.fixture()
def attached(gemma: LlamaGenerator, store: ChunkKvStore) -> Iterator[LlamaGenerator]:
    gemma.attach_chunk_store(store)
    yield gemma
    gemma.attach_chunk_store(None)


@pytest.mark.parametrize("model", [DefaultModel.GEMMA3_270M, DefaultModel.SMOLLM2_135M])
def test_chunk_restored_in_fresh_process_matches_prefill(model: DefaultModel, tmp_path: Path) -> None:
    # Another process computes and stores the chunk's KV cache; this one only restores it.
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from assistant.config import DefaultModel, ModelSettings
        from assistant.model import load_generator
        from assistant.prompt_parts import PromptPart
        from indexer.kv_store import open_kv_store
        settings = ModelSettings(default=DefaultModel({model.value!r}), n_threads=1, n_ctx=2048, cache_slots=2)
        with load_generator(settings) as generator:
            store = open_kv_store(Path({str(tmp_path)!r}), 1024)
            generator.attach_chunk_store(store)
            print(generator.precompute_chunks([PromptPart({CHUNK.text!r}, source_path={CHUNK.source_path!r})]))
            store.close()
        """
    )
    built = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=600)
    assert built.stdout.strip() == "1"

    prompt = PromptParts((CHUNK, QUESTION))
    with load_generator(settings_for(model)) as generator:
        store = open_kv_store(tmp_path, 1024)
        generator.attach_chunk_store(store)
        restored = generator.next_token_logits(prompt, cache_key="turbo")
        stats = generator.last_prefill
        store.close()
    assert stats is not None
    assert stats.restored_chunks == 1
    assert stats.built_chunks == 0

    # A fresh generator for the reference: logits move by up to about one unit when other
    # sequences hold cells or the prompt is split into other batches, which can swap the fifth
    # and sixth tokens when they are within 0.1 of each other (seen with Gemma on a Xeon).
    with load_generator(settings_for(model)) as generator:
        full = generator.next_token_logits(prompt.without_chunk_cache(), cache_key="full")
        assert generator.last_prefill is not None
        assert generator.last_prefill.restored_chunks == 0
    assert len(top_ids(restored) & top_ids(full)) >= 4
    assert int(np.argmax(restored)) == int(np.argmax(full))


def test_two_chunks_restored_keep_most_of_top_five(attached: LlamaGenerator) -> None:
    # Restored chunks do not attend to each other, so the distribution may move a little.
    prompt = PromptParts((PromptPart("Code from the repository:\n\n"), CHUNK, OTHER_CHUNK, QUESTION))
    attached.precompute_chunks(prompt.parts)
    restored = attached.next_token_logits(prompt, cache_key="two-turbo")
    assert attached.last_prefill is not None
    assert attached.last_prefill.restored_chunks == 2
    full = attached.next_token_logits(prompt.without_chunk_cache(), cache_key="two-full")
    assert len(top_ids(restored) & top_ids(full)) >= 3


def test_missing_entry_is_built_then_reused(attached: LlamaGenerator, store: ChunkKvStore) -> None:
    prompt = PromptParts((CHUNK, QUESTION))
    first = "".join(attached.generate(prompt, 6, 0.0, [], cache_key="missing-a"))
    assert attached.last_prefill is not None
    assert attached.last_prefill.built_chunks == 1
    assert store.entry_count() == 1
    second = "".join(attached.generate(prompt, 6, 0.0, [], cache_key="missing-b"))
    assert attached.last_prefill.built_chunks == 0
    assert attached.last_prefill.restored_chunks == 1
    assert first.strip()
    assert second.strip()


def test_truncated_entry_is_rebuilt_with_warning(
    attached: LlamaGenerator, store: ChunkKvStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    attached.precompute_chunks([CHUNK])
    value_files = list(tmp_path.rglob("*.val"))
    assert len(value_files) == 1
    data = value_files[0].read_bytes()
    value_files[0].write_bytes(data[: len(data) // 2])

    with caplog.at_level(logging.WARNING):
        text = "".join(attached.generate(PromptParts((CHUNK, QUESTION)), 4, 0.0, [], cache_key="truncated"))
    assert text.strip()
    assert attached.last_prefill is not None
    assert attached.last_prefill.built_chunks == 1
    assert any("damaged" in record.getMessage() for record in caplog.records)
    assert store.entry_count() == 1


def test_entry_llama_cpp_rejects_is_rebuilt(
    attached: LlamaGenerator, store: ChunkKvStore, caplog: pytest.LogCaptureFixture
) -> None:
    # A well-formed entry whose content is not a KV state of this model.
    key = attached.chunk_cache_key(CHUNK.text)
    store.put(key, bytes(range(256)) * 64, CHUNK.source_path or "")
    with caplog.at_level(logging.WARNING):
        text = "".join(attached.generate(PromptParts((CHUNK, QUESTION)), 4, 0.0, [], cache_key="rejected"))
    assert text.strip()
    assert attached.last_prefill is not None
    assert attached.last_prefill.built_chunks == 1
    assert any("does not fit this model" in record.getMessage() for record in caplog.records)


def test_no_shift_falls_back_to_full_prefill(attached: LlamaGenerator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attached._context, "can_shift", False)
    "".join(attached.generate(PromptParts((CHUNK, QUESTION)), 2, 0.0, [], cache_key="noshift"))
    assert attached.last_prefill is not None
    assert attached.last_prefill.restored_chunks == 0
    assert attached.last_prefill.evaluated_tokens == attached.last_prefill.prompt_tokens


def test_no_store_evaluates_chunks(gemma: LlamaGenerator) -> None:
    gemma.attach_chunk_store(None)
    "".join(gemma.generate(PromptParts((CHUNK, QUESTION)), 2, 0.0, [], cache_key="nostore"))
    assert gemma.last_prefill is not None
    assert gemma.last_prefill.restored_chunks == 0


def test_typing_reuses_prefix(gemma: LlamaGenerator) -> None:
    code = CHUNK.text + "def parse(text):\n    return JSONDec"
    "".join(gemma.generate(code, 4, 0.0, ["\n"], cache_key="doc.py"))
    "".join(gemma.generate(code + "o", 4, 0.0, ["\n"], cache_key="doc.py"))
    stats = gemma.last_prefill
    assert stats is not None
    assert stats.evaluated_tokens <= 3
    assert stats.reused_tokens >= stats.prompt_tokens - 3


def test_deleted_line_above_moves_cached_rest(gemma: LlamaGenerator) -> None:
    lines = [f"    value_{index} = compute_{index}(data, {index})\n" for index in range(40)]
    before = "def build(data):\n" + "".join(lines)
    after = "def build(data):\n" + "".join(lines[:3] + lines[4:])
    "".join(gemma.generate(before + "    return", 2, 0.0, [], cache_key="moves.py"))
    text = "".join(gemma.generate(after + "    return", 2, 0.0, [], cache_key="moves.py"))
    stats = gemma.last_prefill
    assert stats is not None
    assert stats.reused_tokens > stats.prompt_tokens * 0.8
    assert text.strip()


def test_documents_keep_their_own_sequences(gemma: LlamaGenerator) -> None:
    first = CHUNK.text + "x = "
    second = OTHER_CHUNK.text + "y = "
    "".join(gemma.generate(first, 2, 0.0, [], cache_key="first.py"))
    "".join(gemma.generate(second, 2, 0.0, [], cache_key="second.py"))
    "".join(gemma.generate(first + "1", 2, 0.0, [], cache_key="first.py"))
    assert gemma.last_prefill is not None
    assert gemma.last_prefill.reused_tokens >= gemma.count_tokens(first) - 1


def test_cancelled_prefill_leaves_usable_cache(gemma: LlamaGenerator) -> None:
    # Long enough for several decode batches; cancellation is checked between them.
    code = "".join(f"item_{index} = {index} * {index}\n" for index in range(90)) + "total ="
    calls = 0

    def cancel_after_first_batch() -> bool:
        nonlocal calls
        calls += 1
        return calls > 1

    assert list(gemma.generate(code, 4, 0.0, [], is_cancelled=cancel_after_first_batch, cache_key="cancel.py")) == []
    reused = gemma.next_token_logits(code, cache_key="cancel.py")
    stats = gemma.last_prefill
    assert stats is not None
    assert 0 < stats.reused_tokens < stats.prompt_tokens
    fresh = gemma.next_token_logits(code, cache_key="cancel-fresh.py")
    assert int(np.argmax(reused)) == int(np.argmax(fresh))


def test_store_evicts_least_recently_used_under_cap(tmp_path: Path) -> None:
    entry = 300_000
    kv_store = ChunkKvStore(tmp_path, 1_000_000)
    try:
        for index in range(3):
            kv_store.put(f"key{index}", bytes([index]) * entry, "a.py")
        assert kv_store.get("key0") is not None
        for index in range(3, 6):
            kv_store.put(f"key{index}", bytes([index]) * entry, "b.py")
        assert kv_store.size_bytes() <= 1_000_000 + entry
        assert kv_store.get("key5") is not None
        assert kv_store.get("key1") is None
    finally:
        kv_store.close()


def test_store_evict_paths_drops_only_that_file(tmp_path: Path) -> None:
    kv_store = ChunkKvStore(tmp_path, 1 << 30)
    try:
        kv_store.put("a1", b"x" * 100, "a.py")
        kv_store.put("a2", b"y" * 100, "a.py")
        kv_store.put("b1", b"z" * 100, "b.py")
        assert kv_store.evict_paths(["a.py"]) == 2
        assert kv_store.get("a1") is None
        assert kv_store.get("b1") == b"z" * 100
    finally:
        kv_store.close()


def test_store_altered_entry_is_dropped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    kv_store = ChunkKvStore(tmp_path, 1 << 30)
    try:
        kv_store.put("k", b"a" * 100_000, "a.py")
        value_file = next(tmp_path.rglob("*.val"))
        data = bytearray(value_file.read_bytes())
        data[-1] ^= 0xFF
        value_file.write_bytes(bytes(data))
        with caplog.at_level(logging.WARNING):
            assert kv_store.get("k") is None
        assert any("damaged" in record.getMessage() for record in caplog.records)
        assert kv_store.entry_count() == 0
    finally:
        kv_store.close()


@pytest.mark.parametrize("cache_size_mb", [0, -5, MAX_CACHE_SIZE_MB + 1])
def test_store_cap_out_of_range_names_setting(tmp_path: Path, cache_size_mb: int) -> None:
    with pytest.raises(InvalidInput, match=r"turbo.cache_size_mb is .*; pass a size in MiB"):
        open_kv_store(tmp_path, cache_size_mb)


def test_damaged_store_database_starts_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    kv_store = open_kv_store(tmp_path, 1024)
    kv_store.put("k", b"a" * 100_000, "a.py")
    kv_store.close()
    database = tmp_path / KV_FOLDER / "cache.db"
    database.write_bytes(bytes(range(256)) * (database.stat().st_size // 256 + 1))

    with caplog.at_level(logging.WARNING):
        reopened = open_kv_store(tmp_path, 1024)
    try:
        assert any("is damaged" in record.getMessage() for record in caplog.records)
        assert reopened.get("k") is None
        assert reopened.put("k", b"b" * 100, "a.py")
        assert reopened.get("k") == b"b" * 100
    finally:
        reopened.close()


def test_lowered_cap_culls_on_open(tmp_path: Path) -> None:
    kv_store = open_kv_store(tmp_path, 1024)
    for index in range(6):
        kv_store.put(f"key{index}", bytes([index]) * 400_000, "a.py")
    kv_store.close()
    reopened = open_kv_store(tmp_path, 1)
    try:
        assert reopened.size_bytes() <= 1 << 20
    finally:
        reopened.close()


REPO_FILES = {
    "shapes.py": textwrap.dedent(
        '''\
        import math


        def circle_area(radius):
            """Return the area of a circle of the given radius."""
            return math.pi * radius * radius


        def square_area(side):
            """Return the area of a square."""
            return side * side
        '''
    ),
    "report.py": textwrap.dedent(
        '''\
        from shapes import circle_area, square_area


        def area_report(shapes):
            """Sum the areas of (kind, size) pairs."""
            total = 0.0
            for kind, size in shapes:
                total += circle_area(size) if kind == "circle" else square_area(size)
            return total
        '''
    ),
}


def write_repository(folder: Path) -> Settings:
    """Write the two-file repository into `folder` and return settings for one model thread."""
    for name, text in REPO_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = Settings()
    settings.model = ModelSettings(n_threads=1, n_ctx=2048, cache_slots=2)
    return settings


def test_edited_file_invalidates_its_entries(tmp_path: Path) -> None:
    settings = write_repository(tmp_path)
    assistant = Assistant(tmp_path, settings)
    try:
        assistant.index()
        question = "how is the area of a circle computed?"
        prompt = assistant.prepare_ask(question)
        generator = assistant.generator()
        assert isinstance(generator, LlamaGenerator)
        "".join(assistant.ask(question).tokens)
        assert generator.last_prefill is not None
        assert generator.last_prefill.restored_chunks == len(prompt.context.used)

        "".join(assistant.ask(question).tokens)
        assert generator.last_prefill.built_chunks == 0
        assert prompt.parts is not None
        chunk_parts = [part for part in prompt.parts.parts if part.is_chunk]
        paths = {part.source_path for part in chunk_parts}
        assert paths == {"shapes.py", "report.py"}

        shapes = tmp_path / "shapes.py"
        shapes.write_text(shapes.read_text(encoding="utf-8") + "\n\nUNIT = 'cm'\n", encoding="utf-8")
        assistant.index()
        store = open_kv_store(assistant.index_dir, 1024)
        try:
            for part in chunk_parts:
                is_stored = store.get(generator.chunk_cache_key(part.text)) is not None
                assert is_stored == (part.source_path == "report.py"), part.source_path
        finally:
            store.close()
        assert (assistant.index_dir / KV_FOLDER).is_dir()
    finally:
        assistant.close()


def test_turbo_setting_off_evaluates_chunks(tmp_path: Path) -> None:
    settings = write_repository(tmp_path)
    settings.turbo.ask = False
    assistant = Assistant(tmp_path, settings)
    try:
        assistant.index()
        "".join(assistant.ask("what does area_report return?").tokens)
        generator = assistant.generator()
        assert isinstance(generator, LlamaGenerator)
        assert generator.last_prefill is not None
        assert generator.last_prefill.restored_chunks == 0
    finally:
        assistant.close()


@pytest.mark.parametrize(("field", "value"), [("cache_slots", 0), ("cache_slots", 65), ("reuse_min_tokens", -1)])
def test_invalid_cache_setting_names_setting(field: str, value: int) -> None:
    settings = ModelSettings(n_threads=1, **{field: value})
    with pytest.raises(InvalidInput, match=f"model.{field}"):
        load_generator(settings)


def test_precompute_builds_each_chunk_once(tmp_path: Path) -> None:
    settings = write_repository(tmp_path)
    assistant = Assistant(tmp_path, settings)
    try:
        summary = assistant.index()
        built, seen = assistant.precompute_chunk_kv()
        assert seen == summary.chunks_total
        assert built == seen
        assert assistant.precompute_chunk_kv() == (0, seen)

        "".join(assistant.ask("how is the area of a square computed?").tokens)
        generator = assistant.generator()
        assert isinstance(generator, LlamaGenerator)
        assert generator.last_prefill is not None
        assert generator.last_prefill.restored_chunks > 0
        assert generator.last_prefill.built_chunks == 0
    finally:
        assistant.close()


def test_precompute_with_turbo_off_names_settings(tmp_path: Path) -> None:
    settings = write_repository(tmp_path)
    settings.turbo.ask = False
    settings.turbo.completion = False
    assistant = Assistant(tmp_path, settings)
    try:
        assistant.index()
        with pytest.raises(InvalidInput, match="turbo.ask"):
            assistant.precompute_chunk_kv()
    finally:
        assistant.close()


def test_cap_below_one_prompt_falls_back_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = write_repository(tmp_path)
    settings.turbo.cache_size_mb = 1
    assistant = Assistant(tmp_path, settings)
    try:
        assistant.index()
        with caplog.at_level(logging.WARNING):
            "".join(assistant.ask("how is the area of a circle computed?").tokens)
        assert any("Raise turbo.cache_size_mb" in record.getMessage() for record in caplog.records)
        "".join(assistant.ask("what does area_report return?").tokens)
        generator = assistant.generator()
        assert isinstance(generator, LlamaGenerator)
        assert generator.last_prefill is not None
        assert generator.last_prefill.restored_chunks == 0
    finally:
        assistant.close()


def test_precompute_under_small_cap_keeps_all_it_built(tmp_path: Path) -> None:
    settings = write_repository(tmp_path)
    settings.turbo.cache_size_mb = 2
    assistant = Assistant(tmp_path, settings)
    try:
        summary = assistant.index()
        built, seen = assistant.precompute_chunk_kv()
        assert 0 < built < summary.chunks_total
        assert seen == built
        store = open_kv_store(assistant.index_dir, 2)
        try:
            assert store.entry_count() == built
        finally:
            store.close()
    finally:
        assistant.close()
