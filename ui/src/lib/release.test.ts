import { describe, expect, it } from 'vitest';
import type { Decision, Release, Review } from '../api/generated';
import { allInserted, anchorTargets, decideBlocker, diffFromNothing, releaseBlockers, roleAtLeast, rollbackTarget, unmetConditions } from './release';
import { viewFromHash } from '../App';

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

const rel = (id: string, label: string, from: number | null, to: number, kind = 'release'): Release => ({
  id,
  prompt: 'p',
  label,
  kind,
  from_version: from,
  from_hash: from === null ? null : `h${from}`,
  to_version: to,
  to_hash: `h${to}`,
  changelog: '',
  review: null,
  approvals: [],
  actor: 'ana',
  actor_role: 'admin',
  at: '2026-01-01T00:00:00Z',
  bundle: null,
});

describe('rollback target', () => {
  it('is the version the label served before its current one', () => {
    const releases = [rel('3', 'production', 1, 2), rel('2', 'staging', 1, 2), rel('1', 'production', null, 1)];
    expect(rollbackTarget(releases, 'production', 'h2')).toBe(1);
  });
  it('after a rollback 3 → 2, going back again gives what came before 2, not 3', () => {
    const releases = [rel('4', 'production', 3, 2, 'rollback'), rel('3', 'production', 2, 3), rel('2', 'production', 1, 2), rel('1', 'production', null, 1)];
    // The release that put v2 there replaced v1; the backend skips rollbacks the same way.
    expect(rollbackTarget(releases, 'production', 'h2')).toBe(1);
  });
  it('is null when there is nothing earlier', () => {
    expect(rollbackTarget([rel('1', 'production', null, 1)], 'production', 'h1')).toBeNull();
    expect(rollbackTarget([], 'production', 'h1')).toBeNull();
  });
});

describe('diff from nothing', () => {
  it('inserts every line with its number and ending', () => {
    const d = allInserted('a\r\nb\nc');
    expect(d.added).toBe(3);
    expect(d.hunks[0]!.lines.map((l) => [l.new_line, l.spans[0]!.text, l.ending])).toEqual([
      [1, 'a', 'crlf'],
      [2, 'b', 'lf'],
      [3, 'c', 'missing'],
    ]);
    expect(allInserted('x\n').hunks[0]!.lines).toHaveLength(1);
    expect(allInserted('').hunks).toEqual([]);
  });
  it('shows a whole chat version and its rendered conversation as added', () => {
    const d = diffFromNothing(
      {
        body: { kind: 'chat', messages: [{ role: 'system', template: 'Be kind.' }, { role: 'user', template: '{{ q }}' }] },
        variables: [{ name: 'q', type: 'string', required: true, default: null, description: null }],
        model: { provider: 'openai', model: '', parameters: {} },
        includes: {},
      },
      { kind: 'chat', messages: [{ role: 'system', content: 'Be kind.' }] },
    );
    expect(d.template).toBeNull();
    expect(d.messages.map((m) => [m.status, m.new_role, m.diff.added])).toEqual([
      ['added', 'system', 1],
      ['added', 'user', 1],
    ]);
    expect(d.variables[0]!.status).toBe('added');
    expect(d.model).toEqual([{ key: 'provider', status: 'added', new: 'openai' }]);
    expect(d.rendered!.messages).toHaveLength(1);
  });
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
