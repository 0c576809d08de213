'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const which = require('which');

// where `python -m venv` puts its scripts, the folder names people give a project's environment
const VENV_FOLDERS = ['.venv', 'venv'];

function isExecutableFile(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function expandConfigured(configured, folders) {
  let expanded = configured.replace(/^~(?=$|[\\/])/, os.homedir());
  if (folders.length > 0) {
    expanded = expanded.replace(/\$\{workspaceFolder\}/g, folders[0]);
  }
  return path.isAbsolute(expanded) || folders.length === 0 ? expanded : path.resolve(folders[0], expanded);
}

function venvCandidates(folders, platform) {
  const scripts = platform === 'win32' ? ['Scripts', 'dockerfix.exe'] : ['bin', 'dockerfix'];
  return folders.flatMap((folder) => VENV_FOLDERS.map((venv) => path.join(folder, venv, ...scripts)));
}

/**
 * The dockerfix executable to start: `dockerfix.path` when set (never another one behind the user's back), else
 * the first workspace folder's virtual environment that has one, else the one on PATH.
 * `trusted: false` (an untrusted workspace) skips the virtual environments: a cloned repository could hold any
 * program there. Returns `{ executable, origin }`, or `{ executable: undefined, searched }` naming where it looked.
 */
function findDockerfix({ configured = '', folders = [], trusted = true, envPath = process.env.PATH || '', platform = process.platform } = {}) {
  if (configured.trim() !== '') {
    const executable = expandConfigured(configured.trim(), folders);
    return isExecutableFile(executable)
      ? { executable, origin: 'the setting dockerfix.path' }
      : { executable: undefined, searched: [`${executable} (the setting dockerfix.path)`] };
  }
  const venvs = trusted ? venvCandidates(folders, platform) : [];
  const inVenv = venvs.find(isExecutableFile);
  if (inVenv !== undefined) {
    return { executable: inVenv, origin: 'the workspace\'s virtual environment' };
  }
  const onPath = which.sync('dockerfix', { path: envPath, nothrow: true });
  if (onPath) {
    return { executable: onPath, origin: 'PATH' };
  }
  return { executable: undefined, searched: [...venvs, 'PATH'] };
}

module.exports = { findDockerfix };
