// Adding or editing one test case: its variables (typed as the prompt declares them), the
// expected output, the assertions, a description and tags.
import { useState } from 'react';
import type { Case, CaseInput, SuiteDetail, Variable } from '../../api/generated';
import { useApi } from '../context';
import { FormDialog } from '../Dialog';
import { assertionRow, assertionsBlocker, originText, splitList, varRows, varsFromRows, varText, type VarRow } from '../../lib/evals';
import { AssertionList, useAssertionRows } from './AssertionList';

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
