"""Measure the main path on a copy of the standard library's json, email and asyncio packages.

Prints: index time and chunks/s, embedding vectors/s, `ask` time to first token, completion
latency p50/p95 over 30 cursor positions, and the language server's RSS with the model loaded.

Run: python bench/bench_main_path.py [--positions 30] [--questions 5]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.config import Settings  # noqa: E402
from assistant.results import CompletionRequest  # noqa: E402
from assistant.service import Assistant  # noqa: E402

PACKAGES = ("json", "email", "asyncio")
QUESTIONS = [
    "How does the JSON decoder scan a string literal?",
    "Where is an email address header parsed into display name and address?",
    "How does asyncio run a coroutine until it completes?",
    "How are MIME multipart messages generated?",
    "What does the event loop do when a callback raises an exception?",
]


def copy_stdlib(target: Path) -> None:
    """Copy the measured standard-library packages into `target`."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in PACKAGES:
        shutil.copytree(stdlib / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))


def percentile(values: list[float], fraction: float) -> float:
    """Return the value at `fraction` of the sorted list (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def measure_index(repo: Path) -> tuple[Assistant, dict[str, float]]:
    """Index `repo` from scratch and report time and throughput."""
    assistant = Assistant(repo, Settings())
    started = time.perf_counter()
    assistant.embedder()
    load_s = time.perf_counter() - started
    summary = assistant.index()
    return assistant, {
        "embedder load s": load_s,
        "index s": summary.seconds,
        "files": summary.files_indexed,
        "chunks": summary.chunks_total,
        "chunks/s": summary.chunks_total / summary.seconds,
    }


def measure_embedding(assistant: Assistant, repo: Path) -> dict[str, float]:
    """Embed 128 real chunks again, one batch, and report vectors/s."""
    texts = [path.read_text(encoding="utf-8")[:800] for path in sorted(repo.rglob("*.py"))][:128]
    started = time.perf_counter()
    assistant.embedder().embed(texts)
    seconds = time.perf_counter() - started
    return {"vectors/s": len(texts) / seconds}


def measure_ask(assistant: Assistant, count: int) -> dict[str, float]:
    """Time to first token and total time of `ask` for a few questions."""
    assistant.generator()
    first: list[float] = []
    total: list[float] = []
    for question in QUESTIONS[:count]:
        started = time.perf_counter()
        stream = assistant.ask(question)
        pieces = iter(stream.tokens)
        next(pieces, "")
        first.append(time.perf_counter() - started)
        for _ in pieces:
            pass
        total.append(time.perf_counter() - started)
    return {"ask TTFT p50 s": statistics.median(first), "ask total p50 s": statistics.median(total)}


def completion_positions(repo: Path, count: int) -> list[CompletionRequest]:
    """Pick cursor positions at the start of real statements inside function bodies."""
    rng = random.Random(7)
    requests: list[CompletionRequest] = []
    files = sorted(repo.rglob("*.py"))
    rng.shuffle(files)
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        bodies = [node for node in ast.walk(ast.parse(text)) if isinstance(node, ast.FunctionDef) and len(node.body) > 2]
        if not bodies:
            continue
        statement = rng.choice(rng.choice(bodies).body[1:])
        line = statement.lineno - 1
        column = statement.col_offset + max(1, (len(lines[line]) - statement.col_offset) // 2)
        requests.append(CompletionRequest(path=str(path), text=text, line=line, column=min(column, len(lines[line]))))
        if len(requests) == count:
            break
    return requests


def measure_completion(assistant: Assistant, repo: Path, count: int) -> dict[str, float]:
    """Completion latency over `count` positions, after one warm-up request."""
    requests = completion_positions(repo, count + 1)
    assistant.complete(requests[0])
    latencies: list[float] = []
    for request in requests[1:]:
        started = time.perf_counter()
        assistant.complete(request)
        latencies.append((time.perf_counter() - started) * 1000.0)
    return {
        "completion p50 ms": percentile(latencies, 0.5),
        "completion p95 ms": percentile(latencies, 0.95),
    }


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read_message(stream: object) -> dict[str, object]:
    length = 0
    while True:
        line = stream.readline()  # type: ignore[attr-defined]
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))  # type: ignore[attr-defined,no-any-return]


def measure_server_rss(repo: Path) -> dict[str, float]:
    """Start `ragcoder serve`, answer one inline completion, read the peak RSS from /proc."""
    server = subprocess.Popen(
        [sys.executable, "-m", "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert server.stdin is not None and server.stdout is not None
    path = sorted((repo / "json").glob("*.py"))[0]
    uri = path.as_uri()
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": repo.as_uri(), "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": path.read_text(encoding="utf-8")}}},
        {"jsonrpc": "2.0", "id": 2, "method": "textDocument/inlineCompletion", "params": {"textDocument": {"uri": uri}, "position": {"line": 10, "character": 0}, "context": {"triggerKind": 1}}},
    ]
    for message in messages:
        server.stdin.write(_frame(message))
    server.stdin.flush()
    while _read_message(server.stdout).get("id") != 2:
        pass
    status = Path(f"/proc/{server.pid}/status").read_text()
    fields = {line.split(":")[0]: line.split(":")[1].strip() for line in status.splitlines() if ":" in line}
    server.stdin.write(_frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
    server.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
    server.stdin.flush()
    server.wait(timeout=60)
    return {
        "server RSS MB": int(fields["VmRSS"].split()[0]) / 1024,
        "server peak RSS MB": int(fields["VmHWM"].split()[0]) / 1024,
    }


def main() -> None:
    """Run every measurement and print one table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--positions", type=int, default=30)
    parser.add_argument("--questions", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder)
        copy_stdlib(repo)
        assistant, results = measure_index(repo)
        results.update(measure_embedding(assistant, repo))
        results.update(measure_ask(assistant, args.questions))
        results.update(measure_completion(assistant, repo, args.positions))
        assistant.close()
        results.update(measure_server_rss(repo))
    print(f"cpu: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    for key, value in results.items():
        print(f"{key:>22}: {value:.3f}" if isinstance(value, float) else f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
