// The postmortem of an incident: the written sections, the timeline and the root-cause diff as
// the registry has them (read-only), the impact durations, corrective actions, the failing
// inputs added as regression cases of the prompt's suite, and the Markdown export (shown,
// downloaded, copied). Saved only when asked; leaving with unsaved changes asks first.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ActionItem, Case, Postmortem, PostmortemDoc, Variable } from '../../api/generated';
import { errorText, useApi } from '../context';
import { useCommand } from '../useCommand';
import { relativeTime } from '../../lib/format';
import { EMPTY_DOC, SECTIONS, actionsProblem, docChanged, durationText, newAction, timeText } from '../../lib/incidents';
import { assertionShort, varText } from '../../lib/evals';
import { DiffView, LayoutToggle, type DiffLayout } from '../DiffView';
import { LabelBadge } from '../labels';
import { IncidentStatusBadge, SeverityBadge } from './badges';
import { IncidentTimeline } from './Timeline';
import { useLeaveGuard } from '../editor/unsavedChanges';
import { RegressionCaseDialog } from './RegressionCaseDialog';
import { ExportDialog } from './ExportDialog';

const NO_VARIABLES: Variable[] = [];

export const UNSAVED_MESSAGE = 'The postmortem has changes that are not saved.';

export function PostmortemEditor({
  id,
  refreshKey,
  onOpenIncident,
}: {
  id: string;
  refreshKey: number;
  onOpenIncident: (id: string) => void;
}) {
  const { call, refresh } = useApi();
  const [pm, setPm] = useState<Postmortem | null>(null);
  const [doc, setDoc] = useState<PostmortemDoc>(EMPTY_DOC);
  const [error, setError] = useState<string | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [saving, setSaving] = useState(false);
  const [addingCase, setAddingCase] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [layout, setLayout] = useState<DiffLayout>('unified');

  const dirty = pm !== null && docChanged(pm.doc, doc);
  useLeaveGuard(dirty ? UNSAVED_MESSAGE : null);
  // What the loaders compare with, without re-running them on every keystroke.
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;

  // The registry's side (timeline, diff, durations, cases) is read again with the listings;
  // what is being written stays as typed unless nothing was changed.
  const load = useCallback(
    () =>
      call('get_postmortem', { id })
        .then((p) => {
          setPm(p);
          if (!dirtyRef.current) setDoc(p.doc);
          setError(null);
          return p;
        })
        .catch((e) => {
          setError(errorText(e));
          return null;
        }),
    [call, id],
  );
  useEffect(() => {
    void load();
  }, [load, refreshKey]);

  const prompt = pm?.incident.prompt;
  const bad = pm?.bad_version ?? null;
  // The failing input was for the bad version: its variables (the latest's without one).
  const badVersion = useCommand('get_version', prompt ? { name: prompt, reference: bad !== null ? String(bad) : 'latest' } : null);
  const declared = badVersion.data?.content.variables ?? NO_VARIABLES;
  const suiteList = useCommand('list_suites', prompt ? { name: prompt } : null).data;
  const suites = useMemo(() => (suiteList ?? []).map((x) => x.name), [suiteList]);

  const problem = actionsProblem(doc.actions);
  const save = async () => {
    if (problem) return;
    setSaving(true);
    setMsg(null);
    try {
      const p = await call('save_postmortem', { id, doc });
      setPm(p);
      setDoc(p.doc);
      setMsg({ ok: true, text: 'Postmortem saved.' });
      refresh();
    } catch (e) {
      setMsg({ ok: false, text: errorText(e) });
    } finally {
      setSaving(false);
    }
  };

  if (error && !pm) {
    return (
      <p role="alert" className="error pad">
        {error}
      </p>
    );
  }
  if (!pm) {
    return (
      <p className="muted pad" aria-busy="true">
        Loading the postmortem…
      </p>
    );
  }
  const i = pm.incident;
  const set = (patch: Partial<PostmortemDoc>) => setDoc((d) => ({ ...d, ...patch }));
  const setAction = (n: number, patch: Partial<ActionItem>) =>
    setDoc((d) => ({ ...d, actions: d.actions.map((a, j) => (j === n ? { ...a, ...patch } : a)) }));
  const section = (key: (typeof SECTIONS)[number]['key']) => {
    const s = SECTIONS.find((x) => x.key === key)!;
    return (
      <section className="panel form" aria-labelledby={`pm-${key}-heading`}>
        <h3 id={`pm-${key}-heading`}>{s.title}</h3>
        {s.hint ? (
          <p id={`pm-${key}-hint`} className="hint">
            {s.hint}
          </p>
        ) : null}
        <textarea
          aria-labelledby={`pm-${key}-heading`}
          aria-describedby={s.hint ? `pm-${key}-hint` : undefined}
          rows={key === 'summary' || key === 'root_cause' ? 4 : 3}
          value={doc[key]}
          onChange={(e) => set({ [key]: e.target.value } as Partial<PostmortemDoc>)}
        />
      </section>
    );
  };

  return (
    <div className="postmortem pad">
      <header className="review__head postmortem__head">
        <h2>
          Postmortem: {i.title} <SeverityBadge severity={i.severity} /> <IncidentStatusBadge status={i.status} />
        </h2>
        <p className="muted small">
          <button type="button" className="linklike" onClick={() => onOpenIncident(i.id)}>
            Back to the incident
          </button>{' '}
          · blameless: about what happened and how the system let it, not about who
        </p>
        <div className="row postmortem__bar">
          <p role="status" aria-label="Save state" className={`small ${dirty ? 'warning-text' : 'muted'}`}>
            {dirty
              ? 'Unsaved changes'
              : pm.saved && pm.updated_at
                ? `Saved by ${pm.updated_by ?? '?'} ${relativeTime(pm.updated_at)}`
                : 'Not saved yet'}
          </p>
          <span className="grow" />
          <button type="button" className="btn" onClick={() => setExporting(true)}>
            Export Markdown…
          </button>
          <button
            type="button"
            className="btn btn--primary"
            disabled={!dirty || saving || problem !== null}
            aria-describedby="pm-problem"
            onClick={() => void save()}
          >
            {saving ? 'Saving…' : 'Save postmortem'}
          </button>
        </div>
        <p id="pm-problem" className={`small ${problem ? 'error' : 'muted'}`}>
          {problem ?? ''}
        </p>
        {msg ? (
          <p role={msg.ok ? 'status' : 'alert'} className={msg.ok ? 'ok small' : 'error'}>
            {msg.text}
          </p>
        ) : null}
      </header>
      <section className="panel" aria-labelledby="pm-facts-heading">
        <h3 id="pm-facts-heading">Facts from the registry</h3>
        <dl className="facts facts--wide">
          <dt>Prompt</dt>
          <dd>
            <code>{i.prompt}</code> <LabelBadge label={i.label} />
          </dd>
          <dt>Bad version</dt>
          <dd>{pm.bad_version !== null ? `v${pm.bad_version}` : 'unknown (no suspected release)'}</dd>
          <dt>Restored version</dt>
          <dd>{pm.good_version !== null ? `v${pm.good_version}` : '—'}</dd>
          <dt>Detected</dt>
          <dd>
            <time dateTime={i.detected_at}>{timeText(i.detected_at)}</time>
          </dd>
          <dt>Detected → mitigated</dt>
          <dd>{durationText(pm.minutes_to_mitigate)}</dd>
          <dt>Opened → resolved</dt>
          <dd>{durationText(pm.minutes_to_resolve)}</dd>
        </dl>
      </section>
      {section('summary')}
      <section className="panel" aria-labelledby="pm-timeline-heading">
        <h3 id="pm-timeline-heading">Timeline</h3>
        <p className="hint">From the ledger and the incident’s notes; add notes on the incident page.</p>
        <IncidentTimeline entries={pm.timeline} label="Postmortem timeline" />
      </section>
      {section('root_cause')}
      <section className="panel" aria-labelledby="pm-diff-heading">
        <div className="panel__head">
          <h3 id="pm-diff-heading">
            Root-cause diff{pm.good_version !== null && pm.bad_version !== null ? ` (v${pm.good_version} → v${pm.bad_version})` : ''}
          </h3>
          {pm.diff ? <LayoutToggle layout={layout} onChange={setLayout} /> : null}
        </div>
        {pm.diff ? (
          <DiffView diff={pm.diff} layout={layout} />
        ) : (
          <p className="muted small">No diff: the suspected release is unknown, or it put the first version on {i.label}.</p>
        )}
      </section>
      {section('impact')}
      {section('went_well')}
      {section('went_badly')}
      <section className="panel" aria-labelledby="pm-actions-heading">
        <div className="panel__head">
          <h3 id="pm-actions-heading">Corrective actions</h3>
          <button type="button" className="btn btn--small" onClick={() => set({ actions: [...doc.actions, newAction()] })}>
            Add action
          </button>
        </div>
        {doc.actions.length === 0 ? <p className="muted small">None yet.</p> : null}
        {doc.actions.length ? (
          <table className="vars pm-actions" aria-label="Corrective actions">
            <thead>
              <tr>
                <th>Action</th>
                <th className="pm-actions__owner">Owner</th>
                <th className="pm-actions__due">Due</th>
                <th className="pm-actions__status">Status</th>
                <th className="vars__remove">
                  <span className="sr-only">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {doc.actions.map((a, n) => (
                <tr key={a.id || `new-${n}`}>
                  <td>
                    <input aria-label={`Action ${n + 1}`} value={a.text} onChange={(e) => setAction(n, { text: e.target.value })} />
                  </td>
                  <td>
                    <input aria-label={`Owner of action ${n + 1}`} value={a.owner} onChange={(e) => setAction(n, { owner: e.target.value })} />
                  </td>
                  <td>
                    <input type="date" aria-label={`Due date of action ${n + 1}`} value={a.due} onChange={(e) => setAction(n, { due: e.target.value })} />
                  </td>
                  <td>
                    <select aria-label={`Status of action ${n + 1}`} value={a.status || 'open'} onChange={(e) => setAction(n, { status: e.target.value })}>
                      <option value="open">open</option>
                      <option value="done">done</option>
                    </select>
                  </td>
                  <td>
                    <button
                      type="button"
                      className="btn btn--ghost btn--icon"
                      aria-label={`Remove action ${n + 1}`}
                      onClick={() => set({ actions: doc.actions.filter((_, j) => j !== n) })}
                    >
                      ×
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
      {section('learning')}
      <section className="panel" aria-labelledby="pm-cases-heading">
        <div className="panel__head">
          <h3 id="pm-cases-heading">Regression cases from this postmortem</h3>
          <button type="button" className="btn btn--small" onClick={() => setAddingCase(true)}>
            Add as regression case…
          </button>
        </div>
        <p className="hint">
          The inputs that exposed the problem, as cases of {i.prompt}’s suite: a release policy requiring that suite then
          refuses the same change.
        </p>
        <RegressionCaseList cases={pm.regression_cases} />
      </section>
      {addingCase ? (
        <RegressionCaseDialog
          incidentId={i.id}
          declared={declared}
          suites={suites}
          onClose={() => setAddingCase(false)}
          onAdded={(cases, suite) => {
            setAddingCase(false);
            setMsg({ ok: true, text: `Added ${cases.length} regression case${cases.length === 1 ? '' : 's'} to ${suite}.` });
            void load();
            refresh();
          }}
        />
      ) : null}
      {exporting ? <ExportDialog id={i.id} dirty={dirty} onClose={() => setExporting(false)} /> : null}
    </div>
  );
}

function RegressionCaseList({ cases }: { cases: readonly Case[] }) {
  if (cases.length === 0) return <p className="muted small">None yet.</p>;
  return (
    <ul className="bare pm-cases" aria-label="Regression cases added">
      {cases.map((c) => (
        <li key={c.id}>
          <strong>#{c.position}</strong> {c.description || <span className="muted">(no description)</span>}{' '}
          <span className="small muted">
            {Object.entries(c.vars)
              .map(([k, v]) => `${k}=${varText(v)}`)
              .join(', ')}
          </span>
          <ul className="kvlist mono small">
            {c.assertions.map((a, n) => (
              <li key={n}>{assertionShort(a)}</li>
            ))}
          </ul>
        </li>
      ))}
    </ul>
  );
}
