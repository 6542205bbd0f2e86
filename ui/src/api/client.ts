// The typed API layer: one `call()` for every backend command, over whichever transport this
// page runs on. Request and response types come from the Rust types (src/api/generated.ts,
// written by `npm run gen`), so the two sides cannot drift apart.
import { API_ERROR_KINDS, type ApiError as WireError, type ApiErrorKind, type Commands } from './generated';

export type CommandName = keyof Commands;
export type Req<K extends CommandName> = Commands[K]['req'];
export type Res<K extends CommandName> = Commands[K]['res'];

/** An error from the backend (or from reaching it), with a kind the UI can branch on. */
export class ApiCallError extends Error {
  readonly kind: ApiErrorKind;
  readonly details: unknown;

  constructor(kind: ApiErrorKind, message: string, details: unknown = null) {
    super(message);
    this.name = 'ApiCallError';
    this.kind = kind;
    this.details = details;
  }
}

/** Carries one command to the backend and brings back its JSON answer. */
export interface Transport {
  readonly name: 'desktop' | 'web';
  send(command: string, req: unknown): Promise<unknown>;
}

export type Call = <K extends CommandName>(command: K, req: Req<K>) => Promise<Res<K>>;

export function createClient(transport: Transport): Call {
  return async (command, req) => (await transport.send(command, req)) as never;
}


/** Turns whatever a transport rejected with into an ApiCallError. */
export function toApiError(err: unknown): ApiCallError {
  if (err instanceof ApiCallError) return err;
  if (typeof err === 'object' && err !== null && 'kind' in err && 'message' in err) {
    const e = err as Partial<WireError>;
    const kind = typeof e.kind === 'string' && (API_ERROR_KINDS as readonly string[]).includes(e.kind) ? (e.kind as ApiErrorKind) : 'internal';
    return new ApiCallError(kind, String(e.message), e.details ?? null);
  }
  if (typeof err === 'string') return new ApiCallError('internal', err);
  if (err instanceof Error) return new ApiCallError('internal', err.message);
  return new ApiCallError('internal', 'unexpected error');
}

/** Web mode: `POST /api/<command>` with the per-run token (read at each call: a restarted
 * server prints a new one, which the page adopts when its address is opened). */
export function httpTransport(
  token: () => string | null,
  fetchImpl: typeof fetch = (...args) => fetch(...args),
  base = '',
): Transport {
  return {
    name: 'web',
    async send(command, req) {
      let response: Response;
      try {
        response = await fetchImpl(`${base}/api/${command}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token() ?? ''}` },
          body: JSON.stringify(req ?? {}),
        });
      } catch {
        throw new ApiCallError(
          'offline',
          'Promptdesk is not reachable. Is `promptdesk ui` still running? Your edits are kept in this window.',
        );
      }
      const text = await response.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        throw new ApiCallError('internal', `unreadable answer from the server (HTTP ${response.status})`);
      }
      if (!response.ok) throw toApiError(body ?? `HTTP ${response.status}`);
      return body;
    },
  };
}

/** Desktop: Tauri IPC. Each command is a Tauri command taking one `req` argument. */
export function tauriTransport(
  invoke: (cmd: string, args: Record<string, unknown>) => Promise<unknown>,
): Transport {
  return {
    name: 'desktop',
    async send(command, req) {
      try {
        return await invoke(command, { req: req ?? {} });
      } catch (err) {
        throw toApiError(err);
      }
    },
  };
}

/** Reads the web-mode token from the URL fragment (`#token=…`), keeping it for reloads in
 * sessionStorage and removing it from the address bar. */
export function takeToken(location: Location, storage: Storage, history: History): string | null {
  const match = /(?:^#|&)token=([0-9a-zA-Z_-]+)/.exec(location.hash);
  if (match?.[1]) {
    storage.setItem('promptdesk.token', match[1]);
    history.replaceState(null, '', location.pathname + location.search);
    return match[1];
  }
  return storage.getItem('promptdesk.token');
}
