"""The labelled prompt snippet sets of tests/data/promptlint and their per-rule precision and recall.

Shared by the test and bench/bench_promptlint.py. The token rules run with a word tokenizer and a
64-token context, so their snippets need no model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.promptlint import RULES, LintOptions, TokenLimits, lint_text
from assistant.promptlint.checks import DEFAULT_N_CTX

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "promptlint"
SNIPPET_DIR = DATA_DIR / "snippets"
# The written snippets were made together with the rules; the collected ones were copied from
# prompts in installed packages and labelled by reading them.
LABELLED_SETS = {"written": DATA_DIR, "collected": DATA_DIR / "collected"}
TEST_N_CTX = 64
UNDERTRAINED_WORD = "SolidGoldMagikarp"


class WordTokenizer:
    """A tokenizer for tests: each word, punctuation mark and whitespace run is one token."""

    _PIECE = re.compile(r"\w+|\s+|[^\w\s]")

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._pieces: list[str] = []

    def token_id(self, piece: str) -> int:
        """Return the id of `piece`, adding it to the vocabulary on first sight."""
        if piece not in self._ids:
            self._ids[piece] = len(self._pieces)
            self._pieces.append(piece)
        return self._ids[piece]

    def tokenize(self, text: str, add_bos: bool = False) -> list[int]:
        return [self.token_id(piece) for piece in self._PIECE.findall(text)]

    def detokenize(self, ids: Sequence[int]) -> str:
        return "".join(self._pieces[token_id] for token_id in ids)


def labelled_options(set_name: str = "written") -> LintOptions:
    """Options for a labelled set: a word tokenizer and one under-trained word.

    The written set checks RCP007 against a 64-token context; the collected set uses the
    default 4096-token context, as a real prompt would be checked.
    """
    tokenizer = WordTokenizer()
    undertrained = {tokenizer.token_id(UNDERTRAINED_WORD): UNDERTRAINED_WORD}
    n_ctx = TEST_N_CTX if set_name == "written" else DEFAULT_N_CTX
    return LintOptions(limits=TokenLimits(n_ctx), tokenizer=tokenizer, undertrained=undertrained)


@dataclass(frozen=True)
class RuleScore:
    """Counts of one rule over the labelled set."""

    code: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0


def snippet_paths(set_name: str = "written") -> list[Path]:
    """List the snippet files of a labelled set, sorted."""
    return sorted(path for path in LABELLED_SETS[set_name].joinpath("snippets").rglob("*") if path.is_file())


def snippet_name(set_name: str, path: Path) -> str:
    """Return a snippet's name: its path below the set's snippet folder."""
    return path.relative_to(LABELLED_SETS[set_name] / "snippets").as_posix()


def expected_findings(set_name: str = "written") -> dict[str, list[tuple[str, int]]]:
    """Map each snippet name to its expected (rule code, 1-based line) findings.

    The written set stores `[code, line]` pairs; the collected set stores an origin and
    `[code, line, reason]` entries per snippet.
    """
    stored = json.loads((LABELLED_SETS[set_name] / "expected.json").read_text(encoding="utf-8"))
    expected: dict[str, list[tuple[str, int]]] = {}
    for name, entry in stored.items():
        rows = entry["findings"] if isinstance(entry, dict) else entry
        expected[name] = sorted((str(row[0]), int(row[1])) for row in rows)
    return expected


def known_misses(set_name: str) -> set[tuple[str, str, int]]:
    """Return the (snippet, rule code, line) labels that the rules are known to miss."""
    stored = json.loads((LABELLED_SETS[set_name] / "expected.json").read_text(encoding="utf-8"))
    return {(name, str(row[0]), int(row[1])) for name, entry in stored.items()
            if isinstance(entry, dict) for row in entry.get("known_misses", [])}


def found_findings(set_name: str, path: Path, options: LintOptions | None = None) -> list[tuple[str, int]]:
    """Lint one snippet and return its (rule code, 1-based line) findings, sorted."""
    name = snippet_name(set_name, path)
    located = lint_text(name, path.read_text(encoding="utf-8"), options or labelled_options(set_name))
    return sorted((item.finding.code, item.line + 1) for item in located)


def score_rules(set_name: str = "written", options: LintOptions | None = None) -> tuple[list[RuleScore], list[str]]:
    """Lint every snippet of a set and compare (file, code, line) with its labels; also return the mismatches."""
    expected_by_file = expected_findings(set_name)
    expected: set[tuple[str, str, int]] = set()
    found: set[tuple[str, str, int]] = set()
    for path in snippet_paths(set_name):
        name = snippet_name(set_name, path)
        expected.update((name, code, line) for code, line in expected_by_file[name])
        found.update((name, code, line) for code, line in found_findings(set_name, path, options))
    scores = []
    for code in sorted(RULES):
        hits = {item for item in found if item[1] == code}
        labelled = {item for item in expected if item[1] == code}
        scores.append(RuleScore(code, len(hits & labelled), len(hits - labelled), len(labelled - hits)))
    mismatches = [f"unexpected {item}" for item in sorted(found - expected)]
    mismatches += [f"missed {item}" for item in sorted(expected - found)]
    return scores, mismatches
