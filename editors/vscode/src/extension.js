'use strict';

const { execFile } = require('child_process');
const fs = require('fs');
const path = require('path');
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');
const { documentSelector } = require('./documents');
const { findDockerfix } = require('./executable');
const { serverSettings } = require('./settings');

const FIX_ALL = 'source.fixAll.dockerfix';
const EXPLAIN_COMMAND = 'dockerfix.explain'; // the server's, behind its "Show documentation" quick fixes
const RULE_DOCUMENTATION_SCHEME = 'dockerfix-rule';
const CLI_TIMEOUT_MS = 30000;

function configuration(scope) {
  return vscode.workspace.getConfiguration('dockerfix', scope);
}

function workspaceFolderPaths() {
  return (vscode.workspace.workspaceFolders || []).filter((folder) => folder.uri.scheme === 'file').map((folder) => folder.uri.fsPath);
}

/** The options the language client starts with: the server's settings travel translated both at initialization
 * and whenever it asks (`workspace/configuration`), so the server never sees the extension's own names. */
function clientOptions(outputChannel, showRuleDocumentation) {
  return {
    documentSelector,
    outputChannel,
    initializationOptions: serverSettings(configuration()),
    middleware: {
      workspace: {
        configuration: (params) => params.items.map((item) => (item.section === 'dockerfix'
          ? serverSettings(configuration(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined))
          : null)),
      },
      // the server would show a rule's whole documentation in a notification; a document reads better
      executeCommand: (command, args, next) => (command === EXPLAIN_COMMAND ? showRuleDocumentation(String(args[0])) : next(command, args)),
    },
  };
}

function serverOptions(executable) {
  return { command: executable, args: ['lsp'], transport: TransportKind.stdio };
}

function runCli(executable, args) {
  return new Promise((resolve, reject) => {
    execFile(executable, args, { timeout: CLI_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${executable} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

class DockerfixExtension {
  constructor(context) {
    this.context = context;
    this.outputChannel = vscode.window.createOutputChannel('dockerfix');
    this.client = undefined;
    this.executable = undefined;
  }

  async start() {
    const found = findDockerfix({
      configured: configuration().get('path') || '', folders: workspaceFolderPaths(), trusted: vscode.workspace.isTrusted,
    });
    if (found.executable === undefined) {
      this.outputChannel.appendLine(`dockerfix was not found; looked in: ${found.searched.join(', ')}`);
      this.reportMissing(found.searched);
      return;
    }
    this.executable = found.executable;
    this.outputChannel.appendLine(`starting ${found.executable} lsp (found in ${found.origin})`);
    this.client = new LanguageClient('dockerfix', 'dockerfix', serverOptions(found.executable),
      clientOptions(this.outputChannel, (code) => this.showRuleDocumentation(code)));
    await this.client.start();
  }

  async stop() {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      await client.stop();
    }
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  async reportMissing(searched) {
    const choice = await vscode.window.showErrorMessage(
      `dockerfix was not found (looked in ${searched.join(', ')}). Install it in the workspace's virtual environment `
      + 'or on PATH (pip install dockerfix), or set dockerfix.path.',
      'Install instructions', 'Open settings');
    if (choice === 'Install instructions') {
      // vsce stores README.md as readme.md in the package; a checkout has it under its own name
      const readme = ['readme.md', 'README.md'].map((name) => path.join(this.context.extensionUri.fsPath, name)).find(fs.existsSync);
      await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(readme));
    } else if (choice === 'Open settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'dockerfix.path');
    }
  }

  configurationChanged(event) {
    if (event.affectsConfiguration('dockerfix.path')) {
      return this.restart();
    }
    if (event.affectsConfiguration('dockerfix') && this.client !== undefined) {
      // no settings in the notification: the server asks for them, and gets them translated
      return this.client.sendNotification('workspace/didChangeConfiguration', { settings: null });
    }
    return undefined;
  }

  /** The server's fix-all for the active editor, with unsafe fixes or without whatever the settings say. */
  async fixAll(unsafe) {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined || this.client === undefined) {
      vscode.window.showWarningMessage('dockerfix: open a Dockerfile first (and have the language server running)');
      return;
    }
    const document = editor.document;
    const settings = { ...serverSettings(configuration(document.uri)), unsafeFixes: unsafe };
    await this.client.sendNotification('workspace/didChangeConfiguration', { settings: { dockerfix: settings } });
    try {
      const whole = new vscode.Range(0, 0, document.lineCount, 0);
      const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', document.uri, whole, FIX_ALL) || [];
      const fixAll = actions.find((action) => action.kind && action.kind.value === FIX_ALL && action.edit);
      if (fixAll === undefined) {
        vscode.window.showInformationMessage(`dockerfix: nothing to fix${unsafe ? '' : ' safely'} in ${vscode.workspace.asRelativePath(document.uri)}`);
        return;
      }
      if (!await vscode.workspace.applyEdit(fixAll.edit)) {
        vscode.window.showErrorMessage('dockerfix: the editor refused the fixes (did the document change meanwhile?)');
      }
    } finally {
      await this.client.sendNotification('workspace/didChangeConfiguration', { settings: null });
    }
  }

  /** The documentation of `code`, or of the rule under the cursor, or of one picked from the list. */
  async showRuleDocumentation(code) {
    if (this.executable === undefined) {
      vscode.window.showWarningMessage('dockerfix: the language server is not running (see the dockerfix output)');
      return;
    }
    const chosen = code || this.codeUnderCursor() || await this.pickRule();
    if (chosen) {
      const uri = vscode.Uri.from({ scheme: RULE_DOCUMENTATION_SCHEME, path: `${chosen}.md` });
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
    }
  }

  codeUnderCursor() {
    const editor = vscode.window.activeTextEditor;
    if (editor === undefined) {
      return undefined;
    }
    const here = editor.selection.active;
    const found = vscode.languages.getDiagnostics(editor.document.uri)
      .find((diagnostic) => diagnostic.source === 'dockerfix' && diagnostic.code && diagnostic.range.contains(here));
    return found ? String(typeof found.code === 'object' ? found.code.value : found.code) : undefined;
  }

  async pickRule() {
    const listing = await runCli(this.executable, ['--list-rules']);
    const rules = listing.split('\n').map((line) => /^(DF\d+)\s+(\S+)\s+(?:fix\s+)?(.*)$/.exec(line)).filter(Boolean)
      .map(([, code, name, summary]) => ({ label: code, description: name, detail: summary }));
    const picked = await vscode.window.showQuickPick(rules, { placeHolder: 'dockerfix: the rule to explain', matchOnDescription: true });
    return picked ? picked.label : undefined;
  }

  ruleDocumentationProvider() {
    return {
      provideTextDocumentContent: (uri) => runCli(this.executable, ['--explain', uri.path.replace(/\.md$/, '')]),
    };
  }
}

let active;

async function activate(context) {
  const extension = new DockerfixExtension(context);
  active = extension;
  context.subscriptions.push(
    extension.outputChannel,
    vscode.workspace.onDidChangeConfiguration((event) => extension.configurationChanged(event)),
    vscode.workspace.onDidGrantWorkspaceTrust(() => extension.restart()),
    vscode.workspace.registerTextDocumentContentProvider(RULE_DOCUMENTATION_SCHEME, extension.ruleDocumentationProvider()),
    vscode.commands.registerCommand('dockerfix.fixAll', () => extension.fixAll(false)),
    vscode.commands.registerCommand('dockerfix.fixAllUnsafe', () => extension.fixAll(true)),
    vscode.commands.registerCommand('dockerfix.showRuleDocumentation', (code) => extension.showRuleDocumentation(code)),
    vscode.commands.registerCommand('dockerfix.restartServer', () => extension.restart()),
    vscode.commands.registerCommand('dockerfix.showOutput', () => extension.outputChannel.show()),
  );
  await extension.start();
  return extension;
}

// VS Code waits for the returned promise: the server is asked to shut down and exit, not left running
function deactivate() {
  return active === undefined ? undefined : active.stop();
}

module.exports = { activate, deactivate };
