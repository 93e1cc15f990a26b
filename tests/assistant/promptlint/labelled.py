"""The labelled prompt snippets of tests/data/promptlint and their per-rule precision and recall.

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

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "promptlint"
SNIPPET_DIR = DATA_DIR / "snippets"
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


def labelled_options() -> LintOptions:
    """Options for the labelled set: a word tokenizer, a 64-token context and one under-trained word."""
    tokenizer = WordTokenizer()
    undertrained = {tokenizer.token_id(UNDERTRAINED_WORD): UNDERTRAINED_WORD}
    return LintOptions(limits=TokenLimits(TEST_N_CTX), tokenizer=tokenizer, undertrained=undertrained)


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


def snippet_paths() -> list[Path]:
    """List the snippet files, sorted."""
    return sorted(path for path in SNIPPET_DIR.rglob("*") if path.is_file())


def score_rules(options: LintOptions | None = None) -> tuple[list[RuleScore], list[str]]:
    """Lint every snippet and compare (file, code, line) with expected.json; also return the mismatches."""
    expected_by_file = json.loads((DATA_DIR / "expected.json").read_text(encoding="utf-8"))
    expected: set[tuple[str, str, int]] = set()
    found: set[tuple[str, str, int]] = set()
    for path in snippet_paths():
        name = path.relative_to(SNIPPET_DIR).as_posix()
        expected.update((name, code, line) for code, line in expected_by_file[name])
        for location in lint_text(name, path.read_text(encoding="utf-8"), options or labelled_options()):
            found.add((name, location.finding.code, location.line + 1))
    scores = []
    for code in sorted(RULES):
        hits = {item for item in found if item[1] == code}
        labelled = {item for item in expected if item[1] == code}
        scores.append(RuleScore(code, len(hits & labelled), len(hits - labelled), len(labelled - hits)))
    mismatches = [f"unexpected {item}" for item in sorted(found - expected)]
    mismatches += [f"missed {item}" for item in sorted(expected - found)]
    return scores, mismatches
