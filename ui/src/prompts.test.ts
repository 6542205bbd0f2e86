import { describe, expect, it } from 'vitest';
import { errorMessage, labelBadges, parsePromptListings } from './prompts';

describe('parsePromptListings', () => {
  it('accepts the shape the backend sends', () => {
    const list = parsePromptListings([
      { name: 'support/refund-reply', kind: 'text', description: 'd', tags: ['support'], latest: 4,
        labels: { latest: 4, production: 3 }, has_changes: false },
    ]);
    expect(list).toHaveLength(1);
    const p = list[0]!;
    expect(p.name).toBe('support/refund-reply');
    expect(p.latest).toBe(4);
    expect(labelBadges(p)).toEqual(['production → v3']);
  });

  it('says which item is malformed', () => {
    expect(() => parsePromptListings([{ name: 'a', kind: 'poem' }])).toThrow('item 0');
    expect(() => parsePromptListings({})).toThrow('expected a list');
  });
});

describe('errorMessage', () => {
  it('reads the message of a command error', () => {
    expect(errorMessage({ kind: 'bad_input', message: 'registry is newer' })).toBe('registry is newer');
    expect(errorMessage(new Error('boom'))).toBe('boom');
  });
});
