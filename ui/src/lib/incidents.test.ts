import { describe, expect, it } from 'vitest';
import type { Incident, IncidentDetail, Policy, Release } from '../api/generated';
import {
  actionsProblem,
  defaultRollbackReason,
  docChanged,
  dueText,
  durationText,
  EMPTY_DOC,
  incidentChange,
  incidentRollbackBlocker,
  isoToLocalInput,
  localInputToIso,
  newAction,
  timeText,
  timelineKindClass,
  timelineKindText,
  todayUtc,
} from './incidents';
import { formOf, labelProblem, policyOf, policySummary, rateToPercent } from './policy';
import { viewFromHash } from './routes';

const incident: Incident = {
  id: '5cfbcddf-840f-4aa5-bc52-6fa0eaeb0b5b',
  title: 'Refund replies no longer state the policy',
  severity: 'SEV2',
  status: 'investigating',
  detection: 'user_reports',
  detected_at: '2026-11-21T09:30:00.000Z',
  prompt: 'support/refund-reply',
  label: 'production',
  suspected_release: 'rel4',
  rollback_release: null,
  notes: '',
  opened_by: 'rita',
  opened_at: '2026-11-21T09:40:00.000Z',
  mitigated_at: null,
  resolved_at: null,
  updated_at: '2026-11-21T09:40:00.000Z',
};

const release = (over: Partial<Release> = {}): Release => ({
  id: 'rel4',
  prompt: 'support/refund-reply',
  label: 'production',
  kind: 'release',
  from_version: 3,
  from_hash: 'h3',
  to_version: 4,
  to_hash: 'h4',
  changelog: 'Shorter reply',
  review: 4,
  approvals: ['ben'],
  actor: 'rita',
  actor_role: 'releaser',
  at: '2026-11-21T09:00:00.000Z',
  bundle: null,
  pushed_by: null,
  ...over,
});

const detail = (over: Partial<IncidentDetail> = {}): IncidentDetail => ({
  incident,
  suspected: release(),
  rollback: null,
  serving: 4,
  rollback_to: 3,
  blast_radius: { labels: ['production'], included_by: [] },
  timeline: [],
  has_postmortem: false,
  ...over,
});

describe('the incident rollback button', () => {
  it('is enabled while the label serves the suspected release', () => {
    expect(incidentRollbackBlocker(detail())).toBeNull();
  });

  it('says why not, in the order the backend checks', () => {
    const rolled = release({ id: 'rb', kind: 'rollback', from_version: 4, to_version: 3, actor: 'rita' });
    expect(incidentRollbackBlocker(detail({ rollback_to: null, rollback: rolled, serving: 3 }))).toBe(
      'Rolled back already: production went back to v3 (rita).',
    );
    expect(incidentRollbackBlocker(detail({ rollback_to: null, suspected: null }))).toMatch(/No suspected release/);
    expect(incidentRollbackBlocker(detail({ rollback_to: null, suspected: release({ from_version: null }) }))).toMatch(
      /put the first version on production: there is nothing to go back to/,
    );
    expect(incidentRollbackBlocker(detail({ rollback_to: null, serving: null }))).toBe('production points nowhere.');
    expect(incidentRollbackBlocker(detail({ rollback_to: null, serving: 5 }))).toMatch(
      /^production no longer serves the suspected release \(v4\); it serves v5\./,
    );
  });

  it('pre-fills the reason the backend would record', () => {
    expect(defaultRollbackReason(incident)).toBe('incident 5cfbcddf: Refund replies no longer state the policy');
  });
});

describe('incident helpers', () => {
  it('sends only the fields changed', () => {
    expect(incidentChange({ status: 'resolved' })).toEqual({
      title: null,
      severity: null,
      status: 'resolved',
      notes: null,
      suspected_release: null,
    });
  });

  it('writes durations as the Markdown export does', () => {
    expect(durationText(null)).toBe('not yet');
    expect(durationText(0)).toBe('0 min');
    expect(durationText(59)).toBe('59 min');
    expect(durationText(65)).toBe('1 h 5 min');
    expect(durationText(60 * 24 * 2 + 180)).toBe('2 d 3 h');
  });

  it('reads a datetime-local value as a UTC time and back', () => {
    expect(localInputToIso('')).toBeNull();
    expect(localInputToIso('not a time')).toEqual({ error: '“not a time” is not a date and time' });
    const iso = localInputToIso('2026-11-21T09:30');
    expect(typeof iso).toBe('string');
    expect(iso).toBe(new Date(2026, 10, 21, 9, 30).toISOString());
    expect(isoToLocalInput(iso as string)).toBe('2026-11-21T09:30');
    expect(isoToLocalInput('garbage')).toBe('');
  });

  it('shows times in UTC to the second', () => {
    expect(timeText('2026-11-21T09:30:05.123Z')).toBe('2026-11-21 09:30:05 UTC');
    expect(timeText('2026-11-21T10:30:05+01:00')).toBe('2026-11-21 09:30:05 UTC');
    expect(timeText('yesterday')).toBe('yesterday');
  });

  it('names timeline kinds briefly', () => {
    expect(timelineKindText('release.recorded')).toBe('release');
    expect(timelineKindText('review.approve')).toBe('approval');
    expect(timelineKindText('rollback.recorded')).toBe('rollback');
    expect(timelineKindText('note')).toBe('note');
    expect(timelineKindText('something.new')).toBe('new');
    expect(timelineKindClass({ kind: 'rollback.recorded' })).toBe('rollback-recorded');
  });
});

describe('postmortem helpers', () => {
  it('checks corrective actions as the backend does', () => {
    expect(actionsProblem([])).toBeNull();
    expect(actionsProblem([{ ...newAction(), text: 'Gate production', due: '2026-12-01' }])).toBeNull();
    expect(actionsProblem([{ ...newAction(), text: '  ' }])).toBe('Action 1: say what is to be done.');
    expect(actionsProblem([{ ...newAction(), text: 'a' }, { ...newAction(), text: 'b', due: '1/12/2026' }])).toBe(
      'Action 2: the due date must be YYYY-MM-DD.',
    );
    expect(actionsProblem([{ ...newAction(), text: 'a', status: 'later' }])).toBe('Action 1: the status is open or done.');
  });

  it('knows when the postmortem differs from what was saved', () => {
    expect(docChanged(EMPTY_DOC, { ...EMPTY_DOC })).toBe(false);
    expect(docChanged(EMPTY_DOC, { ...EMPTY_DOC, summary: 'x' })).toBe(true);
    const saved = { ...EMPTY_DOC, actions: [{ id: 'a1', text: 'Gate it', owner: 'cho', due: '', status: 'open' }] };
    // The backend trims texts and owners: trailing spaces typed are no change.
    expect(docChanged(saved, { ...saved, actions: [{ ...saved.actions[0]!, text: 'Gate it ' }] })).toBe(false);
    expect(docChanged(saved, { ...saved, actions: [{ ...saved.actions[0]!, status: 'done' }] })).toBe(true);
    expect(docChanged(saved, { ...saved, actions: [] })).toBe(true);
  });

  it('says how far a due date is', () => {
    expect(dueText('2026-11-18', '2026-11-21')).toBe('3 days overdue');
    expect(dueText('2026-11-20', '2026-11-21')).toBe('1 day overdue');
    expect(dueText('2026-11-21', '2026-11-21')).toBe('due today');
    expect(dueText('2026-11-22', '2026-11-21')).toBe('due in 1 day');
    expect(dueText('', '2026-11-21')).toBe('');
    expect(todayUtc(Date.parse('2026-11-21T23:59:00Z'))).toBe('2026-11-21');
  });
});

const production: Policy = {
  required_approvals: 1,
  changelog_required: true,
  required_suite: null,
  promote_role: 'releaser',
  rollback_role: 'releaser',
  rollback_needs_approvals: false,
  freeze_windows: [],
};

describe('the policy form', () => {
  it('reads back the policy it was made from', () => {
    expect(policyOf(formOf(production))).toEqual({ policy: production });
    const gated: Policy = {
      ...production,
      required_suite: { suite: 'regression', min_pass_rate: 0.95, no_regressions: true },
      freeze_windows: [{ from: '2026-12-20T00:00:00.000Z', to: '2027-01-02T00:00:00.000Z', reason: 'holidays' }],
    };
    expect(policyOf(formOf(gated))).toEqual({ policy: gated });
  });

  it('takes the pass rate in percent', () => {
    const f = { ...formOf(production), suiteRequired: true, suite: ' regression ', minPassRate: '100' };
    expect(policyOf(f)).toEqual({ policy: { ...production, required_suite: { suite: 'regression', min_pass_rate: 1, no_regressions: false } } });
    expect(policyOf({ ...f, minPassRate: '33.3' })).toMatchObject({ policy: { required_suite: { min_pass_rate: 0.333 } } });
    expect(rateToPercent(0.333)).toBe('33.3');
    expect(rateToPercent(1)).toBe('100');
  });

  it('leaves the suite out when none is required', () => {
    const f = { ...formOf(production), suiteRequired: false, suite: 'regression', minPassRate: 'nonsense' };
    expect(policyOf(f)).toEqual({ policy: production });
  });

  it('names the first problem', () => {
    const f = formOf(production);
    expect(policyOf({ ...f, approvals: '' })).toEqual({ error: 'Approvals required: a whole number from 0 to 20.' });
    expect(policyOf({ ...f, approvals: '1.5' })).toEqual({ error: 'Approvals required: a whole number from 0 to 20.' });
    expect(policyOf({ ...f, approvals: '21' })).toEqual({ error: 'Approvals required: a whole number from 0 to 20.' });
    expect(policyOf({ ...f, suiteRequired: true, suite: ' ' })).toEqual({ error: 'A required test suite needs a name.' });
    expect(policyOf({ ...f, suiteRequired: true, suite: 'r', minPassRate: '150' })).toEqual({
      error: 'The minimum pass rate is a percentage from 0 to 100.',
    });
    expect(policyOf({ ...f, freezes: [{ from: '2026-12-20T00:00', to: '', reason: '' }] })).toEqual({
      error: 'Freeze window 1: give when it starts and when it ends.',
    });
    expect(policyOf({ ...f, freezes: [{ from: '2026-12-20T00:00', to: '2026-12-19T00:00', reason: '' }] })).toEqual({
      error: 'Freeze window 1 ends before it starts.',
    });
  });

  it('sums a policy up in a line', () => {
    expect(policySummary(production)).toBe('1 approval · changelog · releaser or above promotes · releaser or above rolls back');
    expect(
      policySummary({
        ...production,
        required_approvals: 2,
        required_suite: { suite: 'regression', min_pass_rate: 1, no_regressions: true },
        freeze_windows: [{ from: 'a', to: 'b', reason: '' }],
      }),
    ).toBe(
      '2 approvals · changelog · releaser or above promotes · releaser or above rolls back · suite regression ≥ 100%, no regressions · 1 freeze window',
    );
  });

  it('checks label names', () => {
    expect(labelProblem('staging')).toBeNull();
    expect(labelProblem('')).toMatch(/name it/);
    expect(labelProblem('latest')).toMatch(/no policy/);
    expect(labelProblem('Prod!')).toMatch(/a–z/);
  });
});

describe('incident routes', () => {
  it('reads the incident views from the address', () => {
    expect(viewFromHash('#/incidents')).toEqual({ kind: 'incidents', all: false });
    expect(viewFromHash('#/incidents/all')).toEqual({ kind: 'incidents', all: true });
    expect(viewFromHash('#/incident/5cfbcddf-840f')).toEqual({ kind: 'incident', id: '5cfbcddf-840f' });
    expect(viewFromHash('#/postmortem/5cfbcddf')).toEqual({ kind: 'postmortem', id: '5cfbcddf' });
    expect(viewFromHash('#/postmortem/ab')).toEqual({ kind: 'home' });
  });
});
