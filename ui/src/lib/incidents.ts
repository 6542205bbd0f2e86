// Incidents and postmortems, the parts without React: severities, statuses and how an incident
// was detected in words, why "Roll back" is disabled, durations, timeline entries, times typed
// in a form, corrective actions and the postmortem's unsaved changes.
import type { ActionItem, Incident, IncidentChange, IncidentDetail, PostmortemDoc, TimelineEntry } from '../api/generated';

export const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export const STATUSES = ['investigating', 'mitigated', 'resolved'] as const;
export const DETECTIONS = ['user_reports', 'monitoring', 'eval', 'other'] as const;

export const SEVERITY_TEXT: Record<string, string> = {
  SEV1: 'SEV1 — critical',
  SEV2: 'SEV2 — major',
  SEV3: 'SEV3 — minor',
  SEV4: 'SEV4 — low',
};

export const DETECTION_TEXT: Record<string, string> = {
  user_reports: 'user reports',
  monitoring: 'monitoring',
  eval: 'an eval',
  other: 'other',
};

/** The first 8 characters of an incident's id: enough to name it (the backend takes ≥ 4). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** An update_incident change with only `patch` set (the others stay as they are). */
export function incidentChange(patch: Partial<IncidentChange>): IncidentChange {
  return { title: null, severity: null, status: null, notes: null, suspected_release: null, ...patch };
}

/** The reason a rollback from the incident records unless the person writes another (what the
 * backend records for an empty one). */
export function defaultRollbackReason(incident: Pick<Incident, 'id' | 'title'>): string {
  return `incident ${shortId(incident.id)}: ${incident.title}`;
}

/** Why "Roll back" on an incident page is disabled (the backend's own reasons, in words), or
 * null when the label still serves the suspected release and there is a version to go back to. */
export function incidentRollbackBlocker(d: IncidentDetail): string | null {
  if (d.rollback_to !== null) return null;
  const label = d.incident.label;
  if (d.rollback) {
    return `Rolled back already: ${label} went back to v${d.rollback.to_version} (${d.rollback.actor}).`;
  }
  if (!d.suspected) return 'No suspected release is named: there is nothing to undo.';
  if (d.suspected.from_version === null) {
    return `The suspected release put the first version on ${label}: there is nothing to go back to.`;
  }
  if (d.serving === null) return `${label} points nowhere.`;
  return `${label} no longer serves the suspected release (v${d.suspected.to_version}); it serves v${d.serving}. Roll back from the prompt's Releases tab if that is still needed.`;
}

/** "not yet", "12 min", "1 h 5 min", "2 d 3 h" (as the Markdown export writes them). */
export function durationText(minutes: number | null): string {
  if (minutes === null) return 'not yet';
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 60 * 24) return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  return `${Math.floor(minutes / (60 * 24))} d ${Math.floor(minutes / 60) % 24} h`;
}

const KIND_TEXT: Record<string, string> = {
  'version.created': 'version',
  'review.requested': 'review',
  'review.approve': 'approval',
  'review.request_changes': 'changes',
  'release.recorded': 'release',
  'rollback.recorded': 'rollback',
  'label.moved': 'label',
  'incident.opened': 'incident',
  'incident.updated': 'update',
  'incident.rolled_back': 'incident',
  'incident.resolved': 'resolved',
  'suite.cases_added': 'cases',
  'eval.finished': 'eval',
  detected: 'detected',
  note: 'note',
};

/** A timeline entry's kind as a short tag. */
export function timelineKindText(kind: string): string {
  return KIND_TEXT[kind] ?? kind.replace(/^.*\./, '');
}

/** A CSS-safe modifier for an entry's kind (`release.recorded` → `release-recorded`). */
export function timelineKindClass(e: Pick<TimelineEntry, 'kind'>): string {
  return e.kind.replace(/[^a-z0-9]+/gi, '-');
}

/** The value of a `datetime-local` field (local time, no zone) as an RFC 3339 UTC time with
 * milliseconds, as the ledger writes its times (so they sort together); null for an empty
 * field, `{error}` for one that is not a time. */
export function localInputToIso(value: string): string | null | { error: string } {
  if (!value.trim()) return null;
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) return { error: `“${value}” is not a date and time` };
  return t.toISOString();
}

/** An RFC 3339 time as a `datetime-local` value (local time, to the minute); '' when unreadable. */
export function isoToLocalInput(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}`;
}

/** A time as people read it, in UTC like the Markdown export: "2026-11-21 09:30:05 UTC"
 * (seconds: an incident's first minutes are often one minute). */
export function timeText(iso: string): string {
  const t = new Date(iso);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(iso) || Number.isNaN(t.getTime())) return iso;
  const utc = t.toISOString();
  return `${utc.slice(0, 10)} ${utc.slice(11, 19)} UTC`;
}

// ---- postmortems --------------------------------------------------------------------------

export const EMPTY_DOC: PostmortemDoc = {
  summary: '',
  root_cause: '',
  impact: '',
  went_well: '',
  went_badly: '',
  learning: '',
  actions: [],
};

/** The written sections, in the order the editor and the export show them. */
export const SECTIONS: readonly { key: Exclude<keyof PostmortemDoc, 'actions'>; title: string; hint: string }[] = [
  { key: 'summary', title: 'Summary', hint: 'What happened, in a few sentences.' },
  { key: 'root_cause', title: 'Root cause', hint: 'Why it happened: what in the change (shown below) caused it, and how it got through.' },
  { key: 'impact', title: 'Impact', hint: 'Who was affected, how many, for how long.' },
  { key: 'went_well', title: 'What went well', hint: '' },
  { key: 'went_badly', title: 'What went badly', hint: '' },
  { key: 'learning', title: 'Preventive learning', hint: 'What changes so it cannot happen again (the regression cases below, a policy, a check).' },
];

export function newAction(): ActionItem {
  return { id: '', text: '', owner: '', due: '', status: 'open' };
}

/** What keeps the postmortem from being saved (the backend refuses the same), or null. */
export function actionsProblem(actions: readonly ActionItem[]): string | null {
  for (const [i, a] of actions.entries()) {
    if (!a.text.trim()) return `Action ${i + 1}: say what is to be done.`;
    if (a.due && !/^\d{4}-\d{2}-\d{2}$/.test(a.due)) return `Action ${i + 1}: the due date must be YYYY-MM-DD.`;
    if (a.status !== 'open' && a.status !== 'done') return `Action ${i + 1}: the status is open or done.`;
  }
  return null;
}

/** Whether the postmortem as edited differs from what was saved. Text is compared as the
 * backend keeps it (action texts and owners trimmed). */
export function docChanged(saved: PostmortemDoc, edited: PostmortemDoc): boolean {
  const norm = (d: PostmortemDoc) =>
    JSON.stringify({
      ...d,
      actions: d.actions.map((a) => ({ id: a.id, text: a.text.trim(), owner: a.owner.trim(), due: a.due, status: a.status || 'open' })),
    });
  return norm(saved) !== norm(edited);
}

/** "3 days overdue", "due today", "due in 2 days", "" without a date; `today` is YYYY-MM-DD. */
export function dueText(due: string, today: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(due)) return '';
  const days = Math.round((Date.parse(`${due}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / 86_400_000);
  if (days < 0) return `${-days} day${days === -1 ? '' : 's'} overdue`;
  if (days === 0) return 'due today';
  return `due in ${days} day${days === 1 ? '' : 's'}`;
}

/** Today as YYYY-MM-DD, in UTC (what the backend compares due dates with). */
export function todayUtc(now: number = Date.now()): string {
  return new Date(now).toISOString().slice(0, 10);
}
