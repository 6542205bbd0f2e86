// Entry point of the placeholder UI. It proves three things the real UI will rely on:
// the bundle loads under the strict CSP, the page renders, and (inside Tauri) IPC to the Rust
// backend works. Backend text is always shown with textContent, never as HTML.
import { invoke } from '@tauri-apps/api/core';
import { formatAppInfo, parseAppInfo } from './app-info';
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
    show('error', 'Backend unavailable', err instanceof Error ? err.message : String(err));
  }
}

void start();
