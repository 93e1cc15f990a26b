"""The settings tree: every default lives here, once.

Settings come from `[tool.ragcoder]` in the repository's `pyproject.toml` or from
`.ragcoder.toml` (which wins), then from LSP `initializationOptions`, then from CLI flags.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import InvalidInput

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

logger = logging.getLogger(__name__)


class DefaultModel(str, enum.Enum):
    """Language models that ship inside PyPI packages."""

    GEMMA3_270M = "gemma3-270m"
    SMOLLM2_135M = "smollm2-135m"


class AskCompressionMode(str, enum.Enum):
    """Compression strategy of ask packing for retrieved chunks that exceed the budget."""

    SHARED = "shared"
    RANK = "rank"


class RetrievalMode(str, enum.Enum):
    """Context source for ask: flat hybrid top-k chunks, or PathRAG paths over the code graph."""

    HYBRID = "hybrid"
    PATHRAG = "pathrag"


class FailLevel(str, enum.Enum):
    """The lowest prompt finding severity that makes `ragcoder lint` exit with status 1."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class KvCacheType(str, enum.Enum):
    """Element type of stored key/value caches."""

    F16 = "f16"
    Q8_0 = "q8_0"


@dataclass
class IndexSettings:
    """Index location and the rules for which files go into it."""

    dir_name: str = ".ragcoder"
    max_file_bytes: int = 1_000_000
    max_line_chars: int = 1_000
    max_chunk_lines: int = 120
    exclude: list[str] = field(default_factory=list)
    languages: list[str] = field(
        default_factory=lambda: ["python", "javascript", "typescript", "tsx", "go", "rust", "java"]
    )


@dataclass
class EmbeddingSettings:
    """The embedding model; an empty `path` means the shipped all-MiniLM-L6-v2."""

    path: str = ""
    n_threads: int = 0
    max_tokens: int = 256


@dataclass
class ModelSettings:
    """The language model; an empty `path` means the shipped default model."""

    path: str = ""
    default: DefaultModel = DefaultModel.GEMMA3_270M
    n_ctx: int = 4096
    n_threads: int = 0
    n_gpu_layers: int = -1
    kv_cache_type: KvCacheType = KvCacheType.F16
    seed: int = 0
    cache_slots: int = 4
    reuse_min_tokens: int = 64


@dataclass
class RetrievalSettings:
    """Hybrid retrieval: how many hits each ranker returns and how they are fused."""

    top_k: int = 8
    lexical_k: int = 30
    dense_k: int = 30
    rrf_k: int = 60
    mode: RetrievalMode = RetrievalMode.HYBRID


@dataclass
class PathRagSettings:
    """PathRAG path search over the code graph (used when `retrieval.mode` is "pathrag").

    Tuned with `bench/bench_pathrag.py --grid` on bench/data/pathrag_dev.jsonl (31 questions
    on json, email and asyncio, 1500-token budget): alpha changed symbol recall by less than
    0.01 across 0.6-1.0. Five start nodes with 15 paths scored best. Compact path nodes raised
    symbol recall from 0.554 to 0.597, and 100 tokens of neighbor definitions raised file
    recall@5 from 0.903 to 0.946 at symbol recall 0.562; flat top-k scored 0.567 and 0.882.
    Thresholds of 0.01 and more lowered recall, and 0.005 did not. Without a threshold, path
    search on the whole standard library took up to 14 s per query, because every 3-hop path
    through a widely called method was enumerated; 0.005 kept it under 0.9 s.
    """

    start_nodes: int = 5
    alpha: float = 0.8
    threshold: float = 0.005
    max_paths: int = 15
    compact_nodes: bool = True
    neighbor_tokens: int = 100


@dataclass
class AskSettings:
    """The ask pipeline."""

    context_tokens: int = 1500
    max_tokens: int = 256
    temperature: float = 0.2
    compression: bool = True
    # "shared" needs a low floor: with 0.5 it drops chunks at half the tokens and scores like "rank".
    compression_min_ratio: float = 0.1
    # See CompressionPlan in assistant/context.py. In bench/bench_compression.py, "shared" with
    # compression_min_ratio 0.1 beat "rank" with 0.5 by 2.2 points of top-token share at half the
    # tokens in retrieval order and by 7.1 points in rotating order.
    compression_mode: AskCompressionMode = AskCompressionMode.SHARED


@dataclass
class CompletionSettings:
    """Inline completion."""

    max_tokens: int = 64
    max_lines: int = 8
    prefix_tokens: int = 1024
    suffix_lines: int = 20
    context_tokens: int = 512
    temperature: float = 0.0
    debounce_ms: int = 100
    # Off because keeping the code nearest the cursor scored better in bench/bench_compression.py.
    compression: bool = False
    compression_min_ratio: float = 0.5
    # The definitions of the names near the cursor, from the code graph, before similar chunks.
    # Measured by bench/bench_graph_context.py: same exact-match rate as similar chunks alone with
    # the 270M model, and the relevant definitions for larger models.
    graph_context: bool = True


@dataclass
class TurboSettings:
    """Per-chunk KV caches (TurboRAG): retrieved chunks are restored instead of evaluated."""

    ask: bool = True
    completion: bool = True
    cache_size_mb: int = 2048


@dataclass
class LintSettings:
    """Prompt linting, in `ragcoder lint` and in the editor; rule codes are RCP001 to RCP010."""

    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    budget_tokens: int = 0
    fail_on: FailLevel = FailLevel.WARNING
    debounce_ms: int = 300


@dataclass
class Settings:
    """The root of the settings tree."""

    index: IndexSettings = field(default_factory=IndexSettings)
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    ask: AskSettings = field(default_factory=AskSettings)
    completion: CompletionSettings = field(default_factory=CompletionSettings)
    pathrag: PathRagSettings = field(default_factory=PathRagSettings)
    lint: LintSettings = field(default_factory=LintSettings)
    turbo: TurboSettings = field(default_factory=TurboSettings)


def default_thread_count() -> int:
    """Pick the thread count used when a `n_threads` setting is 0.

    With two OpenMP threads on a two-core machine, prefill and decode slowed 5-10x as soon as
    another process took one core, while one thread only halved. So leave one core free.
    """
    cores = os.cpu_count() or 1
    return max(1, min(8, cores - 1))


def merge(settings: Settings, values: dict[str, Any], source: str) -> Settings:
    """Return a copy of `settings` with `values` (a nested dict) applied and validated.

    Raises:
        InvalidInput: a key is unknown or a value has the wrong type; the message names
            the key and `source`.
    """
    return typing.cast(Settings, _merge_dataclass(settings, values, source, prefix=""))


def _merge_dataclass(obj: Any, values: dict[str, Any], source: str, prefix: str) -> Any:
    if not isinstance(values, dict):
        raise InvalidInput(f"setting {prefix.rstrip('.') or 'root'} in {source} must be a table, got {values!r}")
    hints = typing.get_type_hints(type(obj))
    known = {f.name for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in known:
            raise InvalidInput(
                f"unknown setting {prefix}{key} in {source}; known settings: {', '.join(sorted(known))}"
            )
        current = getattr(obj, name)
        if dataclasses.is_dataclass(current):
            changes[name] = _merge_dataclass(current, value, source, f"{prefix}{name}.")
        else:
            changes[name] = _coerce(value, hints[name], f"{prefix}{name}", source)
    return dataclasses.replace(obj, **changes)


# Inclusive bounds of numeric settings; None leaves a side open. A value outside gives an
# error that names the setting, where it would otherwise fail later or quietly do nothing.
SETTING_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "index.max_file_bytes": (1, None),
    "index.max_line_chars": (1, None),
    "index.max_chunk_lines": (1, None),
    "embedding.n_threads": (0, None),
    "embedding.max_tokens": (1, None),
    "model.n_ctx": (256, None),
    "model.n_threads": (0, None),
    "model.n_gpu_layers": (-1, None),
    "model.cache_slots": (1, 64),
    "model.reuse_min_tokens": (0, None),
    "retrieval.top_k": (1, None),
    "retrieval.lexical_k": (1, None),
    "retrieval.dense_k": (1, None),
    "retrieval.rrf_k": (0, None),
    "pathrag.start_nodes": (1, None),
    "pathrag.alpha": (0.01, 1.0),
    "pathrag.threshold": (0.0, 1.0),
    "pathrag.max_paths": (1, None),
    "pathrag.neighbor_tokens": (0, None),
    "ask.context_tokens": (0, None),
    "ask.max_tokens": (1, None),
    "ask.temperature": (0.0, None),
    "completion.max_tokens": (1, None),
    "completion.max_lines": (1, None),
    "completion.prefix_tokens": (1, None),
    "completion.suffix_lines": (0, None),
    "completion.context_tokens": (0, None),
    "completion.temperature": (0.0, None),
    "completion.debounce_ms": (0, None),
    "turbo.cache_size_mb": (1, 1_048_576),
    "lint.budget_tokens": (0, None),
    "lint.debounce_ms": (0, None),
}


def _check_bounds(value: Any, key: str, source: str) -> None:
    low, high = SETTING_BOUNDS.get(key, (None, None))
    if (low is not None and value < low) or (high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise InvalidInput(f"setting {key} in {source} is {value!r}; pass a number {allowed}")


def _coerce(value: Any, hint: Any, key: str, source: str) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            choices = ", ".join(member.value for member in hint)
            raise InvalidInput(f"setting {key} in {source} is {value!r}; choose one of: {choices}") from None
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise InvalidInput(f"setting {key} in {source} must be a list of strings, got {value!r}")
        return list(value)
    if origin in (typing.Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise InvalidInput(
            f"setting {key} in {source} must be of type {hint.__name__}, got {value!r}"
        )
    if hint in (int, float):
        _check_bounds(value, key, source)
    return value


def load_repository_settings(repo: Path, base: Settings | None = None) -> Settings:
    """Read `[tool.ragcoder]` from `repo/pyproject.toml`, then `repo/.ragcoder.toml`."""
    settings = base or Settings()
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("ragcoder", {})
        settings = merge(settings, table, str(pyproject))
    dotfile = repo / ".ragcoder.toml"
    if dotfile.is_file():
        settings = merge(settings, _read_toml(dotfile), str(dotfile))
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{path} is not valid TOML ({error}); fix the file or delete it") from None


def settings_table() -> list[tuple[str, str, str]]:
    """List every setting as (dotted key, type, default), for the README table."""
    rows: list[tuple[str, str, str]] = []
    _collect_rows(Settings(), "", rows)
    return rows


def _collect_rows(obj: Any, prefix: str, rows: list[tuple[str, str, str]]) -> None:
    hints = typing.get_type_hints(type(obj))
    for item in dataclasses.fields(obj):
        value = getattr(obj, item.name)
        if dataclasses.is_dataclass(value):
            _collect_rows(value, f"{prefix}{item.name}.", rows)
            continue
        shown = value.value if isinstance(value, enum.Enum) else value
        type_name = getattr(hints[item.name], "__name__", str(hints[item.name]))
        rows.append((f"{prefix}{item.name}", type_name, repr(shown)))


SETTING_DESCRIPTIONS = {
    "index.dir_name": "index folder, relative to the repository or absolute",
    "index.max_file_bytes": "files larger than this many bytes are skipped",
    "index.max_line_chars": "files with a longer line are skipped as minified",
    "index.max_chunk_lines": "definitions longer than this many lines are split at statement boundaries",
    "index.exclude": "extra gitignore-style patterns to skip",
    "index.languages": "languages to index",
    "embedding.path": "embedding GGUF; empty means the shipped all-MiniLM-L6-v2",
    "embedding.n_threads": "CPU threads for embedding; 0 means one less than the cores, at most 8",
    "embedding.max_tokens": "longer chunks are truncated to this many word pieces",
    "model.path": "language model GGUF; empty means the shipped default model",
    "model.default": "shipped model used when model.path is empty",
    "model.n_ctx": "context window in tokens",
    "model.n_threads": "CPU threads for the language model; 0 means one less than the cores, at most 8",
    "model.n_gpu_layers": "layers offloaded to a GPU when llama.cpp was built with one; -1 means all",
    "model.kv_cache_type": "element type of the KV cache",
    "model.seed": "sampling seed",
    "model.cache_slots": "KV cache sequences kept between requests, one per open document and one for ask",
    "model.reuse_min_tokens": "shortest run of cached tokens moved into place when lines above the cursor changed; 0 turns moving off",
    "retrieval.top_k": "chunks returned by one retrieval",
    "retrieval.lexical_k": "candidates taken from full-text search before fusion",
    "retrieval.dense_k": "candidates taken from vector search before fusion",
    "retrieval.rrf_k": "constant k of reciprocal rank fusion, 1 / (k + rank)",
    "retrieval.mode": "context of ask: flat hybrid top-k chunks, or PathRAG paths over the code graph",
    "pathrag.start_nodes": "graph nodes taken from hybrid retrieval as path ends",
    "pathrag.alpha": "flow decay per hop, in (0, 1]",
    "pathrag.threshold": "a node with less flow than this passes none on",
    "pathrag.max_paths": "paths kept after pruning, most reliable first",
    "pathrag.compact_nodes": "show path nodes that retrieval did not return as signature and docstring only",
    "pathrag.neighbor_tokens": "tokens kept for definitions in other files linked to the retrieved code (callees, callers, base classes)",
    "ask.context_tokens": "token budget for retrieved code in an ask prompt",
    "ask.max_tokens": "maximum answer length in tokens",
    "ask.temperature": "sampling temperature of answers",
    "ask.compression": "compress retrieved chunks by token type before dropping any that do not fit",
    "ask.compression_min_ratio": "smallest share of a chunk's tokens that compression may leave",
    "ask.compression_mode": "\"shared\" compresses every chunk to one common ratio, keeping lines that name the question's identifiers; \"rank\" compresses the lowest-ranked chunks first",
    "completion.max_tokens": "maximum completion length in tokens",
    "completion.max_lines": "maximum lines of a multi-line completion",
    "completion.prefix_tokens": "tokens of the code before the cursor that go into the prompt",
    "completion.suffix_lines": "lines after the cursor used to stop repeated code",
    "completion.context_tokens": "token budget for retrieved code in a completion prompt",
    "completion.temperature": "sampling temperature of completions; 0 is greedy",
    "completion.debounce_ms": "editor delay in milliseconds before a completion request",
    "completion.compression": "compress lower-ranked chunks by token type before dropping any that do not fit",
    "completion.compression_min_ratio": "smallest share of a chunk's tokens that compression may leave",
    "completion.graph_context": "put the definitions of the names near the cursor (callee, class of `self`, imports) from the code graph before similar chunks",
    "lint.select": "prompt rule codes to run, such as [\"RCP001\", \"RCP003\"]; empty means all",
    "lint.ignore": "prompt rule codes to skip",
    "lint.budget_tokens": "warn (RCP007) about prompts longer than this many tokens; 0 checks only the context window",
    "lint.fail_on": "lowest finding severity that makes `ragcoder lint` exit with status 1",
    "lint.debounce_ms": "editor delay in milliseconds after the last change before a document's prompts are linted",
    "turbo.ask": "restore retrieved chunks of ask prompts from stored per-chunk KV caches",
    "turbo.completion": "restore retrieved chunks of completion prompts from stored per-chunk KV caches",
    "turbo.cache_size_mb": "size cap of the chunk KV store under the index folder, in MiB; least recently used entries go first",
}


def settings_markdown() -> str:
    """Render the settings table of the README from the settings tree."""
    lines = ["| setting | type | default | meaning |", "|---|---|---|---|"]
    for key, type_name, default in settings_table():
        lines.append(f"| `{key}` | {type_name} | `{default}` | {SETTING_DESCRIPTIONS.get(key, '')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(settings_markdown())
