// One review: what it asks for, the diff against what the target label serves now (with the
// rendered output for a sample), the thread with line comments and signed decisions, the
// policy checklist, and the release itself. Every refusal says why.
import { useEffect, useState } from 'react';
import type { AppInfo, JsonValue, ReviewDecision, ReviewDetail } from '../../api/generated';
import { errorText, useApi } from '../context';
import { relativeTime, shortHash } from '../../lib/format';
import { anchorTargets, decideBlocker, releaseBlockers, repeatBlockers, signingBlocker } from '../../lib/release';
import { DiffView, LayoutToggle, type DiffLayout } from '../DiffView';
import { ReviewStatusBadge } from './Reviews';
import { FormDialog } from '../Dialog';
import { Blockers, Checklist } from '../Checklist';
import { LabelBadge } from '../labels';
import { useSigning } from '../signing';
import { ReviewEvals } from './ReviewEvals';
import { useCommand } from '../useCommand';

type Samples = Record<string, { [key in string]: JsonValue }>;
const NO_SAMPLES: Samples = {};

const EVENT_TEXT: Record<string, string> = {
  comment: 'commented',
  approve: 'approved',
  request_changes: 'requested changes',
  close: 'closed the review',
};

export function ReviewPage({
  number,
  info,
  refreshKey,
  onOpenPrompt,
  onOpenCompare,
}: {
  number: number;
  info: AppInfo;
  refreshKey: number;
  onOpenPrompt: (name: string) => void;
  /** Opens the comparison of versions of the prompt on a suite. */
  onOpenCompare?: (name: string, versions: number[], suite: string | undefined) => void;
}) {
  const { refresh } = useApi();
  const [layout, setLayout] = useState<DiffLayout>('split');
  const [releasing, setReleasing] = useState(false);
  // Approvals and releases are signed: the App's key store canary says whether that works.
  const signing = useSigning();
  const keyProblem = signingBlocker(signing?.status ?? null, signing?.error ?? null);
  // What to diff against: what the label serves (the default), or the version this reviewer
  // approved before (to see what changed since).
  const [base, setBase] = useState<'serving' | 'approved'>('serving');

  const loaded = useCommand('review_detail', { number }, refreshKey);
  const detail = loaded.data;
  const error = loaded.error;
  const load = loaded.reload;

  const prompt = detail?.review.prompt;
  const reviewVersion = detail?.review.version;
  const known = prompt !== undefined && reviewVersion !== undefined;
  const samples = (useCommand('open_prompt', known ? { name: prompt } : null).data?.samples ?? NO_SAMPLES) as Samples;
  // The sample picked, or the first one while none (or one no longer there) is.
  const [pickedSample, setSample] = useState('');
  const sample = pickedSample && pickedSample in samples ? pickedSample : (Object.keys(samples)[0] ?? '');
  const version = useCommand('get_version', known ? { name: prompt, reference: String(reviewVersion) } : null).data;

  // The diff against what the label serves now; from nothing (the backend's diff without an
  // old side) when it serves no version yet.
  const approvedBefore = detail?.previously_approved ?? null;
  const serving = base === 'approved' && approvedBefore !== null ? approvedBefore : (detail?.serving ?? null);
  const servesNothing = detail !== null && detail.serving === null;
  // From nothing, the old side would be an empty column: one column reads better.
  useEffect(() => {
    if (servesNothing) setLayout('unified');
  }, [servesNothing]);
  const inputs = sample ? samples[sample] : undefined;
  const diffLoaded = useCommand(
    'diff_versions',
    known
      ? {
          name: prompt,
          ...(serving !== null ? { old: String(serving) } : {}),
          new: String(reviewVersion),
          ...(inputs ? { inputs } : {}),
        }
      : null,
    0,
    // Another base or sample keeps the diff shown until the new one is in.
    { keepPrevious: true },
  );
  const diff = diffLoaded.data;
  const diffError = diffLoaded.loading ? null : diffLoaded.error;

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
        Loading review #{number}…
      </p>
    );
  }
  const r = detail.review;
  const blockDecide = decideBlocker({ actor: info.actor, role: info.role }, r) ?? keyProblem;
  const repeated = repeatBlockers(info.actor, r, detail.events);
  const blockRelease = [...(keyProblem && r.status !== 'released' && r.status !== 'closed' ? [keyProblem] : []), ...releaseBlockers(r, detail.decision, detail.serving)];

  return (
    <div className="review pad">
      <header className="review__head">
        <h2>
          Review #{r.number}{' '}
          <span className="review__what">
            <button type="button" className="linklike mono" onClick={() => onOpenPrompt(r.prompt)} title="Open the prompt">
              {r.prompt}@{r.version}
            </button>{' '}
            → <LabelBadge label={r.label} />
          </span>{' '}
          <ReviewStatusBadge review={r} />
        </h2>
        <p className="muted small">
          Requested by {r.requested_by}{' '}
          <time dateTime={r.requested_at} title={r.requested_at}>
            {relativeTime(r.requested_at)}
          </time>{' '}
          · version {r.version} by {r.version_author} · <code>{shortHash(r.version_hash)}</code>
        </p>
        {r.description ? <p className="review__desc">{r.description}</p> : null}
      </header>
      <div className="review__grid">
        <div className="review__main">
          <section className="panel" aria-labelledby="review-diff-heading">
            <h3 id="review-diff-heading">
              Changes against {r.label}{' '}
              <span className="muted small">
                {detail.serving !== null ? `(serves v${detail.serving} now)` : '(serves nothing yet)'}
              </span>
            </h3>
            <div className="row">
              {detail.previously_approved !== null ? (
                <div className="segmented" role="group" aria-label="Compare with">
                  <button type="button" aria-pressed={base === 'serving'} onClick={() => setBase('serving')}>
                    {detail.serving !== null ? `${r.label} (v${detail.serving})` : r.label}
                  </button>
                  <button type="button" aria-pressed={base === 'approved'} onClick={() => setBase('approved')}>
                    You approved v{detail.previously_approved}
                  </button>
                </div>
              ) : null}
              <label>
                Render with sample
                <select aria-label="Render with sample" value={sample} onChange={(e) => setSample(e.target.value)}>
                  <option value="">(don’t render)</option>
                  {Object.keys(samples).map((s) => (
                    <option key={s}>{s}</option>
                  ))}
                </select>
              </label>
              <span className="grow" />
              <LayoutToggle layout={layout} onChange={setLayout} />
            </div>
            {base === 'approved' && detail.previously_approved !== null ? (
              <p className="note">What changed since version {detail.previously_approved}, which you approved.</p>
            ) : detail.serving === null ? (
              <p className="note">
                {r.label} serves nothing yet: everything in version {r.version} is new.
              </p>
            ) : detail.serving === r.version ? (
              <p className="note">
                {r.label} already serves version {r.version}.
              </p>
            ) : null}
            {diffError ? (
              <p role="alert" className="error">
                {diffError}
              </p>
            ) : null}
            {diff ? (
              <>
                <p className="diff-title">
                  <strong>{diff.old_label}</strong> → <strong>{diff.new_label}</strong>
                </p>
                {diff.render_error ? (
                  <p className="warning">Could not render with this sample: {diff.render_error.message}</p>
                ) : null}
                <DiffView diff={diff.diff} layout={layout} />
              </>
            ) : !diffError ? (
              <p className="muted" aria-busy="true">
                Loading the diff…
              </p>
            ) : null}
          </section>
          <ReviewEvals
            prompt={r.prompt}
            version={r.version}
            label={r.label}
            serving={detail.serving}
            decision={detail.decision}
            refreshKey={refreshKey}
            onCompare={(versions, suite) => onOpenCompare?.(r.prompt, versions, suite)}
          />
          <Thread detail={detail} />
          <CommentBox number={r.number} targets={anchorTargets(version?.content ?? null)} onPosted={() => void load()} />
        </div>
        <aside className="review__side" aria-label="Decision and release">
          {keyProblem ? (
            <div className="warning" role="alert">
              <p>{keyProblem}</p>
              <p>Approvals and releases are signed: they are refused until a key store works.</p>
              <button type="button" className="btn" onClick={() => signing?.ask()}>
                Choose where keys live…
              </button>
            </div>
          ) : null}
          <DecisionPanel
            number={r.number}
            blocked={blockDecide}
            approveBlocked={repeated.approve}
            changesBlocked={repeated.requestChanges}
            onDecided={() => {
              void load();
              refresh();
            }}
          />
          <section className="panel" aria-labelledby="checklist-heading">
            <h3 id="checklist-heading">Release policy for {r.label}</h3>
            <Checklist conditions={detail.decision.conditions} />
            <button
              type="button"
              className="btn btn--primary"
              disabled={blockRelease.length > 0}
              aria-describedby="release-blockers"
              onClick={() => setReleasing(true)}
            >
              Release to {r.label}
            </button>
            <Blockers
              id="release-blockers"
              blockers={blockRelease}
              intro="Cannot release yet:"
              listLabel="Why the release is disabled"
              ready="Every condition is met; a changelog is asked for next."
            />
          </section>
        </aside>
      </div>
      {releasing ? (
        <ReleaseDialog
          detail={detail}
          onClose={() => setReleasing(false)}
          onReleased={() => {
            setReleasing(false);
            void load();
            refresh();
          }}
        />
      ) : null}
    </div>
  );
}

function Thread({ detail }: { detail: ReviewDetail }) {
  const events = detail.events;
  return (
    <section className="panel" aria-labelledby="thread-heading">
      <h3 id="thread-heading">
        Thread <span className="muted small">{events.length ? `${events.length}` : ''}</span>
      </h3>
      {events.length === 0 ? <p className="muted small">No comments or decisions yet.</p> : null}
      <ol className="thread" aria-label="Review thread">
        {events.map((e) => (
          <li key={e.id} className={`event event--${e.kind}`}>
            <p className="event__meta small">
              <strong>{e.actor}</strong> <span className="muted">({e.actor_role})</span>{' '}
              {EVENT_TEXT[e.kind] ?? e.kind}
              {e.pushed_by ? <span className="muted"> (pushed by {e.pushed_by} on behalf of {e.actor})</span> : null}
              {e.key_revoked ? (
                <span className="error"> · signed with a key revoked since: it no longer counts</span>
              ) : null}
              {e.kind === 'approve' || e.kind === 'request_changes' ? (
                <span className="event__bound">
                  {' '}
                  version {e.version ?? '?'}
                  {e.content_hash ? (
                    <>
                      {' '}
                      (<code title={e.content_hash}>{shortHash(e.content_hash)}</code>
                      {e.version !== null && e.version !== detail.review.version ? ', not the version under review' : ''})
                    </>
                  ) : null}
                </span>
              ) : null}
              {e.anchor ? (
                <span className="event__anchor">
                  {' '}
                  on {e.anchor.template} line {e.anchor.line}
                </span>
              ) : null}{' '}
              ·{' '}
              <time className="muted" dateTime={e.at} title={e.at}>
                {relativeTime(e.at)}
              </time>
            </p>
            {e.body ? <p className="event__body">{e.body}</p> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

function CommentBox({ number, targets, onPosted }: { number: number; targets: string[]; onPosted: () => void }) {
  const { call } = useApi();
  const [body, setBody] = useState('');
  const [anchored, setAnchored] = useState(false);
  const [target, setTarget] = useState('template');
  const [line, setLine] = useState('1');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const where = targets.includes(target) ? target : (targets[0] ?? 'template');
  const lineNumber = Number(line);
  const lineOk = Number.isInteger(lineNumber) && lineNumber >= 1;

  const post = async () => {
    setBusy(true);
    setError(null);
    try {
      await call('comment_review', {
        number,
        body: body.trim(),
        ...(anchored ? { anchor: { template: where, line: lineNumber } } : {}),
      });
      setBody('');
      onPosted();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="panel form"
      aria-labelledby="comment-heading"
      onSubmit={(e) => {
        e.preventDefault();
        void post();
      }}
    >
      <h3 id="comment-heading">Comment</h3>
      <label>
        Comment
        <textarea rows={3} value={body} onChange={(e) => setBody(e.target.value)} />
      </label>
      <div className="row row--inline">
        <label className="check">
          <input type="checkbox" checked={anchored} onChange={(e) => setAnchored(e.target.checked)} /> On a line
        </label>
        <label>
          In
          <select aria-label="Comment on" value={where} disabled={!anchored} onChange={(e) => setTarget(e.target.value)}>
            {targets.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Line
          <input
            className="line-input"
            type="number"
            min={1}
            aria-label="Line number"
            value={line}
            disabled={!anchored}
            aria-invalid={anchored && !lineOk}
            onChange={(e) => setLine(e.target.value)}
          />
        </label>
        <span className="grow" />
        <button type="submit" className="btn" disabled={busy || !body.trim() || (anchored && !lineOk)}>
          Post comment
        </button>
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
    </form>
  );
}

function DecisionPanel({
  number,
  blocked,
  approveBlocked,
  changesBlocked,
  onDecided,
}: {
  number: number;
  /** Why this person cannot decide at all (status, author, role, signing). */
  blocked: string | null;
  /** Why they cannot approve again / ask for changes again: they did already. */
  approveBlocked: string | null;
  changesBlocked: string | null;
  onDecided: () => void;
}) {
  const { call } = useApi();
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const decide = async (decision: ReviewDecision) => {
    setBusy(true);
    setError(null);
    try {
      await call('decide_review', { number, decision, body: note.trim() });
      setNote('');
      onDecided();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel form" aria-labelledby="decide-heading">
      <h3 id="decide-heading">Your decision</h3>
      <label>
        Note
        <textarea
          rows={2}
          value={note}
          disabled={blocked !== null}
          onChange={(e) => setNote(e.target.value)}
          placeholder="Optional for an approval; say what to change otherwise"
        />
      </label>
      <div className="actions actions--start">
        <button
          type="button"
          className="btn btn--primary"
          disabled={busy || blocked !== null || approveBlocked !== null}
          aria-describedby="decide-blocker"
          onClick={() => void decide('approve')}
        >
          Approve
        </button>
        <button
          type="button"
          className="btn"
          disabled={busy || blocked !== null || changesBlocked !== null || !note.trim()}
          aria-describedby="decide-blocker"
          title={blocked ?? changesBlocked ?? (note.trim() ? undefined : 'Say what to change in the note first')}
          onClick={() => void decide('request_changes')}
        >
          Request changes
        </button>
      </div>
      <p id="decide-blocker" className="small muted">
        {blocked ?? approveBlocked ?? changesBlocked ?? 'An approval is signed and bound to this exact version’s content.'}
      </p>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
    </section>
  );
}

function ReleaseDialog({
  detail,
  onClose,
  onReleased,
}: {
  detail: ReviewDetail;
  onClose: () => void;
  onReleased: () => void;
}) {
  const { call } = useApi();
  const r = detail.review;
  const [changelog, setChangelog] = useState('');

  const submit = async () => {
    await call('release_version', {
      name: r.prompt,
      reference: String(r.version),
      label: r.label,
      changelog: changelog.trim(),
      review: r.number,
      // Compare-and-swap: refused if the label moved since this page showed what it serves.
      ...(detail.serving !== null ? { expect_from: String(detail.serving) } : {}),
    });
    onReleased();
  };

  return (
    <FormDialog
      title={`Release to ${r.label}`}
      onClose={onClose}
      onSubmit={submit}
      submitLabel="Release"
      blocked={!changelog.trim()}
    >
      <p>
        <code>
          {r.prompt}@{r.version}
        </code>{' '}
        → {r.label}
        {detail.serving !== null ? ` (now v${detail.serving})` : ' (serves nothing yet)'}. The policy is checked again
        when you release.
      </p>
      <label>
        Changelog
        <textarea
          data-autofocus
          rows={3}
          value={changelog}
          onChange={(e) => setChangelog(e.target.value)}
          placeholder="What changes for the people this prompt serves"
        />
      </label>
    </FormDialog>
  );
}
