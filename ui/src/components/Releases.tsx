// A prompt's releases: what each label serves now (production first and largest), every
// release and rollback with who, why and whose approvals, and "Roll back…" with a reason.
import { useEffect, useState } from 'react';
import type { Label, Policy, Release, ReleaseTimeline, VersionSummary } from '../api/generated';
import { errorText, useApi } from './context';
import { relativeTime, shortHash } from '../lib/format';
import { labelOrder, rollbackTarget } from '../lib/release';
import { FormDialog } from './Dialog';

export function Releases({ name, refreshKey }: { name: string; refreshKey: number }) {
  const { call } = useApi();
  const [timeline, setTimeline] = useState<ReleaseTimeline | null>(null);
  const [policies, setPolicies] = useState<Record<string, Policy>>({});
  const [error, setError] = useState<string | null>(null);
  const [rollingBack, setRollingBack] = useState<Label | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    call('list_releases', { name })
      .then(async (t) => {
        if (!live) return;
        setTimeline(t);
        setError(null);
        const entries = await Promise.all(
          t.serving.map((l) =>
            call('policy_of_label', { label: l.name })
              .then((p) => [l.name, p.policy] as const)
              .catch(() => null),
          ),
        );
        if (live) setPolicies(Object.fromEntries(entries.filter((e) => e !== null)));
      })
      .catch((e) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [call, name, refreshKey, reload]);

  if (error) {
    return (
      <p role="alert" className="error pad">
        {error}
      </p>
    );
  }
  if (!timeline) {
    return (
      <p className="muted pad" aria-busy="true">
        Loading releases…
      </p>
    );
  }
  const serving = [...timeline.serving].filter((l) => l.name !== 'latest').sort((a, b) => labelOrder(a.name, b.name));
  return (
    <div className="releases pad">
      <section aria-labelledby="serving-heading">
        <h3 id="serving-heading">Serving now</h3>
        {serving.length === 0 ? (
          <p className="muted">
            No label points at a version of this prompt yet. Request a review, then release it from the review page.
          </p>
        ) : (
          <ul className="serving" aria-label="Labels">
            {serving.map((l) => {
              const target = rollbackTarget(timeline.releases, l.name, l.hash);
              const policy = policies[l.name];
              const isProtected = policy ? policy.required_approvals > 0 : l.name === 'production';
              return (
                <li key={l.name} className={`serving__card serving__card--${l.name === 'production' ? 'prod' : 'other'}`}>
                  <span className={`badge badge--${l.name} badge--big`}>
                    {l.name} v{l.number}
                  </span>
                  <span className="muted small">
                    {isProtected ? 'protected · ' : ''}moved by {l.moved_by}{' '}
                    <time dateTime={l.moved_at} title={l.moved_at}>
                      {relativeTime(l.moved_at)}
                    </time>{' '}
                    · <code>{shortHash(l.hash)}</code>
                  </span>
                  <span className="grow" />
                  <button
                    type="button"
                    className="btn"
                    onClick={() => setRollingBack(l)}
                    disabled={target === null}
                    aria-label={`Roll back ${l.name}…`}
                    title={target === null ? `${l.name} has no earlier release to go back to` : `Back to version ${target}`}
                  >
                    Roll back…
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </section>
      <section aria-labelledby="timeline-heading">
        <h3 id="timeline-heading">Timeline</h3>
        {timeline.releases.length === 0 ? <p className="muted">No releases or rollbacks yet.</p> : null}
        <ol className="timeline" aria-label="Release timeline">
          {timeline.releases.map((r) => (
            <TimelineEntry key={r.id} r={r} />
          ))}
        </ol>
      </section>
      {rollingBack ? (
        <RollbackDialog
          name={name}
          label={rollingBack}
          target={rollbackTarget(timeline.releases, rollingBack.name, rollingBack.hash)}
          onClose={() => setRollingBack(null)}
          onDone={() => {
            setRollingBack(null);
            setReload((k) => k + 1);
          }}
        />
      ) : null}
    </div>
  );
}

function TimelineEntry({ r }: { r: Release }) {
  return (
    <li className={`timeline__entry timeline__entry--${r.kind}`}>
      <p className="timeline__what">
        <span className={`kindtag kindtag--${r.kind}`}>{r.kind}</span>{' '}
        <span className={`badge badge--${r.label}`}>{r.label}</span>{' '}
        <span className="mono">
          {r.from_version !== null ? `v${r.from_version}` : 'nothing'} → v{r.to_version}
        </span>
        {r.review !== null ? <span className="muted small"> · review #{r.review}</span> : null}
        {r.bundle ? <span className="muted small"> · bundle {r.bundle}</span> : null}
      </p>
      <p className="small">
        {r.actor} <span className="muted">({r.actor_role})</span> ·{' '}
        <time dateTime={r.at} title={r.at}>
          {relativeTime(r.at)}
        </time>
        {r.approvals.length ? <> · approved by {r.approvals.join(', ')}</> : <span className="muted"> · no approvals</span>}
      </p>
      {r.changelog ? (
        <p className="timeline__why">
          <span className="muted small">{r.kind === 'rollback' ? 'Reason: ' : 'Changelog: '}</span>
          {r.changelog}
        </p>
      ) : null}
    </li>
  );
}

function RollbackDialog({
  name,
  label,
  target,
  onClose,
  onDone,
}: {
  name: string;
  label: Label;
  target: number | null;
  onClose: () => void;
  onDone: () => void;
}) {
  const { call, refresh } = useApi();
  const [reason, setReason] = useState('');

  const submit = async () => {
    await call('rollback_label', {
      name,
      label: label.name,
      reason: reason.trim(),
      // The version this dialog promised; the server checks it is an earlier release.
      ...(target !== null ? { to: String(target) } : {}),
    });
    refresh();
    onDone();
  };

  return (
    <FormDialog
      title={`Roll back ${label.name}`}
      onClose={onClose}
      onSubmit={submit}
      submitLabel="Roll back"
      blocked={!reason.trim()}
    >
      <p>
        <code>{name}</code>: {label.name} goes from <strong>v{label.number}</strong> back to{' '}
        <strong>{target !== null ? `v${target}` : 'its previous release'}</strong>
        {target !== null ? ', the version it served before.' : '.'} Applications get it on their next fetch.
      </p>
      <label>
        Reason
        <textarea
          data-autofocus
          rows={3}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          placeholder="What went wrong with the current version"
          aria-describedby="rollback-hint"
        />
      </label>
      <p id="rollback-hint" className="hint">
        Required; recorded in the release ledger with your name.
      </p>
    </FormDialog>
  );
}

export function RequestReviewDialog({
  name,
  onClose,
  onRequested,
}: {
  name: string;
  onClose: () => void;
  onRequested: (number: number) => void;
}) {
  const { call, refresh } = useApi();
  const [versions, setVersions] = useState<VersionSummary[] | null>(null);
  const [version, setVersion] = useState('');
  const [label, setLabel] = useState('production');
  const [description, setDescription] = useState('');
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    call('history', { name, limit: 100 })
      .then((p) => {
        if (!live) return;
        setVersions(p.versions);
        setVersion((v) => v || (p.versions[0] ? String(p.versions[0].number) : ''));
      })
      .catch((e) => live && setLoadError(errorText(e)));
    return () => {
      live = false;
    };
  }, [call, name]);

  const submit = async () => {
    const r = await call('request_review', { name, reference: version, label: label.trim(), description: description.trim() });
    refresh();
    onRequested(r.number);
  };

  const none = versions !== null && versions.length === 0;
  return (
    <FormDialog
      title="Request review"
      onClose={onClose}
      onSubmit={submit}
      submitLabel="Request review"
      blocked={!version || !label.trim()}
    >
      {loadError ? (
      <p role="alert" className="error">
        {loadError}
      </p>
      ) : null}
      {none ? (
        <p className="warning">Save a version first: a review is for an exact, saved version.</p>
      ) : null}
      <label>
        Version
        <select data-autofocus value={version} onChange={(e) => setVersion(e.target.value)} disabled={!versions || none}>
          {(versions ?? []).map((v, i) => (
            <option key={v.number} value={String(v.number)}>
              v{v.number}
              {i === 0 ? ' (latest)' : ''} — {v.message}
            </option>
          ))}
        </select>
      </label>
      <label>
        Label
        <input list="review-labels" value={label} onChange={(e) => setLabel(e.target.value)} spellCheck={false} />
        <datalist id="review-labels">
          <option value="production" />
          <option value="staging" />
        </datalist>
      </label>
      <label>
        Description
        <textarea
          rows={3}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          placeholder="What changed and what reviewers should look at"
        />
      </label>
    </FormDialog>
  );
}
