// A small W3C WebDriver client over fetch (no library), for the desktop tests that drive the
// Tauri app through tauri-driver, plus what they need to find the app's processes in /proc and
// measure their resident memory. Used by e2e.mjs and bench-memory.mjs.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class WebDriverError extends Error {}

// The web element identifier of the W3C spec.
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

/** A client for one WebDriver server; `session` is set by `newSession`. */
export class WebDriver {
  constructor(url, { timeoutMs = 30000 } = {}) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.session = null;
  }

  async request(method, path, body) {
    const res = await fetch(this.url + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(Math.max(this.timeoutMs, 60000)),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WebDriverError(`${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok || (json.value && json.value.error)) {
      const v = json.value ?? {};
      throw new WebDriverError(`${method} ${path}: ${v.error ?? res.status}: ${v.message ?? text.slice(0, 200)}`);
    }
    return json.value;
  }

  /** Starts the app: tauri-driver maps `tauri:options` to WebKitWebDriver's browser options. */
  async newSession(application) {
    const caps = { browserName: 'wry', 'tauri:options': { application } };
    const v = await this.request('POST', '/session', { capabilities: { alwaysMatch: caps } });
    this.session = v.sessionId;
    return v;
  }

  /** Ends the session, which closes the app. */
  async deleteSession() {
    if (!this.session) return;
    const id = this.session;
    this.session = null;
    await this.request('DELETE', `/session/${id}`);
  }

  s(path) {
    if (!this.session) throw new WebDriverError('no session');
    return `/session/${this.session}${path}`;
  }

  async find(css) {
    const v = await this.request('POST', this.s('/element'), { using: 'css selector', value: css });
    const id = v && v[ELEMENT];
    if (!id) throw new WebDriverError(`find ${css}: unexpected answer ${JSON.stringify(v)}`);
    return id;
  }

  /** The first element matching an XPath expression (to find a button by its text). */
  async findXPath(xpath) {
    const v = await this.request('POST', this.s('/element'), { using: 'xpath', value: xpath });
    const id = v && v[ELEMENT];
    if (!id) throw new WebDriverError(`find ${xpath}: unexpected answer ${JSON.stringify(v)}`);
    return id;
  }

  click(el) {
    return this.request('POST', this.s(`/element/${el}/click`), {});
  }

  /** Element Send Keys; W3C key codes work, e.g. '\uE009' Control ... '\uE000' release. */
  sendKeys(el, text) {
    return this.request('POST', this.s(`/element/${el}/value`), { text });
  }

  /** Runs `script` (a function body; it may return a promise) in the page. */
  exec(script, args = []) {
    return this.request('POST', this.s('/execute/sync'), { script, args });
  }

  async screenshotPng() {
    return Buffer.from(await this.request('GET', this.s('/screenshot')), 'base64');
  }

  /** Polls `probe` (async; a truthy result ends the wait) until it succeeds or time is up. */
  async waitFor(probe, what, timeout = this.timeoutMs) {
    const deadline = Date.now() + timeout;
    let last = null;
    for (;;) {
      try {
        const v = await probe();
        if (v) return v;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
      }
      await sleep(100);
    }
  }

  /** Resolves once fonts are loaded and two animation frames have passed. */
  settle() {
    return this.exec(
      'return document.fonts.ready.then(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))));',
    );
  }
}

// ---- processes --------------------------------------------------------------------------------
export function readProc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

export function parentOf(pid) {
  const stat = readProc(pid, 'stat');
  if (!stat) return null;
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** True while `pid` exists and is not a zombie. */
export function alive(pid) {
  const stat = readProc(pid, 'stat');
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

export function descendants(root) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const ppid = parentOf(Number(d));
    if (ppid === null) continue;
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(d));
  }
  const out = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function exeOf(pid) {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}

/** The outermost process running `binary` (a real path) below `root`, or null. */
export function findProcess(root, binary) {
  const mine = descendants(root).filter((p) => exeOf(p) === binary);
  return mine.find((p) => !mine.includes(parentOf(p))) ?? null;
}

/** The value of one environment variable of a running process (null when unset or unreadable). */
export function envOf(pid, name) {
  const env = readProc(pid, 'environ');
  if (env === null) return null;
  const entry = env.split('\0').find((e) => e.startsWith(`${name}=`));
  return entry === undefined ? null : entry.slice(name.length + 1);
}

function rssKiB(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readProc(pid, 'status') ?? '');
  return m ? Number(m[1]) : 0;
}

function pssKiB(pid) {
  const m = /^Pss:\s+(\d+)\s+kB/m.exec(readProc(pid, 'smaps_rollup') ?? '');
  return m ? Number(m[1]) : null;
}

const mib = (kib) => Math.round((kib / 1024) * 10) / 10;

/**
 * Resident memory of `pid` and all its descendants: the sum of VmRSS (counts pages shared
 * between the processes, such as libraries, once per process), and the sum of PSS (shares them
 * out), with each process.
 */
export function treeMemory(pid) {
  const processes = [pid, ...descendants(pid)].map((p) => ({
    pid: p,
    name: (readProc(p, 'comm') ?? '?').trim(),
    rss_kib: rssKiB(p),
    pss_kib: pssKiB(p),
  }));
  const rss = processes.reduce((a, p) => a + p.rss_kib, 0);
  const pss = processes.every((p) => p.pss_kib !== null) ? processes.reduce((a, p) => a + p.pss_kib, 0) : null;
  return {
    rss_total_kib: rss,
    rss_total_mib: mib(rss),
    pss_total_kib: pss,
    pss_total_mib: pss === null ? null : mib(pss),
    processes,
  };
}
