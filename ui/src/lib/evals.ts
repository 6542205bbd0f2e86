// Test suites, eval runs and comparisons, the parts without React: assertions in their short
// form, case variables as typed text, run progress in words, the comparison's filters and the
// word highlights of an output against the first column, and the release gate's verdict.
import type {
  Assertion,
  CaseResult,
  ComparisonCell,
  ComparisonRow,
  Condition,
  Decision,
  DiffLine,
  EvalRun,
  Rating,
  SuiteResult,
  TextDiff,
  VarType,
  Variable,
  VersionSummary,
} from '../api/generated';

// ---- assertions ---------------------------------------------------------------------------

/** An assertion in the short form `parse_assertion` reads back (`contains: refund`,
 * `not-icontains: sorry`, `length: 10..200`). Weights and rubric graders have no short form:
 * an assertion that has them is kept as it is until its text is edited. */
export function assertionShort(a: Assertion): string {
  const head = (name: string) => `${a.not ? 'not-' : ''}${name}`;
  switch (a.type) {
    case 'equals':
    case 'contains':
    case 'icontains':
    case 'starts-with':
      return `${head(a.type)}: ${a.value}`;
    case 'contains-any':
    case 'contains-all':
      return `${head(a.type)}: ${a.values.join(' | ')}`;
    case 'regex':
      return `${head('regex')}: ${a.pattern}`;
    case 'is-json':
      return head('is-json');
    case 'json-schema':
      return `${head('json-schema')}: ${JSON.stringify(a.schema)}`;
    case 'length':
      return `${head('length')}: ${a.min ?? ''}..${a.max ?? ''}`;
    case 'similar':
      return `${head('similar')}: ${a.threshold}`;
    case 'latency':
      return `${head('latency')}: ${a.max_ms}`;
    case 'cost':
      return `${head('cost')}: ${a.max}`;
    case 'rubric':
      return `${head('rubric')}: ${a.rubric}`;
  }
}

/** True when the assertion carries something its short form would lose (a weight, a grader). */
export function hasExtras(a: Assertion): boolean {
  return (a.weight !== undefined && a.weight !== 1) || (a.type === 'rubric' && a.grader.trim() !== '');
}

/** One assertion being edited: its text, and what it reads as (null while unchecked or wrong). */
export interface AssertionRow {
  key: number;
  text: string;
  value: Assertion | null;
  error: string | null;
  /** The text changed and `parse_assertion` has not answered for it yet. */
  checking: boolean;
}

let rowKeys = 0;
export function assertionRow(a: Assertion | null, text = a ? assertionShort(a) : ''): AssertionRow {
  return { key: ++rowKeys, text, value: a, error: null, checking: false };
}

/** What keeps a case with these assertion rows from being saved, or null. Empty rows are left
 * out when saving, so they block nothing. */
export function assertionsBlocker(rows: readonly AssertionRow[]): string | null {
  const used = rows.filter((r) => r.text.trim() !== '');
  const bad = used.findIndex((r) => r.error !== null);
  if (bad >= 0) return `Assertion ${rows.indexOf(used[bad]!) + 1}: ${used[bad]!.error}`;
  if (used.some((r) => r.checking || r.value === null)) return 'Checking the assertions…';
  return null;
}

// ---- case variables -----------------------------------------------------------------------

/** One variable of a case as edited: its name and its value as text. */
export interface VarRow {
  name: string;
  text: string;
  /** Declared by the prompt (then its name is fixed and its type known). */
  declared: Variable | null;
}

/** A value as text in the editor: strings as they are, everything else as JSON. */
export function varText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The rows for a case: the prompt's declared variables first (in their order), then any other
 * variable the case has. */
export function varRows(declared: readonly Variable[], vars: Record<string, unknown>): VarRow[] {
  const rows: VarRow[] = declared.map((d) => ({ name: d.name, text: varText(vars[d.name]), declared: d }));
  for (const [name, value] of Object.entries(vars)) {
    if (!declared.some((d) => d.name === name)) rows.push({ name, text: varText(value), declared: null });
  }
  return rows;
}

/** Reads a value typed for a variable of `type` (unknown type: a string, or JSON when it is a
 * JSON array or object, as the CSV import reads cells). */
export function parseVar(text: string, type: VarType | null): { value: unknown } | { error: string } {
  const t = text.trim();
  switch (type) {
    case 'number': {
      const n = Number(t);
      return t !== '' && Number.isFinite(n) ? { value: n } : { error: `must be a number (got “${text}”)` };
    }
    case 'boolean':
      if (t === 'true' || t === 'false') return { value: t === 'true' };
      return { error: `must be true or false (got “${text}”)` };
    case 'list':
    case 'object': {
      try {
        const v = JSON.parse(t) as unknown;
        const ok = type === 'list' ? Array.isArray(v) : typeof v === 'object' && v !== null && !Array.isArray(v);
        if (ok) return { value: v };
      } catch {
        // said below
      }
      return { error: type === 'list' ? 'must be a JSON list: ["a", "b"]' : 'must be a JSON object: {"key": "value"}' };
    }
    case 'string':
      return { value: text };
    default:
      if (/^\s*[[{]/.test(text)) {
        try {
          return { value: JSON.parse(text) as unknown };
        } catch {
          return { value: text };
        }
      }
      return { value: text };
  }
}

/** The case's variables from the rows, or the first problem. A row left empty is not set (the
 * variable's default applies, or the run says it is missing). */
export function varsFromRows(rows: readonly VarRow[]): { vars: Record<string, unknown> } | { error: string } {
  const vars: Record<string, unknown> = {};
  for (const r of rows) {
    const name = r.name.trim();
    if (r.text === '' && (r.declared || name === '')) continue;
    if (!name) return { error: 'A variable needs a name.' };
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return { error: `“${name}” is not a variable name (letters, digits, _).` };
    if (name in vars) return { error: `The variable ${name} is there twice.` };
    const parsed = parseVar(r.text, r.declared?.type ?? null);
    if ('error' in parsed) return { error: `${name} ${parsed.error}` };
    vars[name] = parsed.value;
  }
  return { vars };
}

export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** Where a case came from, in words. */
export function originText(origin: string): string {
  if (!origin) return 'written here';
  if (origin.startsWith('import:')) return `imported from ${origin.slice(7)}`;
  if (origin.startsWith('postmortem:')) return `from postmortem ${origin.slice(11)}`;
  return origin;
}

// ---- runs ---------------------------------------------------------------------------------

export const POLL_MS = 500;

export function isRunning(run: Pick<EvalRun, 'status'> | null | undefined): boolean {
  return run?.status === 'running';
}

/** 0..100, whole. */
export function percent(done: number, total: number): number {
  return total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
}

/** "2 of 3 passed (67%)". */
export function passText(run: Pick<EvalRun, 'passed' | 'total'>): string {
  return `${run.passed} of ${run.total} passed (${percent(run.passed, run.total)}%)`;
}

export const STATUS_WORDS: Record<EvalRun['status'], string> = {
  running: 'running',
  completed: 'completed',
  cancelled: 'cancelled',
  failed: 'failed',
};

/** Failures first (errors, then failed checks), each group in case order. */
export function failuresFirst(results: readonly CaseResult[]): CaseResult[] {
  const rank = (r: CaseResult) => (r.error !== null ? 0 : r.passed ? 2 : 1);
  return [...results].sort((a, b) => rank(a) - rank(b) || a.position - b.position);
}

/** The latest run of each suite, newest first (the runs come newest first). */
export function latestPerSuite(runs: readonly EvalRun[]): EvalRun[] {
  const seen = new Set<string>();
  return runs.filter((r) => !seen.has(r.suite) && (seen.add(r.suite), true));
}

// ---- comparisons --------------------------------------------------------------------------

/** What to compare when the view opens: what `label` serves and the newest version (or the
 * two newest when they are the same, or the label serves nothing). Older first: the first
 * column is the one the others are diffed against. */
export function defaultPicks(versions: readonly VersionSummary[], label = 'production'): number[] {
  if (versions.length === 0) return [];
  const latest = versions[0]!.number;
  const serving = versions.find((v) => v.labels.includes(label))?.number;
  if (serving !== undefined && serving !== latest) return [serving, latest].sort((a, b) => a - b);
  return versions
    .slice(0, 2)
    .map((v) => v.number)
    .sort((a, b) => a - b);
}

export interface RowFilter {
  onlyDiffering: boolean;
  onlyFailures: boolean;
}

export function filterRows(rows: readonly ComparisonRow[], f: RowFilter): ComparisonRow[] {
  return rows.filter((r) => (!f.onlyDiffering || r.differs) && (!f.onlyFailures || r.has_failure));
}

export type CellState = 'missing' | 'pass' | 'fail' | 'error';

export function cellState(cell: ComparisonCell | null): CellState {
  if (!cell) return 'missing';
  if (cell.output === null) return 'error';
  return cell.passed ? 'pass' : 'fail';
}

/** One line of an output as shown in the comparison: unchanged, or inserted/deleted against the
 * first column, with its word-level spans (the shape DiffView's spans take). */
export type OutputLine = Pick<DiffLine, 'tag' | 'spans'>;

/** The whole of `output` (the new side of `diff`), line by line, with the diff's changed lines
 * (and the first column's lines it no longer has) in place. Without a diff: plain lines. */
export function annotateOutput(output: string, diff: TextDiff | null): OutputLine[] {
  const lines = output.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const plain = (text: string): OutputLine => ({ tag: 'equal', spans: [{ text: text.replace(/\r$/, ''), changed: false }] });
  if (!diff || diff.hunks.length === 0) return lines.map(plain);
  const out: OutputLine[] = [];
  let next = 1; // the next line of `output` to show, 1-based
  for (const hunk of diff.hunks) {
    const firstNew = hunk.lines.find((l) => l.new_line !== null)?.new_line ?? hunk.new_start + 1;
    for (; next < firstNew && next <= lines.length; next++) out.push(plain(lines[next - 1]!));
    for (const l of hunk.lines) {
      out.push({ tag: l.tag, spans: l.spans });
      if (l.new_line !== null) next = Math.max(next, l.new_line + 1);
    }
  }
  for (; next <= lines.length; next++) out.push(plain(lines[next - 1]!));
  return out;
}

// ---- ratings and the gate -----------------------------------------------------------------

/** "ben rated it bad: the policy is gone". */
export function ratingText(r: Pick<Rating, 'rated_by' | 'rating' | 'comment'>): string {
  return `${r.rated_by} rated it ${r.rating}${r.comment ? `: ${r.comment}` : ''}`;
}

/** The release policy's suite condition and the evidence it weighed (null: the policy asks for
 * no suite). */
export function gateOf(decision: Decision): { condition: Condition; evidence: SuiteResult | null } | null {
  const condition = decision.conditions.find((c) => c.code === 'suite');
  return condition ? { condition, evidence: decision.evidence ?? null } : null;
}

/** The suite condition's message without the case lists shown under it anyway (everything up
 * to the first `; `, where the backend starts listing them). */
export function gateSummary(message: string, ev: SuiteResult | null): string {
  if (!ev || (ev.failing.length === 0 && ev.regressions.length === 0)) return message;
  return message.split('; ')[0] ?? message;
}

/** Why a rating cannot be saved yet, or null. */
export function ratingBlocker(verdict: 'good' | 'bad', comment: string): string | null {
  return verdict === 'bad' && !comment.trim() ? 'Say what is wrong with the output: a bad rating needs a comment.' : null;
}
