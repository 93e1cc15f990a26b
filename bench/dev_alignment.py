"""Measure token alignment on cursor positions inside tokens, from standard-library code.

Build the dev set (deterministic: fixed seed, fixed Python 3.11 standard library):
    python bench/dev_alignment.py --build
Run both shipped models with alignment off (heal 0) and on, backing off 1 or 2 tokens. These are
the default settings, which take 8-14 minutes per model on 2 shared cores:
    python bench/dev_alignment.py [--models gemma3-270m smollm2-135m] [--heal 0 1 2 1p]
Check the plans without generating (about 30 s per model):
    python bench/dev_alignment.py --reachability 2000 --heal 0 1p 1 2

Each case is one simple statement of a standard-library function, with the rest of its line
removed after the cursor (what the editor shows while the line is typed). There are three kinds
of moved cursor, each derived from one anchor on the line:
- identifier: 1-3 characters into an identifier (anchor: the identifier's start);
- space: right after a single space before a token (anchor: that space);
- indentation: 1-3 characters before the end of the line's indentation (anchor: the end).
The boundary position of a case is the last token boundary of the model at or before its anchor,
found with the model's tokenizer on the line in its context. A moved position can itself be a
boundary for one tokenizer (then the table counts it as not mid-token).

Per model, kind and heal setting the tables give:
- exact: the completed line equals the original line (trailing whitespace ignored);
- parses: the file with the completion inserted parses with `ast.parse`;
- ratio: exact at the moved positions over exact at their boundary positions;
- the "boundary" row covers every distinct boundary position, so alignment must not lose there;
- p50 latency of `complete_at` per heal setting and its overhead against heal 0. By default each
  timed call finds its prompt already cached, because a heal-0 call that generates one token runs
  right before it: the worst case for alignment, which must evaluate its backed-off tokens again
  to get their logits. With `--warm typing` the call before completes the prompt one character
  shorter with the same setting, as the previous keystroke does in an editor. The order of the
  settings rotates from one cursor to the next.
Heal settings: a number B backs off B tokens and more while the cut splits a unit of text; "Bp"
backs off exactly B tokens (the extension is switched off), for comparison.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import itertools
import json
import keyword
import logging
import platform
import random
import statistics
import sys
import time
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant import alignment
from assistant.alignment import (
    HealingLogitsProcessor,
    HealingPlan,
    VocabularyIndex,
    plan_healing,
)
from assistant.completion import complete_at
from assistant.config import CompletionSettings, DefaultModel, ModelSettings
from assistant.model import LlamaGenerator, load_generator

logger = logging.getLogger("bench.dev_alignment")

DATA_PATH = Path(__file__).resolve().parent / "data" / "alignment_dev.jsonl"
STDLIB_DIR = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
SEED = 20261205
LINE_COUNT = 25
LINES_PER_MODULE = 2
MIN_FILE_BYTES = 4_000
MAX_FILE_BYTES = 24_000
MIN_INDENT = 4
MIN_IDENTIFIER_CHARS = 4
MAX_MOVE_CHARS = 3
KINDS = ("identifier", "space", "indentation")
SIMPLE_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Expr, ast.Raise)


def build_dev_set(stdlib_dir: Path, seed: int) -> list[dict[str, object]]:
    """Pick statement lines from standard-library functions and one cursor per kind on each."""
    rng = random.Random(seed)
    modules = sorted(
        path for path in stdlib_dir.glob("*.py")
        if MIN_FILE_BYTES <= path.stat().st_size <= MAX_FILE_BYTES and not path.name.startswith("_")
    )
    rng.shuffle(modules)
    records: list[dict[str, object]] = []
    for path in modules:
        records.extend(_records_from_module(path, stdlib_dir, rng)[:LINES_PER_MODULE])
        if len(records) >= LINE_COUNT:
            break
    return records[:LINE_COUNT]


def _records_from_module(path: Path, stdlib_dir: Path, rng: random.Random) -> list[dict[str, object]]:
    source = path.read_text(encoding="utf-8")
    lines = source.split("\n")
    try:
        functions = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)]
    except SyntaxError:
        return []
    rng.shuffle(functions)
    records = []
    for function in functions:
        statements = [
            node for node in ast.walk(function)
            if isinstance(node, SIMPLE_STATEMENTS) and node.lineno == node.end_lineno
            and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
            and lines[node.lineno - 1].strip() == ast.get_source_segment(source, node)
        ]
        rng.shuffle(statements)
        for statement in statements:
            line = lines[statement.lineno - 1]
            cursors = _pick_cursors(line, rng)
            if cursors is None:
                continue
            start = sum(len(text) + 1 for text in lines[: statement.lineno - 1])
            records.append({
                "id": f"{path.stem}.{function.name}:{statement.lineno}",
                "path": str(path.relative_to(stdlib_dir)),
                "source": source,
                "line_start": start,
                "line_end": start + len(line),
                "cursors": cursors,
            })
            break
    return records


def _pick_cursors(line: str, rng: random.Random) -> dict[str, dict[str, int]] | None:
    """Choose the anchor and moved column of each kind on `line`; None if a kind does not fit."""
    indent = len(line) - len(line.lstrip(" "))
    if not line.isascii() or "\t" in line or indent < MIN_INDENT:
        return None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    names = [
        (indent + token.start[1], token.string) for token in tokens
        if token.type == tokenize.NAME and len(token.string) >= MIN_IDENTIFIER_CHARS
        and not keyword.iskeyword(token.string) and not keyword.issoftkeyword(token.string)
    ]
    after_space = [
        indent + token.start[1] for token in tokens
        if token.type in (tokenize.NAME, tokenize.NUMBER, tokenize.STRING, tokenize.OP) and token.start[1] >= 2
        and line[indent + token.start[1] - 1] == " " and line[indent + token.start[1] - 2] != " "
    ]
    if not names or not after_space:
        return None
    column, name = rng.choice(names)
    space_column = rng.choice(after_space)
    indent_move = rng.randint(1, min(MAX_MOVE_CHARS, indent - 1))
    return {
        "identifier": {"anchor": column, "moved": column + rng.randint(1, min(MAX_MOVE_CHARS, len(name) - 1))},
        "space": {"anchor": space_column - 1, "moved": space_column},
        "indentation": {"anchor": indent, "moved": indent - indent_move},
    }


@dataclass(frozen=True)
class DevLine:
    """One statement line of the dev set, with the whole file it comes from."""

    id: str
    path: str
    source: str
    line_start: int
    line_end: int
    cursors: dict[str, dict[str, int]]


@dataclass(frozen=True)
class HealSetting:
    """One way to run alignment: `tokens` to back off, with or without the extension."""

    label: str
    tokens: int
    is_extended: bool


def parse_heal_setting(text: str) -> HealSetting:
    """Read "B" (back off B tokens, extended) or "Bp" (exactly B tokens)."""
    is_plain = text.endswith("p")
    return HealSetting(text, int(text.rstrip("p")), not is_plain)


def token_boundaries(generator: LlamaGenerator, source: str, line_start: int, line_end: int) -> set[int]:
    """Return the document offsets of the model's token boundaries around one line.

    The line is tokenized with the line before and after it, so that a line break merged with
    indentation (byte-level BPE) is tokenized as in the whole file. The lines are ASCII, so byte
    and character offsets agree inside them.
    """
    window_start = source.rfind("\n", 0, max(0, line_start - 1)) + 1
    next_end = source.find("\n", line_end + 1)
    window = source[window_start : next_end if next_end >= 0 else len(source)]
    boundaries = set()
    offset = 0
    for token_id in generator.tokenize(window):
        offset += len(generator.token_bytes(token_id))
        boundaries.add(window_start + len(window.encode("utf-8")[:offset].decode("utf-8", errors="ignore")))
    boundaries.add(window_start)
    return boundaries


def cursor_positions(generator: LlamaGenerator, line: DevLine) -> dict[str, tuple[int, int, bool]]:
    """Map each kind to (moved offset, boundary offset, whether moved is mid-token) in the document."""
    boundaries = sorted(token_boundaries(generator, line.source, line.line_start, line.line_end))
    positions = {}
    for kind, columns in line.cursors.items():
        moved = line.line_start + columns["moved"]
        base = max(offset for offset in boundaries if offset <= line.line_start + columns["anchor"])
        positions[kind] = (moved, base, moved not in boundaries)
    return positions


def score(line: DevLine, cursor: int, completion: str) -> tuple[bool, bool]:
    """Return (exact, parses) for `completion` inserted at `cursor`."""
    expected = line.source[cursor : line.line_end]
    kept_lines = completion.split("\n")[: expected.count("\n") + 1]
    is_exact = "\n".join(kept_lines).rstrip() == expected.rstrip()
    try:
        ast.parse(line.source[:cursor] + completion + line.source[line.line_end :])
    except (SyntaxError, ValueError):
        return is_exact, False
    return is_exact, True


def complete(
    generator: LlamaGenerator, line: DevLine, cursor: int, setting: HealSetting, max_tokens: int | None = None
) -> str:
    """Complete at `cursor` with the rest of the cursor's line removed."""
    settings = CompletionSettings() if max_tokens is None else CompletionSettings(max_tokens=max_tokens)
    with _extension(setting):
        return complete_at(
            line.source[:cursor], line.source[line.line_end :], "", generator, settings, language="python",
            heal_tokens=setting.tokens,
        )


@contextlib.contextmanager
def _extension(setting: HealSetting) -> Iterator[None]:
    """Switch the back-off extension off for a "Bp" setting."""
    default_limit = alignment.MAX_BACKOFF_TOKENS
    alignment.MAX_BACKOFF_TOKENS = default_limit if setting.is_extended else 0
    try:
        yield
    finally:
        alignment.MAX_BACKOFF_TOKENS = default_limit


@dataclass(frozen=True)
class Case:
    """One moved cursor and its boundary cursor, as document offsets in `lines[line_index]`."""

    line_index: int
    kind: str
    moved: int
    base: int
    is_mid_token: bool


@dataclass
class ModelRun:
    """Scores (exact, parses) per (line index, cursor, heal label), and latencies per cursor."""

    cases: list[Case] = field(default_factory=list)
    scores: dict[tuple[int, int, str], tuple[bool, bool]] = field(default_factory=dict)
    times_ms: dict[tuple[int, int, str], float] = field(default_factory=dict)
    completions: dict[tuple[int, int, str], str] = field(default_factory=dict)


def run_model(model: DefaultModel, lines: list[DevLine], settings: list[HealSetting], warm: str = "cached") -> ModelRun:
    """Complete every cursor of every line with each heal setting.

    `warm` is what the cache contains before each timed call: "cached", the cursor's own prompt
    (the worst case for alignment); "typing", the prompt one character shorter, completed with
    the same setting, as the keystroke before left it in an editor.
    """
    generator = load_generator(ModelSettings(default=model))
    generator.vocabulary_index()  # built once per model; kept out of the latencies
    run = ModelRun()
    rotation = 0
    for line_index, line in enumerate(lines):
        positions = cursor_positions(generator, line)
        run.cases.extend(Case(line_index, kind, *position) for kind, position in positions.items())
        cursors = sorted({offset for moved, base, _ in positions.values() for offset in (moved, base)})
        for cursor in cursors:
            rotation += 1
            for setting in settings[rotation % len(settings) :] + settings[: rotation % len(settings)]:
                # Every timed call starts from the same cache: the cursor's whole prompt and one
                # generated token. Greedy results then do not depend on the calls before, because
                # llama.cpp's logits differ slightly with the batches a prompt was evaluated in.
                if warm == "typing":
                    complete(generator, line, cursor - 1, setting, max_tokens=1)
                else:
                    complete(generator, line, cursor, HealSetting("0", 0, True), max_tokens=1)
                started = time.perf_counter()
                completion = complete(generator, line, cursor, setting)
                run.times_ms[(line_index, cursor, setting.label)] = (time.perf_counter() - started) * 1000.0
                run.scores[(line_index, cursor, setting.label)] = score(line, cursor, completion)
                run.completions[(line_index, cursor, setting.label)] = completion
                logger.debug("%s @%d heal %s: %r", line.id, cursor, setting.label, completion)
    generator.close()
    return run


def quality_rows(run: ModelRun, settings: list[HealSetting]) -> list[list[str]]:
    """Return the boundary row, then one row per kind: cases, mid-token share, scores per setting."""
    bases = sorted({(case.line_index, case.base) for case in run.cases})
    row = ["boundary", str(len(bases)), "0.00"]
    for setting in settings:
        results = [run.scores[(line_index, base, setting.label)] for line_index, base in bases]
        row += [f"{_share(results, 0):.2f}", f"{_share(results, 1):.2f}", "–"]
    rows = [row]
    for kind in KINDS:
        cases = [case for case in run.cases if case.kind == kind]
        row = [kind, str(len(cases)), f"{statistics.mean(case.is_mid_token for case in cases):.2f}"]
        for setting in settings:
            moved = [run.scores[(case.line_index, case.moved, setting.label)] for case in cases]
            based = [run.scores[(case.line_index, case.base, setting.label)] for case in cases]
            base_exact = _share(based, 0)
            ratio = f"{_share(moved, 0) / base_exact:.2f}" if base_exact else "–"
            row += [f"{_share(moved, 0):.2f}", f"{_share(moved, 1):.2f}", ratio]
        rows.append(row)
    return rows


def _share(results: list[tuple[bool, bool]], field_index: int) -> float:
    return statistics.mean(result[field_index] for result in results)


def latency_rows(run: ModelRun, settings: list[HealSetting]) -> list[list[str]]:
    """Return one row per cursor set and heal setting: calls, p50 and p95 ms, overhead against heal 0.

    The overhead is given twice: as the ratio of the p50 latencies, and as the median of the
    per-cursor ratios, which cancels most of the noise from other jobs on the machine. Over all
    cursors it includes the effect of alignment on the completion's length. On the boundary
    cursors the completions mostly agree, so there it is closer to the cost of the constrained
    tokens alone.
    """
    boundary_keys = sorted({(case.line_index, case.base) for case in run.cases})
    all_keys = sorted({(line_index, cursor) for line_index, cursor, _ in run.times_ms})
    rows = []
    for name, keys in (("all", all_keys), ("boundary", boundary_keys)):
        rows += _latency_rows(run, settings, name, keys)
    return rows


def _latency_rows(
    run: ModelRun, settings: list[HealSetting], name: str, keys: list[tuple[int, int]]
) -> list[list[str]]:
    has_reference = "0" in {setting.label for setting in settings}
    rows = []
    for setting in settings:
        values = [run.times_ms[(*key, setting.label)] for key in keys]
        p50 = statistics.median(values)
        p95 = statistics.quantiles(values, n=20)[18]
        row = [name, setting.label, str(len(values)), f"{p50:.0f}", f"{p95:.0f}"]
        if has_reference:
            references = [run.times_ms[(*key, "0")] for key in keys]
            per_cursor = statistics.median(value / reference for value, reference in zip(values, references))
            row += [f"{(p50 / statistics.median(references) - 1) * 100:+.1f}%", f"{(per_cursor - 1) * 100:+.1f}%"]
        rows.append(row)
    return rows


def write_run(path: Path, lines: list[DevLine], run: ModelRun) -> None:
    """Write every case and completion of one model's run as JSON."""
    cases = [
        {"id": lines[case.line_index].id, "kind": case.kind, "moved": case.moved, "base": case.base,
         "is_mid_token": case.is_mid_token}
        for case in run.cases
    ]
    calls = [
        {"id": lines[line_index].id, "cursor": cursor, "heal": label, "completion": completion,
         "expected": lines[line_index].source[cursor : lines[line_index].line_end],
         "exact": run.scores[(line_index, cursor, label)][0], "parses": run.scores[(line_index, cursor, label)][1],
         "ms": round(run.times_ms[(line_index, cursor, label)], 1)}
        for (line_index, cursor, label), completion in run.completions.items()
    ]
    path.write_text(json.dumps({"cases": cases, "calls": calls}, indent=1), encoding="utf-8")


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """Print a Markdown table."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |", flush=True)


def reachability_rows(
    model: DefaultModel, lines: list[DevLine], settings: list[HealSetting], cursor_count: int
) -> list[list[str]]:
    """Check, without generating, how often the canonical tokens after random cursors stay allowed.

    Each cursor is a random column of a random non-blank line of the dev set's files. A plan
    passes when its kept prompt ends at a token boundary of the whole line's tokenization and
    the processor allows every canonical token until the backed-off text is re-created.
    """
    generator = load_generator(ModelSettings(default=model))
    index = generator.vocabulary_index()
    rng = random.Random(SEED)
    sources = sorted({line.source for line in lines})
    cursors: list[tuple[str, str]] = []
    while len(cursors) < cursor_count:
        source_lines = rng.choice(sources).split("\n")
        lineno = rng.randrange(len(source_lines))
        if source_lines[lineno].strip():
            before = "\n".join([*source_lines[max(0, lineno - 10) : lineno], ""])
            column = rng.randrange(len(source_lines[lineno]) + 1)
            cursors.append((before + source_lines[lineno][:column], before + source_lines[lineno]))
    rows = []
    for setting in settings:
        passed = backed_off = 0
        for prefix, full in cursors:
            with _extension(setting):
                plan = plan_healing(generator.tokenize(prefix, add_bos=True), index, setting.tokens)
            passed += _canonical_tokens_allowed(plan, generator.tokenize(full, add_bos=True), index)
            backed_off += plan.backed_off_tokens
        share, mean = passed / cursor_count, backed_off / cursor_count
        rows.append([model.value, setting.label, str(cursor_count), f"{share:.3f}", f"{mean:.2f}"])
    generator.close()
    return rows


def _canonical_tokens_allowed(plan: HealingPlan, full_ids: list[int], index: VocabularyIndex) -> bool:
    kept_bytes = sum(len(index.piece(token_id)) for token_id in plan.prompt_ids)
    ends = list(itertools.accumulate(len(index.piece(token_id)) for token_id in full_ids))
    if kept_bytes not in ends:
        return False
    processor = HealingLogitsProcessor(index, len(plan.prompt_ids), plan.required_bytes)
    generated = list(plan.prompt_ids)
    for token_id in full_ids[ends.index(kept_bytes) + 1 :]:
        if not processor.remaining_bytes(generated):
            break
        scores = processor(np.array(generated, dtype=np.intc), np.zeros(index.n_vocab, dtype=np.float32))
        if not np.isfinite(scores[token_id]):
            return False
        generated.append(token_id)
    return True


def main() -> None:
    """Build the dev set or run the measurement, printing Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="store_true", help="rebuild bench/data/alignment_dev.jsonl and exit")
    parser.add_argument("--models", nargs="+", default=[model.value for model in DefaultModel], help="models to run")
    parser.add_argument("--heal", nargs="+", default=["0", "1", "2"], help="heal settings to compare")
    parser.add_argument("--limit", type=int, default=0, help="run only the first N lines (0: all)")
    parser.add_argument("--output", type=Path, help="also write every completion, score and time to this JSON file")
    parser.add_argument(
        "--reachability", type=int, default=0, metavar="N",
        help="instead of generating, check the plans at N random cursors per model (see reachability_rows)",
    )
    parser.add_argument(
        "--warm", choices=["cached", "typing"], default="cached",
        help="cache state before each timed call: the same prompt, or the prompt of the keystroke before",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every completion")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.verbose:
        logger.setLevel(logging.DEBUG)

    if args.build:
        records = build_dev_set(STDLIB_DIR, SEED)
        DATA_PATH.parent.mkdir(parents=True, exist_ok=True)
        with DATA_PATH.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")
        modules = sorted({str(record["path"]) for record in records})
        print(f"wrote {len(records)} lines from {len(modules)} modules to {DATA_PATH}: {', '.join(modules)}")
        return

    lines = [DevLine(**json.loads(text)) for text in DATA_PATH.read_text(encoding="utf-8").splitlines()]
    lines = lines[: args.limit] if args.limit else lines
    settings = [parse_heal_setting(text) for text in args.heal]
    print(f"{len(lines)} lines; {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    if args.reachability:
        rows = [
            row for model in args.models
            for row in reachability_rows(DefaultModel(model), lines, settings, args.reachability)
        ]
        print_table(["model", "heal", "cursors", "canonical tokens allowed", "mean backed-off tokens"], rows)
        return
    for model in args.models:
        started = time.perf_counter()
        run = run_model(DefaultModel(model), lines, settings, args.warm)
        print(f"\n{model} ({time.perf_counter() - started:.0f} s)\n")
        header = ["kind", "cases", "mid-token"]
        for setting in settings:
            header += [f"exact {setting.label}", f"parses {setting.label}", f"ratio {setting.label}"]
        print_table(header, quality_rows(run, settings))
        print()
        latency_header = ["cursors", "heal", "calls", "p50 ms", "p95 ms", "p50 overhead", "median per-cursor overhead"]
        print_table(latency_header, latency_rows(run, settings))
        if args.output:
            write_run(args.output.with_name(f"{args.output.stem}-{model}{args.output.suffix}"), lines, run)


if __name__ == "__main__":
    main()
