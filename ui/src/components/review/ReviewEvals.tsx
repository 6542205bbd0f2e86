// The review page's "Evals" section: the latest runs of each suite on the version under review,
// what the release gate made of them (the policy's suite condition and the evidence it weighed:
// failing cases, regressions, or why no run counts), and everyone's ratings of its outputs.
import type { Decision, EvalRun, Rating } from '../../api/generated';
import { useCommand } from '../useCommand';
import { relativeTime } from '../../lib/format';
import { STATUS_WORDS, gateOf, gateSummary, latestPerSuite, passText } from '../../lib/evals';

export function ReviewEvals({
  prompt,
  version,
  label,
  serving,
  decision,
  refreshKey,
  onCompare,
}: {
  prompt: string;
  version: number;
  label: string;
  /** What the label serves now. */
  serving: number | null;
  decision: Decision;
  refreshKey: number;
  /** Opens the comparison of this version with what the label serves, on `suite`. */
  onCompare: (versions: number[], suite: string | undefined) => void;
}) {
  const loaded = useCommand('version_evals', { name: prompt, reference: String(version) }, refreshKey);
  const { data: evals, error } = loaded;
  // The ratings of what the label serves, for comparison.
  const { data: servingEvals } = useCommand(
    'version_evals',
    serving === null || serving === version ? null : { name: prompt, reference: String(serving) },
    refreshKey,
  );

  const gate = gateOf(decision);
  const ev = gate?.evidence ?? null;
  const runs: EvalRun[] = evals ? latestPerSuite(evals.runs) : [];
  const compareSuite = ev?.suite ?? runs[0]?.suite;
  const canCompare = serving !== null && serving !== version;

  return (
    <section className="panel review-evals" aria-labelledby="evals-heading">
      <div className="panel__head">
        <h3 id="evals-heading">Evals</h3>
        {canCompare ? (
          <button type="button" className="btn" onClick={() => onCompare([serving, version].sort((a, b) => a - b), compareSuite)}>
            Compare with {label} (v{serving})
          </button>
        ) : null}
      </div>
      <section aria-labelledby="gate-heading" className="review-evals__gate">
        <h4 id="gate-heading">Release gate</h4>
        {gate ? (
          <div className={`gate gate--${gate.condition.met ? 'met' : 'unmet'}`} role="group" aria-label="The gate's verdict">
            <p>
              <span className="gate__mark" aria-hidden="true">
                {gate.condition.met ? '✓' : '✗'}
              </span>{' '}
              <strong>{gate.condition.met ? 'Passes' : 'Refused'}:</strong> {gateSummary(gate.condition.message, ev)}
            </p>
            {ev ? (
              <>
                {ev.problem ? <p className="small">Why no run counts: {ev.problem}</p> : null}
                {ev.run_id ? (
                  <p className="small muted">
                    Weighed the run of {ev.suite}: {ev.passed} of {ev.total} passed ({Math.round(ev.pass_rate * 100)}%).
                  </p>
                ) : null}
                {ev.run_id && ev.ran_by ? <p className="small muted review-evals__provenance">{provenanceText(ev)}</p> : null}
                {ev.failing.length ? (
                  <>
                    <p className="small">Failing cases:</p>
                    <ul className="small" aria-label="Failing cases">
                      {ev.failing.map((f) => (
                        <li key={f}>{f}</li>
                      ))}
                    </ul>
                  </>
                ) : null}
                {ev.regressions.length ? (
                  <>
                    <p className="small">
                      Regressions (pass on v{ev.baseline_version ?? '?'}, fail here):
                    </p>
                    <ul className="small" aria-label="Regressions">
                      {ev.regressions.map((f) => (
                        <li key={f}>{f}</li>
                      ))}
                    </ul>
                  </>
                ) : null}
              </>
            ) : null}
          </div>
        ) : (
          <p className="small muted">The release policy for {label} requires no test suite.</p>
        )}
      </section>
      <section aria-labelledby="eval-runs-heading">
        <h4 id="eval-runs-heading">Latest runs of v{version}</h4>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        {evals === null ? (
          error ? null : (
            <p className="muted small" aria-busy="true">
              Loading…
            </p>
          )
        ) : runs.length === 0 ? (
          <p className="small muted">No suite has run on this version yet.</p>
        ) : (
          <table className="kv" aria-label="Latest runs">
            <thead>
              <tr>
                <th>Suite</th>
                <th>Pass rate</th>
                <th>Status</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id}>
                  <td>{r.suite}</td>
                  <td>
                    {passText(r)}
                    {r.own_settings ? '' : ' (another model)'}
                  </td>
                  <td>
                    {STATUS_WORDS[r.status]}
                    {r.suite_changed ? ', suite changed since' : ''}
                  </td>
                  <td>
                    {r.started_by}{' '}
                    <time dateTime={r.started_at} title={r.started_at}>
                      {relativeTime(r.started_at)}
                    </time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="ratings-heading">
        <h4 id="ratings-heading">
          Ratings{' '}
          {evals ? (
            <span className="muted small h-count">
              {evals.good} good, {evals.bad} bad
            </span>
          ) : null}
        </h4>
        {evals && evals.ratings.length === 0 ? <p className="small muted">Nobody rated this version’s outputs yet.</p> : null}
        {evals && evals.ratings.length ? <RatingList ratings={evals.ratings} label={`Ratings of v${version}`} /> : null}
        {servingEvals && servingEvals.ratings.length ? (
          <>
            <p className="small muted review-evals__serving">
              Of v{serving}, which {label} serves now: {servingEvals.good} good, {servingEvals.bad} bad
            </p>
            <RatingList ratings={servingEvals.ratings} label={`Ratings of v${serving}`} />
          </>
        ) : null}
      </section>
    </section>
  );
}

/** Where the weighed run's verdicts come from, in words: who ran it (the model's answers are
 * theirs), which checks anyone can run again on those answers, and which are taken as recorded. */
export function provenanceText(ev: {
  ran_by?: string | null;
  rerun_checks?: number;
  recorded_checks?: number;
}): string {
  const rerun = ev.rerun_checks ?? 0;
  const recorded = ev.recorded_checks ?? 0;
  const checks = (n: number) => `${n} check${n === 1 ? '' : 's'}`;
  const parts = [`Run by ${ev.ran_by}: the answers are the model's as that run recorded them.`];
  if (rerun) parts.push(`${checks(rerun)} on those answers can be run again by anyone (the team server does, at release).`);
  if (recorded)
    parts.push(
      `${checks(recorded)} (model-graded rubrics, latency and cost limits) cannot be re-checked and are taken as recorded.`,
    );
  return parts.join(' ');
}

function RatingList({ ratings, label }: { ratings: readonly Rating[]; label: string }) {
  return (
    <ul className="ratings" aria-label={label}>
      {ratings.map((r) => (
        <li key={r.id} className={`rating rating--${r.rating}`}>
          <span className="rating__mark" aria-hidden="true">
            {r.rating === 'good' ? '✓' : '✗'}
          </span>{' '}
          <strong>{r.rated_by}</strong> rated <span className="rating__case">{r.case_label}</span> <strong>{r.rating}</strong>
          {r.comment ? `: ${r.comment}` : ''}{' '}
          <time className="muted small" dateTime={r.rated_at} title={r.rated_at}>
            {relativeTime(r.rated_at)}
          </time>
        </li>
      ))}
    </ul>
  );
}
