// Team sync against scripted backends: the pill's states, the background rounds (one at a time,
// soon after a change, a refresh after a pull), Settings → Team server and the conflict view.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import type { AppInfo, KeyStatus, Label, RefusedDetail, RemoteSet, SyncOutcome, SyncReport, SyncStatus, VersionSummary } from '../api/generated';
import type { Call } from '../api/client';
import { ApiContext } from './context';
import { ConflictsDialog, SyncContext, SyncStatusPill, TeamServerSettings, useSyncController, type SyncValue } from './sync';
import { describeRefused, pillView, readableMessage, SyncScheduler } from '../lib/sync';
import { App } from '../App';
import { History } from './editor/History';

beforeEach(() => window.localStorage.clear());
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

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
  return { call, log, count: (c: string) => log.filter((l) => l.command === c).length };
}

const NOW = Date.parse('2026-03-01T12:00:00Z');
const HASH = 'a1b2c3d4e5'.repeat(6) + 'abcd';

const status = (over: Partial<SyncStatus> = {}): SyncStatus => ({
  remote: 'http://127.0.0.1:8600',
  token_kept: true,
  token_from_env: false,
  token_store: 'the OS keyring',
  token_problem: null,
  pending: 0,
  cursor: 12,
  refused: [],
  set_aside: [],
  last_synced_at: '2026-03-01T11:57:00Z',
  last_error: null,
  ...over,
});

const refusedMove = (over: Partial<RefusedDetail> = {}): RefusedDetail => ({
  event_id: 'ev-1',
  kind: 'label.move',
  subject: 'support/greeting',
  message: `staging of support/greeting moved to version 2 (by ana at 2026-03-01T11:50:00Z) before this move arrived; it now serves ${HASH}`,
  at: '2026-03-01T11:49:00Z',
  label: 'staging',
  move_kind: 'set',
  to_version: 3,
  from_version: 1,
  ...over,
});

const report = (over: Partial<SyncReport> = {}): SyncReport => ({
  pushed: 0,
  duplicates: 0,
  refused: [],
  pulled: 0,
  renumbered: 0,
  restored: [],
  gap_filled: false,
  cursor: 12,
  ...over,
});

const serving: Label[] = [{ name: 'staging', number: 2, hash: HASH, moved_at: '2026-03-01T11:50:00Z', moved_by: 'ana' }];

const outcome = (over: Partial<SyncOutcome> = {}): SyncOutcome => ({ ok: true, kind: null, message: null, report: report(), state: status(), ...over });

describe('the sync pill', () => {
  it('says "Not synced" without a server', () => {
    const v = pillView(status({ remote: null }), false, null, new Set(), NOW);
    expect(v).toMatchObject({ kind: 'none', text: 'Not synced' });
    expect(v.title).toMatch(/No team server is set/);
  });

  it('says "Syncing…" while a round runs', () => {
    expect(pillView(status({ pending: 2 }), true, null, new Set(), NOW)).toMatchObject({ kind: 'syncing', text: 'Syncing…' });
  });

  it('says "Synced" with the last time on hover', () => {
    const v = pillView(status(), false, { ok: true, kind: null, message: null }, new Set(), NOW);
    expect(v).toMatchObject({ kind: 'synced', text: 'Synced' });
    expect(v.title).toContain('Last synced 3 minutes ago (2026-03-01T11:57:00Z)');
  });

  it('says how many changes wait', () => {
    const v = pillView(status({ pending: 3 }), false, { ok: true, kind: null, message: null }, new Set(), NOW);
    expect(v).toMatchObject({ kind: 'pending', text: '3 pending' });
    expect(v.title).toMatch(/^3 changes made here wait to be sent to http:\/\/127\.0\.0\.1:8600\./);
  });

  it('says "Offline" with the error on hover, and what waits', () => {
    const message = 'the server at http://127.0.0.1:8600 cannot be reached: Connection refused';
    const v = pillView(status({ pending: 1, last_error: message }), false, { ok: false, kind: 'offline', message }, new Set(), NOW);
    expect(v).toMatchObject({ kind: 'offline', text: 'Offline' });
    expect(v.title).toContain(message);
    expect(v.title).toContain('1 change made here waits to be sent.');
    // Before the first round in this window, the remembered error says the same.
    expect(pillView(status({ last_error: message }), false, null, new Set(), NOW).kind).toBe('offline');
  });

  it('says "Sync failed" for other failures, with the reason on hover', () => {
    const message = 'The server at http://127.0.0.1:8600 does not accept the token (revoked).';
    const v = pillView(status(), false, { ok: false, kind: 'unauthorized', message }, new Set(), NOW);
    expect(v).toMatchObject({ kind: 'failed', text: 'Sync failed' });
    expect(v.title).toContain(message);
  });

  it('says "Conflict (N)" while refused changes are not looked at, whatever else is true', () => {
    const s = status({ pending: 2, refused: [refusedMove(), refusedMove({ event_id: 'ev-2' })] });
    expect(pillView(s, false, { ok: false, kind: 'offline', message: 'x' }, new Set(), NOW)).toMatchObject({
      kind: 'conflict',
      text: 'Conflict (2)',
    });
    expect(pillView(s, false, null, new Set(['ev-1']), NOW).text).toBe('Conflict (1)');
    expect(pillView(s, false, null, new Set(['ev-1', 'ev-2']), NOW).text).toBe('2 pending');
  });

  const withSync = (value: Partial<SyncValue>, children: ReactNode) => {
    const full: SyncValue = {
      status: status(),
      syncing: false,
      last: null,
      seen: new Set(),
      syncNow: vi.fn(async () => undefined),
      setRemote: vi.fn(),
      forget: vi.fn(),
      markSeen: vi.fn(),
      changed: vi.fn(),
      openConflicts: vi.fn(),
      ...value,
    };
    return { full, ui: <SyncContext.Provider value={full}>{children}</SyncContext.Provider> };
  };

  it('is a button named for screen readers; a click opens Settings, or the conflicts', () => {
    const onOpenSettings = vi.fn();
    const none = withSync({ status: status({ remote: null }) }, <SyncStatusPill onOpenSettings={onOpenSettings} />);
    const { rerender } = render(none.ui);
    const pill = screen.getByRole('button', { name: 'Team sync: Not synced' });
    fireEvent.click(pill);
    expect(onOpenSettings).toHaveBeenCalledTimes(1);

    const conflict = withSync({ status: status({ refused: [refusedMove()] }) }, <SyncStatusPill onOpenSettings={onOpenSettings} />);
    rerender(conflict.ui);
    fireEvent.click(screen.getByRole('button', { name: 'Team sync: Conflict (1)' }));
    expect(conflict.full.openConflicts).toHaveBeenCalledTimes(1);
    expect(onOpenSettings).toHaveBeenCalledTimes(1);
  });

  it('shows nothing before the status is known', () => {
    const { ui } = withSync({ status: null }, <SyncStatusPill onOpenSettings={() => undefined} />);
    render(ui);
    expect(screen.queryByRole('button', { name: /Team sync/ })).toBeNull();
  });
});

describe('refused changes in words', () => {
  it('names what was tried', () => {
    expect(describeRefused(refusedMove())).toBe('Your move of staging of support/greeting to v3');
    expect(describeRefused(refusedMove({ move_kind: 'release', label: 'production', to_version: 4 }))).toBe(
      'Your release of production of support/greeting to v4',
    );
    expect(describeRefused(refusedMove({ move_kind: 'rollback', to_version: 1 }))).toBe('Your rollback of staging of support/greeting to v1');
    expect(describeRefused(refusedMove({ label: null, move_kind: null, to_version: null }))).toBe('Your label move of support/greeting');
    expect(describeRefused(refusedMove({ kind: 'version.create', label: null }))).toBe('Your new version of support/greeting');
    expect(describeRefused(refusedMove({ kind: 'review.event', subject: '', label: null }))).toBe('Your review comment or decision');
  });

  it('shortens content hashes in the server message', () => {
    expect(readableMessage(`it now serves ${HASH}`)).toBe('it now serves #a1b2c3d4e5');
  });
});

describe('the background rounds', () => {
  it('never runs two rounds at once, and queues one more after a change made during a round', async () => {
    let release: () => void = () => undefined;
    let running = 0;
    let most = 0;
    let rounds = 0;
    const s = new SyncScheduler(
      () =>
        new Promise<number>((resolve) => {
          running++;
          rounds++;
          most = Math.max(most, running);
          release = () => {
            running--;
            resolve(rounds);
          };
        }),
      30_000,
      2_000,
    );
    const first = s.now();
    const joined = s.now(false);
    const again = s.now();
    const againToo = s.now();
    expect(rounds).toBe(1);
    release();
    expect(await first).toBe(1);
    expect(await joined).toBe(1);
    await vi.waitFor(() => expect(rounds).toBe(2));
    release();
    expect(await again).toBe(2);
    expect(await againToo).toBe(2);
    expect(most).toBe(1);
    s.stop();
  });

  it('runs every 30 s and 2 s after the last change', async () => {
    vi.useFakeTimers();
    const run = vi.fn(async () => 1);
    const s = new SyncScheduler(run, 30_000, 2_000);
    await s.start();
    expect(run).toHaveBeenCalledTimes(1);
    s.poke();
    await vi.advanceTimersByTimeAsync(1_500);
    s.poke();
    await vi.advanceTimersByTimeAsync(1_500);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(run).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(run).toHaveBeenCalledTimes(3);
    s.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).toHaveBeenCalledTimes(3);
  });

  it('syncs at start, ~2 s after a change, refreshes after a pull, and shows "Syncing…" meanwhile', async () => {
    vi.useFakeTimers();
    let hold: (() => void) | null = null;
    let pulled = 0;
    const b = backend({
      sync_status: () => status({ pending: 1 }),
      sync_now: () =>
        new Promise((resolve) => {
          hold = () => resolve(outcome({ report: report({ pulled }), state: status() }));
        }),
    });
    const onPulled = vi.fn();
    let value: SyncValue | null = null;
    render(<HarnessWithContext call={b.call} onPulled={onPulled} expose={(v) => (value = v)} />);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(b.count('sync_now')).toBe(1);
    screen.getByRole('button', { name: 'Team sync: Syncing…' });
    await act(async () => {
      hold!();
      await vi.advanceTimersByTimeAsync(0);
    });
    screen.getByRole('button', { name: 'Team sync: Synced' });
    expect(onPulled).not.toHaveBeenCalled();

    // A change made here: the status is read again (pending shows) and a round follows ~2 s on.
    pulled = 2;
    await act(async () => {
      value!.changed();
      await vi.advanceTimersByTimeAsync(1_900);
    });
    expect(b.count('sync_now')).toBe(1);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(200);
    });
    expect(b.count('sync_now')).toBe(2);
    // A manual "Sync now" during that round waits for it instead of running alongside.
    let manual: Promise<unknown> = Promise.resolve();
    await act(async () => {
      manual = value!.syncNow();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(b.count('sync_now')).toBe(2);
    await act(async () => {
      hold!();
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(onPulled).toHaveBeenCalledTimes(1);
    await vi.waitFor(() => expect(b.count('sync_now')).toBe(3));
    await act(async () => {
      hold!();
      await manual;
    });
    expect(onPulled).toHaveBeenCalledTimes(2);
  });

  function HarnessWithContext(props: { call: Call; onPulled: () => void; expose: (v: SyncValue) => void }) {
    const v = useSyncController({ call: props.call, registry: '/r.db', onPulled: props.onPulled, openConflicts: () => undefined });
    props.expose(v);
    return (
      <SyncContext.Provider value={v}>
        <SyncStatusPill onOpenSettings={() => undefined} />
      </SyncContext.Provider>
    );
  }

  it('does not sync without a server', async () => {
    const b = backend({ sync_status: () => status({ remote: null }) });
    render(<HarnessWithContext call={b.call} onPulled={() => undefined} expose={() => undefined} />);
    await screen.findByRole('button', { name: 'Team sync: Not synced' });
    await act(async () => undefined);
    expect(b.count('sync_now')).toBe(0);
  });
});

describe('Settings → Team server', () => {
  const remoteSet = (over: Partial<RemoteSet> = {}): RemoteSet => ({ user: 'ana', role: 'releaser', warning: null, status: status(), ...over });

  function setup(handlers: Record<string, Handler>) {
    const b = backend({ sync_status: () => status({ remote: null, token_kept: false }), ...handlers });
    function Wrapped() {
      const v = useSyncController({ call: b.call, registry: '/r.db', onPulled: () => undefined, openConflicts: () => undefined });
      return (
        <ApiContext.Provider value={{ call: b.call, transport: 'web', refresh: () => undefined }}>
          <SyncContext.Provider value={v}>
            <TeamServerSettings />
          </SyncContext.Provider>
        </ApiContext.Provider>
      );
    }
    render(<Wrapped />);
    return b;
  }

  it('checks the token, shows who it signs in as, and clears the token field', async () => {
    const b = setup({ set_remote: () => remoteSet(), sync_now: () => outcome() });
    const region = await screen.findByRole('region', { name: 'Team server' });
    const url = within(region).getByLabelText('Server address');
    const token = within(region).getByLabelText('Token') as HTMLInputElement;
    expect(token.type).toBe('password');
    await waitFor(() => expect((url as HTMLInputElement).disabled).toBe(false));
    fireEvent.change(url, { target: { value: 'http://127.0.0.1:8600' } });
    fireEvent.change(token, { target: { value: 'pdt_secret' } });
    fireEvent.click(within(region).getByRole('button', { name: 'Save server' }));
    await within(region).findByText('Connected to http://127.0.0.1:8600 as ana (releaser).');
    expect(b.log.find((l) => l.command === 'set_remote')?.req).toEqual({ url: 'http://127.0.0.1:8600', token: 'pdt_secret' });
    expect(token.value).toBe('');
    // Never shown back: not in the page at all.
    expect(document.body.innerHTML).not.toContain('pdt_secret');
    // The new server starts its rounds.
    await waitFor(() => expect(b.count('sync_now')).toBe(1));
  });

  it('shows the warning when the token is someone else’s', async () => {
    setup({
      set_remote: () => remoteSet({ user: 'ben', warning: 'The token signs in as ben, but your identity is ana.' }),
      sync_now: () => outcome(),
    });
    const region = await screen.findByRole('region', { name: 'Team server' });
    await waitFor(() => expect((within(region).getByLabelText('Token') as HTMLInputElement).disabled).toBe(false));
    fireEvent.change(within(region).getByLabelText('Server address'), { target: { value: 'http://127.0.0.1:8600' } });
    fireEvent.change(within(region).getByLabelText('Token'), { target: { value: 'pdt_x' } });
    fireEvent.click(within(region).getByRole('button', { name: 'Save server' }));
    expect((await within(region).findByRole('alert')).textContent).toBe('The token signs in as ben, but your identity is ana.');
  });

  it('shows why a token was refused and keeps what was typed', async () => {
    const b = setup({
      set_remote: () => {
        throw { kind: 'bad_input', message: 'The server at http://127.0.0.1:8600 does not accept this token (unknown token). Nothing was saved.', details: null };
      },
    });
    const region = await screen.findByRole('region', { name: 'Team server' });
    const token = within(region).getByLabelText('Token') as HTMLInputElement;
    await waitFor(() => expect(token.disabled).toBe(false));
    fireEvent.change(within(region).getByLabelText('Server address'), { target: { value: 'http://127.0.0.1:8600' } });
    fireEvent.change(token, { target: { value: 'pdt_typo' } });
    fireEvent.click(within(region).getByRole('button', { name: 'Save server' }));
    expect((await within(region).findByRole('alert')).textContent).toMatch(/does not accept this token.*Nothing was saved/);
    expect(token.value).toBe('pdt_typo');
    expect(b.count('sync_now')).toBe(0);
  });

  it('forgets the token and syncs on demand', async () => {
    let kept = true;
    const b = setup({
      sync_status: () => status({ token_kept: kept }),
      forget_remote: () => {
        kept = false;
        return status({ token_kept: false });
      },
      sync_now: () => outcome({ report: report({ pushed: 2, pulled: 1 }) }),
    });
    const region = await screen.findByRole('region', { name: 'Team server' });
    await within(region).findByText('kept in the OS keyring');
    await waitFor(() => expect(b.count('sync_now')).toBe(1));
    await waitFor(() => expect((within(region).getByRole('button', { name: 'Sync now' }) as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(within(region).getByRole('button', { name: 'Sync now' }));
    await within(region).findByText('Synced: sent 2, received 1.');
    fireEvent.click(within(region).getByRole('button', { name: 'Forget token' }));
    await within(region).findByText('none kept');
    expect(b.count('forget_remote')).toBe(1);
  });

  it('lists the team changes set aside here, whose each was and why, and says the rest synced', async () => {
    const setAside = {
      event_id: 'ev-9',
      seq: 41,
      kind: 'review.event',
      subject: 'support/greeting',
      author: 'vic',
      message: 'it replies to ev-3, which is not an earlier event of review #2',
      at: '2026-03-01T11:58:00Z',
    };
    setup({ sync_status: () => status({ set_aside: [setAside] }), sync_now: () => outcome({ state: status({ set_aside: [setAside] }) }) });
    const list = await screen.findByRole('alert', { name: 'Changes set aside' });
    expect(list.textContent).toContain('1 change from the team could not be applied in this registry and was set aside');
    expect(list.textContent).toContain('Everything else synced as usual.');
    expect(within(list).getByRole('listitem').textContent).toBe(
      'A review comment or decision on support/greeting by vic (server #41) could not be applied: it replies to ev-3, which is not an earlier event of review #2',
    );
  });

  it('shows no set-aside list when nothing was set aside', async () => {
    setup({ sync_status: () => status(), sync_now: () => outcome() });
    await screen.findByRole('region', { name: 'Team server' });
    expect(screen.queryByRole('alert', { name: 'Changes set aside' })).toBeNull();
  });
});

describe('the conflict view', () => {
  it('says what was tried, why the server refused it, and what the label serves now', async () => {
    const b = backend({ list_releases: () => ({ serving, releases: [] }) });
    const onSeen = vi.fn();
    const onOpenPrompt = vi.fn();
    render(
      <ApiContext.Provider value={{ call: b.call, transport: 'web', refresh: () => undefined }}>
        <ConflictsDialog refused={[refusedMove()]} seen={new Set()} onClose={() => undefined} onSeen={onSeen} onOpenPrompt={onOpenPrompt} />
      </ApiContext.Provider>,
    );
    const dialog = screen.getByRole('dialog', { name: 'Changes the server refused' });
    const list = within(dialog).getByRole('list', { name: 'Refused changes' });
    const item = within(list).getByRole('listitem', { name: 'Your move of staging of support/greeting to v3' });
    expect(item.textContent).toContain(
      'Why the server refused it: staging of support/greeting moved to version 2 (by ana at 2026-03-01T11:50:00Z) before this move arrived; it now serves #a1b2c3d4e5',
    );
    await within(item).findByText(/^staging now serves v2 \(by ana, /);
    expect(b.log).toEqual([{ command: 'list_releases', req: { name: 'support/greeting' } }]);

    fireEvent.click(within(item).getByRole('button', { name: 'Open releases' }));
    expect(onOpenPrompt).toHaveBeenCalledWith('support/greeting');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Mark as seen' }));
    expect(onSeen).toHaveBeenCalledWith(['ev-1']);
  });

  it('says when the label points nowhere now, or why that could not be looked up', async () => {
    const b = backend({
      list_releases: (req) => {
        if (req.name === 'gone') throw { kind: 'not_found', message: "no prompt named 'gone'", details: null };
        return { serving: [], releases: [] };
      },
    });
    render(
      <ApiContext.Provider value={{ call: b.call, transport: 'web', refresh: () => undefined }}>
        <ConflictsDialog
          refused={[refusedMove(), refusedMove({ event_id: 'ev-2', subject: 'gone' }), refusedMove({ event_id: 'ev-3', kind: 'version.create', label: null, move_kind: null })]}
          seen={new Set(['ev-3'])}
          onClose={() => undefined}
          onSeen={() => undefined}
          onOpenPrompt={() => undefined}
        />
      </ApiContext.Provider>,
    );
    await screen.findByText('staging does not point at any version now.');
    await screen.findByText("What staging serves now could not be looked up: no prompt named 'gone'");
    const version = screen.getByRole('listitem', { name: 'Your new version of support/greeting (seen)' });
    expect(version.textContent).not.toContain('What it points to now');
  });
});

describe('in the App', () => {
  const info: AppInfo = {
    name: 'Promptdesk',
    version: '0',
    content_format: '1',
    registry_path: '/r.db',
    actor: 'ana',
    identity: null,
    role: 'admin',
  };
  const keys: KeyStatus = {
    ok: true,
    message: 'ok',
    key_id: 'k',
    store: 'the OS keyring',
    store_kind: 'os',
    decided_by: 'default',
    files_dir: null,
    choice_remembered: false,
  };
  const base = {
    app_info: () => info,
    check_signing_key: () => keys,
    list_policies: () => [],
    list_reviews: () => [],
    list_prompts: () => [],
    get_settings: () => ({ identity: null, actor: 'ana', registry_path: '/r.db' }),
  };

  it('"Not synced" opens Settings at Team server', async () => {
    const b = backend({ ...base, sync_status: () => status({ remote: null, token_kept: false }) });
    window.location.hash = '#/';
    render(<App call={b.call} transport="web" />);
    fireEvent.click(await screen.findByRole('button', { name: 'Team sync: Not synced' }));
    const region = await screen.findByRole('region', { name: 'Team server' });
    await waitFor(() => expect(document.activeElement).toBe(within(region).getByLabelText('Server address')));
    expect(window.location.hash).toBe('#/settings/team');
  });

  it('a change made in a view reads the status again and starts a round about 2 s later', async () => {
    const b = backend({
      ...base,
      sync_status: () => status(),
      sync_now: () => outcome(),
      create_prompt: (req) => ({ prompt: { name: req.name } }),
    });
    window.location.hash = '#/';
    render(<App call={b.call} transport="web" />);
    await screen.findByRole('button', { name: 'Team sync: Synced' });
    expect(b.count('sync_now')).toBe(1);
    const reads = b.count('sync_status');
    fireEvent.click(screen.getByRole('button', { name: 'New prompt' }));
    const dialog = await screen.findByRole('dialog', { name: 'New prompt' });
    fireEvent.change(within(dialog).getByLabelText('Name'), { target: { value: 'support/hello' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(b.count('sync_status')).toBe(reads + 1));
    expect(b.count('sync_now')).toBe(1);
    await waitFor(() => expect(b.count('sync_now')).toBe(2), { timeout: 5000 });
  });

  it('shows a conflict after a round, opens the conflict view from the pill, and reads listings again after a pull', async () => {
    const b = backend({
      ...base,
      sync_status: () => status(),
      sync_now: () => outcome({ report: report({ pulled: 3, refused: [refusedMove()] }), state: status({ refused: [refusedMove()] }) }),
      list_releases: () => ({ serving, releases: [] }),
    });
    window.location.hash = '#/';
    render(<App call={b.call} transport="web" />);
    const pill = await screen.findByRole('button', { name: 'Team sync: Conflict (1)' });
    await waitFor(() => expect(b.count('list_prompts')).toBeGreaterThanOrEqual(2));
    fireEvent.click(pill);
    const dialog = await screen.findByRole('dialog', { name: 'Changes the server refused' });
    await within(dialog).findByText(/^staging now serves v2 \(by ana, /);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Mark as seen' }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Done' }));
    await screen.findByRole('button', { name: 'Team sync: Synced' });
    // Seen stays seen in this registry.
    expect(JSON.parse(window.localStorage.getItem('promptdesk.sync.seen:/r.db')!)).toEqual(['ev-1']);
  });

});

describe('after a round that pulled versions', () => {
  it('the history shows the new ones and keeps what was picked', async () => {
    const v = (number: number, author = 'me'): VersionSummary => ({
      number,
      hash: `h${number}`,
      parent_hash: null,
      author,
      message: `version ${number}`,
      created_at: '2026-03-01T11:00:00Z',
      labels: [],
    });
    let versions = [v(2), v(1)];
    const b = backend({
      history: () => ({ versions, total: versions.length }),
      open_prompt: () => ({ samples: {}, has_changes: false }),
      diff_versions: (req) => ({
        old_label: `p@${String(req.old)}`,
        new_label: `p@${String(req.new)}`,
        diff: { kind: null, template: null, messages: [], variables: [], model: [], includes: [], rendered: null, coarse: false },
        render_error: null,
      }),
    });
    const ui = (refreshKey: number) => (
      <ApiContext.Provider value={{ call: b.call, transport: 'web', refresh: () => undefined }}>
        <History name="p" refreshKey={refreshKey} />
      </ApiContext.Provider>
    );
    const { rerender } = render(ui(0));
    const one = (await screen.findByRole('checkbox', { name: 'Pick version 1' })) as HTMLInputElement;
    expect(one.checked).toBe(true);
    versions = [v(3, 'ana'), v(2), v(1)];
    rerender(ui(1));
    await screen.findByRole('checkbox', { name: 'Pick version 3' });
    expect((screen.getByRole('checkbox', { name: 'Pick version 1' }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole('checkbox', { name: 'Pick version 2' }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole('checkbox', { name: 'Pick version 3' }) as HTMLInputElement).checked).toBe(false);
  });
});
