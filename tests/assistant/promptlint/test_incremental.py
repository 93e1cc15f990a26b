"""Incremental linting: a document linted version after version gives the findings of a fresh lint,
re-reads only what an edit touched, and keeps other statements' findings through a syntax error."""

from __future__ import annotations

import random

import pytest

from assistant.promptlint import (
    DocumentLinter,
    LintOptions,
    Location,
    incremental,
    lint_text,
)
from assistant.promptlint.blocks import link_blocks, read_block
from assistant.promptlint.incremental import changed_span, respan
from indexer.parse import parse, parses_cleanly, top_level_spans

PYTHON = '''\
from langchain_core.prompts import PromptTemplate

QA_TEMPLATE = "Answer {question} about {topic}."
SUMMARY = PromptTemplate.from_template("Summarize {text} in {n_words} words")
chain = SUMMARY | llm


def ask(question, llm):
    return llm(QA_TEMPLATE.format(question=question))


def summarize(doc):
    return chain.invoke({"text": doc})


def greet(name, llm):
    system = "You are {role}. Greet {name}."
    return llm(system)


def complete(code, llm):
    prompt = f"Complete the code:\\n{code} "
    return llm(prompt)
'''

JAVASCRIPT = '''\
import { PromptTemplate } from "@langchain/core/prompts";

const QA = PromptTemplate.fromTemplate("Answer {question} in {style}");

async function ask(question) {
  return QA.invoke({ question });
}

function greet(llm, name) {
  const prompt = "Say hello to ${name} ";
  return llm.invoke(prompt);
}
'''

# (old text, new text, count) edits applied in order; each keeps the file free of syntax errors.
PYTHON_EDITS = [
    ("Answer {question}", "Answer the {question}", 1),
    ("QA_TEMPLATE.format(question=question)", "QA_TEMPLATE.format(question=question, topic=1)", 1),
    ("def greet(name, llm):", "role = 'pirate'\n\n\ndef greet(name, llm):", 1),
    ("role = 'pirate'\n\n\n", "", 1),
    ('chain.invoke({"text": doc})', 'chain.invoke({"text": doc, "n_words": 5})', 1),
    ("chain = SUMMARY | llm\n", "", 1),
    ("\n\ndef ask(", "\n\ndef unrelated():\n    return 1\n\n\ndef ask(", 1),
    ("{code} ", "{code}", 1),
    ("from langchain_core.prompts import PromptTemplate\n", "", 1),
]

JAVASCRIPT_EDITS = [
    ("QA.invoke({ question })", "QA.invoke({ question, style: 'short' })", 1),
    ("const prompt", "const name2 = 1;\n  const prompt", 1),
    ("${name} ", "${name}", 1),
]


def _keys(locations: list[Location]) -> list[tuple[str, int, int, str]]:
    return [(item.finding.code, item.line, item.column, item.message) for item in locations]


@pytest.mark.parametrize(
    ("path", "text", "edits"),
    [("app.py", PYTHON, PYTHON_EDITS), ("app.js", JAVASCRIPT, JAVASCRIPT_EDITS)],
)
def test_document_linter_edits_match_fresh_lint(path: str, text: str, edits: list[tuple[str, str, int]]) -> None:
    linter = DocumentLinter(path, LintOptions())
    assert _keys(linter.lint(text)) == _keys(lint_text(path, text))
    for old, new, count in edits:
        assert old in text, old
        text = text.replace(old, new, count)
        assert _keys(linter.lint(text)) == _keys(lint_text(path, text)), (old, new)


def test_document_linter_finds_issue_inputs() -> None:
    codes = {(item.finding.code, item.line + 1) for item in DocumentLinter("app.py", LintOptions()).lint(PYTHON)}
    assert ("RCP001", 3) in codes  # {topic} is never filled by QA_TEMPLATE.format in ask()
    assert ("RCP001", 4) in codes  # {n_words} is never filled by chain.invoke in summarize()
    assert ("RCP004", 17) in codes
    assert ("RCP005", 22) in codes


def test_unfilled_message_names_call_line() -> None:
    located = [item for item in lint_text("app.py", PYTHON) if item.finding.code == "RCP001" and item.line == 2]
    assert len(located) == 1
    assert located[0].related_line == 8
    assert located[0].message.endswith("(call on line 9)")


def test_edit_rereads_only_changed_statement(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []

    def counting_read_block(source: bytes, language: str) -> object:
        calls.append(source)
        return read_block(source, language)

    monkeypatch.setattr(incremental, "read_block", counting_read_block)
    linter = DocumentLinter("app.py", LintOptions())
    linter.lint(PYTHON)
    first_count = len(calls)
    calls.clear()
    linter.lint(PYTHON.replace("Complete the code", "Complete this code"))
    assert first_count >= 8
    assert len(calls) == 1
    assert b"Complete this code" in calls[0]


def test_syntax_error_keeps_other_statements_findings() -> None:
    linter = DocumentLinter("app.py", LintOptions())
    before = _keys(linter.lint(PYTHON))
    # An unclosed triple quote turns the rest of the file into one string for a fresh parse.
    broken = PYTHON.replace("    return llm(system)", '    note = """\n    return llm(system)')
    fresh = _keys(lint_text("app.py", broken))
    after = _keys(linter.lint(broken))
    assert not [item for item in fresh if item[0] == "RCP005"]
    assert [item[1:] for item in after if item[0] == "RCP005"] == [
        (item[1] + 1, *item[2:]) for item in before if item[0] == "RCP005"]
    assert [item for item in after if item[1] < 15] == [item for item in before if item[1] < 15]
    assert _keys(linter.lint(PYTHON)) == before


def test_prompt_at_returns_prompt_text() -> None:
    linter = DocumentLinter("app.py", LintOptions())
    linter.lint(PYTHON)
    byte = PYTHON.encode().index(b"Complete the code")
    assert linter.prompt_at(byte) == "Complete the code:\n{code} "
    assert linter.prompt_at(PYTHON.encode().index(b"def ask")) is None


def test_changed_options_drop_cached_findings() -> None:
    linter = DocumentLinter("app.py", LintOptions())
    assert any(item.finding.code == "RCP005" for item in linter.lint(PYTHON))
    linter.options = LintOptions(ignore=frozenset({"RCP005"}))
    assert not any(item.finding.code == "RCP005" for item in linter.lint(PYTHON))


def test_link_blocks_groups_template_users() -> None:
    source = PYTHON.encode()
    spans = top_level_spans(parse(source, "python"))
    blocks = [read_block(source[start:end], "python") for start, end in spans]
    groups = link_blocks(blocks)
    texts = [[blocks[index].source.split(b"\n")[0] for index in members] for members in groups]
    assert [b'QA_TEMPLATE = "Answer {question} about {topic}."', b"def ask(question, llm):"] in texts
    assert [b'SUMMARY = PromptTemplate.from_template("Summarize {text} in {n_words} words")',
            b"chain = SUMMARY | llm", b"def summarize(doc):"] in texts
    assert [b"def greet(name, llm):"] in texts


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (b"abcdef", b"abXYef", (2, 4, 4)),
        (b"abcdef", b"abef", (2, 4, 2)),
        (b"aaaa", b"aaaaa", (4, 4, 5)),
        (b"same", b"same", (4, 4, 4)),
        (b"", b"new", (0, 0, 3)),
    ],
)
def test_changed_span_between_versions(old: bytes, new: bytes, expected: tuple[int, int, int]) -> None:
    assert changed_span(old, new) == expected


RESPAN_OLD = b"a = 1\n\ndef f():\n    return 1\n\nb = 2\n"


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        # An indented line after the function joins it.
        (b"a = 1\n\ndef f():\n    return 1\n    x = 2\n\nb = 2\n", [b"a = 1", b"def f():\n    return 1\n    x = 2", b"b = 2"]),
        # A new statement between two others becomes its own.
        (b"a = 1\n\ndef f():\n    return 1\nc = 3\n\nb = 2\n", [b"a = 1", b"def f():\n    return 1", b"c = 3", b"b = 2"]),
        # An unclosed string stays inside the statement it was typed in.
        (b'a = 1\n\ndef f():\n    return "1\n\nb = 2\n', [b"a = 1", b'def f():\n    return "1', b"b = 2"]),
        # Deleting the newline between two statements joins them into one that does not parse.
        (b"a = 1\n\ndef f():\n    return 1b = 2\n", [b"a = 1", b"def f():\n    return 1b = 2"]),
    ],
)
def test_respan_reparses_only_around_edit(new: bytes, expected: list[bytes]) -> None:
    spans = top_level_spans(parse(RESPAN_OLD, "python"))
    assert [new[start:end] for start, end in respan(spans, RESPAN_OLD, new, "python")] == expected


EDIT_PIECES = ["x", " ", "\n", "\n\n", "    ", '"', "{", "}", "(", ")", ":", "#", "f",
               "prompt = 'Hi {name} '\n", "\ndef g(name, llm):\n    return llm('Hi {name} ')\n"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_edits_match_fresh_lint(seed: int) -> None:
    rng = random.Random(seed)
    clean = PYTHON
    linter = DocumentLinter("app.py", LintOptions())
    linter.lint(clean)
    for _ in range(150):
        position = rng.randrange(len(clean) + 1)
        if rng.random() < 0.6:
            text = clean[:position] + rng.choice(EDIT_PIECES) + clean[position:]
        else:
            text = clean[:position] + clean[position + rng.randrange(1, 6):]
        linter.lint(text)
        if not parses_cleanly(text, "python"):
            text = clean  # the edit is undone, as a user fixes a typo
        assert _keys(linter.lint(text)) == _keys(lint_text("app.py", text)), text
        clean = text
