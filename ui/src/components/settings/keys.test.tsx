// Settings → Team signing keys against a scripted backend: the list says whose each key is and
// which are revoked (by whom, why); "Make a new key" rotates and says what became of the old
// key; "Revoke…" asks why, sends it, and shows a refusal in words.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { KeyRotation, SigningKey } from '../../api/generated';
import type { Call } from '../../api/client';
import { ApiContext } from '../context';
import { TeamKeys } from './TeamKeys';

afterEach(cleanup);

type Handler = (req: Record<string, unknown>) => unknown;

function backend(handlers: Record<string, Handler>) {
  const log: { command: string; req: Record<string, unknown> }[] = [];
  const call = (async (command: string, req: Record<string, unknown>) => {
    log.push({ command, req });
    await Promise.resolve();
    const h = handlers[command];
    if (!h) throw { kind: 'internal', message: `unexpected ${command}`, details: null };
    return h(req);
  }) as unknown as Call;
  return { call, requests: (c: string) => log.filter((l) => l.command === c).map((l) => l.req) };
}

const key = (over: Partial<SigningKey> = {}): SigningKey => ({
  key_id: '1a2b3c4d5e6f7a8b',
  person: 'ben',
  public_key: 'ab'.repeat(32),
  registered_at: '2026-03-01T11:00:00Z',
  pushed_by: null,
  revoked: null,
  ...over,
});

function show(call: Call, actor = 'ben') {
  render(
    <ApiContext.Provider value={{ call, transport: 'web', refresh: () => undefined }}>
      <TeamKeys actor={actor} />
    </ApiContext.Provider>,
  );
}

describe('Team signing keys', () => {
  it('lists whose each key is and which are revoked, with who and why', async () => {
    const b = backend({
      list_signing_keys: () => [
        key(),
        key({
          key_id: '9f8e7d6c5b4a3928',
          person: 'rita',
          pushed_by: 'root',
          revoked: { by: 'root', at: '2026-03-01T11:30:00Z', reason: 'Rita left the team' },
        }),
      ],
    });
    show(b.call);
    const table = await screen.findByRole('table', { name: 'Signing keys' });
    const [, ben, rita] = within(table).getAllByRole('row') as [HTMLElement, HTMLElement, HTMLElement];
    expect(within(table).getAllByRole('row')).toHaveLength(3);
    expect(ben.textContent).toContain('ben (you)');
    expect(ben.textContent).toContain('In use');
    expect(rita.textContent).toMatch(/Revoked by root .*: Rita left the team/);
    expect(rita.textContent).toContain('pushed by root on behalf of rita');
    // A revoked key cannot be revoked again.
    expect(within(rita).queryByRole('button')).toBeNull();
    expect(screen.getByText(/Replaces your key 1a2b3c4d5e6f7a8b/)).toBeTruthy();
  });

  it('makes a new key and says the old one is revoked', async () => {
    let keys = [key()];
    const rotation: KeyRotation = {
      new_key: key({ key_id: 'feedfacecafebeef' }),
      old_key: key({ revoked: { by: 'ben', at: '2026-03-01T12:00:00Z', reason: 'rotated to a new key' } }),
    };
    const b = backend({
      list_signing_keys: () => keys,
      rotate_signing_key: () => {
        keys = [rotation.new_key, rotation.old_key!];
        return rotation;
      },
    });
    show(b.call);
    await screen.findByRole('table', { name: 'Signing keys' });
    fireEvent.click(screen.getByRole('button', { name: 'Make a new key' }));
    const done = await screen.findByRole('status');
    expect(done.textContent).toContain('You now sign with key feedfacecafebeef');
    expect(done.textContent).toContain('old key 1a2b3c4d5e6f7a8b is revoked');
    await waitFor(() => expect(screen.getAllByRole('row')).toHaveLength(3));
  });

  it('asks why before revoking, sends the reason, and shows a refusal in words', async () => {
    const b = backend({
      list_signing_keys: () => [key({ person: 'rita' })],
      revoke_signing_key: () => {
        throw { kind: 'policy_refused', message: 'ana is an editor; a signing key of rita is revoked by rita or by an admin', details: null };
      },
    });
    show(b.call, 'ana');
    fireEvent.click(await screen.findByRole('button', { name: /Revoke rita's key/ }));
    const dialog = await screen.findByRole('dialog');
    const submit = within(dialog).getByRole('button', { name: 'Revoke key' }) as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    fireEvent.change(within(dialog).getByLabelText('Why'), { target: { value: 'Laptop lost' } });
    expect(submit.disabled).toBe(false);
    fireEvent.click(submit);
    const refusal = await within(dialog).findByRole('alert');
    expect(refusal.textContent).toContain('revoked by rita or by an admin');
    expect(b.requests('revoke_signing_key')).toEqual([{ key_id: '1a2b3c4d5e6f7a8b', reason: 'Laptop lost' }]);
  });
});
