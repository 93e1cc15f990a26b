"""Prompt linter rules on the labelled snippets, both ways, plus quick fixes and template syntax."""

from __future__ import annotations

import json

import pytest

from assistant.promptlint import Fix, LintOptions, discover_text, lint_text
from assistant.promptlint.templates import TemplateSyntax
from tests.assistant.promptlint.labelled import (
    DATA_DIR,
    SNIPPET_DIR,
    labelled_options,
    score_rules,
    snippet_paths,
)

EXPECTED = json.loads((DATA_DIR / "expected.json").read_text(encoding="utf-8"))
MIN_PRECISION = 0.9
MIN_RECALL = 0.8


def _name(path: object) -> str:
    return path.relative_to(SNIPPET_DIR).as_posix()  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", snippet_paths(), ids=_name)
def test_snippet_findings_match_labels(path: object) -> None:
    name = _name(path)
    text = path.read_text(encoding="utf-8")  # type: ignore[attr-defined]
    found = sorted([item.finding.code, item.line + 1] for item in lint_text(name, text, labelled_options()))
    assert found == sorted(EXPECTED[name])


def test_labelled_set_has_forty_snippets() -> None:
    assert len(snippet_paths()) >= 40


def test_labelled_set_precision_recall_per_rule() -> None:
    scores, mismatches = score_rules()
    for score in scores:
        assert score.true_positives + score.false_negatives > 0, f"{score.code} has no positive snippet"
        assert score.precision >= MIN_PRECISION, f"{score.code} precision {score.precision:.2f}: {mismatches}"
        assert score.recall >= MIN_RECALL, f"{score.code} recall {score.recall:.2f}: {mismatches}"


def _apply(text: str, fix: Fix) -> str:
    data = text.encode("utf-8")
    for edit in sorted(fix.edits, key=lambda item: item.start_byte, reverse=True):
        data = data[:edit.start_byte] + edit.new_text.encode("utf-8") + data[edit.end_byte:]
    return data.decode("utf-8")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("issue_brace.py", "RCP003"),
        ("fstring_json.py", "RCP003"),
        ("issue_missing_f.py", "RCP004"),
        ("js_missing_backticks.js", "RCP004"),
        ("issue_trailing_space.py", "RCP005"),
        ("trailing_tab_llama.py", "RCP005"),
        ("indent_leak.py", "RCP006"),
        ("ts_indent_leak.ts", "RCP006"),
        ("unicode_zero_width.py", "RCP009"),
        ("unicode_homoglyph.py", "RCP009"),
    ],
)
def test_quick_fix_removes_finding(name: str, code: str) -> None:
    text = (SNIPPET_DIR / name).read_text(encoding="utf-8")
    before = [item for item in lint_text(name, text) if item.finding.code == code]
    assert before
    fix = before[0].finding.fix
    assert fix is not None
    fixed = _apply(text, fix)
    after = [item for item in lint_text(name, fixed) if item.finding.code == code]
    assert after == []
    assert discover_text(name, fixed) is not None


def test_brace_fix_keeps_placeholder() -> None:
    text = (SNIPPET_DIR / "issue_brace.py").read_text(encoding="utf-8")
    fix = lint_text("issue_brace.py", text)[0].finding.fix
    assert fix is not None
    assert '{{"answer": "..."}} for {question}' in _apply(text, fix)


def test_fprefix_fix_makes_fstring() -> None:
    text = (SNIPPET_DIR / "issue_missing_f.py").read_text(encoding="utf-8")
    fix = lint_text("issue_missing_f.py", text)[0].finding.fix
    assert fix is not None
    assert 'system = f"You are {role}. Answer briefly."' in _apply(text, fix)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("issue_brace.py", TemplateSyntax.FORMAT),
        ("issue_unfilled.py", TemplateSyntax.LANGCHAIN_FSTRING),
        ("issue_missing_f.py", TemplateSyntax.PLAIN),
        ("issue_trailing_space.py", TemplateSyntax.FSTRING),
        ("jinja_json_ok.py", TemplateSyntax.JINJA),
        ("langchain_mustache_ok.py", TemplateSyntax.MUSTACHE),
        ("percent_ok.py", TemplateSyntax.PERCENT),
        ("js_template_ok.js", TemplateSyntax.TEMPLATE_LITERAL),
        ("template_file_ok.j2", TemplateSyntax.JINJA),
    ],
)
def test_discovery_syntax_per_prompt(name: str, expected: TemplateSyntax) -> None:
    discovery = discover_text(name, (SNIPPET_DIR / name).read_text(encoding="utf-8"))
    assert discovery is not None
    assert [prompt.syntax for prompt in discovery.prompts if prompt.syntax is not TemplateSyntax.PLAIN or
            expected is TemplateSyntax.PLAIN][:1] == [expected]


def test_jinja_json_braces_no_finding() -> None:
    text = 'from langchain_core.prompts import PromptTemplate\nt = PromptTemplate.from_template(\'{"key": "{{ value }}"}\', template_format="jinja2")\n'
    assert lint_text("t.py", text) == []


def test_select_and_ignore_filter_codes() -> None:
    text = (SNIPPET_DIR / "format_unknown_fill.py").read_text(encoding="utf-8")
    only_unfilled = lint_text("f.py", text, LintOptions(select=frozenset({"RCP001"})))
    without_unfilled = lint_text("f.py", text, LintOptions(ignore=frozenset({"RCP001"})))
    assert [item.finding.code for item in only_unfilled] == ["RCP001"]
    assert [item.finding.code for item in without_unfilled] == ["RCP002"]


def test_suppression_comment_without_codes_hides_all() -> None:
    text = 'SYSTEM_PROMPT = "Use sk-proj-Q7f3Lm9Xw2Rt8Yb4Nc6Vd1Kp5Hs0 now "  # ragcoder: ignore\n'
    assert lint_text("s.py", text) == []
    assert [item.finding.code for item in lint_text("s.py", text.replace("# ragcoder: ignore", ""))] == ["RCP008", "RCP005"]


def test_unsupported_file_gives_no_findings() -> None:
    assert lint_text("notes.rs", 'let prompt = "You are {role} ";') == []
