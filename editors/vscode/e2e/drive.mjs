// Drives a running code-server (a real VS Code in Debian's chromium) through what a user of the extension does, for
// tests/test_vscode.py: it starts code-server with the extension installed and a workspace holding web/ (a Node app
// from corpus/DF204, without its .dockerignore) and api/ (corpus/DF201/go-mod-download), and compares the files
// this leaves on disk with what the CLI makes. Each step's time and screenshot go into <artefacts>/steps.json.
//
// usage: node drive.mjs <code-server URL> <workspace> <artefacts folder>
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.join(process.env.DOCKERFIX_E2E_TOOLS, 'node_modules', 'playwright-core', 'package.json'));
const { chromium } = require('playwright-core');

const [url, workspace, artefacts] = process.argv.slice(2);
const STEP_TIMEOUT_MS = 60000;
const steps = [];
mkdirSync(artefacts, { recursive: true });

function record() {
  writeFileSync(path.join(artefacts, 'steps.json'), `${JSON.stringify(steps, null, 2)}\n`);
}

async function step(page, name, action) {
  const started = performance.now();
  let failure;
  try {
    await action();
  } catch (error) {
    failure = error;
  }
  const screenshot = `${String(steps.length + 1).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path: path.join(artefacts, screenshot) }).catch(() => undefined);
  steps.push({ step: name, seconds: Number(((performance.now() - started) / 1000).toFixed(2)), screenshot, ok: failure === undefined });
  record();
  if (failure !== undefined) {
    throw new Error(`step ${name} failed (screenshot ${screenshot}): ${failure.stack || failure}`);
  }
}

/** Waits until `read()` returns something other than `before`, or fails after the step timeout. */
async function changed(read, before, what) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const now = read();
    if (now !== before) {
      return now;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what} did not change within ${STEP_TIMEOUT_MS / 1000} s`);
}

const readOrNull = (file) => (existsSync(file) ? readFileSync(file, 'utf8') : null);

async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
}

async function openFile(page, relative) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(relative);
  // the list shows recently opened files until it has filtered: pick the row naming the folder too
  await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: path.basename(relative) })
    .filter({ hasText: path.dirname(relative) }).first().click();
  await page.locator('.breadcrumbs-control', { hasText: path.dirname(relative) }).first().waitFor();
}

// the light bulb's icons, whose names vary with the kind of fix and where VS Code draws it (`codicon-light-bulb`
// over the text, `codicon-gutter-lightbulb-auto-fix` in the gutter, ...)
const LIGHT_BULB = '[class*="codicon-light-bulb"], [class*="codicon-lightbulb"], [class*="codicon-gutter-lightbulb"]';

/** A problem of `code` in the Problems panel, opened so the focused editor's cursor sits on it (the editor shows its
 * light bulb only when focused), then the light bulb's menu, showing the problem's quick fix. */
async function quickFix(page, code) {
  await page.locator('.markers-panel .monaco-list-row', { hasText: code }).first().dblclick();
  const lightBulb = page.locator('.monaco-editor').locator(LIGHT_BULB).locator('visible=true').first();
  await lightBulb.waitFor();
  await lightBulb.click();
  const fix = page.locator('.action-widget .monaco-list-row', { hasText: `${code}:` }).first();
  await fix.waitFor({ state: 'visible' });
}

const browser = await chromium.launch({ executablePath: process.env.DOCKERFIX_E2E_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const web = path.join(workspace, 'web');
  const api = path.join(workspace, 'api');

  await step(page, 'workbench', async () => {
    await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench .explorer-folders-view').waitFor();
  });
  await step(page, 'problems', async () => {
    await openFile(page, 'web/Dockerfile');
    await runCommand(page, 'View: Focus Problems');
    for (const code of ['DF107', 'DF204']) {
      await page.locator('.markers-panel .monaco-list-row', { hasText: code }).first().waitFor();
    }
  });
  await step(page, 'light-bulb-DF107', () => quickFix(page, 'DF107'));
  await step(page, 'DF107-applied', async () => {
    const before = readOrNull(path.join(web, 'Dockerfile'));
    await page.locator('.action-widget .monaco-list-row', { hasText: 'DF107:' }).first().click();
    await runCommand(page, 'File: Save All Files');
    writeFileSync(path.join(artefacts, 'web.Dockerfile'), await changed(() => readOrNull(path.join(web, 'Dockerfile')), before, 'web/Dockerfile'));
  });
  await step(page, 'light-bulb-DF204', () => quickFix(page, 'DF204'));
  await step(page, 'DF204-dockerignore-created', async () => {
    await page.locator('.action-widget .monaco-list-row', { hasText: 'DF204:' }).first().click();
    await changed(() => readOrNull(path.join(web, '.dockerignore')), null, 'web/.dockerignore');
    await runCommand(page, 'File: Save All Files');
    // the quick fix creates the file, then writes its lines into it: wait for those to reach the disk
    await changed(() => readOrNull(path.join(web, '.dockerignore')), '', 'web/.dockerignore');
    writeFileSync(path.join(artefacts, 'web.dockerignore'), readFileSync(path.join(web, '.dockerignore'), 'utf8'));
  });
  await step(page, 'fix-all', async () => {
    const before = readOrNull(path.join(api, 'Dockerfile'));
    await openFile(page, 'api/Dockerfile');
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'DF201' }).first().waitFor();
    await runCommand(page, 'dockerfix: Fix all (safe fixes)');
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'DF201' }).first().waitFor({ state: 'detached' });
    await runCommand(page, 'File: Save All Files');
    writeFileSync(path.join(artefacts, 'api.Dockerfile'), await changed(() => readOrNull(path.join(api, 'Dockerfile')), before, 'api/Dockerfile'));
  });
} finally {
  await browser.close();
}
