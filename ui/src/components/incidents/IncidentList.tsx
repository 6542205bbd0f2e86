// The incidents list (open ones by default, or all), each with its severity, status, label and
// age; "Open incident" starts one from here.
import { useState } from 'react';
import { relativeTime } from '../../lib/format';
import { shortId } from '../../lib/incidents';
import { LabelBadge } from '../labels';
import { useCommand } from '../useCommand';
import { SeverityBadge, IncidentStatusBadge } from './badges';
import { OpenIncidentDialog } from './OpenIncidentDialog';

export function IncidentList({
  all,
  onAll,
  onOpen,
  refreshKey,
}: {
  all: boolean;
  onAll: (all: boolean) => void;
  onOpen: (id: string) => void;
  refreshKey: number;
}) {
  const listing = useCommand('list_incidents', { all }, refreshKey, { keepPrevious: true });
  const incidents = listing.data;
  const error = listing.error;
  const [opening, setOpening] = useState(false);

  return (
    <div className="reviews incidents pad">
      <div className="reviews__head">
        <h2 id="incidents-heading">Incidents</h2>
        <div className="segmented" role="group" aria-label="Which incidents">
          <button type="button" aria-pressed={!all} onClick={() => onAll(false)}>
            Open
          </button>
          <button type="button" aria-pressed={all} onClick={() => onAll(true)}>
            All
          </button>
        </div>
        <span className="grow" />
        <button type="button" className="btn btn--primary" onClick={() => setOpening(true)}>
          Open incident…
        </button>
      </div>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : null}
      {incidents === null && !error ? (
        <p className="muted" aria-busy="true">
          Loading incidents…
        </p>
      ) : null}
      {incidents && incidents.length === 0 ? (
        <div className="empty">
          <p>{all ? 'No incidents yet.' : 'No open incidents.'}</p>
          <p className="muted">
            When production quality drops, open an incident on the release that caused it: the rollback, the timeline and
            the postmortem start from there.
          </p>
        </div>
      ) : null}
      {incidents && incidents.length ? (
        <table className="queue" aria-labelledby="incidents-heading">
          <thead>
            <tr>
              <th scope="col">Severity</th>
              <th scope="col">Incident</th>
              <th scope="col">Status</th>
              <th scope="col">Where</th>
              <th scope="col">Opened by</th>
              <th scope="col">Detected</th>
            </tr>
          </thead>
          <tbody>
            {incidents.map((i) => (
              <tr key={i.id}>
                <td>
                  <SeverityBadge severity={i.severity} />
                </td>
                <td>
                  <button
                    type="button"
                    className="linklike"
                    onClick={() => onOpen(i.id)}
                    aria-label={`Incident ${shortId(i.id)}: ${i.title}`}
                  >
                    {i.title}
                  </button>
                  <div className="muted small mono">{shortId(i.id)}</div>
                </td>
                <td>
                  <IncidentStatusBadge status={i.status} />
                </td>
                <td>
                  <code>{i.prompt}</code> <LabelBadge label={i.label} />
                </td>
                <td>{i.opened_by}</td>
                <td>
                  <time dateTime={i.detected_at} title={i.detected_at}>
                    {relativeTime(i.detected_at)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {opening ? (
        <OpenIncidentDialog
          onClose={() => setOpening(false)}
          onOpened={(d) => {
            setOpening(false);
            onOpen(d.incident.id);
          }}
        />
      ) : null}
    </div>
  );
}
