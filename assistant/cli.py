"""The `ragcoder` command: index, ask, complete and serve."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from assistant.config import Settings, load_repository_settings, merge
from assistant.errors import AssistantError, InvalidInput

logger = logging.getLogger(__name__)

EXAMPLES = textwrap.dedent(
    """\
    examples:
      ragcoder index ~/src/myproject
      ragcoder ask "where are HTTP headers parsed?" --repo ~/src/myproject
      ragcoder ask "how is the cache invalidated?" --show-context
      ragcoder complete src/app.py:42:17
      ragcoder lint src/ prompts/ --no-model   # prompt checks for CI
      ragcoder graph Warehouse.add --repo ~/src/myproject
      ragcoder compress src/app.py --ratio 0.5
      ragcoder serve                      # language server on stdio
      ragcoder serve --tcp 127.0.0.1:2087
    """
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with one subcommand per job."""
    parser = argparse.ArgumentParser(
        prog="ragcoder",
        description="Local, offline, retrieval-augmented code assistant.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr (-v info, -vv debug)")
    parser.add_argument("--log-file", type=Path, help="write logs to this file instead of stderr")
    parser.add_argument("--model", help="path to a GGUF language model (setting model.path)")
    parser.add_argument("--threads", type=int, help="CPU threads for the models (settings model.n_threads, embedding.n_threads)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = commands.add_parser("index", help="index a repository", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    index.add_argument("path", nargs="?", default=".", type=Path, help="repository folder (default: current folder)")
    index.add_argument("--rebuild", action="store_true", help="drop the existing index and build it again")
    index.add_argument(
        "--precompute-kv", action="store_true",
        help="also compute the language model's KV cache of every chunk now, up to turbo.cache_size_mb, "
        "instead of on first use",
    )

    ask = commands.add_parser("ask", help="answer a question about the repository", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--repo", type=Path, default=Path("."), help="indexed repository (default: current folder)")
    ask.add_argument("--show-context", action="store_true", help="print the retrieved context before the answer")
    ask.add_argument("--max-tokens", type=int, help="maximum answer length in tokens (setting ask.max_tokens)")

    complete = commands.add_parser("complete", help="print the completion at FILE:LINE:COL", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    complete.add_argument("position", help="FILE:LINE:COL with LINE and COL counted from 1")
    complete.add_argument("--repo", type=Path, help="indexed repository (default: the nearest parent folder with an index)")
    complete.add_argument("--show-context", action="store_true", help="print the retrieved context and code-graph definitions before the completion")

    compress = commands.add_parser("compress", help="print a file compressed by token type, as the model would see it", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    compress.add_argument("file", type=Path, help="source file to compress")
    compress.add_argument("--ratio", type=float, default=0.5, help="share of the file's tokens to keep, in (0, 1] (default: 0.5)")
    compress.add_argument("--task", choices=["ask", "completion"], default="ask", help="whose removal priorities to use (default: ask)")
    compress.add_argument("--keep-lines", metavar="FIRST-LAST", help="1-based line range to leave untouched, e.g. 40-52")
    compress.add_argument("--protect", default="", help="text whose identifiers are never removed, e.g. a question")

    graph = commands.add_parser("graph", help="print the callers, callees, parents and children of a symbol", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    graph.add_argument("symbol", help="a qualified name (Class.method), the last part of one (method), or a file path")
    graph.add_argument("--repo", type=Path, default=Path("."), help="indexed repository (default: current folder)")

    lint = commands.add_parser("lint", help="check LLM prompts in code and template files", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    lint.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders to lint")
    lint.add_argument("--format", choices=["text", "json", "sarif"], default="text", help="output format: text, JSON or SARIF 2.1.0 (default: text)")
    lint.add_argument("--fail-on", choices=["error", "warning", "info"], help="exit with 1 when a finding has this severity or above (setting lint.fail_on, default: warning)")
    lint.add_argument("--select", help="comma-separated rule codes to run (setting lint.select, default: all)")
    lint.add_argument("--ignore", help="comma-separated rule codes to skip (setting lint.ignore)")
    lint.add_argument("--budget-tokens", type=int, help="warn about prompts longer than this many tokens (setting lint.budget_tokens)")
    lint.add_argument("--no-model", action="store_true", help="skip the rules that need the model's tokenizer (RCP007, RCP010)")

    serve = commands.add_parser("serve", help="run the language server (stdio by default)", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--repo", type=Path, help="repository root when the editor sends none")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.log_file)
    # Broad except on purpose: the command line shows one line per failure, never a traceback,
    # and keeps the traceback in the log for -vv.
    try:
        return _run(args)
    except AssistantError as error:
        return _fail(str(error))
    except (FileNotFoundError, ImportError) as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        logger.debug("unexpected failure", exc_info=True)
        return _fail(f"internal error: {type(error).__name__}: {error} (run with -vv for the traceback)")


def _fail(message: str) -> int:
    print(f"ragcoder: error: {message}", file=sys.stderr)
    return 1


def configure_logging(verbosity: int, log_file: Path | None) -> None:
    """Send logs to stderr or a file; stdout stays free for answers and the LSP protocol."""
    level = logging.WARNING
    if verbosity == 1:
        level = logging.INFO
    elif verbosity >= 2:
        level = logging.DEBUG
    handler: logging.Handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def _run(args: argparse.Namespace) -> int:
    if args.command == "index":
        return _index(args)
    if args.command == "ask":
        return _ask(args)
    if args.command == "complete":
        return _complete(args)
    if args.command == "lint":
        return _lint(args)
    if args.command == "graph":
        return _graph(args)
    if args.command == "compress":
        return _compress(args)
    return _serve(args)


def load_settings(repo: Path | None, args: argparse.Namespace, extra: dict[str, Any] | None = None) -> Settings:
    """Read the repository's settings, then apply the command-line flags."""
    settings = load_repository_settings(repo) if repo is not None and repo.is_dir() else Settings()
    overrides: dict[str, Any] = dict(extra or {})
    if args.model:
        overrides.setdefault("model", {})["path"] = args.model
    if args.threads is not None:
        max_threads = 4 * (os.cpu_count() or 1)
        if not 1 <= args.threads <= max_threads:
            raise InvalidInput(
                f"--threads is {args.threads}; pass 1 to {max_threads} (this machine has {os.cpu_count()} cores)"
            )
        overrides.setdefault("model", {})["n_threads"] = args.threads
        overrides.setdefault("embedding", {})["n_threads"] = args.threads
    return merge(settings, overrides, "the command line")


def _index(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from assistant.service import Assistant

    repo = args.path.expanduser()
    settings = load_settings(repo, args)
    assistant = Assistant(repo, settings)
    bars: list[tqdm[Any]] = []

    def progress(done: int, total: int, message: str) -> None:
        # The bar starts with the first file, so a failure before it prints only the error.
        if not bars:
            bars.append(tqdm(total=total, unit="file", file=sys.stderr, desc="indexing", dynamic_ncols=True, disable=None))
        bar = bars[0]
        bar.total = total
        bar.n = done
        bar.set_postfix_str(message[-40:], refresh=False)
        bar.refresh()

    try:
        summary = assistant.index(progress=progress, rebuild=args.rebuild)
    finally:
        for bar in bars:
            bar.close()
    print(
        f"indexed {summary.files_indexed} files ({summary.files_unchanged} unchanged, "
        f"{summary.files_removed} removed, {summary.files_skipped} skipped), "
        f"{summary.chunks_total} chunks ({summary.chunks_embedded} embedded) in {summary.seconds:.1f}s"
    )
    if args.precompute_kv:
        bars.clear()
        started = time.perf_counter()
        try:
            built, seen = assistant.precompute_chunk_kv(progress=progress)
        finally:
            for bar in bars:
                bar.close()
        seconds = time.perf_counter() - started
        rate = f", {built / seconds:.2f} chunks/s" if built and seconds > 0 else ""
        print(f"computed the KV caches of {built} chunks ({seen - built} already stored) in {seconds:.1f}s{rate}")
    return 0


def _ask(args: argparse.Namespace) -> int:
    from assistant.ask import stream_answer
    from assistant.service import Assistant

    repo = args.repo.expanduser()
    extra = {"ask": {"max_tokens": args.max_tokens}} if args.max_tokens is not None else None
    settings = load_settings(repo, args, extra)
    assistant = Assistant(repo, settings)
    prompt = assistant.prepare_ask(args.question)
    if args.show_context:
        _print_context(prompt.context, assistant)
        _print_paths(prompt.paths)
    stream = stream_answer(prompt, assistant.generator(), settings.ask)
    for piece in stream.tokens:
        sys.stdout.write(piece)
        sys.stdout.flush()
    print("\n\nSources:")
    for source in stream.sources:
        print(f"  {source.path}:{source.start_line}-{source.end_line}  {source.symbol}  (score {source.score:.4f})")
    return 0


def _print_context(context: Any, assistant: Any) -> None:
    from assistant.context import CHUNK_SEPARATOR, render_chunk

    count = assistant.generator().count_tokens
    print(f"Context: {len(context.used)} chunks, {context.tokens} tokens")
    # Flat contexts have one part per chunk, as it is in the prompt (compressed or not).
    rendered = [part.text for part in context.parts] if len(context.parts) == len(context.used) else []
    for index, item in enumerate(context.used):
        chunk = item.chunk
        size = f"{count(render_chunk(item) + CHUNK_SEPARATOR)} tokens"
        if rendered:
            shown, whole = count(rendered[index]), count(render_chunk(item) + CHUNK_SEPARATOR)
            size = f"{shown} tokens" + (f", compressed from {whole}" if shown < whole else "")
        print(f"  {chunk.path}:{chunk.start_line}-{chunk.end_line}  {chunk.symbol}  score {item.hit.score:.4f}, {size}")
    print()


def _print_paths(paths: Any) -> None:
    if not paths:
        return
    print(
        f"Paths: {len(paths)}, in prompt order: links from the retrieved code to other files, then paths, "
        "most reliable last; a path's tokens include the code of the chunks it brings in"
    )
    for path in paths:
        print(f"  reliability {path.reliability:.4f}, {path.tokens} tokens: {path.description}")
    print()


def _graph(args: argparse.Namespace) -> int:
    from indexer.build import index_dir_for
    from indexer.graph import find_nodes, neighborhood
    from indexer.store import IndexStore

    repo = args.repo.expanduser()
    store = IndexStore.open(index_dir_for(repo, load_settings(repo, args)), create=False)
    try:
        keys = find_nodes(store, args.symbol)
        if not keys:
            raise InvalidInput(f"no symbol or file named {args.symbol!r} in the index of {repo.resolve()}; check the spelling or re-index")
        for key in keys:
            around = neighborhood(store, key)
            print(key)
            for title, neighbors in [("callers", around.callers), ("callees", around.callees), ("parents", around.parents),
                                     ("children", around.children), ("related", around.related)]:
                print(f"  {title}:" + ("" if neighbors else " none"))
                for neighbor in neighbors:
                    where = f", line {neighbor.lineno}" if neighbor.lineno else ""
                    print(f"    {neighbor.key}  ({neighbor.edge_type}, confidence {neighbor.confidence:.2f}{where})")
    finally:
        store.close()
    return 0


def parse_position(position: str) -> tuple[Path, int, int]:
    """Parse FILE:LINE:COL (1-based) into a path and 0-based line and column."""
    parts = position.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise InvalidInput(f"position {position!r} is not FILE:LINE:COL; pass e.g. src/app.py:42:17 (1-based)")
    line, column = int(parts[1]), int(parts[2])
    if line < 1 or column < 1:
        raise InvalidInput(f"position {position!r} has line {line} and column {column}; both count from 1")
    return Path(parts[0]).expanduser(), line - 1, column - 1


def _complete(args: argparse.Namespace) -> int:
    from assistant.results import CompletionRequest
    from assistant.service import Assistant

    path, line, column = parse_position(args.position)
    text = _read_source(path)
    repo = args.repo.expanduser() if args.repo else _find_repo(path)
    if not repo.is_dir():
        raise InvalidInput(f"--repo {repo} not found or not a folder; pass the repository that contains the file, or leave it out")
    settings = load_settings(repo, args)
    assistant = Assistant(repo, settings)
    request = CompletionRequest(path=str(path.resolve()), text=text, line=line, column=column)
    if args.show_context:
        context = assistant.completion_context(request)
        if isinstance(context, str):
            print("Context: none\n")
        else:
            _print_context(context, assistant)
    result = assistant.complete(request)
    if result is not None:
        print(result.text)
    else:
        # stderr, so that a script reading the completion from stdout gets nothing.
        print(f"ragcoder: no suggestion at {args.position}", file=sys.stderr)
    return 0


def _read_source(path: Path) -> str:
    if not path.is_file():
        raise InvalidInput(f"file {path} does not exist; pass the path of a source file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"file {path} is not UTF-8 text (byte {error.start} is invalid); convert it to UTF-8"
        ) from None


def _find_repo(path: Path) -> Path:
    start = path.resolve().parent
    for folder in [start, *start.parents]:
        if (folder / Settings().index.dir_name).is_dir() or (folder / ".git").exists():
            return folder
    return start


def _compress(args: argparse.Namespace) -> int:
    from assistant.compress import compress, load_priorities, mentioned_identifiers
    from assistant.model import load_generator
    from indexer.parse import language_for_path

    language = language_for_path(str(args.file))
    if language is None:
        raise InvalidInput(f"file {args.file} has no supported extension; pass a Python, JavaScript, TypeScript, Go, Rust or Java file")
    if not 0.0 < args.ratio <= 1.0:
        raise InvalidInput(f"--ratio is {args.ratio}; pass a share in (0, 1], e.g. 0.5")
    keep_lines = _parse_line_range(args.keep_lines) if args.keep_lines else None
    text = _read_source(args.file)
    settings = load_settings(_find_repo(args.file), args)
    generator = load_generator(settings.model)
    result = compress(
        text, language, generator.count_tokens, load_priorities(args.task), ratio=args.ratio,
        protected_identifiers=mentioned_identifiers(args.protect), keep_lines=keep_lines,
    )
    sys.stdout.write(result.text)
    removed = ", ".join(f"{name} {count}" for name, count in result.removed_units.items()) or "nothing"
    print(
        f"{result.original_tokens} -> {result.tokens} tokens (ratio {result.ratio:.3f}); removed units: {removed}"
        + (f"; dropped {result.truncated_lines} lines" if result.truncated_lines else ""),
        file=sys.stderr,
    )
    return 0


def _parse_line_range(text: str) -> tuple[int, int]:
    """Parse a 1-based FIRST-LAST line range into a 0-based inclusive pair."""
    first, _, last = text.partition("-")
    if not first.isdigit() or not (last or first).isdigit() or int(first) < 1 or int(last or first) < int(first):
        raise InvalidInput(f"--keep-lines {text!r} is not FIRST-LAST with 1 <= FIRST <= LAST; pass e.g. 40-52")
    return int(first) - 1, int(last or first) - 1


def _lint(args: argparse.Namespace) -> int:
    from assistant.model_files import cache_dir
    from assistant.promptlint import Severity
    from assistant.promptlint.checks import options_from_settings
    from assistant.promptlint.runner import (
        exit_status,
        lint_files,
        lintable_files,
        render_json,
        render_sarif,
        with_model,
    )

    files = list(lintable_files(path.expanduser() for path in args.paths))
    settings = load_settings(_find_repo(files[0]) if files else None, args, _lint_overrides(args))
    options = options_from_settings(settings.lint)
    generator = None
    if not args.no_model:
        options, generator = with_model(options, settings.model, cache_dir() / "promptlint")
    try:
        locations = lint_files(files, options)
    finally:
        if generator is not None:
            generator.close()  # type: ignore[attr-defined]
    if args.format == "json":
        print(render_json(locations))
    elif args.format == "sarif":
        print(render_sarif(locations))
    else:
        for item in locations:
            print(item.format_text())
    return exit_status(locations, Severity(settings.lint.fail_on.value))


def _lint_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Turn the lint flags into settings, validating rule codes under the flag's name."""
    from assistant.promptlint.checks import rule_codes

    lint: dict[str, Any] = {}
    if args.select is not None:
        lint["select"] = sorted(rule_codes(args.select.split(","), "--select"))
    if args.ignore is not None:
        lint["ignore"] = sorted(rule_codes(args.ignore.split(","), "--ignore"))
    if args.budget_tokens is not None:
        lint["budget_tokens"] = args.budget_tokens
    if args.fail_on is not None:
        lint["fail_on"] = args.fail_on
    return {"lint": lint} if lint else {}


def _serve(args: argparse.Namespace) -> int:
    from lsp.server import serve

    tcp: tuple[str, int] | None = None
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            raise InvalidInput(f"--tcp {args.tcp!r} is not HOST:PORT; pass e.g. 127.0.0.1:2087")
        tcp = (host, int(port))
    repo = args.repo.expanduser().resolve() if args.repo else None
    serve(load_settings(repo, args), repo, tcp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
