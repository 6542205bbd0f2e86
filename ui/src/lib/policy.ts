// Release policies as the policy editor edits them: a form of text fields and checkboxes, read
// back into a Policy (or the first problem), and a policy summed up in a line.
import type { FreezeWindow, Policy, Role } from '../api/generated';
import { isoToLocalInput, localInputToIso } from './incidents';

export const ROLES: readonly Role[] = ['viewer', 'editor', 'reviewer', 'releaser', 'admin'];

/** A freeze window as edited: local date-times (a `datetime-local` field) and a reason. */
export interface FreezeRow {
  from: string;
  to: string;
  reason: string;
}

export interface PolicyForm {
  approvals: string;
  changelog: boolean;
  promoteRole: Role;
  rollbackRole: Role;
  rollbackNeedsApprovals: boolean;
  suiteRequired: boolean;
  suite: string;
  /** Percent, 0..100. */
  minPassRate: string;
  noRegressions: boolean;
  freezes: FreezeRow[];
}

/** A pass rate (0..1) as a percentage without float noise: 0.95 → "95", 0.333 → "33.3". */
export function rateToPercent(rate: number): string {
  return String(Math.round(rate * 1000) / 10);
}

export function formOf(p: Policy): PolicyForm {
  return {
    approvals: String(p.required_approvals),
    changelog: p.changelog_required,
    promoteRole: p.promote_role,
    rollbackRole: p.rollback_role,
    rollbackNeedsApprovals: p.rollback_needs_approvals,
    suiteRequired: p.required_suite !== null,
    suite: p.required_suite?.suite ?? 'regression',
    minPassRate: p.required_suite ? rateToPercent(p.required_suite.min_pass_rate) : '100',
    noRegressions: p.required_suite?.no_regressions ?? false,
    freezes: p.freeze_windows.map((w) => ({ from: isoToLocalInput(w.from), to: isoToLocalInput(w.to), reason: w.reason })),
  };
}

/** The policy a form says, or the first problem with it (the backend checks the same). */
export function policyOf(f: PolicyForm): { policy: Policy } | { error: string } {
  const approvals = Number(f.approvals);
  if (f.approvals.trim() === '' || !Number.isInteger(approvals) || approvals < 0 || approvals > 20) {
    return { error: 'Approvals required: a whole number from 0 to 20.' };
  }
  let required_suite: Policy['required_suite'] = null;
  if (f.suiteRequired) {
    const suite = f.suite.trim();
    if (!suite) return { error: 'A required test suite needs a name.' };
    const pct = Number(f.minPassRate);
    if (f.minPassRate.trim() === '' || !Number.isFinite(pct) || pct < 0 || pct > 100) {
      return { error: 'The minimum pass rate is a percentage from 0 to 100.' };
    }
    required_suite = { suite, min_pass_rate: Math.round(pct * 10) / 1000, no_regressions: f.noRegressions };
  }
  const freeze_windows: FreezeWindow[] = [];
  for (const [i, w] of f.freezes.entries()) {
    const from = localInputToIso(w.from);
    const to = localInputToIso(w.to);
    if (from === null || to === null) return { error: `Freeze window ${i + 1}: give when it starts and when it ends.` };
    if (typeof from !== 'string') return { error: `Freeze window ${i + 1}: ${from.error}.` };
    if (typeof to !== 'string') return { error: `Freeze window ${i + 1}: ${to.error}.` };
    if (to <= from) return { error: `Freeze window ${i + 1} ends before it starts.` };
    freeze_windows.push({ from, to, reason: w.reason.trim() });
  }
  return {
    policy: {
      required_approvals: approvals,
      changelog_required: f.changelog,
      required_suite,
      promote_role: f.promoteRole,
      rollback_role: f.rollbackRole,
      rollback_needs_approvals: f.rollbackNeedsApprovals,
      freeze_windows,
    },
  };
}

/** A policy in one line: "1 approval · changelog · releaser promotes · suite regression ≥ 100%". */
export function policySummary(p: Policy): string {
  const parts = [
    p.required_approvals ? `${p.required_approvals} approval${p.required_approvals === 1 ? '' : 's'}` : 'no approvals',
  ];
  if (p.changelog_required) parts.push('changelog');
  parts.push(`${p.promote_role} or above promotes`, `${p.rollback_role} or above rolls back`);
  if (p.rollback_needs_approvals) parts.push('rollbacks need approvals');
  if (p.required_suite) {
    parts.push(
      `suite ${p.required_suite.suite} ≥ ${rateToPercent(p.required_suite.min_pass_rate)}%${p.required_suite.no_regressions ? ', no regressions' : ''}`,
    );
  }
  if (p.freeze_windows.length) parts.push(`${p.freeze_windows.length} freeze window${p.freeze_windows.length === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

/** A label name as the backend accepts it. */
export function labelProblem(label: string): string | null {
  const l = label.trim();
  if (!l) return 'A policy is for a label: name it.';
  if (l === 'latest') return '“latest” moves by itself with every version; it has no policy.';
  if (!/^[a-z0-9_.-]{1,36}$/.test(l)) return 'A label is 1 to 36 of a–z, 0–9, _ . -';
  return null;
}
