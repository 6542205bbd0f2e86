// The history of a prompt: newest first, paged, with labels; pick any two versions (or a
// version and the draft) to see the diff, including the rendered output for a sample.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { DiffResult, JsonValue, VersionSummary } from '../../api/generated';
import { errorText, useApi } from '../context';
import { relativeTime, shortHash } from '../../lib/format';
import { DiffView, LayoutToggle, type DiffLayout } from '../DiffView';
import { LabelBadge } from '../labels';
import { useCommand } from '../useCommand';

const PAGE = 100;

type Samples = Record<string, { [key in string]: JsonValue }>;
const NO_SAMPLES: Samples = {};

/** A side of a comparison: a version number, or the draft (always the newest). */
export type Pick = number | 'draft';

/** Older first: the order diff_versions takes them in. */
export function orderPicks(picks: readonly Pick[]): Pick[] {
  return [...picks].sort((a, b) => (a === 'draft' ? 1 : b === 'draft' ? -1 : a - b));
}

/** What to compare when the page opens: the two newest versions; with a single version, that
 * version and the draft (so a one-version prompt still has something to compare). */
export function initialPicks(versions: readonly VersionSummary[]): Pick[] {
  if (versions.length >= 2) return versions.slice(0, 2).map((v) => v.number);
  if (versions.length === 1) return ['draft', versions[0]!.number];
  return [];
}

export function History({ name, refreshKey = 0 }: { name: string; refreshKey?: number }) {
  const { call } = useApi();
  const [versions, setVersions] = useState<VersionSummary[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [picked, setPicked] = useState<Pick[]>([]);
  // `null` until a sample is picked: then the first one (`''` is "don't render").
  const [pickedSample, setSample] = useState<string | null>(null);
  const [diff, setDiff] = useState<DiffResult | null>(null);
  const [diffError, setDiffError] = useState<string | null>(null);
  const [comparing, setComparing] = useState(false);
  const [layout, setLayout] = useState<DiffLayout>('split');
  const [loadingMore, setLoadingMore] = useState(false);
  const compareSeq = useRef(0);

  const opened = useCommand('open_prompt', { name }).data;
  const samples = (opened?.samples ?? NO_SAMPLES) as Samples;
  const sample = pickedSample ?? Object.keys(samples)[0] ?? '';
  const draftChanged = opened?.has_changes ?? false;

  useEffect(() => {
    performance.mark('promptdesk:history-open');
  }, []);
  // The newest page, read again when listings are (a sync pulled versions from the team, the
  // window got the focus). Each reading goes in front of the older pages already loaded, so
  // what is picked and paged stays; only the first one picks what to compare. A failed reading
  // after the first leaves the list as it was.
  const newest = useCommand('history', { name, limit: PAGE }, refreshKey);
  const firstError = newest.data === null ? newest.error : null;
  const seenFirst = useRef(false);
  useEffect(() => {
    const page = newest.data;
    if (page === null) return;
    const oldest = page.versions[page.versions.length - 1]?.number ?? 0;
    setVersions((old) => [...page.versions, ...old.filter((v) => v.number < oldest)]);
    setTotal(page.total);
    if (seenFirst.current) return;
    seenFirst.current = true;
    setPicked(initialPicks(page.versions));
    requestAnimationFrame(() => performance.measure('promptdesk:history-open', 'promptdesk:history-open'));
  }, [newest.data]);

  const more = useCallback(() => {
    const last = versions[versions.length - 1];
    if (!last || loadingMore) return;
    setLoadingMore(true);
    call('history', { name, before: last.number, limit: PAGE })
      .then((page) => setVersions((v) => [...v, ...page.versions.filter((p) => p.number < last.number)]))
      .catch((e) => setError(errorText(e)))
      .finally(() => setLoadingMore(false));
  }, [call, name, versions, loadingMore]);

  const toggle = (n: Pick) =>
    setPicked((p) => (p.includes(n) ? p.filter((x) => x !== n) : [...p, n].slice(-2)));

  const compare = useCallback(() => {
    if (picked.length !== 2) return;
    const [a, b] = orderPicks(picked) as [Pick, Pick];
    // Only the newest request may show its answer: an older, slower one must not replace it.
    const seq = ++compareSeq.current;
    setDiffError(null);
    setComparing(true);
    const inputs = sample ? samples[sample] : undefined;
    call('diff_versions', { name, old: String(a), new: String(b), ...(inputs ? { inputs } : {}) })
      .then((d) => seq === compareSeq.current && setDiff(d))
      .catch((e) => seq === compareSeq.current && setDiffError(errorText(e)))
      .finally(() => seq === compareSeq.current && setComparing(false));
  }, [call, name, picked, sample, samples]);

  if (error ?? firstError) {
    return (
      <p role="alert" className="error pad">
        {error ?? firstError}
      </p>
    );
  }
  if (total === 0) {
    return (
      <div className="empty pad">
        <h2>No versions yet</h2>
        <p className="muted">
          This prompt has a draft only. Save a version from the editor (“Save version…”); its history and the
          comparisons between versions show here.
        </p>
      </div>
    );
  }
  return (
    <div className="history">
      <section className="panel history__list" aria-labelledby="history-heading">
        <h3 id="history-heading">
          History{' '}
          {total !== null ? (
            <span className="muted small">
              {total} version{total === 1 ? '' : 's'}
            </span>
          ) : null}
        </h3>
        {total === null ? (
          <p className="muted" aria-busy="true">
            Loading history…
          </p>
        ) : null}
        {total !== null ? (
          <ol className="versions" aria-label="Versions">
            <li className={`version--draft${picked.includes('draft') ? ' is-picked' : ''}`}>
              <label className="version">
                <input
                  type="checkbox"
                  checked={picked.includes('draft')}
                  onChange={() => toggle('draft')}
                  aria-label="Pick the draft"
                />
                <span className="version__num">draft</span>
                <span className="version__msg">{draftChanged ? 'Unsaved changes' : 'Same as the latest version'}</span>
                <span className="version__meta muted small">your working copy, not a version</span>
              </label>
            </li>
            {versions.map((v) => (
              <li key={v.number} className={picked.includes(v.number) ? 'is-picked' : ''}>
                <label className="version">
                  <input
                    type="checkbox"
                    checked={picked.includes(v.number)}
                    onChange={() => toggle(v.number)}
                    aria-label={`Pick version ${v.number}`}
                  />
                  <span className="version__num">v{v.number}</span>
                  <span className="version__msg" title={v.message}>
                    {v.message}
                  </span>
                  <span className="version__meta muted small">
                    {v.author} · <time dateTime={v.created_at} title={v.created_at}>{relativeTime(v.created_at)}</time> ·{' '}
                    <code>{shortHash(v.hash)}</code>
                    {v.labels.length ? (
                      <span className="badges">
                        {v.labels.map((l) => (
                          <LabelBadge key={l} label={l} />
                        ))}
                      </span>
                    ) : null}
                  </span>
                </label>
              </li>
            ))}
          </ol>
        ) : null}
        {total !== null && versions.length < total ? (
          <button type="button" className="btn" onClick={more} disabled={loadingMore} aria-busy={loadingMore}>
            {loadingMore ? 'Loading…' : `Load older versions (${total - versions.length} more)`}
          </button>
        ) : null}
      </section>
      <section className="panel history__diff" aria-labelledby="compare-heading">
        <h3 id="compare-heading">Compare</h3>
        <div className="row">
          <label>
            Render with sample
            <select aria-label="Render with sample" value={sample} onChange={(e) => setSample(e.target.value)}>
              <option value="">(don’t render)</option>
              {Object.keys(samples).map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <button type="button" className="btn btn--primary" disabled={picked.length !== 2 || comparing} onClick={compare}>
            Compare selected
          </button>
          <span className="grow" />
          <LayoutToggle layout={layout} onChange={setLayout} />
        </div>
        {picked.length !== 2 ? (
          <p className="muted small">
            Pick two to compare{picked.length === 1 ? ': one more' : ''}. The draft counts as one.
          </p>
        ) : !diff && !diffError ? (
          <p className="muted small">
            {orderPicks(picked)
              .map((p) => (p === 'draft' ? 'the draft' : `v${p}`))
              .join(' → ')}
            : press “Compare selected”.
          </p>
        ) : null}
        {diffError ? (
          <p role="alert" className="error">
            {diffError}
          </p>
        ) : null}
        {diff ? (
          <div aria-busy={comparing}>
            <p className="diff-title">
              <strong>{diff.old_label}</strong> → <strong>{diff.new_label}</strong>
            </p>
            {diff.render_error ? <p className="warning">Could not render with this sample: {diff.render_error.message}</p> : null}
            <DiffView diff={diff.diff} layout={layout} />
          </div>
        ) : null}
      </section>
    </div>
  );
}
