// Pure logic behind the review and release views: who may act, why a button is disabled, what
// a rollback goes back to, and a "nothing yet" diff for a label that serves no version.
import type {
  Decision,
  MessageChange,
  Release,
  Rendered,
  RenderedDiff,
  Review,
  ReviewStatus,
  Role,
  TextDiff,
  VersionContent,
  VersionDiff,
} from '../api/generated';

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

/** The version a rollback of `label` goes back to by default, by the backend's rule: what the
 * newest *release* onto the current version replaced. Rollbacks are skipped, so rolling back twice
 * goes further back, never forward to the version just left. */
export function rollbackTarget(releases: readonly Release[], label: string, currentHash: string): number | null {
  const move = releases.find((r) => r.label === label && r.to_hash === currentHash && r.kind === 'release');
  return move?.from_version ?? null;
}

/** Labels in display order: production first, then staging, then the rest by name. */
export function labelOrder(a: string, b: string): number {
  const rank = (l: string) => (l === 'production' ? 0 : l === 'staging' ? 1 : 2);
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** A text as a diff from nothing: every line inserted. */
export function allInserted(text: string): TextDiff {
  if (text === '') return { hunks: [], added: 0, removed: 0, coarse: false };
  const parts = text.split('\n');
  const trailing = parts[parts.length - 1] === '';
  if (trailing) parts.pop();
  const lines = parts.map((p, i) => {
    const crlf = p.endsWith('\r');
    const last = i === parts.length - 1;
    return {
      tag: 'insert' as const,
      old_line: null,
      new_line: i + 1,
      spans: [{ text: crlf ? p.slice(0, -1) : p, changed: false }],
      ending: last && !trailing ? ('missing' as const) : crlf ? ('crlf' as const) : ('lf' as const),
    };
  });
  return {
    hunks: [{ old_start: 0, old_len: 0, new_start: 1, new_len: lines.length, lines }],
    added: lines.length,
    removed: 0,
    coarse: false,
  };
}

function addedMessage(i: number, role: string, text: string): MessageChange {
  return { status: 'added', old_index: null, new_index: i, old_role: null, new_role: role, diff: allInserted(text) };
}

/** What a version adds when the label serves nothing yet: its whole content as new. */
export function diffFromNothing(content: VersionContent, rendered: Rendered | null): VersionDiff {
  const body = content.body;
  let renderedDiff: RenderedDiff | null = null;
  if (rendered) {
    renderedDiff =
      rendered.kind === 'text'
        ? { kind: null, text: allInserted(rendered.text), messages: [], coarse: false }
        : { kind: null, text: null, messages: rendered.messages.map((m, i) => addedMessage(i, m.role, m.content)), coarse: false };
  }
  return {
    kind: null,
    template: body.kind === 'text' ? allInserted(body.template) : null,
    messages: body.kind === 'chat' ? body.messages.map((m, i) => addedMessage(i, m.role, m.template)) : [],
    variables: content.variables.map((v) => ({
      name: v.name,
      status: 'added' as const,
      fields: [
        { field: 'type' as const, new: v.type },
        { field: 'required' as const, new: v.required },
        ...(v.default !== null ? [{ field: 'default' as const, new: v.default }] : []),
      ],
    })),
    model: [
      ...(content.model.provider ? [{ key: 'provider', status: 'added' as const, new: content.model.provider }] : []),
      ...(content.model.model ? [{ key: 'model', status: 'added' as const, new: content.model.model }] : []),
    ],
    includes: Object.entries(content.includes).map(([include, hash]) => ({
      include,
      status: 'added' as const,
      old_hash: null,
      new_hash: hash,
    })),
    rendered: renderedDiff,
    coarse: false,
  };
}

/** The anchors a comment may point at for a version's body: `template`, or `message N`. */
export function anchorTargets(content: VersionContent | null): string[] {
  if (!content) return ['template'];
  return content.body.kind === 'text' ? ['template'] : content.body.messages.map((_, i) => `message ${i + 1}`);
}
