// Shows a structured version diff: template or chat messages, variables, model settings,
// includes, and the rendered output, each as unified or side-by-side text with word-level
// highlights. Everything is rendered as inert text.
import { Fragment } from 'react';
import type {
  DiffLine,
  Hunk,
  MessageChange,
  SettingChange,
  TextDiff,
  VariableChange,
  VersionDiff,
} from '../api/generated';

export type DiffLayout = 'unified' | 'split';

/** Switches a diff between unified and side-by-side (every screen that shows a diff has one). */
export function LayoutToggle({ layout, onChange }: { layout: DiffLayout; onChange: (l: DiffLayout) => void }) {
  return (
    <div className="segmented" role="group" aria-label="Diff layout">
      <button type="button" aria-pressed={layout === 'unified'} onClick={() => onChange('unified')}>
        Unified
      </button>
      <button type="button" aria-pressed={layout === 'split'} onClick={() => onChange('split')}>
        Side by side
      </button>
    </div>
  );
}

/** A line's spans, its changed words marked (as deleted or inserted, by the line's tag). */
export function Spans({ line }: { line: Pick<DiffLine, 'tag' | 'spans'> }) {
  return (
    <>
      {line.spans.map((s, i) =>
        s.changed ? (
          <mark key={i} className={line.tag === 'delete' ? 'word-del' : 'word-ins'}>
            {s.text}
          </mark>
        ) : (
          <Fragment key={i}>{s.text}</Fragment>
        ),
      )}
      {line.spans.every((s) => s.text === '') ? '\u00a0' : null}
    </>
  );
}

const SIGN = { equal: ' ', delete: '−', insert: '+' } as const;

function UnifiedHunk({ hunk }: { hunk: Hunk }) {
  return (
    <tbody>
      <tr className="hunk-head">
        <td colSpan={4}>
          @@ −{hunk.old_start},{hunk.old_len} +{hunk.new_start},{hunk.new_len} @@
        </td>
      </tr>
      {hunk.lines.map((l, i) => (
        <tr key={i} className={`line line--${l.tag}`}>
          <td className="ln">{l.old_line ?? ''}</td>
          <td className="ln">{l.new_line ?? ''}</td>
          <td className="sign" aria-hidden="true">
            {SIGN[l.tag]}
          </td>
          <td className="code">
            {l.tag === 'delete' ? <span className="sr-only">removed: </span> : null}
            {l.tag === 'insert' ? <span className="sr-only">added: </span> : null}
            <Spans line={l} />
          </td>
        </tr>
      ))}
    </tbody>
  );
}

/** Pairs each block of deleted lines with the inserted lines that follow it, row by row. */
export function splitRows(hunk: Hunk): [DiffLine | null, DiffLine | null][] {
  const rows: [DiffLine | null, DiffLine | null][] = [];
  let dels: DiffLine[] = [];
  let ins: DiffLine[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(dels.length, ins.length); i++) rows.push([dels[i] ?? null, ins[i] ?? null]);
    dels = [];
    ins = [];
  };
  for (const l of hunk.lines) {
    if (l.tag === 'equal') {
      flush();
      rows.push([l, l]);
    } else if (l.tag === 'delete') {
      if (ins.length) flush();
      dels.push(l);
    } else ins.push(l);
  }
  flush();
  return rows;
}

function SplitHunk({ hunk }: { hunk: Hunk }) {
  return (
    <tbody>
      <tr className="hunk-head">
        <td colSpan={4}>
          @@ −{hunk.old_start},{hunk.old_len} +{hunk.new_start},{hunk.new_len} @@
        </td>
      </tr>
      {splitRows(hunk).map(([a, b], i) => (
        <tr key={i} className="line">
          <td className="ln">{a?.old_line ?? ''}</td>
          <td className={`code half ${a ? `line--${a.tag}` : 'line--empty'}`}>{a ? <Spans line={a} /> : null}</td>
          <td className="ln">{b?.new_line ?? ''}</td>
          <td className={`code half ${b ? `line--${b.tag}` : 'line--empty'}`}>{b ? <Spans line={b} /> : null}</td>
        </tr>
      ))}
    </tbody>
  );
}

export function TextDiffView({ diff, layout, label }: { diff: TextDiff; layout: DiffLayout; label: string }) {
  if (diff.hunks.length === 0) return <p className="muted">No changes.</p>;
  return (
    <div className="diff-scroll">
      {diff.coarse ? (
        <p className="note">This diff is coarser than usual (it hit its time limit) but still complete.</p>
      ) : null}
      <table className={`diff diff--${layout}`} aria-label={label}>
        {layout === 'unified' ? (
          <colgroup>
            <col className="col-ln" />
            <col className="col-ln" />
            <col className="col-sign" />
            <col />
          </colgroup>
        ) : (
          <colgroup>
            <col className="col-ln" />
            <col className="col-half" />
            <col className="col-ln" />
            <col className="col-half" />
          </colgroup>
        )}
        {diff.hunks.map((h, i) =>
          layout === 'unified' ? <UnifiedHunk key={i} hunk={h} /> : <SplitHunk key={i} hunk={h} />,
        )}
      </table>
    </div>
  );
}

function MessagesView({ messages, layout, what }: { messages: MessageChange[]; layout: DiffLayout; what: string }) {
  return (
    <>
      {messages.map((m, i) => {
        const index = (m.new_index ?? m.old_index ?? i) + 1;
        const role =
          m.old_role && m.new_role && m.old_role !== m.new_role
            ? `${m.old_role} → ${m.new_role}`
            : (m.new_role ?? m.old_role ?? '');
        return (
          <div key={i} className={`message-change message-change--${m.status}`}>
            <h5>
              {what} {index} · <span className="role">{role}</span> <span className={`status status--${m.status}`}>{m.status}</span>
            </h5>
            {m.status === 'unchanged' || m.status === 'moved' ? null : (
              <TextDiffView diff={m.diff} layout={layout} label={`${what} ${index} changes`} />
            )}
          </div>
        );
      })}
    </>
  );
}

const show = (v: unknown): string => (v === undefined ? '—' : JSON.stringify(v));

function VariablesView({ variables }: { variables: VariableChange[] }) {
  return (
    <table className="kv" aria-label="Variable changes">
      <thead>
        <tr>
          <th>Variable</th>
          <th>Change</th>
          <th>Field</th>
          <th>Before</th>
          <th>After</th>
        </tr>
      </thead>
      <tbody>
        {variables.flatMap((v) =>
          (v.fields.length ? v.fields : [null]).map((f, i) => (
            <tr key={`${v.name}-${i}`} className={`status-row status-row--${v.status}`}>
              <td>{i === 0 ? <code>{v.name}</code> : null}</td>
              <td>{i === 0 ? v.status : null}</td>
              <td>{f?.field ?? ''}</td>
              <td>
                <del>{f ? show(f.old) : ''}</del>
              </td>
              <td>
                <ins>{f ? show(f.new) : ''}</ins>
              </td>
            </tr>
          )),
        )}
      </tbody>
    </table>
  );
}

function SettingsView({ model }: { model: SettingChange[] }) {
  return (
    <table className="kv" aria-label="Model setting changes">
      <thead>
        <tr>
          <th>Setting</th>
          <th>Change</th>
          <th>Before</th>
          <th>After</th>
        </tr>
      </thead>
      <tbody>
        {model.map((s) => (
          <tr key={s.key} className={`status-row status-row--${s.status}`}>
            <td>
              <code>{s.key}</code>
            </td>
            <td>{s.status}</td>
            <td>
              <del>{show(s.old)}</del>
            </td>
            <td>
              <ins>{show(s.new)}</ins>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function isEmptyDiff(d: VersionDiff): boolean {
  return (
    !d.kind &&
    (!d.template || d.template.hunks.length === 0) &&
    d.messages.every((m) => m.status === 'unchanged') &&
    d.variables.length === 0 &&
    d.model.length === 0 &&
    d.includes.length === 0
  );
}

export function DiffView({ diff, layout }: { diff: VersionDiff; layout: DiffLayout }) {
  const r = diff.rendered;
  return (
    <div className="diff-view">
      {diff.kind ? (
        <p className="note">
          The prompt changed from {diff.kind.old} to {diff.kind.new}.
        </p>
      ) : null}
      {isEmptyDiff(diff) ? <p className="muted">The content is identical.</p> : null}
      {diff.template && diff.template.hunks.length ? (
        <section aria-label="Template changes">
          <h4>Template</h4>
          <TextDiffView diff={diff.template} layout={layout} label="Template diff" />
        </section>
      ) : null}
      {diff.messages.some((m) => m.status !== 'unchanged') ? (
        <section aria-label="Message changes">
          <h4>Messages</h4>
          <MessagesView messages={diff.messages} layout={layout} what="Message" />
        </section>
      ) : null}
      {diff.variables.length ? (
        <section aria-label="Variables schema changes">
          <h4>Variables</h4>
          <VariablesView variables={diff.variables} />
        </section>
      ) : null}
      {diff.model.length ? (
        <section aria-label="Model settings changes">
          <h4>Model settings</h4>
          <SettingsView model={diff.model} />
        </section>
      ) : null}
      {diff.includes.length ? (
        <section aria-label="Include changes">
          <h4>Includes</h4>
          <ul className="plain">
            {diff.includes.map((inc) => (
              <li key={inc.include}>
                <code>{inc.include}</code> {inc.status}
                {inc.old_hash ? ` (was ${inc.old_hash.slice(0, 10)})` : ''}
                {inc.new_hash ? ` (now ${inc.new_hash.slice(0, 10)})` : ''}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {r ? (
        <section aria-label="Rendered output changes">
          <h4>Rendered output</h4>
          {r.text ? <TextDiffView diff={r.text} layout={layout} label="Rendered output diff" /> : null}
          {r.messages.some((m) => m.status !== 'unchanged') ? (
            <MessagesView messages={r.messages} layout={layout} what="Rendered message" />
          ) : null}
          {!r.text && r.messages.every((m) => m.status === 'unchanged') ? (
            <p className="muted">Both versions render the same output for these inputs.</p>
          ) : null}
        </section>
      ) : null}
    </div>
  );
}
