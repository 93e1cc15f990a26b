"""Prompt linter rules on the labelled snippets, both ways, plus quick fixes and template syntax."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.promptlint import Fix, LintOptions, discover_text, lint_text
from assistant.promptlint.templates import TemplateSyntax
from tests.assistant.promptlint.labelled import (
    LABELLED_SETS,
    SNIPPET_DIR,
    expected_findings,
    found_findings,
    known_misses,
    score_rules,
    snippet_name,
    snippet_paths,
)

MIN_PRECISION = 0.9
MIN_RECALL = 0.8


SNIPPETS = [(set_name, path) for set_name in LABELLED_SETS for path in snippet_paths(set_name)]


@pytest.mark.parametrize(("set_name", "path"), SNIPPETS, ids=lambda value: value if isinstance(value, str) else value.name)
def test_snippet_findings_match_labels(set_name: str, path: Path) -> None:
    name = snippet_name(set_name, path)
    misses = {(code, line) for snippet, code, line in known_misses(set_name) if snippet == name}
    expected = [item for item in expected_findings(set_name)[name] if item not in misses]
    assert found_findings(set_name, path) == expected


def test_labelled_sets_have_enough_snippets() -> None:
    assert len(snippet_paths("written")) >= 40
    assert len(snippet_paths("collected")) >= 20


def test_written_set_precision_recall_per_rule() -> None:
    scores, mismatches = score_rules("written")
    for score in scores:
        assert score.true_positives + score.false_negatives > 0, f"{score.code} has no positive snippet"
        assert score.precision >= MIN_PRECISION, f"{score.code} precision {score.precision:.2f}: {mismatches}"
        assert score.recall >= MIN_RECALL, f"{score.code} recall {score.recall:.2f}: {mismatches}"


def test_collected_set_precision_per_rule() -> None:
    scores, mismatches = score_rules("collected")
    for score in scores:
        assert score.precision >= MIN_PRECISION, f"{score.code} precision {score.precision:.2f}: {mismatches}"


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
    text = 'COMPLETION_PROMPT = "Use sk-proj-Q7f3Lm9Xw2Rt8Yb4Nc6Vd1Kp5Hs0 now "  # ragcoder: ignore\n'
    assert lint_text("s.py", text) == []
    assert [item.finding.code for item in lint_text("s.py", text.replace("# ragcoder: ignore", ""))] == ["RCP008", "RCP005"]


def test_unsupported_file_gives_no_findings() -> None:
    assert lint_text("notes.rs", 'let prompt = "You are {role} ";') == []
