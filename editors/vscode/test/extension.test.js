'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const { loadExtension, extensionContext } = require('./fakes');
const { DOCKERFILE_PATTERNS } = require('../src/documents');

const EXTENSION_PATH = path.resolve(__dirname, '..');

function temporaryFolder(t) {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'dockerfix-vscode-'));
  t.after(() => fs.rmSync(folder, { recursive: true, force: true }));
  return folder;
}

function executable(file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o755 });
  return file;
}

function searchPath(t, folders) {
  const saved = process.env.PATH;
  process.env.PATH = folders;
  t.after(() => { process.env.PATH = saved; });
}

test('a workspace virtual environment\'s dockerfix is started as `dockerfix lsp` over stdio', async (t) => {
  const workspace = temporaryFolder(t);
  const server = executable(path.join(workspace, '.venv', 'bin', 'dockerfix'));
  searchPath(t, '');
  const { extension, clients } = loadExtension({ folders: [workspace] });

  await extension.activate(extensionContext(EXTENSION_PATH));

  assert.equal(clients.length, 1);
  const [client] = clients;
  assert.equal(client.started, true);
  assert.deepEqual(client.serverOptions, { command: server, args: ['lsp'], transport: 0 });
});

test('the client serves the dockerfile language and every name dockerfix discovers', async (t) => {
  const workspace = temporaryFolder(t);
  executable(path.join(workspace, 'venv', 'bin', 'dockerfix'));
  const { extension, clients } = loadExtension({ folders: [workspace] });

  await extension.activate(extensionContext(EXTENSION_PATH));

  // the names themselves are held equal to dockerfix's discovery by tests/test_vscode.py
  assert.deepEqual(clients[0].clientOptions.documentSelector, [
    { language: 'dockerfile' },
    ...DOCKERFILE_PATTERNS.map((pattern) => ({ scheme: 'file', pattern: `**/${pattern}` })),
  ]);
  assert.equal(clients[0].clientOptions.outputChannel.name, 'dockerfix');
});

test('settings reach the server under its own names, and unset ones not at all', async (t) => {
  const workspace = temporaryFolder(t);
  executable(path.join(workspace, '.venv', 'bin', 'dockerfix'));
  const settings = {
    path: '', select: ['DF1', 'DF204'], ignore: null, unsafeFixes: false, target: 'legacy', targetStage: 'runtime',
    generatedFiles: 'report', pinDigests: null, digests: null, maxDocumentSize: 131072,
  };
  const { extension, clients } = loadExtension({ folders: [workspace], settings });

  await extension.activate(extensionContext(EXTENSION_PATH));

  const expected = {
    select: ['DF1', 'DF204'], unsafeFixes: false, target: 'legacy', 'target-stage': 'runtime',
    'generated-files': 'report', maxDocumentSize: 131072,
  };
  const { initializationOptions, middleware } = clients[0].clientOptions;
  assert.deepEqual(initializationOptions, expected);
  const answer = middleware.workspace.configuration({ items: [{ section: 'dockerfix', scopeUri: 'file:///w/Dockerfile' }, { section: 'editor' }] });
  assert.deepEqual(answer, [expected, null]);
});

test('an untrusted workspace\'s virtual environment is not run until the workspace is trusted', async (t) => {
  const workspace = temporaryFolder(t);
  const server = executable(path.join(workspace, '.venv', 'bin', 'dockerfix'));
  searchPath(t, '');
  const { extension, vscode, clients } = loadExtension({ folders: [workspace], trusted: false });

  await extension.activate(extensionContext(EXTENSION_PATH));
  assert.equal(clients.length, 0);
  assert.doesNotMatch(vscode.calls.errors[0].message, /\.venv/);

  vscode.workspace.isTrusted = true;
  await vscode.calls.trustListeners[0]();
  assert.equal(clients.length, 1);
  assert.equal(clients[0].serverOptions.command, server);
});

test('the PATH\'s dockerfix is used when the workspace has none', async (t) => {
  const workspace = temporaryFolder(t);
  const bin = path.join(temporaryFolder(t), 'bin');
  const server = executable(path.join(bin, 'dockerfix'));
  searchPath(t, bin);
  const { extension, clients } = loadExtension({ folders: [workspace] });

  await extension.activate(extensionContext(EXTENSION_PATH));

  assert.equal(clients[0].serverOptions.command, server);
});

test('a configured path that holds no dockerfix is reported, not replaced by another one', async (t) => {
  const workspace = temporaryFolder(t);
  executable(path.join(workspace, '.venv', 'bin', 'dockerfix'));
  const { extension, vscode, clients } = loadExtension({ folders: [workspace], settings: { path: 'tools/dockerfix' } });

  await extension.activate(extensionContext(EXTENSION_PATH));

  assert.equal(clients.length, 0);
  assert.match(vscode.calls.errors[0].message, new RegExp(`${path.join(workspace, 'tools', 'dockerfix')}`));
  assert.match(vscode.calls.errors[0].message, /dockerfix\.path/);
});

test('without dockerfix the error offers the install instructions, which open the README', async (t) => {
  const workspace = temporaryFolder(t);
  searchPath(t, '');
  const { extension, vscode, clients } = loadExtension({ folders: [workspace], messageChoice: 'Install instructions' });

  await extension.activate(extensionContext(EXTENSION_PATH));
  await new Promise(setImmediate);

  assert.equal(clients.length, 0);
  const [error] = vscode.calls.errors;
  assert.match(error.message, /dockerfix was not found/);
  assert.match(error.message, new RegExp(path.join(workspace, '.venv', 'bin', 'dockerfix')));
  assert.deepEqual(error.items, ['Install instructions', 'Open settings']);
  assert.deepEqual(vscode.calls.commands, [['markdown.showPreview', path.join(EXTENSION_PATH, 'README.md')]]);
  assert.ok(fs.existsSync(path.join(EXTENSION_PATH, 'README.md')));
});

test('a changed dockerfix.path restarts the server; other changed settings are pulled again by it', async (t) => {
  const workspace = temporaryFolder(t);
  executable(path.join(workspace, '.venv', 'bin', 'dockerfix'));
  const { extension, vscode, clients } = loadExtension({ folders: [workspace] });
  await extension.activate(extensionContext(EXTENSION_PATH));
  const [changed] = vscode.calls.listeners;

  await changed({ affectsConfiguration: (section) => section === 'dockerfix' || section === 'dockerfix.select' });
  assert.deepEqual(clients[0].notifications, [['workspace/didChangeConfiguration', { settings: null }]]);

  await changed({ affectsConfiguration: (section) => section === 'dockerfix' || section === 'dockerfix.path' });
  assert.equal(clients[0].stopped, true);
  assert.equal(clients.length, 2);
  assert.equal(clients[1].started, true);
});

test('the server\'s "show documentation" command opens the rule\'s documentation as a document', async (t) => {
  const workspace = temporaryFolder(t);
  executable(path.join(workspace, '.venv', 'bin', 'dockerfix'));
  const { extension, vscode, clients } = loadExtension({ folders: [workspace] });
  await extension.activate(extensionContext(EXTENSION_PATH));
  const { executeCommand } = clients[0].clientOptions.middleware;
  const passedOn = [];

  await executeCommand('dockerfix.explain', ['DF204'], () => passedOn.push('explain'));
  await executeCommand('other.command', [1], (command, args) => passedOn.push([command, args]));

  assert.deepEqual(vscode.calls.shown, ['dockerfix-rule:DF204.md']);
  assert.deepEqual(passedOn, [['other.command', [1]]]);
  assert.ok(vscode.contentProviders['dockerfix-rule']);
});

test('the commands are registered and deactivation stops the server', async (t) => {
  const workspace = temporaryFolder(t);
  executable(path.join(workspace, '.venv', 'bin', 'dockerfix'));
  const { extension, vscode, clients } = loadExtension({ folders: [workspace] });
  const context = extensionContext(EXTENSION_PATH);
  await extension.activate(context);

  const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION_PATH, 'package.json'), 'utf8'));
  assert.deepEqual(Object.keys(vscode.commands.registered).sort(), manifest.contributes.commands.map((command) => command.command).sort());
  await extension.deactivate();
  assert.equal(clients[0].stopped, true);
});

test('"Fix all" applies the server\'s fix-all with unsafe fixes as asked, then gives the server back its settings', async (t) => {
  const workspace = temporaryFolder(t);
  executable(path.join(workspace, '.venv', 'bin', 'dockerfix'));
  const document = { uri: { scheme: 'file', fsPath: path.join(workspace, 'Dockerfile'), toString: () => 'file:///w/Dockerfile' }, lineCount: 7 };
  const fixAll = { kind: { value: 'source.fixAll.dockerfix' }, edit: { changes: 'the fix-all edit' } };
  const quickFix = { kind: { value: 'quickfix' }, edit: { changes: 'a quick fix' } };
  const { extension, vscode, clients } = loadExtension({
    folders: [workspace], settings: { unsafeFixes: false, select: ['DF1'] }, editor: { document }, codeActions: [quickFix, fixAll],
  });
  await extension.activate(extensionContext(EXTENSION_PATH));

  await vscode.commands.registered['dockerfix.fixAllUnsafe']();

  assert.deepEqual(clients[0].notifications, [
    ['workspace/didChangeConfiguration', { settings: { dockerfix: { select: ['DF1'], unsafeFixes: true } } }],
    ['workspace/didChangeConfiguration', { settings: null }],
  ]);
  const [command, uri, , kind] = vscode.calls.commands.at(-1);
  assert.deepEqual([command, uri, kind], ['vscode.executeCodeActionProvider', document.uri.fsPath, 'source.fixAll.dockerfix']);
  assert.deepEqual(vscode.calls.applied, [fixAll.edit]);
});

test('rule documentation comes from the dockerfix it runs', async (t) => {
  const dockerfix = process.env.DOCKERFIX_EXECUTABLE;
  if (!dockerfix) {
    t.skip('DOCKERFIX_EXECUTABLE names no dockerfix (tests/test_vscode.py sets it)');
    return;
  }
  const { extension, vscode } = loadExtension({ settings: { path: dockerfix } });
  await extension.activate(extensionContext(EXTENSION_PATH));

  const text = await vscode.contentProviders['dockerfix-rule'].provideTextDocumentContent({ path: 'DF204.md' });

  assert.match(text, /^# DF204 /);
});
