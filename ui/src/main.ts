// Entry point of the placeholder UI. It proves three things the real UI will rely on:
// the bundle loads under the strict CSP, the page renders, and (inside Tauri) IPC to the Rust
// backend works. Backend text is always shown with textContent, never as HTML.
import { invoke } from '@tauri-apps/api/core';
import { formatAppInfo, parseAppInfo } from './app-info';
import { errorMessage, labelBadges, parsePromptListings, type PromptListing } from './prompts';
import './style.css';

type StatusKind = 'ok' | 'error' | 'web';

function show(kind: StatusKind, status: string, detail: string): void {
  const statusEl = document.getElementById('status');
  const detailEl = document.getElementById('detail');
  if (statusEl) {
    statusEl.textContent = status;
    statusEl.className = `status status--${kind}`;
  }
  if (detailEl) {
    detailEl.textContent = detail;
  }
}

/** True inside the Tauri webview; false in a plain browser (web mode). */
function inTauri(): boolean {
  return '__TAURI_INTERNALS__' in window;
}

async function start(): Promise<void> {
  if (!inTauri()) {
    show('web', 'Web mode', 'Running in a browser: the desktop backend is not connected.');
    return;
  }
  try {
    const info = parseAppInfo(await invoke<unknown>('app_info'));
    show('ok', 'Backend connected', formatAppInfo(info));
  } catch (err) {
    show('error', 'Backend unavailable', errorMessage(err));
    return;
  }
  try {
    showPrompts(parsePromptListings(await invoke<unknown>('list_prompts')));
  } catch (err) {
    show('error', 'Registry unavailable', errorMessage(err));
  }
}

/** Lists the registry's prompts: name, kind, latest version and label badges (inert text). */
function showPrompts(prompts: PromptListing[]): void {
  const list = document.getElementById('prompts');
  if (!list) return;
  list.replaceChildren();
  if (prompts.length === 0) {
    const empty = document.createElement('li');
    empty.textContent = 'No prompts yet. Create one with `promptdesk new NAME`.';
    list.append(empty);
    return;
  }
  for (const p of prompts) {
    const item = document.createElement('li');
    item.className = 'prompt';
    const name = document.createElement('span');
    name.className = 'prompt__name';
    name.textContent = p.name;
    const meta = document.createElement('span');
    meta.className = 'prompt__meta';
    const version = p.latest === null ? 'no versions' : `v${p.latest}`;
    meta.textContent = [p.kind, version, ...labelBadges(p)].join(' · ');
    item.append(name, meta);
    list.append(item);
  }
}

void start();
