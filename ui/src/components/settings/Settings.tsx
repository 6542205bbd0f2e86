// Settings: who you are (recorded on every version and event), where your signing key lives
// and everyone's keys (rotate, revoke),
// the team's server, the model providers eval runs use, the labels' release policies, and which
// registry file is open.
import { useEffect, useState } from 'react';
import type { Settings as SettingsData } from '../../api/generated';
import { errorText, useApi } from '../context';
import { SigningKeySettings } from '../signing';
import { TeamKeys } from './TeamKeys';
import { TeamServerSettings } from '../sync';
import { ModelProviders } from './Providers';
import { ReleasePolicies } from '../releases/Policies';

export function Settings({
  onRegistryChanged,
  onIdentityChanged,
  section,
  refreshKey = 0,
}: {
  /** A section to show and focus first (the sync pill opens "Team server"). */
  section?: 'team' | undefined;
  onRegistryChanged: () => void;
  /** The acting person changed: everything that depends on who acts is read again. */
  onIdentityChanged?: () => void;
  /** Changes with the listings (and the acting person): the release policies are read again. */
  refreshKey?: number;
}) {
  const { call, transport } = useApi();
  const [data, setData] = useState<SettingsData | null>(null);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [path, setPath] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);

  const show = (s: SettingsData) => {
    setData(s);
    setName(s.identity?.name ?? '');
    setEmail(s.identity?.email ?? '');
    setPath(s.registry_path);
  };

  useEffect(() => {
    call('get_settings', {})
      .then(show)
      .catch((e) => setMsg({ ok: false, text: errorText(e) }));
  }, [call]);

  return (
    <div className="settings pad">
      <h2>Settings</h2>
      {msg ? (
        <p role={msg.ok ? 'status' : 'alert'} className={msg.ok ? 'ok' : 'error'}>
          {msg.text}
        </p>
      ) : null}
      <form
        className="panel form"
        aria-labelledby="identity-heading"
        onSubmit={(e) => {
          e.preventDefault();
          call('set_identity', { name, email })
            .then((s) => {
              show(s);
              setMsg({ ok: true, text: 'Identity saved.' });
              onIdentityChanged?.();
            })
            .catch((err) => setMsg({ ok: false, text: errorText(err) }));
        }}
      >
        <h3 id="identity-heading">Identity</h3>
        <p className="muted small">Recorded as the author of your versions and on every event in the ledger.</p>
        {/* Editable once the stored identity is in: typing before it arrived would be overwritten
            by it (and an empty name then saved). */}
        <label>
          Name
          <input value={name} disabled={!data} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Email
          <input type="email" value={email} disabled={!data} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <p className="small muted">Acting as: {data ? data.actor : '…'}</p>
        <div className="actions">
          <button type="submit" className="btn btn--primary" disabled={!data}>
            Save identity
          </button>
        </div>
      </form>
      <SigningKeySettings />
      <TeamKeys actor={data ? data.actor : null} />
      <TeamServerSettings focus={section === 'team'} />
      <ModelProviders />
      <ReleasePolicies refreshKey={refreshKey} />
      <form
        className="panel form"
        aria-labelledby="registry-heading"
        onSubmit={(e) => {
          e.preventDefault();
          call('open_registry', { path })
            .then((s) => {
              show(s);
              setMsg({ ok: true, text: `Opened ${s.registry_path}.` });
              onRegistryChanged();
            })
            .catch((err) => setMsg({ ok: false, text: errorText(err) }));
        }}
      >
        <h3 id="registry-heading">Registry</h3>
        <p className="muted small">
          The SQLite file that holds your prompts. A new file is created if none exists at that path.{' '}
          {transport === 'desktop'
            ? 'Promptdesk opens it again next time.'
            : 'In the browser this lasts until `promptdesk ui` stops; pass --registry to choose at start.'}
        </p>
        <label>
          Registry file
          <input className="mono" value={path} disabled={!data} onChange={(e) => setPath(e.target.value)} spellCheck={false} />
        </label>
        <div className="actions">
          <button type="submit" className="btn" disabled={!data || path === data.registry_path}>
            Open registry
          </button>
        </div>
      </form>
    </div>
  );
}
