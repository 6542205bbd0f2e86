// The Tests tab of a prompt: its test suites and their cases (variables, expected output,
// assertions in their short form checked as they are typed, tags, where each case came from),
// importing cases from a CSV or JSONL file, running a suite, and the prompt's recent runs.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Case, CaseInput, Suite, SuiteDetail, Variable, VersionSummary } from '../../api/generated';
import { errorText, useApi } from '../context';
import { FormDialog } from '../Dialog';
import { useChanged, useCommand } from '../useCommand';
import { RecentRuns, RunPanel } from './EvalRun';
import {
  assertionRow,
  assertionShort,
  assertionsBlocker,
  originText,
  splitList,
  varRows,
  varsFromRows,
  varText,
  type AssertionRow,
  type VarRow,
} from '../../lib/evals';

/** How long typing in an assertion pauses before it is checked. */
export const ASSERTION_CHECK_MS = 250;

export function Tests({ name, refreshKey }: { name: string; refreshKey: number }) {
  const { call } = useApi();
  const [suites, setSuites] = useState<Suite[] | null>(null);
  const [suite, setSuite] = useState('');
  const [declared, setDeclared] = useState<Variable[]>([]);
  const [versions, setVersions] = useState<VersionSummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Case | 'new' | null>(null);
  const [removing, setRemoving] = useState<Case | null>(null);
  const [importMsg, setImportMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [importing, setImporting] = useState(false);
  const [shownRun, setShownRun] = useState<string | null>(null);
  const [runsReload, setRunsReload] = useState(0);
  const fileRef = useRef<HTMLInputElement>(null);

  const readSuites = useCallback(
    (pick?: string) =>
      call('list_suites', { name })
        .then((s) => {
          setSuites(s);
          setSuite((cur) => (pick && s.some((x) => x.name === pick) ? pick : s.some((x) => x.name === cur) ? cur : (s[0]?.name ?? '')));
        })
        .catch((e) => setError(errorText(e))),
    [call, name],
  );

  useEffect(() => {
    void readSuites();
    // The variables the cases fill in: the latest version's (what runs), the draft's before
    // there is one (the backend types case values by the same).
    call('open_prompt', { name })
      .then(async (o) => {
        if (o.latest === null) return setDeclared(o.draft.content.variables);
        const v = await call('get_version', { name, reference: String(o.latest) });
        setDeclared(v.content.variables);
      })
      .catch(() => undefined);
    call('history', { name, limit: 100 })
      .then((h) => setVersions(h.versions))
      .catch(() => undefined);
  }, [call, name, refreshKey, readSuites]);

  // The previous suite's cases stay shown while another suite is read (no flash of nothing).
  // A change made here (a case saved, a file imported) answers with the suite as it now is.
  const [detail, setDetail] = useChanged(useCommand('get_suite', suite ? { name, suite } : null, 0, { keepPrevious: true }).data);

  const changed = (d: SuiteDetail) => {
    setDetail(d);
    setSuites((ss) => (ss ?? []).map((s) => (s.id === d.suite.id ? d.suite : s)));
  };

  const importFile = async (file: File) => {
    setImporting(true);
    setImportMsg(null);
    try {
      const text = await file.text();
      const before = detail?.cases.length ?? 0;
      const d = await call('import_cases', { name, suite, file_name: file.name, text });
      changed(d);
      const n = d.cases.length - before;
      setImportMsg({ ok: true, text: `Imported ${n} case${n === 1 ? '' : 's'} from ${file.name}.` });
    } catch (e) {
      setImportMsg({ ok: false, text: errorText(e) });
    } finally {
      setImporting(false);
      if (fileRef.current) fileRef.current.value = '';
    }
  };

  const onRunsChanged = useCallback(() => setRunsReload((k) => k + 1), []);

  if (error && suites === null) {
    return (
      <p role="alert" className="error pad">
        {error}
      </p>
    );
  }
  if (suites === null) {
    return (
      <p className="muted pad" aria-busy="true">
        Loading test suites…
      </p>
    );
  }

  return (
    <div className="tests pad">
      <section className="panel" aria-labelledby="suites-heading">
        <h3 id="suites-heading">Test suites</h3>
        {suites.length === 0 ? (
          <p className="muted">
            No test suites yet. A suite is a set of cases (input values, what the output must say) run against the
            version’s model; a release policy can require one to pass.
          </p>
        ) : null}
        <div className="row">
          {suites.length ? (
            <label>
              Suite
              <select aria-label="Suite" value={suite} onChange={(e) => setSuite(e.target.value)}>
                {suites.map((s) => (
                  <option key={s.id} value={s.name}>
                    {s.name}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          <button type="button" className="btn" onClick={() => setCreating(true)}>
            New suite…
          </button>
          <span className="grow" />
          {suite ? (
            <label className="file-pick">
              Import cases (.csv or .jsonl)
              <input
                ref={fileRef}
                type="file"
                accept=".csv,.jsonl,.ndjson"
                disabled={importing}
                onChange={(e) => {
                  const f = e.target.files?.[0];
                  if (f) void importFile(f);
                }}
              />
            </label>
          ) : null}
        </div>
        {detail ? (
          <p className="small muted">
            {detail.suite.description ? `${detail.suite.description} · ` : ''}
            {detail.cases.length} case{detail.cases.length === 1 ? '' : 's'} · created by {detail.suite.created_by}
          </p>
        ) : null}
        {importMsg ? (
          <p role={importMsg.ok ? 'status' : 'alert'} className={importMsg.ok ? 'ok small' : 'error'}>
            {importMsg.text}
          </p>
        ) : null}
        {suite ? (
          <p className="hint">
            CSV: a column per variable, plus <code>__description</code>, <code>__expected</code>, <code>__tags</code>{' '}
            and <code>__assert</code>, <code>__assert2</code>… in the short form. JSONL: one{' '}
            <code>{'{"vars": {…}, "expected": …, "assert": […]}'}</code> per line. Values written as text take the type the
            prompt declares (a number stays a number). A file with any error imports nothing.
          </p>
        ) : null}
      </section>
      {detail ? (
        <CasesTable
          detail={detail}
          onAdd={() => setEditing('new')}
          onEdit={(c) => setEditing(c)}
          onRemove={(c) => setRemoving(c)}
        />
      ) : null}
      {suites.length ? (
        <RunPanel
          name={name}
          suites={suites}
          suite={suite}
          versions={versions}
          shownRun={shownRun}
          onShowRun={setShownRun}
          onRunsChanged={onRunsChanged}
        />
      ) : null}
      <RecentRuns name={name} reload={runsReload} shownRun={shownRun} onShow={setShownRun} />
      {creating ? (
        <NewSuiteDialog
          name={name}
          onClose={() => setCreating(false)}
          onCreated={(d) => {
            setCreating(false);
            void readSuites(d.suite.name);
            setDetail(d);
          }}
        />
      ) : null}
      {editing && detail ? (
        <CaseDialog
          name={name}
          suite={detail.suite.name}
          declared={declared}
          existing={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(d) => {
            setEditing(null);
            changed(d);
          }}
        />
      ) : null}
      {removing && detail ? (
        <FormDialog
          title={`Remove case #${removing.position}`}
          onClose={() => setRemoving(null)}
          submitLabel="Remove case"
          onSubmit={async () => {
            const d = await call('remove_case', { name, suite: detail.suite.name, case_id: removing.id });
            setRemoving(null);
            changed(d);
          }}
        >
          <p>
            Remove “{caseTitle(removing)}” from {detail.suite.name}? Runs made before keep their results, but no longer
            count as runs of the suite as it is.
          </p>
        </FormDialog>
      ) : null}
    </div>
  );
}

function caseTitle(c: Case): string {
  return c.description || Object.entries(c.vars).map(([k, v]) => `${k}=${varText(v)}`).join(', ') || `case #${c.position}`;
}

function CasesTable({
  detail,
  onAdd,
  onEdit,
  onRemove,
}: {
  detail: SuiteDetail;
  onAdd: () => void;
  onEdit: (c: Case) => void;
  onRemove: (c: Case) => void;
}) {
  return (
    <section className="panel" aria-labelledby="cases-heading">
      <div className="panel__head">
        <h3 id="cases-heading">Cases of {detail.suite.name}</h3>
        <button type="button" className="btn" onClick={onAdd}>
          Add case…
        </button>
      </div>
      {detail.cases.length === 0 ? (
        <p className="muted small">No cases yet: add one, or import a file.</p>
      ) : (
        <div className="table-scroll">
          <table className="cases" aria-label={`Cases of ${detail.suite.name}`}>
            <colgroup>
              <col className="cases__c-num" />
              <col className="cases__c-desc" />
              <col className="cases__c-vars" />
              <col className="cases__c-expected" />
              <col className="cases__c-asserts" />
              <col className="cases__c-tags" />
              <col className="cases__c-origin" />
              <col className="cases__c-actions" />
            </colgroup>
            <thead>
              <tr>
                <th className="cases__num">#</th>
                <th>Description</th>
                <th>Variables</th>
                <th>Expected</th>
                <th>Assertions</th>
                <th>Tags</th>
                <th>Origin</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {detail.cases.map((c) => (
                <tr key={c.id}>
                  <td className="cases__num mono">{c.position}</td>
                  <td>{c.description || <span className="muted">—</span>}</td>
                  <td>
                    <ul className="kvlist">
                      {Object.entries(c.vars).map(([k, v]) => (
                        <li key={k}>
                          <code>{k}</code>: {varText(v)}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td className="cases__expected">{c.expected ?? <span className="muted">—</span>}</td>
                  <td>
                    <ul className="kvlist mono">
                      {c.assertions.map((a, i) => (
                        <li key={i}>{assertionShort(a)}</li>
                      ))}
                    </ul>
                  </td>
                  <td>{c.tags.join(', ')}</td>
                  <td className="small">{originText(c.origin)}</td>
                  <td className="cases__actions">
                    <button type="button" className="btn btn--small" aria-label={`Edit case #${c.position}`} onClick={() => onEdit(c)}>
                      Edit
                    </button>
                    <button type="button" className="btn btn--small" aria-label={`Remove case #${c.position}`} onClick={() => onRemove(c)}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function NewSuiteDialog({ name, onClose, onCreated }: { name: string; onClose: () => void; onCreated: (d: SuiteDetail) => void }) {
  const { call } = useApi();
  const [suite, setSuite] = useState('');
  const [description, setDescription] = useState('');
  return (
    <FormDialog
      title="New test suite"
      onClose={onClose}
      submitLabel="Create suite"
      blocked={!suite.trim()}
      onSubmit={async () => onCreated(await call('create_suite', { name, suite: suite.trim(), description: description.trim() }))}
    >
      <label>
        Suite name
        <input data-autofocus value={suite} onChange={(e) => setSuite(e.target.value)} placeholder="regression" spellCheck={false} />
      </label>
      <label>
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} placeholder="What the suite checks" />
      </label>
    </FormDialog>
  );
}

/** The assertions being edited, one short-form line each, with each line's check (from
 *  `useAssertionRows`) under it; used by the case editor and the postmortem's regression case. */
export function AssertionList({
  assertions,
  idPrefix,
  placeholder,
}: {
  assertions: ReturnType<typeof useAssertionRows>;
  idPrefix: string;
  placeholder: string;
}) {
  return (
    <>
      <ol className="assertions">
        {assertions.rows.map((r, i) => {
          const errId = `${idPrefix}-${r.key}`;
          return (
            <li key={r.key}>
              <div className="assertion-row">
                <input
                  className="mono grow"
                  aria-label={`Assertion ${i + 1}`}
                  value={r.text}
                  spellCheck={false}
                  aria-invalid={r.error !== null}
                  aria-describedby={r.error ? errId : undefined}
                  placeholder={placeholder}
                  onChange={(e) => assertions.setText(r.key, e.target.value)}
                />
                <button
                  type="button"
                  className="btn btn--ghost btn--icon"
                  aria-label={`Remove assertion ${i + 1}`}
                  onClick={() => assertions.remove(r.key)}
                >
                  ×
                </button>
              </div>
              <p id={errId} className={`assertion-note small ${r.error ? 'error' : 'muted'}`}>
                {r.error ?? (r.checking ? 'checking…' : '')}
              </p>
            </li>
          );
        })}
      </ol>
      <button type="button" className="btn btn--small" onClick={assertions.add}>
        Add assertion
      </button>
    </>
  );
}

/** Checks each assertion's text with the backend as it is typed (debounced). Also used by the
 * postmortem's "Add as regression case". */
export function useAssertionRows(initial: AssertionRow[]) {
  const { call } = useApi();
  const [rows, setRows] = useState<AssertionRow[]>(initial);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const t = timers.current;
    return () => t.forEach((x) => clearTimeout(x));
  }, []);

  const setText = (key: number, text: string) => {
    const blank = text.trim() === '';
    setRows((rs) => rs.map((r) => (r.key === key ? { ...r, text, value: null, error: null, checking: !blank } : r)));
    clearTimeout(timers.current.get(key));
    if (blank) return;
    timers.current.set(
      key,
      setTimeout(() => {
        call('parse_assertion', { text })
          .then((a) => setRows((rs) => rs.map((r) => (r.key === key && r.text === text ? { ...r, value: a, error: null, checking: false } : r))))
          .catch((e) =>
            setRows((rs) => rs.map((r) => (r.key === key && r.text === text ? { ...r, value: null, error: errorText(e), checking: false } : r))),
          );
      }, ASSERTION_CHECK_MS),
    );
  };
  const add = () => setRows((rs) => [...rs, assertionRow(null)]);
  const remove = (key: number) => setRows((rs) => rs.filter((r) => r.key !== key));
  return { rows, setText, add, remove };
}

export function CaseDialog({
  name,
  suite,
  declared,
  existing,
  onClose,
  onSaved,
}: {
  name: string;
  suite: string;
  declared: readonly Variable[];
  existing: Case | null;
  onClose: () => void;
  onSaved: (d: SuiteDetail) => void;
}) {
  const { call } = useApi();
  const [description, setDescription] = useState(existing?.description ?? '');
  const [vars, setVars] = useState<VarRow[]>(() => varRows(declared, existing?.vars ?? {}));
  const [expected, setExpected] = useState(existing?.expected ?? '');
  const [tags, setTags] = useState((existing?.tags ?? []).join(', '));
  const assertions = useAssertionRows(
    existing?.assertions.length ? existing.assertions.map((a) => assertionRow(a)) : [assertionRow(null)],
  );

  const varsRead = varsFromRows(vars);
  const assertionProblem = assertionsBlocker(assertions.rows);
  const problem = 'error' in varsRead ? varsRead.error : assertionProblem;

  const submit = async () => {
    if (!('vars' in varsRead)) return;
    const input: CaseInput = {
      description: description.trim(),
      vars: varsRead.vars,
      expected: expected === '' ? null : expected,
      assertions: assertions.rows.filter((r) => r.text.trim() && r.value).map((r) => r.value!),
      tags: splitList(tags),
    };
    if (existing) {
      await call('update_case', { name, suite, case_id: existing.id, case: input });
      onSaved(await call('get_suite', { name, suite }));
    } else {
      onSaved(await call('add_cases', { name, suite, cases: [input] }));
    }
  };

  return (
    <FormDialog
      title={existing ? `Edit case #${existing.position}` : `New case in ${suite}`}
      wide
      onClose={onClose}
      onSubmit={submit}
      submitLabel={existing ? 'Save case' : 'Add case'}
      blocked={problem !== null}
      submitDescribedBy="case-problem"
      after={
        <p id="case-problem" className={`small ${problem && problem !== 'Checking the assertions…' ? 'error' : 'muted'}`}>
          {problem ?? ''}
        </p>
      }
    >
      {existing?.origin ? <p className="small muted">This case was {originText(existing.origin)}.</p> : null}
      <label>
        Description
        <input data-autofocus value={description} onChange={(e) => setDescription(e.target.value)} placeholder="What this case checks" />
      </label>
      <fieldset className="fieldset">
        <legend>Variables</legend>
        <table className="vars" aria-label="Case variables">
          <thead>
            <tr>
              <th className="vars__name">Name</th>
              <th className="vars__type">Type</th>
              <th>Value</th>
              <th className="vars__remove">
                <span className="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {vars.map((v, i) => (
              <tr key={i}>
                <td>
                  {v.declared ? (
                    <code>{v.name}</code>
                  ) : (
                    <input
                      aria-label={`Name of variable ${i + 1}`}
                      value={v.name}
                      spellCheck={false}
                      onChange={(e) => setVars((vs) => vs.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))}
                    />
                  )}
                </td>
                <td className="small muted">{v.declared ? v.declared.type : 'text'}</td>
                <td>
                  <input
                    aria-label={`Value of ${v.name || `variable ${i + 1}`}`}
                    value={v.text}
                    spellCheck={false}
                    placeholder={
                      v.declared
                        ? v.declared.default !== null
                          ? `default: ${varText(v.declared.default)}`
                          : v.declared.required
                            ? 'required'
                            : '(not set)'
                        : ''
                    }
                    onChange={(e) => setVars((vs) => vs.map((x, j) => (j === i ? { ...x, text: e.target.value } : x)))}
                  />
                </td>
                <td>
                  {v.declared ? null : (
                    <button
                      type="button"
                      className="btn btn--ghost btn--icon"
                      aria-label={`Remove variable ${v.name || i + 1}`}
                      onClick={() => setVars((vs) => vs.filter((_, j) => j !== i))}
                    >
                      ×
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" className="btn btn--small" onClick={() => setVars((vs) => [...vs, { name: '', text: '', declared: null }])}>
          Add variable
        </button>
      </fieldset>
      <label>
        Expected output
        <textarea rows={2} value={expected} onChange={(e) => setExpected(e.target.value)} placeholder="Optional: a reference answer (for similar: and equals)" />
      </label>
      <fieldset className="fieldset">
        <legend>Assertions</legend>
        <p className="hint">
          One per line, in the short form: <code>contains: refund</code>, <code>not-icontains: sorry</code>,{' '}
          <code>regex: ^Hi</code>, <code>is-json</code>, <code>length: 10..200</code>, <code>similar: 0.8</code>,{' '}
          <code>latency: 2000</code>, <code>cost: 0.01</code>, <code>contains-any: a | b</code>, <code>rubric: is polite</code>.
        </p>
        <AssertionList assertions={assertions} idPrefix="assertion-error" placeholder="contains: refund" />
      </fieldset>
      <label>
        Tags
        <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="comma, separated" />
      </label>
    </FormDialog>
  );
}
