// Desktop end-to-end checks, driven over plain W3C WebDriver (webdriver.mjs: fetch, no client
// library) through tauri-driver, which launches the real app binary inside WebKitWebDriver. Run
// by tests/desktop/e2e.sh inside Xvfb and a D-Bus session; not meant to be run on its own.
//
// Environment (all set by e2e.sh):
//   E2E_DRIVER_URL     tauri-driver's address, e.g. http://127.0.0.1:4444
//   E2E_DRIVER_PID     tauri-driver's pid: the app is found among its descendants
//   E2E_APP            the application given to tauri-driver (a wrapper that logs and execs the app)
//   E2E_BIN            the app binary itself (to recognise the app process)
//   E2E_REGISTRY       the seeded registry, which the app must have opened (PROMPTDESK_REGISTRY)
//   E2E_MARKER         the text typed at the end of the template
//   E2E_SCREENSHOT     where to write the screenshot (PNG)
//   E2E_FIGURES        where to write the figures (JSON)
//   E2E_TIMEOUT_MS     how long to wait for each condition (default 30000)
//   XDG_CONFIG_HOME    the app's own config directory (its settings.json remembers the key store)
//
// Output: one line per check, "PASS|FAIL<TAB>check<TAB>detail", plus "FIGURE<TAB>name<TAB>value"
// lines. Failed checks are reported, not thrown; the exit status is non-zero only when the script
// itself broke.
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WebDriver, alive, envOf, findProcess, sleep, treeMemory } from './webdriver.mjs';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const DRIVER_PID = Number(env('E2E_DRIVER_PID'));
const APP = env('E2E_APP');
const BIN = realpathSync(env('E2E_BIN'));
const REGISTRY = env('E2E_REGISTRY');
const MARKER = env('E2E_MARKER');
const SCREENSHOT = env('E2E_SCREENSHOT');
const FIGURES = env('E2E_FIGURES');
const wd = new WebDriver(env('E2E_DRIVER_URL'), { timeoutMs: Number(env('E2E_TIMEOUT_MS', '30000')) });

const DEMO_PROMPTS = ['policies/refunds', 'support/refund-reply', 'support/triage'];
const PROMPT = 'support/refund-reply';

const oneLine = (s) => String(s).replace(/\s+/g, ' ').trim();
const result = (status, check, detail) => console.log(`${status}\t${check}\t${oneLine(detail)}`);
const figure = (name, value) => console.log(`FIGURE\t${name}\t${value}`);
const appPid = () => findProcess(DRIVER_PID, BIN);

// What the page shows, in one round trip. Everything is found by role and accessible name.
const SNAPSHOT = `
  const q = (sel) => document.querySelector(sel);
  const text = (el) => (el ? el.textContent : null);
  const tree = q('[role="tree"][aria-label="Prompts"]');
  const prompts = tree
    ? [...tree.querySelectorAll('[role="treeitem"]:not([aria-expanded]) > button')].map((b) => b.getAttribute('aria-label'))
    : null;
  const results = q('[aria-label="Search results"]');
  const alerts = [...document.querySelectorAll('[role="alert"]')].map((a) => a.textContent.trim()).filter(Boolean);
  return {
    title: text(q('.topbar h1, h1')),
    registry: text(q('.topbar__registry')),
    prompts,
    searchbox: !!q('input[type="search"][aria-label="Search prompts"], [role="searchbox"][aria-label="Search prompts"]'),
    results: results ? [...results.querySelectorAll('button')].map((b) => b.getAttribute('aria-label')) : null,
    tabs: [...document.querySelectorAll('[role="tab"]')].map((t) => t.textContent.trim()),
    editor: !!q('.cm-content[aria-label="Template"]'),
    template: text(q('.cm-content[aria-label="Template"]')),
    draftStatus: text(q('[aria-label="Draft status"]')),
    preview: text(q('aside[aria-label="Preview"] [data-testid="preview-output"]')),
    previewError: text(q('[data-testid="preview-error"]')),
    alert: alerts.length ? alerts.join(' | ') : null,
  };
`;
const snapshot = () => wd.exec(SNAPSHOT);
const waitForPage = (pred, what) =>
  wd.waitFor(async () => {
    const x = await snapshot();
    return pred(x) ? x : null;
  }, what);

// ---- checks -----------------------------------------------------------------------------------
const CHECKS = [
  'window opens',
  'registry from environment',
  'tree lists demo prompts',
  'signing keys dialog',
  'search',
  'open prompt shows editor',
  'typing updates preview',
  'draft saved',
  'team sync',
  'compare outputs',
  'screenshot',
  'app closes',
];
const done = new Set();
async function check(name, body) {
  done.add(name);
  try {
    result('PASS', name, await body());
    return true;
  } catch (e) {
    // What the page says is wrong, if anything (the UI shows errors with role="alert").
    const alert = wd.session ? await snapshot().then((x) => x.alert, () => null) : null;
    result('FAIL', name, alert ? `${e.message}; the page shows: ${alert}` : e.message);
    return false;
  }
}
function notRun(reason, until) {
  for (const c of CHECKS.slice(0, until ? CHECKS.indexOf(until) : CHECKS.length)) {
    if (!done.has(c)) {
      done.add(c);
      result('FAIL', c, `not run: ${reason}`);
    }
  }
}

const figures = {
  start_to_interactive_ms: null,
  rss_total_kib: null,
  rss_total_mib: null,
  pss_total_kib: null,
  pss_total_mib: null,
  processes: [],
  note:
    'Debug build (tauri/custom-protocol) under Xvfb, demo registry (3 prompts). start_to_interactive_ms: from ' +
    'requesting the WebDriver session (which launches the app) to the Prompts tree listing the demo prompts. ' +
    'rss_total: sum of VmRSS over the app process and its descendants (WebKit web and network processes, ' +
    'render worker), taken after the editing checks; pss_total: the same with shared pages shared out. ' +
    'Measured, never asserted.',
};

/** The checks that need the UI; returns early (the rest reported as not run) when one blocks. */
async function interact(t0) {
  // The registry given in the environment reached the app (through tauri-driver and
  // WebKitWebDriver) and the UI shows it: the app is not on the user's default registry.
  await check('registry from environment', async () => {
    const pid = appPid();
    if (!pid) throw new Error('no app process found below tauri-driver');
    const seen = envOf(pid, 'PROMPTDESK_REGISTRY');
    if (seen !== REGISTRY) throw new Error(`the app's PROMPTDESK_REGISTRY is ${JSON.stringify(seen)}, expected ${REGISTRY}`);
    const snap = await waitForPage((x) => (x.registry && x.registry !== 'Connecting…') || x.alert, 'the top bar to show the registry');
    if (!snap.registry || !snap.registry.includes(REGISTRY)) {
      throw new Error(`the app's environment has it, but the top bar shows ${JSON.stringify(snap.registry)}, expected ${REGISTRY}`);
    }
    return `app environment and top bar ("${snap.registry}") name the seeded registry`;
  });

  // The tree lists the demo prompts: start-to-interactive ends here.
  let ok = await check('tree lists demo prompts', async () => {
    let snap;
    try {
      snap = await waitForPage((x) => x.prompts && DEMO_PROMPTS.every((p) => x.prompts.includes(p)), `the Prompts tree to list ${DEMO_PROMPTS.join(', ')}`);
    } catch (e) {
      const x = await snapshot().catch(() => null);
      throw new Error(`${e.message}; the tree lists ${JSON.stringify(x?.prompts ?? null)}`);
    }
    const ms = Math.round(performance.now() - t0);
    figures.start_to_interactive_ms = ms;
    figure('start_to_interactive_ms', ms);
    const extra = snap.prompts.filter((p) => !DEMO_PROMPTS.includes(p));
    if (extra.length) throw new Error(`the tree also lists ${extra.join(', ')}`);
    return `${snap.prompts.join(', ')} (${ms} ms after requesting the session)`;
  });
  if (!ok) return notRun('the prompt tree did not load', 'screenshot');

  // This session has no working keyring (no unlocked Secret Service): the start-up canary fails
  // and the app asks, choosing nothing by itself. Choosing files makes signing work, and the
  // desktop app remembers the choice in its settings file.
  ok = await check('signing keys dialog', async () => {
    const DIALOG = `
      const d = document.querySelector('dialog[open]');
      if (!d) return null;
      return {
        title: d.querySelector('h2')?.textContent ?? null,
        reason: d.querySelector('[role="alert"]')?.textContent ?? null,
        choices: [...d.querySelectorAll('[aria-label="Choices"] button')].map((b) => b.textContent.trim()),
        status: d.querySelector('[role="status"]')?.textContent ?? null,
      };`;
    const shown = await wd.waitFor(() => wd.exec(DIALOG), 'the "Signing keys" dialog');
    if (shown.title !== 'Signing keys') throw new Error(`a dialog "${shown.title}" opened, expected "Signing keys"`);
    if (!shown.reason?.includes('keyring')) throw new Error(`the dialog gives no reason about the keyring: ${JSON.stringify(shown.reason)}`);
    if (shown.choices.join(', ') !== 'Try again, Keep keys in files, Not now') {
      throw new Error(`the dialog offers ${JSON.stringify(shown.choices)}`);
    }
    const settingsFile = join(env('XDG_CONFIG_HOME'), 'promptdesk', 'settings.json');
    const remembered = () => (existsSync(settingsFile) ? JSON.parse(readFileSync(settingsFile, 'utf8')).key_store ?? null : null);
    if (remembered()) throw new Error(`a key store was chosen before anyone chose: ${remembered()}`);
    await wd.click(await wd.findXPath('//dialog[@open]//button[normalize-space(.)="Keep keys in files"]'));
    const after = await wd.waitFor(async () => {
      const x = await wd.exec(DIALOG);
      return x?.status?.startsWith('Signing works') ? x : null;
    }, 'the dialog to say that signing works');
    const store = remembered();
    if (!store?.startsWith('file:')) throw new Error(`settings.json remembers key_store ${JSON.stringify(store)}, expected file:DIR`);
    await wd.click(await wd.findXPath('//dialog[@open]//button[normalize-space(.)="Done"]'));
    await wd.waitFor(async () => (await wd.exec("return !document.querySelector('dialog[open]');")) || null, 'the dialog to close');
    return `reason "${shown.reason.slice(0, 90)}…"; after "Keep keys in files": "${after.status}"; remembered as ${store}`;
  });
  if (!ok) return notRun('the signing keys dialog blocks the window', 'screenshot');

  // Search goes through its own command; clearing the box brings the tree back.
  await check('search', async () => {
    const box = await wd.find('input[aria-label="Search prompts"]');
    await wd.click(box);
    await wd.sendKeys(box, 'triage');
    let snap;
    try {
      snap = await waitForPage((x) => x.results && x.results.length, 'search results for "triage"');
    } finally {
      // Select all, delete: Control+a, release the modifier, Backspace.
      await wd.sendKeys(box, '\uE009a\uE000\uE003');
    }
    if (snap.results.join() !== 'support/triage') {
      throw new Error(`"triage" found ${JSON.stringify(snap.results)}, expected support/triage`);
    }
    await waitForPage((x) => x.prompts?.length === DEMO_PROMPTS.length, 'the tree to come back after clearing the search');
    return `"triage" → ${snap.results.join(', ')}; cleared, the tree is back`;
  });

  // Open the prompt: tabs Edit/History, the template editor, a rendered preview.
  ok = await check('open prompt shows editor', async () => {
    await wd.click(await wd.find(`[role="tree"][aria-label="Prompts"] button[aria-label="${PROMPT}"]`));
    const snap = await waitForPage(
      (x) => x.editor && x.tabs.includes('Edit') && x.tabs.includes('History') && x.preview,
      'the Edit/History tabs, the Template editor and a preview',
    );
    return `tabs ${snap.tabs.join('/')}; template of ${snap.template.length} characters; draft status "${snap.draftStatus}"`;
  });
  if (!ok) return notRun('the editor did not open', 'screenshot');

  // Type at the end of the template: the preview follows, and the draft is saved.
  let typedAt = 0;
  await check('typing updates preview', async () => {
    const content = await wd.find('.cm-content[aria-label="Template"]');
    await wd.click(content);
    // Ctrl+End (Control, End, then NULL to release the modifier), then the text.
    await wd.sendKeys(content, '\uE009\uE010\uE000');
    typedAt = performance.now();
    await wd.sendKeys(content, MARKER);
    const want = MARKER.trim();
    let snap;
    try {
      snap = await waitForPage((x) => x.preview && x.preview.includes(want), `the preview to contain "${want}"`);
    } catch (e) {
      const x = await snapshot().catch(() => null);
      throw new Error(`${e.message}; the template ends "${(x?.template ?? '').slice(-80)}"; preview error: ${x?.previewError ?? 'none'}`);
    }
    const ms = Math.round(performance.now() - typedAt);
    if (!snap.template.trimEnd().endsWith(want)) {
      throw new Error(`the preview shows the text but it was not typed at the end: the template ends "${snap.template.slice(-80)}"`);
    }
    return `the preview shows "${want}" ${ms} ms after typing began; the template ends "…${snap.template.slice(-50)}"`;
  });

  await check('draft saved', async () => {
    let snap;
    try {
      snap = await waitForPage((x) => x.draftStatus === 'Draft saved', 'the draft status to read "Draft saved"');
    } catch (e) {
      const x = await snapshot().catch(() => null);
      throw new Error(`${e.message}; it reads ${JSON.stringify(x?.draftStatus ?? null)}`);
    }
    return `draft status "${snap.draftStatus}" ${Math.round(performance.now() - typedAt)} ms after typing began`;
  });

  // Settings → Team server: the address and a token, checked by the server, then one round.
  await check('team sync', async () => {
    const url = env('E2E_TEAM_URL');
    const token = env('E2E_TEAM_TOKEN');
    const PILL = `return document.querySelector('button[aria-label^="Team sync:"]')?.getAttribute('aria-label') ?? null;`;
    // A click on the button with this text (inside `scope`), from the page itself.
    const press = (text, scope = 'body') =>
      wd.waitFor(
        () => wd.exec(
          `const b = [...document.querySelectorAll(arguments[1] + ' button')].find((x) => x.textContent.trim() === arguments[0] && !x.disabled);
           if (b) b.click();
           return !!b;`,
          [text, scope],
        ),
        `an enabled "${text}" button`,
      );
    if (!(await wd.exec(`return !!document.querySelector('#team-server');`))) await press('Settings', '.topbar');
    const address = await wd.waitFor(() => wd.find('#team-server input[type="url"]'), 'the Team server section');
    await wd.click(address);
    await wd.sendKeys(address, url);
    const secret = await wd.find('#team-server input[type="password"]');
    await wd.click(secret);
    await wd.sendKeys(secret, token);
    await press('Save server', '#team-server');
    const confirmed = await wd.waitFor(
      () => wd.exec(`const s = document.querySelector('#team-server [role="status"], #team-server [role="alert"]'); return s ? s.textContent : null;`),
      'the server to confirm the token',
    );
    if (!confirmed.includes('desk')) throw new Error(`saving the server said: ${confirmed}`);
    if (await wd.exec(`return document.querySelector('#team-server input[type="password"]').value;`)) {
      throw new Error('the token is shown back after saving');
    }
    await press('Sync now', '#team-server');
    let pill;
    try {
      pill = await wd.waitFor(async () => ((await wd.exec(PILL)) === 'Team sync: Synced' ? 'Team sync: Synced' : null), 'the sync pill to read Synced');
    } catch (e) {
      throw new Error(`${e.message}; it reads ${JSON.stringify(await wd.exec(PILL))}`);
    }
    return `"${confirmed.trim().slice(0, 80)}", then "${pill}"`;
  });

  // Compare: production (v3) against the latest (v4) on the demo's regression suite, both run
  // from the app against the local model (e2e.sh points the demo's openai provider at it); v4
  // fails the two cases that need the refund policy.
  await check('compare outputs', async () => {
    const click = (selector, text) =>
      wd.waitFor(
        () => wd.exec(
          `const b = [...document.querySelectorAll(arguments[0])].find((x) => x.textContent.trim().startsWith(arguments[1]) && !x.disabled);
           if (b) b.click();
           return !!b;`,
          [selector, text],
        ),
        `an enabled "${text}"`,
      );
    await wd.exec(`document.querySelector('[role="tree"][aria-label="Prompts"] button[aria-label="${PROMPT}"]')?.click();`);
    await click('[role="tab"]', 'Compare');
    await click('button', 'Run missing');
    const FAILING = `return [...document.querySelectorAll('ul[aria-label^="Failing checks of v"]')].map((u) => u.getAttribute('aria-label'));`;
    const failing = await wd.waitFor(async () => {
      const busy = await wd.exec(`return document.querySelectorAll('[role="progressbar"][aria-label^="Run of v"]').length;`);
      const f = await wd.exec(FAILING);
      return busy === 0 && f.length >= 2 ? f : null;
    }, 'both runs to finish with failing checks shown');
    const v4 = failing.filter((f) => f.startsWith('Failing checks of v4'));
    if (v4.length !== 2 || failing.some((f) => f.startsWith('Failing checks of v3'))) {
      throw new Error(`expected v4 to fail 2 cases and v3 none; failing: ${failing.join(', ')}`);
    }
    return `v3 and v4 ran in the app; ${failing.join('; ')}`;
  });
}

async function main() {
  // The session: tauri-driver starts the app; the page shows the top bar.
  const t0 = performance.now();
  const started = await check('window opens', async () => {
    await wd.newSession(APP);
    const created = Math.round(performance.now() - t0);
    const snap = await waitForPage((x) => x.title && x.title.includes('Promptdesk'), 'the top bar to show "Promptdesk"');
    return `session ${wd.session.slice(0, 8)} in ${created} ms; the UI shows "${snap.title}"; app pid ${appPid() ?? 'not found'}`;
  });
  if (!started) return notRun('no WebDriver session');

  await interact(t0);

  // Let the UI settle, measure memory, take the screenshot (also after failures: it shows why).
  await check('screenshot', async () => {
    await wd.settle().catch(() => null);
    await sleep(500);
    const pid = appPid();
    if (pid) {
      Object.assign(figures, treeMemory(pid));
      figure('rss_total_mib', figures.rss_total_mib);
      figure('pss_total_mib', figures.pss_total_mib);
      figure('processes', figures.processes.map((p) => `${p.name}:${Math.round(p.rss_kib / 1024)}MiB`).join(' '));
    } else {
      figure('rss_total_mib', 'not measured: app process not found');
    }
    const png = await wd.screenshotPng();
    if (png.length < 1000 || png.subarray(1, 4).toString() !== 'PNG') throw new Error(`not a PNG (${png.length} bytes)`);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    writeFileSync(SCREENSHOT, png);
    return `${png.readUInt32BE(16)}x${png.readUInt32BE(20)} PNG, ${png.length} bytes`;
  });

  // Close the app through the session; it must exit (e2e.sh reads the registry afterwards).
  await check('app closes', async () => {
    const pid = appPid();
    await wd.deleteSession();
    if (!pid) throw new Error('session deleted, but the app process was never found');
    await wd.waitFor(async () => !alive(pid), `app pid ${pid} to exit`, 15000);
    return `session deleted; app pid ${pid} exited`;
  });
}

try {
  await main();
} catch (e) {
  result('FAIL', 'driver script', e.stack ?? e.message);
  notRun('the driver script broke');
} finally {
  await wd.deleteSession().catch(() => null);
  mkdirSync(dirname(FIGURES), { recursive: true });
  writeFileSync(FIGURES, JSON.stringify({ ...figures, measured_at: new Date().toISOString() }, null, 2) + '\n');
}
