'use strict';

// The extension's `dockerfix.*` settings and the names the language server reads them by (dockerfix/lsp/settings.py's
// ClientSettings and the rules' options, as in `.dockerfix.toml`). tests/test_vscode.py checks this table against
// the server's own list and the `contributes.configuration` of package.json.
const SERVER_NAMES = Object.freeze({
  select: 'select',
  ignore: 'ignore',
  unsafeFixes: 'unsafeFixes',
  maxDocumentSize: 'maxDocumentSize',
  target: 'target',
  targetStage: 'target-stage',
  generatedFiles: 'generated-files',
  pinDigests: 'pin-digests',
  digests: 'digests',
  minGain: 'min-gain',
});

/**
 * The server's `dockerfix` section from a `WorkspaceConfiguration` (anything with `get(name)`). A setting left at
 * its default (null) is not sent, so the project's `.dockerfix.toml` or `pyproject.toml` decides it.
 */
function serverSettings(configuration) {
  const section = {};
  for (const [name, serverName] of Object.entries(SERVER_NAMES)) {
    const value = configuration.get(name);
    if (value !== null && value !== undefined) {
      section[serverName] = value;
    }
  }
  return section;
}

module.exports = { SERVER_NAMES, serverSettings };
