// Settings → Team signing keys: every key in this registry (whose, since when, whether it still
// counts), "Make a new key" for the acting person (rotation: the old key is revoked, what it
// signed stays signed), and "Revoke…" with a reason for one's own keys or, as an admin, anyone's.
// The backend decides who may revoke what; the page says why when it refuses.
import { useCallback, useEffect, useState } from 'react';
import type { SigningKey } from '../../api/generated';
import { relativeTime } from '../../lib/format';
import { errorText, useApi } from '../context';
import { Dialog } from '../Dialog';
import { useSigning } from '../signing';

export function TeamKeys({ actor }: { actor: string | null }) {
  const { call } = useApi();
  const signing = useSigning();
  const [keys, setKeys] = useState<SigningKey[] | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [revoking, setRevoking] = useState<SigningKey | null>(null);

  const load = useCallback(() => {
    call('list_signing_keys', {})
      .then(setKeys)
      .catch((e) => setMsg({ ok: false, text: errorText(e) }));
  }, [call]);
  useEffect(load, [load, actor]);

  const rotate = async () => {
    setBusy(true);
    setMsg(null);
    try {
      const r = await call('rotate_signing_key', {});
      setMsg({
        ok: true,
        text: r.old_key
          ? `You now sign with key ${r.new_key.key_id}. The old key ${r.old_key.key_id} is revoked: its approvals no longer count. Sync to tell the team.`
          : `You now sign with key ${r.new_key.key_id}.`,
      });
      await signing?.recheck();
    } catch (e) {
      setMsg({ ok: false, text: errorText(e) });
    } finally {
      setBusy(false);
      load();
    }
  };

  const mine = (keys ?? []).filter((k) => k.person === actor && !k.revoked);
  return (
    <section className="panel form" aria-labelledby="team-keys-heading">
      <h3 id="team-keys-heading">Team signing keys</h3>
      <p className="muted small">
        Every approval and release is signed with its author’s key. Make a new key when you change machines; revoke a key
        that is lost or belongs to someone who left. A revoked key signs nothing more, and approvals signed with it stop
        counting.
      </p>
      {msg ? (
        <p role={msg.ok ? 'status' : 'alert'} className={msg.ok ? 'ok' : 'error'}>
          {msg.text}
        </p>
      ) : null}
      {keys === null ? (
        <p className="muted" aria-busy="true">
          Reading keys…
        </p>
      ) : keys.length === 0 ? (
        <p className="muted small">No keys yet: a key is made on your first approval or release.</p>
      ) : (
        <table className="keys" aria-label="Signing keys">
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Key</th>
              <th scope="col">Registered</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.key_id} className={k.revoked ? 'keys__revoked' : undefined}>
                <td>
                  {k.person}
                  {k.person === actor ? <span className="muted small"> (you)</span> : null}
                </td>
                <td>
                  <code>{k.key_id}</code>
                </td>
                <td>
                  <time dateTime={k.registered_at} title={k.registered_at}>
                    {relativeTime(k.registered_at)}
                  </time>
                  {k.pushed_by ? <span className="muted small"> · pushed by {k.pushed_by} on behalf of {k.person}</span> : null}
                </td>
                <td>
                  {k.revoked ? (
                    <span className="error">
                      Revoked by {k.revoked.by} <time dateTime={k.revoked.at}>{relativeTime(k.revoked.at)}</time>:{' '}
                      {k.revoked.reason}
                    </span>
                  ) : (
                    <span className="ok">In use</span>
                  )}
                </td>
                <td>
                  {k.revoked ? null : (
                    <button
                      type="button"
                      className="btn btn--small"
                      aria-label={`Revoke ${k.person}'s key ${k.key_id}…`}
                      onClick={() => setRevoking(k)}
                    >
                      Revoke…
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="actions actions--start">
        <button type="button" className="btn" disabled={busy || !actor} onClick={() => void rotate()}>
          {busy ? 'Making a new key…' : 'Make a new key'}
        </button>
        <span className="small muted">
          {mine.length ? `Replaces your key ${mine.map((k) => k.key_id).join(', ')} and revokes it.` : 'Makes your key now.'}
        </span>
      </div>
      {revoking ? (
        <RevokeKeyDialog
          signingKey={revoking}
          onClose={() => setRevoking(null)}
          onRevoked={(k) => {
            setRevoking(null);
            setMsg({ ok: true, text: `Key ${k.key_id} of ${k.person} is revoked. Sync to tell the team.` });
            load();
            void signing?.recheck();
          }}
        />
      ) : null}
    </section>
  );
}

function RevokeKeyDialog({
  signingKey,
  onClose,
  onRevoked,
}: {
  signingKey: SigningKey;
  onClose: () => void;
  onRevoked: (k: SigningKey) => void;
}) {
  const { call } = useApi();
  const [reason, setReason] = useState('');
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={`Revoke ${signingKey.person}'s key`} onClose={onClose}>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setFailure(null);
          call('revoke_signing_key', { key_id: signingKey.key_id, reason })
            .then(onRevoked)
            .catch((err) => setFailure(errorText(err)))
            .finally(() => setBusy(false));
        }}
      >
        <p>
          Key <code>{signingKey.key_id}</code> will sign nothing more, and approvals signed with it stop counting towards
          any release. What it signed stays in the record. This cannot be undone.
        </p>
        <label>
          Why
          <input
            data-autofocus
            value={reason}
            placeholder="Laptop lost, left the team, …"
            onChange={(e) => setReason(e.target.value)}
          />
        </label>
        {failure ? (
          <p role="alert" className="error">
            {failure}
          </p>
        ) : null}
        <div className="actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn--danger" disabled={busy || !reason.trim()}>
            {busy ? 'Revoking…' : 'Revoke key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
