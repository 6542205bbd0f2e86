// The postmortem of an incident: the written sections, the timeline and the root-cause diff as
// the registry has them (read-only), the impact durations, corrective actions, the failing
// inputs added as regression cases of the prompt's suite, and the Markdown export (shown,
// downloaded, copied). Saved only when asked; leaving with unsaved changes asks first.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ActionItem, Case, CaseInput, Postmortem, PostmortemDoc, Variable } from '../../api/generated';
import { errorText, useApi } from '../context';
import { useCommand } from '../useCommand';
import { relativeTime } from '../../lib/format';
import {
  EMPTY_DOC,
  SECTIONS,
  actionsProblem,
  docChanged,
  durationText,
  newAction,
  timeText,
} from '../../lib/incidents';
import { assertionRow, assertionShort, assertionsBlocker, varRows, varsFromRows, varText, type VarRow } from '../../lib/evals';
import { Dialog, FormDialog } from '../Dialog';
import { DiffView, LayoutToggle, type DiffLayout } from '../DiffView';
import { LabelBadge } from '../labels';
import { IncidentStatusBadge, SeverityBadge } from './badges';
import { IncidentTimeline } from './Timeline';
import { AssertionList, useAssertionRows } from '../evals/AssertionList';
import { useLeaveGuard } from '../editor/unsavedChanges';

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

/** The failing input as a case of the prompt's suite (`regression` by default): the prompt's
 * declared variables to fill in, an expected output and checked assertions. */
export function RegressionCaseDialog({
  incidentId,
  declared,
  suites,
  onClose,
  onAdded,
}: {
  incidentId: string;
  declared: readonly Variable[];
  suites: readonly string[];
  onClose: () => void;
  onAdded: (cases: Case[], suite: string) => void;
}) {
  const { call } = useApi();
  const [suite, setSuite] = useState('regression');
  const [description, setDescription] = useState('');
  const [vars, setVars] = useState<VarRow[]>(() => varRows(declared, {}));
  const [expected, setExpected] = useState('');
  const [firstRows] = useState(() => [assertionRow(null)]);
  const assertions = useAssertionRows(firstRows);
  // The declared variables may arrive after the dialog opened.
  useEffect(() => {
    setVars((vs) => (vs.some((v) => v.text !== '') ? vs : varRows(declared, {})));
  }, [declared]);

  const varsRead = varsFromRows(vars);
  const problem = !suite.trim()
    ? 'Name the suite the case goes to.'
    : 'error' in varsRead
      ? varsRead.error
      : (assertionsBlocker(assertions.rows) ??
        (assertions.rows.some((r) => r.value) ? null : 'Give at least one assertion: a case that checks nothing never fails.'));

  const submit = async () => {
    if (!('vars' in varsRead)) return;
    const input: CaseInput = {
      description: description.trim(),
      vars: varsRead.vars,
      expected: expected === '' ? null : expected,
      assertions: assertions.rows.filter((r) => r.text.trim() && r.value).map((r) => r.value!),
      tags: [],
    };
    const cases = await call('add_regression_cases', { id: incidentId, suite: suite.trim(), cases: [input] });
    onAdded(cases, suite.trim());
  };

  return (
    <FormDialog
      title="Add as regression case"
      wide
      onClose={onClose}
      onSubmit={submit}
      submitLabel="Add regression case"
      blocked={problem !== null}
      submitDescribedBy="regression-problem"
      after={
        <p id="regression-problem" className={`small ${problem && problem !== 'Checking the assertions…' ? 'error' : 'muted'}`}>
          {problem ?? 'The case is marked as coming from this postmortem and tagged regression.'}
        </p>
      }
    >
      <div className="grid2">
        <label>
          Suite
          <input data-autofocus list="regression-suites" value={suite} onChange={(e) => setSuite(e.target.value)} spellCheck={false} />
          <datalist id="regression-suites">
            {suites.map((s) => (
              <option key={s} value={s} />
            ))}
          </datalist>
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} placeholder="The input that exposed the problem" />
        </label>
      </div>
      <fieldset className="fieldset">
        <legend>Variables</legend>
        {vars.length === 0 ? <p className="small muted">The prompt declares no variables.</p> : null}
        <table className="vars" aria-label="Case variables">
          <thead>
            <tr>
              <th className="vars__name">Name</th>
              <th className="vars__type">Type</th>
              <th>Value</th>
            </tr>
          </thead>
          <tbody>
            {vars.map((v, n) => (
              <tr key={v.name || n}>
                <td>
                  <code>{v.name}</code>
                </td>
                <td className="small muted">{v.declared ? v.declared.type : 'text'}</td>
                <td>
                  <input
                    aria-label={`Value of ${v.name}`}
                    value={v.text}
                    spellCheck={false}
                    placeholder={
                      v.declared?.default != null ? `default: ${varText(v.declared.default)}` : v.declared?.required ? 'required' : '(not set)'
                    }
                    onChange={(e) => setVars((vs) => vs.map((x, j) => (j === n ? { ...x, text: e.target.value } : x)))}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </fieldset>
      <label>
        Expected output
        <textarea rows={2} value={expected} onChange={(e) => setExpected(e.target.value)} placeholder="Optional: what a good answer says" />
      </label>
      <fieldset className="fieldset">
        <legend>Assertions</legend>
        <p className="hint">
          In the short form: <code>icontains: within 30 days</code>, <code>not-contains: sorry</code>, <code>regex: ^Hi</code>…
        </p>
        <AssertionList assertions={assertions} idPrefix="regression-assertion-error" placeholder="icontains: within 30 days" />
      </fieldset>
    </FormDialog>
  );
}

/** A link that saves `text` as `fileName`: a Blob URL (revoked when it goes), which works in a
 * browser and in the desktop webview alike. */
function useDownloadUrl(text: string | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (text === null) return;
    if (typeof URL.createObjectURL !== 'function') {
      setUrl(`data:text/markdown;charset=utf-8,${encodeURIComponent(text)}`);
      return;
    }
    const u = URL.createObjectURL(new Blob([text], { type: 'text/markdown;charset=utf-8' }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [text]);
  return url;
}

export function ExportDialog({ id, dirty, onClose }: { id: string; dirty: boolean; onClose: () => void }) {
  const { call } = useApi();
  const [exported, setExported] = useState<{ file_name: string; markdown: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const textRef = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    call('export_postmortem', { id })
      .then(setExported)
      .catch((e) => setError(errorText(e)));
  }, [call, id]);
  const url = useDownloadUrl(exported?.markdown ?? null);

  const copy = async () => {
    if (!exported) return;
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(exported.markdown);
      setCopied('Copied to the clipboard.');
    } catch {
      // Without the clipboard API (an older webview, a page without the permission): the text
      // selected and copied the old way, or selected for Ctrl+C.
      const t = textRef.current;
      t?.focus();
      t?.select();
      const ok = typeof document.execCommand === 'function' && document.execCommand('copy');
      setCopied(ok ? 'Copied to the clipboard.' : 'Selected: press Ctrl+C (⌘C) to copy.');
    }
  };

  return (
    <Dialog title="Postmortem as Markdown" onClose={onClose} wide>
      <div className="form">
        {dirty ? <p className="warning">This is the postmortem as last saved: your unsaved changes are not in it. Save first to include them.</p> : null}
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        {exported ? (
          <>
            <textarea ref={textRef} className="mono export__text" readOnly rows={22} aria-label="Markdown" value={exported.markdown} />
            <div className="actions">
              <p role="status" className="small ok grow">
                {copied ?? ''}
              </p>
              <button type="button" className="btn" onClick={() => void copy()}>
                Copy
              </button>
              {url ? (
                <a className="btn btn--primary" href={url} download={exported.file_name} data-autofocus>
                  Download {exported.file_name}
                </a>
              ) : null}
            </div>
          </>
        ) : !error ? (
          <p className="muted" aria-busy="true">
            Writing the Markdown…
          </p>
        ) : null}
      </div>
    </Dialog>
  );
}

