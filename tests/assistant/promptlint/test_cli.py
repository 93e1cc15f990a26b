"""`ragcoder lint` end to end without the model: output formats, exit status, lint settings from
pyproject.toml and flags, and the pre-commit hook definition run the way pre-commit runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]

from assistant.cli import main
from assistant.config import LintSettings
from assistant.errors import InvalidInput
from assistant.promptlint.checks import options_from_settings

REPO_ROOT = Path(__file__).resolve().parents[3]
BRACE_ERROR = '''\
def answer(q, llm):
    msg = 'Reply in JSON like {"answer": "..."} for {question}'.format(question=q)
    return llm(msg)
'''
TRAILING_SPACE = '''\
def complete(code, llm):
    return llm(f"Complete the code:\\n{code} ")
'''


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "brace.py").write_text(BRACE_ERROR, encoding="utf-8")
    (tmp_path / "space.py").write_text(TRAILING_SPACE, encoding="utf-8")
    return tmp_path


def _lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["lint", "--no-model", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_lint_text_output_and_status(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _lint(capsys, str(project))
    assert status == 1
    assert f"{project / 'brace.py'}:2:31: RCP003 error" in out
    assert f"{project / 'space.py'}:2:" in out
    assert "RCP005 warning" in out


def test_lint_json_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _lint(capsys, "--format", "json", str(project / "brace.py"))
    rows = json.loads(out)
    assert status == 1
    assert [(row["code"], row["line"], row["column"], row["severity"]) for row in rows] == [("RCP003", 2, 31, "error")]
    assert rows[0]["fix"] == "Escape the braces"


def test_lint_sarif_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _lint(capsys, "--format", "sarif", str(project / "brace.py"))
    log = json.loads(out)
    run = log["runs"][0]
    result = run["results"][0]
    assert status == 1
    assert log["version"] == "2.1.0"
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]][:3] == ["RCP001", "RCP002", "RCP003"]
    assert result["ruleId"] == "RCP003"
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "RCP003"
    assert result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    replacement = result["fixes"][0]["artifactChanges"][0]["replacements"][0]
    start = replacement["deletedRegion"]["byteOffset"]
    source = BRACE_ERROR.encode()
    fixed = source[:start] + replacement["insertedContent"]["text"].encode() + source[start + replacement["deletedRegion"]["byteLength"]:]
    assert b'{{"answer": "..."}} for {question}' in fixed


def test_lint_settings_select_ignore_fail_on(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text('[tool.ragcoder.lint]\nignore = ["RCP003"]\nfail_on = "error"\n', encoding="utf-8")
    status, out, _ = _lint(capsys, str(project / "brace.py"), str(project / "space.py"))
    assert "RCP003" not in out
    assert "RCP005" in out
    assert status == 0
    status, out, _ = _lint(capsys, "--fail-on", "warning", str(project / "space.py"))
    assert status == 1
    status, out, _ = _lint(capsys, "--select", "rcp003", "--ignore", "", str(project / "brace.py"), str(project / "space.py"))
    assert "RCP003" in out
    assert "RCP005" not in out


def test_lint_unknown_rule_code_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _lint(capsys, "--select", "RCP999", str(project))
    assert status == 1
    assert "--select has unknown rule codes RCP999" in err
    (project / "pyproject.toml").write_text('[tool.ragcoder.lint]\nignore = ["RCP0"]\n', encoding="utf-8")
    status, _, err = _lint(capsys, str(project))
    assert status == 1
    assert "lint.ignore has unknown rule codes RCP0" in err


def test_lint_suppression_comment(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suppressed = BRACE_ERROR.replace("format(question=q)", "format(question=q)  # ragcoder: ignore[RCP003]")
    (project / "brace.py").write_text(suppressed, encoding="utf-8")
    status, out, _ = _lint(capsys, str(project / "brace.py"))
    assert status == 0
    assert out == ""


def test_options_from_settings_budget_and_codes() -> None:
    options = options_from_settings(LintSettings(select=["rcp001", "RCP005"], ignore=["RCP005"], budget_tokens=300))
    assert options.select == frozenset({"RCP001", "RCP005"})
    assert options.limits.budget_tokens == 300
    assert not options.is_enabled("RCP005")
    assert options_from_settings(LintSettings()).limits.budget_tokens is None
    with pytest.raises(InvalidInput, match="lint.budget_tokens is -1"):
        options_from_settings(LintSettings(budget_tokens=-1))


def _hooks() -> list[dict[str, object]]:
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(hooks, list)
    return hooks


def test_pre_commit_hooks_match_lintable_files() -> None:
    hooks = _hooks()
    assert [hook["id"] for hook in hooks] == ["ragcoder-lint", "ragcoder-lint-system"]
    for hook in hooks:
        assert {"id", "name", "entry", "language", "files"} <= set(hook)
        pattern = re.compile(str(hook["files"]))
        for path in ["app.py", "web/chat.ts", "ui/App.tsx", "prompts/system.md", "src/prompts/qa.txt", "t/answer.j2"]:
            assert pattern.search(path), path
        for path in ["README.md", "main.go", "notes/prompts.txt.bak", "setup.cfg"]:
            assert not pattern.search(path), path


@pytest.mark.parametrize("hook_index", [0, 1])
def test_pre_commit_hook_runs_like_pre_commit(project: Path, hook_index: int) -> None:
    hook = _hooks()[hook_index]
    ragcoder = shutil.which("ragcoder", path=str(Path(sys.executable).parent))
    assert ragcoder is not None
    args = hook.get("args", [])
    assert isinstance(args, list)
    command = [ragcoder, *str(hook["entry"]).split()[1:], *[str(arg) for arg in args]]
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    failing = subprocess.run([*command, "brace.py", "space.py"], cwd=project, capture_output=True, text=True, env=environment, check=False)
    assert failing.returncode == 1
    assert "brace.py:2:31: RCP003" in failing.stdout

    (project / "clean.py").write_text("def complete(code, llm):\n    return llm(f'Complete:\\n{code}')\n", encoding="utf-8")
    passing = subprocess.run([*command, "clean.py"], cwd=project, capture_output=True, text=True, env=environment, check=False)
    assert passing.returncode == 0
    assert passing.stdout == ""
