// Running a test suite: pick the version, the suite, optionally another model and how many
// requests at once; a progress bar polled while it runs (with Cancel); then the results,
// failures first, each failing check with its message. Also the prompt's recent runs.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { CaseResult, EvalProgress, EvalRun, ProviderInfo, Suite, VersionSummary } from '../../api/generated';
import { errorText, useApi } from '../context';
import { relativeTime } from '../../lib/format';
import { POLL_MS, STATUS_WORDS, failuresFirst, isRunning, passText, percent } from '../../lib/evals';
import { usePolling } from '../../lib/polling';

/** A run's progress: a bar and counters of fixed width, so nothing moves while it fills. */
export function RunProgress({
  run,
  inFlight,
  label,
}: {
  run: EvalRun;
  /** Requests in flight now (only the backend running it knows). */
  inFlight?: number | null;
  /** The accessible name of the bar. */
  label: string;
}) {
  const pct = percent(run.done, run.total);
  return (
    <div className={`run-progress run-progress--${run.status}`}>
      <div
        className="bar"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={run.total}
        aria-valuenow={run.done}
        aria-valuetext={`${run.done} of ${run.total} cases done, ${run.status}`}
      >
        <div className="bar__fill" style={{ width: `${pct}%` }} />
      </div>
      <dl className="counters" aria-label={`${label}: counts`}>
        <div>
          <dt>Done</dt>
          <dd>
            {run.done}/{run.total}
          </dd>
        </div>
        <div className="counters--pass">
          <dt>Passed</dt>
          <dd>{run.passed}</dd>
        </div>
        <div className="counters--fail">
          <dt>Failed</dt>
          <dd>{run.failed}</dd>
        </div>
        <div className="counters--error">
          <dt>Errored</dt>
          <dd>{run.errored}</dd>
        </div>
        <div>
          <dt>Cached</dt>
          <dd>{run.cached}</dd>
        </div>
        {inFlight !== undefined ? (
          <div>
            <dt>In flight</dt>
            <dd>{inFlight ?? '–'}</dd>
          </div>
        ) : null}
        <div>
          <dt>Status</dt>
          <dd className={`run-status run-status--${run.status}`}>{STATUS_WORDS[run.status]}</dd>
        </div>
      </dl>
    </div>
  );
}

/** A case's verdict as a small tag. */
export function VerdictTag({ passed, error }: { passed: boolean; error: boolean }) {
  const kind = error ? 'error' : passed ? 'pass' : 'fail';
  return <span className={`verdict verdict--${kind}`}>{error ? 'error' : passed ? 'pass' : 'fail'}</span>;
}

/** Results of one run, failures first. */
export function RunResults({ results, label = 'Results' }: { results: readonly CaseResult[]; label?: string }) {
  const ordered = failuresFirst(results);
  if (ordered.length === 0) return <p className="muted small">No results.</p>;
  return (
    <ol className="results" aria-label={label}>
      {ordered.map((r) => {
        const failing = r.checks.filter((c) => !c.passed);
        return (
          <li key={r.case_id} className={`result result--${r.error !== null ? 'error' : r.passed ? 'pass' : 'fail'}`}>
            <p className="result__head">
              <VerdictTag passed={r.passed} error={r.error !== null} /> <span className="result__label">{r.label}</span>{' '}
              <span className="muted small">
                {r.latency_ms} ms{r.cached ? ' · cached' : ''}
                {r.attempts > 1 ? ` · ${r.attempts} attempts` : ''}
              </span>
            </p>
            {r.error !== null ? <p className="error small">{r.error}</p> : null}
            {failing.length ? (
              <ul className="checks small" aria-label={`Failing checks of ${r.label}`}>
                {failing.map((c, i) => (
                  <li key={i}>
                    <code>{c.assertion}</code>: {c.message}
                  </li>
                ))}
              </ul>
            ) : null}
            {r.output !== null ? (
              <details className="result__output">
                <summary>Output</summary>
                <pre className="rendered">{r.output}</pre>
              </details>
            ) : null}
          </li>
        );
      })}
    </ol>
  );
}

/** Polls one run while it runs; once it stops, reads its results. */
export function useRunWatch(runId: string | null) {
  const { call } = useApi();
  const [progress, setProgress] = useState<EvalProgress | null>(null);
  const [results, setResults] = useState<CaseResult[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  // The run on screen: an answer about another (picked before) is dropped.
  const current = useRef(runId);
  current.current = runId;

  const read = useCallback(async () => {
    if (!runId) return;
    const p = await call('eval_status', { run_id: runId });
    if (current.current !== runId) return;
    setProgress(p);
    setError(null);
    if (!isRunning(p.run)) {
      const r = await call('run_results', { run_id: runId });
      if (current.current === runId) setResults(r);
    }
  }, [call, runId]);

  useEffect(() => {
    setProgress(null);
    setResults(null);
    setError(null);
    if (runId) read().catch((e) => setError(errorText(e)));
  }, [runId, read]);

  const running = progress !== null && progress.run.id === runId && isRunning(progress.run);
  usePolling(running, () => read().catch((e) => setError(errorText(e))), POLL_MS);
  return { progress: progress?.run.id === runId ? progress : null, results, error, setProgress };
}

export function RunPanel({
  name,
  suites,
  suite,
  versions,
  shownRun,
  onShowRun,
  onRunsChanged,
}: {
  name: string;
  suites: readonly Suite[];
  /** The suite picked in the Tests tab (the default). */
  suite: string;
  /** Newest first. */
  versions: readonly VersionSummary[];
  /** The run shown below the form (just started, or picked in the recent runs). */
  shownRun: string | null;
  onShowRun: (id: string | null) => void;
  onRunsChanged: () => void;
}) {
  const { call } = useApi();
  const [version, setVersion] = useState('');
  const [runSuite, setRunSuite] = useState(suite);
  const [override, setOverride] = useState(false);
  const [providers, setProviders] = useState<ProviderInfo[]>([]);
  const [provider, setProvider] = useState('');
  const [model, setModel] = useState('');
  const [concurrency, setConcurrency] = useState('8');
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const { progress, results, error, setProgress } = useRunWatch(shownRun);

  useEffect(() => setRunSuite(suite), [suite]);
  useEffect(() => {
    if (!version && versions[0]) setVersion(String(versions[0].number));
  }, [versions, version]);
  useEffect(() => {
    if (!override) return;
    call('list_providers', {})
      .then((ps) => {
        setProviders(ps);
        setProvider((p) => p || (ps[0]?.settings.name ?? ''));
      })
      .catch((e) => setStartError(errorText(e)));
  }, [call, override]);

  // A finished run changes the recent runs.
  const status = progress?.run.status;
  useEffect(() => {
    if (status && status !== 'running') onRunsChanged();
  }, [status, onRunsChanged]);

  const n = Number(concurrency);
  const concurrencyOk = Number.isInteger(n) && n >= 1 && n <= 64;
  const blocked = !version || !runSuite || !concurrencyOk || (override && (!provider || !model.trim()));

  const start = async () => {
    setStarting(true);
    setStartError(null);
    try {
      const run = await call('start_eval', {
        name,
        version,
        suite: runSuite,
        concurrency: n,
        ...(override ? { model: { provider, model: model.trim(), parameters: {} } } : {}),
      });
      onShowRun(run.id);
      onRunsChanged();
    } catch (e) {
      setStartError(errorText(e));
    } finally {
      setStarting(false);
    }
  };

  const cancel = async () => {
    if (!shownRun) return;
    setCancelling(true);
    try {
      setProgress(await call('cancel_eval', { run_id: shownRun }));
    } catch (e) {
      setStartError(errorText(e));
    } finally {
      setCancelling(false);
    }
  };

  const run = progress?.run ?? null;
  return (
    <section className="panel" aria-labelledby="run-heading">
      <h3 id="run-heading">Run</h3>
      <form
        className="row"
        aria-label="Start a run"
        onSubmit={(e) => {
          e.preventDefault();
          if (!blocked) void start();
        }}
      >
        <label>
          Version
          <select value={version} onChange={(e) => setVersion(e.target.value)} disabled={versions.length === 0}>
            {versions.length === 0 ? <option value="">(no versions yet)</option> : null}
            {versions.map((v, i) => (
              <option key={v.number} value={String(v.number)}>
                v{v.number}
                {i === 0 ? ' (latest)' : ''}
                {v.labels.length ? ` · ${v.labels.join(', ')}` : ''}
              </option>
            ))}
          </select>
        </label>
        <label>
          Suite
          <select aria-label="Suite to run" value={runSuite} onChange={(e) => setRunSuite(e.target.value)}>
            {suites.map((s) => (
              <option key={s.id} value={s.name}>
                {s.name} ({s.cases} cases)
              </option>
            ))}
          </select>
        </label>
        <label>
          Concurrency
          <input
            className="num-input"
            type="number"
            min={1}
            max={64}
            value={concurrency}
            aria-invalid={!concurrencyOk}
            onChange={(e) => setConcurrency(e.target.value)}
          />
        </label>
        <label className="check">
          <input type="checkbox" checked={override} onChange={(e) => setOverride(e.target.checked)} /> Another model
        </label>
        {override ? (
          <>
            <label>
              Provider
              <select value={provider} onChange={(e) => setProvider(e.target.value)}>
                {providers.map((p) => (
                  <option key={p.settings.name}>{p.settings.name}</option>
                ))}
              </select>
            </label>
            <label>
              Model
              <input value={model} onChange={(e) => setModel(e.target.value)} placeholder="gpt-4o-mini" spellCheck={false} />
            </label>
          </>
        ) : null}
        <span className="grow" />
        <button type="submit" className="btn btn--primary" disabled={blocked || starting}>
          {starting ? 'Starting…' : 'Start run'}
        </button>
      </form>
      {override ? (
        <p className="hint">A run with another model is for trying things out: the release gate counts only runs with the version’s own model settings.</p>
      ) : null}
      {startError ? (
        <p role="alert" className="error">
          {startError}
        </p>
      ) : null}
      {shownRun ? (
        <div className="run-shown" aria-label="Shown run" role="region">
          {run ? (
            <>
              <div className="run-shown__head">
                <p className="small">
                  <strong>
                    v{run.version} · {run.suite}
                  </strong>{' '}
                  <span className="muted">
                    {run.model.provider}/{run.model.model}
                    {run.own_settings ? '' : ' (another model)'} · started by {run.started_by}{' '}
                    <time dateTime={run.started_at} title={run.started_at}>
                      {relativeTime(run.started_at)}
                    </time>
                  </span>
                </p>
                <span className="grow" />
                <button
                  type="button"
                  className="btn"
                  onClick={() => void cancel()}
                  disabled={!isRunning(run) || cancelling || progress?.cancelling}
                >
                  {cancelling || progress?.cancelling ? 'Cancelling…' : 'Cancel run'}
                </button>
              </div>
              <RunProgress run={run} inFlight={progress?.live ? progress.in_flight : null} label={`Run of v${run.version} on ${run.suite}`} />
              <p className="small run-shown__note" role="status">
                {isRunning(run)
                  ? progress && !progress.live
                    ? 'Running elsewhere, or cut off (this app is not running it).'
                    : ''
                  : `Finished: ${passText(run)}${run.status === 'completed' ? '' : ` (${run.status})`}.${run.error ? ` ${run.error}` : ''}${run.suite_changed ? ' The suite changed since this run.' : ''}`}
              </p>
              {results ? <RunResults results={results} label={`Results of v${run.version} on ${run.suite}`} /> : null}
            </>
          ) : error ? null : (
            <p className="muted small" aria-busy="true">
              Reading the run…
            </p>
          )}
          {error ? (
            <p role="alert" className="error">
              {error}
            </p>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

/** The prompt's recent runs, newest first; "Show" puts one in the run panel. */
export function RecentRuns({
  name,
  reload,
  shownRun,
  onShow,
}: {
  name: string;
  reload: number;
  shownRun: string | null;
  onShow: (id: string) => void;
}) {
  const { call } = useApi();
  const [runs, setRuns] = useState<EvalRun[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const read = useCallback(
    () =>
      call('list_runs', { name, limit: 10 })
        .then((r) => {
          setRuns(r);
          setError(null);
        })
        .catch((e) => setError(errorText(e))),
    [call, name],
  );
  useEffect(() => {
    void read();
  }, [read, reload]);
  // Runs going on (here or elsewhere) fill in without a reload.
  usePolling((runs ?? []).some(isRunning), read, POLL_MS * 2);

  return (
    <section className="panel" aria-labelledby="recent-runs-heading">
      <h3 id="recent-runs-heading">Recent runs</h3>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {runs === null ? (
        <p className="muted small" aria-busy="true">
          Loading…
        </p>
      ) : runs.length === 0 ? (
        <p className="muted small">No runs of this prompt yet.</p>
      ) : (
        <table className="queue runs" aria-label="Recent runs">
          <thead>
            <tr>
              <th>Version</th>
              <th>Suite</th>
              <th>Result</th>
              <th>Status</th>
              <th>Model</th>
              <th>Started</th>
              <th>
                <span className="sr-only">Show</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} className={r.id === shownRun ? 'is-picked' : undefined}>
                <td className="mono">v{r.version}</td>
                <td>{r.suite}</td>
                <td>
                  {r.passed}/{r.total} passed
                </td>
                <td>
                  <span className={`run-status run-status--${r.status}`}>{STATUS_WORDS[r.status]}</span>
                  {r.suite_changed ? <span className="muted small"> · suite changed since</span> : null}
                </td>
                <td className="small">
                  {r.model.provider}/{r.model.model}
                  {r.own_settings ? '' : ' (override)'}
                </td>
                <td className="small">
                  {r.started_by}{' '}
                  <time dateTime={r.started_at} title={r.started_at}>
                    {relativeTime(r.started_at)}
                  </time>
                </td>
                <td>
                  <button
                    type="button"
                    className="btn btn--small"
                    aria-label={`Show the run of v${r.version} on ${r.suite}, ${relativeTime(r.started_at)}`}
                    onClick={() => onShow(r.id)}
                  >
                    Show
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
