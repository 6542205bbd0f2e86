// Browser end-to-end suite: Playwright (playwright-core) drives Debian's Chromium against the
// real `promptdesk ui` server on a real registry file. Run through tests/e2e/run.sh, which
// builds the UI and the CLI first.
//
// The workflow test walks the "safe edit" path a writer takes; the bench test measures the
// figures the issue names (keystroke to preview, start to interactive, a long history) from
// performance marks and writes them to tests/artifacts/figures/ui-web.json. Screenshots of
// every screen go to tests/artifacts/screens/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TARGET = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target');
const BIN = path.join(TARGET, 'debug', 'promptdesk');
const FAKELLM = path.join(TARGET, 'debug', 'promptdesk-fakellm');
const UI_DIR = path.join(ROOT, 'ui', 'dist');
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const SCREENS = path.join(ARTIFACTS, 'screens');
const CHROMIUM = process.env.CHROMIUM ?? execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();

mkdirSync(SCREENS, { recursive: true });
mkdirSync(path.join(ARTIFACTS, 'figures'), { recursive: true });

const work = mkdtempSync(path.join(tmpdir(), 'promptdesk-e2e-'));
const REGISTRY = path.join(work, 'registry.db');
const servers = new Set();
let browser;

function cli(...args) {
  return execFileSync(BIN, ['--registry', REGISTRY, ...args], { encoding: 'utf8', env: { ...process.env, PROMPTDESK_USER: 'e2e-writer' } });
}

/** Signing keys of every server that does not say otherwise: plain files in a throwaway folder,
 * chosen explicitly (PROMPTDESK_KEYSTORE), so the "Signing keys" dialog stays away. */
const KEYS = path.join(work, 'keys');

/** Starts `promptdesk ui` and resolves with its URL once it printed it. By default on the shared
 * registry acting as `e2e-writer`, with keys in KEYS; `user: null` leaves PROMPTDESK_USER unset
 * (the identity set in Settings acts), `env` adds variables, `unset` removes some (the key store
 * choice, the D-Bus session, ...). */
function startServer(port = 0, { registry = REGISTRY, user = 'e2e-writer', env = {}, unset = [] } = {}) {
  return new Promise((resolve, reject) => {
    const childEnv = { ...process.env, PROMPTDESK_KEYSTORE: `file:${KEYS}`, ...env };
    for (const k of unset) delete childEnv[k];
    if (user === null) delete childEnv.PROMPTDESK_USER;
    else childEnv.PROMPTDESK_USER = user;
    const proc = spawn(BIN, ['--registry', registry, 'ui', '--port', String(port), '--ui-dir', UI_DIR], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    servers.add(proc);
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`promptdesk ui printed no URL in 20 s:\n${out}\n${err}`)), 20_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /running at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const url = new URL(m[1]);
        resolve({ proc, url: m[1], port: Number(url.port), token: /token=([^&]+)/.exec(url.hash)[1] });
      }
    });
    proc.stderr.on('data', (d) => (err += d));
    proc.on('exit', (code) => {
      servers.delete(proc);
      clearTimeout(timer);
      if (!out.includes('running at')) reject(new Error(`promptdesk ui exited with ${code}:\n${err}`));
    });
  });
}

function stopServer(server, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    if (server.proc.exitCode !== null) return resolve();
    server.proc.once('exit', () => resolve());
    server.proc.kill(signal);
  });
}

/** Calls the API directly (for seeding the benchmarks). */
async function api(server, command, req = {}) {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/${command}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(req),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${command}: ${body.message}`);
  return body;
}

async function shot(page, name) {
  // Let fonts, the preview and layout settle; a screenshot is only useful of a still page.
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(SCREENS, `${name}.png`) });
}

const editor = (page, label = 'Template') => page.locator(`.cm-content[aria-label="${label}"]`);
const previewOutput = (page) => page.getByTestId('preview-output');
const draftStatus = (page) => page.getByRole('status', { name: 'Draft status' });

before(async () => {
  cli('demo');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

after(async () => {
  await browser?.close();
  for (const proc of servers) proc.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

test('safe edit: create, preview, fix an error, save versions, diff them, survive a killed server', async (t) => {
  let server = await startServer();
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  let page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Every URL the page asks for, to check that no access token ever travels in one.
  const requested = [];
  const tokens = [server.token];
  const watch = (p) => p.on('request', (r) => requested.push(r.url()));
  watch(page);

  await t.test('the browser opens on the demo registry', async () => {
    await page.goto(server.url);
    const tree = page.getByRole('tree', { name: 'Prompts' });
    for (const name of ['policies/refunds', 'support/refund-reply', 'support/triage']) {
      await tree.getByRole('button', { name }).waitFor();
    }
    // The token left the address bar; it lives in session storage only.
    assert.ok(!page.url().includes('token='), page.url());
    await shot(page, '01-browser');
  });

  await t.test('a demo prompt opens with its live preview', async () => {
    await page.getByRole('button', { name: 'support/refund-reply' }).click();
    // The draft (v4) with the first sample, rendered through the worker.
    await previewOutput(page).getByText('too old for a refund').waitFor();
    await page.getByRole('combobox', { name: 'Sample', exact: true }).selectOption('within-window');
    await previewOutput(page).getByText(/Hi \w+!/).waitFor();
    await shot(page, '02-editor-demo');
    await page.getByRole('button', { name: 'support/triage' }).click();
    await page.getByRole('list', { name: 'Rendered conversation' }).waitFor();
    await shot(page, '03-editor-chat');
  });

  const name = 'marketing/welcome-email';
  const focusedLabel = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent);

  await t.test('create a prompt', async () => {
    // The dialog opens with the cursor in its first field and gives the focus back on Escape.
    const newPrompt = page.getByRole('button', { name: 'New prompt' });
    await newPrompt.click();
    await page.waitForFunction(() => document.activeElement?.getAttribute('placeholder') === 'support/refund-reply');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'New prompt' }).waitFor({ state: 'detached' });
    assert.equal(await focusedLabel(), 'New prompt');
    await newPrompt.click();
    const dialog = page.getByRole('dialog', { name: 'New prompt' });
    await dialog.getByLabel('Name').fill('Bad Name');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByRole('alert').waitFor();
    assert.match(await dialog.getByRole('alert').textContent(), /Bad Name/);
    await dialog.getByLabel('Name').fill(name);
    await dialog.getByLabel('Description').fill('First email after sign-up');
    await shot(page, '04-new-prompt');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: new RegExp(name) }).waitFor();
    await page.getByRole('tree', { name: 'Prompts' }).getByRole('button', { name }).waitFor();
    // A new prompt is there to be written: the cursor is in its template.
    await page.waitForFunction(() => document.activeElement?.matches('.cm-content[aria-label="Template"]'));
  });

  await t.test('type a template with variables and watch the preview update', async () => {
    await editor(page).click();
    await page.keyboard.insertText('Hi {{ customer_name }},\n\nThanks for joining {{ product }}.');
    const warning = page.getByText('Used but not declared:');
    await warning.waitFor();
    await page.getByRole('button', { name: 'Declare customer_name' }).click();
    await page.getByRole('button', { name: 'Declare product' }).click();
    await warning.waitFor({ state: 'detached' });
    // Required inputs are missing until the sample values are typed.
    await page.getByTestId('preview-error').getByText(/customer_name/).waitFor();
    await page.getByLabel('Input values (JSON)').fill('{"customer_name": "Ada", "product": "Promptdesk"}');
    await previewOutput(page).getByText('Hi Ada,').waitFor();
    await previewOutput(page).getByText('Thanks for joining Promptdesk.').waitFor();
    await page.getByLabel('New sample name').fill('ada');
    await page.getByRole('button', { name: 'Save as new sample' }).click();
    await page.getByText('Saved sample “ada”.').waitFor();
    await draftStatus(page).getByText('Draft saved').waitFor();
    await shot(page, '05-editor-preview');
  });

  await t.test('a syntax error is shown at its line, the last good render stays', async () => {
    await editor(page).click();
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText('\n{% if %}');
    const error = page.getByTestId('preview-error');
    await error.waitFor();
    assert.match(await error.textContent(), /line 4/);
    // The underline sits in the fourth line of the editor.
    const underlinedLine = await page.locator('.cm-lintRange-error').first().evaluate((el) => {
      const line = el.closest('.cm-line');
      return [...line.parentElement.children].filter((c) => c.classList.contains('cm-line')).indexOf(line) + 1;
    });
    assert.equal(underlinedLine, 4);
    await previewOutput(page).getByText('Hi Ada,').waitFor(); // last good render
    await shot(page, '06-syntax-error');
  });

  await t.test('fixing it clears the error and renders', async () => {
    await page.keyboard.press('Shift+Home');
    await page.keyboard.insertText('{% if product %}Enjoy!{% endif %}');
    await previewOutput(page).getByText('Enjoy!').waitFor();
    await page.getByTestId('preview-error').waitFor({ state: 'detached' });
    await assert.equal(await page.locator('.cm-lintRange-error').count(), 0);
  });

  await t.test('an unclosed block is said in plain words and fixed with one click', async () => {
    await page.keyboard.press('End');
    await page.keyboard.insertText(' {% if product %}again');
    const error = page.getByTestId('preview-error');
    await error.getByText(/the \{% if %\} on line 4 is never closed: add \{% endif %\}/).waitFor();
    assert.doesNotMatch(await error.textContent(), /unexpected|expected end of/);
    await shot(page, '06b-unclosed-if-fix');
    await page.getByRole('button', { name: 'Add {% endif %} at the end' }).click();
    await error.waitFor({ state: 'detached' });
    assert.match(await editor(page).textContent(), /\{% if product %\}again\{% endif %\}/);
    // Back to the text the next steps expect (the line wraps, so Home would not reach its start).
    await editor(page).click();
    await page.keyboard.press('Control+End');
    const added = ' {% if product %}again{% endif %}';
    for (let i = 0; i < added.length; i++) await page.keyboard.press('Backspace');
    await page.waitForFunction(
      () => document.querySelector('.cm-content[aria-label="Template"]').textContent.endsWith('{% if product %}Enjoy!{% endif %}'),
    );
    await previewOutput(page).getByText('Enjoy!').waitFor();
  });

  const saveVersion = async (message, screenshot) => {
    await draftStatus(page).getByText('Draft saved').waitFor();
    await page.getByRole('button', { name: 'Save version…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Save a version' });
    await dialog.getByRole('table', { name: 'Template diff' }).waitFor();
    const save = dialog.getByRole('button', { name: 'Save version', exact: true });
    assert.equal(await save.isDisabled(), true, 'a changelog message is required');
    await dialog.getByLabel('Changelog message').fill(message);
    if (screenshot) await shot(page, screenshot);
    await save.click();
    await dialog.waitFor({ state: 'detached' });
  };

  await t.test('save a version after seeing the diff', async () => {
    await saveVersion('First welcome email', '07-save-version');
    await page.getByText('Latest version 1').waitFor();
  });

  await t.test('edit again and save a second version', async () => {
    await editor(page).click();
    await page.keyboard.press('Control+a');
    await page.keyboard.insertText('Hi {{ customer_name }},\n\nWelcome to {{ product }}.\n{% if product %}Enjoy!{% endif %}');
    await previewOutput(page).getByText('Welcome to Promptdesk.').waitFor();
    await saveVersion('Friendlier opening line', null);
    await page.getByText('Latest version 2').waitFor();
  });

  await t.test('history lists both versions and diffs them word by word', async () => {
    await page.getByRole('tab', { name: 'History' }).click();
    const versions = page.getByRole('list', { name: 'Versions' });
    await versions.getByText('Friendlier opening line').waitFor();
    await versions.getByText('First welcome email').waitFor();
    await page.getByRole('combobox', { name: 'Render with sample' }).selectOption('ada');
    await page.getByRole('button', { name: 'Compare selected' }).click();
    const template = page.getByRole('table', { name: 'Template diff' });
    await template.waitFor();
    const removed = await template.locator('mark.word-del').allTextContents();
    const added = await template.locator('mark.word-ins').allTextContents();
    assert.ok(removed.join(' ').includes('Thanks'), `removed words: ${removed}`);
    assert.ok(added.join(' ').includes('Welcome'), `added words: ${added}`);
    const rendered = page.getByRole('table', { name: 'Rendered output diff' });
    await rendered.waitFor();
    assert.ok((await rendered.locator('mark.word-ins').allTextContents()).join(' ').includes('Welcome'));
    await shot(page, '08-history-diff-split');
    await page.getByRole('button', { name: 'Unified' }).click();
    await shot(page, '09-history-diff-unified');
  });

  await t.test('kill the server mid-edit and restart: the draft is intact', async () => {
    await page.getByRole('tab', { name: 'Edit' }).click();
    await editor(page).click();
    await page.keyboard.press('Control+End');
    // Killed before the save is sent: the edit exists only in the page's journal.
    await page.keyboard.insertText('\nPS: see you soon');
    await stopServer(server, 'SIGKILL');
    await page.keyboard.insertText(', Ada');
    await draftStatus(page).getByText(/Not saved/).waitFor();
    await shot(page, '10-server-gone');
    // The writer restarts the server and opens the address it printed in the same tab: the
    // page adopts the new token and the pending save goes through.
    server = await startServer(server.port);
    tokens.push(server.token);
    await page.goto(server.url);
    await draftStatus(page).getByText('Draft saved').waitFor();
    assert.match(JSON.stringify(JSON.parse(cli('--json', 'show', `${name}@draft`))), /PS: see you soon, Ada/);

    // Killed again, and this time the tab is closed too: reopening restores the journal.
    await editor(page).click();
    await page.keyboard.press('Control+End');
    await stopServer(server, 'SIGKILL');
    await page.keyboard.insertText(' (and the tab closed)');
    await draftStatus(page).getByText(/Not saved/).waitFor();
    await page.close();
    server = await startServer(server.port);
    tokens.push(server.token);
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    watch(page);
    await page.goto(server.url);
    await page.getByRole('button', { name }).click();
    await page.getByText('Restored edits that had not reached the registry').waitFor();
    await draftStatus(page).getByText('Draft saved').waitFor();
    assert.match(JSON.stringify(JSON.parse(cli('--json', 'show', `${name}@draft`))), /\(and the tab closed\)/);
  });

  await t.test('settings and the dark theme', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Identity' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Ada Writer');
    await page.getByLabel('Email', { exact: true }).fill('ada@example.com');
    await page.getByRole('button', { name: 'Save identity' }).click();
    await page.getByText('Identity saved.').waitFor();
    await shot(page, '11-settings');
    await page.getByRole('button', { name: /Switch theme/ }).click(); // system → light
    await page.getByRole('button', { name: /Switch theme/ }).click(); // light → dark
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.getByRole('button', { name }).click();
    await previewOutput(page).getByText('Hi Ada,').waitFor();
    await shot(page, '12-editor-dark');
  });

  assert.deepEqual(pageErrors, [], 'no uncaught errors in the page');
  // The token is typed into the address bar in the fragment, which is never sent, and read
  // from there into a header: no request URL carries it.
  assert.ok(requested.length > 20, `only ${requested.length} requests seen`);
  for (const token of tokens) {
    assert.deepEqual(requested.filter((u) => u.includes(token)), [], 'a token in a request URL');
  }
  await context.close();
  await stopServer(server);
});

test('chat prompts: add, reorder, re-role and remove messages; rename and move prompts', async () => {
  const server = await startServer();
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url);

  await page.getByRole('button', { name: 'New prompt' }).click();
  const dialog = page.getByRole('dialog', { name: 'New prompt' });
  await dialog.getByLabel('Name').fill('support/greeter');
  await dialog.getByRole('radio', { name: 'Chat' }).check();
  await dialog.getByRole('button', { name: 'Create' }).click();

  // A new chat prompt starts with one system message.
  await editor(page, 'Message 1 (system)').click();
  await page.keyboard.insertText('You are a kind support agent.');
  await page.getByRole('button', { name: 'Add message' }).click();
  await editor(page, 'Message 2 (user)').click();
  await page.keyboard.insertText('Say hello.');
  await page.getByRole('button', { name: 'Add message' }).click();
  await page.getByRole('combobox', { name: 'Role of message 3' }).selectOption('assistant');
  await editor(page, 'Message 3 (assistant)').click();
  await page.keyboard.insertText('Hello!');

  const bubbles = page.getByRole('list', { name: 'Rendered conversation' }).getByRole('listitem');
  await page.waitForFunction(() => document.querySelectorAll('.conversation .bubble').length === 3);
  assert.deepEqual(
    (await bubbles.allTextContents()).map((t) => t.trim()),
    ['systemYou are a kind support agent.', 'userSay hello.', 'assistantHello!'],
  );
  await shot(page, '14-chat-editor');

  // Move the assistant message up, then remove it: the preview follows, in order.
  await page.getByRole('button', { name: 'Move message 3 up' }).click();
  await page.waitForFunction(
    () => [...document.querySelectorAll('.conversation .bubble__role')].map((e) => e.textContent).join() === 'system,assistant,user',
  );
  // Each editor moved with its message: its text, its undo history and the keyboard focus.
  assert.equal(await editor(page, 'Message 2 (assistant)').textContent(), 'Hello!');
  assert.equal(await editor(page, 'Message 3 (user)').textContent(), 'Say hello.');
  assert.equal(
    await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
    'Move message 2 up',
  );
  await editor(page, 'Message 2 (assistant)').click();
  await page.keyboard.press('Control+z');
  assert.equal(await editor(page, 'Message 2 (assistant)').textContent(), '');
  assert.equal(await editor(page, 'Message 3 (user)').textContent(), 'Say hello.');
  await page.keyboard.press('Control+y');
  assert.equal(await editor(page, 'Message 2 (assistant)').textContent(), 'Hello!');
  await page.getByRole('button', { name: 'Remove message 2' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.conversation .bubble').length === 2);
  await draftStatus(page).getByText('Draft saved').waitFor();
  const stored = JSON.parse(cli('--json', 'show', 'support/greeter@draft'));
  assert.match(JSON.stringify(stored), /Say hello/);
  assert.doesNotMatch(JSON.stringify(stored), /Hello!/);

  // Rename moves it to another folder; a prompt other prompts include cannot be renamed.
  await page.getByRole('button', { name: 'Rename…' }).click();
  let rename = page.getByRole('dialog', { name: 'Rename or move' });
  await rename.getByLabel('New name').fill('helpdesk/greeter');
  await rename.getByRole('button', { name: 'Rename' }).click();
  await page.getByRole('tree', { name: 'Prompts' }).getByRole('button', { name: 'helpdesk/greeter' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'support/greeter' }).count(), 0);
  await page.getByRole('button', { name: 'policies/refunds' }).click();
  await page.getByText('included by support/refund-reply').waitFor();
  await page.getByRole('button', { name: 'Rename…' }).click();
  rename = page.getByRole('dialog', { name: 'Rename or move' });
  await rename.getByLabel('New name').fill('policies/returns');
  await rename.getByRole('button', { name: 'Rename' }).click();
  assert.match(await rename.getByRole('alert').textContent(), /support\/refund-reply/);
  await shot(page, '15-rename-refused');

  assert.deepEqual(pageErrors, []);
  await context.close();
  await stopServer(server);
});

test('writer comfort: nothing moves while typing, shortcuts inside the editor, markup stays text, short histories', async () => {
  const server = await startServer();
  await api(server, 'create_prompt', { name: 'comfort/layout', kind: 'text' });
  await api(server, 'save_draft', {
    name: 'comfort/layout',
    content: {
      body: { kind: 'text', template: 'Dear {{ customer }},\nthanks for writing.' },
      variables: [{ name: 'customer', type: 'string', required: false, default: 'Ada', description: '<img src=z onerror="window.__pwned=3">' }],
      model: { provider: '', model: '', parameters: {} },
    },
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url);
  await page.getByRole('button', { name: 'comfort/layout' }).click();
  await previewOutput(page).getByText('Dear Ada,').waitFor();

  // Typing `{{ name }}` goes through a syntax error (shown in the preview) to an undeclared
  // variable (warned about under the variables); the text being typed stays exactly where it is.
  const where = () =>
    page.evaluate(() => {
      const content = document.querySelector('.cm-content[aria-label="Template"]').getBoundingClientRect();
      const caret = window.getSelection().getRangeAt(0).getBoundingClientRect();
      const output = document.querySelector('[data-testid="preview-output"]').getBoundingClientRect();
      return { top: content.top, left: content.left, caretTop: caret.top, outputTop: output.top };
    });
  await editor(page).click();
  await page.keyboard.press('Control+End');
  const start = await where();
  for (const ch of ' {{ name }}') {
    await page.keyboard.type(ch);
    await page.waitForTimeout(120);
    const now = await where();
    assert.deepEqual([now.top, now.left, now.caretTop, now.outputTop], [start.top, start.left, start.caretTop, start.outputTop], `moved after typing "${ch}"`);
    if (ch === 'a') await page.getByTestId('preview-error').waitFor();
  }
  await page.getByText('Used but not declared:').waitFor();
  await shot(page, '16-typing-undeclared');
  for (let i = 0; i < 11; i++) await page.keyboard.press('Backspace');
  // The line-number gutter has room for line 10 and beyond from the start.
  for (let i = 0; i < 10; i++) await page.keyboard.press('Enter');
  assert.equal((await where()).left, start.left, 'the text moved when line 10 appeared');
  for (let i = 0; i < 10; i++) await page.keyboard.press('Backspace');

  // Renaming a variable: the warnings it causes (used but not declared, declared but not used)
  // appear below the table, not above the row being typed in.
  const nameBox = await page.getByRole('textbox', { name: 'Name of customer' }).elementHandle();
  const rowTop = async () => (await nameBox.boundingBox()).y;
  const before = await rowTop();
  await nameBox.click();
  await page.keyboard.press('End');
  await page.keyboard.type('x', { delay: 60 });
  await page.getByText('Used but not declared:').waitFor();
  await page.getByText('Declared but not used:').waitFor();
  assert.equal(await rowTop(), before, 'the row being typed in moved');
  await page.keyboard.press('Backspace');
  await page.getByText('Used but not declared:').waitFor({ state: 'detached' });

  // The shortcuts work with the cursor in the template.
  const focusIsInEditor = () => page.evaluate(() => document.activeElement?.matches('.cm-content[aria-label="Template"]'));
  await editor(page).click();
  await page.keyboard.press('Control+Shift+P');
  await page.locator('aside[aria-label="Preview"]').waitFor({ state: 'detached' });
  assert.ok(await focusIsInEditor(), 'the preview toggle took the focus');
  await page.keyboard.press('Control+Shift+P');
  await page.locator('aside[aria-label="Preview"]').waitFor();
  await page.keyboard.press('Control+k');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Search prompts');
  await editor(page).click();
  await page.keyboard.press('Control+s');
  const save = page.getByRole('dialog', { name: 'Save a version' });
  await save.waitFor();
  await page.waitForFunction(() => document.activeElement?.getAttribute('placeholder') === 'What changed, and why?');
  await page.keyboard.press('Escape');
  await save.waitFor({ state: 'detached' });
  assert.ok(await focusIsInEditor(), 'closing the dialog did not give the focus back to the template');
  // From the History tab, Ctrl+S goes back to the editor and opens the dialog there.
  await page.getByRole('tab', { name: 'History' }).click();
  await page.getByRole('heading', { name: 'No versions yet' }).waitFor();
  await shot(page, '17-history-no-versions');
  await page.keyboard.press('Control+s');
  await save.waitFor();
  await save.getByRole('table', { name: 'Template diff' }).waitFor();
  await save.getByLabel('Changelog message').fill('First version');
  await save.getByLabel('Changelog message').press('Control+Enter');
  await save.waitFor({ state: 'detached' });
  await page.getByText('Latest version 1').waitFor();

  // One version: the history compares it with the draft.
  await editor(page).click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText(' Kind regards.');
  await draftStatus(page).getByText('Draft saved').waitFor();
  await page.getByRole('tab', { name: 'History' }).click();
  assert.equal(await page.getByRole('checkbox', { name: 'Pick the draft' }).isChecked(), true);
  assert.equal(await page.getByRole('checkbox', { name: 'Pick version 1' }).isChecked(), true);
  await page.getByRole('button', { name: 'Compare selected' }).click();
  await page.getByText('comfort/layout@draft').waitFor();
  assert.ok((await page.getByRole('table', { name: 'Template diff' }).locator('mark.word-ins').allTextContents()).join(' ').includes('regards'));
  await shot(page, '18-history-one-version');

  // Markup in a template, in an error message and in a variable's description is shown as
  // text: in the preview, in the error tooltip and in the completion list.
  await page.getByRole('tab', { name: 'Edit' }).click();
  await editor(page).click();
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText('Hi <img src=x onerror="window.__pwned=1">\n{% include "<img src=y onerror=window.__pwned=2>" %}');
  await page.getByTestId('preview-error').getByText('<img src=y', { exact: false }).waitFor();
  await page.locator('.cm-lintRange-error').first().hover();
  await page.locator('.cm-tooltip-lint').waitFor();
  await page.getByRole('button', { name: /Switch theme/ }).click(); // system → light
  await page.getByRole('button', { name: /Switch theme/ }).click(); // light → dark
  await page.locator('.cm-lintRange-error').first().hover();
  await page.locator('.cm-tooltip-lint').waitFor();
  await shot(page, '19-error-tooltip-dark');
  await editor(page).click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText('\n{{ cu');
  await page.locator('.cm-tooltip-autocomplete').waitFor();
  await page.locator('.cm-completionInfo').waitFor();
  await shot(page, '20-completion-dark');
  assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0, 'markup became elements');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await page.keyboard.press('Escape');

  assert.deepEqual(pageErrors, []);
  await context.close();
  await stopServer(server);
});

/** The `promptdesk` command line on `registry`, acting as `user`, with keys in KEYS. */
function cliAs(registry, user, ...args) {
  return execFileSync(BIN, ['--registry', registry, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PROMPTDESK_USER: user, PROMPTDESK_KEYSTORE: `file:${KEYS}` },
  });
}

/** A fresh demo registry with the demo's people in their roles: cho keeps the policies (admin),
 * ana and sam write (editors), ben reviews, rita releases. */
function demoRegistry(file) {
  const registry = path.join(work, file);
  cliAs(registry, 'cho', 'demo');
  for (const [person, role] of [['cho', 'admin'], ['ana', 'editor'], ['sam', 'editor'], ['ben', 'reviewer'], ['rita', 'releaser']]) {
    cliAs(registry, 'cho', 'role', 'set', person, role);
  }
  return registry;
}

/** Helpers for one page of the UI, acting as the people of the demo. */
function reviewHelpers(page) {
  const tree = page.getByRole('tree', { name: 'Prompts' });
  return {
    tree,
    /** The protected (production) badge of a prompt in the browser. */
    prodBadge: (name) => tree.getByRole('button', { name }).locator('.badge--protected'),
    actAs: async (who) => {
      await page.getByRole('button', { name: 'Settings' }).click();
      // Editable once the stored identity arrived (typing before it would be overwritten).
      await page.getByLabel('Name', { exact: true }).fill(who);
      await page.getByRole('button', { name: 'Save identity' }).click();
      await page.getByText('Identity saved.').waitFor();
      await page.waitForFunction((w) => document.querySelector('.topbar__registry')?.textContent?.endsWith(w), who);
    },
    openReview: async (number) => {
      await page.getByRole('button', { name: /^Reviews/ }).click();
      await page.getByRole('button', { name: 'All' }).click();
      await page.getByRole('button', { name: new RegExp(`^Review #${number}:`) }).click();
      await page.getByRole('heading', { name: new RegExp(`Review #${number}`) }).waitFor();
    },
    releaseButton: () => page.getByRole('button', { name: 'Release to production' }),
    whyNoRelease: () => page.getByRole('list', { name: 'Why the release is disabled' }),
  };
}

test('the demo\'s refund-reply story: ana asks for v4 in production, ben reviews, rita releases and rolls back', async () => {
  // The seeded demo: support/refund-reply@3 serves production; @4 "Shorter, friendlier reply"
  // drops the refund-policy include. No PROMPTDESK_USER: people switch in Settings.
  const registry = demoRegistry('story.db');
  const server = await startServer(0, { registry, user: null });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url);
  const name = 'support/refund-reply';
  const { tree, prodBadge, actAs, openReview, releaseButton, whyNoRelease } = reviewHelpers(page);
  await prodBadge(name).getByText('production v3').waitFor();

  // ana (an editor) asks for a review of version 4 for production. Keys live where the
  // environment said: no dialog, and Settings says so.
  await actAs('ana');
  const signingKey = page.getByRole('region', { name: 'Signing key' });
  await signingKey.getByText(`plain files in ${KEYS}`, { exact: true }).waitFor();
  await signingKey.getByText('the PROMPTDESK_KEYSTORE environment variable').waitFor();
  assert.equal(await page.getByRole('dialog', { name: 'Signing keys' }).count(), 0);
  await tree.getByRole('button', { name }).click();
  const header = page.locator('.editor__meta');
  await header.locator('.badge--protected').getByText('production v3').waitFor();
  await header.getByText('staging v4').waitFor();
  await page.getByRole('button', { name: 'Request review…' }).click();
  const request = page.getByRole('dialog', { name: 'Request review' });
  await request.getByRole('combobox', { name: 'Version' }).getByRole('option', { name: /v4 \(latest\) — Shorter, friendlier reply/ }).waitFor({ state: 'attached' });
  assert.equal(await request.getByLabel('Version').inputValue(), '4');
  assert.equal(await request.getByLabel('Label').inputValue(), 'production');
  await request.getByLabel('Description').fill('Shorter, friendlier reply for production: customers found v3 stiff');
  await request.getByRole('button', { name: 'Request review', exact: true }).click();
  await request.waitFor({ state: 'detached' });
  await page.getByRole('heading', { name: /Review #4/ }).waitFor();

  // The diff is against what production serves: v3 → v4, the include and the policy gone.
  await page.getByText(`${name}@3`, { exact: true }).waitFor();
  await page.getByRole('table', { name: 'Template diff' }).getByText('too old for a refund', { exact: false }).first().waitFor();
  await page.getByRole('region', { name: 'Include changes' }).getByText('policies/refunds').first().waitFor();
  // ana may neither approve her own version nor release (an editor); the page says why.
  assert.equal(await page.getByRole('button', { name: 'Approve', exact: true }).isDisabled(), true);
  assert.match(await page.locator('#decide-blocker').textContent(), /You \(ana\) wrote version 4/);
  assert.equal(await releaseButton().isDisabled(), true);
  let why = await whyNoRelease().textContent();
  assert.match(why, /ana is an editor; only a releaser or above may promote to production/);
  assert.match(why, /1 approval of version 4 from reviewers other than its author ana: 0 so far/);
  await shot(page, '23-release-disabled');
  // The server refuses too, whatever the page shows.
  await assert.rejects(api(server, 'decide_review', { number: 4, decision: 'approve', body: 'mine' }), /ana/);
  await assert.rejects(
    api(server, 'release_version', { name, reference: '4', label: 'production', changelog: 'too early', expect_from: '3' }),
    /releaser/,
  );

  // ben (a reviewer) comments on a line of the template and approves.
  await actAs('ben');
  await page.getByRole('button', { name: /^Reviews/ }).click();
  await page.getByRole('button', { name: /^Review #4:/ }).waitFor();
  await shot(page, '21-review-queue');
  await page.getByRole('button', { name: /^Review #4:/ }).click();
  await page.getByRole('table', { name: 'Template diff' }).waitFor();
  await page.getByRole('textbox', { name: 'Comment', exact: true }).fill('This line no longer states the refund policy.');
  await page.getByRole('checkbox', { name: 'On a line' }).check();
  await page.getByRole('spinbutton', { name: 'Line number' }).fill('1');
  await page.getByRole('button', { name: 'Post comment' }).click();
  const thread = page.getByRole('list', { name: 'Review thread' });
  await thread.getByText('on template line 1').waitFor();
  await thread.getByText('This line no longer states the refund policy.').waitFor();
  await page.getByRole('textbox', { name: 'Note' }).fill('Friendlier, and support says the policy is on the page. Approved.');
  await page.getByRole('button', { name: 'Approve', exact: true }).click();
  await thread.getByText('approved version 4').waitFor();
  await page.getByRole('list', { name: 'Policy checklist' }).getByText(/1 so far \(ben\)/).waitFor();
  // Approving again would change nothing: the button says so.
  const approve = page.getByRole('button', { name: 'Approve', exact: true });
  assert.equal(await approve.isDisabled(), true);
  assert.match(await page.locator('#decide-blocker').textContent(), /You \(ben\) approved version 4 already/);
  assert.match(await whyNoRelease().textContent(), /ben is a reviewer; only a releaser or above may promote to production/);
  await shot(page, '22-review-page');

  // Back to ana: approved, yet she may not release; the one reason left is her role.
  await actAs('ana');
  await openReview(4);
  await page.getByRole('list', { name: 'Policy checklist' }).getByText(/1 so far \(ben\)/).waitFor();
  assert.equal(await releaseButton().isDisabled(), true);
  assert.deepEqual(
    (await whyNoRelease().getByRole('listitem').allTextContents()).map((t) => t.trim()),
    ['ana is an editor; only a releaser or above may promote to production'],
  );

  // rita (a releaser) releases it; the production badge moves to v4 in the browser and editor.
  await actAs('rita');
  await openReview(4);
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Release to production');
    return b && !b.disabled;
  });
  await releaseButton().click();
  const release = page.getByRole('dialog', { name: 'Release to production' });
  await release.getByLabel('Changelog').fill('Shorter, friendlier refund reply');
  await release.getByRole('button', { name: 'Release', exact: true }).click();
  await release.waitFor({ state: 'detached' });
  await page.locator('.review__head .review-status').getByText('released').waitFor();
  await prodBadge(name).getByText('production v4').waitFor();
  await tree.getByRole('button', { name }).click();
  await header.locator('.badge--protected').getByText('production v4').waitFor();

  // Customers complain: rita rolls production back with a reason, the checklist in view.
  await page.getByRole('tab', { name: 'Releases' }).click();
  await page.getByRole('list', { name: 'Labels' }).getByText('production v4').waitFor();
  await page.getByRole('button', { name: 'Roll back production…' }).click();
  const rollback = page.getByRole('dialog', { name: 'Roll back production' });
  await rollback.getByText(/goes from v4 back to v3/).waitFor();
  const checklist = rollback.getByRole('list', { name: 'Rollback checklist' });
  await checklist.getByText('rita (releaser) may roll back production').waitFor();
  await checklist.getByText('a reason is required to roll back production').waitFor();
  const go = rollback.getByRole('button', { name: 'Roll back', exact: true });
  assert.equal(await go.isDisabled(), true, 'a reason is required');
  assert.match(await rollback.getByRole('list', { name: 'Why the rollback is disabled' }).textContent(), /A reason is required/);
  const reason = 'Customers no longer see the refund policy: v4 dropped the include';
  await rollback.getByLabel('Reason').fill(reason);
  await checklist.getByText('a reason is given').waitFor();
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('dialog[open] button')].find((x) => x.textContent === 'Roll back');
    return b && !b.disabled;
  });
  await shot(page, '25-rollback-dialog');
  await go.click();
  await rollback.waitFor({ state: 'detached' });
  await prodBadge(name).getByText('production v3').waitFor();
  await page.getByRole('list', { name: 'Labels' }).getByText('production v3').waitFor();
  const timeline = page.getByRole('list', { name: 'Release timeline' });
  await timeline.getByText(reason).waitFor();
  const entries = timeline.getByRole('listitem');
  assert.equal(await entries.count(), 3);
  const newest = await entries.first().textContent();
  assert.match(newest, /rollback/);
  assert.match(newest, /v4 → v3/);
  assert.match(newest, /rita \(releaser\)/);
  assert.match(await entries.nth(1).textContent(), /v3 → v4.*approved by ben/s);
  await shot(page, '24-releases-after-rollback');

  // The command line tells the same story, and every signature checks out.
  const releases = JSON.parse(cliAs(registry, 'cho', '--json', 'releases', name));
  assert.match(JSON.stringify(releases), new RegExp(reason));
  cliAs(registry, 'cho', 'verify');

  assert.deepEqual(pageErrors, []);
  await context.close();
  await stopServer(server);
});

test('signing keys: without a keyring the app says so and asks; choosing files makes approving work', async () => {
  // A server with no key store chosen (no PROMPTDESK_KEYSTORE) and no D-Bus session, so no
  // Secret Service; its data directory (where key files go when chosen) is a throwaway one.
  const registry = path.join(work, 'nokeys.db');
  cliAs(registry, 'cho', 'demo');
  cliAs(registry, 'ana', 'review', 'request', 'support/refund-reply@4', '--label', 'production', '-m', 'Shorter reply');
  const data = mkdtempSync(path.join(work, 'data-'));
  const runtime = mkdtempSync(path.join(work, 'run-'));
  const server = await startServer(0, {
    registry,
    user: 'ben',
    env: { XDG_DATA_HOME: data, XDG_RUNTIME_DIR: runtime },
    unset: ['PROMPTDESK_KEYSTORE', 'DBUS_SESSION_BUS_ADDRESS', 'DISPLAY', 'WAYLAND_DISPLAY'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url);

  // The start-up canary fails: the dialog says so, why, and asks.
  let dialog = page.getByRole('dialog', { name: 'Signing keys' });
  await dialog.waitFor();
  await dialog.getByText('The OS keyring is not available here.').waitFor();
  assert.match(await dialog.getByRole('alert').textContent(), /Why: the OS keyring is not available \(/);
  assert.deepEqual(
    (await dialog.getByRole('list', { name: 'Choices' }).getByRole('button').allTextContents()).map((t) => t.trim()),
    ['Try again', 'Keep keys in files', 'Not now'],
  );
  const keysDir = path.join(data, 'promptdesk', 'keys');
  await dialog.getByText(`plain files in ${keysDir}, readable only by your OS account`).waitFor();
  await shot(page, '26-signing-keys-dialog');
  // Nothing was chosen for the person.
  assert.equal(existsSync(keysDir) ? readdirSync(keysDir).length : 0, 0);

  // "Not now": reading works, approving is disabled and says why.
  await dialog.getByRole('button', { name: 'Not now' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('button', { name: /^Reviews/ }).click();
  await page.getByRole('button', { name: /^Review #4:/ }).click();
  await page.getByRole('table', { name: 'Template diff' }).waitFor();
  const approve = page.getByRole('button', { name: 'Approve', exact: true });
  assert.equal(await approve.isDisabled(), true);
  assert.match(await page.locator('#decide-blocker').textContent(), /Signing does not work here \(keys are kept in the OS keyring\)/);

  // Choosing files, from the review page: the outcome shows the key and where it lives.
  await page.getByRole('button', { name: 'Choose where keys live…' }).click();
  dialog = page.getByRole('dialog', { name: 'Signing keys' });
  await dialog.getByRole('button', { name: 'Keep keys in files' }).click();
  const outcome = dialog.getByRole('status');
  await outcome.getByText('Signing works.').waitFor();
  assert.match(await outcome.textContent(), new RegExp(`Your key \\S+ is kept in plain files in ${keysDir}\\.`));
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'detached' });

  // Approving works now, signed with a key in a file only ben's OS account can read.
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Approve');
    return b && !b.disabled;
  });
  await page.getByRole('textbox', { name: 'Note' }).fill('Fine by me');
  await approve.click();
  await page.getByRole('list', { name: 'Review thread' }).getByText('approved version 4').waitFor();
  const keyFile = path.join(keysDir, `${Buffer.from('ben').toString('hex')}.key`);
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('region', { name: 'Signing key' }).getByText('a choice made in this window').waitFor();

  assert.deepEqual(pageErrors, []);
  await context.close();
  await stopServer(server);
});

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** `promptdesk serve` on a fresh SQLite file; resolves once it listens. */
function startTeamServer(db) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, ['serve', '--database', `sqlite://${db}`, '--addr', '127.0.0.1:0'], {
      env: { ...process.env, PROMPTDESK_SERVER_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    servers.add(proc);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`promptdesk serve printed no URL:\n${out}`)), 20_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1] });
      }
    });
    proc.on('exit', () => servers.delete(proc));
  });
}

test('one team server, two apps: ana edits and asks, ben approves in his app, ana releases, the Langfuse SDK sees it', async () => {
  const db = path.join(work, 'team-server.db');
  const team = await startTeamServer(db);
  const admin = (...args) => JSON.parse(execFileSync(BIN, ['--json', 'server', '--database', `sqlite://${db}`, ...args], { encoding: 'utf8' }));
  const anaToken = admin('token', 'create', '--user', 'ana', '--role', 'releaser').secret;
  const benToken = admin('token', 'create', '--user', 'ben', '--role', 'reviewer').secret;
  const sdkKeys = admin('token', 'create', '--user', 'app', '--role', 'viewer', '--langfuse');

  // ana's registry starts with one prompt, pushed from the command line.
  const anaReg = path.join(work, 'team-ana.db');
  const benReg = path.join(work, 'team-ben.db');
  const name = 'support/greeting';
  const file = path.join(work, 'greeting.prompt');
  writeFileSync(file, 'Hello {{ name }}.\n');
  cliAs(anaReg, 'ana', 'init');
  cliAs(anaReg, 'ana', 'new', name, '--file', file);
  cliAs(anaReg, 'ana', 'commit', name, '-m', 'First greeting');
  execFileSync(BIN, ['--registry', anaReg, 'remote', 'set', team.url, '--token-stdin'], {
    input: `${anaToken}\n`,
    env: { ...process.env, PROMPTDESK_USER: 'ana', PROMPTDESK_KEYSTORE: `file:${KEYS}` },
  });
  cliAs(anaReg, 'ana', 'sync');

  const anaApp = await startServer(0, { registry: anaReg, user: 'ana' });
  cliAs(benReg, 'ben', 'init');
  const benApp = await startServer(0, { registry: benReg, user: 'ben' });
  const open = async (app) => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(app.url);
    return { context, page, errors };
  };
  const ana = await open(anaApp);
  const ben = await open(benApp);
  const pill = (page) => page.getByRole('button', { name: /^Team sync:/ });
  const synced = async (page) => {
    try {
      await page.getByRole('button', { name: 'Team sync: Synced' }).waitFor({ timeout: 20_000 });
    } catch (e) {
      await shot(page, 'debug-synced');
      throw new Error(`${e.message}\npill: ${await pill(page).getAttribute('aria-label')} (${await pill(page).getAttribute('title')})`);
    }
  };
  const syncNow = async (page) => {
    const button = page.getByRole('button', { name: 'Sync now' });
    // The pill opens Settings → Team server.
    if (!(await button.isVisible())) await pill(page).click();
    await button.click();
    await synced(page);
  };

  // ben connects his app in Settings → Team server; the token is checked, then kept out of view.
  await pill(ben.page).getByText('Not synced').waitFor();
  await ben.page.getByRole('button', { name: 'Settings' }).click();
  const teamSection = ben.page.getByRole('region', { name: 'Team server' });
  await teamSection.getByLabel('Server address').fill(team.url);
  await teamSection.getByLabel('Token').fill(benToken);
  await teamSection.getByRole('button', { name: 'Save server' }).click();
  await teamSection.getByText(/ben \(reviewer\)/).first().waitFor();
  assert.equal(await teamSection.getByLabel('Token').inputValue(), '', 'the token is not shown back');
  await syncNow(ben.page);
  const benTree = ben.page.getByRole('tree', { name: 'Prompts' });
  await benTree.getByRole('button', { name }).waitFor();

  // ana writes a warmer greeting in her app and asks for it in production; her app syncs on its own.
  const { tree: anaTree } = reviewHelpers(ana.page);
  await synced(ana.page);
  await anaTree.getByRole('button', { name }).click();
  await editor(ana.page).click();
  await ana.page.keyboard.press('Control+a');
  await ana.page.keyboard.insertText('Hello {{ name }}, welcome aboard.');
  await draftStatus(ana.page).getByText('Draft saved').waitFor();
  await ana.page.getByRole('button', { name: 'Save version…' }).click();
  const save = ana.page.getByRole('dialog', { name: 'Save a version' });
  await save.getByLabel('Changelog message').fill('Warmer greeting');
  await save.getByRole('button', { name: 'Save version', exact: true }).click();
  await save.waitFor({ state: 'detached' });
  await ana.page.getByRole('button', { name: 'Request review…' }).click();
  const request = ana.page.getByRole('dialog', { name: 'Request review' });
  // The dialog lists the versions once they are read; the latest is then picked.
  await request.getByRole('combobox', { name: 'Version' }).getByRole('option', { name: /v2 \(latest\)/ }).waitFor({ state: 'attached' });
  assert.equal(await request.getByLabel('Version').inputValue(), '2');
  await request.getByLabel('Description').fill('Warmer greeting for production');
  await request.getByRole('button', { name: 'Request review', exact: true }).click();
  await request.waitFor({ state: 'detached' });
  await ana.page.getByRole('heading', { name: /Review #1/ }).waitFor();
  await synced(ana.page); // pushed in the background, without a click

  // ben pulls it in his app, reads the diff and approves; his approval is signed with his key.
  await syncNow(ben.page);
  const benHelpers = reviewHelpers(ben.page);
  await benHelpers.openReview(1);
  await ben.page.getByRole('table', { name: 'Template diff' }).getByText('welcome aboard', { exact: false }).first().waitFor();
  await ben.page.getByRole('textbox', { name: 'Note' }).fill('Warmer, same meaning. Approved.');
  await ben.page.getByRole('button', { name: 'Approve', exact: true }).click();
  await ben.page.getByRole('list', { name: 'Review thread' }).getByText('approved version 2').waitFor();
  await synced(ben.page);

  // ana pulls the approval and releases to production from her app.
  await syncNow(ana.page);
  const anaHelpers = reviewHelpers(ana.page);
  await anaHelpers.openReview(1);
  await ana.page.getByRole('list', { name: 'Policy checklist' }).getByText(/1 so far \(ben\)/).waitFor();
  await ana.page.waitForFunction(() => {
    const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Release to production');
    return b && !b.disabled;
  });
  await anaHelpers.releaseButton().click();
  const release = ana.page.getByRole('dialog', { name: 'Release to production' });
  await release.getByLabel('Changelog').fill('Warmer greeting');
  await release.getByRole('button', { name: 'Release', exact: true }).click();
  await release.waitFor({ state: 'detached' });
  await synced(ana.page);
  await shot(ana.page, '30-team-released');

  // ben's app shows the release after its next sync.
  await syncNow(ben.page);
  await benHelpers.prodBadge(name).getByText('production v2').waitFor();

  // An application using the Langfuse SDK fetches production and gets the released text.
  const python = process.env.PROMPTDESK_LANGFUSE_PYTHON ?? path.join(ROOT, 'tests', '.venv', 'bin', 'python');
  assert.ok(existsSync(python), `no Python with the Langfuse SDK at ${python}: run tests/langfuse/run.sh first`);
  const seen = JSON.parse(
    execFileSync(python, [path.join(ROOT, 'tests', 'langfuse', 'sdk_check.py'), team.url, sdkKeys.public_key, sdkKeys.secret, 'production', name], {
      encoding: 'utf8',
      env: { ...process.env, OTEL_SDK_DISABLED: 'true' },
    }),
  );
  assert.equal(seen.production.version, 2);
  assert.equal(seen.production.prompt, 'Hello {{ name }}, welcome aboard.');
  assert.ok(seen.production.labels.includes('production'));

  assert.deepEqual(ana.errors, []);
  assert.deepEqual(ben.errors, []);
  await ana.context.close();
  await ben.context.close();
  await stopServer(anaApp);
  await stopServer(benApp);
  team.proc.kill('SIGTERM');
});

/** Starts `promptdesk-fakellm` (OpenAI- and Anthropic-compatible; its default model echoes the
 * prompt back) and resolves with its address once it printed it. */
function startFakeLlm(args = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(FAKELLM, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    servers.add(proc);
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`promptdesk-fakellm printed no address in 10 s:\n${out}\n${err}`)), 10_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1] });
      }
    });
    proc.stderr.on('data', (d) => (err += d));
    proc.on('exit', (code) => {
      servers.delete(proc);
      clearTimeout(timer);
      if (!out.includes('listening on')) reject(new Error(`promptdesk-fakellm exited with ${code}:\n${err}`));
    });
  });
}

/** Provider keys from the environment would win over the one typed in Settings. */
const PROVIDER_KEY_VARS = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'PROMPTDESK_OPENAI_API_KEY', 'PROMPTDESK_ANTHROPIC_API_KEY'];

/** Settings → Model providers: points `openai` at `baseUrl` with `key`, and checks the key is
 * never shown back. */
async function pointOpenAiAt(page, baseUrl, key) {
  const providers = page.getByRole('region', { name: 'Model providers' });
  // The Settings button toggles: it may be open already.
  if (!(await providers.isVisible())) await page.getByRole('button', { name: 'Settings' }).click();
  const table = providers.getByRole('table', { name: 'Model providers' });
  await table.getByRole('row', { name: /openai/ }).first().waitFor();
  await providers.getByRole('button', { name: 'Edit openai' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit provider openai' });
  await dialog.getByLabel('Base URL').fill(baseUrl);
  await dialog.getByLabel('API key').fill(key);
  await dialog.getByRole('button', { name: 'Save provider' }).click();
  await dialog.waitFor({ state: 'detached' });
  await providers.getByRole('status').getByText('Saved openai; its API key is kept in your key store.').waitFor();
  const row = table.getByRole('row').filter({ has: page.getByRole('cell', { name: 'openai', exact: true }) });
  await row.getByText(baseUrl).waitFor();
  await row.getByText('kept in your key store').waitFor();
  // Write-only: opening the provider again shows an empty key field that says a key is kept.
  await providers.getByRole('button', { name: 'Edit openai' }).click();
  const again = page.getByRole('dialog', { name: 'Edit provider openai' });
  assert.equal(await again.getByLabel('API key').inputValue(), '');
  assert.match(await again.getByLabel('API key').getAttribute('placeholder'), /A key is kept/);
  assert.equal(await again.getByLabel('Base URL').inputValue(), baseUrl);
  await again.getByRole('button', { name: 'Cancel' }).click();
  await again.waitFor({ state: 'detached' });
  assert.ok(!(await page.content()).includes(key), 'the API key is on the page');
}

test('compare outputs: a writer runs two versions of the refund reply against its suite, rates them, and the reviewer sees ratings and the gate\'s verdict', async () => {
  // The demo: support/refund-reply@3 serves production and passes the `regression` suite with
  // the echoing fake model; @4 "Shorter, friendlier reply" drops the refund policy and fails
  // two of its three cases. cho (an admin) makes production require that suite at 100%, with
  // no regressions (set with the command line here; the incident test sets a policy in the app's
  // policy editor).
  const registry = demoRegistry('evals.db');
  cliAs(registry, 'cho', 'policy', 'set', 'production', '--suite', 'regression', '--min-pass-rate', '1', '--no-regressions');
  const key = 'sk-e2e-only-this-key-works';
  // A fixed delay per answer, so progress can be watched; only requests with the key typed in
  // Settings are answered.
  const llm = await startFakeLlm(['--latency-ms', '1200', '--api-key', key]);
  const server = await startServer(0, { registry, user: null, unset: PROVIDER_KEY_VARS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url);
  const name = 'support/refund-reply';
  const { tree, prodBadge, actAs, openReview } = reviewHelpers(page);
  await prodBadge(name).getByText('production v3').waitFor();

  // ana (a writer) points the openai provider at the fake, with a key she types once.
  await actAs('ana');
  await pointOpenAiAt(page, `${llm.url}/v1`, key);
  await shot(page, '40-settings-providers');
  const listed = await api(server, 'list_providers');
  assert.ok(!JSON.stringify(listed).includes(key), 'the API answers with the key');
  assert.equal(listed.find((p) => p.settings.name === 'openai').key_kept, true);

  // Compare opens on what production serves (v3) and the latest version (v4), on `regression`.
  await tree.getByRole('button', { name }).click();
  await page.getByRole('tab', { name: 'Compare' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Compare' });
  const v3 = panel.getByRole('checkbox', { name: /^v3\b/ });
  const v4 = panel.getByRole('checkbox', { name: /^v4\b/ });
  await v4.waitFor();
  assert.equal(await v3.isChecked(), true);
  assert.equal(await v4.isChecked(), true);
  assert.equal(await panel.getByRole('checkbox', { name: /^v2\b/ }).isChecked(), false);
  assert.equal(await panel.getByRole('combobox', { name: 'Suite' }).inputValue(), 'regression');
  const matrix = panel.getByRole('table', { name: 'Outputs by case and version' });
  await matrix.getByText('No run of regression yet.').first().waitFor();
  assert.equal(await matrix.getByText('No run of regression yet.').count(), 2);
  const headers = await matrix.getByRole('columnheader').allTextContents();
  assert.match(headers[1], /^v3.*production/);
  assert.match(headers[2], /^v4/);
  await shot(page, '41-compare-not-run');

  // Run both; progress shows while the fake answers, and the matrix fills in by itself.
  await panel.getByRole('button', { name: 'Run missing (2)' }).click();
  const bar3 = matrix.getByRole('progressbar', { name: 'Run of v3 on regression' });
  const bar4 = matrix.getByRole('progressbar', { name: 'Run of v4 on regression' });
  await bar3.waitFor();
  await bar4.waitFor();
  assert.equal(await bar4.getAttribute('aria-valuemax'), '3');
  await shot(page, '42-compare-running');
  await matrix.getByRole('columnheader', { name: /^v3/ }).getByText('3 of 3 passed (100%)').waitFor({ timeout: 30_000 });
  await matrix.getByRole('columnheader', { name: /^v4/ }).getByText('1 of 3 passed (33%)').waitFor({ timeout: 30_000 });
  await bar4.waitFor({ state: 'detached' });
  const rows = matrix.getByRole('rowgroup').nth(1).getByRole('row');
  assert.equal(await rows.count(), 3);
  // v4's outputs are marked word by word against v3's; its failing checks say why.
  const first = rows.filter({ hasText: '#1 within the window' });
  const out4 = first.getByRole('cell').nth(1);
  assert.ok((await out4.locator('mark.word-ins').count()) > 0, 'no changed words marked in v4\'s output');
  assert.equal(await out4.locator('.out__line--delete').count(), 0);
  // On request, what v3 says and v4 no longer does shows struck through in v4's cell.
  await panel.getByRole('checkbox', { name: /Show text the first column has/ }).check();
  await out4.locator('.out__line--delete').first().waitFor();
  assert.match(await out4.locator('.out__line--delete').allTextContents().then((t) => t.join('\n')), /within 30 days/);
  await panel.getByRole('checkbox', { name: /Show text the first column has/ }).uncheck();
  await out4.getByRole('list', { name: 'Failing checks of v4 for #1' }).getByText(/within 30 days/).waitFor();
  assert.equal(await first.getByRole('cell').nth(0).getByText('pass', { exact: true }).count(), 1);
  assert.equal(await out4.getByText('fail', { exact: true }).count(), 1);
  await shot(page, '43-compare-done');

  // The filters: every case's output differs; two fail.
  const shown = panel.getByRole('status', { name: 'Cases shown' });
  await panel.getByRole('checkbox', { name: 'Only where outputs differ' }).check();
  await shown.getByText('3 of 3 cases shown').waitFor();
  await panel.getByRole('checkbox', { name: 'Only failures' }).check();
  await shown.getByText('2 of 3 cases shown').waitFor();
  assert.equal(await rows.count(), 2);
  assert.equal(await rows.filter({ hasText: '#3 greets the customer by name' }).count(), 0);
  await shot(page, '44-compare-filtered');
  await panel.getByRole('checkbox', { name: 'Only failures' }).uncheck();
  await shown.getByText('3 of 3 cases shown').waitFor();

  // ana rates v4's first case bad (a comment is required) and v3's good.
  const comment = 'Drops the 30-day refund policy the customer needs to know';
  await panel.getByRole('button', { name: 'Rate v4 bad on #1' }).click();
  const rate = page.getByRole('dialog', { name: 'Rate v4’s output' });
  const saveRating = rate.getByRole('button', { name: 'Save rating' });
  assert.equal(await saveRating.isDisabled(), true, 'a bad rating needs a comment');
  await rate.getByText('a bad rating needs a comment').waitFor();
  await rate.getByLabel('Comment').fill(comment);
  await shot(page, '45-rate-bad');
  await saveRating.click();
  await rate.waitFor({ state: 'detached' });
  await out4.getByRole('list', { name: 'Ratings of v4 for #1' }).getByText(`ana: bad — ${comment}`).waitFor();
  await panel.getByRole('button', { name: 'Rate v3 good on #1' }).click();
  const rateGood = page.getByRole('dialog', { name: 'Rate v3’s output' });
  await rateGood.getByLabel('Comment').fill('States the policy and the next step');
  await rateGood.getByRole('button', { name: 'Save rating' }).click();
  await rateGood.waitFor({ state: 'detached' });
  await first.getByRole('cell').nth(0).getByRole('list', { name: 'Ratings of v3 for #1' }).getByText('ana: good — States the policy and the next step').waitFor();

  // ana asks for v4 in production.
  await page.getByRole('button', { name: 'Request review…' }).click();
  const request = page.getByRole('dialog', { name: 'Request review' });
  await request.getByRole('combobox', { name: 'Version' }).getByRole('option', { name: /v4 \(latest\)/ }).waitFor({ state: 'attached' });
  await request.getByLabel('Description').fill('Shorter, friendlier reply');
  await request.getByRole('button', { name: 'Request review', exact: true }).click();
  await request.waitFor({ state: 'detached' });
  const heading = page.getByRole('heading', { name: /^Review #\d+/ });
  await heading.waitFor();
  const number = Number(/#(\d+)/.exec(await heading.textContent())[1]);

  // ben (the reviewer) opens it: the ratings, the runs and the gate's verdict are on the page.
  await actAs('ben');
  await openReview(number);
  const evals = page.getByRole('region', { name: 'Evals' });
  const verdict = evals.getByRole('group', { name: 'The gate\'s verdict' });
  await verdict.getByText('Refused:').waitFor();
  assert.match(await verdict.textContent(), /test suite regression passed 1\/3 \(33%\) on version 4 \(needs 100%\)/);
  const failing = await verdict.getByRole('list', { name: 'Failing cases' }).getByRole('listitem').allTextContents();
  assert.deepEqual(failing, ['#1 within the window: states the policy and starts the refund', '#2 outside the window: says why and offers store credit']);
  const regressions = await verdict.getByRole('list', { name: 'Regressions' }).getByRole('listitem').allTextContents();
  assert.equal(regressions.length, 2);
  await evals.getByRole('table', { name: 'Latest runs' }).getByText('1 of 3 passed (33%)').waitFor();
  const ratings = evals.getByRole('list', { name: 'Ratings of v4' });
  await ratings.getByText(comment, { exact: false }).waitFor();
  assert.match(await ratings.textContent(), /ana rated #1 within the window.* bad: Drops the 30-day refund policy/);
  await evals.getByText('0 good, 1 bad').waitFor();
  await evals.getByRole('list', { name: 'Ratings of v3' }).getByText(/ana rated #1 within the window.* good/).waitFor();
  // The policy checklist says the same, and the release stays disabled.
  await page.getByRole('list', { name: 'Policy checklist' }).getByText(/test suite regression passed 1\/3/).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Release to production' }).isDisabled(), true);
  await evals.scrollIntoViewIfNeeded();
  await shot(page, '46-review-evals');

  // From the review, the comparison of v4 with what production serves opens in one click.
  await evals.getByRole('button', { name: 'Compare with production (v3)' }).click();
  const compare = page.getByRole('tabpanel', { name: 'Compare' });
  await compare.getByRole('table', { name: 'Outputs by case and version' }).getByText('1 of 3 passed (33%)').waitFor();
  assert.equal(await compare.getByRole('checkbox', { name: /^v3\b/ }).isChecked(), true);
  assert.equal(await compare.getByRole('checkbox', { name: /^v4\b/ }).isChecked(), true);

  // The same verdict from the server's side, and the ledger holds.
  await assert.rejects(
    api(server, 'release_version', { name, reference: '4', label: 'production', changelog: 'try', expect_from: '3' }),
    /regression/,
  );
  cliAs(registry, 'cho', 'verify');
  assert.deepEqual(pageErrors, []);
  await context.close();
  await stopServer(server);
  llm.proc.kill('SIGTERM');
});

test('test suites: a writer adds a case with checked assertions, imports cases (an error names its line), runs the suite, cancels a run', async () => {
  const registry = demoRegistry('suites.db');
  const llm = await startFakeLlm(['--latency-ms', '500']);
  const server = await startServer(0, { registry, user: 'ana', unset: PROVIDER_KEY_VARS });
  await api(server, 'set_provider', { provider: { name: 'openai', kind: 'openai', base_url: `${llm.url}/v1`, prices: {}, timeout_s: null } });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url);
  const name = 'support/refund-reply';
  await page.getByRole('tree', { name: 'Prompts' }).getByRole('button', { name }).click();
  await page.getByRole('tab', { name: 'Tests' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Tests' });
  assert.equal(await panel.getByRole('combobox', { name: 'Suite', exact: true }).inputValue(), 'regression');
  const cases = panel.getByRole('table', { name: 'Cases of regression' });
  const caseRows = cases.getByRole('rowgroup').nth(1).getByRole('row');
  await caseRows.first().waitFor();
  assert.equal(await caseRows.count(), 3);
  await cases.getByText('icontains: within 30 days').first().waitFor();

  // A new case: the prompt's variables are there to fill in; a wrong type and a misspelt
  // assertion are caught as they are typed, and the button says why it is disabled.
  await panel.getByRole('button', { name: 'Add case…' }).click();
  const dialog = page.getByRole('dialog', { name: 'New case in regression' });
  await dialog.getByLabel('Description').fill('a short order asks politely');
  await dialog.getByLabel('Value of customer_name').fill('Bo');
  await dialog.getByLabel('Value of order_id').fill('D-4400');
  await dialog.getByLabel('Value of product').fill('a mug');
  await dialog.getByLabel('Value of days_since_purchase').fill('five');
  const add = dialog.getByRole('button', { name: 'Add case', exact: true });
  await dialog.getByText('days_since_purchase must be a number (got “five”)').waitFor();
  assert.equal(await add.isDisabled(), true);
  await dialog.getByLabel('Value of days_since_purchase').fill('5');
  await dialog.getByRole('textbox', { name: 'Assertion 1', exact: true }).fill('contans: Bo');
  await dialog.getByText(/unknown assertion type "contans"/).first().waitFor();
  assert.equal(await dialog.getByRole('textbox', { name: 'Assertion 1', exact: true }).getAttribute('aria-invalid'), 'true');
  assert.equal(await add.isDisabled(), true);
  await shot(page, '47-case-dialog-error');
  await dialog.getByRole('textbox', { name: 'Assertion 1', exact: true }).fill('contains: Bo');
  await dialog.getByRole('button', { name: 'Add assertion' }).click();
  await dialog.getByRole('textbox', { name: 'Assertion 2', exact: true }).fill('length: 10..');
  await dialog.getByLabel('Tags').fill('e2e, politeness');
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('dialog[open] button')].find((x) => x.textContent === 'Add case');
    return b && !b.disabled;
  });
  await add.click();
  await dialog.waitFor({ state: 'detached' });
  const added = caseRows.filter({ hasText: 'a short order asks politely' });
  await added.waitFor();
  assert.match(await added.textContent(), /contains: Bo.*length: 10\.\./);
  assert.match(await added.textContent(), /written here/);

  // Edit it: the assertions come back in their short form.
  await panel.getByRole('button', { name: 'Edit case #4' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit case #4' });
  assert.equal(await edit.getByRole('textbox', { name: 'Assertion 1', exact: true }).inputValue(), 'contains: Bo');
  assert.equal(await edit.getByLabel('Value of days_since_purchase').inputValue(), '5');
  await edit.getByLabel('Description').fill('a short order, asked politely');
  await edit.getByRole('button', { name: 'Save case' }).click();
  await edit.waitFor({ state: 'detached' });
  await caseRows.filter({ hasText: 'a short order, asked politely' }).waitFor();

  // Imports: a file with an error imports nothing and says which line; a good one adds its
  // cases, which say where they came from.
  const picker = panel.getByLabel('Import cases (.csv or .jsonl)');
  await picker.setInputFiles({
    name: 'bad.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('customer_name,__assert\nAl,contains: Al\nMo,containz: Mo\n'),
  });
  const importError = panel.getByRole('alert');
  await importError.getByText(/bad\.csv: line 3, __assert: unknown assertion type "containz"/).waitFor();
  assert.equal(await caseRows.count(), 4);
  await picker.setInputFiles({
    name: 'late.jsonl',
    mimeType: 'application/x-ndjson',
    buffer: Buffer.from(
      `${JSON.stringify({
        description: 'very late, asks for a refund anyway',
        vars: { customer_name: 'Kim', order_id: 'E-5500', days_since_purchase: 90, product: 'a chair' },
        assert: ['icontains: store credit', 'contains: a sentence no reply has'],
        tags: ['refunds'],
      })}\n`,
    ),
  });
  await panel.getByRole('status').getByText('Imported 1 case from late.jsonl.').waitFor();
  const imported = caseRows.filter({ hasText: 'very late, asks for a refund anyway' });
  await imported.getByText('imported from late.jsonl').waitFor();
  await shot(page, '48-tests-cases');

  // Run the suite on production's version: progress while the fake answers, then the results
  // with the failing case first and the check that failed.
  const runForm = panel.getByRole('form', { name: 'Start a run' });
  assert.equal(await runForm.getByLabel('Version').inputValue(), '4', 'the latest version is the default');
  await runForm.getByLabel('Version').selectOption('3');
  await runForm.getByLabel('Concurrency').fill('2');
  await runForm.getByRole('button', { name: 'Start run' }).click();
  const shown = panel.getByRole('region', { name: 'Shown run' });
  const bar = shown.getByRole('progressbar', { name: 'Run of v3 on regression' });
  await bar.waitFor();
  assert.equal(await bar.getAttribute('aria-valuemax'), '5');
  await shown.getByText('In flight').waitFor();
  await shown.scrollIntoViewIfNeeded();
  await shot(page, '49-tests-running');
  await shown.getByText('Finished: 4 of 5 passed (80%).').waitFor({ timeout: 30_000 });
  const results = shown.getByRole('list', { name: 'Results of v3 on regression' });
  const firstResult = results.getByRole('listitem').first();
  assert.match(await firstResult.textContent(), /^fail.*very late, asks for a refund anyway/);
  await firstResult.getByRole('list').getByText(/a sentence no reply has/).waitFor();
  await shown.scrollIntoViewIfNeeded();
  await shot(page, '50-tests-results');

  // A run can be cancelled; what finished stays.
  await runForm.getByLabel('Version').selectOption('4');
  await runForm.getByLabel('Concurrency').fill('1');
  await runForm.getByRole('button', { name: 'Start run' }).click();
  await shown.getByRole('progressbar', { name: 'Run of v4 on regression' }).waitFor();
  await shown.getByRole('button', { name: 'Cancel run' }).click();
  await shown.getByText(/^Finished: .*\(cancelled\)\./).waitFor({ timeout: 15_000 });
  const recent = panel.getByRole('table', { name: 'Recent runs' });
  await recent.getByText('cancelled').waitFor();
  await recent.getByText('4/5 passed').waitFor();
  // Show the earlier run again from the list.
  await recent.getByRole('button', { name: /^Show the run of v3 on regression/ }).click();
  await shown.getByText('Finished: 4 of 5 passed (80%).').waitFor();

  // Remove the imported case.
  const imported5 = await imported.getByRole('cell').first().textContent();
  await panel.getByRole('button', { name: `Remove case #${imported5.trim()}` }).click();
  const remove = page.getByRole('dialog', { name: `Remove case #${imported5.trim()}` });
  await remove.getByRole('button', { name: 'Remove case' }).click();
  await remove.waitFor({ state: 'detached' });
  await imported.waitFor({ state: 'detached' });
  assert.equal(await caseRows.count(), 4);

  assert.deepEqual(pageErrors, []);
  await context.close();
  await stopServer(server);
  llm.proc.kill('SIGTERM');
});

test('incident: the shortened refund reply ships, on call rolls production back from an incident, writes the postmortem, adds the failing input as a regression case, and the same version is refused by the eval gate', async () => {
  // v4 "Shorter, friendlier reply" ships to production before the app starts, the way the demo
  // story does it: ana asks, ben approves, rita releases. The demo's `openai` provider points
  // at the fake model, which answers with the prompt it got.
  const registry = demoRegistry('incident.db');
  const name = 'support/refund-reply';
  const review = JSON.parse(cliAs(registry, 'ana', '--json', 'review', 'request', `${name}@4`, '--label', 'production', '-m', 'Shorter, friendlier reply'));
  cliAs(registry, 'ben', 'review', 'approve', String(review.number), '-m', 'Friendlier; support says the policy is on the page');
  cliAs(registry, 'rita', 'release', `${name}@4`, '--label', 'production', '-m', 'Shorter, friendlier refund reply');
  const llm = await startFakeLlm();
  cliAs(registry, 'cho', 'provider', 'set', 'openai', '--base-url', `${llm.url}/v1`);
  const server = await startServer(0, { registry, user: null, unset: PROVIDER_KEY_VARS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(server.url);
  const { tree, prodBadge, actAs, releaseButton, whyNoRelease } = reviewHelpers(page);
  await prodBadge(name).getByText('production v4').waitFor();

  // Customers write in: replies no longer state the refund policy. rita (on call, a releaser)
  // opens an incident on production's release from the prompt's Releases tab: the prompt, the
  // label and the release that put v4 there are filled in.
  await actAs('rita');
  await tree.getByRole('button', { name }).click();
  await page.getByRole('tab', { name: 'Releases' }).click();
  await page.getByRole('list', { name: 'Labels' }).getByText('production v4').waitFor();
  await page.getByRole('button', { name: 'Open incident on production v4…' }).click();
  const open = page.getByRole('dialog', { name: 'Open an incident' });
  assert.equal(await open.getByLabel('Prompt').inputValue(), name);
  assert.equal(await open.getByLabel('Label').inputValue(), 'production');
  const suspect = open.getByRole('combobox', { name: 'Suspected release' });
  await suspect.getByRole('option', { name: /^v3 → v4 by rita, .* — Shorter, friendlier refund reply$/ }).waitFor({ state: 'attached' });
  assert.match(await suspect.locator('option:checked').textContent(), /v3 → v4 by rita/);
  const title = 'Refund replies no longer state the 30-day refund policy';
  await open.getByLabel('Title').fill(title);
  await open.getByLabel('Severity').selectOption('SEV2');
  await open.getByLabel('Detected through').selectOption('user_reports');
  await open.getByLabel('Notes').fill('Three tickets in an hour: customers ask whether they can still return the item.');
  await shot(page, '51-incident-open');
  await open.getByRole('button', { name: 'Open incident', exact: true }).click();
  await open.waitFor({ state: 'detached' });

  // The incident page: the suspected release (who, approvals, changelog), what production serves
  // now, the blast radius, and the rollback one click away.
  await page.getByRole('heading', { name: new RegExp(title) }).waitFor();
  await page.locator('.incident-status').getByText('investigating').waitFor();
  const suspected = page.getByRole('region', { name: 'Suspected release', exact: true });
  await suspected.getByText('Shorter, friendlier refund reply').waitFor();
  assert.match(await suspected.textContent(), /v4.*\(replaced v3\)/);
  assert.match(await suspected.textContent(), /rita.*\(releaser\)/);
  assert.match(await suspected.textContent(), /Approved byben/);
  await page.getByRole('region', { name: 'Serving now', exact: true }).getByText('production v4').waitFor();
  const blast = page.getByRole('region', { name: 'Blast radius' });
  await blast.locator('.badge[data-label="production"]').waitFor();
  await blast.locator('.badge[data-label="staging"]').waitFor();
  await page.getByRole('button', { name: 'Incidents, 1 open' }).waitFor();
  const rollBack = page.getByRole('button', { name: 'Roll back production to v3' });
  assert.equal(await rollBack.isDisabled(), false);
  // What v4 changed: the refund policy include is gone.
  await page.getByRole('region', { name: /What the suspected release changed \(v3 → v4\)/ }).getByRole('region', { name: 'Include changes' }).getByText('policies/refunds').waitFor();
  await shot(page, '52-incident-page');

  // Roll back: the reason is pre-filled from the incident; the policy is checked as it stands.
  await rollBack.click();
  const confirm = page.getByRole('dialog', { name: 'Roll back production to v3' });
  assert.match(await confirm.getByLabel('Reason').inputValue(), new RegExp(`^incident [0-9a-f-]{8}: ${title}$`));
  await confirm.getByText(/goes from v4 back to v3/).waitFor();
  await confirm.getByRole('list', { name: 'Rollback checklist' }).getByText('rita (releaser) may roll back production').waitFor();
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('dialog[open] button')].find((x) => x.textContent === 'Roll back');
    return b && !b.disabled;
  });
  await shot(page, '53-incident-rollback');
  await confirm.getByRole('button', { name: 'Roll back', exact: true }).click();
  await confirm.waitFor({ state: 'detached' });
  await page.getByRole('status').getByText('Rolled back: production serves v3 again.').waitFor();
  await page.locator('.incident-status').getByText('mitigated').waitFor();
  const taken = page.getByRole('group', { name: 'Rollback taken' });
  assert.match(await taken.textContent(), /v4 → v3 by rita/);
  assert.equal(await page.getByRole('button', { name: 'Roll back production', exact: true }).isDisabled(), true);
  await page.locator('#incident-rollback-why').getByText(/Rolled back already: production went back to v3/).waitFor();
  await page.getByRole('region', { name: 'Serving now', exact: true }).getByText('production v3').waitFor();
  // The release that caused it against the one restored, rendered like the History diff.
  const restored = page.getByRole('region', { name: 'What v4 changed against v3, restored now' });
  await restored.getByRole('table', { name: 'Template diff' }).waitFor();
  await restored.getByRole('region', { name: 'Include changes' }).getByText('policies/refunds').waitFor();
  await prodBadge(name).getByText('production v3').waitFor();

  // A note in the timeline, then the story from the ledger: v4 saved, its review, the approval,
  // the release, the incident, the rollback and the note, in that order.
  const note = 'Support confirms no new tickets since the rollback';
  await page.getByRole('form', { name: 'Add a note to the timeline' }).getByLabel('Note').fill(note);
  await page.getByRole('button', { name: 'Add note' }).click();
  const timeline = page.getByRole('list', { name: 'Incident timeline' });
  await timeline.getByText(note).waitFor();
  const story = (await timeline.getByRole('listitem').allTextContents()).join('\n');
  const order = [
    /version 4 saved: Shorter, friendlier reply/,
    new RegExp(`review #${review.number} requested: version 4 for production`),
    new RegExp(`review #${review.number} approved`),
    /released version 4 to production \(was 3\): Shorter, friendlier refund reply/,
    new RegExp(`incident opened \\(SEV2\\): ${title}`),
    /rolled production back to version 3 \(from 4\)/,
    new RegExp(note),
  ].map((re) => {
    const m = re.exec(story);
    assert.ok(m, `${re} is not in the timeline:\n${story}`);
    return m.index;
  });
  assert.deepEqual([...order].sort((a, b) => a - b), order, `the timeline is out of order:\n${story}`);
  await timeline.scrollIntoViewIfNeeded();
  await shot(page, '54-incident-timeline');

  // What production serves, seen where releases are shown.
  await page.getByRole('button', { name: `Releases of ${name}` }).click();
  await page.getByRole('list', { name: 'Labels' }).getByText('production v3').waitFor();
  const releases = page.getByRole('list', { name: 'Release timeline' });
  await releases.getByText(/Reason: incident [0-9a-f-]{8}: Refund replies no longer state/).waitFor();

  // The incident is in the list (mitigated); its postmortem is written from there.
  await page.getByRole('button', { name: 'Incidents, 1 open' }).click();
  const incidents = page.getByRole('table', { name: 'Incidents' });
  await incidents.getByText('mitigated').waitFor();
  await incidents.getByRole('button', { name: new RegExp(`^Incident [0-9a-f-]{8}: ${title}$`) }).click();
  await page.getByRole('button', { name: 'Write the postmortem' }).click();
  await page.getByRole('heading', { name: new RegExp(`^Postmortem: ${title}`) }).waitFor();
  const saveState = page.getByRole('status', { name: 'Save state' });
  await saveState.getByText('Not saved yet').waitFor();
  // The timeline and the root-cause diff come from the registry; the durations too.
  await page.getByRole('list', { name: 'Postmortem timeline' }).getByText(note).waitFor();
  await page.getByRole('region', { name: 'Root-cause diff (v3 → v4)' }).getByRole('region', { name: 'Include changes' }).getByText('policies/refunds').waitFor();
  const facts = page.getByRole('region', { name: 'Facts from the registry' });
  assert.match(await facts.textContent(), /Detected → mitigated\d+ min/);
  assert.match(await facts.textContent(), /Opened → resolvednot yet/);

  // The written sections and a corrective action (its due date passed three days ago).
  const sections = {
    Summary: 'For about an hour production served v4, whose refund reply no longer stated the 30-day refund policy.',
    'Root cause': 'v4 shortened the template and dropped the include of policies/refunds; the review looked at tone, not content.',
    Impact: 'Customers asking for refunds within 30 days were not told the policy; three tickets.',
    'What went well': 'The rollback from the incident took one action.',
    'What went badly': 'No test suite guarded production.',
    'Preventive learning': 'The failing input is a regression case now, and production requires the regression suite.',
  };
  for (const [heading, text] of Object.entries(sections)) {
    await page.getByRole('textbox', { name: heading, exact: true }).fill(text);
  }
  await saveState.getByText('Unsaved changes').waitFor();
  await page.getByRole('button', { name: 'Add action' }).click();
  const overdue = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
  const action = 'Require the regression suite for production releases';
  await page.getByRole('textbox', { name: 'Action 1', exact: true }).fill(action);
  await page.getByLabel('Owner of action 1').fill('cho');
  await page.getByLabel('Due date of action 1').fill(overdue);

  // Leaving with unsaved changes asks first; staying keeps everything typed.
  await page.getByRole('button', { name: 'Incidents, 1 open' }).click();
  const leave = page.getByRole('dialog', { name: 'Leave without saving?' });
  await leave.getByText('The postmortem has changes that are not saved.').waitFor();
  await leave.getByRole('button', { name: 'Stay' }).click();
  await leave.waitFor({ state: 'detached' });
  assert.equal(await page.getByRole('textbox', { name: 'Action 1', exact: true }).inputValue(), action);

  // The failing input, as a case of the `regression` suite: the prompt's variables to fill in.
  await page.getByRole('button', { name: 'Add as regression case…' }).click();
  const addCase = page.getByRole('dialog', { name: 'Add as regression case' });
  assert.equal(await addCase.getByLabel('Suite').inputValue(), 'regression');
  const caseName = 'incident: a refund within the window must state the 30-day policy';
  await addCase.getByLabel('Description').fill(caseName);
  await addCase.getByLabel('Value of customer_name').fill('Noor');
  await addCase.getByLabel('Value of order_id').fill('R-7741');
  await addCase.getByLabel('Value of days_since_purchase').fill('7');
  await addCase.getByLabel('Value of product').fill('a blender');
  await addCase.getByRole('textbox', { name: 'Assertion 1', exact: true }).fill('icontains: within 30 days');
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll('dialog[open] button')].find((x) => x.textContent === 'Add regression case');
    return b && !b.disabled;
  });
  await shot(page, '55-regression-case');
  await addCase.getByRole('button', { name: 'Add regression case', exact: true }).click();
  await addCase.waitFor({ state: 'detached' });
  const added = page.getByRole('list', { name: 'Regression cases added' });
  await added.getByText(caseName).waitFor();
  assert.match(await added.textContent(), /days_since_purchase=7/);
  assert.match(await added.textContent(), /icontains: within 30 days/);
  // Adding the case kept what was being written.
  assert.equal(await page.getByRole('textbox', { name: 'Summary', exact: true }).inputValue(), sections.Summary);

  await page.getByRole('button', { name: 'Save postmortem' }).click();
  await page.getByRole('status').getByText('Postmortem saved.').waitFor();
  await saveState.getByText(/^Saved by rita/).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Save postmortem' }).isDisabled(), true);
  await shot(page, '56-postmortem');

  // Export: the Markdown has the timeline and the root-cause diff; it downloads as a file.
  await page.getByRole('button', { name: 'Export Markdown…' }).click();
  const exported = page.getByRole('dialog', { name: 'Postmortem as Markdown' });
  const markdown = exported.getByRole('textbox', { name: 'Markdown' });
  await markdown.waitFor();
  const md = await markdown.inputValue();
  assert.match(md, new RegExp(`^# Postmortem: ${title}`));
  assert.match(md, /## Timeline\n\n\| When \(UTC\) \| Who \| What \|/);
  assert.match(md, /\| rita \| rolled production back to version 3 \(from 4\)/);
  assert.match(md, new RegExp(`\\| rita \\| ${note} \\|`));
  assert.match(md, /The change that shipped \(version 3 → version 4\):\n\n```diff\n/);
  assert.match(md, /```diff\n[\s\S]*policies\/refunds[\s\S]*```/);
  assert.match(md, new RegExp(`\\| ${action} \\| cho \\| ${overdue} \\| open \\|`));
  assert.match(md, new RegExp(`- .*${caseName}.*within 30 days`));
  const link = exported.getByRole('link', { name: /^Download postmortem-[0-9a-f-]{8}\.md$/ });
  assert.match(await link.getAttribute('href'), /^blob:/);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.match(download.suggestedFilename(), /^postmortem-[0-9a-f-]{8}\.md$/);
  assert.equal(readFileSync(await download.path(), 'utf8'), md);
  await shot(page, '57-postmortem-markdown');
  await exported.getByRole('button', { name: 'Close' }).click();

  // The home screen lists the open action, marked overdue, linking to its postmortem.
  await page.getByRole('button', { name: 'Promptdesk' }).click();
  const items = page.getByRole('list', { name: 'Open action items' });
  const item = items.getByRole('listitem').filter({ hasText: action });
  await item.getByText('overdue', { exact: true }).waitFor();
  assert.match(await item.textContent(), /cho · due \d{4}-\d{2}-\d{2} \(3 days overdue\)/);
  await shot(page, '58-home-action-items');
  await item.getByRole('button', { name: `Postmortem: ${title}` }).click();
  await page.getByRole('heading', { name: new RegExp(`^Postmortem: ${title}`) }).waitFor();

  // Production must now pass the regression suite. rita may not change policies: the registry
  // says so. cho (an admin) requires `regression` at 100%.
  await page.getByRole('button', { name: 'Settings' }).click();
  const policies = page.getByRole('region', { name: 'Release policies' });
  await policies.getByText('Only admins may change release policies; you (rita) are a releaser.', { exact: false }).waitFor();
  await policies.getByRole('button', { name: 'Edit the policy of production' }).click();
  let editor = page.getByRole('dialog', { name: 'Release policy for production' });
  await editor.getByLabel('Require a test suite to pass').check();
  await editor.getByRole('button', { name: 'Save policy' }).click();
  await editor.getByRole('alert').getByText(/rita is a releaser; only an admin or above may change release policies/).waitFor();
  await editor.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Promptdesk' }).click(); // actAs opens Settings itself
  await actAs('cho');
  await policies.getByText('Only admins may change release policies', { exact: false }).waitFor({ state: 'detached' });
  await policies.getByRole('button', { name: 'Edit the policy of production' }).click();
  editor = page.getByRole('dialog', { name: 'Release policy for production' });
  assert.equal(await editor.getByLabel('Approvals required').inputValue(), '1');
  assert.equal(await editor.getByLabel('Changelog required').isChecked(), true);
  assert.equal(await editor.getByLabel('Who may promote').inputValue(), 'releaser');
  assert.equal(await editor.getByLabel('Suite', { exact: true }).isDisabled(), true);
  await editor.getByLabel('Require a test suite to pass').check();
  await editor.getByLabel('Suite', { exact: true }).fill('regression');
  await editor.getByLabel('Minimum pass rate (%)').fill('100');
  await shot(page, '59-policy-editor');
  await editor.getByRole('button', { name: 'Save policy' }).click();
  await editor.waitFor({ state: 'detached' });
  await policies.getByRole('status').getByText('Saved the release policy of production.').waitFor();
  await policies.getByRole('table', { name: 'Release policies' }).getByText(/suite regression ≥ 100%/).waitFor();
  const policy = JSON.parse(cliAs(registry, 'cho', '--json', 'policy', 'show', 'production'));
  assert.deepEqual(policy.policy.required_suite, { suite: 'regression', min_pass_rate: 1, no_regressions: false });

  // The suite runs on v4 in the Tests tab: the incident's case is there, and fails with the two
  // cases v4 already failed.
  await tree.getByRole('button', { name }).click();
  await page.getByRole('tab', { name: 'Tests' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Tests' });
  const cases = panel.getByRole('table', { name: 'Cases of regression' });
  const incidentCase = cases.getByRole('row').filter({ hasText: caseName });
  await incidentCase.getByText(/^from postmortem [0-9a-f-]{36}$/).waitFor();
  const runForm = panel.getByRole('form', { name: 'Start a run' });
  assert.equal(await runForm.getByLabel('Version').inputValue(), '4');
  await runForm.getByRole('button', { name: 'Start run' }).click();
  const shown = panel.getByRole('region', { name: 'Shown run' });
  await shown.getByText('Finished: 1 of 4 passed (25%).').waitFor({ timeout: 30_000 });
  const results = shown.getByRole('list', { name: 'Results of v4 on regression' });
  await results.getByRole('list', { name: new RegExp(`^Failing checks of .*${caseName}`) }).getByText(/within 30 days/).waitFor();

  // rita asks to release v4 again. ben's approval of exactly this content still counts; the
  // gate does not: the release is refused, naming the incident's case.
  await actAs('rita');
  await tree.getByRole('button', { name }).click();
  await page.getByRole('button', { name: 'Request review…' }).click();
  const request = page.getByRole('dialog', { name: 'Request review' });
  await request.getByRole('combobox', { name: 'Version' }).getByRole('option', { name: /v4 \(latest\)/ }).waitFor({ state: 'attached' });
  await request.getByLabel('Description').fill('v4 again, now that production has a regression suite');
  await request.getByRole('button', { name: 'Request review', exact: true }).click();
  await request.waitFor({ state: 'detached' });
  const heading = page.getByRole('heading', { name: /^Review #\d+/ });
  await heading.waitFor();
  assert.notEqual(Number(/#(\d+)/.exec(await heading.textContent())[1]), review.number);
  const checklist = page.getByRole('list', { name: 'Policy checklist' });
  await checklist.getByText(/1 so far \(ben\)/).waitFor();
  await checklist.getByText(/test suite regression passed 1\/4 \(25%\) on version 4 \(needs 100%\)/).waitFor();
  assert.equal(await releaseButton().isDisabled(), true);
  const why = await whyNoRelease().textContent();
  assert.match(why, new RegExp(`failing: .*#4 ${caseName}`));
  const verdict = page.getByRole('region', { name: 'Evals' }).getByRole('group', { name: 'The gate\'s verdict' });
  await verdict.getByText('Refused:').waitFor();
  await verdict.getByRole('list', { name: 'Failing cases' }).getByText(`#4 ${caseName}`).waitFor();
  await whyNoRelease().scrollIntoViewIfNeeded();
  await shot(page, '60-release-refused-by-gate');
  // The registry refuses it too, whatever the page shows.
  await assert.rejects(
    api(server, 'release_version', { name, reference: '4', label: 'production', changelog: 'again', expect_from: '3' }),
    new RegExp(`#4 ${caseName}`),
  );

  cliAs(registry, 'cho', 'verify');
  assert.deepEqual(pageErrors, []);
  await context.close();
  await stopServer(server);
  llm.proc.kill('SIGTERM');
});

test('figures: keystroke to preview, start to interactive, a 2,000-version history', async () => {
  const server = await startServer();
  const figures = {};

  // A 5 KB template with 10 variables.
  const vars = Array.from({ length: 10 }, (_, i) => `v${i}`);
  let template = '';
  while (template.length < 5000) {
    template += `Paragraph about {{ ${vars[template.length % 10]} }} and the refund policy for our customers.\n`;
  }
  await api(server, 'create_prompt', { name: 'bench/large', kind: 'text' });
  await api(server, 'save_draft', {
    name: 'bench/large',
    content: {
      body: { kind: 'text', template },
      variables: vars.map((n) => ({ name: n, type: 'string', required: false, default: `value of ${n}`, description: null })),
      model: { provider: '', model: '', parameters: {} },
    },
  });

  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(server.url);
  // Start to interactive: navigation start → the first backend answer rendered.
  await page.getByRole('tree', { name: 'Prompts' }).waitFor();
  figures.web_start_to_interactive_ms = await page.evaluate(
    () => performance.getEntriesByName('promptdesk:interactive')[0]?.startTime ?? null,
  );
  await page.getByRole('button', { name: 'bench/large' }).click();
  await previewOutput(page).getByText('value of v0').first().waitFor();
  await editor(page).click();
  await page.keyboard.press('Control+End');
  await page.evaluate(() => performance.clearMeasures('promptdesk:keystroke-to-preview'));
  for (const ch of 'The quick brown fox jumps over the lazy dog again and again') {
    await page.keyboard.type(ch);
    await page.waitForTimeout(35);
  }
  await previewOutput(page).getByText('lazy dog again and again').waitFor();
  const samples = (
    await page.evaluate(() =>
      performance.getEntriesByName('promptdesk:keystroke-to-preview').map((e) => e.duration),
    )
  ).sort((a, b) => a - b);
  assert.ok(samples.length >= 10, `only ${samples.length} previews measured`);
  figures.keystroke_to_preview_5kb = {
    samples: samples.length,
    p50_ms: percentile(samples, 50),
    p95_ms: percentile(samples, 95),
    max_ms: samples[samples.length - 1],
  };

  // A prompt with 2,000 versions; how long its history takes to open.
  await api(server, 'create_prompt', { name: 'bench/long-history', kind: 'text' });
  const seedStart = performance.now();
  for (let i = 1; i <= 2000; i++) {
    await api(server, 'save_draft', {
      name: 'bench/long-history',
      content: { body: { kind: 'text', template: `Version ${i} of the text.` }, variables: [], model: { provider: '', model: '', parameters: {} } },
    });
    await api(server, 'commit_version', { name: 'bench/long-history', message: `change ${i}` });
  }
  figures.seed_2000_versions_over_http_s = (performance.now() - seedStart) / 1000;
  await page.reload(); // prompts created behind the page's back (on focus the app re-reads them)
  await page.getByRole('button', { name: 'bench/long-history' }).click();
  await previewOutput(page).getByText('Version 2000').waitFor();
  const opened = [];
  for (let round = 0; round < 5; round++) {
    await page.getByRole('tab', { name: 'Edit' }).click();
    await page.getByText('Version 2000 of the text.').first().waitFor();
    const t0 = await page.evaluate(() => performance.now());
    await page.getByRole('tab', { name: 'History' }).click();
    await page.getByRole('list', { name: 'Versions' }).getByText('change 1901').waitFor();
    opened.push((await page.evaluate(() => performance.now())) - t0);
  }
  opened.sort((a, b) => a - b);
  assert.match(await page.getByRole('heading', { name: /History/ }).textContent(), /2000 versions/);
  figures.history_2000_versions_open_ms = { runs: opened.length, median_ms: percentile(opened, 50), max_ms: opened[opened.length - 1] };
  await shot(page, '13-long-history');

  figures.measured_at = new Date().toISOString();
  writeFileSync(path.join(ARTIFACTS, 'figures', 'ui-web.json'), `${JSON.stringify(figures, null, 2)}\n`);
  console.log('figures', JSON.stringify(figures));
  await context.close();
  await stopServer(server);
});
