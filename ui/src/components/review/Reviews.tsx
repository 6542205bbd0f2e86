// The review queue: open review requests by default, all of them on request; each row opens
// its review page. Approved reviews can be picked and released together as one bundle: every
// one of them moves, or none does.
import { useState } from 'react';
import type { Release, Review } from '../../api/generated';
import { errorText, useApi } from '../context';
import { relativeTime } from '../../lib/format';
import { STATUS_TEXT, signingBlocker } from '../../lib/release';
import { Dialog, FormDialog } from '../Dialog';
import { Blockers } from '../Checklist';
import { LabelBadge } from '../labels';
import { useSigning } from '../signing';
import { useCommand } from '../useCommand';

export function ReviewStatusBadge({ review }: { review: Review }) {
  return <span className={`review-status review-status--${review.status}`}>{STATUS_TEXT[review.status]}</span>;
}

export function ReviewQueue({
  all,
  onAll,
  onOpen,
  refreshKey,
}: {
  all: boolean;
  onAll: (all: boolean) => void;
  onOpen: (n: number) => void;
  refreshKey: number;
}) {
  const loaded = useCommand('list_reviews', { all }, refreshKey, { keepPrevious: true });
  const reviews = loaded.data;
  const error = loaded.error;
  // Approved reviews picked for a bundle, by number; a review no longer approved counts as not
  // picked (`chosen` below).
  const [picked, setPicked] = useState<number[]>([]);
  const [bundling, setBundling] = useState(false);

  const approved = (reviews ?? []).filter((r) => r.status === 'approved');
  const chosen = approved.filter((r) => picked.includes(r.number));
  const toggle = (n: number) => setPicked((p) => (p.includes(n) ? p.filter((x) => x !== n) : [...p, n]));

  return (
    <div className="reviews pad">
      <div className="reviews__head">
        <h2 id="reviews-heading">Reviews</h2>
        <div className="segmented" role="group" aria-label="Which reviews">
          <button type="button" aria-pressed={!all} onClick={() => onAll(false)}>
            Open
          </button>
          <button type="button" aria-pressed={all} onClick={() => onAll(true)}>
            All
          </button>
        </div>
        <span className="grow" />
        {approved.length ? (
          <>
            <span id="bundle-hint" className="small muted">
              {chosen.length
                ? `${chosen.length} approved review${chosen.length === 1 ? '' : 's'} picked`
                : 'Pick approved reviews to release them together'}
            </span>
            <button
              type="button"
              className="btn"
              disabled={chosen.length === 0}
              aria-describedby="bundle-hint"
              onClick={() => setBundling(true)}
            >
              Release together…
            </button>
          </>
        ) : null}
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {reviews === null && !error ? (
        <p className="muted" aria-busy="true">
          Loading reviews…
        </p>
      ) : null}
      {reviews && reviews.length === 0 ? (
        <div className="empty">
          <p>{all ? 'No review requests yet.' : 'No open review requests.'}</p>
          <p className="muted">
            Ask for one on a prompt with “Request review…”: a reviewer sees the diff against what the label serves now.
          </p>
        </div>
      ) : null}
      {reviews && reviews.length ? (
        <table className="queue" aria-labelledby="reviews-heading">
          <thead>
            <tr>
              <th scope="col">
                <span className="sr-only">Pick for a bundle</span>
              </th>
              <th scope="col">#</th>
              <th scope="col">Change</th>
              <th scope="col">Status</th>
              <th scope="col">Requested by</th>
              <th scope="col">When</th>
            </tr>
          </thead>
          <tbody>
            {reviews.map((r) => (
              <tr key={r.number}>
                <td className="queue__pick">
                  {r.status === 'approved' ? (
                    <input
                      type="checkbox"
                      checked={picked.includes(r.number)}
                      onChange={() => toggle(r.number)}
                      aria-label={`Pick review #${r.number} for a bundle`}
                    />
                  ) : null}
                </td>
                <td className="queue__num">#{r.number}</td>
                <td>
                  <button
                    type="button"
                    className="linklike"
                    onClick={() => onOpen(r.number)}
                    aria-label={`Review #${r.number}: ${r.prompt}@${r.version} to ${r.label}`}
                  >
                    <code>
                      {r.prompt}@{r.version}
                    </code>{' '}
                    → <LabelBadge label={r.label} />
                  </button>
                  {r.description ? <div className="muted small queue__desc">{r.description}</div> : null}
                </td>
                <td>
                  <ReviewStatusBadge review={r} />
                </td>
                <td>{r.requested_by}</td>
                <td>
                  <time dateTime={r.requested_at} title={r.requested_at}>
                    {relativeTime(r.requested_at)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {bundling ? (
        <BundleDialog
          reviews={chosen}
          onClose={() => setBundling(false)}
          onReleased={() => setPicked([])}
        />
      ) : null}
    </div>
  );
}

/** The backend's refusal of a bundle, without its own "nothing was released" preamble (the
 * dialog says that first). */
function refusalText(message: string): string {
  return message.replace(/^nothing in the bundle was released: /i, '');
}

/** "Release together": one changelog for all the picked reviews, then `release_bundle`. Shows
 * what moved, or the refusal in full (then nothing moved). */
export function BundleDialog({
  reviews,
  onClose,
  onReleased,
}: {
  reviews: readonly Review[];
  onClose: () => void;
  onReleased: (released: Release[]) => void;
}) {
  const { call, refresh } = useApi();
  const signing = useSigning();
  const [changelog, setChangelog] = useState('');
  const [released, setReleased] = useState<Release[] | null>(null);
  const keyProblem = signingBlocker(signing?.status ?? null, signing?.error ?? null);
  const blockers = [
    ...(changelog.trim() ? [] : ['A changelog is required: it is recorded with every release in the bundle.']),
    ...(keyProblem ? [keyProblem] : []),
  ];

  if (released) {
    return (
      <Dialog title="Release together" onClose={onClose}>
        <div className="form">
          <p role="status" className="ok">
            Released together: {released.length} label{released.length === 1 ? '' : 's'} moved.
          </p>
          <ul className="bundle-list" aria-label="What moved">
            {released.map((r) => (
              <li key={r.id}>
                <code>{r.prompt}</code>: <LabelBadge label={r.label} />{' '}
                <span className="mono">
                  {r.from_version !== null ? `v${r.from_version}` : 'nothing'} → v{r.to_version}
                </span>
                {r.review !== null ? <span className="muted small"> · review #{r.review}</span> : null}
              </li>
            ))}
          </ul>
          <div className="actions">
            <button type="button" className="btn btn--primary" data-autofocus onClick={onClose}>
              Done
            </button>
          </div>
        </div>
      </Dialog>
    );
  }

  const submit = async () => {
    try {
      const out = await call('release_bundle', {
        items: reviews.map((r) => ({ prompt: r.prompt, ref: String(r.version), label: r.label, changelog: '' })),
        changelog: changelog.trim(),
      });
      setReleased(out);
      onReleased(out);
      refresh();
    } catch (e) {
      throw new Error(`Nothing was released: a bundle moves all of its prompts or none. ${refusalText(errorText(e))}`);
    }
  };

  return (
    <FormDialog
      title="Release together"
      onClose={onClose}
      onSubmit={submit}
      submitLabel={`Release ${reviews.length} together`}
      blocked={blockers.length > 0}
      submitDescribedBy="bundle-blockers"
      after={
        <Blockers
          id="bundle-blockers"
          blockers={blockers}
          intro="Cannot release yet:"
          listLabel="Why the bundle release is disabled"
          ready="Each prompt's policy is checked again when you release; if one fails, nothing moves."
        />
      }
    >
      <p>These move together, or none of them does:</p>
      <ul className="bundle-list" aria-label="In this bundle">
        {reviews.map((r) => (
          <li key={r.number}>
            <code>
              {r.prompt}@{r.version}
            </code>{' '}
            → <LabelBadge label={r.label} /> <span className="muted small">review #{r.number}</span>
          </li>
        ))}
      </ul>
      <label>
        Changelog
        <textarea
          data-autofocus
          rows={3}
          value={changelog}
          onChange={(e) => setChangelog(e.target.value)}
          placeholder="What changes for the people these prompts serve"
        />
      </label>
    </FormDialog>
  );
}
