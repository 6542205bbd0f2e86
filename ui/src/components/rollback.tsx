// The rollback dialog, one for both places that roll back (the Releases tab's "Roll back" and an
// incident's "Roll back to vN"): the backend's check of the rollback for the reason as typed,
// debounced, with every reason it cannot happen yet; the policy's checklist as that check
// decided it; and the form around them. Each caller says what moves where and what submitting
// does. It sits outside the feature folders so that incidents and releases do not import each
// other.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { RollbackCheck } from '../api/generated';
import { errorText, useApi } from './context';
import { rollbackBlockers, signingBlocker } from '../lib/release';
import { Blockers, Checklist } from './Checklist';
import { FormDialog } from './Dialog';
import { useSigning } from './signing';

/** How long typing pauses before the rollback is checked again. */
export const ROLLBACK_CHECK_DELAY_MS = 300;

/** The CLI's hint about `--to` means nothing in the app. */
export const noTargetText = (m: string) => m.replace(/; name a version with --to$/, '.');

export interface RollbackState {
  check: RollbackCheck | null;
  checkError: string | null;
  /** Every reason the rollback cannot be submitted now, in words; empty when it can. */
  blockers: string[];
}

/**
 * Checks rolling `label` of `name` back for `reason` (at once, then after each pause in typing,
 * and again when `recheck` changes), given that the person saw the label serving `serving`.
 */
export function useRollbackCheck(name: string, label: string, reason: string, serving: number, recheck = 0): RollbackState {
  const { call } = useApi();
  const signing = useSigning();
  const [check, setCheck] = useState<RollbackCheck | null>(null);
  const [checkedReason, setCheckedReason] = useState<string | null>(null);
  const [checkError, setCheckError] = useState<string | null>(null);
  const seq = useRef(0);
  const first = useRef(true);

  useEffect(() => {
    const n = ++seq.current;
    const delay = first.current ? 0 : ROLLBACK_CHECK_DELAY_MS;
    first.current = false;
    const timer = setTimeout(() => {
      call('check_rollback', { name, label, reason })
        .then((c) => {
          if (n !== seq.current) return;
          setCheck(c);
          setCheckedReason(reason);
          setCheckError(null);
        })
        .catch((e) => {
          if (n !== seq.current) return;
          setCheck(null);
          setCheckedReason(null);
          setCheckError(noTargetText(errorText(e)));
        });
    }, delay);
    return () => clearTimeout(timer);
  }, [call, name, label, reason, recheck]);

  const keyProblem = signingBlocker(signing?.status ?? null, signing?.error ?? null);
  const blockers = [
    ...(checkError ? [checkError] : []),
    ...(keyProblem ? [keyProblem] : []),
    ...rollbackBlockers(reason, check, checkedReason, serving, label),
  ];
  if (!check && !checkError && reason.trim()) blockers.push('Checking the policy…');
  return { check, checkError, blockers };
}

/** The rollback policy's checklist as the latest check decided it. */
export function RollbackPolicy({ label, state }: { label: string; state: RollbackState }) {
  return (
    <section aria-label={`Rollback policy for ${label}`} className="rollback__policy">
      <p className="small">Policy for rolling back {label}, checked now:</p>
      {state.check ? (
        <Checklist conditions={state.check.decision.conditions} label="Rollback checklist" />
      ) : (
        <p className="small muted" aria-busy={!state.checkError}>
          {state.checkError ? 'Not checked: see below.' : 'Checking…'}
        </p>
      )}
    </section>
  );
}

/** The rollback form: what moves where (`what`), the reason, the policy's checklist, and
 * everything that still blocks it; `onSubmit` rolls back (and throws to say why it did not). */
export function RollbackDialog({
  id,
  title,
  label,
  rollback,
  reason,
  onReason,
  what,
  placeholder,
  hint,
  onSubmit,
  onClose,
}: {
  /** Prefix of the ids that tie the hint and the blockers to the form. */
  id: string;
  title: string;
  label: string;
  rollback: RollbackState;
  reason: string;
  onReason: (reason: string) => void;
  what: ReactNode;
  placeholder?: string;
  hint: string;
  onSubmit: () => Promise<void>;
  onClose: () => void;
}) {
  return (
    <FormDialog
      title={title}
      onClose={onClose}
      onSubmit={onSubmit}
      submitLabel="Roll back"
      blocked={rollback.blockers.length > 0 || !rollback.check}
      submitDescribedBy={`${id}-blockers`}
      after={
        <Blockers
          id={`${id}-blockers`}
          blockers={rollback.blockers}
          intro="Cannot roll back yet:"
          listLabel="Why the rollback is disabled"
          ready="Every condition is met."
        />
      }
    >
      <p className="rollback__what">{what}</p>
      <label>
        Reason
        <textarea
          data-autofocus
          rows={3}
          value={reason}
          onChange={(e) => onReason(e.target.value)}
          placeholder={placeholder}
          aria-describedby={`${id}-hint`}
        />
      </label>
      <p id={`${id}-hint`} className="hint">
        {hint}
      </p>
      <RollbackPolicy label={label} state={rollback} />
    </FormDialog>
  );
}
