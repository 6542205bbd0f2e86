// Test suites, runs, comparisons, ratings, the review's Evals section and the model providers,
// against a scripted backend.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { useState, type ReactNode } from 'react';
import type {
  Case,
  CaseResult,
  Comparison,
  ComparisonCell,
  Decision,
  EvalProgress,
  EvalRun,
  ProviderInfo,
  Rating,
  Suite,
  SuiteDetail,
  Variable,
  VersionEvals,
  VersionSummary,
} from '../../api/generated';
import type { Call } from '../../api/client';
import { ApiContext } from '../context';
import { CaseDialog } from './CaseDialog';
import { Tests } from './TestSuites';
import { RunPanel } from './EvalRun';
import { Compare } from './Compare';
import { ReviewEvals } from '../review/ReviewEvals';
import { ModelProviders, pricesFromRows } from '../settings/Providers';
import { viewFromHash } from '../../lib/routes';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

type Handler = (req: Record<string, unknown>) => unknown;

/** A backend answering from `handlers`; every request is logged. A handler may throw an API
 * error object (`{kind, message}`). */
function backend(handlers: Record<string, Handler>) {
  const log: { command: string; req: Record<string, unknown> }[] = [];
  const call = (async (command: string, req: Record<string, unknown>) => {
    log.push({ command, req });
    await Promise.resolve();
    const h = handlers[command];
    if (!h) throw { kind: 'internal', message: `unexpected ${command}`, details: null };
    return h(req);
  }) as unknown as Call;
  return { call, log, requests: (c: string) => log.filter((l) => l.command === c).map((l) => l.req) };
}

const withApi = (call: Call, children: ReactNode) => (
  <ApiContext.Provider value={{ call, transport: 'web', refresh: () => undefined }}>{children}</ApiContext.Provider>
);

const declared: Variable[] = [
  { name: 'customer_name', type: 'string', required: true, default: null, description: null },
  { name: 'days', type: 'number', required: true, default: null, description: null },
];

const suite: Suite = {
  id: 's1',
  prompt: 'support/refund-reply',
  name: 'regression',
  description: 'What every reply must say',
  cases: 1,
  hash: 'sh',
  created_by: 'ana',
  created_at: '2026-01-01T00:00:00Z',
};

const aCase = (over: Partial<Case> = {}): Case => ({
  id: 'c1',
  position: 1,
  description: 'within the window',
  vars: { customer_name: 'Ada', days: 12 },
  expected: null,
  assertions: [{ type: 'contains', value: 'Ada' }],
  tags: ['refunds'],
  origin: '',
  updated_by: 'ana',
  updated_at: '2026-01-01T00:00:00Z',
  ...over,
});

const suiteDetail = (cases: Case[]): SuiteDetail => ({ suite: { ...suite, cases: cases.length }, cases });

const run = (over: Partial<EvalRun> = {}): EvalRun => ({
  id: 'run1',
  prompt: 'support/refund-reply',
  version: 3,
  version_hash: 'h3',
  suite: 'regression',
  suite_hash: 'sh',
  suite_changed: false,
  model: { provider: 'openai', model: 'gpt-4o-mini', parameters: {} },
  settings_hash: 'x',
  own_settings: true,
  status: 'completed',
  total: 2,
  done: 2,
  passed: 1,
  failed: 1,
  errored: 0,
  cached: 0,
  pass_rate: 0.5,
  score: 0.5,
  tokens_in: 0,
  tokens_out: 0,
  cost: null,
  mean_latency_ms: 10,
  started_by: 'ana',
  started_at: '2026-01-01T00:00:00Z',
  finished_at: null,
  error: null,
  ...over,
});

const caseResult = (position: number, passed: boolean): CaseResult => ({
  case_id: `c${position}`,
  position,
  label: `#${position} case ${position}`,
  case: { description: `case ${position}`, vars: {}, expected: null, assertions: [], tags: [] },
  input: null,
  output: `output ${position}`,
  error: null,
  passed,
  score: passed ? 1 : 0,
  checks: [{ assertion: 'contains "30 days"', passed, score: passed ? 1 : 0, message: passed ? 'found' : '"30 days" is not in the output' }],
  latency_ms: 12,
  tokens_in: 1,
  tokens_out: 1,
  cost: null,
  cached: false,
  attempts: 1,
  at: '2026-01-01T00:00:00Z',
});

describe('the case editor', () => {
  it('checks each assertion as it is typed and keeps "Add case" disabled, saying why, until it reads', async () => {
    const b = backend({
      parse_assertion: (req) => {
        const text = String(req.text);
        if (text.startsWith('contans')) throw { kind: 'bad_input', message: 'unknown assertion type "contans"', details: null };
        return { type: 'contains', value: text.split(': ')[1] };
      },
      add_cases: () => suiteDetail([aCase()]),
    });
    const onSaved = vi.fn();
    render(withApi(b.call, <CaseDialog name="support/refund-reply" suite="regression" declared={declared} existing={null} onClose={vi.fn()} onSaved={onSaved} />));
    const dialog = screen.getByRole('dialog', { name: 'New case in regression' });
    const add = within(dialog).getByRole('button', { name: 'Add case' }) as HTMLButtonElement;
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Value of customer_name' }), { target: { value: 'Ada' } });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Value of days' }), { target: { value: '12' } });
    const assertion = within(dialog).getByRole('textbox', { name: 'Assertion 1' });
    fireEvent.change(assertion, { target: { value: 'contans: refund' } });
    await within(dialog).findByText('unknown assertion type "contans"');
    expect(assertion.getAttribute('aria-invalid')).toBe('true');
    expect(add.disabled).toBe(true);
    expect(document.getElementById(add.getAttribute('aria-describedby')!)!.textContent).toBe('Assertion 1: unknown assertion type "contans"');
    fireEvent.change(assertion, { target: { value: 'contains: refund' } });
    await waitFor(() => expect(add.disabled).toBe(false));
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Tags' }), { target: { value: 'refunds, e2e' } });
    fireEvent.click(add);
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(b.requests('add_cases')).toEqual([
      {
        name: 'support/refund-reply',
        suite: 'regression',
        cases: [
          {
            description: '',
            vars: { customer_name: 'Ada', days: 12 },
            expected: null,
            assertions: [{ type: 'contains', value: 'refund' }],
            tags: ['refunds', 'e2e'],
          },
        ],
      },
    ]);
    // Only the settled text was checked (typing pauses are what count).
    expect(b.requests('parse_assertion').map((r) => r.text)).toEqual(['contans: refund', 'contains: refund']);
  });

  it('says which variable has the wrong type and blocks saving', async () => {
    const b = backend({});
    render(withApi(b.call, <CaseDialog name="p" suite="regression" declared={declared} existing={null} onClose={vi.fn()} onSaved={vi.fn()} />));
    const dialog = screen.getByRole('dialog');
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Value of days' }), { target: { value: 'twelve' } });
    expect(within(dialog).getByText('days must be a number (got “twelve”)')).toBeTruthy();
    expect((within(dialog).getByRole('button', { name: 'Add case' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it('edits a case keeping an untouched assertion exactly (its weight and grader have no short form)', async () => {
    const rubric = { type: 'rubric' as const, rubric: 'is polite', grader: 'anthropic/claude', weight: 2 };
    const existing = aCase({ assertions: [rubric], origin: 'import:cases.csv' });
    const b = backend({
      update_case: () => existing,
      get_suite: () => suiteDetail([existing]),
    });
    const onSaved = vi.fn();
    render(withApi(b.call, <CaseDialog name="p" suite="regression" declared={declared} existing={existing} onClose={vi.fn()} onSaved={onSaved} />));
    const dialog = screen.getByRole('dialog', { name: 'Edit case #1' });
    expect(dialog.textContent).toContain('This case was imported from cases.csv.');
    expect((within(dialog).getByRole('textbox', { name: 'Assertion 1' }) as HTMLInputElement).value).toBe('rubric: is polite');
    expect((within(dialog).getByRole('textbox', { name: 'Value of days' }) as HTMLInputElement).value).toBe('12');
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Description' }), { target: { value: 'polite within the window' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save case' }));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    const req = b.requests('update_case')[0]!;
    expect(req.case_id).toBe('c1');
    expect((req.case as { assertions: unknown[]; description: string }).assertions).toEqual([rubric]);
    expect((req.case as { description: string }).description).toBe('polite within the window');
    expect(b.requests('parse_assertion')).toEqual([]);
  });
});

const versions: VersionSummary[] = [
  { number: 4, hash: 'h4', parent_hash: 'h3', author: 'ana', message: 'Shorter', created_at: '2026-01-02T00:00:00Z', labels: ['latest', 'staging'] },
  { number: 3, hash: 'h3', parent_hash: 'h2', author: 'ana', message: 'Policy', created_at: '2026-01-01T00:00:00Z', labels: ['production'] },
  { number: 2, hash: 'h2', parent_hash: null, author: 'ana', message: 'Old', created_at: '2025-12-01T00:00:00Z', labels: [] },
];

describe('the Tests tab', () => {
  const tab = (importCases: Handler) => {
    const b = backend({
      list_suites: () => [suite],
      open_prompt: () => ({ latest: 4, draft: { content: { variables: [] } } }),
      get_version: () => ({ content: { variables: declared } }),
      history: () => ({ versions, total: 3 }),
      get_suite: () => suiteDetail([aCase()]),
      list_runs: () => [],
      import_cases: importCases,
    });
    render(withApi(b.call, <Tests name="support/refund-reply" refreshKey={0} />));
    return b;
  };

  it('lists the cases with their assertions in short form and where they came from', async () => {
    const b = tab(() => null);
    const table = await screen.findByRole('table', { name: 'Cases of regression' });
    expect(table.textContent).toContain('contains: Ada');
    expect(table.textContent).toContain('written here');
    expect(within(table).getByRole('button', { name: 'Edit case #1' })).toBeTruthy();
    // A new case offers the variables the latest version declares (what a run renders).
    await waitFor(() => expect(b.requests('get_version')).toEqual([{ name: 'support/refund-reply', reference: '4' }]));
    fireEvent.click(screen.getByRole('button', { name: 'Add case…' }));
    const dialog = screen.getByRole('dialog', { name: 'New case in regression' });
    expect(within(dialog).getByRole('textbox', { name: 'Value of days' })).toBeTruthy();
    expect(within(dialog).getByRole('table', { name: 'Case variables' }).textContent).toContain('number');
  });

  it('imports a file: an error names its line and changes nothing; a good file adds cases that say where they came from', async () => {
    let fail = true;
    const b = tab((req) => {
      if (fail) throw { kind: 'bad_input', message: `${String(req.file_name)}: line 3, __assert: unknown assertion type "containz"`, details: null };
      return suiteDetail([aCase(), aCase({ id: 'c2', position: 2, description: 'late', origin: 'import:more.csv' })]);
    });
    await screen.findByRole('table', { name: 'Cases of regression' });
    const picker = screen.getByLabelText('Import cases (.csv or .jsonl)');
    const csv = 'customer_name,__assert\nAl,contains: Al\nMo,containz: Mo\n';
    fireEvent.change(picker, { target: { files: [new File([csv], 'bad.csv', { type: 'text/csv' })] } });
    expect((await screen.findByRole('alert')).textContent).toBe('bad.csv: line 3, __assert: unknown assertion type "containz"');
    expect(b.requests('import_cases')[0]).toEqual({ name: 'support/refund-reply', suite: 'regression', file_name: 'bad.csv', text: csv });
    fail = false;
    fireEvent.change(picker, { target: { files: [new File(['x'], 'more.csv', { type: 'text/csv' })] } });
    expect((await screen.findByRole('status')).textContent).toBe('Imported 1 case from more.csv.');
    expect(screen.getByRole('table', { name: 'Cases of regression' }).textContent).toContain('imported from more.csv');
  });
});

describe('running a suite', () => {
  const progress = (r: EvalRun, over: Partial<EvalProgress> = {}): EvalProgress => ({ run: r, live: true, in_flight: 1, retries: 0, cancelling: false, ...over });

  function panel(statuses: EvalProgress[], extra: Record<string, Handler> = {}) {
    let i = 0;
    const b = backend({
      start_eval: () => run({ status: 'running', done: 0, passed: 0, failed: 0 }),
      eval_status: () => statuses[Math.min(i++, statuses.length - 1)],
      run_results: () => [caseResult(1, true), caseResult(2, false)],
      ...extra,
    });
    function Harness() {
      const [shown, setShown] = useState<string | null>(null);
      return (
        <RunPanel name="support/refund-reply" suites={[suite]} suite="regression" versions={versions} shownRun={shown} onShowRun={setShown} onRunsChanged={() => undefined} />
      );
    }
    render(withApi(b.call, <Harness />));
    return b;
  }

  it('starts a run on the picked version, polls its progress, then shows the results failures first', async () => {
    const b = panel([
      progress(run({ status: 'running', done: 1, passed: 1, failed: 0 }), { in_flight: 1 }),
      progress(run({ status: 'running', done: 1, passed: 1, failed: 0 }), { in_flight: 1 }),
      progress(run(), { live: false, in_flight: 0 }),
    ]);
    const form = screen.getByRole('form', { name: 'Start a run' });
    expect((within(form).getByRole('combobox', { name: 'Version' }) as HTMLSelectElement).value).toBe('4');
    fireEvent.change(within(form).getByRole('combobox', { name: 'Version' }), { target: { value: '3' } });
    fireEvent.change(within(form).getByRole('spinbutton', { name: 'Concurrency' }), { target: { value: '2' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Start run' }));
    await waitFor(() => expect(b.requests('start_eval')).toEqual([{ name: 'support/refund-reply', version: '3', suite: 'regression', concurrency: 2 }]));
    const bar = await screen.findByRole('progressbar', { name: 'Run of v3 on regression' });
    await waitFor(() => expect(bar.getAttribute('aria-valuenow')).toBe('1'));
    expect(screen.getByText('In flight').nextElementSibling?.textContent).toBe('1');
    await screen.findByText('Finished: 1 of 2 passed (50%).', undefined, { timeout: 4000 });
    expect(b.requests('eval_status').length).toBeGreaterThanOrEqual(3);
    const results = screen.getByRole('list', { name: 'Results of v3 on regression' });
    const items = within(results).getAllByRole('listitem').filter((li) => li.parentElement === results);
    expect(items[0]!.textContent).toMatch(/^fail #2 case 2/);
    expect(within(items[0]!).getByRole('list', { name: 'Failing checks of #2 case 2' }).textContent).toBe('contains "30 days": "30 days" is not in the output');
    expect(items[1]!.textContent).toMatch(/^pass #1 case 1/);
    // Polling stopped with the run.
    const calls = b.requests('eval_status').length;
    await new Promise((r) => setTimeout(r, 700));
    expect(b.requests('eval_status').length).toBe(calls);
  });

  it('cancels the run on screen', async () => {
    const running = progress(run({ status: 'running', done: 0, passed: 0, failed: 0 }));
    const b = panel([running], {
      cancel_eval: () => progress(run({ status: 'cancelled', done: 1, passed: 1, failed: 0 }), { live: false }),
    });
    fireEvent.click(screen.getByRole('button', { name: 'Start run' }));
    const cancel = await screen.findByRole('button', { name: 'Cancel run' });
    await waitFor(() => expect((cancel as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(cancel);
    await waitFor(() => expect(b.requests('cancel_eval')).toEqual([{ run_id: 'run1' }]));
    await screen.findByText(/Finished: 1 of 2 passed \(50%\) \(cancelled\)\./);
  });

  it('shows why a run could not start', async () => {
    panel([], { start_eval: () => { throw { kind: 'bad_input', message: 'provider openai: no API key', details: null }; } });
    fireEvent.click(screen.getByRole('button', { name: 'Start run' }));
    expect((await screen.findByRole('alert')).textContent).toBe('provider openai: no API key');
  });
});

const cell = (output: string, passed: boolean, over: Partial<ComparisonCell> = {}): ComparisonCell => ({
  output,
  error: null,
  passed,
  score: passed ? 1 : 0,
  checks: passed ? [] : [{ assertion: 'icontains "within 30 days"', passed: false, score: 0, message: '"within 30 days" (any case) is not in the output' }],
  latency_ms: 9,
  cached: false,
  diff: null,
  ratings: [],
  ...over,
});

const rating = (over: Partial<Rating> = {}): Rating => ({
  id: 'rt1',
  version: 4,
  version_hash: 'h4',
  case_id: 'c1',
  case_label: '#1 within the window',
  run_id: 'run4',
  output_hash: 'o',
  rating: 'bad',
  comment: 'drops the policy',
  rated_by: 'ana',
  rated_at: '2026-01-01T00:00:00Z',
  ...over,
});

function comparison(state: 'none' | 'running' | 'done', ratings: Rating[] = []): Comparison {
  const col = (version: number, labels: string[]) => ({
    version,
    version_hash: `h${version}`,
    labels,
    run:
      state === 'none'
        ? null
        : run({ id: `run${version}`, version, status: state === 'running' ? 'running' : 'completed', done: state === 'running' ? 1 : 2, total: 2 }),
  });
  const done = state === 'done';
  return {
    prompt: 'support/refund-reply',
    suite: 'regression',
    columns: [col(3, ['production']), col(4, ['latest'])],
    rows: [
      {
        case_id: 'c1',
        label: '#1 within the window',
        vars: { customer_name: 'Ada' },
        expected: null,
        cells: done
          ? [
              cell('Refunds within 30 days.', true),
              cell('Refund started!', false, {
                ratings,
                diff: {
                  added: 1,
                  removed: 1,
                  coarse: false,
                  hunks: [
                    {
                      old_start: 1,
                      old_len: 1,
                      new_start: 1,
                      new_len: 1,
                      lines: [
                        { tag: 'delete', old_line: 1, new_line: null, spans: [{ text: 'Refunds within 30 days', changed: true }, { text: '.', changed: false }], ending: 'missing' },
                        { tag: 'insert', old_line: null, new_line: 1, spans: [{ text: 'Refund started!', changed: true }], ending: 'missing' },
                      ],
                    },
                  ],
                },
              }),
            ]
          : state === 'running'
            ? [cell('Refunds within 30 days.', true), null]
            : [null, null],
        differs: done,
        has_failure: done,
      },
      {
        case_id: 'c2',
        label: '#2 greets by name',
        vars: { customer_name: 'Lin' },
        expected: null,
        cells: done ? [cell('Hi Lin', true), cell('Hi Lin', true)] : [null, null],
        differs: false,
        has_failure: false,
      },
    ],
  };
}

describe('comparing outputs', () => {
  const setup = (answers: () => Comparison, extra: Record<string, Handler> = {}) => {
    const b = backend({
      history: () => ({ versions, total: 3 }),
      list_suites: () => [suite],
      compare_versions: () => answers(),
      ...extra,
    });
    render(withApi(b.call, <Compare name="support/refund-reply" refreshKey={0} />));
    return b;
  };

  it('opens on production and the latest version, runs the missing ones and fills in as results arrive', async () => {
    let state: 'none' | 'running' | 'done' = 'none';
    const b = setup(() => comparison(state), {
      start_eval: () => {
        state = 'running';
        return run({ status: 'running' });
      },
    });
    const runMissing = await screen.findByRole('button', { name: 'Run missing (2)' });
    expect(b.requests('compare_versions')[0]).toEqual({ name: 'support/refund-reply', versions: ['3', '4'], suite: 'regression' });
    expect((screen.getByRole('checkbox', { name: /^v3/ }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole('checkbox', { name: /^v4/ }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole('checkbox', { name: /^v2/ }) as HTMLInputElement).checked).toBe(false);
    const matrix = screen.getByRole('table', { name: 'Outputs by case and version' });
    expect(within(matrix).getAllByText('No run of regression yet.')).toHaveLength(2);
    fireEvent.click(runMissing);
    await waitFor(() => expect(b.requests('start_eval').map((r) => r.version)).toEqual(['3', '4']));
    await screen.findByRole('progressbar', { name: 'Run of v4 on regression' });
    expect(within(matrix).getAllByText('Waiting for the output…').length).toBeGreaterThan(0);
    state = 'done';
    // The matrix polls while a run goes on, and fills in.
    await screen.findByRole('list', { name: 'Failing checks of v4 for #1' }, { timeout: 3000 });
    expect(screen.queryByRole('progressbar')).toBeNull();
    const output = screen.getByLabelText('Output of v4 for #1');
    expect(output.querySelector('mark.word-ins')?.textContent).toBe('Refund started!');
    // What only the first column says is left out until asked for.
    expect(output.querySelector('mark.word-del')).toBeNull();
    fireEvent.click(screen.getByRole('checkbox', { name: /Show text the first column has/ }));
    expect(screen.getByLabelText('Output of v4 for #1').querySelector('mark.word-del')?.textContent).toBe('Refunds within 30 days');
  });

  it('filters to the cases that differ or fail', async () => {
    setup(() => comparison('done'));
    const shown = await screen.findByRole('status', { name: 'Cases shown' });
    await waitFor(() => expect(shown.textContent).toBe('2 of 2 cases shown'));
    fireEvent.click(screen.getByRole('checkbox', { name: 'Only where outputs differ' }));
    expect(shown.textContent).toBe('1 of 2 cases shown');
    const matrix = screen.getByRole('table', { name: 'Outputs by case and version' });
    expect(matrix.textContent).not.toContain('#2 greets by name');
    fireEvent.click(screen.getByRole('checkbox', { name: 'Only where outputs differ' }));
    fireEvent.click(screen.getByRole('checkbox', { name: 'Only failures' }));
    expect(shown.textContent).toBe('1 of 2 cases shown');
  });

  it('rates an output: a bad rating needs a comment; the cell then shows who said what', async () => {
    let ratings: Rating[] = [];
    const b = setup(() => comparison('done', ratings), {
      rate_output: (req) => {
        ratings = [rating({ comment: String(req.comment) })];
        return ratings[0];
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Rate v4 bad on #1' }));
    const dialog = screen.getByRole('dialog', { name: 'Rate v4’s output' });
    const save = within(dialog).getByRole('button', { name: 'Save rating' }) as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    expect(document.getElementById(save.getAttribute('aria-describedby')!)!.textContent).toMatch(/a bad rating needs a comment/);
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Comment' }), { target: { value: 'drops the policy' } });
    expect(save.disabled).toBe(false);
    fireEvent.click(save);
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(b.requests('rate_output')).toEqual([{ name: 'support/refund-reply', version: '4', case_id: 'c1', rating: 'bad', comment: 'drops the policy' }]);
    const list = await screen.findByRole('list', { name: 'Ratings of v4 for #1' });
    expect(list.textContent).toMatch(/ana: bad — drops the policy/);
  });

  it('rates good without a comment', async () => {
    const b = setup(() => comparison('done'), { rate_output: () => rating({ rating: 'good', comment: '' }) });
    fireEvent.click(await screen.findByRole('button', { name: 'Rate v3 good on #1' }));
    const dialog = screen.getByRole('dialog', { name: 'Rate v3’s output' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save rating' }));
    await waitFor(() => expect(b.requests('rate_output')).toEqual([{ name: 'support/refund-reply', version: '3', case_id: 'c1', rating: 'good' }]));
  });

  it('opens on the versions and suite it is given (from a review)', async () => {
    const b = backend({
      history: () => ({ versions, total: 3 }),
      list_suites: () => [{ ...suite, name: 'other', id: 's0' }, suite],
      compare_versions: () => comparison('done'),
    });
    render(withApi(b.call, <Compare name="support/refund-reply" refreshKey={0} init={{ versions: [2, 4], suite: 'regression' }} />));
    await waitFor(() => expect(b.requests('compare_versions')[0]).toEqual({ name: 'support/refund-reply', versions: ['2', '4'], suite: 'regression' }));
  });
});

describe('the review’s Evals section', () => {
  const decision = (met: boolean): Decision => ({
    allowed: false,
    counted_approvals: [],
    conditions: [
      {
        code: 'suite',
        met,
        message: met
          ? 'test suite regression passed 3/3 (100%) on version 4 (needs 100%)'
          : 'test suite regression passed 1/3 (33%) on version 4 (needs 100%); failing: #1 a; #2 b; 2 case(s) that pass on version 3 fail here: #1 a; #2 b',
      },
    ],
    evidence: {
      suite: 'regression',
      content_hash: 'h4',
      pass_rate: met ? 1 : 1 / 3,
      run_id: 'run4',
      passed: met ? 3 : 1,
      total: 3,
      failing: met ? [] : ['#1 a', '#2 b'],
      regressions: met ? [] : ['#1 a', '#2 b'],
      baseline_run: 'run3',
      baseline_version: 3,
      problem: null,
      ran_by: 'ana',
      rerun_checks: 5,
      recorded_checks: 1,
    },
  });
  const evals = (v: number): VersionEvals =>
    v === 4
      ? { runs: [run({ id: 'run4', version: 4, passed: 1, total: 3 }), run({ id: 'old', version: 4, passed: 0, total: 3 })], ratings: [rating()], good: 0, bad: 1 }
      : { runs: [], ratings: [rating({ id: 'rt3', version: 3, rating: 'good', comment: 'states the policy', rated_by: 'sam' })], good: 1, bad: 0 };

  it('shows the gate refusing with the failing cases and regressions, the runs, and everyone’s ratings', async () => {
    const b = backend({ version_evals: (req) => evals(Number(req.reference)) });
    const onCompare = vi.fn();
    render(
      withApi(
        b.call,
        <ReviewEvals prompt="support/refund-reply" version={4} label="production" serving={3} decision={decision(false)} refreshKey={0} onCompare={onCompare} />,
      ),
    );
    const verdict = screen.getByRole('group', { name: "The gate's verdict" });
    expect(verdict.textContent).toMatch(/^✗ Refused: test suite regression passed 1\/3 \(33%\) on version 4 \(needs 100%\)Weighed/);
    expect(within(verdict).getByRole('list', { name: 'Failing cases' }).textContent).toBe('#1 a#2 b');
    expect(within(verdict).getByRole('list', { name: 'Regressions' }).textContent).toBe('#1 a#2 b');
    expect(verdict.textContent).toContain('Regressions (pass on v3, fail here)');
    // Where the verdicts come from: who ran it, what can be checked again, what is taken as recorded.
    expect(verdict.textContent).toContain("Run by ana: the answers are the model's as that run recorded them.");
    expect(verdict.textContent).toContain('5 checks on those answers can be run again by anyone');
    expect(verdict.textContent).toContain('1 check (model-graded rubrics, latency and cost limits) cannot be re-checked');
    const runs = await screen.findByRole('table', { name: 'Latest runs' });
    // The newest run of each suite only.
    expect(within(runs).getAllByRole('row')).toHaveLength(2);
    expect(runs.textContent).toContain('1 of 3 passed (33%)');
    const mine = await screen.findByRole('list', { name: 'Ratings of v4' });
    expect(mine.textContent).toMatch(/ana rated #1 within the window bad: drops the policy/);
    expect(screen.getByText('0 good, 1 bad')).toBeTruthy();
    const theirs = await screen.findByRole('list', { name: 'Ratings of v3' });
    expect(theirs.textContent).toMatch(/sam rated #1 within the window good: states the policy/);
    fireEvent.click(screen.getByRole('button', { name: 'Compare with production (v3)' }));
    expect(onCompare).toHaveBeenCalledWith([3, 4], 'regression');
  });

  it('says when the gate passes, and when the policy requires no suite', async () => {
    const b = backend({ version_evals: () => ({ runs: [], ratings: [], good: 0, bad: 0 }) });
    render(withApi(b.call, <ReviewEvals prompt="p" version={4} label="production" serving={null} decision={decision(true)} refreshKey={0} onCompare={vi.fn()} />));
    expect(screen.getByRole('group', { name: "The gate's verdict" }).textContent).toMatch(/^✓ Passes: test suite regression passed 3\/3/);
    await screen.findByText('No suite has run on this version yet.');
    expect(screen.queryByRole('button', { name: /Compare with/ })).toBeNull();
    cleanup();
    render(
      withApi(
        b.call,
        <ReviewEvals prompt="p" version={4} label="staging" serving={3} decision={{ allowed: true, conditions: [], counted_approvals: [] }} refreshKey={0} onCompare={vi.fn()} />,
      ),
    );
    expect(screen.getByText('The release policy for staging requires no test suite.')).toBeTruthy();
  });
});

const provider = (name: string, over: Partial<ProviderInfo> = {}): ProviderInfo => ({
  settings: { name, kind: name === 'anthropic' ? 'anthropic' : 'openai', base_url: `https://api.${name}.com/v1`, prices: {}, timeout_s: null },
  key_kept: false,
  key_from_env: false,
  key_problem: null,
  ...over,
});

describe('Settings → Model providers', () => {
  it('lists providers and whether a key is kept, saves a new base URL and key, and never shows the key', async () => {
    let listed = [provider('openai'), provider('anthropic', { key_from_env: true })];
    const b = backend({
      list_providers: () => listed,
      set_provider: (req) => {
        const p = req.provider as ProviderInfo['settings'];
        listed = [provider('openai', { settings: p, key_kept: Boolean(req.api_key) }), listed[1]!];
        return listed;
      },
    });
    render(withApi(b.call, <ModelProviders />));
    const table = await screen.findByRole('table', { name: 'Model providers' });
    const rows = within(table).getAllByRole('row');
    expect(rows[1]!.textContent).toMatch(/openai.*https:\/\/api\.openai\.com\/v1none/);
    expect(rows[2]!.textContent).toContain('from the environment');
    expect((within(table).getByRole('button', { name: 'Forget the API key of openai' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(within(table).getByRole('button', { name: 'Edit openai' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit provider openai' });
    expect((within(dialog).getByRole('textbox', { name: 'Name' }) as HTMLInputElement).disabled).toBe(true);
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Base URL' }), { target: { value: 'http://127.0.0.1:9999/v1' } });
    const key = within(dialog).getByLabelText('API key') as HTMLInputElement;
    expect(key.type).toBe('password');
    fireEvent.change(key, { target: { value: 'sk-secret-123' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Add a price' }));
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Model of price 1' }), { target: { value: 'gpt-4o-mini' } });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Input price of gpt-4o-mini' }), { target: { value: '0.15' } });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Output price of gpt-4o-mini' }), { target: { value: '0.6' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save provider' }));
    await screen.findByText('Saved openai; its API key is kept in your key store.');
    expect(b.requests('set_provider')).toEqual([
      {
        provider: {
          name: 'openai',
          kind: 'openai',
          base_url: 'http://127.0.0.1:9999/v1',
          prices: { 'gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 } },
          timeout_s: null,
        },
        api_key: 'sk-secret-123',
      },
    ]);
    expect(screen.getByRole('table', { name: 'Model providers' }).textContent).toContain('kept in your key store');
    expect(document.body.innerHTML).not.toContain('sk-secret-123');
    // Opened again, the key field is empty and says a key is kept.
    fireEvent.click(screen.getByRole('button', { name: 'Edit openai' }));
    const again = screen.getByLabelText('API key') as HTMLInputElement;
    expect(again.value).toBe('');
    expect(again.placeholder).toMatch(/A key is kept/);
  });

  it('forgets a key and removes a provider', async () => {
    const listed = [provider('openai', { key_kept: true }), provider('local')];
    const b = backend({
      list_providers: () => listed,
      set_provider: () => [provider('openai'), provider('local')],
      remove_provider: () => [provider('openai')],
    });
    render(withApi(b.call, <ModelProviders />));
    fireEvent.click(await screen.findByRole('button', { name: 'Forget the API key of openai' }));
    await screen.findByText('The API key of openai is forgotten.');
    expect(b.requests('set_provider')).toEqual([{ provider: listed[0]!.settings, forget_key: true }]);
    fireEvent.click(screen.getByRole('button', { name: 'Remove local' }));
    await screen.findByText('Removed local.');
    expect(b.requests('remove_provider')).toEqual([{ name: 'local' }]);
    expect(screen.queryByRole('button', { name: 'Edit local' })).toBeNull();
  });

  it('reads the price table and says what is wrong with it', () => {
    expect(pricesFromRows([{ model: 'm', input: '1', output: '2' }, { model: '', input: '', output: '' }])).toEqual({
      prices: { m: { input_per_mtok: 1, output_per_mtok: 2 } },
    });
    expect(pricesFromRows([{ model: '', input: '1', output: '2' }])).toEqual({ error: 'A price needs the model it is for.' });
    expect(pricesFromRows([{ model: 'm', input: 'x', output: '2' }])).toEqual({ error: 'm: the input price must be a number of 0 or more.' });
    expect(pricesFromRows([{ model: 'm', input: '1', output: '-1' }])).toEqual({ error: 'm: the output price must be a number of 0 or more.' });
    expect(pricesFromRows([{ model: 'm', input: '1', output: '1' }, { model: 'm', input: '1', output: '1' }])).toEqual({ error: 'm is priced twice.' });
  });
});

describe('routes', () => {
  it('opens the Tests and Compare tabs, a comparison with its versions and suite', () => {
    expect(viewFromHash('#/tests/support%2Frefund-reply')).toEqual({ kind: 'prompt', tab: 'tests', name: 'support/refund-reply' });
    expect(viewFromHash('#/compare/support%2Frefund-reply')).toEqual({ kind: 'prompt', tab: 'compare', name: 'support/refund-reply' });
    expect(viewFromHash('#/compare/support%2Frefund-reply?versions=3,4&suite=regression')).toEqual({
      kind: 'prompt',
      tab: 'compare',
      name: 'support/refund-reply',
      compare: { versions: [3, 4], suite: 'regression' },
    });
    // A query means nothing to other tabs.
    expect(viewFromHash('#/edit/a%3Fb')).toEqual({ kind: 'prompt', tab: 'edit', name: 'a?b' });
  });
});
