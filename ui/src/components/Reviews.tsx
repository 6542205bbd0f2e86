// The review queue: open review requests by default, all of them on request; each row opens
// its review page.
import { useEffect, useState } from 'react';
import type { Review } from '../api/generated';
import { errorText, useApi } from './context';
import { relativeTime } from '../lib/format';
import { STATUS_TEXT } from '../lib/release';

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
  const { call } = useApi();
  const [reviews, setReviews] = useState<Review[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    call('list_reviews', { all })
      .then((r) => {
        if (!live) return;
        setReviews(r);
        setError(null);
      })
      .catch((e) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [call, all, refreshKey]);

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
                    → <span className={`badge badge--${r.label}`}>{r.label}</span>
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
    </div>
  );
}
