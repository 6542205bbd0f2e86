// The Tests tab of a prompt: its test suites and their cases (variables, expected output,
// assertions in their short form checked as they are typed, tags, where each case came from),
// importing cases from a CSV or JSONL file, running a suite, and the prompt's recent runs.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Case, Suite, SuiteDetail, Variable, VersionSummary } from '../../api/generated';
import { errorText, useApi } from '../context';
import { FormDialog } from '../Dialog';
import { useChanged, useCommand } from '../useCommand';
import { RecentRuns, RunPanel } from './EvalRun';
import { assertionShort, originText, varText } from '../../lib/evals';
import { CaseDialog } from './CaseDialog';

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
