"""Measure tree-sitter parsing and chunking throughput on the installed Python standard library.

Run: python bench/bench_chunking.py [--max-chunk-lines 120] [--repeat 3]

Two sets: the `json`, `email` and `asyncio` packages, and the whole standard library directory
(without site-packages). Files are read into memory first, so disk time is not measured. Each
stage is timed on its own: parse only, parse plus the query, and the full `chunk_file`. The
best of `--repeat` runs is reported, in wall time and in CPU time of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import json
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

from indexer import parse
from indexer.chunks import chunk_file

MIB = 1024 * 1024


def _read_files(roots: list[Path], exclude: Path | None) -> list[tuple[str, bytes]]:
    files: list[tuple[str, bytes]] = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if exclude is not None and path.is_relative_to(exclude):
                continue
            files.append((path.relative_to(root.parent).as_posix(), path.read_bytes()))
    return files


def _best_time(stage: Callable[[], object], repeat: int) -> tuple[float, float]:
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        stage()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def _measure(label: str, files: list[tuple[str, bytes]], max_chunk_lines: int, repeat: int) -> None:
    size_mib = sum(len(source) for _, source in files) / MIB
    line_count = sum(source.count(b"\n") for _, source in files)
    print(f"\n{label}: {len(files)} files, {size_mib:.1f} MiB, {line_count} lines")

    def parse_only() -> None:
        for _, source in files:
            parse.parse(source, "python")

    def parse_and_query() -> None:
        for _, source in files:
            parse.find_symbols(parse.parse(source, "python"))

    totals = {"chunks": 0, "defs": 0, "refs": 0}

    def chunk_all() -> None:
        totals.update(chunks=0, defs=0, refs=0)
        for path, source in files:
            chunks, symbols = chunk_file(path, "python", source, max_chunk_lines)
            definition_count = sum(1 for symbol in symbols if symbol.kind == "def")
            totals["chunks"] += len(chunks)
            totals["defs"] += definition_count
            totals["refs"] += len(symbols) - definition_count

    print(f"{'stage':<18}{'wall s':>8}{'cpu s':>8}{'files/s':>10}{'MiB/s':>8}{'klines/s':>10}")
    for stage_name, stage in (("parse", parse_only), ("parse+query", parse_and_query), ("chunk_file", chunk_all)):
        wall, cpu = _best_time(stage, repeat)
        print(
            f"{stage_name:<18}{wall:>8.2f}{cpu:>8.2f}{len(files) / wall:>10.0f}"
            f"{size_mib / wall:>8.2f}{line_count / wall / 1000:>10.0f}"
        )
    print(f"chunk_file made {totals['chunks']} chunks, {totals['defs']} def and {totals['refs']} ref symbols")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-chunk-lines", type=int, default=120, help="split pieces longer than this (lines)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage; the fastest is reported")
    args = parser.parse_args()

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    packages = [Path(module.__file__).parent for module in (json, email, asyncio) if module.__file__]
    print(f"Python {sys.version.split()[0]}, standard library at {stdlib}")
    _measure("json+email+asyncio", _read_files(packages, None), args.max_chunk_lines, args.repeat)
    _measure("standard library", _read_files([stdlib], stdlib / "site-packages"), args.max_chunk_lines, args.repeat)


if __name__ == "__main__":
    main()
