import { describe, expect, it } from 'vitest';
import type { Assertion, CaseResult, ComparisonRow, Decision, EvalRun, SuiteResult, TextDiff, Variable, VersionSummary } from '../api/generated';
import {
  annotateOutput,
  assertionRow,
  assertionShort,
  assertionsBlocker,
  cellState,
  defaultPicks,
  failuresFirst,
  filterRows,
  gateOf,
  gateSummary,
  hasExtras,
  latestPerSuite,
  originText,
  parseVar,
  passText,
  percent,
  ratingBlocker,
  varRows,
  varsFromRows,
} from './evals';

describe('assertions in their short form', () => {
  it('writes every kind the way parse_assertion reads it', () => {
    const cases: [Assertion, string][] = [
      [{ type: 'contains', value: 'refund' }, 'contains: refund'],
      [{ type: 'icontains', value: 'sorry', not: true }, 'not-icontains: sorry'],
      [{ type: 'equals', value: 'Hi' }, 'equals: Hi'],
      [{ type: 'starts-with', value: 'Dear' }, 'starts-with: Dear'],
      [{ type: 'contains-any', values: ['a', 'b'] }, 'contains-any: a | b'],
      [{ type: 'contains-all', values: ['x', 'y', 'z'] }, 'contains-all: x | y | z'],
      [{ type: 'regex', pattern: '^Hi' }, 'regex: ^Hi'],
      [{ type: 'is-json' }, 'is-json'],
      [{ type: 'is-json', not: true }, 'not-is-json'],
      [{ type: 'json-schema', schema: { type: 'object' } }, 'json-schema: {"type":"object"}'],
      [{ type: 'length', min: 10, max: 200 }, 'length: 10..200'],
      [{ type: 'length', min: null, max: 200 }, 'length: ..200'],
      [{ type: 'length', min: 10, max: null }, 'length: 10..'],
      [{ type: 'similar', threshold: 0.8 }, 'similar: 0.8'],
      [{ type: 'latency', max_ms: 2000 }, 'latency: 2000'],
      [{ type: 'cost', max: 0.01 }, 'cost: 0.01'],
      [{ type: 'rubric', rubric: 'is polite', grader: '' }, 'rubric: is polite'],
    ];
    for (const [a, text] of cases) expect(assertionShort(a)).toBe(text);
  });

  it('knows what the short form would lose', () => {
    expect(hasExtras({ type: 'contains', value: 'x' })).toBe(false);
    expect(hasExtras({ type: 'contains', value: 'x', weight: 1 })).toBe(false);
    expect(hasExtras({ type: 'contains', value: 'x', weight: 2 })).toBe(true);
    expect(hasExtras({ type: 'rubric', rubric: 'ok', grader: 'openai/gpt-4o' })).toBe(true);
  });

  it('blocks saving while an assertion is wrong or unchecked, never for empty rows', () => {
    const ok = assertionRow({ type: 'contains', value: 'a' });
    const empty = { ...assertionRow(null), text: '  ' };
    expect(assertionsBlocker([ok, empty])).toBeNull();
    const bad = { ...assertionRow(null), text: 'contans: a', error: 'unknown assertion type "contans"' };
    expect(assertionsBlocker([ok, empty, bad])).toBe('Assertion 3: unknown assertion type "contans"');
    const checking = { ...assertionRow(null), text: 'contains: b', checking: true };
    expect(assertionsBlocker([ok, checking])).toBe('Checking the assertions…');
  });
});

const declared: Variable[] = [
  { name: 'customer_name', type: 'string', required: true, default: null, description: null },
  { name: 'days', type: 'number', required: true, default: null, description: null },
  { name: 'vip', type: 'boolean', required: false, default: false, description: null },
  { name: 'items', type: 'list', required: false, default: null, description: null },
];

describe('case variables', () => {
  it('lists the declared variables first, then the case’s others, values as text', () => {
    const rows = varRows(declared, { extra: 'x', days: 12, customer_name: 'Ada', items: ['a'] });
    expect(rows.map((r) => [r.name, r.text, r.declared?.type ?? null])).toEqual([
      ['customer_name', 'Ada', 'string'],
      ['days', '12', 'number'],
      ['vip', '', 'boolean'],
      ['items', '["a"]', 'list'],
      ['extra', 'x', null],
    ]);
  });

  it('reads values by the declared type and says what is wrong', () => {
    expect(parseVar('12', 'number')).toEqual({ value: 12 });
    expect(parseVar('twelve', 'number')).toEqual({ error: 'must be a number (got “twelve”)' });
    expect(parseVar('', 'number')).toHaveProperty('error');
    expect(parseVar('true', 'boolean')).toEqual({ value: true });
    expect(parseVar('yes', 'boolean')).toHaveProperty('error');
    expect(parseVar('["a", "b"]', 'list')).toEqual({ value: ['a', 'b'] });
    expect(parseVar('{"a": 1}', 'list')).toHaveProperty('error');
    expect(parseVar('{"a": 1}', 'object')).toEqual({ value: { a: 1 } });
    expect(parseVar(' 12 ', 'string')).toEqual({ value: ' 12 ' });
    // Undeclared: text, or JSON when it is an array or object (as the CSV import reads cells).
    expect(parseVar('12', null)).toEqual({ value: '12' });
    expect(parseVar('[1, 2]', null)).toEqual({ value: [1, 2] });
    expect(parseVar('[not json', null)).toEqual({ value: '[not json' });
  });

  it('builds the case’s variables, leaving empty declared ones unset', () => {
    const rows = varRows(declared, {});
    rows[0]!.text = 'Ada';
    rows[1]!.text = '5';
    expect(varsFromRows(rows)).toEqual({ vars: { customer_name: 'Ada', days: 5 } });
    rows[1]!.text = 'five';
    expect(varsFromRows(rows)).toEqual({ error: 'days must be a number (got “five”)' });
    rows[1]!.text = '5';
    expect(varsFromRows([...rows, { name: '', text: 'x', declared: null }])).toEqual({ error: 'A variable needs a name.' });
    expect(varsFromRows([...rows, { name: 'bad name', text: 'x', declared: null }])).toHaveProperty('error');
    expect(varsFromRows([...rows, { name: 'customer_name', text: 'x', declared: null }])).toEqual({
      error: 'The variable customer_name is there twice.',
    });
    // An added row with no name and no value is ignored.
    expect(varsFromRows([...rows, { name: '', text: '', declared: null }])).toEqual({ vars: { customer_name: 'Ada', days: 5 } });
  });

  it('says where a case came from', () => {
    expect(originText('')).toBe('written here');
    expect(originText('import:cases.csv')).toBe('imported from cases.csv');
    expect(originText('postmortem:7')).toBe('from postmortem 7');
  });
});

const result = (position: number, over: Partial<CaseResult>): CaseResult => ({
  case_id: `c${position}`,
  position,
  label: `#${position}`,
  case: { description: '', vars: {}, expected: null, assertions: [], tags: [] },
  input: null,
  output: 'out',
  error: null,
  passed: true,
  score: 1,
  checks: [],
  latency_ms: 5,
  tokens_in: 1,
  tokens_out: 1,
  cost: null,
  cached: false,
  attempts: 1,
  at: '2025-01-01T00:00:00Z',
  ...over,
});

const run = (over: Partial<EvalRun>): EvalRun => ({
  id: 'r',
  prompt: 'p',
  version: 1,
  version_hash: 'h',
  suite: 's',
  suite_hash: 'sh',
  suite_changed: false,
  model: { provider: 'openai', model: 'm', parameters: {} },
  settings_hash: 'x',
  own_settings: true,
  status: 'completed',
  total: 3,
  done: 3,
  passed: 2,
  failed: 1,
  errored: 0,
  cached: 0,
  pass_rate: 2 / 3,
  score: 0.7,
  tokens_in: 0,
  tokens_out: 0,
  cost: null,
  mean_latency_ms: 1,
  started_by: 'ana',
  started_at: '2025-01-01T00:00:00Z',
  finished_at: null,
  error: null,
  ...over,
});

describe('runs', () => {
  it('puts errors, then failures, first, each in case order', () => {
    const ordered = failuresFirst([
      result(1, {}),
      result(2, { passed: false }),
      result(3, { output: null, error: 'timeout', passed: false }),
      result(4, { passed: false }),
    ]);
    expect(ordered.map((r) => r.position)).toEqual([3, 2, 4, 1]);
  });

  it('keeps the newest run of each suite', () => {
    const runs = [run({ id: 'a', suite: 'x' }), run({ id: 'b', suite: 'y' }), run({ id: 'c', suite: 'x' })];
    expect(latestPerSuite(runs).map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('words progress', () => {
    expect(percent(1, 3)).toBe(33);
    expect(percent(0, 0)).toBe(0);
    expect(percent(5, 3)).toBe(100);
    expect(passText(run({ passed: 1, total: 3 }))).toBe('1 of 3 passed (33%)');
  });
});

const summary = (number: number, labels: string[] = []): VersionSummary => ({
  number,
  hash: `h${number}`,
  parent_hash: null,
  author: 'ana',
  message: `v${number}`,
  created_at: '2025-01-01T00:00:00Z',
  labels,
});

describe('comparisons', () => {
  it('opens on what production serves and the latest version, older first', () => {
    expect(defaultPicks([summary(4, ['latest']), summary(3, ['production']), summary(2)])).toEqual([3, 4]);
    // Production serves the latest: the two newest.
    expect(defaultPicks([summary(4, ['latest', 'production']), summary(3)])).toEqual([3, 4]);
    // Nothing released: the two newest.
    expect(defaultPicks([summary(5), summary(4), summary(3)])).toEqual([4, 5]);
    expect(defaultPicks([summary(1)])).toEqual([1]);
    expect(defaultPicks([])).toEqual([]);
    expect(defaultPicks([summary(4), summary(3, ['staging']), summary(2)], 'staging')).toEqual([3, 4]);
  });

  const row = (id: string, differs: boolean, has_failure: boolean): ComparisonRow => ({
    case_id: id,
    label: id,
    vars: {},
    expected: null,
    cells: [],
    differs,
    has_failure,
  });

  it('filters to the cases that differ, that fail, or both', () => {
    const rows = [row('a', true, false), row('b', false, true), row('c', true, true), row('d', false, false)];
    const ids = (f: { onlyDiffering: boolean; onlyFailures: boolean }) => filterRows(rows, f).map((r) => r.case_id);
    expect(ids({ onlyDiffering: false, onlyFailures: false })).toEqual(['a', 'b', 'c', 'd']);
    expect(ids({ onlyDiffering: true, onlyFailures: false })).toEqual(['a', 'c']);
    expect(ids({ onlyDiffering: false, onlyFailures: true })).toEqual(['b', 'c']);
    expect(ids({ onlyDiffering: true, onlyFailures: true })).toEqual(['c']);
  });

  it('tells a cell’s state', () => {
    const cell = { output: 'x', error: null, passed: true, score: 1, checks: [], latency_ms: 1, cached: false, diff: null, ratings: [] };
    expect(cellState(null)).toBe('missing');
    expect(cellState(cell)).toBe('pass');
    expect(cellState({ ...cell, passed: false })).toBe('fail');
    expect(cellState({ ...cell, output: null, passed: false, error: 'boom' })).toBe('error');
  });

  it('lays the diff’s changed lines into the whole output, unchanged lines around them', () => {
    // Old: a / b / c / d / e / f / g / h ; new: a / b / c / d / E! / f / g / h / i
    const diff: TextDiff = {
      added: 2,
      removed: 1,
      coarse: false,
      hunks: [
        {
          old_start: 4,
          old_len: 5,
          new_start: 4,
          new_len: 6,
          lines: [
            { tag: 'equal', old_line: 4, new_line: 4, spans: [{ text: 'd', changed: false }], ending: 'lf' },
            { tag: 'delete', old_line: 5, new_line: null, spans: [{ text: 'e', changed: true }], ending: 'lf' },
            { tag: 'insert', old_line: null, new_line: 5, spans: [{ text: 'E!', changed: true }], ending: 'lf' },
            { tag: 'equal', old_line: 6, new_line: 6, spans: [{ text: 'f', changed: false }], ending: 'lf' },
            { tag: 'equal', old_line: 7, new_line: 7, spans: [{ text: 'g', changed: false }], ending: 'lf' },
            { tag: 'equal', old_line: 8, new_line: 8, spans: [{ text: 'h', changed: false }], ending: 'missing' },
            { tag: 'insert', old_line: null, new_line: 9, spans: [{ text: 'i', changed: false }], ending: 'missing' },
          ],
        },
      ],
    };
    const lines = annotateOutput('a\nb\nc\nd\nE!\nf\ng\nh\ni\n', diff);
    expect(lines.map((l) => `${l.tag[0]}:${l.spans.map((s) => (s.changed ? `[${s.text}]` : s.text)).join('')}`)).toEqual([
      'e:a',
      'e:b',
      'e:c',
      'e:d',
      'd:[e]',
      'i:[E!]',
      'e:f',
      'e:g',
      'e:h',
      'i:i',
    ]);
  });

  it('places lines only the first column has where they were, and shows plain output without a diff', () => {
    // Old: a / x / b ; new: a / b — a pure deletion after line 1.
    const diff: TextDiff = {
      added: 0,
      removed: 1,
      coarse: false,
      hunks: [{ old_start: 2, old_len: 1, new_start: 1, new_len: 0, lines: [{ tag: 'delete', old_line: 2, new_line: null, spans: [{ text: 'x', changed: false }], ending: 'lf' }] }],
    };
    expect(annotateOutput('a\nb', diff).map((l) => `${l.tag[0]}:${l.spans[0]!.text}`)).toEqual(['e:a', 'd:x', 'e:b']);
    expect(annotateOutput('one\r\ntwo', null).map((l) => l.spans[0]!.text)).toEqual(['one', 'two']);
  });
});

describe('the gate and ratings', () => {
  const evidence: SuiteResult = {
    suite: 'regression',
    content_hash: 'h',
    pass_rate: 1 / 3,
    run_id: 'r1',
    passed: 1,
    total: 3,
    failing: ['#1 a', '#2 b'],
    regressions: [],
    baseline_run: null,
    baseline_version: null,
    problem: null,
  };
  const decision = (withSuite: boolean): Decision => ({
    allowed: false,
    counted_approvals: [],
    evidence: withSuite ? evidence : null,
    conditions: [
      { code: 'approvals', met: true, message: '1 approval' },
      ...(withSuite
        ? [{ code: 'suite', met: false, message: 'test suite regression passed 1/3 (33%) on version 4 (needs 100%); failing: #1 a; #2 b' }]
        : []),
    ],
  });

  it('finds the suite condition and its evidence', () => {
    expect(gateOf(decision(false))).toBeNull();
    const g = gateOf(decision(true))!;
    expect(g.condition.met).toBe(false);
    expect(g.evidence?.failing).toEqual(['#1 a', '#2 b']);
  });

  it('shortens the verdict only when the cases are listed below it', () => {
    const message = decision(true).conditions[1]!.message;
    expect(gateSummary(message, evidence)).toBe('test suite regression passed 1/3 (33%) on version 4 (needs 100%)');
    expect(gateSummary(message, { ...evidence, failing: [] })).toBe(message);
    expect(gateSummary('test suite regression has not run on version 4', null)).toBe('test suite regression has not run on version 4');
  });

  it('requires a comment for a bad rating only', () => {
    expect(ratingBlocker('good', '')).toBeNull();
    expect(ratingBlocker('bad', '  ')).toMatch(/needs a comment/);
    expect(ratingBlocker('bad', 'drops the policy')).toBeNull();
  });
});
