// Team sync in the window: the background rounds (every 30 s while a server is set, and ~2 s
// after a change made here, one at a time), the header's sync pill, Settings → Team server, and
// the conflict view that explains each change the server refused.
import { createContext, useCallback, useContext, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { RefusedDetail, RemoteSet, SetAsideEvent, SyncOutcome, SyncStatus } from '../api/generated';
import type { Call } from '../api/client';
import { errorText } from './context';
import { useCommandEach } from './useCommand';
import { Dialog } from './Dialog';
import { relativeTime } from '../lib/format';
import {
  describeRefused,
  lastRoundOf,
  pillView,
  readableMessage,
  SyncScheduler,
  type LastRound,
  type PillView,
} from '../lib/sync';

export interface SyncValue {
  /** The latest status; null before the first answer (or when it could not be read). */
  status: SyncStatus | null;
  /** Whether a round is running. */
  syncing: boolean;
  /** How the latest round in this window went; null before the first. */
  last: LastRound | null;
  /** Refused changes already looked at (they no longer count on the pill). */
  seen: ReadonlySet<string>;
  /** Runs a round now (after the running one, if any). */
  syncNow: () => Promise<SyncOutcome | undefined>;
  setRemote: (url: string, token: string) => Promise<RemoteSet>;
  forget: () => Promise<SyncStatus>;
  markSeen: (ids: string[]) => void;
  /** A change was made here: the status is read again and a round follows shortly. */
  changed: () => void;
  /** Opens the conflict view. */
  openConflicts: () => void;
}

export const SyncContext = createContext<SyncValue | null>(null);

/** The sync state, or null outside the App. */
export function useSync(): SyncValue | null {
  return useContext(SyncContext);
}

const seenKey = (registry: string) => `promptdesk.sync.seen:${registry}`;

function loadSeen(storage: Storage, registry: string): Set<string> {
  try {
    const ids: unknown = JSON.parse(storage.getItem(seenKey(registry)) ?? '[]');
    return new Set(Array.isArray(ids) ? ids.filter((i): i is string => typeof i === 'string') : []);
  } catch {
    return new Set();
  }
}

/** Runs the background rounds for the registry at `registry` (null until it is known). A round
 * that pulled something calls `onPulled`, so the views read their data again. */
export function useSyncController({
  call,
  registry,
  onPulled,
  openConflicts,
  storage = window.localStorage,
}: {
  call: Call;
  registry: string | null;
  onPulled: () => void;
  openConflicts: () => void;
  storage?: Storage;
}): SyncValue {
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const [syncing, setSyncing] = useState(false);
  const [last, setLast] = useState<LastRound | null>(null);
  const [seen, setSeen] = useState<ReadonlySet<string>>(() => new Set());
  const scheduler = useRef<SyncScheduler<SyncOutcome> | null>(null);
  const remoteRef = useRef<string | null>(null);
  const onPulledRef = useRef(onPulled);
  useEffect(() => {
    onPulledRef.current = onPulled;
  }, [onPulled]);

  const readStatus = useCallback(
    () =>
      call('sync_status', {}).then((s) => {
        setStatus(s);
        return s;
      }),
    [call],
  );

  useEffect(() => {
    if (registry === null) return;
    setLast(null);
    setSeen(loadSeen(storage, registry));
    readStatus().catch(() => setStatus(null));
  }, [registry, readStatus, storage]);

  const round = useCallback(async (): Promise<SyncOutcome> => {
    setSyncing(true);
    try {
      const out = await call('sync_now', {});
      setStatus(out.state);
      setLast(lastRoundOf(out));
      const r = out.report;
      if (r && (r.pulled > 0 || r.restored.length > 0 || r.renumbered > 0)) onPulledRef.current();
      return out;
    } catch (e) {
      // The backend itself could not run the round (the registry is away, say).
      setLast({ ok: false, kind: 'failed', message: errorText(e) });
      throw e;
    } finally {
      setSyncing(false);
    }
  }, [call]);

  const remote = status?.remote ?? null;
  useEffect(() => {
    remoteRef.current = remote;
    if (!remote) return;
    const s = new SyncScheduler(round);
    scheduler.current = s;
    void s.start();
    return () => {
      s.stop();
      if (scheduler.current === s) scheduler.current = null;
    };
  }, [remote, round]);

  const syncNow = useCallback(
    () => (scheduler.current ? scheduler.current.now() : round().catch(() => undefined)),
    [round],
  );

  const setRemote = useCallback(
    async (url: string, token: string) => {
      const r = await call('set_remote', { url, token });
      setLast(null);
      setStatus(r.status);
      // Same server, new token: sync with it now (a new server starts its own rounds).
      if (r.status.remote === remoteRef.current) void scheduler.current?.now();
      return r;
    },
    [call],
  );

  const forget = useCallback(async () => {
    const s = await call('forget_remote', {});
    setStatus(s);
    return s;
  }, [call]);

  const markSeen = useCallback(
    (ids: string[]) => {
      if (registry === null) return;
      const next = new Set([...loadSeen(storage, registry), ...ids]);
      // Only what is still refused is worth remembering.
      const refused = new Set(status?.refused.map((r) => r.event_id) ?? []);
      const kept = [...next].filter((id) => refused.has(id) || ids.includes(id));
      try {
        storage.setItem(seenKey(registry), JSON.stringify(kept));
      } catch {
        // A full or unavailable storage only means the pill counts them again next time.
      }
      setSeen(new Set(kept));
    },
    [registry, status, storage],
  );

  const changed = useCallback(() => {
    readStatus().catch(() => undefined);
    scheduler.current?.poke();
  }, [readStatus]);

  return { status, syncing, last, seen, syncNow, setRemote, forget, markSeen, changed, openConflicts };
}

/** The header's pill: what sync is doing, the detail on hover; a click opens what helps. */
export function SyncPill({ view, onClick }: { view: PillView; onClick: () => void }) {
  return (
    <span className="sync-pill-wrap" aria-live="polite">
      <button
        type="button"
        className={`btn btn--ghost sync-pill sync-pill--${view.kind}`}
        data-sync={view.kind}
        title={view.title}
        aria-label={`Team sync: ${view.text}`}
        onClick={onClick}
      >
        <span className="sync-pill__dot" aria-hidden="true" />
        {view.text}
      </button>
    </span>
  );
}

/** The pill for the current sync state, or nothing before the status is known. */
export function SyncStatusPill({ onOpenSettings }: { onOpenSettings: () => void }) {
  const sync = useSync();
  if (!sync?.status) return null;
  const view = pillView(sync.status, sync.syncing, sync.last, sync.seen);
  return <SyncPill view={view} onClick={view.kind === 'conflict' ? sync.openConflicts : onOpenSettings} />;
}

/** What a label serves now, in words, or why that is not known. */
type Now = { text: string } | { error: string };

/** The changes the server refused, each in words: what was tried, why the server refused it,
 * and what the label serves now (read from this registry, which follows the server). */
export function ConflictsDialog({
  refused,
  seen,
  onClose,
  onSeen,
  onOpenPrompt,
}: {
  refused: RefusedDetail[];
  seen: ReadonlySet<string>;
  onClose: () => void;
  onSeen: (ids: string[]) => void;
  onOpenPrompt: (name: string) => void;
}) {
  const ids = useId();

  // What each refused label move's label serves now, read once per prompt.
  const subjects = useMemo(
    () => [...new Set(refused.filter((r) => r.label && r.subject).map((r) => r.subject))],
    [refused],
  );
  const serving = useCommandEach('list_releases', subjects.map((name) => ({ name })));
  const now = useMemo(() => {
    const out: Record<string, Now> = {};
    if (serving === null) return out;
    for (const r of refused) {
      if (!r.label) continue;
      const answer = serving[subjects.indexOf(r.subject)];
      if (answer === undefined) continue;
      if ('error' in answer) {
        out[r.event_id] = { error: `What ${r.label} serves now could not be looked up: ${answer.error}` };
        continue;
      }
      const l = answer.data.serving.find((x) => x.name === r.label);
      out[r.event_id] = l
        ? { text: `${r.label} now serves v${l.number} (by ${l.moved_by}, ${relativeTime(l.moved_at)}).` }
        : { text: `${r.label} does not point at any version now.` };
    }
    return out;
  }, [refused, subjects, serving]);

  const unseen = refused.filter((r) => !seen.has(r.event_id));
  return (
    <Dialog title="Changes the server refused" onClose={onClose} wide>
      <div className="form conflicts">
        {refused.length === 0 ? (
          <p>Nothing was refused: every change made here reached the team's server.</p>
        ) : (
          <>
            <p>
              These changes were made here, but the team's server did not take them: someone else changed the same thing
              first, or the server's rules did not allow the change. The server's version stands, and this computer now
              follows it. To try again, make the change again from where things are now.
            </p>
            <ul className="conflicts__list" aria-label="Refused changes">
              {refused.map((r) => {
                const n = now[r.event_id];
                const headId = `${ids}-${r.event_id}`;
                return (
                  <li key={r.event_id} className="panel conflict" aria-labelledby={headId}>
                    <h3 id={headId} className="conflict__what">
                      {`${describeRefused(r)}${seen.has(r.event_id) ? ' (seen)' : ''}`}
                    </h3>
                    <p className="small muted">Made {relativeTime(r.at)} ({r.at}).</p>
                    <p>
                      <strong>Why the server refused it: </strong>
                      {readableMessage(r.message)}
                    </p>
                    {r.label ? (
                      <p>
                        <strong>What it points to now: </strong>
                        {n === undefined ? (
                          <span className="muted" aria-busy="true">
                            looking it up…
                          </span>
                        ) : 'text' in n ? (
                          n.text
                        ) : (
                          <span className="error">{n.error}</span>
                        )}
                      </p>
                    ) : null}
                    {r.subject && r.kind !== 'policy.set' && r.kind !== 'key.register' ? (
                      <div className="actions actions--start">
                        <button type="button" className="btn" aria-describedby={headId} onClick={() => onOpenPrompt(r.subject)}>
                          Open releases
                        </button>
                      </div>
                    ) : null}
                  </li>
                );
              })}
            </ul>
          </>
        )}
        <div className="actions">
          {unseen.length > 0 ? (
            <button type="button" className="btn" onClick={() => onSeen(unseen.map((r) => r.event_id))}>
              Mark as seen
            </button>
          ) : null}
          <button type="button" className="btn btn--primary" data-autofocus onClick={onClose}>
            Done
          </button>
        </div>
      </div>
    </Dialog>
  );
}

function tokenText(status: SyncStatus): string {
  if (status.token_from_env) return 'given by the PROMPTDESK_TOKEN environment variable (it wins over a kept one)';
  if (status.token_problem) return `unknown: ${status.token_problem}`;
  return status.token_kept ? `kept in ${status.token_store}` : 'none kept';
}

/** Settings → Team server: the server's address and the person's token (checked with the
 * server before anything is kept; typed, never shown back), forget the token, sync now. */
export function TeamServerSettings({ focus = false }: { focus?: boolean }) {
  const sync = useSync();
  const [url, setUrl] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState<null | 'save' | 'forget' | 'sync'>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string; warning?: string | null } | null>(null);
  const urlRef = useRef<HTMLInputElement>(null);
  const sectionRef = useRef<HTMLElement>(null);
  const remote = sync?.status?.remote ?? null;
  const known = sync?.status !== null && sync?.status !== undefined;

  // The address field starts with the server in use (and follows it when it changes).
  useEffect(() => {
    if (remote !== null) setUrl(remote);
  }, [remote]);

  useEffect(() => {
    if (!focus || !known) return;
    sectionRef.current?.scrollIntoView?.({ block: 'start' });
    urlRef.current?.focus();
  }, [focus, known]);

  if (!sync) return null;
  const { status } = sync;

  const run = async (what: 'save' | 'forget' | 'sync', f: () => Promise<void>) => {
    setBusy(what);
    setMsg(null);
    try {
      await f();
    } catch (e) {
      setMsg({ ok: false, text: errorText(e) });
    } finally {
      setBusy(null);
    }
  };

  const save = () =>
    run('save', async () => {
      const r = await sync.setRemote(url, token);
      setToken('');
      setMsg({ ok: true, text: `Connected to ${r.status.remote ?? url} as ${r.user} (${r.role}).`, warning: r.warning });
    });
  const forget = () =>
    run('forget', async () => {
      await sync.forget();
      setMsg({ ok: true, text: 'The token is forgotten. Sync stops until you save a new one.' });
    });
  const syncNow = () =>
    run('sync', async () => {
      const out = await sync.syncNow();
      if (!out) setMsg({ ok: false, text: 'The sync could not run (see the sync status in the header).' });
      else if (!out.ok) setMsg({ ok: false, text: out.message ?? 'The sync failed.' });
      else {
        const r = out.report;
        const refused = r && r.refused.length > 0 ? ` The server refused ${r.refused.length}: see the conflicts.` : '';
        setMsg({ ok: true, text: `Synced: sent ${r?.pushed ?? 0}, received ${r?.pulled ?? 0}.${refused}` });
      }
    });

  return (
    <section ref={sectionRef} id="team-server" className="panel form" aria-labelledby="team-heading">
      <h3 id="team-heading">Team server</h3>
      <p className="muted small">
        Promptdesk sends your versions, reviews and releases to your team's registry server and brings back everyone
        else's, in the background every 30 seconds and shortly after each change. Your token is checked with the server,
        then kept in {status?.token_store ?? 'your key store'}, never in the registry file.
      </p>
      {status ? (
        <dl className="facts">
          <dt>Server</dt>
          <dd>{status.remote ?? <span className="muted">none: your work stays on this computer</span>}</dd>
          {status.remote ? (
            <>
              <dt>Token</dt>
              <dd>{tokenText(status)}</dd>
              <dt>Last synced</dt>
              <dd>{status.last_synced_at ? `${relativeTime(status.last_synced_at)} (${status.last_synced_at})` : 'not yet'}</dd>
              <dt>Waiting to be sent</dt>
              <dd>{status.pending === 1 ? '1 change' : `${status.pending} changes`}</dd>
              {status.last_error ? (
                <>
                  <dt>Last attempt</dt>
                  <dd className="error">{status.last_error}</dd>
                </>
              ) : null}
            </>
          ) : null}
        </dl>
      ) : (
        <p className="muted" aria-busy="true">
          Reading the sync status…
        </p>
      )}
      <form
        className="form"
        aria-label="Connect to a team server"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label>
          Server address
          <input
            ref={urlRef}
            type="url"
            className="mono"
            value={url}
            placeholder="http://127.0.0.1:8600"
            spellCheck={false}
            disabled={!status}
            onChange={(e) => setUrl(e.target.value)}
          />
        </label>
        <label>
          Token
          <input
            type="password"
            className="mono"
            value={token}
            autoComplete="off"
            spellCheck={false}
            placeholder={status?.token_kept ? 'A token is kept; type a new one to replace it' : 'pdt_…'}
            disabled={!status}
            onChange={(e) => setToken(e.target.value)}
          />
        </label>
        <div className="actions actions--start">
          <button type="submit" className="btn btn--primary" disabled={!status || busy !== null || !url.trim() || !token.trim()}>
            {busy === 'save' ? 'Checking the token…' : 'Save server'}
          </button>
          <button
            type="button"
            className="btn"
            disabled={!status?.remote || !status.token_kept || busy !== null}
            onClick={() => void forget()}
          >
            Forget token
          </button>
          <button type="button" className="btn" disabled={!status?.remote || busy !== null || sync.syncing} onClick={() => void syncNow()}>
            {busy === 'sync' || sync.syncing ? 'Syncing…' : 'Sync now'}
          </button>
          {status && status.refused.length > 0 ? (
            <button type="button" className="btn" onClick={sync.openConflicts}>
              Refused changes ({status.refused.length})
            </button>
          ) : null}
        </div>
      </form>
      {msg ? (
        <p role={msg.ok ? 'status' : 'alert'} className={msg.ok ? 'ok' : 'error'}>
          {msg.text}
        </p>
      ) : null}
      {msg?.warning ? (
        <p role="alert" className="warning">
          {msg.warning}
        </p>
      ) : null}
      {status && status.set_aside.length > 0 ? <SetAsideList events={status.set_aside} /> : null}
    </section>
  );
}

const CHANGE_WORDS: Record<string, string> = {
  'prompt.create': 'A new prompt',
  'prompt.update': 'A change of description or tags',
  'version.create': 'A new version',
  'key.register': 'A signing key',
  'label.move': 'A label move',
  'review.request': 'A review request',
  'review.event': 'A review comment or decision',
  'policy.set': 'A release policy change',
};

/** A kind of change in words (record changes keep their own name, e.g. `suite.created`). */
function changeInWords(kind: string): string {
  return CHANGE_WORDS[kind] ?? `A change (${kind})`;
}

/** Changes from the team that this registry pulled but could not apply. Syncing goes on without
 * them; the list says whose change each was and why, so someone can ask its author. */
export function SetAsideList({ events }: { events: SetAsideEvent[] }) {
  return (
    <div role="alert" className="warning" aria-label="Changes set aside">
      <p>
        {events.length === 1 ? '1 change' : `${events.length} changes`} from the team could not be applied in this
        registry and {events.length === 1 ? 'was' : 'were'} set aside. Everything else synced as usual.
      </p>
      <ul>
        {events.map((e) => (
          <li key={e.event_id}>
            <strong>
              {changeInWords(e.kind)}
              {e.subject ? ` on ${e.subject}` : ''} by {e.author || 'someone'}
            </strong>{' '}
            (server #{e.seq}) could not be applied: {e.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
