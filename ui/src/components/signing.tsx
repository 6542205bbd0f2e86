// Signing keys: where the acting person's key lives, and what to do when that place does not
// work. The App runs the backend's canary (`check_signing_key`, through `useSigningController`)
// at start and whenever the acting person changes; when it fails, the "Signing keys" dialog says so and asks. Nothing is ever
// chosen for the person: keys go to plain files only when they press "Keep keys in files".
import { createContext, useCallback, useContext, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { KeyStatus, KeyStoreKind } from '../api/generated';
import type { Call } from '../api/client';
import { errorText } from './context';
import { Dialog } from './Dialog';

export interface SigningValue {
  /** The latest answer of the canary; null before the first one (or when it failed). */
  status: KeyStatus | null;
  /** Why the canary itself could not run (a bad PROMPTDESK_KEYSTORE, say). */
  error: string | null;
  /** Runs the canary again. */
  recheck: () => Promise<KeyStatus>;
  /** Keeps keys in the OS keyring or in plain files from now on, then runs the canary. */
  choose: (store: KeyStoreKind) => Promise<KeyStatus>;
  /** Opens the "Signing keys" dialog. */
  ask: () => void;
}

export const SigningContext = createContext<SigningValue | null>(null);

/** The signing state, or null outside the App (then nothing is known and nothing is blocked). */
export function useSigning(): SigningValue | null {
  return useContext(SigningContext);
}

/**
 * The canary and what it found, for the App: runs `check_signing_key` once the acting person is
 * known and again whenever they (or the registry) change, and opens the dialog when it fails. An
 * answer the person's own recheck or choice overtook is dropped.
 */
export function useSigningController(call: Call, actor: string | undefined, registryPath: string | undefined) {
  const [status, setStatus] = useState<KeyStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dialogOpen, setDialogOpen] = useState(false);
  const seq = useRef(0);

  useEffect(() => {
    if (actor === undefined) return;
    const mine = ++seq.current;
    call('check_signing_key', {})
      .then((k) => {
        if (mine !== seq.current) return;
        setStatus(k);
        setError(null);
        setDialogOpen(!k.ok);
      })
      .catch((e) => {
        if (mine !== seq.current) return;
        setStatus(null);
        setError(errorText(e));
      });
  }, [call, actor, registryPath]);

  const value = useMemo<SigningValue>(() => {
    const take = (k: KeyStatus) => {
      seq.current++;
      setStatus(k);
      setError(null);
      return k;
    };
    return {
      status,
      error,
      recheck: () => call('check_signing_key', {}).then(take),
      choose: (store: KeyStoreKind) => call('choose_key_store', { store }).then(take),
      ask: () => setDialogOpen(true),
    };
  }, [call, status, error]);
  const closeDialog = useCallback(() => setDialogOpen(false), []);
  return { value, dialogOpen, closeDialog };
}

const DECIDED_BY: Record<string, string> = {
  default: 'nobody chose; the OS keyring is the default',
  PROMPTDESK_KEYSTORE: 'the PROMPTDESK_KEYSTORE environment variable',
  remembered: 'a choice made earlier, remembered by Promptdesk',
  chosen: 'a choice made in this window',
};

export function decidedByText(status: KeyStatus): string {
  return DECIDED_BY[status.decided_by] ?? status.decided_by;
}

/** What choosing plain files means, in full: where, who can read them, and for how long. */
export function filesExplanation(status: KeyStatus): string {
  const where = status.files_dir ? `in ${status.files_dir}` : 'in a folder of your data directory';
  const lasts = status.choice_remembered
    ? 'Promptdesk remembers this choice; you can change it in Settings.'
    : 'This choice lasts until `promptdesk ui` stops (set PROMPTDESK_KEYSTORE=file:DIR to make it at start).';
  return `Your key is kept in plain files ${where}, readable only by your OS account. That is less protected than the keyring: anyone who can read your files can sign as you. ${lasts}`;
}

function storeName(status: KeyStatus): string {
  return status.store_kind === 'os' ? 'The OS keyring' : `Plain files in ${status.files_dir ?? 'the key folder'}`;
}

/** The modal shown when the canary fails: what is wrong, what signing is for, and three
 * choices. After a choice it shows the outcome. */
export function SigningKeysDialog({
  status,
  error,
  onRecheck,
  onChoose,
  onClose,
}: {
  /** The failed (or, after a choice, the new) status; null when the check itself failed. */
  status: KeyStatus | null;
  error: string | null;
  onRecheck: () => Promise<KeyStatus>;
  onChoose: (store: KeyStoreKind) => Promise<KeyStatus>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState<null | 'check' | 'choose'>(null);
  const [note, setNote] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const ids = useId();
  const other: KeyStoreKind = status?.store_kind === 'files' ? 'os' : 'files';

  const run = async (what: 'check' | 'choose') => {
    setBusy(what);
    setFailure(null);
    setNote(null);
    try {
      const s = what === 'check' ? await onRecheck() : await onChoose(other);
      if (!s.ok) {
        setNote(
          what === 'check'
            ? 'Checked again: still not available (the reason above is the latest).'
            : `${storeName(s)}: not available either (the reason above says why).`,
        );
      }
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(null);
    }
  };

  if (status?.ok) {
    return (
      <Dialog title="Signing keys" onClose={onClose}>
        <SigningWorks status={status} onClose={onClose} />
      </Dialog>
    );
  }

  const filesUnavailable = other === 'files' && !status?.files_dir;
  return (
    <Dialog title="Signing keys" onClose={onClose}>
      <div className="form signing">
        <p>
          <strong>
            {status ? `${storeName(status)} ${status.store_kind === 'os' ? 'is' : 'do'} not available here.` : 'Signing keys could not be checked.'}
          </strong>{' '}
          Approvals and releases are signed with your own key, so anyone can verify later who approved or released what.
          Its private half needs a place to live.
        </p>
        <p className="warning signing__reason" role="alert">
          <span className="signing__why">Why: </span>
          {status ? status.message : error}
        </p>
        <p>Promptdesk does not choose for you. What would you like to do?</p>
        <ul className="choices" aria-label="Choices">
          <li>
            <button
              type="button"
              className="btn"
              data-autofocus
              disabled={busy !== null}
              aria-describedby={`${ids}-retry`}
              onClick={() => void run('check')}
            >
              {busy === 'check' ? 'Checking…' : 'Try again'}
            </button>
            <p id={`${ids}-retry`} className="small muted">
              Check again, for example after unlocking or starting the keyring.
            </p>
          </li>
          <li>
            <button
              type="button"
              className="btn"
              disabled={busy !== null || filesUnavailable}
              aria-describedby={`${ids}-other`}
              onClick={() => void run('choose')}
            >
              {other === 'files' ? 'Keep keys in files' : 'Use the OS keyring'}
            </button>
            <p id={`${ids}-other`} className="small muted">
              {other === 'os'
                ? 'Keep your key in the OS keyring (Secret Service, Keychain or Credential Manager) instead.'
                : filesUnavailable
                  ? 'Not possible here: this system has no data directory for key files. Set PROMPTDESK_KEYSTORE=file:DIR and start again.'
                  : status
                    ? filesExplanation(status)
                    : 'Your key is kept in plain files readable only by your OS account: less protected than the keyring.'}
            </p>
          </li>
          <li>
            <button type="button" className="btn" disabled={busy !== null} aria-describedby={`${ids}-later`} onClick={onClose}>
              Not now
            </button>
            <p id={`${ids}-later`} className="small muted">
              Read, edit and comment as usual; approving and releasing will be refused until a key store works. Settings →
              Signing key offers these choices again.
            </p>
          </li>
        </ul>
        <p className="small signing__outcome" role="status">
          {busy === 'choose' ? 'Setting up your key…' : note}
        </p>
        {failure ? (
          <p role="alert" className="error">
            {failure}
          </p>
        ) : null}
      </div>
    </Dialog>
  );
}

/** The outcome after a choice that worked. Takes the focus: the button pressed is gone. */
function SigningWorks({ status, onClose }: { status: KeyStatus; onClose: () => void }) {
  const done = useRef<HTMLButtonElement>(null);
  useEffect(() => done.current?.focus(), []);
  return (
    <div className="form">
      <p role="status" className="ok">
        Signing works. Your key <code>{status.key_id}</code> is kept in {status.store}.
      </p>
      <p className="small muted">
        Approvals and releases you make are signed with it. Settings → Signing key shows where it lives and lets you change
        that.
      </p>
      <div className="actions">
        <button ref={done} type="button" className="btn btn--primary" data-autofocus onClick={onClose}>
          Done
        </button>
      </div>
    </div>
  );
}

/** Settings → Signing key: where keys live, who decided, the key, and the choices. */
export function SigningKeySettings() {
  const signing = useSigning();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  if (!signing) return null;
  const { status, error } = signing;

  const run = async (f: () => Promise<KeyStatus>) => {
    setBusy(true);
    setFailure(null);
    try {
      await f();
    } catch (e) {
      setFailure(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel form" aria-labelledby="signing-heading">
      <h3 id="signing-heading">Signing key</h3>
      <p className="muted small">
        Approvals and releases are signed with your key, so anyone can verify later who approved or released what.
      </p>
      {status ? (
        <dl className="facts">
          <dt>Kept in</dt>
          <dd>{status.store}</dd>
          <dt>Decided by</dt>
          <dd>{decidedByText(status)}</dd>
          <dt>Your key</dt>
          <dd>{status.key_id ? <code>{status.key_id}</code> : <span className="error">none: signing does not work here</span>}</dd>
          <dt>Check</dt>
          <dd>
            <span className={status.ok ? 'ok' : 'error'} role={status.ok ? undefined : 'alert'}>
              {status.ok ? '✓ ' : '✗ '}
              {status.message}
            </span>
          </dd>
        </dl>
      ) : error ? (
        <p role="alert" className="error">
          The key store could not be checked: {error}
        </p>
      ) : (
        <p className="muted" aria-busy="true">
          Checking the key store…
        </p>
      )}
      {status?.decided_by === 'PROMPTDESK_KEYSTORE' ? (
        <p className="small muted">A choice made here overrides PROMPTDESK_KEYSTORE for this {status.choice_remembered ? 'app' : 'run'}.</p>
      ) : null}
      {status && status.store_kind === 'os' ? (
        <p className="small muted">Keep keys in files: {filesExplanation(status)}</p>
      ) : null}
      <div className="actions actions--start">
        <button type="button" className="btn" disabled={busy} onClick={() => void run(signing.recheck)}>
          Check again
        </button>
        <button
          type="button"
          className="btn"
          disabled={busy || status?.store_kind === 'os'}
          onClick={() => void run(() => signing.choose('os'))}
        >
          Use the OS keyring
        </button>
        <button
          type="button"
          className="btn"
          disabled={busy || status?.store_kind === 'files' || (status !== null && !status.files_dir)}
          onClick={() => void run(() => signing.choose('files'))}
        >
          Keep keys in files
        </button>
      </div>
      {failure ? (
        <p role="alert" className="error">
          {failure}
        </p>
      ) : null}
    </section>
  );
}
