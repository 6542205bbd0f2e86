// Incidents, postmortems, open action items and the release policy editor, against a scripted
// backend.
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import type {
  AppInfo,
  Case,
  Condition,
  Incident,
  IncidentDetail,
  KeyStatus,
  OpenAction,
  Policy,
  PolicyOfLabel,
  Postmortem,
  Release,
  RollbackCheck,
  TimelineEntry,
  Variable,
  VersionDiff,
} from '../../api/generated';
import type { Call } from '../../api/client';
import { ApiContext } from '../context';
import { IncidentList } from './IncidentList';
import { IncidentPage } from './IncidentPage';
import { OpenIncidentDialog } from './OpenIncidentDialog';
import { PostmortemEditor, UNSAVED_MESSAGE } from './Postmortem';
import { OpenActions } from '../Home';
import { PolicyDialog, ReleasePolicies } from '../releases/Policies';
import { Releases } from '../releases/Releases';
import { LeaveGuardContext } from '../editor/unsavedChanges';
import { App } from '../../App';

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

const withApi = (call: Call, children: ReactNode, refresh: () => void = () => undefined) => (
  <ApiContext.Provider value={{ call, transport: 'web', refresh }}>{children}</ApiContext.Provider>
);

const ID = '5cfbcddf-840f-4aa5-bc52-6fa0eaeb0b5b';
const TITLE = 'Refund replies no longer state the policy';

const incident = (over: Partial<Incident> = {}): Incident => ({
  id: ID,
  title: TITLE,
  severity: 'SEV2',
  status: 'investigating',
  detection: 'user_reports',
  detected_at: '2026-11-21T09:30:00.000Z',
  prompt: 'support/refund-reply',
  label: 'production',
  suspected_release: 'rel4',
  rollback_release: null,
  notes: 'Three tickets in an hour',
  opened_by: 'rita',
  opened_at: '2026-11-21T09:40:00.000Z',
  mitigated_at: null,
  resolved_at: null,
  updated_at: '2026-11-21T09:40:00.000Z',
  ...over,
});

const release = (over: Partial<Release> = {}): Release => ({
  id: 'rel4',
  prompt: 'support/refund-reply',
  label: 'production',
  kind: 'release',
  from_version: 3,
  from_hash: 'h3',
  to_version: 4,
  to_hash: 'h4',
  changelog: 'Shorter, friendlier refund reply',
  review: 4,
  approvals: ['ben'],
  actor: 'rita',
  actor_role: 'releaser',
  at: '2026-11-21T09:00:00.000Z',
  bundle: null,
  pushed_by: null,
  ...over,
});

const rollbackRelease = release({
  id: 'rb1',
  kind: 'rollback',
  from_version: 4,
  from_hash: 'h4',
  to_version: 3,
  to_hash: 'h3',
  changelog: `incident 5cfbcddf: ${TITLE}`,
  review: null,
  approvals: [],
  at: '2026-11-21T09:45:00.000Z',
});

const entry = (kind: string, text: string, seq: number | null, actor = 'rita'): TimelineEntry => ({
  at: '2026-11-21T09:00:00.000Z',
  kind,
  actor,
  text,
  ledger_seq: seq,
});

const timeline: TimelineEntry[] = [
  entry('version.created', 'version 4 saved: Shorter, friendlier reply', 15, 'ana'),
  entry('review.approve', 'review #4 approved', 37, 'ben'),
  entry('release.recorded', 'released version 4 to production (was 3): Shorter, friendlier refund reply', 39),
  entry('incident.opened', `incident opened (SEV2): ${TITLE}`, 41),
];

const detail = (over: Partial<IncidentDetail> = {}): IncidentDetail => ({
  incident: incident(),
  suspected: release(),
  rollback: null,
  serving: 4,
  rollback_to: 3,
  blast_radius: { labels: ['production', 'staging'], included_by: ['support/escalation'] },
  timeline,
  has_postmortem: false,
  ...over,
});

const rolledBack = (): IncidentDetail =>
  detail({
    incident: incident({ status: 'mitigated', rollback_release: 'rb1', mitigated_at: '2026-11-21T09:45:00.000Z' }),
    rollback: rollbackRelease,
    serving: 3,
    rollback_to: null,
    blast_radius: { labels: ['staging'], included_by: [] },
    timeline: [...timeline, entry('rollback.recorded', 'rolled production back to version 3 (from 4): why', 42)],
  });

const versionDiff: VersionDiff = {
  kind: null,
  template: null,
  messages: [],
  variables: [],
  model: [],
  includes: [{ include: 'policies/refunds', status: 'removed', old_hash: '3e1fe18456aa', new_hash: null }],
  rendered: null,
  coarse: false,
};
const diffResult = { old_label: 'support/refund-reply@3', new_label: 'support/refund-reply@4', diff: versionDiff, render_error: null };

const info: AppInfo = {
  name: 'Promptdesk',
  version: '0',
  content_format: '1',
  registry_path: '/r.db',
  actor: 'rita',
  identity: null,
  role: 'releaser',
};

const cond = (code: string, met: boolean, message: string): Condition => ({ code, met, message });
const check = (conditions: Condition[]): RollbackCheck => ({
  from: 4,
  to: 3,
  to_hash: 'h3',
  decision: { allowed: conditions.every((c) => c.met), conditions, counted_approvals: [] },
});

describe('the incident list', () => {
  it('shows open incidents by default with severity and status, all on request, and opens one', async () => {
    const b = backend({
      list_incidents: (req) =>
        req.all ? [incident({ status: 'mitigated' }), incident({ id: 'older-1234', title: 'Old one', severity: 'SEV4', status: 'resolved' })] : [incident({ status: 'mitigated' })],
    });
    const onOpen = vi.fn();
    const onAll = vi.fn();
    const { rerender } = render(withApi(b.call, <IncidentList all={false} onAll={onAll} onOpen={onOpen} refreshKey={0} />));
    const table = await screen.findByRole('table', { name: 'Incidents' });
    expect(b.requests('list_incidents')).toEqual([{ all: false }]);
    expect(within(table).getAllByRole('row')).toHaveLength(2);
    expect(within(table).getByText('SEV2').className).toContain('sev--sev2');
    expect(within(table).getByText('mitigated').className).toContain('incident-status--mitigated');
    fireEvent.click(screen.getByRole('button', { name: 'All' }));
    expect(onAll).toHaveBeenCalledWith(true);
    rerender(withApi(b.call, <IncidentList all onAll={onAll} onOpen={onOpen} refreshKey={0} />));
    await within(table).findByText('Old one');
    expect(b.requests('list_incidents')).toEqual([{ all: false }, { all: true }]);
    fireEvent.click(within(table).getByRole('button', { name: `Incident 5cfbcddf: ${TITLE}` }));
    expect(onOpen).toHaveBeenCalledWith(ID);
  });

  it('says when nothing is open', async () => {
    const b = backend({ list_incidents: () => [] });
    render(withApi(b.call, <IncidentList all={false} onAll={() => undefined} onOpen={() => undefined} refreshKey={0} />));
    await screen.findByText('No open incidents.');
  });
});

describe('opening an incident', () => {
  const releases = {
    serving: [],
    releases: [
      rollbackRelease,
      release(),
      release({ id: 'rel3', from_version: 2, to_version: 3, changelog: 'Weekly release', actor: 'cho' }),
    ],
  };
  const handlers = (): Record<string, Handler> => ({
    list_prompts: () => [{ name: 'support/refund-reply' }, { name: 'support/triage' }],
    list_releases: () => releases,
    open_incident: (req) => detail({ incident: incident({ id: 'new-incident-1', title: String(req.title) }) }),
  });

  it('pre-fills the prompt, the label and the release it was opened on; offers releases, not rollbacks', async () => {
    const b = backend(handlers());
    const onOpened = vi.fn();
    render(withApi(b.call, <OpenIncidentDialog init={{ prompt: 'support/refund-reply', label: 'production', suspectedRelease: 'rel3' }} onClose={() => undefined} onOpened={onOpened} />));
    const dialog = screen.getByRole('dialog', { name: 'Open an incident' });
    const suspect = within(dialog).getByRole('combobox', { name: 'Suspected release' }) as HTMLSelectElement;
    await waitFor(() => expect(suspect.options).toHaveLength(2));
    expect([...suspect.options].map((o) => o.textContent)).toEqual([
      expect.stringMatching(/^v3 → v4 by rita, .* — Shorter, friendlier refund reply$/),
      expect.stringMatching(/^v2 → v3 by cho, .* — Weekly release$/),
    ]);
    expect(suspect.value).toBe('rel3');
    expect(b.requests('list_releases')).toContainEqual({ name: 'support/refund-reply', label: 'production' });

    const submit = within(dialog).getByRole('button', { name: 'Open incident' }) as HTMLButtonElement;
    expect(submit.disabled).toBe(true);
    expect(within(dialog).getByText('Say what is wrong, in a line.')).toBeTruthy();
    fireEvent.change(within(dialog).getByLabelText('Title'), { target: { value: TITLE } });
    fireEvent.change(within(dialog).getByRole('combobox', { name: 'Severity' }), { target: { value: 'SEV1' } });
    fireEvent.change(within(dialog).getByRole('combobox', { name: 'Detected through' }), { target: { value: 'monitoring' } });
    fireEvent.change(within(dialog).getByLabelText('Detected at (optional)'), { target: { value: '2026-11-21T09:30' } });
    fireEvent.change(suspect, { target: { value: 'rel4' } });
    fireEvent.change(within(dialog).getByLabelText('Notes'), { target: { value: ' tickets ' } });
    expect(submit.disabled).toBe(false);
    fireEvent.click(submit);
    await waitFor(() => expect(onOpened).toHaveBeenCalled());
    expect(b.requests('open_incident')).toEqual([
      {
        title: TITLE,
        severity: 'SEV1',
        detection: 'monitoring',
        detected_at: new Date(2026, 10, 21, 9, 30).toISOString(),
        prompt: 'support/refund-reply',
        label: 'production',
        suspected_release: 'rel4',
        notes: 'tickets',
      },
    ]);
    expect(onOpened.mock.calls[0]![0].incident.id).toBe('new-incident-1');
  });

  it('shows what the backend refuses, keeping what was typed', async () => {
    const b = backend({
      ...handlers(),
      open_incident: () => {
        throw { kind: 'not_found', message: 'support/refund-reply has no release zzz to production', details: null };
      },
    });
    render(withApi(b.call, <OpenIncidentDialog onClose={() => undefined} onOpened={() => undefined} />));
    const dialog = screen.getByRole('dialog', { name: 'Open an incident' });
    fireEvent.change(within(dialog).getByLabelText('Title'), { target: { value: TITLE } });
    fireEvent.change(within(dialog).getByLabelText('Prompt'), { target: { value: 'support/refund-reply' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Open incident' }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe('support/refund-reply has no release zzz to production');
    expect((within(dialog).getByLabelText('Title') as HTMLInputElement).value).toBe(TITLE);
  });

  it('opens from the Releases tab on what a label serves, or on any release in the timeline', async () => {
    const serving = [{ name: 'production', number: 4, hash: 'h4', moved_at: '2026-11-21T09:00:00Z', moved_by: 'rita' }];
    const b = backend({
      ...handlers(),
      list_releases: () => ({ serving, releases: releases.releases }),
      check_rollback: () => check([cond('role', true, 'ok')]),
    });
    const onIncidentOpened = vi.fn();
    render(withApi(b.call, <Releases name="support/refund-reply" refreshKey={0} onIncidentOpened={onIncidentOpened} />));
    fireEvent.click(await screen.findByRole('button', { name: 'Open incident on production v4…' }));
    let dialog = screen.getByRole('dialog', { name: 'Open an incident' });
    expect((within(dialog).getByLabelText('Prompt') as HTMLInputElement).value).toBe('support/refund-reply');
    await waitFor(() => expect((within(dialog).getByRole('combobox', { name: 'Suspected release' }) as HTMLSelectElement).value).toBe('rel4'));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));

    // The timeline: only releases (not rollbacks) offer it.
    const list = screen.getByRole('list', { name: 'Release timeline' });
    expect(within(list).getAllByRole('button', { name: /^Open incident on this release/ })).toHaveLength(2);
    fireEvent.click(within(list).getByRole('button', { name: 'Open incident on this release (production v2 → v3)…' }));
    dialog = screen.getByRole('dialog', { name: 'Open an incident' });
    await waitFor(() => expect((within(dialog).getByRole('combobox', { name: 'Suspected release' }) as HTMLSelectElement).value).toBe('rel3'));
    fireEvent.change(within(dialog).getByLabelText('Title'), { target: { value: 'Old problem' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Open incident' }));
    await waitFor(() => expect(onIncidentOpened).toHaveBeenCalledWith('new-incident-1'));
    expect(b.requests('open_incident')[0]).toMatchObject({ suspected_release: 'rel3', label: 'production' });
  });
});

describe('the incident page', () => {
  const page = (handlers: Record<string, Handler>) => {
    const b = backend({
      incident_detail: () => detail(),
      diff_versions: () => diffResult,
      check_rollback: () => check([cond('role', true, 'rita (releaser) may roll back production'), cond('reason', true, 'a reason is given')]),
      ...handlers,
    });
    const onOpenPostmortem = vi.fn();
    const refresh = vi.fn();
    render(withApi(b.call, <IncidentPage id={ID} info={info} refreshKey={0} onOpenPostmortem={onOpenPostmortem} onOpenReleases={() => undefined} />, refresh));
    return { b, onOpenPostmortem, refresh };
  };

  it('shows the suspected release, what the label serves, the blast radius, the change and the timeline', async () => {
    const { b, onOpenPostmortem } = page({});
    await screen.findByRole('heading', { name: new RegExp(TITLE) });
    const suspected = screen.getByRole('region', { name: 'Suspected release' });
    expect(suspected.textContent).toMatch(/v4 \(replaced v3\)/);
    expect(suspected.textContent).toMatch(/rita \(releaser\)/);
    expect(suspected.textContent).toContain('Shorter, friendlier refund reply');
    expect(suspected.textContent).toContain('ben');
    expect(screen.getByRole('region', { name: 'Serving now' }).textContent).toContain('production v4');
    const blast = screen.getByRole('region', { name: 'Blast radius' });
    expect([...blast.querySelectorAll('.badge')].map((x) => x.getAttribute('data-label'))).toEqual(['production', 'staging']);
    expect(within(blast).getByRole('list', { name: 'Included by' }).textContent).toBe('support/escalation');
    const change = await screen.findByRole('region', { name: 'What the suspected release changed (v3 → v4)' });
    await within(change).findByText('policies/refunds');
    expect(b.requests('diff_versions')).toEqual([{ name: 'support/refund-reply', old: '3', new: '4' }]);
    const items = within(screen.getByRole('list', { name: 'Incident timeline' })).getAllByRole('listitem');
    expect(items.map((li) => li.querySelector('.kindtag')!.textContent)).toEqual(['version', 'approval', 'release', 'incident']);
    expect(items[2]!.textContent).toMatch(/ledger #39/);
    expect((screen.getByRole('button', { name: 'Roll back production to v3' }) as HTMLButtonElement).disabled).toBe(false);
    fireEvent.click(screen.getByRole('button', { name: 'Write the postmortem' }));
    expect(onOpenPostmortem).toHaveBeenCalledWith(ID);
  });

  it('rolls back from the incident with the pre-filled reason, then shows the rollback and disables the button', async () => {
    let rolled = false;
    const { b, refresh } = page({
      incident_detail: () => (rolled ? rolledBack() : detail()),
      incident_rollback: () => {
        rolled = true;
        return { incident: rolledBack().incident, release: rollbackRelease };
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Roll back production to v3' }));
    const dialog = screen.getByRole('dialog', { name: 'Roll back production to v3' });
    const reason = within(dialog).getByLabelText('Reason') as HTMLTextAreaElement;
    expect(reason.value).toBe(`incident 5cfbcddf: ${TITLE}`);
    expect(dialog.textContent).toMatch(/production goes from v4 back to v3/);
    await within(dialog).findByText('rita (releaser) may roll back production');
    expect(b.requests('check_rollback')[0]).toEqual({ name: 'support/refund-reply', label: 'production', reason: reason.value });
    const go = within(dialog).getByRole('button', { name: 'Roll back' }) as HTMLButtonElement;
    await waitFor(() => expect(go.disabled).toBe(false));
    fireEvent.change(reason, { target: { value: 'Refund policy missing from replies' } });
    await waitFor(() => expect(b.requests('check_rollback').at(-1)).toMatchObject({ reason: 'Refund policy missing from replies' }));
    await waitFor(() => expect(go.disabled).toBe(false));
    fireEvent.click(go);
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'Roll back production to v3' })).toBeNull());
    expect(b.requests('incident_rollback')).toEqual([{ id: ID, reason: 'Refund policy missing from replies' }]);
    expect(refresh).toHaveBeenCalled();
    await screen.findByText('Rolled back: production serves v3 again.');
    const done = await screen.findByRole('group', { name: 'Rollback taken' });
    expect(done.textContent).toMatch(/v4 → v3 by rita/);
    const button = screen.getByRole('button', { name: 'Roll back production' }) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    expect(document.getElementById(button.getAttribute('aria-describedby')!)!.textContent).toBe(
      'Rolled back already: production went back to v3 (rita).',
    );
    await screen.findByRole('region', { name: 'What v4 changed against v3, restored now' });
  });

  it('keeps "Roll back" disabled when the policy refuses the person, and shows the backend’s refusal', async () => {
    page({
      check_rollback: () => check([cond('role', false, 'ana is an editor; only a releaser or above may roll back production')]),
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Roll back production to v3' }));
    const dialog = screen.getByRole('dialog', { name: 'Roll back production to v3' });
    await waitFor(() =>
      expect(within(dialog).getByRole('list', { name: 'Why the rollback is disabled' }).textContent).toContain(
        'ana is an editor; only a releaser or above may roll back production',
      ),
    );
    expect(within(dialog).getByRole('list', { name: 'Rollback checklist' }).textContent).toContain('not met: ana is an editor');
    expect((within(dialog).getByRole('button', { name: 'Roll back' }) as HTMLButtonElement).disabled).toBe(true);
    cleanup();

    // The backend decides in the end: its refusal is shown in the dialog.
    page({
      incident_rollback: () => {
        throw { kind: 'policy_refused', message: 'ana is an editor; only a releaser or above may roll back production', details: null };
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Roll back production to v3' }));
    const again = screen.getByRole('dialog', { name: 'Roll back production to v3' });
    const go = within(again).getByRole('button', { name: 'Roll back' }) as HTMLButtonElement;
    await waitFor(() => expect(go.disabled).toBe(false));
    fireEvent.click(go);
    expect((await within(again).findByRole('alert')).textContent).toBe('ana is an editor; only a releaser or above may roll back production');
  });

  it('says why there is no rollback when the label moved since', async () => {
    page({ incident_detail: () => detail({ serving: 5, rollback_to: null }) });
    const button = (await screen.findByRole('button', { name: 'Roll back production' })) as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    expect(document.getElementById(button.getAttribute('aria-describedby')!)!.textContent).toMatch(
      /^production no longer serves the suspected release \(v4\); it serves v5\./,
    );
  });

  it('changes status and severity, resolves, and saves notes', async () => {
    let current = detail();
    const { b } = page({
      incident_detail: () => current,
      update_incident: (req) => {
        const c = req.change as Record<string, string | null>;
        current = detail({ incident: incident({ ...current.incident, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== null)) }) });
        return current;
      },
    });
    fireEvent.change(await screen.findByRole('combobox', { name: 'Severity' }), { target: { value: 'SEV1' } });
    await screen.findByText('Severity is SEV1 now.');
    fireEvent.change(screen.getByRole('combobox', { name: 'Status' }), { target: { value: 'mitigated' } });
    await screen.findByText('Status is mitigated now.');
    const notes = screen.getByLabelText('Incident notes') as HTMLTextAreaElement;
    expect(notes.value).toBe('Three tickets in an hour');
    fireEvent.change(notes, { target: { value: 'Three tickets; support has a macro now' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save notes' }));
    await screen.findByText('Notes saved.');
    fireEvent.click(screen.getByRole('button', { name: 'Resolve' }));
    await screen.findByText('Resolved.');
    expect((screen.getByRole('button', { name: 'Resolve' }) as HTMLButtonElement).disabled).toBe(true);
    const nulls = { title: null, severity: null, status: null, notes: null, suspected_release: null };
    expect(b.requests('update_incident')).toEqual([
      { id: ID, change: { ...nulls, severity: 'SEV1' } },
      { id: ID, change: { ...nulls, status: 'mitigated' } },
      { id: ID, change: { ...nulls, notes: 'Three tickets; support has a macro now' } },
      { id: ID, change: { ...nulls, status: 'resolved' } },
    ]);
  });

  it('adds a note to the timeline, at a time given or now', async () => {
    const { b } = page({
      add_incident_note: (req) => detail({ timeline: [...timeline, entry('note', String(req.text), null)] }),
    });
    const form = await screen.findByRole('form', { name: 'Add a note to the timeline' });
    const add = within(form).getByRole('button', { name: 'Add note' }) as HTMLButtonElement;
    expect(add.disabled).toBe(true);
    fireEvent.change(within(form).getByLabelText('Note'), { target: { value: 'Support confirms it stopped' } });
    fireEvent.change(within(form).getByLabelText('When (optional)'), { target: { value: '2026-11-21T10:05' } });
    fireEvent.click(add);
    const list = screen.getByRole('list', { name: 'Incident timeline' });
    await within(list).findByText('Support confirms it stopped');
    expect(b.requests('add_incident_note')).toEqual([{ id: ID, text: 'Support confirms it stopped', at: new Date(2026, 10, 21, 10, 5).toISOString() }]);
    expect((within(form).getByLabelText('Note') as HTMLTextAreaElement).value).toBe('');
    fireEvent.change(within(form).getByLabelText('Note'), { target: { value: 'Now' } });
    fireEvent.click(add);
    await waitFor(() => expect(b.requests('add_incident_note')).toHaveLength(2));
    expect(b.requests('add_incident_note')[1]).toEqual({ id: ID, text: 'Now' });
  });
});

const declared: Variable[] = [
  { name: 'customer_name', type: 'string', required: true, default: null, description: null },
  { name: 'days', type: 'number', required: true, default: null, description: null },
];

const regressionCase: Case = {
  id: 'c4',
  position: 4,
  description: 'incident input',
  vars: { customer_name: 'Noor', days: 7 },
  expected: null,
  assertions: [{ type: 'icontains', value: 'within 30 days' }],
  tags: ['regression'],
  origin: `postmortem:${ID}`,
  updated_by: 'rita',
  updated_at: '2026-11-21T10:00:00Z',
};

const postmortem = (over: Partial<Postmortem> = {}): Postmortem => ({
  incident: rolledBack().incident,
  doc: { summary: '', root_cause: '', impact: '', went_well: '', went_badly: '', learning: '', actions: [] },
  saved: false,
  updated_by: null,
  updated_at: null,
  timeline: rolledBack().timeline,
  bad_version: 4,
  good_version: 3,
  diff: versionDiff,
  minutes_to_mitigate: 15,
  minutes_to_resolve: null,
  regression_cases: [],
  ...over,
});

describe('the postmortem editor', () => {
  const editor = (handlers: Record<string, Handler> = {}, guard = vi.fn()) => {
    let current = postmortem();
    const b = backend({
      get_postmortem: () => current,
      save_postmortem: (req) => {
        // As the backend does: action items get ids.
        const doc = req.doc as Postmortem['doc'];
        current = postmortem({
          doc: { ...doc, actions: doc.actions.map((a, i) => ({ ...a, id: a.id || `a${i}` })) },
          saved: true,
          updated_by: 'rita',
          updated_at: new Date().toISOString(),
        });
        return current;
      },
      get_version: () => ({ content: { variables: declared } }),
      list_suites: () => [{ name: 'regression' }, { name: 'smoke' }],
      parse_assertion: (req) => {
        const m = /^icontains: (.*)$/.exec(String(req.text));
        if (!m) throw { kind: 'bad_input', message: 'unknown assertion type', details: null };
        return { type: 'icontains', value: m[1] };
      },
      add_regression_cases: () => {
        current = { ...current, regression_cases: [regressionCase] };
        return [regressionCase];
      },
      ...handlers,
    });
    const onOpenIncident = vi.fn();
    render(
      withApi(
        b.call,
        <LeaveGuardContext.Provider value={guard}>
          <PostmortemEditor id={ID} refreshKey={0} onOpenIncident={onOpenIncident} />
        </LeaveGuardContext.Provider>,
      ),
    );
    return { b, guard, onOpenIncident };
  };

  it('shows the registry’s side read-only: durations, timeline and the root-cause diff', async () => {
    const { onOpenIncident } = editor();
    await screen.findByRole('heading', { name: new RegExp(`^Postmortem: ${TITLE}`) });
    const facts = screen.getByRole('region', { name: 'Facts from the registry' });
    expect(facts.textContent).toMatch(/Bad versionv4/);
    expect(facts.textContent).toMatch(/Restored versionv3/);
    expect(facts.textContent).toMatch(/Detected → mitigated15 min/);
    expect(facts.textContent).toMatch(/Opened → resolvednot yet/);
    expect(within(screen.getByRole('list', { name: 'Postmortem timeline' })).getAllByRole('listitem')).toHaveLength(5);
    within(screen.getByRole('region', { name: 'Root-cause diff (v3 → v4)' })).getByText('policies/refunds');
    expect(screen.getByRole('status', { name: 'Save state' }).textContent).toBe('Not saved yet');
    expect((screen.getByRole('button', { name: 'Save postmortem' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Back to the incident' }));
    expect(onOpenIncident).toHaveBeenCalledWith(ID);
  });

  it('saves the sections and corrective actions only when asked, guarding unsaved changes meanwhile', async () => {
    const { b, guard } = editor();
    const summary = (await screen.findByRole('textbox', { name: 'Summary' })) as HTMLTextAreaElement;
    expect(guard).toHaveBeenLastCalledWith(null);
    fireEvent.change(summary, { target: { value: 'v4 dropped the refund policy.' } });
    fireEvent.change(screen.getByRole('textbox', { name: 'Root cause' }), { target: { value: 'The include was removed.' } });
    fireEvent.change(screen.getByRole('textbox', { name: 'Preventive learning' }), { target: { value: 'A regression case.' } });
    expect(screen.getByRole('status', { name: 'Save state' }).textContent).toBe('Unsaved changes');
    expect(guard).toHaveBeenLastCalledWith(UNSAVED_MESSAGE);

    // An action needs its text before anything can be saved.
    fireEvent.click(screen.getByRole('button', { name: 'Add action' }));
    const save = screen.getByRole('button', { name: 'Save postmortem' }) as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    expect(document.getElementById('pm-problem')!.textContent).toBe('Action 1: say what is to be done.');
    fireEvent.change(screen.getByRole('textbox', { name: 'Action 1' }), { target: { value: 'Gate production on the suite' } });
    fireEvent.change(screen.getByLabelText('Owner of action 1'), { target: { value: 'cho' } });
    fireEvent.change(screen.getByLabelText('Due date of action 1'), { target: { value: '2026-12-01' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add action' }));
    fireEvent.change(screen.getByRole('textbox', { name: 'Action 2' }), { target: { value: 'Dropped idea' } });
    fireEvent.click(screen.getByRole('button', { name: 'Remove action 2' }));
    fireEvent.change(screen.getByRole('combobox', { name: 'Status of action 1' }), { target: { value: 'done' } });
    expect(save.disabled).toBe(false);
    fireEvent.click(save);
    await screen.findByText('Postmortem saved.');
    expect(b.requests('save_postmortem')).toEqual([
      {
        id: ID,
        doc: {
          summary: 'v4 dropped the refund policy.',
          root_cause: 'The include was removed.',
          impact: '',
          went_well: '',
          went_badly: '',
          learning: 'A regression case.',
          actions: [{ id: '', text: 'Gate production on the suite', owner: 'cho', due: '2026-12-01', status: 'done' }],
        },
      },
    ]);
    expect(screen.getByRole('status', { name: 'Save state' }).textContent).toMatch(/^Saved by rita/);
    expect(save.disabled).toBe(true);
    expect(guard).toHaveBeenLastCalledWith(null);
  });

  it('adds the failing input as a regression case with the prompt’s variables, typed, keeping what is being written', async () => {
    const { b } = editor();
    const summary = (await screen.findByRole('textbox', { name: 'Summary' })) as HTMLTextAreaElement;
    fireEvent.change(summary, { target: { value: 'Being written' } });
    await waitFor(() => expect(b.requests('get_version')).toEqual([{ name: 'support/refund-reply', reference: '4' }]));
    fireEvent.click(screen.getByRole('button', { name: 'Add as regression case…' }));
    const dialog = screen.getByRole('dialog', { name: 'Add as regression case' });
    expect((within(dialog).getByLabelText('Suite') as HTMLInputElement).value).toBe('regression');
    const add = within(dialog).getByRole('button', { name: 'Add regression case' }) as HTMLButtonElement;
    expect(add.disabled).toBe(true);
    fireEvent.change(within(dialog).getByLabelText('Description'), { target: { value: 'incident input' } });
    fireEvent.change(within(dialog).getByLabelText('Value of customer_name'), { target: { value: 'Noor' } });
    fireEvent.change(within(dialog).getByLabelText('Value of days'), { target: { value: 'seven' } });
    await within(dialog).findByText('days must be a number (got “seven”)');
    fireEvent.change(within(dialog).getByLabelText('Value of days'), { target: { value: '7' } });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Assertion 1' }), { target: { value: 'icontains: within 30 days' } });
    await waitFor(() => expect(add.disabled).toBe(false));
    fireEvent.click(add);
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'Add as regression case' })).toBeNull());
    expect(b.requests('add_regression_cases')).toEqual([
      {
        id: ID,
        suite: 'regression',
        cases: [
          {
            description: 'incident input',
            vars: { customer_name: 'Noor', days: 7 },
            expected: null,
            assertions: [{ type: 'icontains', value: 'within 30 days' }],
            tags: [],
          },
        ],
      },
    ]);
    const list = await screen.findByRole('list', { name: 'Regression cases added' });
    expect(list.textContent).toMatch(/#4 incident input.*customer_name=Noor, days=7.*icontains: within 30 days/);
    await screen.findByText('Added 1 regression case to regression.');
    expect(summary.value).toBe('Being written');
  });

  it('exports the Markdown to read, download (a Blob link named as the backend says) and copy', async () => {
    // jsdom has no object URLs: these stand in for the browser's (and are put back after).
    const createObjectURL = vi.fn(() => 'blob:promptdesk/1');
    const revokeObjectURL = vi.fn();
    const original = { createObjectURL: URL.createObjectURL, revokeObjectURL: URL.revokeObjectURL };
    Object.assign(URL, { createObjectURL, revokeObjectURL });
    onTestFinished(() => void Object.assign(URL, original));
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const markdown = '# Postmortem: x\n\n## Timeline\n\n| When (UTC) | Who | What |\n';
    const { b } = editor({ export_postmortem: () => ({ file_name: 'postmortem-5cfbcddf.md', markdown }) });
    fireEvent.change(await screen.findByRole('textbox', { name: 'Summary' }), { target: { value: 'unsaved' } });
    fireEvent.click(screen.getByRole('button', { name: 'Export Markdown…' }));
    const dialog = screen.getByRole('dialog', { name: 'Postmortem as Markdown' });
    const text = (await within(dialog).findByRole('textbox', { name: 'Markdown' })) as HTMLTextAreaElement;
    expect(text.value).toBe(markdown);
    expect(text.readOnly).toBe(true);
    expect(b.requests('export_postmortem')).toEqual([{ id: ID }]);
    expect(within(dialog).getByText(/your unsaved changes are not in it/)).toBeTruthy();
    const link = await within(dialog).findByRole('link', { name: 'Download postmortem-5cfbcddf.md' });
    expect(link.getAttribute('href')).toBe('blob:promptdesk/1');
    expect(link.getAttribute('download')).toBe('postmortem-5cfbcddf.md');
    const blob = (createObjectURL.mock.calls[0] as unknown as [Blob])[0];
    expect(await blob.text()).toBe(markdown);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Copy' }));
    await within(dialog).findByText('Copied to the clipboard.');
    expect(writeText).toHaveBeenCalledWith(markdown);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Close' }));
    expect(revokeObjectURL).toHaveBeenCalledWith('blob:promptdesk/1');
  });
});

describe('leaving a postmortem with unsaved changes', () => {
  const keys: KeyStatus = {
    ok: true,
    message: 'ok',
    key_id: 'k',
    store: 'plain files',
    store_kind: 'files',
    decided_by: 'chosen',
    files_dir: '/k',
    choice_remembered: false,
  };

  it('asks before the app navigates away: stay keeps the text, leave goes', async () => {
    const b = backend({
      app_info: () => info,
      check_signing_key: () => keys,
      list_policies: () => [],
      list_reviews: () => [],
      list_prompts: () => [],
      list_incidents: () => [incident()],
      get_postmortem: () => postmortem(),
      get_version: () => ({ content: { variables: declared } }),
      list_suites: () => [],
    });
    window.location.hash = `#/postmortem/${ID}`;
    render(<App call={b.call} transport="web" />);
    const summary = (await screen.findByRole('textbox', { name: 'Summary' })) as HTMLTextAreaElement;
    fireEvent.change(summary, { target: { value: 'half written' } });
    fireEvent.click(screen.getByRole('button', { name: 'Incidents, 1 open' }));
    const ask = screen.getByRole('dialog', { name: 'Leave without saving?' });
    expect(ask.textContent).toContain(UNSAVED_MESSAGE);
    fireEvent.click(within(ask).getByRole('button', { name: 'Stay' }));
    expect(screen.queryByRole('dialog', { name: 'Leave without saving?' })).toBeNull();
    expect(summary.value).toBe('half written');
    expect(window.location.hash).toBe(`#/postmortem/${ID}`);

    // The browser asks too before the page goes.
    const unload = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(unload);
    expect(unload.defaultPrevented).toBe(true);

    fireEvent.click(screen.getByRole('button', { name: 'Promptdesk' }));
    fireEvent.click(within(screen.getByRole('dialog', { name: 'Leave without saving?' })).getByRole('button', { name: 'Leave without saving' }));
    await screen.findByRole('heading', { name: 'Open a prompt' });
    expect(window.location.hash).toBe('#/');
    const after = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(after);
    expect(after.defaultPrevented).toBe(false);
  });
});

describe('open action items', () => {
  it('lists them with the overdue ones marked, each linking to its postmortem', async () => {
    const action = (over: Partial<OpenAction['action']>, overdue: boolean, incidentId = ID): OpenAction => ({
      incident: incidentId,
      incident_title: incidentId === ID ? TITLE : 'Triage misroutes',
      severity: incidentId === ID ? 'SEV2' : 'SEV3',
      action: { id: 'a', text: 'x', owner: '', due: '', status: 'open', ...over },
      overdue,
    });
    const b = backend({
      open_actions: () => [
        action({ id: 'a1', text: 'Gate production on the suite', owner: 'cho', due: '2020-01-15' }, true),
        action({ id: 'a2', text: 'Add a triage case', owner: '', due: '' }, false, 'other-incident'),
      ],
    });
    const onOpen = vi.fn();
    render(withApi(b.call, <OpenActions refreshKey={0} onOpen={onOpen} />));
    const list = await screen.findByRole('list', { name: 'Open action items' });
    const [first, second] = within(list).getAllByRole('listitem');
    expect(first!.textContent).toMatch(/^overdue Gate production on the suite · cho · due 2020-01-15 \(\d+ days overdue\)/);
    expect(first!.className).toBe('is-overdue');
    expect(second!.textContent).toMatch(/Add a triage case · no owner · no due date/);
    expect(within(second!).queryByText('overdue')).toBeNull();
    expect(screen.getByRole('heading', { name: /Open action items/ }).textContent).toBe('Open action items 2, 1 overdue');
    fireEvent.click(within(second!).getByRole('button', { name: 'Postmortem: Triage misroutes' }));
    expect(onOpen).toHaveBeenCalledWith('other-incident');
  });

  it('says when there are none', async () => {
    render(withApi(backend({ open_actions: () => [] }).call, <OpenActions refreshKey={0} onOpen={() => undefined} />));
    await screen.findByText('No open corrective actions from postmortems.');
  });
});

const productionPolicy: Policy = {
  required_approvals: 1,
  changelog_required: true,
  required_suite: null,
  promote_role: 'releaser',
  rollback_role: 'releaser',
  rollback_needs_approvals: false,
  freeze_windows: [],
};

describe('the release policy editor', () => {
  const policies: PolicyOfLabel[] = [{ label: 'production', policy: productionPolicy, protected: true }];

  it('lists the policies and edits production’s test suite requirement', async () => {
    const refresh = vi.fn();
    const b = backend({
      list_policies: () => policies,
      app_info: () => ({ ...info, actor: 'cho', role: 'admin' }),
      set_policy: (req) => ({ label: req.label, policy: req.policy, protected: true }),
    });
    render(withApi(b.call, <ReleasePolicies />, refresh));
    const table = await screen.findByRole('table', { name: 'Release policies' });
    expect(table.textContent).toContain('1 approval · changelog · releaser or above promotes · releaser or above rolls back');
    await waitFor(() => expect(b.requests('app_info')).toHaveLength(1));
    expect(screen.queryByText(/Only admins may change release policies/)).toBeNull();
    fireEvent.click(within(table).getByRole('button', { name: 'Edit the policy of production' }));
    const dialog = screen.getByRole('dialog', { name: 'Release policy for production' });
    expect((within(dialog).getByLabelText('Approvals required') as HTMLInputElement).value).toBe('1');
    expect((within(dialog).getByLabelText('Changelog required') as HTMLInputElement).checked).toBe(true);
    expect((within(dialog).getByRole('combobox', { name: 'Who may promote' }) as HTMLSelectElement).value).toBe('releaser');
    const suite = within(dialog).getByLabelText('Suite') as HTMLInputElement;
    expect(suite.disabled).toBe(true);
    fireEvent.click(within(dialog).getByLabelText('Require a test suite to pass'));
    expect(suite.disabled).toBe(false);
    expect(suite.value).toBe('regression');
    const rate = within(dialog).getByLabelText('Minimum pass rate (%)');
    fireEvent.change(rate, { target: { value: '150' } });
    const save = within(dialog).getByRole('button', { name: 'Save policy' }) as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    expect(within(dialog).getByText('The minimum pass rate is a percentage from 0 to 100.')).toBeTruthy();
    fireEvent.change(rate, { target: { value: '100' } });
    fireEvent.click(within(dialog).getByLabelText(/^No regressions/));
    fireEvent.change(within(dialog).getByRole('combobox', { name: 'Who may roll back' }), { target: { value: 'editor' } });
    fireEvent.click(save);
    await screen.findByText('Saved the release policy of production.');
    expect(b.requests('set_policy')).toEqual([
      {
        label: 'production',
        policy: {
          ...productionPolicy,
          rollback_role: 'editor',
          required_suite: { suite: 'regression', min_pass_rate: 1, no_regressions: true },
        },
      },
    ]);
    expect(refresh).toHaveBeenCalled();
    expect(table.textContent).toContain('suite regression ≥ 100%, no regressions');
  });

  it('tells a non-admin, and shows the registry’s refusal when they try', async () => {
    const b = backend({
      list_policies: () => policies,
      app_info: () => info,
      set_policy: () => {
        throw { kind: 'policy_refused', message: 'rita is a releaser; only an admin or above may change release policies', details: null };
      },
    });
    render(withApi(b.call, <ReleasePolicies />));
    await screen.findByText(/Only admins may change release policies; you \(rita\) are a releaser\./);
    fireEvent.click(await screen.findByRole('button', { name: 'Edit the policy of production' }));
    const dialog = screen.getByRole('dialog', { name: 'Release policy for production' });
    fireEvent.click(within(dialog).getByLabelText('Require a test suite to pass'));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save policy' }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe('rita is a releaser; only an admin or above may change release policies');
    expect(screen.getByRole('dialog', { name: 'Release policy for production' })).toBeTruthy();
  });

  it('adds a policy for another label, with a freeze window', async () => {
    const b = backend({ set_policy: (req) => ({ label: req.label, policy: req.policy, protected: true }) });
    const onSaved = vi.fn();
    const unprotected: Policy = { ...productionPolicy, required_approvals: 0, changelog_required: false, promote_role: 'editor', rollback_role: 'editor' };
    render(withApi(b.call, <PolicyDialog label={null} policy={unprotected} taken={['production']} onClose={() => undefined} onSaved={onSaved} />));
    const dialog = screen.getByRole('dialog', { name: 'A release policy for a label' });
    const save = within(dialog).getByRole('button', { name: 'Save policy' }) as HTMLButtonElement;
    fireEvent.change(within(dialog).getByLabelText('Label'), { target: { value: 'production' } });
    expect(within(dialog).getByText('production has a policy already: edit it instead.')).toBeTruthy();
    expect(save.disabled).toBe(true);
    fireEvent.change(within(dialog).getByLabelText('Label'), { target: { value: 'staging' } });
    fireEvent.change(within(dialog).getByLabelText('Approvals required'), { target: { value: '2' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Add a freeze window' }));
    fireEvent.change(within(dialog).getByLabelText('Start of freeze window 1'), { target: { value: '2026-12-24T00:00' } });
    expect(save.disabled).toBe(true);
    fireEvent.change(within(dialog).getByLabelText('End of freeze window 1'), { target: { value: '2026-12-27T00:00' } });
    fireEvent.change(within(dialog).getByLabelText('Reason for freeze window 1'), { target: { value: 'holidays' } });
    expect(save.disabled).toBe(false);
    fireEvent.click(save);
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(b.requests('set_policy')).toEqual([
      {
        label: 'staging',
        policy: {
          ...unprotected,
          required_approvals: 2,
          freeze_windows: [
            { from: new Date(2026, 11, 24).toISOString(), to: new Date(2026, 11, 27).toISOString(), reason: 'holidays' },
          ],
        },
      },
    ]);
  });
});
