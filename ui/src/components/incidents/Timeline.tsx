// An incident's timeline from the ledger with the notes people add, and the form that adds one
// (the postmortem shows the same timeline).
import { useState } from 'react';
import type { IncidentDetail, TimelineEntry } from '../../api/generated';
import { errorText, useApi } from '../context';
import { localInputToIso, timeText, timelineKindClass, timelineKindText } from '../../lib/incidents';

/** An incident's story, oldest first: ledger entries (with their sequence number) and notes. */
export function IncidentTimeline({ entries, label = 'Incident timeline' }: { entries: readonly TimelineEntry[]; label?: string }) {
  if (entries.length === 0) return <p className="muted small">Nothing recorded yet.</p>;
  return (
    <ol className="timeline incident-timeline" aria-label={label}>
      {entries.map((e, n) => (
        <li key={`${e.ledger_seq ?? 'n'}-${n}`} className={`timeline__entry timeline__entry--${timelineKindClass(e)}`}>
          <p className="small">
            <span className={`kindtag kindtag--${timelineKindClass(e)}`}>{timelineKindText(e.kind)}</span>{' '}
            <time dateTime={e.at} title={e.at}>
              {timeText(e.at)}
            </time>{' '}
            · {e.actor}
            {e.ledger_seq !== null ? <span className="muted"> · ledger #{e.ledger_seq}</span> : null}
          </p>
          <p className="timeline__why">{e.text}</p>
        </li>
      ))}
    </ol>
  );
}

export function NoteForm({ id, onAdded }: { id: string; onAdded: (d: IncidentDetail) => void }) {
  const { call } = useApi();
  const [text, setText] = useState('');
  const [when, setWhen] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const at = localInputToIso(when);
  const problem = at !== null && typeof at !== 'string' ? `When: ${at.error}.` : null;
  return (
    <form
      className="form incident__note"
      aria-label="Add a note to the timeline"
      onSubmit={(e) => {
        e.preventDefault();
        if (!text.trim() || problem) return;
        setBusy(true);
        setError(null);
        call('add_incident_note', { id, text: text.trim(), ...(typeof at === 'string' ? { at } : {}) })
          .then((d) => {
            onAdded(d);
            setText('');
            setWhen('');
          })
          .catch((err) => setError(errorText(err)))
          .finally(() => setBusy(false));
      }}
    >
      <label>
        Note
        <textarea rows={2} value={text} onChange={(e) => setText(e.target.value)} placeholder="What happened, what was tried, what was seen" />
      </label>
      <div className="row">
        <label>
          When (optional)
          <input type="datetime-local" value={when} onChange={(e) => setWhen(e.target.value)} aria-describedby="note-when-hint" />
        </label>
        <span id="note-when-hint" className="small muted">
          Your local time; empty means now.
        </span>
        <span className="grow" />
        <button type="submit" className="btn" disabled={busy || !text.trim() || problem !== null}>
          Add note
        </button>
      </div>
      {problem || error ? (
        <p role="alert" className="error small">
          {problem ?? error}
        </p>
      ) : null}
    </form>
  );
}
