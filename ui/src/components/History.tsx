// The history of a prompt: newest first, paged, with labels; pick any two versions (or a
// version and the draft) to see the diff, including the rendered output for a sample.
import { useCallback, useEffect, useState } from 'react';
import type { DiffResult, JsonValue, VersionSummary } from '../api/generated';
import { errorText, useApi } from './context';
import { relativeTime, shortHash } from '../lib/format';
import { DiffView, type DiffLayout } from './DiffView';
import { LayoutToggle } from './SaveVersionDialog';

const PAGE = 100;

export function History({ name }: { name: string }) {
  const { call } = useApi();
  const [versions, setVersions] = useState<VersionSummary[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [picked, setPicked] = useState<number[]>([]);
  const [samples, setSamples] = useState<Record<string, { [key in string]: JsonValue }>>({});
  const [sample, setSample] = useState<string>('');
  const [diff, setDiff] = useState<DiffResult | null>(null);
  const [diffError, setDiffError] = useState<string | null>(null);
  const [layout, setLayout] = useState<DiffLayout>('split');

  useEffect(() => {
    let live = true;
    setVersions([]);
    setPicked([]);
    setDiff(null);
    performance.mark('promptdesk:history-open');
    call('history', { name, limit: PAGE })
      .then((page) => {
        if (!live) return;
        setVersions(page.versions);
        setTotal(page.total);
        // Pre-pick the two newest versions: the most common comparison.
        setPicked(page.versions.slice(0, 2).map((v) => v.number));
        requestAnimationFrame(() =>
          performance.measure('promptdesk:history-open', 'promptdesk:history-open'),
        );
      })
      .catch((e) => live && setError(errorText(e)));
    call('open_prompt', { name })
      .then((o) => {
        if (!live) return;
        setSamples(o.samples as typeof samples);
        setSample(Object.keys(o.samples)[0] ?? '');
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [call, name]);

  const more = useCallback(() => {
    const last = versions[versions.length - 1];
    if (!last) return;
    call('history', { name, before: last.number, limit: PAGE })
      .then((page) => setVersions((v) => [...v, ...page.versions]))
      .catch((e) => setError(errorText(e)));
  }, [call, name, versions]);

  const toggle = (n: number) =>
    setPicked((p) => (p.includes(n) ? p.filter((x) => x !== n) : [...p, n].slice(-2)));

  const compare = useCallback(() => {
    if (picked.length !== 2) return;
    const [a, b] = [...picked].sort((x, y) => x - y) as [number, number];
    setDiffError(null);
    const inputs = sample ? samples[sample] : undefined;
    call('diff_versions', { name, old: String(a), new: String(b), ...(inputs ? { inputs } : {}) })
      .then(setDiff)
      .catch((e) => setDiffError(errorText(e)));
  }, [call, name, picked, sample, samples]);

  if (error) {
    return (
      <p role="alert" className="error pad">
        {error}
      </p>
    );
  }
  return (
    <div className="history">
      <section className="panel history__list" aria-labelledby="history-heading">
        <h3 id="history-heading">
          History {total !== null ? <span className="muted small">{total} versions</span> : null}
        </h3>
        {total === 0 ? <p className="muted">No versions yet. Save one from the editor.</p> : null}
        {total === null ? <p className="muted" aria-busy="true">Loading history…</p> : null}
        <ol className="versions" aria-label="Versions">
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
                <span className="version__msg">{v.message}</span>
                <span className="version__meta muted small">
                  {v.author} · <time dateTime={v.created_at} title={v.created_at}>{relativeTime(v.created_at)}</time> ·{' '}
                  <code>{shortHash(v.hash)}</code>
                </span>
                <span className="badges">
                  {v.labels.map((l) => (
                    <span key={l} className={`badge badge--${l}`}>
                      {l}
                    </span>
                  ))}
                </span>
              </label>
            </li>
          ))}
        </ol>
        {total !== null && versions.length < total ? (
          <button type="button" className="btn" onClick={more}>
            Load older versions ({total - versions.length} more)
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
          <button type="button" className="btn btn--primary" disabled={picked.length !== 2} onClick={compare}>
            Compare selected
          </button>
          <span className="grow" />
          <LayoutToggle layout={layout} onChange={setLayout} />
        </div>
        {picked.length !== 2 ? <p className="muted small">Pick two versions to compare.</p> : null}
        {diffError ? (
          <p role="alert" className="error">
            {diffError}
          </p>
        ) : null}
        {diff ? (
          <>
            <p>
              <strong>{diff.old_label}</strong> → <strong>{diff.new_label}</strong>
            </p>
            {diff.render_error ? <p className="warning">Could not render with this sample: {diff.render_error.message}</p> : null}
            <DiffView diff={diff.diff} layout={layout} />
          </>
        ) : null}
      </section>
    </div>
  );
}
