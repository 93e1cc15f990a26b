"""Write the reference vectors that tests/indexer/test_embedder.py compares ragcoder's embedder with.

The vectors come from sentence-transformers running the shipped all-MiniLM-L6-v2 weights on real
code chunks of the installed Python standard library. This is a developer tool: ragcoder itself
never imports sentence-transformers or torch. Install them first (about 1.3 GB with torch):

    pip install sentence-transformers

Usage: python bench/make_embedding_reference.py [--output tests/data/embeddings/minilm_reference.npz]
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import sys
import sysconfig
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from indexer.embedder import shipped_model_dir  # noqa: E402

DEFAULT_OUTPUT = REPO / "tests" / "data" / "embeddings" / "minilm_reference.npz"
REFERENCE_PACKAGES = ("json", "email")
SHORT_CHUNKS = 18
LONG_CHUNKS = 4
MAX_SEQ_LENGTH = 256

# A word of more than 100 characters, which BERT's WordPiece turns into [UNK].
LONG_WORD_LINE = 'EXPECTED_DIGEST = "' + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" * 2 + '"'


def stdlib_chunks(packages: Sequence[str], min_lines: int = 3, max_lines: int = 200) -> Iterator[str]:
    """Yield the source of every class and function in the given standard-library packages.

    Files are read in sorted order and definitions in source order, so the output is the same on
    every run with the same Python version.
    """
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for package in packages:
        for path in sorted((stdlib / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            lines = source.splitlines()
            nodes = [
                node
                for node in ast.walk(ast.parse(source))
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            ]
            for node in sorted(nodes, key=lambda item: item.lineno):
                start = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
                end = node.end_lineno or node.lineno
                if min_lines <= end - start + 1 <= max_lines:
                    yield "\n".join(lines[start - 1 : end])


def evenly_spaced(items: Sequence[str], count: int) -> list[str]:
    """Pick `count` items spread over the whole sequence, so short and long chunks both appear."""
    if len(items) < count:
        raise SystemExit(f"found only {len(items)} candidate chunks, need {count}")
    positions = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[position] for position in positions]


def reference_texts(model_dir: Path) -> list[str]:
    """Choose short and over-long stdlib chunks, plus an empty text and a line with a long word."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    chunks = list(stdlib_chunks(REFERENCE_PACKAGES))
    lengths = [len(encoding.ids) for encoding in tokenizer.encode_batch(chunks)]
    short = [chunk for chunk, length in zip(chunks, lengths) if 16 <= length <= MAX_SEQ_LENGTH]
    long = [chunk for chunk, length in zip(chunks, lengths) if length > MAX_SEQ_LENGTH]
    return evenly_spaced(short, SHORT_CHUNKS) + evenly_spaced(long, LONG_CHUNKS) + ["", LONG_WORD_LINE]


def sentence_transformers_vectors(model_dir: Path, texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Embed `texts` with sentence-transformers on the CPU, exactly as the model card describes."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise SystemExit("this script needs sentence-transformers: pip install sentence-transformers") from None

    model = SentenceTransformer(str(model_dir), device="cpu")
    if model.max_seq_length != MAX_SEQ_LENGTH:
        raise SystemExit(f"expected max_seq_length {MAX_SEQ_LENGTH}, the model has {model.max_seq_length}")
    vectors = model.encode(list(texts), batch_size=8, normalize_embeddings=True, convert_to_numpy=True)
    return np.asarray(vectors, dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the .npz file to write")
    args = parser.parse_args()

    model_dir = shipped_model_dir()
    texts = reference_texts(model_dir)
    vectors = sentence_transformers_vectors(model_dir, texts)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.output,
        texts=np.array(texts, dtype=np.str_),
        vectors=vectors,
        max_seq_length=np.int64(MAX_SEQ_LENGTH),
        producer=np.str_(
            f"sentence-transformers {importlib.metadata.version('sentence-transformers')}, Python {sys.version.split()[0]} stdlib "
            f"{', '.join(REFERENCE_PACKAGES)}"
        ),
    )
    print(f"wrote {len(texts)} texts and vectors of shape {vectors.shape} to {args.output}")


if __name__ == "__main__":
    main()
