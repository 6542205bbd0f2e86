// "Roll back to vN" from an incident: the reason, the label policy's checklist as the backend
// decides it for that reason (checked as it is typed), then the signed rollback.
import { useState } from 'react';
import type { IncidentDetail } from '../../api/generated';
import { useApi } from '../context';
import { defaultRollbackReason } from '../../lib/incidents';
import { RollbackDialog, useRollbackCheck } from '../rollback';

/** "Roll back LABEL to vN" from an incident: the reason (pre-filled), the policy's checklist as
 * the backend decides it for that reason, then `incident_rollback` (signed). */
export function IncidentRollbackDialog({
  detail,
  onClose,
  onDone,
}: {
  detail: IncidentDetail;
  onClose: () => void;
  onDone: () => void;
}) {
  const { call } = useApi();
  const i = detail.incident;
  const [reason, setReason] = useState(() => defaultRollbackReason(i));
  const rollback = useRollbackCheck(i.prompt, i.label, reason, detail.serving ?? 0);

  const submit = async () => {
    await call('incident_rollback', { id: i.id, reason: reason.trim() });
    onDone();
  };

  return (
    <RollbackDialog
      id="incident-rollback"
      title={`Roll back ${i.label} to v${detail.rollback_to}`}
      label={i.label}
      rollback={rollback}
      reason={reason}
      onReason={setReason}
      what={
        <>
          <code>{i.prompt}</code>: {i.label} goes from <strong>v{detail.serving}</strong> back to{' '}
          <strong>v{detail.rollback_to}</strong>, the version it served before the suspected release. Applications get
          it on their next fetch; the incident records the rollback and becomes mitigated.
        </>
      }
      hint="Recorded in the release ledger with your name."
      onSubmit={submit}
      onClose={onClose}
    />
  );
}
