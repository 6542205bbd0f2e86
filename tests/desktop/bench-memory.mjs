// Helpers for tests/desktop/bench-memory.sh (not meant to be run on its own).
//
//   node bench-memory.mjs generate DIR COUNT VERSION_FILE
//     Writes a Promptdesk export (the format `promptdesk export` writes and `promptdesk import`
//     reads) with COUNT text prompts in folders of 100 (bench/f000/p00000 …), each with one
//     version: a copy of VERSION_FILE, a `_v0001.prompt` taken from a real export (its recorded
//     hash covers only the content, so it is valid under any prompt name).
//
//   node bench-memory.mjs measure
//     Inside Xvfb with tauri-driver running: for each application in BENCH_APPS (JSON
//     [{label, app, expect}]), starts it through WebDriver, waits until the Prompts tree lists
//     `expect` prompts, lets the UI settle, and records the resident memory of the app and its
//     descendants; prints one JSON object per run on stdout.
//     Environment: BENCH_DRIVER_URL, BENCH_DRIVER_PID, BENCH_BIN, BENCH_APPS, BENCH_TIMEOUT_MS.
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebDriver, alive, findProcess, sleep, treeMemory } from './webdriver.mjs';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'generate') {
  const [dir, countText, versionFile] = args;
  const count = Number(countText);
  const version = readFileSync(versionFile, 'utf8');
  const at = /created_at:\s*(\S+)/.exec(version)?.[1] ?? '2026-01-01T00:00:00.000Z';
  mkdirSync(join(dir, 'prompts'), { recursive: true });
  writeFileSync(join(dir, 'promptdesk-export.json'), '{\n  "format": "promptdesk.export/1"\n}\n');
  for (let i = 0; i < count; i++) {
    const name = `bench/f${String(Math.floor(i / 100)).padStart(3, '0')}/p${String(i).padStart(5, '0')}`;
    const folder = join(dir, 'prompts', ...name.split('/'));
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, '_v0001.prompt'), version);
    writeFileSync(
      join(folder, '_prompt.yaml'),
      [
        `name: ${name}`,
        'kind: text',
        `description: Benchmark prompt number ${i}`,
        'tags:',
        '- bench',
        'samples: {}',
        'labels:',
        '  latest: 1',
        'label_history:',
        '- label: latest',
        '  from: null',
        '  to: 1',
        '  by: bench',
        `  at: ${at}`,
        '  reason: new version',
        '',
      ].join('\n'),
    );
  }
} else if (mode === 'measure') {
  const DRIVER_PID = Number(process.env.BENCH_DRIVER_PID);
  const BIN = realpathSync(process.env.BENCH_BIN);
  const wd = new WebDriver(process.env.BENCH_DRIVER_URL, { timeoutMs: Number(process.env.BENCH_TIMEOUT_MS ?? 180000) });
  const countPrompts = `
    const tree = document.querySelector('[role="tree"][aria-label="Prompts"]');
    return tree ? tree.querySelectorAll('[role="treeitem"]:not([aria-expanded]) > button').length : -1;`;

  for (const run of JSON.parse(process.env.BENCH_APPS)) {
    const out = { label: run.label, prompts: run.expect };
    try {
      const t0 = performance.now();
      await wd.newSession(run.app);
      await wd.waitFor(async () => (await wd.exec(countPrompts)) >= run.expect, `the tree to list ${run.expect} prompts`);
      out.listed_ms = Math.round(performance.now() - t0);
      out.listed = await wd.exec(countPrompts);
      await wd.settle();
      const pid = findProcess(DRIVER_PID, BIN);
      if (!pid) throw new Error('app process not found');
      out.at_listed = treeMemory(pid);
      // A few seconds later, once the page is idle (what a user sees after the list appeared).
      await sleep(5000);
      out.after_5s = treeMemory(pid);
      await wd.deleteSession();
      await wd.waitFor(async () => !alive(pid), `app pid ${pid} to exit`, 15000).catch(() => null);
    } catch (e) {
      out.error = e.message;
      await wd.deleteSession().catch(() => null);
    }
    console.log(JSON.stringify(out));
  }
} else {
  console.error('usage: node bench-memory.mjs generate DIR COUNT VERSION_FILE | measure');
  process.exit(2);
}
