// "Add as regression case" from a postmortem: the failing input as a case of the prompt's suite,
// with the variables the bad version declares and assertions checked as they are typed.
import { useEffect, useState } from 'react';
import type { Case, CaseInput, Variable } from '../../api/generated';
import { useApi } from '../context';
import { assertionRow, assertionsBlocker, varRows, varsFromRows, varText, type VarRow } from '../../lib/evals';
import { FormDialog } from '../Dialog';
import { AssertionList, useAssertionRows } from '../evals/AssertionList';

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
