// A release policy's checklist: every condition with its state, as the backend decided it.
import type { Condition } from '../api/generated';

export function Checklist({ conditions, label = 'Policy checklist' }: { conditions: readonly Condition[]; label?: string }) {
  return (
    <ul className="checklist" aria-label={label}>
      {conditions.map((c) => (
        <li key={c.code} className={c.met ? 'is-met' : 'is-unmet'}>
          <span className="checklist__mark" aria-hidden="true">
            {c.met ? '✓' : '✗'}
          </span>
          <span className="sr-only">{c.met ? 'met: ' : 'not met: '}</span>
          {c.message}
        </li>
      ))}
    </ul>
  );
}

/** Why a button is disabled, as a list under it (the button points here with
 * aria-describedby); `ready` when nothing stands in the way. */
export function Blockers({
  id,
  blockers,
  intro,
  ready,
  listLabel,
}: {
  id: string;
  blockers: readonly string[];
  intro: string;
  ready: string;
  listLabel: string;
}) {
  return (
    <div id={id} className="blockers">
      {blockers.length ? (
        <>
          <p className="small">{intro}</p>
          <ul className="small" aria-label={listLabel}>
            {blockers.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        </>
      ) : (
        <p className="small muted">{ready}</p>
      )}
    </div>
  );
}
