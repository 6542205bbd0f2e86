// The typed variables schema and the model settings form. Both edit a copy of the draft and
// hand every valid change up; text that does not parse yet stays local, marked invalid.
import { memo, useEffect, useState } from 'react';
import type { JsonValue, ModelSettings, SchemaReport, VarType, Variable } from '../../api/generated';

const TYPES: VarType[] = ['string', 'number', 'boolean', 'list', 'object'];

/** Parses what a person typed as a default for a variable of type `ty`. `undefined` = invalid. */
export function parseDefault(ty: VarType, text: string): JsonValue | undefined {
  if (text.trim() === '') return null;
  if (ty === 'string') return text;
  try {
    const v = JSON.parse(text) as JsonValue;
    const ok =
      (ty === 'number' && typeof v === 'number') ||
      (ty === 'boolean' && typeof v === 'boolean') ||
      (ty === 'list' && Array.isArray(v)) ||
      (ty === 'object' && typeof v === 'object' && v !== null && !Array.isArray(v));
    return ok ? v : undefined;
  } catch {
    return undefined;
  }
}

export function defaultText(v: Variable): string {
  if (v.default === null || v.default === undefined) return '';
  return v.type === 'string' && typeof v.default === 'string' ? v.default : JSON.stringify(v.default);
}

function VariableRow({
  variable,
  onChange,
  onRemove,
  index,
}: {
  variable: Variable;
  onChange: (v: Variable) => void;
  onRemove: () => void;
  index: number;
}) {
  const [def, setDef] = useState(defaultText(variable));
  // Follow the default when it changes from elsewhere, but keep the text being typed while it
  // means the same value: rewriting it on every change turned "1.0" into "1" (so "1.05" could
  // not be typed) and "[1, 2]" into "[1,2]" under the cursor.
  const defaultJson = JSON.stringify(variable.default ?? null);
  useEffect(() => {
    setDef((text) => {
      const parsed = parseDefault(variable.type, text);
      return parsed !== undefined && JSON.stringify(parsed) === defaultJson ? text : defaultText(variable);
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [variable.type, defaultJson]);
  const invalid = parseDefault(variable.type, def) === undefined;
  const label = variable.name || `variable ${index + 1}`;
  return (
    <tr>
      <td>
        <input
          aria-label={`Name of ${label}`}
          value={variable.name}
          onChange={(e) => onChange({ ...variable, name: e.target.value.trim() })}
          spellCheck={false}
        />
      </td>
      <td>
        <select
          aria-label={`Type of ${label}`}
          value={variable.type}
          onChange={(e) => {
            const type = e.target.value as VarType;
            const parsed = parseDefault(type, def);
            onChange({ ...variable, type, default: parsed === undefined ? null : parsed });
          }}
        >
          {TYPES.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </td>
      <td className="center">
        <input
          type="checkbox"
          aria-label={`${label} is required`}
          checked={variable.required}
          onChange={(e) => onChange({ ...variable, required: e.target.checked })}
        />
      </td>
      <td>
        <input
          aria-label={`Default of ${label}`}
          aria-invalid={invalid}
          className={invalid ? 'invalid' : ''}
          value={def}
          placeholder={variable.type === 'string' ? '' : 'JSON'}
          onChange={(e) => {
            setDef(e.target.value);
            const parsed = parseDefault(variable.type, e.target.value);
            if (parsed !== undefined) onChange({ ...variable, default: parsed });
          }}
        />
      </td>
      <td>
        <input
          aria-label={`Description of ${label}`}
          value={variable.description ?? ''}
          onChange={(e) => onChange({ ...variable, description: e.target.value || null })}
        />
      </td>
      <td>
        <button type="button" className="btn btn--ghost" onClick={onRemove} aria-label={`Remove ${label}`}>
          ×
        </button>
      </td>
    </tr>
  );
}

// Memoised: typing in the template passes the same variables and callback, and a table of
// inputs need not be diffed on every keystroke.
export const VariablesEditor = memo(function VariablesEditor({
  variables,
  report,
  onChange,
}: {
  variables: Variable[];
  report: SchemaReport;
  onChange: (vars: Variable[]) => void;
}) {
  const declare = (name: string) =>
    onChange([...variables, { name, type: 'string', required: true, default: null, description: null }]);
  return (
    <section className="panel" aria-labelledby="vars-heading">
      <h3 id="vars-heading">Variables</h3>
      {variables.length ? (
        <table className="vars">
          <colgroup>
            <col className="vars__name" />
            <col className="vars__type" />
            <col className="vars__required" />
            <col className="vars__default" />
            <col />
            <col className="vars__remove" />
          </colgroup>
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Required</th>
              <th>Default</th>
              <th>Description</th>
              <th>
                <span className="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {variables.map((v, i) => (
              <VariableRow
                key={i}
                index={i}
                variable={v}
                onChange={(nv) => onChange(variables.map((x, j) => (j === i ? nv : x)))}
                onRemove={() => onChange(variables.filter((_, j) => j !== i))}
              />
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No variables declared.</p>
      )}
      {/* Below the table: these come and go as the template or a name is typed, and above the
          table they would move the row being typed in. */}
      {report.undeclared.length ? (
        <div className="warning" role="status">
          Used but not declared:{' '}
          {report.undeclared.map((n) => (
            <span key={n} className="chip">
              <code>{n}</code>{' '}
              <button type="button" className="link" onClick={() => declare(n)} aria-label={`Declare ${n}`}>
                Declare
              </button>
            </span>
          ))}
        </div>
      ) : null}
      {report.unused.length ? (
        <div className="warning warning--soft" role="status">
          Declared but not used:{' '}
          {report.unused.map((n, i) => (
            <span key={n}>
              {i ? ', ' : ''}
              <code>{n}</code>
            </span>
          ))}
        </div>
      ) : null}
      <button
        type="button"
        className="btn"
        onClick={() => declare(nextName(variables))}
      >
        Add variable
      </button>
    </section>
  );
});

function nextName(vars: Variable[]): string {
  for (let i = 1; ; i++) {
    const n = `variable_${i}`;
    if (!vars.some((v) => v.name === n)) return n;
  }
}

export const ModelSettingsForm = memo(function ModelSettingsForm({
  model,
  onChange,
}: {
  model: ModelSettings;
  onChange: (m: ModelSettings) => void;
}) {
  const [params, setParams] = useState(() => JSON.stringify(model.parameters, null, 2));
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setParams((old) => {
      try {
        if (JSON.stringify(JSON.parse(old)) === JSON.stringify(model.parameters)) return old;
      } catch {
        /* replaced below */
      }
      return JSON.stringify(model.parameters, null, 2);
    });
  }, [model.parameters]);
  return (
    <section className="panel" aria-labelledby="model-heading">
      <h3 id="model-heading">Model settings</h3>
      <div className="grid2">
        <label>
          Provider
          <input value={model.provider} placeholder="openai" onChange={(e) => onChange({ ...model, provider: e.target.value })} />
        </label>
        <label>
          Model
          <input value={model.model} placeholder="gpt-4o-mini" onChange={(e) => onChange({ ...model, model: e.target.value })} />
        </label>
      </div>
      <label>
        Parameters (JSON)
        <textarea
          rows={4}
          spellCheck={false}
          value={params}
          aria-invalid={problem !== null}
          className={problem ? 'invalid mono' : 'mono'}
          onChange={(e) => {
            setParams(e.target.value);
            try {
              const v = JSON.parse(e.target.value || '{}') as unknown;
              if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('an object');
              setProblem(null);
              onChange({ ...model, parameters: v as ModelSettings['parameters'] });
            } catch {
              setProblem('Parameters must be a JSON object, for example {"temperature": 0.2}.');
            }
          }}
        />
      </label>
      {problem ? <p className="error small">{problem}</p> : null}
    </section>
  );
});
