// An incident's severity and status as small badges (the list, its page, the postmortem, Home).
import { SEVERITY_TEXT } from '../../lib/incidents';

export function SeverityBadge({ severity }: { severity: string }) {
  return (
    <span className={`sev sev--${severity.toLowerCase()}`} title={SEVERITY_TEXT[severity] ?? severity}>
      {severity}
    </span>
  );
}

export function IncidentStatusBadge({ status }: { status: string }) {
  return <span className={`incident-status incident-status--${status}`}>{status}</span>;
}
