// Pure logic behind the review and release views: who may act and why a button is disabled.
// The backend decides in the end (and says what a rollback goes back to, and diffs from nothing);
// this only keeps the buttons honest.
import type { Decision, KeyStatus, Review, ReviewEvent, ReviewStatus, Role, RollbackCheck, VersionContent } from '../api/generated';

const RANK: Record<Role, number> = { viewer: 0, editor: 1, reviewer: 2, releaser: 3, admin: 4 };

export function roleAtLeast(role: Role, least: Role): boolean {
  return RANK[role] >= RANK[least];
}

const ARTICLE = (r: Role) => (r === 'admin' || r === 'editor' ? `an ${r}` : `a ${r}`);

export const STATUS_TEXT: Record<ReviewStatus, string> = {
  open: 'open',
  approved: 'approved',
  changes_requested: 'changes requested',
  released: 'released',
  closed: 'closed',
};

/** Why the acting person cannot approve or request changes on this review; null when they can.
 * The server decides in the end; this only keeps the buttons honest. */
export function decideBlocker(me: { actor: string; role: Role }, review: Review): string | null {
  if (review.status === 'released' || review.status === 'closed') {
    return `This review is ${STATUS_TEXT[review.status]}; no more decisions can be made on it.`;
  }
  if (me.actor === review.version_author) {
    return `You (${me.actor}) wrote version ${review.version}: its approval must come from someone else.`;
  }
  if (!roleAtLeast(me.role, 'reviewer')) {
    return `You (${me.actor}) are ${ARTICLE(me.role)}; only a reviewer or above may approve or request changes.`;
  }
  return null;
}

/** The unmet conditions of a policy decision, as sentences. The changelog is left out when the
 * release dialog asks for it (`changelogAsked`). */
export function unmetConditions(decision: Decision, changelogAsked = true): string[] {
  return decision.conditions
    .filter((c) => !c.met && !(changelogAsked && c.code === 'changelog'))
    .map((c) => c.message);
}

/** Why "Release to LABEL" is disabled on a review page; empty when it may be pressed. */
export function releaseBlockers(review: Review, decision: Decision, serving: number | null): string[] {
  if (review.status === 'released') return [`This review was released already.`];
  if (review.status === 'closed') return ['This review is closed.'];
  if (serving === review.version) return [`${review.label} already serves version ${review.version}.`];
  return unmetConditions(decision);
}

/** The labels protected when nobody configured a policy: the backend protects `production`. */
export const DEFAULT_PROTECTED: ReadonlySet<string> = new Set(['production']);

/** Labels in display order: protected labels first, then staging, then the rest by name. */
export function labelOrder(a: string, b: string, protectedLabels: ReadonlySet<string> = DEFAULT_PROTECTED): number {
  const rank = (l: string) => (protectedLabels.has(l) ? 0 : l === 'staging' ? 1 : 2);
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** Why nothing can be signed here (approvals, releases, rollbacks), or null when signing works
 * or has not been checked yet. */
export function signingBlocker(status: KeyStatus | null, checkError: string | null = null): string | null {
  if (status && !status.ok) return `Signing does not work here (keys are kept in ${status.store}): ${status.message}`;
  if (!status && checkError) return `Signing could not be checked: ${checkError}`;
  return null;
}

/** The acting person's latest decision (approve or request changes) on exactly this content,
 * in a review's thread; null when they made none. When that latest decision was signed with a
 * key revoked since, it is no decision at all (as the backend reads it), so they may decide
 * again. */
export function lastDecisionOf(actor: string, review: Review, events: readonly ReviewEvent[]): 'approve' | 'request_changes' | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.actor !== actor || e.content_hash !== review.version_hash) continue;
    if (e.kind === 'approve' || e.kind === 'request_changes') return e.key_revoked ? null : e.kind;
  }
  return null;
}

/** Why "Approve" and "Request changes" are disabled for a decision the person made already
 * (the backend refuses a second identical one); nulls when they may press them. */
export function repeatBlockers(actor: string, review: Review, events: readonly ReviewEvent[]): { approve: string | null; requestChanges: string | null } {
  const last = lastDecisionOf(actor, review, events);
  return {
    approve:
      last === 'approve'
        ? `You (${actor}) approved version ${review.version} already; a second approval would change nothing. Request changes if you changed your mind.`
        : null,
    requestChanges:
      last === 'request_changes'
        ? `You (${actor}) asked for changes on version ${review.version} already; comment to add more, or approve once it is right.`
        : null,
  };
}

/** Why the rollback dialog's "Roll back" is disabled; empty when it may be pressed. `check` is
 * the backend's answer for `checkedReason` (null while none came yet). */
export function rollbackBlockers(
  reason: string,
  check: RollbackCheck | null,
  checkedReason: string | null,
  seen: number,
  label: string,
): string[] {
  const out: string[] = [];
  const typed = reason.trim();
  if (!typed) out.push('A reason is required: it is recorded in the release ledger with your name.');
  if (!check) return out;
  if (check.from !== seen) {
    out.push(`${label} serves version ${check.from} now, not version ${seen} as shown when this dialog opened.`);
  }
  if (checkedReason !== null && checkedReason.trim() !== typed) {
    out.push('Checking the policy for this reason…');
    return out;
  }
  for (const c of check.decision.conditions) {
    if (!c.met && !(c.code === 'changelog' && !typed)) out.push(c.message);
  }
  return out;
}

/** The anchors a comment may point at for a version's body: `template`, or `message N`. */
export function anchorTargets(content: VersionContent | null): string[] {
  if (!content) return ['template'];
  return content.body.kind === 'text' ? ['template'] : content.body.messages.map((_, i) => `message ${i + 1}`);
}
