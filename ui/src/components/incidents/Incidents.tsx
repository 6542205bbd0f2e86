// Incidents: the list (open ones by default), opening one on a label's release, and an
// incident's page — the suspected release and what the label serves now, the blast radius, a
// one-action rollback from the incident (signed, checked against the label's policy as the
// reason is typed), the diff of the change that shipped, and the timeline from the ledger with
// the notes people add.
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { AppInfo, IncidentDetail, Release, TimelineEntry } from '../../api/generated';
import { errorText, useApi } from '../context';
import { relativeTime, shortHash } from '../../lib/format';
import {
  DETECTIONS,
  DETECTION_TEXT,
  SEVERITIES,
  SEVERITY_TEXT,
  STATUSES,
  defaultRollbackReason,
  incidentChange,
  incidentRollbackBlocker,
  localInputToIso,
  shortId,
  timeText,
  timelineKindClass,
  timelineKindText,
} from '../../lib/incidents';
import { FormDialog } from '../Dialog';
import { Blockers } from '../Checklist';
import { DiffView, LayoutToggle, type DiffLayout } from '../DiffView';
import { LabelBadge } from '../labels';
import { RollbackPolicy, useRollbackCheck } from '../rollback';
import { useCommand } from '../useCommand';

export function SeverityBadge({ severity }: { severity: string }) {
  return (
    <span className={`sev sev--${severity.toLowerCase()}`} title={SEVERITY_TEXT[severity] ?? severity}>
      {severity}
    </span>
  );
}

export function IncidentStatusBadge({ status }: { status: string }) {
  return <span className={`incident-status incident-status--${status}`}>{status}</span>;
}

export function IncidentList({
  all,
  onAll,
  onOpen,
  refreshKey,
}: {
  all: boolean;
  onAll: (all: boolean) => void;
  onOpen: (id: string) => void;
  refreshKey: number;
}) {
  const listing = useCommand('list_incidents', { all }, refreshKey, { keepPrevious: true });
  const incidents = listing.data;
  const error = listing.error;
  const [opening, setOpening] = useState(false);

  return (
    <div className="reviews incidents pad">
      <div className="reviews__head">
        <h2 id="incidents-heading">Incidents</h2>
        <div className="segmented" role="group" aria-label="Which incidents">
          <button type="button" aria-pressed={!all} onClick={() => onAll(false)}>
            Open
          </button>
          <button type="button" aria-pressed={all} onClick={() => onAll(true)}>
            All
          </button>
        </div>
        <span className="grow" />
        <button type="button" className="btn btn--primary" onClick={() => setOpening(true)}>
          Open incident…
        </button>
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {incidents === null && !error ? (
        <p className="muted" aria-busy="true">
          Loading incidents…
        </p>
      ) : null}
      {incidents && incidents.length === 0 ? (
        <div className="empty">
          <p>{all ? 'No incidents yet.' : 'No open incidents.'}</p>
          <p className="muted">
            When production quality drops, open an incident on the release that caused it: the rollback, the timeline and
            the postmortem start from there.
          </p>
        </div>
      ) : null}
      {incidents && incidents.length ? (
        <table className="queue" aria-labelledby="incidents-heading">
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Incident</th>
              <th scope="col">Status</th>
              <th scope="col">Where</th>
              <th scope="col">Opened by</th>
              <th scope="col">Detected</th>
            </tr>
          </thead>
          <tbody>
            {incidents.map((i) => (
              <tr key={i.id}>
                <td>
                  <SeverityBadge severity={i.severity} />
                </td>
                <td>
                  <button
                    type="button"
                    className="linklike"
                    onClick={() => onOpen(i.id)}
                    aria-label={`Incident ${shortId(i.id)}: ${i.title}`}
                  >
                    {i.title}
                  </button>
                  <div className="muted small mono">{shortId(i.id)}</div>
                </td>
                <td>
                  <IncidentStatusBadge status={i.status} />
                </td>
                <td>
                  <code>{i.prompt}</code> <LabelBadge label={i.label} />
                </td>
                <td>{i.opened_by}</td>
                <td>
                  <time dateTime={i.detected_at} title={i.detected_at}>
                    {relativeTime(i.detected_at)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {opening ? (
        <OpenIncidentDialog
          onClose={() => setOpening(false)}
          onOpened={(d) => {
            setOpening(false);
            onOpen(d.incident.id);
          }}
        />
      ) : null}
    </div>
  );
}

/** What the "Open incident" form starts with (from a prompt's Releases view). */
export interface IncidentInit {
  prompt?: string;
  label?: string;
  /** A release id; the label's latest release when absent. */
  suspectedRelease?: string;
}

/** The release a line of the suspected-release picker shows. */
export function releaseText(r: Release): string {
  const from = r.from_version !== null ? `v${r.from_version}` : 'nothing';
  return `${from} → v${r.to_version} by ${r.actor}, ${relativeTime(r.at)}${r.changelog ? ` — ${r.changelog}` : ''}`;
}

export function OpenIncidentDialog({
  init = {},
  onClose,
  onOpened,
}: {
  init?: IncidentInit;
  onClose: () => void;
  onOpened: (d: IncidentDetail) => void;
}) {
  const { call, refresh } = useApi();
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState('SEV2');
  const [detection, setDetection] = useState('user_reports');
  const [detectedAt, setDetectedAt] = useState('');
  const [prompt, setPrompt] = useState(init.prompt ?? '');
  const [label, setLabel] = useState(init.label ?? 'production');
  const [suspected, setSuspected] = useState(init.suspectedRelease ?? '');
  const [notes, setNotes] = useState('');
  const promptList = useCommand('list_prompts', {}).data;
  const prompts = useMemo(() => (promptList ?? []).map((p) => p.name), [promptList]);

  // The label's releases (not its rollbacks), newest first: what may have caused it. Null until
  // a known prompt is named and its releases are read; none when they cannot be.
  const name = prompt.trim();
  const onLabel = label.trim() || 'production';
  const known = prompts.includes(name);
  const timeline = useCommand('list_releases', known ? { name, label: onLabel } : null);
  const releases = useMemo(
    () =>
      !known ? null
      : timeline.data ? timeline.data.releases.filter((r) => r.kind === 'release' && r.label === onLabel)
      : timeline.error ? []
      : null,
    [known, timeline.data, timeline.error, onLabel],
  );
  // The picked release, or the label's latest when the pick is not one of its releases.
  const suspectedId = releases === null || releases.some((r) => r.id === suspected) ? suspected : (releases[0]?.id ?? '');

  const detected = localInputToIso(detectedAt);
  const problem =
    !title.trim() ? 'Say what is wrong, in a line.'
    : !prompt.trim() ? 'Name the prompt that misbehaves.'
    : detected !== null && typeof detected !== 'string' ? `Detected: ${detected.error}.`
    : null;

  const submit = async () => {
    const d = await call('open_incident', {
      title: title.trim(),
      severity,
      detection,
      detected_at: typeof detected === 'string' ? detected : '',
      prompt: prompt.trim(),
      label: label.trim(),
      suspected_release: suspectedId,
      notes: notes.trim(),
    });
    refresh();
    onOpened(d);
  };

  return (
    <FormDialog
      title="Open an incident"
      onClose={onClose}
      onSubmit={submit}
      submitLabel="Open incident"
      blocked={problem !== null}
      submitDescribedBy="incident-problem"
      wide
      after={
        <p id="incident-problem" className="small muted">
          {problem ?? 'The incident is recorded in the ledger with your name; its timeline starts at the suspected version.'}
        </p>
      }
    >
      <label>
        Title
        <input data-autofocus value={title} onChange={(e) => setTitle(e.target.value)} placeholder="What is wrong, in a line" />
      </label>
      <div className="grid2">
        <label>
          Severity
          <select aria-label="Severity" value={severity} onChange={(e) => setSeverity(e.target.value)}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {SEVERITY_TEXT[s]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Detected through
          <select aria-label="Detected through" value={detection} onChange={(e) => setDetection(e.target.value)}>
            {DETECTIONS.map((d) => (
              <option key={d} value={d}>
                {DETECTION_TEXT[d]}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label>
        Detected at (optional)
        <input type="datetime-local" value={detectedAt} onChange={(e) => setDetectedAt(e.target.value)} aria-describedby="detected-hint" />
      </label>
      <p id="detected-hint" className="hint">
        Your local time; empty means now.
      </p>
      <div className="grid2">
        <label>
          Prompt
          <input list="incident-prompts" className="mono" value={prompt} onChange={(e) => setPrompt(e.target.value)} spellCheck={false} />
          <datalist id="incident-prompts">
            {prompts.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </label>
        <label>
          Label
          <input list="incident-labels" value={label} onChange={(e) => setLabel(e.target.value)} spellCheck={false} />
          <datalist id="incident-labels">
            <option value="production" />
            <option value="staging" />
          </datalist>
        </label>
      </div>
      <label>
        Suspected release
        <select aria-label="Suspected release" value={suspectedId} onChange={(e) => setSuspected(e.target.value)} disabled={!releases || releases.length === 0}>
          {releases && releases.length ? (
            releases.map((r) => (
              <option key={r.id} value={r.id}>
                {releaseText(r)}
              </option>
            ))
          ) : (
            <option value="">{releases ? `no release to ${label.trim() || 'production'} yet` : 'pick a prompt first'}</option>
          )}
        </select>
      </label>
      <label>
        Notes
        <textarea rows={3} value={notes} onChange={(e) => setNotes(e.target.value)} placeholder="What you know so far" />
      </label>
    </FormDialog>
  );
}

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
  const [detail, setDetail] = useState<IncidentDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [rollingBack, setRollingBack] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notes, setNotes] = useState<string | null>(null);

  const load = useCallback(
    () =>
      call('incident_detail', { id })
        .then((d) => {
          setDetail(d);
          setError(null);
        })
        .catch((e) => setError(errorText(e))),
    [call, id],
  );

  useEffect(() => {
    void load();
  }, [load, refreshKey]);

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
            void load();
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

/** An incident's story, oldest first: ledger entries (with their sequence number) and notes. */
export function IncidentTimeline({ entries, label = 'Incident timeline' }: { entries: readonly TimelineEntry[]; label?: string }) {
  if (entries.length === 0) return <p className="muted small">Nothing recorded yet.</p>;
  return (
    <ol className="timeline incident-timeline" aria-label={label}>
      {entries.map((e, n) => (
        <li key={`${e.ledger_seq ?? 'n'}-${n}`} className={`timeline__entry timeline__entry--${timelineKindClass(e)}`}>
          <p className="small">
            <span className={`kindtag kindtag--${timelineKindClass(e)}`}>{timelineKindText(e.kind)}</span>{' '}
            <time dateTime={e.at} title={e.at}>
              {timeText(e.at)}
            </time>{' '}
            · {e.actor}
            {e.ledger_seq !== null ? <span className="muted"> · ledger #{e.ledger_seq}</span> : null}
          </p>
          <p className="timeline__why">{e.text}</p>
        </li>
      ))}
    </ol>
  );
}

function NoteForm({ id, onAdded }: { id: string; onAdded: (d: IncidentDetail) => void }) {
  const { call } = useApi();
  const [text, setText] = useState('');
  const [when, setWhen] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const at = localInputToIso(when);
  const problem = at !== null && typeof at !== 'string' ? `When: ${at.error}.` : null;
  return (
    <form
      className="form incident__note"
      aria-label="Add a note to the timeline"
      onSubmit={(e) => {
        e.preventDefault();
        if (!text.trim() || problem) return;
        setBusy(true);
        setError(null);
        call('add_incident_note', { id, text: text.trim(), ...(typeof at === 'string' ? { at } : {}) })
          .then((d) => {
            onAdded(d);
            setText('');
            setWhen('');
          })
          .catch((err) => setError(errorText(err)))
          .finally(() => setBusy(false));
      }}
    >
      <label>
        Note
        <textarea rows={2} value={text} onChange={(e) => setText(e.target.value)} placeholder="What happened, what was tried, what was seen" />
      </label>
      <div className="row">
        <label>
          When (optional)
          <input type="datetime-local" value={when} onChange={(e) => setWhen(e.target.value)} aria-describedby="note-when-hint" />
        </label>
        <span id="note-when-hint" className="small muted">
          Your local time; empty means now.
        </span>
        <span className="grow" />
        <button type="submit" className="btn" disabled={busy || !text.trim() || problem !== null}>
          Add note
        </button>
      </div>
      {problem || error ? (
        <p role="alert" className="error small">
          {problem ?? error}
        </p>
      ) : null}
    </form>
  );
}

/** "Roll back LABEL to vN" from an incident: the reason (pre-filled), the policy's checklist as
 * the backend decides it for that reason, then `incident_rollback` (signed). */
export function IncidentRollbackDialog({
  detail,
  onClose,
  onDone,
}: {
  detail: IncidentDetail;
  onClose: () => void;
  onDone: () => void;
}) {
  const { call } = useApi();
  const i = detail.incident;
  const [reason, setReason] = useState(() => defaultRollbackReason(i));
  const rollback = useRollbackCheck(i.prompt, i.label, reason, detail.serving ?? 0);
  const { check, blockers } = rollback;

  const submit = async () => {
    await call('incident_rollback', { id: i.id, reason: reason.trim() });
    onDone();
  };

  return (
    <FormDialog
      title={`Roll back ${i.label} to v${detail.rollback_to}`}
      onClose={onClose}
      onSubmit={submit}
      submitLabel="Roll back"
      blocked={blockers.length > 0 || !check}
      submitDescribedBy="incident-rollback-blockers"
      after={
        <Blockers
          id="incident-rollback-blockers"
          blockers={blockers}
          intro="Cannot roll back yet:"
          listLabel="Why the rollback is disabled"
          ready="Every condition is met."
        />
      }
    >
      <p className="rollback__what">
        <code>{i.prompt}</code>: {i.label} goes from <strong>v{detail.serving}</strong> back to{' '}
        <strong>v{detail.rollback_to}</strong>, the version it served before the suspected release. Applications get it on
        their next fetch; the incident records the rollback and becomes mitigated.
      </p>
      <label>
        Reason
        <textarea data-autofocus rows={3} value={reason} onChange={(e) => setReason(e.target.value)} aria-describedby="incident-rollback-hint" />
      </label>
      <p id="incident-rollback-hint" className="hint">
        Recorded in the release ledger with your name.
      </p>
      <RollbackPolicy label={i.label} state={rollback} />
    </FormDialog>
  );
}
