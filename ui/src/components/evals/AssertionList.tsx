// Editing a list of assertions in their short form (`icontains: refund`), each checked with the
// backend as it is typed: the case editor and the postmortem's regression case share it.
import { useEffect, useRef, useState } from 'react';
import { errorText, useApi } from '../context';
import { assertionRow, type AssertionRow } from '../../lib/evals';

/** How long typing in an assertion pauses before it is checked. */
export const ASSERTION_CHECK_MS = 250;

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
