// Review and sign-off against a scripted backend: the "Signing keys" dialog and its three
// choices, the decision buttons, the rollback checklist and the bundle dialog.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import type { AppInfo, Condition, KeyStatus, Label, Release, Review, ReviewDetail, ReviewEvent, RollbackCheck } from '../../api/generated';
import type { Call } from '../../api/client';
import { ApiContext } from '../context';
import { SigningContext, SigningKeySettings, SigningKeysDialog, type SigningValue } from '../signing';
import { LabelBadge, ProtectedLabelsContext } from '../labels';
import { ReviewPage } from './ReviewPage';
import { LabelRollbackDialog } from '../releases/Releases';
import { ROLLBACK_CHECK_DELAY_MS } from '../rollback';
import { ReviewQueue } from './Reviews';
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

const keyStatus = (over: Partial<KeyStatus> = {}): KeyStatus => ({
  ok: false,
  message: 'the OS keyring is not available (no Secret Service on the session bus)',
  key_id: null,
  store: 'the OS keyring',
  store_kind: 'os',
  decided_by: 'default',
  files_dir: '/home/ana/.local/share/promptdesk/keys',
  choice_remembered: false,
  ...over,
});
const working = keyStatus({ ok: true, message: 'plain files work', key_id: 'ed25519:ab12cd', store: 'plain files in /home/ana/.local/share/promptdesk/keys', store_kind: 'files', decided_by: 'chosen' });

function withApi(call: Call, children: ReactNode, signing: SigningValue | null = null) {
  return (
    <ApiContext.Provider value={{ call, transport: 'web', refresh: () => undefined }}>
      <SigningContext.Provider value={signing}>{children}</SigningContext.Provider>
    </ApiContext.Provider>
  );
}

const signingOk: SigningValue = {
  status: working,
  error: null,
  recheck: async () => working,
  choose: async () => working,
  ask: () => undefined,
};

describe('the "Signing keys" dialog', () => {
  const setup = (onRecheck = vi.fn(async () => keyStatus()), onChoose = vi.fn(async () => working)) => {
    const onClose = vi.fn();
    render(<SigningKeysDialog status={keyStatus()} error={null} onRecheck={onRecheck} onChoose={onChoose} onClose={onClose} />);
    return { onRecheck, onChoose, onClose, dialog: screen.getByRole('dialog', { name: 'Signing keys' }) };
  };

  it('says the keyring is not available, why, what signing is for, and offers three choices', () => {
    const { dialog } = setup();
    expect(dialog.textContent).toContain('The OS keyring is not available here.');
    expect(within(dialog).getByRole('alert').textContent).toContain('no Secret Service on the session bus');
    expect(dialog.textContent).toMatch(/Approvals and releases are signed with your own key/);
    const choices = within(dialog).getByRole('list', { name: 'Choices' });
    expect(within(choices).getAllByRole('button').map((b) => b.textContent)).toEqual(['Try again', 'Keep keys in files', 'Not now']);
    // Each choice explains itself: files in the folder, readable by the OS account only, less
    // protected, and for how long; "Not now" says what is refused meanwhile.
    const files = within(dialog).getByRole('button', { name: 'Keep keys in files' });
    const filesHelp = document.getElementById(files.getAttribute('aria-describedby')!)!.textContent!;
    expect(filesHelp).toContain('/home/ana/.local/share/promptdesk/keys');
    expect(filesHelp).toMatch(/readable only by your OS account/);
    expect(filesHelp).toMatch(/less protected than the keyring/);
    expect(filesHelp).toMatch(/lasts until `promptdesk ui` stops/);
    const later = within(dialog).getByRole('button', { name: 'Not now' });
    expect(document.getElementById(later.getAttribute('aria-describedby')!)!.textContent).toMatch(
      /approving and releasing will be refused until a key store works/,
    );
  });

  it('"Try again" checks again and says when it still does not work', async () => {
    const { onRecheck, onChoose, dialog } = setup();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Try again' }));
    await within(dialog).findByText('Checked again: still not available (the reason above is the latest).');
    expect(onRecheck).toHaveBeenCalledTimes(1);
    expect(onChoose).not.toHaveBeenCalled();
  });

  it('"Keep keys in files" chooses files, then shows the key and where it lives', async () => {
    const onChoose = vi.fn(async () => working);
    const onClose = vi.fn();
    const { rerender } = render(
      <SigningKeysDialog status={keyStatus()} error={null} onRecheck={async () => keyStatus()} onChoose={onChoose} onClose={onClose} />,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Keep keys in files' }));
    await waitFor(() => expect(onChoose).toHaveBeenCalledWith('files'));
    // The App passes the new status down.
    rerender(<SigningKeysDialog status={working} error={null} onRecheck={async () => working} onChoose={onChoose} onClose={onClose} />);
    const outcome = screen.getByRole('status');
    expect(outcome.textContent).toBe('Signing works. Your key ed25519:ab12cd is kept in plain files in /home/ana/.local/share/promptdesk/keys.');
    fireEvent.click(screen.getByRole('button', { name: 'Done' }));
    expect(onClose).toHaveBeenCalled();
  });

  it('"Not now" closes without choosing anything', () => {
    const { onRecheck, onChoose, onClose, dialog } = setup();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Not now' }));
    expect(onClose).toHaveBeenCalled();
    expect(onRecheck).not.toHaveBeenCalled();
    expect(onChoose).not.toHaveBeenCalled();
  });

  it('says when the desktop app remembers the choice', () => {
    render(<SigningKeysDialog status={keyStatus({ choice_remembered: true })} error={null} onRecheck={vi.fn()} onChoose={vi.fn()} onClose={vi.fn()} />);
    const files = screen.getByRole('button', { name: 'Keep keys in files' });
    expect(document.getElementById(files.getAttribute('aria-describedby')!)!.textContent).toMatch(/Promptdesk remembers this choice/);
  });
});

describe('Settings → Signing key', () => {
  it('shows where keys live, who decided, the key and the check, and switches stores', async () => {
    const choose = vi.fn(async () => working);
    const recheck = vi.fn(async () => keyStatus());
    render(
      <SigningContext.Provider value={{ status: keyStatus({ decided_by: 'PROMPTDESK_KEYSTORE' }), error: null, recheck, choose, ask: vi.fn() }}>
        <SigningKeySettings />
      </SigningContext.Provider>,
    );
    const section = screen.getByRole('region', { name: 'Signing key' });
    expect(section.textContent).toMatch(/Kept inthe OS keyring/);
    expect(section.textContent).toMatch(/Decided bythe PROMPTDESK_KEYSTORE environment variable/);
    expect(section.textContent).toMatch(/Your keynone: signing does not work here/);
    expect(within(section).getByRole('alert').textContent).toContain('no Secret Service on the session bus');
    expect((within(section).getByRole('button', { name: 'Use the OS keyring' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(within(section).getByRole('button', { name: 'Check again' }));
    await waitFor(() => expect(recheck).toHaveBeenCalled());
    const files = within(section).getByRole('button', { name: 'Keep keys in files' }) as HTMLButtonElement;
    await waitFor(() => expect(files.disabled).toBe(false));
    fireEvent.click(files);
    await waitFor(() => expect(choose).toHaveBeenCalledWith('files'));
  });
});

const info: AppInfo = {
  name: 'Promptdesk',
  version: '0',
  content_format: '1',
  registry_path: '/r.db',
  actor: 'ben',
  identity: null,
  role: 'reviewer',
};

describe('the App at start', () => {
  const handlers = (status: KeyStatus): Record<string, Handler> => ({
    app_info: () => info,
    list_prompts: () => [],
    list_reviews: () => [],
    list_policies: () => [],
    check_signing_key: () => status,
    choose_key_store: () => working,
  });

  it('runs the key store canary and asks when it fails, never choosing by itself', async () => {
    const b = backend(handlers(keyStatus()));
    window.location.hash = '#/';
    render(<App call={b.call} transport="web" />);
    const dialog = await screen.findByRole('dialog', { name: 'Signing keys' });
    expect(b.requests('choose_key_store')).toEqual([]);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Keep keys in files' }));
    await waitFor(() => expect(within(dialog).getByRole('status').textContent).toMatch(/^Signing works\. Your key ed25519:ab12cd/));
    expect(b.requests('choose_key_store')).toEqual([{ store: 'files' }]);
  });

  it('shows no dialog when the key store works', async () => {
    const b = backend(handlers(working));
    render(<App call={b.call} transport="web" />);
    await waitFor(() => expect(b.requests('check_signing_key')).toHaveLength(1));
    await act(async () => undefined);
    expect(screen.queryByRole('dialog', { name: 'Signing keys' })).toBeNull();
  });
});

const review: Review = {
  number: 4,
  id: 'r4',
  prompt: 'support/refund-reply',
  version: 4,
  version_hash: 'h4',
  version_author: 'ana',
  label: 'production',
  description: 'Shorter, friendlier reply',
  requested_by: 'ana',
  requested_at: '2026-01-01T00:00:00Z',
  status: 'open',
};
const cond = (code: string, met: boolean, message: string): Condition => ({ code, met, message });
const approval: ReviewEvent = {
  id: 'e1',
  kind: 'approve',
  actor: 'ben',
  actor_role: 'reviewer',
  at: '2026-01-01T00:01:00Z',
  body: 'Looks good',
  anchor: null,
  reply_to: null,
  content_hash: 'h4',
  version: 4,
  pushed_by: null,
  key_revoked: false,
};
const detail = (events: ReviewEvent[], status: Review['status'] = 'open'): ReviewDetail => ({
  review: { ...review, status },
  events,
  serving: 3,
  decision: {
    allowed: false,
    conditions: [
      cond('role', false, 'ben is a reviewer; only a releaser or above may promote to production'),
      cond('approvals', events.length > 0, `1 approval of version 4 from reviewers other than its author ana: ${events.length} so far`),
    ],
    counted_approvals: [],
  },
  previously_approved: null,
});
const emptyDiff = {
  old_label: 'support/refund-reply@3',
  new_label: 'support/refund-reply@4',
  diff: { kind: null, template: null, messages: [], variables: [], model: [], includes: [], rendered: null, coarse: false },
  render_error: null,
};

describe('the review page', () => {
  const page = (d: ReviewDetail, signing: SigningValue | null = signingOk, serving: number | null = 3) => {
    const b = backend({
      review_detail: () => ({ ...d, serving }),
      open_prompt: () => ({ samples: {} }),
      get_version: () => null,
      diff_versions: () => emptyDiff,
    });
    render(withApi(b.call, <ReviewPage number={4} info={info} refreshKey={0} onOpenPrompt={() => undefined} />, signing));
    return b;
  };

  it('lets a reviewer approve, then disables "Approve" with the reason once they did', async () => {
    page(detail([]));
    const approve = await screen.findByRole('button', { name: 'Approve' });
    expect((approve as HTMLButtonElement).disabled).toBe(false);
    cleanup();
    page(detail([approval], 'approved'));
    const again = await screen.findByRole('button', { name: 'Approve' });
    expect((again as HTMLButtonElement).disabled).toBe(true);
    const why = document.getElementById(again.getAttribute('aria-describedby')!)!;
    expect(why.textContent).toMatch(/You \(ben\) approved version 4 already/);
    // Asking for changes instead stays possible.
    fireEvent.change(screen.getByRole('textbox', { name: 'Note' }), { target: { value: 'One more thing' } });
    expect((screen.getByRole('button', { name: 'Request changes' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('says who carried an event over and that a revoked key\'s approval no longer counts', async () => {
    page(detail([{ ...approval, pushed_by: 'root', key_revoked: true }]));
    const thread = await screen.findByRole('list', { name: 'Review thread' });
    expect(thread.textContent).toContain('pushed by root on behalf of ben');
    expect(thread.textContent).toContain('signed with a key revoked since: it no longer counts');
    // Ben may approve again, with his new key.
    const approve = await screen.findByRole('button', { name: 'Approve' });
    expect((approve as HTMLButtonElement).disabled).toBe(false);
  });

  it('explains disabled buttons when signing does not work, and offers the choice', async () => {
    const ask = vi.fn();
    page(detail([]), { ...signingOk, status: keyStatus(), ask });
    const approve = await screen.findByRole('button', { name: 'Approve' });
    expect((approve as HTMLButtonElement).disabled).toBe(true);
    expect(document.getElementById(approve.getAttribute('aria-describedby')!)!.textContent).toMatch(
      /Signing does not work here \(keys are kept in the OS keyring\)/,
    );
    const why = screen.getByRole('list', { name: 'Why the release is disabled' });
    expect(why.textContent).toMatch(/Signing does not work here/);
    fireEvent.click(screen.getByRole('button', { name: 'Choose where keys live…' }));
    expect(ask).toHaveBeenCalled();
  });

  it('asks the backend for a diff from nothing when the label serves no version yet', async () => {
    const b = page(detail([]), signingOk, null);
    await waitFor(() => expect(b.requests('diff_versions')).toHaveLength(1));
    const req = b.requests('diff_versions')[0]!;
    expect(req).toEqual({ name: 'support/refund-reply', new: '4' });
    expect('old' in req).toBe(false);
  });
});

const label: Label = { name: 'production', number: 4, hash: 'h4', moved_at: '2026-01-01T00:00:00Z', moved_by: 'rita' };
const rollbackCheck = (reason: string, from = 4): RollbackCheck => ({
  from,
  to: 3,
  to_hash: 'h3',
  decision: {
    allowed: reason.trim() !== '',
    conditions: [
      cond('role', true, 'rita (releaser) may roll back production'),
      cond('changelog', reason.trim() !== '', reason.trim() ? 'a reason is given' : 'a reason is required to roll back production'),
    ],
    counted_approvals: [],
  },
});

describe('the rollback dialog', () => {
  it('shows where it goes and the checklist, re-checked as the reason is typed, and sends what it showed', async () => {
    const b = backend({
      check_rollback: (req) => rollbackCheck(String(req.reason)),
      rollback_label: () => ({}),
    });
    const onDone = vi.fn();
    render(withApi(b.call, <LabelRollbackDialog name="support/refund-reply" label={label} onClose={vi.fn()} onMoved={vi.fn()} onDone={onDone} />, signingOk));
    const dialog = screen.getByRole('dialog', { name: 'Roll back production' });
    const list = await within(dialog).findByRole('list', { name: 'Rollback checklist' });
    expect(dialog.textContent).toMatch(/goes from v4 back to v3/);
    expect(list.textContent).toContain('rita (releaser) may roll back production');
    expect(list.textContent).toContain('not met: a reason is required to roll back production');
    const go = within(dialog).getByRole('button', { name: 'Roll back' }) as HTMLButtonElement;
    expect(go.disabled).toBe(true);
    expect(document.getElementById(go.getAttribute('aria-describedby')!)!.textContent).toMatch(/A reason is required/);

    // Typing checks again once typing pauses, not at every keystroke.
    vi.useFakeTimers();
    const box = within(dialog).getByRole('textbox', { name: 'Reason' });
    fireEvent.change(box, { target: { value: 'W' } });
    fireEvent.change(box, { target: { value: 'Wrong tone' } });
    expect(go.disabled).toBe(true);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(ROLLBACK_CHECK_DELAY_MS + 10);
    });
    vi.useRealTimers();
    await waitFor(() => expect(go.disabled).toBe(false));
    expect(b.requests('check_rollback').map((r) => r.reason)).toEqual(['', 'Wrong tone']);
    expect(within(dialog).getByRole('list', { name: 'Rollback checklist' }).textContent).toContain('met: a reason is given');

    fireEvent.click(go);
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(b.requests('rollback_label')).toEqual([
      { name: 'support/refund-reply', label: 'production', reason: 'Wrong tone', to: '3', expect_from: '4' },
    ]);
  });

  it('says plainly when someone moved the label meanwhile, and reads the timeline again', async () => {
    let serving = 4;
    const b = backend({
      check_rollback: (req) => rollbackCheck(String(req.reason), serving),
      rollback_label: () => {
        serving = 5;
        throw { kind: 'conflict', message: 'production of support/refund-reply moved to version 5', details: null };
      },
      list_releases: () => ({
        serving: [{ ...label, number: serving, hash: `h${serving}`, moved_by: 'sam' }],
        releases: [],
      }),
    });
    const onMoved = vi.fn();
    render(withApi(b.call, <LabelRollbackDialog name="support/refund-reply" label={label} onClose={vi.fn()} onMoved={onMoved} onDone={vi.fn()} />, signingOk));
    const dialog = screen.getByRole('dialog', { name: 'Roll back production' });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Reason' }), { target: { value: 'Wrong tone' } });
    const go = within(dialog).getByRole('button', { name: 'Roll back' }) as HTMLButtonElement;
    await waitFor(() => expect(go.disabled).toBe(false), { timeout: 2000 });
    fireEvent.click(go);
    const alert = await within(dialog).findByRole('alert');
    expect(alert.textContent).toMatch(/^Nothing was rolled back: production moved meanwhile\. It now serves version 5 \(moved by sam/);
    expect(alert.textContent).toMatch(/not version 4 as shown here/);
    expect(onMoved).toHaveBeenCalled();
    // The dialog now shows the rollback from what it serves now.
    await within(dialog).findByText(/v5/, { selector: 'strong' });
  });

  it('explains a disabled "Roll back" when the policy refuses the person', async () => {
    const b = backend({
      check_rollback: () => ({
        ...rollbackCheck('x'),
        decision: { allowed: false, conditions: [cond('role', false, 'ana is an editor; only a releaser or above may roll back production'), cond('changelog', true, 'a reason is given')], counted_approvals: [] },
      }),
    });
    render(withApi(b.call, <LabelRollbackDialog name="p" label={label} onClose={vi.fn()} onMoved={vi.fn()} onDone={vi.fn()} />, signingOk));
    const dialog = screen.getByRole('dialog', { name: 'Roll back production' });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Reason' }), { target: { value: 'x' } });
    const why = await within(dialog).findByRole('list', { name: 'Why the rollback is disabled' });
    await waitFor(() => expect(why.textContent).toContain('ana is an editor; only a releaser or above may roll back production'), { timeout: 2000 });
    expect((within(dialog).getByRole('button', { name: 'Roll back' }) as HTMLButtonElement).disabled).toBe(true);
  });
});

const approvedReview = (number: number, prompt: string, version: number): Review => ({ ...review, number, prompt, version, status: 'approved' });
const moved = (prompt: string, from: number, to: number, reviewNumber: number): Release => ({
  id: `rel-${prompt}`,
  prompt,
  label: 'production',
  kind: 'release',
  from_version: from,
  from_hash: `h${from}`,
  to_version: to,
  to_hash: `h${to}`,
  changelog: 'Refund week',
  review: reviewNumber,
  approvals: ['ben'],
  actor: 'rita',
  actor_role: 'releaser',
  at: '2026-01-01T00:00:00Z',
  bundle: 'b1',
  pushed_by: null,
});

describe('releasing approved reviews together', () => {
  const queue = (release: Handler) => {
    const b = backend({
      list_reviews: () => [approvedReview(4, 'support/refund-reply', 4), approvedReview(5, 'policies/refunds', 3), { ...review, number: 6 }],
      release_bundle: release,
    });
    render(withApi(b.call, <ReviewQueue all={false} onAll={vi.fn()} onOpen={vi.fn()} refreshKey={0} />, signingOk));
    return b;
  };

  it('picks approved reviews, asks for a changelog and lists what moved', async () => {
    const b = queue(() => [moved('support/refund-reply', 3, 4, 4), moved('policies/refunds', 2, 3, 5)]);
    const together = (await screen.findByRole('button', { name: 'Release together…' })) as HTMLButtonElement;
    expect(together.disabled).toBe(true);
    // Only approved reviews can be picked.
    expect(screen.queryByRole('checkbox', { name: 'Pick review #6 for a bundle' })).toBeNull();
    fireEvent.click(screen.getByRole('checkbox', { name: 'Pick review #4 for a bundle' }));
    fireEvent.click(screen.getByRole('checkbox', { name: 'Pick review #5 for a bundle' }));
    expect(together.disabled).toBe(false);
    fireEvent.click(together);
    const dialog = screen.getByRole('dialog', { name: 'Release together' });
    expect(within(dialog).getByRole('list', { name: 'In this bundle' }).textContent).toMatch(/support\/refund-reply@4.*policies\/refunds@3/);
    const go = within(dialog).getByRole('button', { name: 'Release 2 together' }) as HTMLButtonElement;
    expect(go.disabled).toBe(true);
    expect(document.getElementById(go.getAttribute('aria-describedby')!)!.textContent).toMatch(/A changelog is required/);
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Changelog' }), { target: { value: 'Refund week' } });
    fireEvent.click(go);
    const done = await screen.findByRole('list', { name: 'What moved' });
    expect(done.textContent).toMatch(/support\/refund-reply: production.*v3 → v4/);
    expect(done.textContent).toMatch(/policies\/refunds: production.*v2 → v3/);
    expect(b.requests('release_bundle')).toEqual([
      {
        items: [
          { prompt: 'support/refund-reply', ref: '4', label: 'production', changelog: '' },
          { prompt: 'policies/refunds', ref: '3', label: 'production', changelog: '' },
        ],
        changelog: 'Refund week',
      },
    ]);
  });

  it('shows a refusal in full: nothing moved', async () => {
    queue(() => {
      throw {
        kind: 'policy_refused',
        message:
          'nothing in the bundle was released: cannot release policies/refunds@3 to production: ana is an editor; only a releaser or above may promote to production',
        details: null,
      };
    });
    fireEvent.click(await screen.findByRole('checkbox', { name: 'Pick review #5 for a bundle' }));
    fireEvent.click(screen.getByRole('button', { name: 'Release together…' }));
    const dialog = screen.getByRole('dialog', { name: 'Release together' });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Changelog' }), { target: { value: 'Refund week' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Release 1 together' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert.textContent).toBe(
      'Nothing was released: a bundle moves all of its prompts or none. cannot release policies/refunds@3 to production: ana is an editor; only a releaser or above may promote to production',
    );
    // Still the form, with the changelog kept for another try.
    expect((within(dialog).getByRole('textbox', { name: 'Changelog' }) as HTMLTextAreaElement).value).toBe('Refund week');
  });
});

describe('label badges', () => {
  it('style protected labels from the policies, not by name', () => {
    render(
      <ProtectedLabelsContext.Provider value={new Set(['eu-prod'])}>
        <LabelBadge label="eu-prod" version={2} />
        <LabelBadge label="production" version={3} />
      </ProtectedLabelsContext.Provider>,
    );
    const eu = screen.getByText('eu-prod v2');
    expect(eu.className).toContain('badge--protected');
    expect(eu.textContent).toBe('eu-prod v2 (protected)');
    expect(screen.getByText('production v3').className).not.toContain('badge--protected');
  });
  it('protects production when no policy was read yet', () => {
    render(<LabelBadge label="production" />);
    expect(screen.getByText('production').className).toContain('badge--protected');
  });
});
