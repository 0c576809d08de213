"""End to end with a real editor: headless Neovim attaches `dockerfix lsp`, gets diagnostics, applies a quick fix
and fix-all, writes the file; the file must equal what `dockerfix --write` makes of the same input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

TEXT = (
    "FROM debian:bookworm\nRUN curl -fsSLo /app https://example.invalid/app\nRUN chmod 755 /app\nWORKDIR /app\n"
    "RUN touch a\nRUN touch b\n"
)

INIT = r"""
local file, python, out = ...
vim.cmd('edit ' .. file)
local buffer = vim.api.nvim_get_current_buf()
local client = vim.lsp.start_client({ name = 'dockerfix', cmd = { python, '-m', 'dockerfix', 'lsp' },
                                      root_dir = vim.fn.fnamemodify(file, ':h') })
vim.lsp.buf_attach_client(buffer, client)
local function log(line) vim.fn.writefile({ line }, out, 'a') end
if not vim.wait(15000, function() return #vim.diagnostic.get(buffer) > 0 end, 50) then log('no diagnostics') end
log('diagnostics ' .. #vim.diagnostic.get(buffer))
local function actions(only)
  local params = { textDocument = { uri = vim.uri_from_bufnr(buffer) },
                   range = { start = { line = 0, character = 0 }, ['end'] = { line = 100, character = 0 } },
                   context = { diagnostics = {}, only = only } }
  local replies = vim.lsp.buf_request_sync(buffer, 'textDocument/codeAction', params, 10000) or {}
  local found = {}
  for _, reply in pairs(replies) do for _, action in ipairs(reply.result or {}) do table.insert(found, action) end end
  return found
end
for _, action in ipairs(actions({ 'quickfix' })) do
  if action.title:find('^DF101:') then
    vim.lsp.util.apply_workspace_edit(action.edit, 'utf-16')
    log('quick fix ' .. action.title)
    break
  end
end
vim.wait(500)
for _, action in ipairs(actions({ 'source.fixAll.dockerfix' })) do
  vim.lsp.util.apply_workspace_edit(action.edit, 'utf-16')
  log('fix-all')
end
vim.cmd('write')
vim.lsp.stop_client(client)
vim.cmd('qall!')
"""


@pytest.mark.skipif(shutil.which("nvim") is None, reason="Neovim is not installed (apt-get install neovim)")
def test_neovim_quick_fix_and_fix_all_match_the_cli(tmp_path):
    edited = tmp_path / "editor" / "Dockerfile"
    expected = tmp_path / "cli" / "Dockerfile"
    for path in (edited, expected):
        path.parent.mkdir()
        path.write_text(TEXT)
    # the merges save only layers: the project asks for them by the rule's code, for the editor and the CLI alike
    (tmp_path / ".dockerfix.toml").write_text('extend-select = ["DF101", "DF120"]\n')
    report = subprocess.run(
        [sys.executable, "-m", "dockerfix", "--output-format", "json", str(expected)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    findings = len(json.loads(report.stdout)["files"][0]["findings"])
    subprocess.run(
        [sys.executable, "-m", "dockerfix", "--write", str(expected)], check=False, capture_output=True, timeout=60
    )
    script = tmp_path / "init.lua"
    script.write_text(INIT)
    log = tmp_path / "log.txt"
    environment = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run(
        ["nvim", "--headless", "--clean", "-c", f"lua loadfile('{script}')('{edited}', '{sys.executable}', '{log}')"],
        check=True,
        capture_output=True,
        timeout=120,
        env=environment,
    )
    lines = log.read_text().splitlines()
    assert lines[0] == f"diagnostics {findings}" and lines[1].startswith("quick fix DF101:") and "fix-all" in lines
    assert edited.read_text() == expected.read_text() != TEXT
