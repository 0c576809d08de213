'use strict';

// Stand-ins for the `vscode` module (only VS Code's extension host provides it) and for the language client (which
// needs that host), recording what the extension asks of them. The end-to-end test (e2e/) runs the real ones.
const Module = require('module');
const path = require('path');

function fakeVscode({ settings = {}, folders = [], messageChoice, trusted = true, codeActions = [], editor } = {}) {
  const calls = { errors: [], warnings: [], infos: [], commands: [], opened: [], shown: [], listeners: [], trustListeners: [] };
  const Uri = {
    file: (fsPath) => ({ scheme: 'file', fsPath, path: fsPath, toString: () => `file://${fsPath}` }),
    parse: (text) => ({ scheme: text.split(':')[0], fsPath: text.replace(/^file:\/\//, ''), toString: () => text }),
    joinPath: (base, ...parts) => Uri.file(path.join(base.fsPath, ...parts)),
    from: ({ scheme, path: uriPath }) => ({ scheme, path: uriPath, toString: () => `${scheme}:${uriPath}` }),
  };
  const vscode = {
    calls,
    settings,
    Uri,
    workspace: {
      workspaceFolders: folders.map((folder) => ({ uri: Uri.file(folder) })),
      isTrusted: trusted,
      onDidGrantWorkspaceTrust: (listener) => { calls.trustListeners.push(listener); return { dispose() {} }; },
      getConfiguration: () => ({ get: (name) => settings[name] }),
      onDidChangeConfiguration: (listener) => { calls.listeners.push(listener); return { dispose() {} }; },
      registerTextDocumentContentProvider: (scheme, provider) => { vscode.contentProviders[scheme] = provider; return { dispose() {} }; },
      openTextDocument: async (uri) => { calls.opened.push(uri.toString()); return { uri }; },
      applyEdit: async (edit) => { calls.applied = (calls.applied || []).concat([edit]); return true; },
      asRelativePath: (uri) => uri.fsPath,
    },
    contentProviders: {},
    Range: class Range { constructor(...bounds) { this.bounds = bounds; } },
    window: {
      activeTextEditor: editor,
      createOutputChannel: (name) => ({ name, lines: [], appendLine(line) { this.lines.push(line); }, show() {}, dispose() {} }),
      showErrorMessage: async (message, ...items) => { calls.errors.push({ message, items }); return messageChoice; },
      showWarningMessage: async (message) => { calls.warnings.push(message); },
      showInformationMessage: async (message) => { calls.infos.push(message); },
      showTextDocument: async (document) => { calls.shown.push(document.uri.toString()); },
    },
    commands: {
      registered: {},
      registerCommand: (name, callback) => { vscode.commands.registered[name] = callback; return { dispose() {} }; },
      executeCommand: async (...args) => {
        calls.commands.push(args.map((arg) => (arg && arg.fsPath) || arg));
        return args[0] === 'vscode.executeCodeActionProvider' ? codeActions : undefined;
      },
    },
    languages: { getDiagnostics: () => [] },
  };
  return vscode;
}

class FakeLanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    Object.assign(this, { id, name, serverOptions, clientOptions, started: false, stopped: false, notifications: [] });
    FakeLanguageClient.created.push(this);
  }

  async start() { this.started = true; }

  async stop() { this.stopped = true; }

  async sendNotification(method, params) { this.notifications.push([method, params]); }
}
FakeLanguageClient.created = [];

/** The extension module, loaded afresh against a fake `vscode` built from ``options``. */
function loadExtension(options) {
  const vscode = fakeVscode(options);
  FakeLanguageClient.created = [];
  const languageClient = { LanguageClient: FakeLanguageClient, TransportKind: { stdio: 0, ipc: 1, pipe: 2, socket: 3 } };
  const originalLoad = Module._load;
  Module._load = function load(request, ...rest) {
    if (request === 'vscode') return vscode;
    if (request === 'vscode-languageclient/node') return languageClient;
    return originalLoad.call(this, request, ...rest);
  };
  const sources = path.resolve(__dirname, '..', 'src') + path.sep;
  for (const cached of Object.keys(require.cache).filter((file) => file.startsWith(sources))) {
    delete require.cache[cached];
  }
  try {
    return { extension: require(`${sources}extension.js`), vscode, clients: FakeLanguageClient.created };
  } finally {
    Module._load = originalLoad;
  }
}

function extensionContext(extensionPath) {
  return { subscriptions: [], extensionUri: { scheme: 'file', fsPath: extensionPath } };
}

module.exports = { loadExtension, extensionContext };
