import { describe, expect, it, vi } from 'vitest';
import { ApiCallError, createClient, httpTransport, takeToken, tauriTransport, toApiError } from './client';

function fakeFetch(status: number, body: unknown) {
  return vi.fn(async () => new Response(body === undefined ? '' : JSON.stringify(body), { status }));
}

describe('httpTransport', () => {
  it('posts the request as JSON with the bearer token to /api/<command>', async () => {
    const fetch = fakeFetch(200, [{ name: 'a' }]);
    const call = createClient(httpTransport(() => 't0k', fetch as unknown as typeof globalThis.fetch));
    const res = await call('list_prompts', { folder: 'support' });
    expect(res).toEqual([{ name: 'a' }]);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/list_prompts');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>).authorization).toBe('Bearer t0k');
    expect(JSON.parse(init.body as string)).toEqual({ folder: 'support' });
  });

  it('turns an error body into an ApiCallError with its kind and details', async () => {
    const details = { kind: 'syntax', message: 'x', location: null };
    const t = httpTransport(() => 't', fakeFetch(422, { kind: 'invalid_template', message: 'bad tag', details }) as never);
    const err = await t.send('preview_draft', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiCallError);
    expect((err as ApiCallError).kind).toBe('invalid_template');
    expect((err as ApiCallError).message).toBe('bad tag');
    expect((err as ApiCallError).details).toEqual(details);
  });

  it('reports a server that cannot be reached as offline', async () => {
    const t = httpTransport(() => 't', (async () => {
      throw new TypeError('Failed to fetch');
    }) as never);
    const err = (await t.send('app_info', {}).catch((e: unknown) => e)) as ApiCallError;
    expect(err.kind).toBe('offline');
  });

  it('does not trust an unknown error kind', () => {
    expect(toApiError({ kind: 'root_access', message: 'm' }).kind).toBe('internal');
  });
});

describe('tauriTransport', () => {
  it('passes the request as the single req argument and maps rejections', async () => {
    const invoke = vi.fn(async (cmd: string, args: Record<string, unknown>) => {
      if (cmd === 'fail') throw { kind: 'conflict', message: 'taken', details: null };
      return args;
    });
    const t = tauriTransport(invoke);
    expect(await t.send('open_prompt', { name: 'x' })).toEqual({ req: { name: 'x' } });
    const err = (await t.send('fail', {}).catch((e: unknown) => e)) as ApiCallError;
    expect(err.kind).toBe('conflict');
    expect(err.message).toBe('taken');
  });
});

describe('takeToken', () => {
  it('moves the token from the fragment to session storage', () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
    } as unknown as Storage;
    const replaced: string[] = [];
    const history = { replaceState: (_a: unknown, _b: string, url: string) => replaced.push(url) } as unknown as History;
    const loc = { hash: '#token=abc123', pathname: '/', search: '' } as Location;
    expect(takeToken(loc, storage, history)).toBe('abc123');
    expect(replaced).toEqual(['/']);
    // A reload without the fragment keeps working.
    expect(takeToken({ hash: '', pathname: '/', search: '' } as Location, storage, history)).toBe('abc123');
  });
});
