// Compare outputs (workflow 3): two or more versions of a prompt against one test suite, the
// cases as rows and the versions as columns, each output with its words highlighted against the
// first column, pass or fail with the failing checks, and good/bad ratings with who said what.
// Versions without a run of the suite get a Run button (or one "Run missing"); the matrix fills
// in as results arrive.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Comparison, ComparisonCell, ComparisonColumn, ComparisonRow } from '../../api/generated';
import { errorText, useApi } from '../context';
import { relativeTime } from '../../lib/format';
import {
  POLL_MS,
  annotateOutput,
  cellState,
  defaultPicks,
  filterRows,
  isRunning,
  passText,
  percent,
  ratingBlocker,
  varText,
  type OutputLine,
} from '../../lib/evals';
import { usePolling } from '../../lib/polling';
import { Spans } from '../DiffView';
import { FormDialog } from '../Dialog';
import { useCommand } from '../useCommand';
import { LabelBadge } from '../labels';
import { VerdictTag } from './EvalRun';
import type { CompareInit } from '../../lib/routes';

/** `#1` of "#1 within the window: …". */
const caseNumber = (row: ComparisonRow) => row.label.split(' ')[0] ?? row.label;

export function Compare({ name, refreshKey, init }: { name: string; refreshKey: number; init?: CompareInit | undefined }) {
  const { call } = useApi();
  const [picks, setPicks] = useState<number[]>(init?.versions ?? []);
  const [suite, setSuite] = useState(init?.suite ?? '');
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [runError, setRunError] = useState<string | null>(null);
  const [starting, setStarting] = useState<number[]>([]);
  const [onlyDiffering, setOnlyDiffering] = useState(false);
  const [onlyFailures, setOnlyFailures] = useState(false);
  // Text of the first column an output no longer has: struck through in place, or left out
  // (it is there in the first column anyway).
  const [showRemoved, setShowRemoved] = useState(false);
  const [rating, setRating] = useState<{ column: ComparisonColumn; row: ComparisonRow; verdict: 'good' | 'bad' } | null>(null);
  const seq = useRef(0);

  const history = useCommand('history', { name, limit: 100 }, refreshKey);
  const suiteList = useCommand('list_suites', { name }, refreshKey);
  const versions = history.data?.versions ?? null;
  const suites = suiteList.data;
  const listError = history.error ?? suiteList.error;
  // Each reading of the lists fills in what is not picked (or no longer exists), as the first
  // reading does; what a person picked stays.
  useEffect(() => {
    if (versions) setPicks((p) => (p.length ? p : defaultPicks(versions)));
  }, [versions]);
  useEffect(() => {
    if (suites) setSuite((cur) => (cur && suites.some((x) => x.name === cur) ? cur : (suites[0]?.name ?? '')));
  }, [suites]);

  const load = useCallback(async () => {
    if (!suite || picks.length === 0) return;
    const n = ++seq.current;
    const c = await call('compare_versions', { name, versions: picks.map(String), suite });
    if (n !== seq.current) return;
    setComparison(c);
    setError(null);
  }, [call, name, picks, suite]);

  useEffect(() => {
    setLoading(true);
    load()
      .catch((e) => setError(errorText(e)))
      .finally(() => setLoading(false));
  }, [load, refreshKey]);

  const running = (comparison?.columns ?? []).some((c) => isRunning(c.run)) || starting.length > 0;
  usePolling(running, () => load().catch((e) => setError(errorText(e))), POLL_MS);

  const start = async (versionNumbers: number[]) => {
    setRunError(null);
    setStarting((s) => [...s, ...versionNumbers]);
    try {
      for (const v of versionNumbers) await call('start_eval', { name, version: String(v), suite });
    } catch (e) {
      setRunError(errorText(e));
    } finally {
      await load().catch(() => undefined);
      setStarting((s) => s.filter((v) => !versionNumbers.includes(v)));
    }
  };

  const toggle = (n: number) => setPicks((p) => (p.includes(n) ? p.filter((x) => x !== n) : [...p, n].sort((a, b) => a - b)));

  if ((error ?? listError) && (versions === null || suites === null)) {
    return (
      <p role="alert" className="error pad">
        {error ?? listError}
      </p>
    );
  }
  if (versions === null || suites === null) {
    return (
      <p className="muted pad" aria-busy="true">
        Loading…
      </p>
    );
  }
  if (versions.length === 0) return <p className="muted pad">Save a version first: outputs are compared between saved versions.</p>;
  if (suites.length === 0) {
    return <p className="muted pad">This prompt has no test suite yet: add one in the Tests tab, then compare its outputs here.</p>;
  }

  const current = comparison && comparison.suite === suite ? comparison : null;
  const columns = current?.columns ?? [];
  const missing = columns.filter((c) => !isRunning(c.run) && (c.run === null || c.run.suite_changed) && !starting.includes(c.version));
  const rows = current ? filterRows(current.rows, { onlyDiffering, onlyFailures }) : [];

  return (
    <div className="compare pad">
      <section className="panel compare__pick" aria-labelledby="compare-heading">
        <h3 id="compare-heading">Compare outputs</h3>
        <div className="row">
          <fieldset className="fieldset versions-pick">
            <legend>Versions</legend>
            <ul className="plain-list">
              {versions.map((v, i) => (
                <li key={v.number}>
                  <label className="check">
                    <input type="checkbox" checked={picks.includes(v.number)} onChange={() => toggle(v.number)} />
                    <span className="mono">v{v.number}</span>
                    {i === 0 && !v.labels.includes('latest') ? <span className="muted small">(latest)</span> : null}
                    {v.labels.map((l) => (
                      <LabelBadge key={l} label={l} />
                    ))}
                    <span className="muted small versions-pick__msg">{v.message}</span>
                  </label>
                </li>
              ))}
            </ul>
          </fieldset>
          <div className="compare__side">
            <label>
              Suite
              <select aria-label="Suite" value={suite} onChange={(e) => setSuite(e.target.value)}>
                {suites.map((s) => (
                  <option key={s.id} value={s.name}>
                    {s.name} ({s.cases} cases)
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              className="btn btn--primary"
              disabled={missing.length === 0}
              onClick={() => void start(missing.map((c) => c.version))}
              title="Run the suite on every picked version that has no run of it (or only one of an older suite)"
            >
              Run missing{missing.length ? ` (${missing.length})` : ''}
            </button>
          </div>
        </div>
        {picks.length < 2 ? <p className="note small">Pick two or more versions; the first column is the one the others are compared with.</p> : null}
        {runError ? (
          <p role="alert" className="error">
            {runError}
          </p>
        ) : null}
        {error ?? listError ? (
          <p role="alert" className="error">
            {error ?? listError}
          </p>
        ) : null}
        <div className="row row--inline compare__filters">
          <label className="check">
            <input type="checkbox" checked={onlyDiffering} onChange={(e) => setOnlyDiffering(e.target.checked)} /> Only where outputs
            differ
          </label>
          <label className="check">
            <input type="checkbox" checked={onlyFailures} onChange={(e) => setOnlyFailures(e.target.checked)} /> Only failures
          </label>
          <label className="check">
            <input type="checkbox" checked={showRemoved} onChange={(e) => setShowRemoved(e.target.checked)} /> Show text the first column
            has and this one lacks
          </label>
          <span className="grow" />
          <span className="muted small" role="status" aria-label="Cases shown">
            {current ? `${rows.length} of ${current.rows.length} cases shown` : ''}
          </span>
        </div>
      </section>
      {current ? (
        <div className="table-scroll">
          <table className="matrix" aria-label="Outputs by case and version" aria-busy={loading}>
            <colgroup>
              <col className="matrix__case" />
              {columns.map((c) => (
                <col key={c.version_hash} />
              ))}
            </colgroup>
            <thead>
              <tr>
                <th scope="col">Case</th>
                {columns.map((c, i) => (
                  <ColumnHead
                    key={c.version_hash}
                    column={c}
                    first={i === 0}
                    suite={suite}
                    starting={starting.includes(c.version)}
                    onRun={() => void start([c.version])}
                  />
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.case_id} className={r.differs ? 'is-different' : undefined}>
                  <th scope="row" className="matrix__casecell">
                    <p className="matrix__label">{r.label}</p>
                    <ul className="kvlist small">
                      {Object.entries(r.vars).map(([k, v]) => (
                        <li key={k}>
                          <code>{k}</code>: {varText(v)}
                        </li>
                      ))}
                    </ul>
                    {r.expected !== null ? <p className="small muted">Expected: {r.expected}</p> : null}
                  </th>
                  {r.cells.map((cell, i) => (
                    <Cell
                      key={columns[i]!.version_hash}
                      cell={cell}
                      column={columns[i]!}
                      row={r}
                      showRemoved={showRemoved}
                      onRate={(verdict) => setRating({ column: columns[i]!, row: r, verdict })}
                    />
                  ))}
                </tr>
              ))}
              {rows.length === 0 ? (
                <tr>
                  <td colSpan={columns.length + 1} className="muted">
                    {current.rows.length === 0 ? 'The suite has no cases.' : 'No case matches the filters.'}
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      ) : loading ? (
        <p className="muted" aria-busy="true">
          Comparing…
        </p>
      ) : null}
      {rating ? (
        <RateDialog
          name={name}
          column={rating.column}
          row={rating.row}
          verdict={rating.verdict}
          onClose={() => setRating(null)}
          onRated={async () => {
            setRating(null);
            await load().catch((e) => setError(errorText(e)));
          }}
        />
      ) : null}
    </div>
  );
}

function ColumnHead({
  column,
  first,
  suite,
  starting,
  onRun,
}: {
  column: ComparisonColumn;
  first: boolean;
  suite: string;
  starting: boolean;
  onRun: () => void;
}) {
  const run = column.run;
  const active = isRunning(run);
  return (
    <th scope="col" className="matrix__col">
      <div className="matrix__colhead">
        <span className="matrix__version">v{column.version}</span>
        {column.labels.map((l) => (
          <LabelBadge key={l} label={l} />
        ))}
        {first ? <span className="muted small">(compared with)</span> : null}
      </div>
      <div className="matrix__run">
        {run && active ? (
          <>
            <div
              className="bar bar--small"
              role="progressbar"
              aria-label={`Run of v${column.version} on ${suite}`}
              aria-valuemin={0}
              aria-valuemax={run.total}
              aria-valuenow={run.done}
              aria-valuetext={`${run.done} of ${run.total} cases done`}
            >
              <div className="bar__fill" style={{ width: `${percent(run.done, run.total)}%` }} />
            </div>
            <p className="small">
              {run.done}/{run.total} done · {run.passed} passed · {run.failed + run.errored} failed
            </p>
          </>
        ) : run ? (
          <p className="small">
            <span className={`run-status run-status--${run.status}`}>{passText(run)}</span>
            <span className="muted">
              {' '}
              · {run.status === 'completed' ? '' : `${run.status} · `}
              <time dateTime={run.started_at} title={`${run.started_by}, ${run.started_at}`}>
                {relativeTime(run.started_at)}
              </time>
              {run.own_settings ? '' : ' · another model'}
            </span>
            {run.suite_changed ? <span className="warning-text"> · the suite changed since</span> : null}
          </p>
        ) : (
          <p className="small muted">{starting ? 'Starting…' : `No run of ${suite} yet.`}</p>
        )}
        <button
          type="button"
          className={`btn btn--small${run ? '' : ' btn--primary'}`}
          disabled={active || starting}
          onClick={onRun}
          aria-label={`${run ? 'Run again' : 'Run'} v${column.version}`}
        >
          {run ? 'Run again' : 'Run'}
        </button>
      </div>
    </th>
  );
}

/** An output with its lines and words marked against the first column. */
export function DiffedOutput({ lines, label }: { lines: readonly OutputLine[]; label: string }) {
  return (
    <pre className="rendered out" aria-label={label}>
      {lines.map((l, i) => (
        <span key={i} className={`out__line out__line--${l.tag}`}>
          {l.tag === 'delete' ? <span className="sr-only">only in the first column: </span> : null}
          {l.tag === 'insert' ? <span className="sr-only">changed: </span> : null}
          <Spans line={l} />
          {'\n'}
        </span>
      ))}
    </pre>
  );
}

function Cell({
  cell,
  column,
  row,
  showRemoved,
  onRate,
}: {
  cell: ComparisonCell | null;
  column: ComparisonColumn;
  row: ComparisonRow;
  showRemoved: boolean;
  onRate: (verdict: 'good' | 'bad') => void;
}) {
  const state = cellState(cell);
  const n = caseNumber(row);
  if (!cell) {
    return (
      <td className="matrix__cell matrix__cell--missing">
        <p className="muted small">{isRunning(column.run) ? 'Waiting for the output…' : 'Not run.'}</p>
      </td>
    );
  }
  const failing = cell.checks.filter((c) => !c.passed);
  return (
    <td className={`matrix__cell matrix__cell--${state}`}>
      <p className="matrix__verdict small">
        <VerdictTag passed={cell.passed} error={cell.output === null} />{' '}
        <span className="muted">
          {cell.latency_ms} ms{cell.cached ? ' · cached' : ''}
        </span>
      </p>
      {cell.output !== null ? (
        <DiffedOutput
          lines={annotateOutput(cell.output, cell.diff).filter((l) => showRemoved || l.tag !== 'delete')}
          label={`Output of v${column.version} for ${n}`}
        />
      ) : (
        <p className="error small">{cell.error ?? 'No output.'}</p>
      )}
      {failing.length ? (
        <ul className="checks small" aria-label={`Failing checks of v${column.version} for ${n}`}>
          {failing.map((c, i) => (
            <li key={i}>
              <code>{c.assertion}</code>: {c.message}
            </li>
          ))}
        </ul>
      ) : null}
      {cell.ratings.length ? (
        <ul className="ratings small" aria-label={`Ratings of v${column.version} for ${n}`}>
          {cell.ratings.map((r) => (
            <li key={r.id} className={`rating rating--${r.rating}`}>
              <span className="rating__mark" aria-hidden="true">
                {r.rating === 'good' ? '✓' : '✗'}
              </span>{' '}
              <strong>{r.rated_by}</strong>: {r.rating}
              {r.comment ? ` — ${r.comment}` : ''}{' '}
              <time className="muted" dateTime={r.rated_at} title={r.rated_at}>
                {relativeTime(r.rated_at)}
              </time>
            </li>
          ))}
        </ul>
      ) : null}
      {cell.output !== null ? (
        <div className="matrix__rate">
          <button type="button" className="btn btn--small" aria-label={`Rate v${column.version} good on ${n}`} onClick={() => onRate('good')}>
            Good
          </button>
          <button type="button" className="btn btn--small" aria-label={`Rate v${column.version} bad on ${n}`} onClick={() => onRate('bad')}>
            Bad…
          </button>
        </div>
      ) : null}
    </td>
  );
}

function RateDialog({
  name,
  column,
  row,
  verdict: initial,
  onClose,
  onRated,
}: {
  name: string;
  column: ComparisonColumn;
  row: ComparisonRow;
  verdict: 'good' | 'bad';
  onClose: () => void;
  onRated: () => Promise<void>;
}) {
  const { call } = useApi();
  const [verdict, setVerdict] = useState(initial);
  const [comment, setComment] = useState('');
  const blocker = ratingBlocker(verdict, comment);
  return (
    <FormDialog
      title={`Rate v${column.version}’s output`}
      onClose={onClose}
      submitLabel="Save rating"
      blocked={blocker !== null}
      submitDescribedBy="rating-blocker"
      after={
        <p id="rating-blocker" className="small muted">
          {blocker ?? 'Your rating shows in the comparison and in the version’s review.'}
        </p>
      }
      onSubmit={async () => {
        await call('rate_output', {
          name,
          version: String(column.version),
          case_id: row.case_id,
          rating: verdict,
          ...(comment.trim() ? { comment: comment.trim() } : {}),
        });
        await onRated();
      }}
    >
      <p className="small">
        Case <strong>{row.label}</strong>
      </p>
      <fieldset className="radios">
        <legend>Rating</legend>
        <label>
          <input type="radio" name="verdict" checked={verdict === 'good'} onChange={() => setVerdict('good')} /> Good
        </label>
        <label>
          <input type="radio" name="verdict" checked={verdict === 'bad'} onChange={() => setVerdict('bad')} /> Bad
        </label>
      </fieldset>
      <label>
        Comment
        <textarea
          data-autofocus
          rows={3}
          value={comment}
          onChange={(e) => setComment(e.target.value)}
          placeholder={verdict === 'bad' ? 'Required: what is wrong with this output' : 'Optional'}
          aria-required={verdict === 'bad'}
        />
      </label>
    </FormDialog>
  );
}
