'use strict';

// The names dockerfix discovers (dockerfix/rewriter/discovery.py; tests/test_vscode.py keeps them equal), for
// Dockerfiles VS Code does not recognise as the `dockerfile` language (`app.Dockerfile`, `Containerfile.dev`).
const DOCKERFILE_PATTERNS = Object.freeze([
  'Dockerfile',
  'Dockerfile.*',
  'Dockerfile-*',
  'dockerfile',
  'dockerfile.*',
  'dockerfile-*',
  '*.Dockerfile',
  '*.dockerfile',
  'Containerfile',
  'Containerfile.*',
  'Containerfile-*',
  '*.Containerfile',
  'containerfile',
  'containerfile.*',
  '*.containerfile',
]);

const documentSelector = [
  { language: 'dockerfile' },
  ...DOCKERFILE_PATTERNS.map((pattern) => ({ scheme: 'file', pattern: `**/${pattern}` })),
];

module.exports = { DOCKERFILE_PATTERNS, documentSelector };
