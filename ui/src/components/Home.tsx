// What the window shows when no prompt is open: how to start, and the corrective actions of
// postmortems that are not done yet (overdue ones first and marked), each a link to its
// postmortem.
import { Loadable, useCommand } from './useCommand';
import { dueText, todayUtc } from '../lib/incidents';
import { SeverityBadge } from './incidents/badges';

export function Home({ mod, refreshKey, onOpenPostmortem }: { mod: string; refreshKey: number; onOpenPostmortem: (incident: string) => void }) {
  return (
    <div className="empty pad home">
      <h2>Open a prompt</h2>
      <p className="muted">
        Pick a prompt on the left, search with {mod}K, or create one with “New prompt”. Drafts are saved as you type; a
        version is saved only when you choose “Save version” ({mod}S).
      </p>
      <OpenActions refreshKey={refreshKey} onOpen={onOpenPostmortem} />
    </div>
  );
}

export function OpenActions({ refreshKey, onOpen }: { refreshKey: number; onOpen: (incident: string) => void }) {
  const loaded = useCommand('open_actions', {}, refreshKey);
  const actions = loaded.data;
  const today = todayUtc();
  const overdue = (actions ?? []).filter((a) => a.overdue).length;
  return (
    <section className="panel open-actions" aria-labelledby="open-actions-heading">
      <h3 id="open-actions-heading">
        Open action items{' '}
        {actions ? (
          <span className="muted small h-count">
            {actions.length}
            {overdue ? `, ${overdue} overdue` : ''}
          </span>
        ) : null}
      </h3>
      <Loadable state={loaded}>
        {(actions) =>
          actions.length === 0 ? (
            <p className="muted small">No open corrective actions from postmortems.</p>
          ) : (
        <ul className="bare open-actions__list" aria-label="Open action items">
          {actions.map((a) => (
            <li key={`${a.incident}-${a.action.id}`} className={a.overdue ? 'is-overdue' : ''}>
              <p>
                {a.overdue ? <span className="overdue-tag">overdue</span> : null} <strong>{a.action.text}</strong>
                <span className="muted small">
                  {' '}
                  · {a.action.owner || 'no owner'}
                  {a.action.due ? (
                    <>
                      {' '}
                      · due <time dateTime={a.action.due}>{a.action.due}</time> ({dueText(a.action.due, today)})
                    </>
                  ) : (
                    ' · no due date'
                  )}
                </span>
              </p>
              <p className="small">
                <SeverityBadge severity={a.severity} />{' '}
                <button type="button" className="linklike" onClick={() => onOpen(a.incident)}>
                  Postmortem: {a.incident_title}
                </button>
              </p>
            </li>
          ))}
        </ul>
          )
        }
      </Loadable>
    </section>
  );
}
