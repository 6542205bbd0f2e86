// A prompt's releases: what each label serves now (protected labels first and largest), every
// release and rollback with who, why and whose approvals, and "Roll back…" with a reason, checked
// against the label's policy by the backend as the reason is typed. An incident can be opened on
// a label's current release or on any release in the timeline.
import { useMemo, useState } from 'react';
import type { Label, Release, RollbackCheck } from '../../api/generated';
import { toApiError } from '../../api/client';
import { errorText, useApi } from '../context';
import { relativeTime, shortHash } from '../../lib/format';
import { labelOrder } from '../../lib/release';
import { FormDialog } from '../Dialog';
import { LabelBadge, useProtectedLabels } from '../labels';
import { noTargetText, RollbackDialog, useRollbackCheck } from '../rollback';
import { OpenIncidentDialog, type IncidentInit } from '../incidents/OpenIncidentDialog';
import { useCommand, useCommandEach } from '../useCommand';

/** The backend's "no earlier release" without its command-line hint (`--to`). */

/** What a rollback of each label would do now (or why there is none), by label. */
type RollbackPreviews = Record<string, { check: RollbackCheck } | { error: string }>;

export function Releases({
  name,
  refreshKey,
  onIncidentOpened,
}: {
  name: string;
  refreshKey: number;
  /** An incident was opened from here: its page opens. */
  onIncidentOpened?: (id: string) => void;
}) {
  const protectedLabels = useProtectedLabels();
  const [rollingBack, setRollingBack] = useState<Label | null>(null);
  // Bumped after a move made here, to read the timeline again.
  const [reload, setReload] = useState(0);
  const [incidentOn, setIncidentOn] = useState<IncidentInit | null>(null);

  const loaded = useCommand('list_releases', { name }, `${refreshKey}:${reload}`);
  const timeline = loaded.data;
  const error = loaded.error;
  // Where a rollback of each label would go, as the backend decides it.
  const rollbackLabels = useMemo(
    () => (timeline ? timeline.serving.filter((l) => l.name !== 'latest').map((l) => l.name) : null),
    [timeline],
  );
  const checks = useCommandEach(
    'check_rollback',
    rollbackLabels ? rollbackLabels.map((label) => ({ name, label, reason: '' })) : null,
    `${refreshKey}:${reload}`,
  );
  const previews = useMemo<RollbackPreviews>(() => {
    const out: RollbackPreviews = {};
    checks?.forEach((c, i) => {
      const label = rollbackLabels?.[i];
      if (label !== undefined) out[label] = 'data' in c ? { check: c.data } : { error: noTargetText(c.error) };
    });
    return out;
  }, [checks, rollbackLabels]);

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
  const serving = [...timeline.serving]
    .filter((l) => l.name !== 'latest')
    .sort((a, b) => labelOrder(a.name, b.name, protectedLabels));
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
              const preview = previews[l.name];
              const none = preview && 'error' in preview ? preview.error : null;
              const isProtected = protectedLabels.has(l.name);
              const whyId = `rollback-why-${l.name}`;
              return (
                <li key={l.name} className={`serving__card serving__card--${isProtected ? 'prod' : 'other'}`}>
                  <LabelBadge label={l.name} version={l.number} big />
                  <span className="muted small">
                    {isProtected ? 'protected · ' : ''}moved by {l.moved_by}{' '}
                    <time dateTime={l.moved_at} title={l.moved_at}>
                      {relativeTime(l.moved_at)}
                    </time>{' '}
                    · <code>{shortHash(l.hash)}</code>
                  </span>
                  <span className="grow" />
                  <span className="small muted serving__rollback" id={whyId}>
                    {none ?? (preview && 'check' in preview ? `back to v${preview.check.to}` : '')}
                  </span>
                  <button
                    type="button"
                    className="btn"
                    onClick={() => setRollingBack(l)}
                    disabled={none !== null}
                    aria-label={`Roll back ${l.name}…`}
                    aria-describedby={whyId}
                  >
                    Roll back…
                  </button>
                  <button
                    type="button"
                    className="btn btn--ghost"
                    aria-label={`Open incident on ${l.name} v${l.number}…`}
                    onClick={() =>
                      setIncidentOn({
                        prompt: name,
                        label: l.name,
                        // The release that put what the label serves now there.
                        suspectedRelease: timeline.releases.find((r) => r.label === l.name && r.kind === 'release' && r.to_hash === l.hash)?.id ?? '',
                      })
                    }
                  >
                    Open incident…
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
            <TimelineEntry
              key={r.id}
              r={r}
              onOpenIncident={r.kind === 'release' ? () => setIncidentOn({ prompt: name, label: r.label, suspectedRelease: r.id }) : undefined}
            />
          ))}
        </ol>
      </section>
      {incidentOn ? (
        <OpenIncidentDialog
          init={incidentOn}
          onClose={() => setIncidentOn(null)}
          onOpened={(d) => {
            setIncidentOn(null);
            onIncidentOpened?.(d.incident.id);
          }}
        />
      ) : null}
      {rollingBack ? (
        <LabelRollbackDialog
          name={name}
          label={rollingBack}
          onClose={() => setRollingBack(null)}
          onMoved={() => setReload((k) => k + 1)}
          onDone={() => {
            setRollingBack(null);
            setReload((k) => k + 1);
          }}
        />
      ) : null}
    </div>
  );
}

function TimelineEntry({ r, onOpenIncident }: { r: Release; onOpenIncident?: (() => void) | undefined }) {
  const move = `${r.from_version !== null ? `v${r.from_version}` : 'nothing'} → v${r.to_version}`;
  return (
    <li className={`timeline__entry timeline__entry--${r.kind}`}>
      <p className="timeline__what">
        <span className={`kindtag kindtag--${r.kind}`}>{r.kind}</span> <LabelBadge label={r.label} />{' '}
        <span className="mono">{move}</span>
        {r.review !== null ? <span className="muted small"> · review #{r.review}</span> : null}
        {r.bundle ? <span className="muted small"> · bundle {r.bundle}</span> : null}
        {onOpenIncident ? (
          <button
            type="button"
            className="btn btn--small btn--ghost timeline__incident"
            aria-label={`Open incident on this release (${r.label} ${move})…`}
            onClick={onOpenIncident}
          >
            Open incident on this release…
          </button>
        ) : null}
      </p>
      <p className="small">
        {r.actor} <span className="muted">({r.actor_role})</span>
        {r.pushed_by ? <span className="muted"> (pushed by {r.pushed_by} on behalf of {r.actor})</span> : null} ·{' '}
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

/** How long typing must pause before the policy is checked again for the reason. */

export function LabelRollbackDialog({
  name,
  label,
  onClose,
  onMoved,
  onDone,
}: {
  name: string;
  /** The label as the person saw it: what it served is what the rollback expects to move from. */
  label: Label;
  onClose: () => void;
  /** The label moved under the person's feet: the timeline should be read again. */
  onMoved: () => void;
  onDone: () => void;
}) {
  const { call, refresh } = useApi();
  const [reason, setReason] = useState('');
  // The version the person saw serving: a compare-and-swap makes sure it still does.
  const [seen, setSeen] = useState(label.number);
  const [recheck, setRecheck] = useState(0);
  const rollback = useRollbackCheck(name, label.name, reason, seen, recheck);
  const { check, checkError } = rollback;

  const submit = async () => {
    if (!check) return;
    try {
      await call('rollback_label', {
        name,
        label: label.name,
        reason: reason.trim(),
        // Exactly what this dialog showed: from the version seen, to the version checked.
        to: String(check.to),
        expect_from: String(seen),
      });
    } catch (e) {
      if (toApiError(e).kind !== 'conflict') throw e;
      // Someone moved the label meanwhile (or it changed otherwise): say what it serves now,
      // read the timeline again, and check the rollback afresh from there.
      const now = await call('list_releases', { name, label: label.name })
        .then((t) => t.serving.find((l) => l.name === label.name) ?? null)
        .catch(() => null);
      onMoved();
      refresh();
      setRecheck((k) => k + 1);
      if (now && now.number !== seen) {
        setSeen(now.number);
        throw new Error(
          `Nothing was rolled back: ${label.name} moved meanwhile. It now serves version ${now.number} ` +
            `(moved by ${now.moved_by} ${relativeTime(now.moved_at)}), not version ${seen} as shown here. ` +
            'The timeline is up to date; roll back again only if that is still what you want.',
        );
      }
      throw new Error(`Nothing was rolled back: ${errorText(e)}`);
    }
    refresh();
    onDone();
  };

  return (
    <RollbackDialog
      id="rollback"
      title={`Roll back ${label.name}`}
      label={label.name}
      rollback={rollback}
      reason={reason}
      onReason={setReason}
      what={
        <>
          <code>{name}</code>:{' '}
          {check ? (
            <>
              {label.name} goes from <strong>v{check.from}</strong> back to <strong>v{check.to}</strong>, the version it
              served before. Applications get it on their next fetch.
            </>
          ) : checkError ? (
            <>{label.name} serves v{seen}; there is no version to go back to.</>
          ) : (
            <>checking where {label.name} goes back to…</>
          )}
        </>
      }
      placeholder="What went wrong with the current version"
      hint="Required; recorded in the release ledger with your name."
      onSubmit={submit}
      onClose={onClose}
    />
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
  const history = useCommand('history', { name, limit: 100 });
  const versions = history.data?.versions ?? null;
  const loadError = history.error;
  // The picked version; the newest until the person picks one.
  const [picked, setVersion] = useState('');
  const version = picked || (versions?.[0] ? String(versions[0].number) : '');
  const [label, setLabel] = useState('production');
  const [description, setDescription] = useState('');

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
