// An incident's page: the suspected release and what the label serves now, the blast radius, the
// one-action rollback, the diff of the change that shipped, and the timeline with its notes.
import { useState } from 'react';
import type { AppInfo, IncidentDetail, Release } from '../../api/generated';
import { errorText, useApi } from '../context';
import { relativeTime, shortHash } from '../../lib/format';
import { DETECTION_TEXT, SEVERITIES, SEVERITY_TEXT, STATUSES, incidentChange, incidentRollbackBlocker, shortId, timeText } from '../../lib/incidents';
import { DiffView, LayoutToggle, type DiffLayout } from '../DiffView';
import { LabelBadge } from '../labels';
import { useChanged, useCommand } from '../useCommand';
import { SeverityBadge, IncidentStatusBadge } from './badges';
import { IncidentTimeline, NoteForm } from './Timeline';
import { IncidentRollbackDialog } from './IncidentRollbackDialog';

export function IncidentPage({
  id,
  info,
  refreshKey,
  onOpenPostmortem,
  onOpenReleases,
}: {
  id: string;
  info: AppInfo;
  refreshKey: number;
  onOpenPostmortem: (id: string) => void;
  onOpenReleases: (prompt: string) => void;
}) {
  const { call, refresh } = useApi();
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [rollingBack, setRollingBack] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notes, setNotes] = useState<string | null>(null);

  const loaded = useCommand('incident_detail', { id }, refreshKey);
  const error = loaded.error;
  // A change (status, severity, a note) answers with the incident as it now is.
  const [detail, setDetail] = useChanged(loaded.data);

  /** Changes the incident; true when the backend took it. */
  const update = async (patch: Parameters<typeof incidentChange>[0], done: string): Promise<boolean> => {
    setBusy(true);
    setMsg(null);
    try {
      setDetail(await call('update_incident', { id, change: incidentChange(patch) }));
      setMsg({ ok: true, text: done });
      refresh();
      return true;
    } catch (e) {
      setMsg({ ok: false, text: errorText(e) });
      return false;
    } finally {
      setBusy(false);
    }
  };

  if (error && !detail) {
    return (
      <p role="alert" className="error pad">
        {error}
      </p>
    );
  }
  if (!detail) {
    return (
      <p className="muted pad" aria-busy="true">
        Loading the incident…
      </p>
    );
  }
  const i = detail.incident;
  const blocker = incidentRollbackBlocker(detail);
  const s = detail.suspected;
  const notesText = notes ?? i.notes;
  return (
    <div className="incident pad">
      <header className="review__head">
        <h2>
          <SeverityBadge severity={i.severity} /> {i.title} <IncidentStatusBadge status={i.status} />
        </h2>
        <p className="muted small">
          Incident <code>{shortId(i.id)}</code> on <code>{i.prompt}</code> <LabelBadge label={i.label} /> · detected through{' '}
          {DETECTION_TEXT[i.detection] ?? i.detection}{' '}
          <time dateTime={i.detected_at} title={i.detected_at}>
            {timeText(i.detected_at)}
          </time>{' '}
          · opened by {i.opened_by}{' '}
          <time dateTime={i.opened_at} title={i.opened_at}>
            {relativeTime(i.opened_at)}
          </time>
        </p>
        <div className="row incident__controls">
          <label>
            Severity
            <select aria-label="Severity" value={i.severity} disabled={busy} onChange={(e) => void update({ severity: e.target.value }, `Severity is ${e.target.value} now.`)}>
              {SEVERITIES.map((x) => (
                <option key={x} value={x}>
                  {SEVERITY_TEXT[x]}
                </option>
              ))}
            </select>
          </label>
          <label>
            Status
            <select aria-label="Status" value={i.status} disabled={busy} onChange={(e) => void update({ status: e.target.value }, `Status is ${e.target.value} now.`)}>
              {STATUSES.map((x) => (
                <option key={x} value={x}>
                  {x}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="btn"
            disabled={busy || i.status === 'resolved'}
            onClick={() => void update({ status: 'resolved' }, 'Resolved.')}
          >
            Resolve
          </button>
          <span className="grow" />
          <button type="button" className="btn" onClick={() => onOpenPostmortem(i.id)}>
            {detail.has_postmortem ? 'Open the postmortem' : 'Write the postmortem'}
          </button>
        </div>
        {msg ? (
          <p role={msg.ok ? 'status' : 'alert'} className={msg.ok ? 'ok small' : 'error'}>
            {msg.text}
          </p>
        ) : null}
      </header>
      <div className="review__grid">
        <div className="review__main">
          <section className={`panel incident__rollback${blocker ? '' : ' incident__rollback--ready'}`} aria-labelledby="incident-rollback-heading">
            <h3 id="incident-rollback-heading">Rollback</h3>
            {detail.rollback ? <RollbackDone release={detail.rollback} /> : null}
            {detail.rollback_to !== null ? (
              <p className="small">
                {i.label} serves v{detail.serving}, the suspected release. Rolling back puts v{detail.rollback_to} back, the version
                it served before; applications get it on their next fetch.
              </p>
            ) : null}
            <button
              type="button"
              className="btn btn--primary btn--big"
              disabled={blocker !== null}
              aria-describedby="incident-rollback-why"
              onClick={() => setRollingBack(true)}
            >
              {detail.rollback_to !== null ? `Roll back ${i.label} to v${detail.rollback_to}` : `Roll back ${i.label}`}
            </button>
            <p id="incident-rollback-why" className="small muted">
              {blocker ?? 'Signed with your key, like every rollback; the label’s policy is checked as you confirm.'}
            </p>
          </section>
          <ChangeDiff detail={detail} />
          <section className="panel" aria-labelledby="incident-timeline-heading">
            <h3 id="incident-timeline-heading">Timeline</h3>
            <IncidentTimeline entries={detail.timeline} />
            <NoteForm id={i.id} onAdded={(d) => setDetail(d)} />
          </section>
        </div>
        <aside className="review__side" aria-label="About the incident">
          <section className="panel" aria-labelledby="suspected-heading">
            <h3 id="suspected-heading">Suspected release</h3>
            {s ? (
              <dl className="facts">
                <dt>Version</dt>
                <dd>
                  v{s.to_version} <span className="muted">(replaced {s.from_version !== null ? `v${s.from_version}` : 'nothing'})</span>{' '}
                  <code title={s.to_hash}>{shortHash(s.to_hash)}</code>
                </dd>
                <dt>Released by</dt>
                <dd>
                  {s.actor} <span className="muted">({s.actor_role})</span>{' '}
                  <time dateTime={s.at} title={s.at}>
                    {relativeTime(s.at)}
                  </time>
                </dd>
                <dt>Approved by</dt>
                <dd>{s.approvals.length ? s.approvals.join(', ') : 'nobody'}</dd>
                <dt>Changelog</dt>
                <dd className="timeline__why">{s.changelog || <span className="muted">none</span>}</dd>
                {s.review !== null ? (
                  <>
                    <dt>Review</dt>
                    <dd>#{s.review}</dd>
                  </>
                ) : null}
              </dl>
            ) : (
              <p className="small muted">None named: the label had no release when the incident was opened.</p>
            )}
          </section>
          <section className="panel" aria-labelledby="serving-now-heading">
            <h3 id="serving-now-heading">Serving now</h3>
            <p>
              {detail.serving !== null ? <LabelBadge label={i.label} version={detail.serving} big /> : <span className="muted">{i.label} points nowhere</span>}
            </p>
            <button type="button" className="linklike small" onClick={() => onOpenReleases(i.prompt)}>
              Releases of {i.prompt}
            </button>
          </section>
          <section className="panel" aria-labelledby="blast-heading">
            <h3 id="blast-heading">Blast radius</h3>
            <p className="small">
              Labels serving the suspected version:{' '}
              {detail.blast_radius.labels.length ? (
                <span className="badges">
                  {detail.blast_radius.labels.map((l) => (
                    <LabelBadge key={l} label={l} />
                  ))}
                </span>
              ) : (
                <span className="muted">none now</span>
              )}
            </p>
            <p className="small">Prompts that include {i.prompt}:</p>
            {detail.blast_radius.included_by.length ? (
              <ul className="bare small" aria-label="Included by">
                {detail.blast_radius.included_by.map((p) => (
                  <li key={p}>
                    <code>{p}</code>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="small muted">none: only its own callers are affected.</p>
            )}
          </section>
          <section className="panel form" aria-labelledby="incident-notes-heading">
            <h3 id="incident-notes-heading">Notes</h3>
            <label>
              Incident notes
              <textarea rows={4} value={notesText} onChange={(e) => setNotes(e.target.value)} />
            </label>
            <div className="actions">
              <button
                type="button"
                className="btn"
                disabled={busy || notes === null || notes === i.notes}
                onClick={() => void update({ notes: notesText }, 'Notes saved.').then((ok) => ok && setNotes(null))}
              >
                Save notes
              </button>
            </div>
          </section>
          {info.role === 'viewer' ? <p className="small muted">You ({info.actor}) are a viewer: changes are refused.</p> : null}
        </aside>
      </div>
      {rollingBack ? (
        <IncidentRollbackDialog
          detail={detail}
          onClose={() => setRollingBack(false)}
          onDone={() => {
            setRollingBack(false);
            setMsg({ ok: true, text: `Rolled back: ${i.label} serves v${detail.rollback_to} again.` });
            loaded.reload();
            refresh();
          }}
        />
      ) : null}
    </div>
  );
}

function RollbackDone({ release }: { release: Release }) {
  return (
    <div className="incident__done" role="group" aria-label="Rollback taken">
      <p>
        <span className="kindtag kindtag--rollback">rollback</span> <LabelBadge label={release.label} />{' '}
        <span className="mono">
          {release.from_version !== null ? `v${release.from_version}` : 'nothing'} → v{release.to_version}
        </span>{' '}
        by {release.actor} <span className="muted">({release.actor_role})</span>{' '}
        <time dateTime={release.at} title={release.at}>
          {relativeTime(release.at)}
        </time>
      </p>
      {release.changelog ? (
        <p className="timeline__why small">
          <span className="muted">Reason: </span>
          {release.changelog}
        </p>
      ) : null}
    </div>
  );
}

/** The change the suspected release shipped: the version it replaced → the one it put on the
 * label (after a rollback, the release that caused it against the one restored). */
function ChangeDiff({ detail }: { detail: IncidentDetail }) {
  const [layout, setLayout] = useState<DiffLayout>('unified');
  const s = detail.suspected;
  const good = s?.from_version ?? null;
  const bad = s?.to_version ?? null;
  const prompt = detail.incident.prompt;
  const loaded = useCommand(
    'diff_versions',
    good === null || bad === null ? null : { name: prompt, old: String(good), new: String(bad) },
  );
  const diff = loaded.data;
  const error = loaded.error;
  if (good === null || bad === null) return null;
  const restored = detail.rollback?.to_version === good;
  return (
    <section className="panel" aria-labelledby="change-diff-heading">
      <div className="panel__head">
        <h3 id="change-diff-heading">
          {restored ? `What v${bad} changed against v${good}, restored now` : `What the suspected release changed (v${good} → v${bad})`}
        </h3>
        <LayoutToggle layout={layout} onChange={setLayout} />
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : diff ? (
        <>
          <p className="diff-title">
            <strong>{diff.old_label}</strong> → <strong>{diff.new_label}</strong>
          </p>
          <DiffView diff={diff.diff} layout={layout} />
        </>
      ) : (
        <p className="muted" aria-busy="true">
          Loading the diff…
        </p>
      )}
    </section>
  );
}
