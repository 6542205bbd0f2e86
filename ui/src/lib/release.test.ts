import { describe, expect, it } from 'vitest';
import type { Decision, KeyStatus, Review, ReviewEvent, RollbackCheck } from '../api/generated';
import {
  anchorTargets,
  decideBlocker,
  labelOrder,
  lastDecisionOf,
  releaseBlockers,
  repeatBlockers,
  roleAtLeast,
  rollbackBlockers,
  signingBlocker,
  unmetConditions,
} from './release';
import { viewFromHash } from './routes';

const review: Review = {
  number: 3,
  id: 'r3',
  prompt: 'support/refund-reply',
  version: 5,
  version_hash: 'h5',
  version_author: 'ana',
  label: 'production',
  description: '',
  requested_by: 'ana',
  requested_at: '2026-01-01T00:00:00Z',
  status: 'open',
};

const decision = (met: Record<string, boolean>): Decision => ({
  allowed: Object.values(met).every(Boolean),
  conditions: Object.entries(met).map(([code, ok]) => ({ code, met: ok, message: `${code} ${ok ? 'ok' : 'missing'}` })),
  counted_approvals: [],
});

describe('who may decide', () => {
  it('ranks roles', () => {
    expect(roleAtLeast('admin', 'reviewer')).toBe(true);
    expect(roleAtLeast('reviewer', 'reviewer')).toBe(true);
    expect(roleAtLeast('editor', 'reviewer')).toBe(false);
  });
  it('refuses the author, with the reason', () => {
    expect(decideBlocker({ actor: 'ana', role: 'admin' }, review)).toMatch(/You \(ana\) wrote version 5/);
  });
  it('refuses a role below reviewer', () => {
    expect(decideBlocker({ actor: 'carl', role: 'editor' }, review)).toMatch(/an editor; only a reviewer or above/);
    expect(decideBlocker({ actor: 'vic', role: 'viewer' }, review)).toMatch(/a viewer/);
  });
  it('lets a reviewer who is not the author decide', () => {
    expect(decideBlocker({ actor: 'ben', role: 'reviewer' }, review)).toBeNull();
  });
  it('refuses on a released or closed review first', () => {
    expect(decideBlocker({ actor: 'ana', role: 'admin' }, { ...review, status: 'released' })).toMatch(/released/);
    expect(decideBlocker({ actor: 'ben', role: 'admin' }, { ...review, status: 'closed' })).toMatch(/closed/);
  });
});

describe('why release is disabled', () => {
  it('lists every unmet condition but the changelog the dialog asks for', () => {
    const d = decision({ role: true, approvals: false, changelog: false, freeze: false });
    expect(unmetConditions(d)).toEqual(['approvals missing', 'freeze missing']);
    expect(unmetConditions(d, false)).toEqual(['approvals missing', 'changelog missing', 'freeze missing']);
  });
  it('is empty when everything is met', () => {
    expect(releaseBlockers(review, decision({ role: true, approvals: true }), 4)).toEqual([]);
  });
  it('says when the label serves the version already or the review is over', () => {
    expect(releaseBlockers(review, decision({ approvals: true }), 5)).toEqual(['production already serves version 5.']);
    expect(releaseBlockers({ ...review, status: 'released' }, decision({ approvals: true }), 5)[0]).toMatch(/released already/);
    expect(releaseBlockers({ ...review, status: 'closed' }, decision({ approvals: true }), 4)[0]).toMatch(/closed/);
  });
});

const event = (actor: string, kind: string, hash: string | null, version: number | null = 5): ReviewEvent => ({
  id: `${actor}-${kind}-${Math.random()}`,
  kind,
  actor,
  actor_role: 'reviewer',
  at: '2026-01-01T00:00:00Z',
  body: '',
  anchor: null,
  reply_to: null,
  content_hash: hash,
  version,
  pushed_by: null,
  key_revoked: false,
});

describe('a decision made already', () => {
  it('is the latest approve or request-changes of this person on exactly this content', () => {
    expect(lastDecisionOf('ben', review, [])).toBeNull();
    expect(lastDecisionOf('ben', review, [event('ben', 'comment', null, null)])).toBeNull();
    expect(lastDecisionOf('ben', review, [event('ben', 'approve', 'h5')])).toBe('approve');
    expect(lastDecisionOf('ben', review, [event('ben', 'approve', 'h5'), event('ben', 'request_changes', 'h5')])).toBe('request_changes');
    // Someone else's approval, or ben's approval of other content, is not ben's decision on this.
    expect(lastDecisionOf('ben', review, [event('cho', 'approve', 'h5'), event('ben', 'approve', 'h4', 4)])).toBeNull();
    // An approval signed with a key revoked since counts for nothing: ben may approve again.
    expect(lastDecisionOf('ben', review, [{ ...event('ben', 'approve', 'h5'), key_revoked: true }])).toBeNull();
    // The latest decision decides, whatever key made the earlier ones: an approval withdrawn with
    // a key revoked since does not come back.
    expect(
      lastDecisionOf('ben', review, [event('ben', 'approve', 'h5'), { ...event('ben', 'request_changes', 'h5'), key_revoked: true }]),
    ).toBeNull();
  });
  it('disables the same decision again, with the reason', () => {
    const after = repeatBlockers('ben', review, [event('ben', 'approve', 'h5')]);
    expect(after.approve).toMatch(/You \(ben\) approved version 5 already/);
    expect(after.requestChanges).toBeNull();
    const changes = repeatBlockers('ben', review, [event('ben', 'approve', 'h5'), event('ben', 'request_changes', 'h5')]);
    expect(changes.approve).toBeNull();
    expect(changes.requestChanges).toMatch(/asked for changes on version 5 already/);
  });
});

const keyStatus = (over: Partial<KeyStatus>): KeyStatus => ({
  ok: true,
  message: 'the OS keyring works',
  key_id: 'k1',
  store: 'the OS keyring',
  store_kind: 'os',
  decided_by: 'default',
  files_dir: '/home/u/.local/share/promptdesk/keys',
  choice_remembered: false,
  ...over,
});

describe('signing', () => {
  it('blocks with the store and the reason when the key store does not work', () => {
    expect(signingBlocker(keyStatus({}))).toBeNull();
    expect(signingBlocker(null)).toBeNull();
    expect(signingBlocker(keyStatus({ ok: false, message: 'no Secret Service' }))).toBe(
      'Signing does not work here (keys are kept in the OS keyring): no Secret Service',
    );
    expect(signingBlocker(null, 'bad PROMPTDESK_KEYSTORE')).toMatch(/could not be checked: bad PROMPTDESK_KEYSTORE/);
  });
});

const rollbackCheck = (met: Record<string, boolean>, from = 4): RollbackCheck => ({ from, to: 3, to_hash: 'h3', decision: decision(met) });

describe('why a rollback is disabled', () => {
  it('asks for a reason first, without repeating the policy\'s own reason condition', () => {
    expect(rollbackBlockers('', null, null, 4, 'production')).toEqual([
      'A reason is required: it is recorded in the release ledger with your name.',
    ]);
    expect(rollbackBlockers('', rollbackCheck({ role: true, changelog: false }), '', 4, 'production')).toHaveLength(1);
  });
  it('lists every unmet condition of the check made for this reason', () => {
    expect(rollbackBlockers('wrong tone', rollbackCheck({ role: false, changelog: true }), 'wrong tone', 4, 'production')).toEqual(['role missing']);
    expect(rollbackBlockers('wrong tone', rollbackCheck({ role: true, changelog: true }), 'wrong tone', 4, 'production')).toEqual([]);
  });
  it('waits for the check of the reason typed, and notices a label that moved', () => {
    expect(rollbackBlockers('wrong', rollbackCheck({ role: true, changelog: false }), '', 4, 'production')).toEqual([
      'Checking the policy for this reason…',
    ]);
    expect(rollbackBlockers('x', rollbackCheck({ role: true, changelog: true }, 5), 'x', 4, 'production')).toEqual([
      'production serves version 5 now, not version 4 as shown when this dialog opened.',
    ]);
  });
});

describe('label order', () => {
  it('puts protected labels first, then staging, then the rest', () => {
    expect(['beta', 'staging', 'production'].sort((a, b) => labelOrder(a, b))).toEqual(['production', 'staging', 'beta']);
    expect(['beta', 'staging', 'production', 'eu'].sort((a, b) => labelOrder(a, b, new Set(['eu', 'production'])))).toEqual([
      'eu',
      'production',
      'staging',
      'beta',
    ]);
  });
});

describe('comment anchors', () => {
  it('offers the template or each message as a comment anchor', () => {
    expect(anchorTargets(null)).toEqual(['template']);
    expect(
      anchorTargets({
        body: { kind: 'chat', messages: [{ role: 'system', template: '' }, { role: 'user', template: '' }] },
        variables: [],
        model: { provider: '', model: '', parameters: {} },
        includes: {},
      }),
    ).toEqual(['message 1', 'message 2']);
  });
});

describe('routes', () => {
  it('reads the review and release views from the address', () => {
    expect(viewFromHash('#/reviews')).toEqual({ kind: 'reviews', all: false });
    expect(viewFromHash('#/reviews/all')).toEqual({ kind: 'reviews', all: true });
    expect(viewFromHash('#/review/12')).toEqual({ kind: 'review', number: 12 });
    expect(viewFromHash('#/releases/support%2Frefund-reply')).toEqual({ kind: 'prompt', tab: 'releases', name: 'support/refund-reply' });
    expect(viewFromHash('#/review/x')).toEqual({ kind: 'home' });
  });
});
