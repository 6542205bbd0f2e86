// Picks the transport for this page: Tauri IPC inside the desktop app, HTTP in a browser.
import { invoke } from '@tauri-apps/api/core';
import { ApiCallError, createClient, httpTransport, takeToken, tauriTransport, type Call, type Transport } from './client';

export function inTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

export function detectTransport(): Transport {
  if (inTauri()) return tauriTransport((cmd, args) => invoke(cmd, args));
  const token = takeToken(window.location, window.sessionStorage, window.history);
  if (!token) {
    return {
      name: 'web',
      send: () =>
        Promise.reject(
          new ApiCallError(
            'unauthorized',
            'Open Promptdesk with the address `promptdesk ui` printed (it carries the access token).',
          ),
        ),
    };
  }
  return httpTransport(token);
}

export function defaultClient(): { call: Call; transport: Transport } {
  const transport = detectTransport();
  return { call: createClient(transport), transport };
}
