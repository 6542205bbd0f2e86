// Picks the transport for this page: Tauri IPC inside the desktop app, HTTP in a browser.
import { invoke } from '@tauri-apps/api/core';
import { createClient, httpTransport, takeToken, tauriTransport, type Call, type Transport } from './client';

export function inTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

export function detectTransport(): Transport {
  if (inTauri()) return tauriTransport((cmd, args) => invoke(cmd, args));
  const adopt = () => takeToken(window.location, window.sessionStorage, window.history);
  adopt();
  // Opening the address of a restarted server in this tab only changes the fragment: adopt its
  // token without a reload, so unsaved edits in the page carry on to the new server.
  window.addEventListener('hashchange', () => {
    if (window.location.hash.includes('token=')) adopt();
  });
  return httpTransport(() => window.sessionStorage.getItem('promptdesk.token'));
}
export function defaultClient(): { call: Call; transport: Transport } {
  const transport = detectTransport();
  return { call: createClient(transport), transport };
}
