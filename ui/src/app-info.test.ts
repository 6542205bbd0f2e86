import { describe, expect, it } from 'vitest';
import { formatAppInfo, parseAppInfo } from './app-info';

describe('parseAppInfo', () => {
  it('accepts the shape the backend sends', () => {
    const info = parseAppInfo({ name: 'Promptdesk', version: '0.1.0', canonical_format: 'promptdesk.version/1' });
    expect(info).toEqual({ name: 'Promptdesk', version: '0.1.0', canonical_format: 'promptdesk.version/1' });
  });

  it('drops fields it does not know', () => {
    const info = parseAppInfo({ name: 'a', version: 'b', canonical_format: 'c', extra: 1 });
    expect(Object.keys(info).sort()).toEqual(['canonical_format', 'name', 'version']);
  });

  it.each([null, 'Promptdesk', 42, undefined])('rejects a non-object reply (%s)', (value) => {
    expect(() => parseAppInfo(value)).toThrow('expected an object');
  });

  it('names the missing or wrong field', () => {
    expect(() => parseAppInfo({ name: 'a', version: 'b' })).toThrow('"canonical_format"');
    expect(() => parseAppInfo({ name: 'a', version: 3, canonical_format: 'c' })).toThrow('"version"');
    expect(() => parseAppInfo({ name: '', version: 'b', canonical_format: 'c' })).toThrow('"name"');
  });
});

describe('formatAppInfo', () => {
  it('puts name, version and content format on one line', () => {
    expect(formatAppInfo({ name: 'Promptdesk', version: '0.1.0', canonical_format: 'promptdesk.version/1' })).toBe(
      'Promptdesk 0.1.0 · content format promptdesk.version/1',
    );
  });
});
