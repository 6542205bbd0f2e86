// Settings → Release policies: what each protected label asks before it moves — approvals, a
// changelog, who may promote and roll back, freeze windows and the test suite a release must
// pass. Only admins may change them; the backend refuses anyone else, and that answer is shown.
import { useEffect, useState } from 'react';
import type { AppInfo, Policy, PolicyOfLabel, Role } from '../../api/generated';
import { errorText, useApi } from '../context';
import { FormDialog } from '../Dialog';
import { LabelBadge } from '../labels';
import { ROLES, formOf, labelProblem, policyOf, policySummary, type FreezeRow, type PolicyForm } from '../../lib/policy';

/** What a label nobody configured gets (the backend's `Policy::unprotected`). */
const UNPROTECTED: Policy = {
  required_approvals: 0,
  changelog_required: false,
  required_suite: null,
  promote_role: 'editor',
  rollback_role: 'editor',
  rollback_needs_approvals: false,
  freeze_windows: [],
};

export function ReleasePolicies({ refreshKey = 0 }: { refreshKey?: number }) {
  const { call } = useApi();
  const [policies, setPolicies] = useState<PolicyOfLabel[] | null>(null);
  const [me, setMe] = useState<Pick<AppInfo, 'actor' | 'role'> | null>(null);
  const [editing, setEditing] = useState<PolicyOfLabel | 'new' | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);

  useEffect(() => {
    call('list_policies', {})
      .then(setPolicies)
      .catch((e) => setMsg({ ok: false, text: errorText(e) }));
    call('app_info', {})
      .then((i) => setMe({ actor: i.actor, role: i.role }))
      .catch(() => undefined);
  }, [call, refreshKey]);

  return (
    <section className="panel form" aria-labelledby="policies-heading">
      <h3 id="policies-heading">Release policies</h3>
      <p className="muted small">
        What a label asks before a version moves to it. Rollbacks stay possible in a freeze window: an incident must never
        wait.
      </p>
      {me && me.role !== 'admin' ? (
        <p className="small note" id="policies-admin-note">
          Only admins may change release policies; you ({me.actor}) are {me.role === 'editor' ? 'an' : 'a'} {me.role}. The
          registry will say so if you try.
        </p>
      ) : null}
      {policies === null ? (
        msg ? null : (
          <p className="muted small" aria-busy="true">
            Loading…
          </p>
        )
      ) : (
        <table className="queue policies" aria-label="Release policies">
          <thead>
            <tr>
              <th>Label</th>
              <th>Policy</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {policies.map((p) => (
              <tr key={p.label}>
                <td>
                  <LabelBadge label={p.label} />
                </td>
                <td className="small">{policySummary(p.policy)}</td>
                <td className="providers__actions">
                  <button type="button" className="btn btn--small" aria-label={`Edit the policy of ${p.label}`} onClick={() => setEditing(p)}>
                    Edit
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="actions actions--start">
        <button type="button" className="btn" onClick={() => setEditing('new')} disabled={policies === null}>
          Add a policy for a label…
        </button>
      </div>
      {msg ? (
        <p role={msg.ok ? 'status' : 'alert'} className={msg.ok ? 'ok small' : 'error'}>
          {msg.text}
        </p>
      ) : null}
      {editing ? (
        <PolicyDialog
          label={editing === 'new' ? null : editing.label}
          policy={editing === 'new' ? UNPROTECTED : editing.policy}
          taken={(policies ?? []).map((p) => p.label)}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            setEditing(null);
            setPolicies((ps) => {
              const rest = (ps ?? []).filter((p) => p.label !== saved.label);
              return [...rest, saved].sort((a, b) => (a.label === 'production' ? -1 : b.label === 'production' ? 1 : a.label.localeCompare(b.label)));
            });
            setMsg({ ok: true, text: `Saved the release policy of ${saved.label}.` });
          }}
        />
      ) : null}
    </section>
  );
}

export function PolicyDialog({
  label,
  policy,
  taken = [],
  onClose,
  onSaved,
}: {
  /** The label whose policy is edited; null for a new one (then the label is asked for). */
  label: string | null;
  policy: Policy;
  taken?: readonly string[];
  onClose: () => void;
  onSaved: (p: PolicyOfLabel) => void;
}) {
  const { call, refresh } = useApi();
  const [name, setName] = useState(label ?? '');
  const [form, setForm] = useState<PolicyForm>(() => formOf(policy));
  const set = (patch: Partial<PolicyForm>) => setForm((f) => ({ ...f, ...patch }));
  const setFreeze = (n: number, patch: Partial<FreezeRow>) =>
    setForm((f) => ({ ...f, freezes: f.freezes.map((w, j) => (j === n ? { ...w, ...patch } : w)) }));

  const read = policyOf(form);
  const problem =
    (label === null ? (labelProblem(name) ?? (taken.includes(name.trim()) ? `${name.trim()} has a policy already: edit it instead.` : null)) : null) ??
    ('error' in read ? read.error : null);

  const submit = async () => {
    if (!('policy' in read)) return;
    const saved = await call('set_policy', { label: label ?? name.trim(), policy: read.policy });
    // The protected-label badges follow the policies.
    refresh();
    onSaved(saved);
  };

  const roleSelect = (value: Role, onChange: (r: Role) => void, text: string) => (
    <label>
      {text}
      <select aria-label={text} value={value} onChange={(e) => onChange(e.target.value as Role)}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r} or above
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <FormDialog
      title={label ? `Release policy for ${label}` : 'A release policy for a label'}
      onClose={onClose}
      onSubmit={submit}
      submitLabel="Save policy"
      blocked={problem !== null}
      submitDescribedBy="policy-problem"
      wide
      after={
        <p id="policy-problem" className={`small ${problem ? 'error' : 'muted'}`}>
          {problem ?? 'Recorded in the ledger with the policy before and after; it applies to the next release.'}
        </p>
      }
    >
      {label === null ? (
        <label>
          Label
          <input data-autofocus value={name} onChange={(e) => setName(e.target.value)} placeholder="staging" spellCheck={false} />
        </label>
      ) : null}
      <div className="grid2">
        <label>
          Approvals required
          <input
            data-autofocus={label !== null ? true : undefined}
            className="num-input"
            type="number"
            min={0}
            max={20}
            value={form.approvals}
            onChange={(e) => set({ approvals: e.target.value })}
            aria-describedby="policy-approvals-hint"
          />
        </label>
        <p id="policy-approvals-hint" className="small muted policy__hint">
          From distinct reviewers, never the version’s author, for exactly the content released.
        </p>
      </div>
      <label className="checkline">
        <input type="checkbox" checked={form.changelog} onChange={(e) => set({ changelog: e.target.checked })} />
        Changelog required
      </label>
      <div className="grid2">
        {roleSelect(form.promoteRole, (r) => set({ promoteRole: r }), 'Who may promote')}
        {roleSelect(form.rollbackRole, (r) => set({ rollbackRole: r }), 'Who may roll back')}
      </div>
      <label className="checkline">
        <input type="checkbox" checked={form.rollbackNeedsApprovals} onChange={(e) => set({ rollbackNeedsApprovals: e.target.checked })} />
        Rollbacks need the approvals too
      </label>
      <fieldset className="fieldset">
        <legend>Test suite requirement</legend>
        <label className="checkline">
          <input type="checkbox" checked={form.suiteRequired} onChange={(e) => set({ suiteRequired: e.target.checked })} />
          Require a test suite to pass
        </label>
        <div className="grid2">
          <label>
            Suite
            <input value={form.suite} disabled={!form.suiteRequired} onChange={(e) => set({ suite: e.target.value })} spellCheck={false} />
          </label>
          <label>
            Minimum pass rate (%)
            <input
              className="num-input"
              type="number"
              min={0}
              max={100}
              step="any"
              value={form.minPassRate}
              disabled={!form.suiteRequired}
              onChange={(e) => set({ minPassRate: e.target.value })}
            />
          </label>
        </div>
        <label className="checkline">
          <input type="checkbox" checked={form.noRegressions} disabled={!form.suiteRequired} onChange={(e) => set({ noRegressions: e.target.checked })} />
          No regressions (no case that passes on what the label serves may fail)
        </label>
        <p className="hint">
          The suite’s latest complete run on the version being released counts, with the version’s own model settings.
        </p>
      </fieldset>
      <fieldset className="fieldset">
        <legend>Freeze windows (your local time)</legend>
        {form.freezes.length === 0 ? <p className="small muted">None: releases are allowed at any time.</p> : null}
        {form.freezes.map((w, n) => (
          <div key={n} className="row freeze">
            <label>
              From
              <input type="datetime-local" aria-label={`Start of freeze window ${n + 1}`} value={w.from} onChange={(e) => setFreeze(n, { from: e.target.value })} />
            </label>
            <label>
              To
              <input type="datetime-local" aria-label={`End of freeze window ${n + 1}`} value={w.to} onChange={(e) => setFreeze(n, { to: e.target.value })} />
            </label>
            <label className="grow">
              Reason
              <input aria-label={`Reason for freeze window ${n + 1}`} value={w.reason} onChange={(e) => setFreeze(n, { reason: e.target.value })} />
            </label>
            <button
              type="button"
              className="btn btn--ghost btn--icon"
              aria-label={`Remove freeze window ${n + 1}`}
              onClick={() => set({ freezes: form.freezes.filter((_, j) => j !== n) })}
            >
              ×
            </button>
          </div>
        ))}
        <button type="button" className="btn btn--small" onClick={() => set({ freezes: [...form.freezes, { from: '', to: '', reason: '' }] })}>
          Add a freeze window
        </button>
      </fieldset>
    </FormDialog>
  );
}
