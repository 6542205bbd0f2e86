import { describe, expect, it } from 'vitest';
import type { PromptListing } from '../api/generated';
import { buildTree, labelBadges } from './tree';
import { LatestOnly } from './latest';
import { DraftJournal } from './journal';
import { serialized } from './serial';
import { errorTarget, loneBraces, relativeTime } from './format';
import { withFix } from '../components/editor/problems';
import type { DraftContent, TemplateError } from '../api/generated';

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
  it('puts the labels a policy protects first', () => {
    expect(labelBadges({ staging: 4, production: 3, canary: 2 }, new Set(['canary', 'production'])).map((b) => b.label)).toEqual([
      'canary',
      'production',
      'staging',
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
    j.write('p', a, 1);
    j.write('p', b, 1);
    j.confirm('p', a); // an older save finishing must not drop the newer edit
    expect(j.read('p')).toEqual(b);
    j.confirm('p', b);
    expect(j.read('p')).toBeNull();
    // Scoped per registry.
    j.write('p', a, 1);
    expect(new DraftJournal(window.localStorage, 'reg-b').read('p')).toBeNull();
    j.discard('p');
  });

  it('restores an edit only into the prompt it was made in, of the same kind', () => {
    const j = new DraftJournal(window.localStorage, 'reg-c');
    const stored = { body: { kind: 'text' as const, template: 'stored' }, variables: [], model: { provider: '', model: '', parameters: {} } };
    const typed = { ...stored, body: { kind: 'text' as const, template: 'typed' } };
    j.write('p', typed, 7);
    expect(j.pendingFor('p', 7, stored)).toEqual(typed);
    // The name now belongs to another prompt (renamed or recreated elsewhere): dropped.
    expect(j.pendingFor('p', 8, stored)).toBeNull();
    expect(j.read('p')).toBeNull();
    // Another kind: dropped.
    j.write('p', typed, 7);
    expect(j.pendingFor('p', 7, { ...stored, body: { kind: 'chat', messages: [] } })).toBeNull();
    // Same content in another key order: nothing to restore.
    j.write('p', { ...typed, model: { parameters: { b: 1, a: 2 }, model: '', provider: '' } }, 7);
    expect(j.pendingFor('p', 7, { ...typed, model: { provider: '', model: '', parameters: { a: 2, b: 1 } } })).toBeNull();
  });

  it('moves an unconfirmed edit along with a rename', () => {
    const j = new DraftJournal(window.localStorage, 'reg-d');
    const c = { body: { kind: 'text' as const, template: 'x' }, variables: [], model: { provider: '', model: '', parameters: {} } };
    j.write('old/name', c, 3);
    j.rename('old/name', 'new/name');
    expect(j.read('old/name')).toBeNull();
    expect(j.pendingFor('new/name', 3, { ...c, body: { kind: 'text', template: '' } })).toEqual(c);
  });
});

describe('serialized', () => {
  it('runs work for one key in order, even when an earlier one fails', async () => {
    const log: string[] = [];
    const slow = (label: string, ms: number, fail = false) => () =>
      new Promise<string>((resolve, reject) =>
        setTimeout(() => {
          log.push(label);
          if (fail) reject(new Error(label));
          else resolve(label);
        }, ms),
      );
    const a = serialized('k', slow('a', 30, true));
    const b = serialized('k', slow('b', 1));
    const other = serialized('other', slow('other', 5));
    await expect(a).rejects.toThrow('a');
    expect(await b).toBe('b');
    await other;
    expect(log).toEqual(['other', 'a', 'b']);
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

describe('loneBraces', () => {
  it('counts the braces that do not open a closed tag', () => {
    expect(loneBraces('Hi {{ name }} {% if x %}y{% endif %} {# note #}')).toBe(0);
    expect(loneBraces('Hi {')).toBe(1);
    expect(loneBraces('Hi {{ name')).toBe(2);
    expect(loneBraces('JSON: { "a": 1 } and {{ b }}')).toBe(1);
  });
});

describe('withFix', () => {
  const fix = { label: 'Add }}', from: 10, to: 10, insert: ' }}' };
  const error = (template: string): TemplateError => ({
    kind: 'syntax',
    message: 'the {{ on line 1 is never closed',
    location: { template, line: 1, column: 4, source_line: '' },
    fix,
  });
  const base = { variables: [], model: {}, includes: {} } as unknown as Omit<DraftContent, 'body'>;

  it('applies the fix to the template it is about, counting UTF-16 units', () => {
    const text = { ...base, body: { kind: 'text', template: '😊 {{ name' } } as DraftContent;
    const fixed = withFix('p', text, error('p'));
    expect(fixed?.body).toEqual({ kind: 'text', template: '😊 {{ name }}' });
    const chat = {
      ...base,
      body: { kind: 'chat', messages: [{ role: 'system', template: 'Be kind.' }, { role: 'user', template: 'Hi {{ name' }] },
    } as DraftContent;
    const fixedChat = withFix('p', chat, error('p, message 2 (user)'));
    expect(fixedChat?.body.kind === 'chat' && fixedChat.body.messages.map((m) => m.template)).toEqual(['Be kind.', 'Hi {{ name }}']);
  });

  it('leaves alone what it cannot place: another template, or no fix', () => {
    const text = { ...base, body: { kind: 'text', template: 'Hi {{ name' } } as DraftContent;
    expect(withFix('p', text, error('policies/refunds'))).toBeNull();
    expect(withFix('p', text, { ...error('p'), fix: null })).toBeNull();
  });
});
