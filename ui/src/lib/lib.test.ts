import { describe, expect, it } from 'vitest';
import type { PromptListing } from '../api/generated';
import { buildTree, labelBadges } from './tree';
import { LatestOnly } from './latest';
import { DraftJournal } from './journal';
import { errorTarget, relativeTime } from './format';

const listing = (name: string): PromptListing => ({
  name,
  kind: 'text',
  description: '',
  tags: [],
  latest: 1,
  labels: {},
  has_changes: false,
});

describe('buildTree', () => {
  it('nests prompts in their folders, sorted', () => {
    const root = buildTree(['support/refund-reply', 'policies/refunds', 'support/a/deep', 'top'].map(listing));
    expect(root.prompts.map((p) => p.name)).toEqual(['top']);
    expect(root.folders.map((f) => f.path)).toEqual(['policies', 'support']);
    const support = root.folders[1]!;
    expect(support.prompts.map((p) => p.name)).toEqual(['support/refund-reply']);
    expect(support.folders[0]!.path).toBe('support/a');
    expect(support.folders[0]!.prompts[0]!.name).toBe('support/a/deep');
  });
});

describe('labelBadges', () => {
  it('puts production first, hides latest', () => {
    expect(labelBadges({ staging: 4, latest: 4, production: 3, canary: 2 })).toEqual([
      { label: 'production', version: 3 },
      { label: 'staging', version: 4 },
      { label: 'canary', version: 2 },
    ]);
  });
});

describe('LatestOnly', () => {
  it('runs one call at a time and skips requests overtaken while waiting', async () => {
    const started: number[] = [];
    const results: number[] = [];
    let release: (() => void) | null = null;
    const runner = new LatestOnly<number, number>(
      (n) => {
        started.push(n);
        return new Promise((r) => (release = () => r(n * 10)));
      },
      (r) => results.push(r),
      () => undefined,
    );
    runner.request(1);
    runner.request(2);
    runner.request(3);
    expect(started).toEqual([1]);
    release!();
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual([1, 3]);
    release!();
    await new Promise((r) => setTimeout(r, 0));
    expect(results).toEqual([10, 30]);
    expect(runner.busy).toBe(false);
  });
});

describe('DraftJournal', () => {
  it('keeps an edit until that exact content is confirmed', () => {
    const j = new DraftJournal(window.localStorage, 'reg-a');
    const a = { body: { kind: 'text' as const, template: 'A' }, variables: [], model: { provider: '', model: '', parameters: {} } };
    const b = { ...a, body: { kind: 'text' as const, template: 'B' } };
    j.write('p', a);
    j.write('p', b);
    j.confirm('p', a); // an older save finishing must not drop the newer edit
    expect(j.read('p')).toEqual(b);
    j.confirm('p', b);
    expect(j.read('p')).toBeNull();
    // Scoped per registry.
    j.write('p', a);
    expect(new DraftJournal(window.localStorage, 'reg-b').read('p')).toBeNull();
  });
});

describe('format', () => {
  it('maps error locations to editors', () => {
    expect(errorTarget('s/r', 's/r')).toBe(-1);
    expect(errorTarget('s/t', 's/t, message 2 (user)')).toBe(1);
    expect(errorTarget('s/r', 'policies/refunds')).toBeNull();
  });
  it('says how long ago', () => {
    const now = Date.parse('2026-11-21T12:00:00Z');
    expect(relativeTime('2026-11-21T11:57:00Z', now)).toBe('3 minutes ago');
    expect(relativeTime('2026-11-20T12:00:00Z', now)).toBe('yesterday');
    expect(relativeTime('not a date', now)).toBe('not a date');
  });
});
