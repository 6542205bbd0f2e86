// The editor against an in-memory backend: the stale-closure, race and key problems that lose
// or misplace a writer's edits.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { useState } from 'react';
import { EditorView } from '@codemirror/view';
import { undo } from '@codemirror/commands';
import { forEachDiagnostic } from '@codemirror/lint';
import { TemplateEditor } from './TemplateEditor';
import type { ChatMessage, DraftContent, OpenedPrompt, PreviewDraft, Variable, VersionSummary } from '../../api/generated';
import type { Call } from '../../api/client';
import { ApiContext } from '../context';
import { PromptEditor } from './PromptEditor';
import { RenderedView } from './PreviewPanel';
import { HALF_TYPED_MS } from './usePreview';
import { SaveIndicator } from './EditorHeader';
import { History } from './History';
import { VariablesEditor } from '../evals/SchemaEditor';
import { Dialog } from '../Dialog';
import { DraftJournal } from '../../lib/journal';
import { App } from '../../App';
import { shortcutKey } from '../../lib/shortcuts';

beforeAll(() => {
  // What CodeMirror measures with; jsdom lays nothing out.
  const rect = () => ({ x: 0, y: 0, width: 0, height: 0, top: 0, left: 0, right: 0, bottom: 0, toJSON: () => ({}) });
  Range.prototype.getClientRects = () => [] as unknown as DOMRectList;
  Range.prototype.getBoundingClientRect = rect as () => DOMRect;
});

afterEach(() => {
  cleanup();
  window.localStorage.clear();
});

const text = (template: string): DraftContent => ({
  body: { kind: 'text', template },
  variables: [],
  model: { provider: '', model: '', parameters: {} },
});
const chat = (messages: ChatMessage[]): DraftContent => ({ ...text(''), body: { kind: 'chat', messages } });

interface FakePrompt {
  id: number;
  draft: DraftContent;
  samples: Record<string, Record<string, string>>;
  versions: VersionSummary[];
}

/** The backend commands the editor and the history use, over a map of prompts; every request
 * is logged. `hold` keeps a command's answers back until released. */
function fakeBackend(prompts: Record<string, FakePrompt>) {
  const log: { command: string; req: Record<string, unknown> }[] = [];
  const held = new Map<string, (() => void)[]>();
  const failing = new Set<string>();
  const holding = new Set<string>();
  const analysis = { errors: [], schema: { undeclared: [], unused: [] }, includes: {} };
  const answer = (command: string, req: Record<string, unknown>): unknown => {
    const p = prompts[req.name as string];
    if (command === 'app_info') return { name: 'promptdesk', version: '0', content_format: '1', registry_path: '/r.db', actor: 'me', identity: null };
    if (command === 'list_prompts' || command === 'search_prompts') return [];
    if (!p) throw { kind: 'not_found', message: `no prompt ${String(req.name)}`, details: null };
    switch (command) {
      case 'open_prompt': {
        const opened: OpenedPrompt = {
          prompt: { id: p.id, name: req.name as string, kind: p.draft.body.kind, description: '', tags: [], created_at: '', created_by: 'me' },
          draft: { content: structuredClone(p.draft), base_hash: null, updated_at: 't0', updated_by: 'me' },
          has_changes: true,
          analysis,
          labels: [],
          latest: p.versions[0]?.number ?? null,
          samples: p.samples,
          included_by: [],
        };
        return opened;
      }
      case 'save_draft':
        p.draft = structuredClone(req.content as DraftContent);
        return { updated_at: 't1', has_changes: true, analysis };
      case 'preview_draft': {
        const c = (req as unknown as PreviewDraft).content;
        const body = c.body.kind === 'text' ? c.body.template : c.body.messages.map((m) => m.template).join('|');
        if (body.includes('{% if x %}') && !body.includes('{% endif %}')) {
          // What the backend says of an `{% if %}` left open, with its fix.
          const at = body.indexOf('{% if x %}');
          return {
            rendered: null,
            error: {
              kind: 'syntax',
              message: 'the {% if %} on line 1 is never closed: add {% endif %} where the conditional part should end',
              location: { template: req.name, line: 1, column: at + 1, source_line: body },
              fix: { label: 'Add {% endif %} at the end', from: body.length, to: body.length, insert: '{% endif %}' },
            },
            analysis,
            render_ms: 1,
          };
        }
        return { rendered: { kind: 'text', text: `${body} ${JSON.stringify(req.inputs)}` }, error: null, analysis, render_ms: 1 };
      }
      case 'rename_prompt':
        prompts[req.new_name as string] = p;
        delete prompts[req.name as string];
        return { id: p.id, name: req.new_name, kind: p.draft.body.kind, description: '', tags: [], created_at: '', created_by: 'me' };
      case 'history':
        return { versions: p.versions, total: p.versions.length };
      case 'draft_diff':
      case 'diff_versions':
        return {
          old_label: `${String(req.name)}@${String(req.old ?? 'x')}`,
          new_label: `${String(req.name)}@${String(req.new ?? 'draft')}`,
          diff: { kind: null, template: null, messages: [], variables: [], model: [], includes: [], rendered: null, coarse: false },
          render_error: null,
        };
      default:
        throw { kind: 'internal', message: `unexpected ${command}`, details: null };
    }
  };
  const call = (async (command: string, req: Record<string, unknown>) => {
    log.push({ command, req: structuredClone(req) });
    if (failing.has(command)) throw { kind: 'internal', message: `${command} failed`, details: null };
    if (holding.has(`${command}:${String(req.name)}`)) {
      await new Promise<void>((r) => held.set(command, [...(held.get(command) ?? []), r]));
    }
    await Promise.resolve();
    return answer(command, req);
  }) as unknown as Call;
  return {
    call,
    log,
    requests: (command: string) => log.filter((l) => l.command === command).map((l) => l.req),
    hold: (command: string, name: string) => holding.add(`${command}:${name}`),
    fail: (command: string, on = true) => (on ? failing.add(command) : failing.delete(command)),
    release: (command: string) => {
      holding.clear();
      for (const r of held.get(command) ?? []) r();
      held.delete(command);
    },
  };
}

function renderEditor(backend: ReturnType<typeof fakeBackend>, name: string, journal = new DraftJournal(window.localStorage, 'test')) {
  const props = {
    journal,
    showPreview: true,
    saveRequested: false,
    onSaveRequestHandled: () => undefined,
    onRenamed: vi.fn(),
    onCommitted: () => undefined,
  };
  const ui = (n: string) => (
    <ApiContext.Provider value={{ call: backend.call, transport: 'web', refresh: () => undefined }}>
      <PromptEditor name={n} {...props} />
    </ApiContext.Provider>
  );
  const r = render(ui(name));
  return { ...r, props, rerenderWith: (n: string) => r.rerender(ui(n)) };
}

function editorView(label: string): EditorView {
  const content = document.querySelector(`.cm-content[aria-label="${label}"]`);
  if (!content) throw new Error(`no editor ${label}`);
  const v = EditorView.findFromDOM(content as HTMLElement);
  if (!v) throw new Error(`no view for ${label}`);
  return v;
}

/** Waits for an editor's CodeMirror view (created in an effect, just after its first render). */
const ready = (label: string) => waitFor(() => editorView(label));

/** Types at the end of an editor, as CodeMirror reports a keystroke. */
function typeInto(label: string, s: string) {
  const v = editorView(label);
  act(() => {
    v.dispatch({ changes: { from: v.state.doc.length, insert: s }, userEvent: 'input.type' });
  });
}

describe('PromptEditor', () => {
  beforeEach(() => {
    vi.useRealTimers();
  });

  it('previews with the sample picked last, also for the next keystroke', async () => {
    const backend = fakeBackend({
      p: { id: 1, draft: text('Hi {{ who }}'), samples: { a: { who: 'Ada' }, b: { who: 'Bob' } }, versions: [] },
    });
    renderEditor(backend, 'p');
    await screen.findByText(/"who":"Ada"/);
    await ready('Template');
    fireEvent.change(screen.getByRole('combobox', { name: 'Sample' }), { target: { value: 'b' } });
    await screen.findByText(/Hi \{\{ who \}\} \{"who":"Bob"\}/);
    typeInto('Template', '!');
    await screen.findByText(/Hi \{\{ who \}\}! \{"who":"Bob"\}/);
    const last = backend.requests('preview_draft').at(-1)!;
    expect(last.inputs).toEqual({ who: 'Bob' });
  });

  it('applies the fix a template error offers with one click', async () => {
    const backend = fakeBackend({ p: { id: 1, draft: text('Hi {{ who }}'), samples: {}, versions: [] } });
    renderEditor(backend, 'p');
    await ready('Template');
    typeInto('Template', ' {% if x %}!');
    const error = await screen.findByTestId('preview-error');
    expect(error.textContent).toMatch(/never closed: add \{% endif %\}/);
    fireEvent.click(screen.getByRole('button', { name: 'Add {% endif %} at the end' }));
    await waitFor(() => expect(editorView('Template').state.doc.toString()).toBe('Hi {{ who }} {% if x %}!{% endif %}'));
    await waitFor(() => expect(screen.queryByTestId('preview-error')).toBeNull());
    expect(screen.queryByRole('button', { name: 'Add {% endif %} at the end' })).toBeNull();
  });

  it('keeps the last complete render while a tag is half-typed, and shows a brace meant as text after a pause', async () => {
    const backend = fakeBackend({ p: { id: 1, draft: text('Hi there'), samples: {}, versions: [] } });
    renderEditor(backend, 'p');
    await screen.findByText('Hi there {}');
    await ready('Template');
    typeInto('Template', ' {');
    await waitFor(() => expect(backend.requests('preview_draft').length).toBeGreaterThanOrEqual(2));
    await new Promise((res) => setTimeout(res, 200));
    // The first half of `{{` is not a render anyone wants to read.
    expect(screen.getByTestId('preview-output').textContent).toBe('Hi there {}');
    typeInto('Template', '{ who }}');
    await screen.findByText('Hi there {{ who }} {}');
    // A `{` left standing is text after all: it shows once typing pauses.
    typeInto('Template', ' {');
    await screen.findByText('Hi there {{ who }} { {}', undefined, { timeout: HALF_TYPED_MS + 2000 });
  });

  it('shows the prompt asked for last when open_prompt answers out of order', async () => {
    const backend = fakeBackend({
      a: { id: 1, draft: text('text of A'), samples: {}, versions: [] },
      b: { id: 2, draft: text('text of B'), samples: {}, versions: [] },
    });
    backend.hold('open_prompt', 'a');
    const r = renderEditor(backend, 'a');
    r.rerenderWith('b');
    await screen.findByRole('heading', { name: 'b text' });
    await ready('Template');
    backend.release('open_prompt');
    await new Promise((res) => setTimeout(res, 20));
    expect(editorView('Template').state.doc.toString()).toBe('text of B');
    expect(screen.queryByText(/text of A/)).toBeNull();
  });

  it('restores a journalled edit only into the prompt it was typed in', async () => {
    const journal = new DraftJournal(window.localStorage, 'test');
    // Typed into an earlier prompt of that name (id 1), which was then renamed away via the CLI
    // and the name reused by a new prompt (id 2).
    journal.write('p', text('typed into the old prompt'), 1);
    const backend = fakeBackend({ p: { id: 2, draft: text('the new prompt'), samples: {}, versions: [] } });
    renderEditor(backend, 'p', journal);
    await screen.findByRole('heading', { name: 'p text' });
    await ready('Template');
    expect(editorView('Template').state.doc.toString()).toBe('the new prompt');
    expect(screen.queryByText(/Restored edits/)).toBeNull();
    expect(backend.requests('save_draft')).toEqual([]);

    cleanup();
    journal.write('p', text('typed, never saved'), 2);
    renderEditor(backend, 'p', journal);
    await screen.findByText(/Restored edits/);
    await ready('Template');
    expect(editorView('Template').state.doc.toString()).toBe('typed, never saved');
    await waitFor(() => expect(backend.requests('save_draft').at(-1)?.content).toEqual(text('typed, never saved')));
  });

  it('saves the last keystrokes before renaming, under the old name, and carries on under the new one', async () => {
    const backend = fakeBackend({ 'a/p': { id: 1, draft: text('one'), samples: {}, versions: [] } });
    const r = renderEditor(backend, 'a/p');
    await screen.findByRole('heading', { name: 'a/p text' });
    await ready('Template');
    typeInto('Template', ' two');
    fireEvent.click(screen.getByRole('button', { name: 'Rename…' }));
    const dialog = screen.getByRole('dialog', { name: 'Rename or move' });
    fireEvent.change(within(dialog).getByLabelText('New name'), { target: { value: 'b/p' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Rename' }));
    await waitFor(() => expect(r.props.onRenamed).toHaveBeenCalledWith('b/p'));
    const order = backend.log.filter((l) => l.command === 'save_draft' || l.command === 'rename_prompt');
    expect(order.map((l) => [l.command, l.req.name])).toEqual([
      ['save_draft', 'a/p'],
      ['rename_prompt', 'a/p'],
    ]);
    expect(order[0]!.req.content).toEqual(text('one two'));
  });

  it('does not offer to save a version of a draft the registry has not got', async () => {
    const backend = fakeBackend({ p: { id: 1, draft: text('stored'), samples: {}, versions: [] } });
    renderEditor(backend, 'p');
    await screen.findByRole('heading', { name: 'p text' });
    await ready('Template');
    backend.fail('save_draft');
    typeInto('Template', ' and typed');
    await screen.findByText(/Not saved yet/);
    fireEvent.click(screen.getByRole('button', { name: 'Save version…' }));
    await screen.findByText(/have not reached the registry yet/);
    expect(screen.queryByRole('dialog', { name: 'Save a version' })).toBeNull();
    expect(backend.requests('draft_diff')).toEqual([]);
    // Back again: the retry lands, and the dialog opens on the draft on screen.
    backend.fail('save_draft', false);
    await waitFor(() => expect(screen.getByRole('status', { name: 'Draft status' }).textContent).toBe('Draft saved'), { timeout: 4000 });
    fireEvent.click(screen.getByRole('button', { name: 'Save version…' }));
    await screen.findByRole('dialog', { name: 'Save a version' });
    expect(backend.requests('save_draft').at(-1)?.content).toEqual(text('stored and typed'));
  });

  it('keeps each chat message in its own editor when messages move or go', async () => {
    const backend = fakeBackend({
      c: {
        id: 1,
        draft: chat([
          { role: 'system', template: 'S' },
          { role: 'user', template: 'U' },
          { role: 'assistant', template: 'A' },
        ]),
        samples: {},
        versions: [],
      },
    });
    renderEditor(backend, 'c');
    await screen.findByRole('heading', { name: 'c chat' });
    await ready('Message 3 (assistant)');
    typeInto('Message 3 (assistant)', '!');
    const assistantView = editorView('Message 3 (assistant)');
    await waitFor(() => expect(backend.requests('preview_draft').length).toBe(2));

    fireEvent.click(screen.getByRole('button', { name: 'Move message 3 up' }));
    // The assistant's editor moved with it (same CodeMirror instance, its label follows).
    expect(editorView('Message 2 (assistant)')).toBe(assistantView);
    expect(editorView('Message 2 (assistant)').state.doc.toString()).toBe('A!');
    expect(editorView('Message 3 (user)').state.doc.toString()).toBe('U');
    // Focus stays on the moved message's controls.
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Move message 2 up' }));
    // Undo in the moved message undoes its own typing, nothing else.
    act(() => {
      undo(editorView('Message 2 (assistant)'));
    });
    await waitFor(() =>
      expect(backend.requests('preview_draft').at(-1)?.content).toEqual(
        chat([
          { role: 'system', template: 'S' },
          { role: 'assistant', template: 'A' },
          { role: 'user', template: 'U' },
        ]),
      ),
    );
    // One preview per change: the move and the undo; no echo from editors given new text.
    expect(backend.requests('preview_draft').length).toBe(4);

    fireEvent.click(screen.getByRole('button', { name: 'Remove message 1' }));
    expect(editorView('Message 1 (assistant)').state.doc.toString()).toBe('A');
    expect(editorView('Message 2 (user)').state.doc.toString()).toBe('U');
    await waitFor(() =>
      expect(backend.requests('save_draft').at(-1)?.content).toEqual(
        chat([
          { role: 'assistant', template: 'A' },
          { role: 'user', template: 'U' },
        ]),
      ),
    );
  });
});

describe('TemplateEditor', () => {
  const underlined = (label: string) => {
    const found: string[] = [];
    const v = editorView(label);
    forEachDiagnostic(v.state, (d, from, to) => found.push(`${v.state.sliceDoc(from, to)}: ${d.message}`));
    return found;
  };

  it('underlines the error again when its text was deleted and typed anew', () => {
    const problem = () => ({ line: 1, column: 4, message: 'syntax error' });
    const ui = (p: ReturnType<typeof problem>) => (
      <TemplateEditor label="T" value="{% if %}" onChange={() => undefined} variables={[]} problem={p} />
    );
    const r = render(ui(problem()));
    expect(underlined('T')).toEqual(['if: syntax error']);
    // Select all and retype: the placed diagnostic is deleted with its text.
    const v = editorView('T');
    act(() => {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: '{% if %}' }, userEvent: 'input.type' });
    });
    expect(underlined('T')).toEqual([]);
    // The next analysis reports the same error: it is placed again.
    r.rerender(ui(problem()));
    expect(underlined('T')).toEqual(['if: syntax error']);
  });
});

describe('VariablesEditor', () => {
  it('keeps a default as typed while it means the same value', () => {
    function Harness() {
      const [vars, setVars] = useState<Variable[]>([{ name: 'n', type: 'number', required: false, default: null, description: null }]);
      return <VariablesEditor variables={vars} report={{ undeclared: [], unused: [] }} onChange={setVars} />;
    }
    render(<Harness />);
    const input = screen.getByLabelText('Default of n') as HTMLInputElement;
    for (const typed of ['1', '1.', '1.0', '1.05']) {
      fireEvent.change(input, { target: { value: typed } });
      expect(input.value).toBe(typed);
    }
  });

  it('shows the undeclared-variable warning below the table, not above the rows', () => {
    render(
      <VariablesEditor
        variables={[{ name: 'a', type: 'string', required: true, default: null, description: null }]}
        report={{ undeclared: ['na'], unused: ['a'] }}
        onChange={() => undefined}
      />,
    );
    const table = screen.getByRole('table');
    const warning = screen.getByText(/Used but not declared/);
    expect(table.compareDocumentPosition(warning) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });
});

describe('History', () => {
  const version = (number: number): VersionSummary => ({
    number,
    hash: `${number}`.repeat(12),
    parent_hash: null,
    author: 'me',
    message: `change ${number}`,
    created_at: '2026-11-21T10:00:00Z',
    labels: [],
  });
  const show = (versions: VersionSummary[]) => {
    const backend = fakeBackend({ p: { id: 1, draft: text('x'), samples: {}, versions } });
    render(
      <ApiContext.Provider value={{ call: backend.call, transport: 'web', refresh: () => undefined }}>
        <History name="p" />
      </ApiContext.Provider>,
    );
    return backend;
  };

  it('says there is nothing yet when the prompt has no version', async () => {
    show([]);
    await screen.findByRole('heading', { name: 'No versions yet' });
    expect(screen.queryByRole('button', { name: 'Compare selected' })).toBeNull();
  });

  it('compares a single version with the draft', async () => {
    const backend = show([version(1)]);
    await screen.findByText('change 1');
    expect((screen.getByRole('checkbox', { name: 'Pick the draft' }) as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole('checkbox', { name: 'Pick version 1' }) as HTMLInputElement).checked).toBe(true);
    expect(screen.getByRole('heading', { name: /History/ }).textContent).toMatch(/1 version$/);
    fireEvent.click(screen.getByRole('button', { name: 'Compare selected' }));
    await waitFor(() => expect(backend.requests('diff_versions')).toEqual([{ name: 'p', old: '1', new: 'draft' }]));
  });
});

describe('Dialog', () => {
  it('focuses the marked field and gives the focus back on close', async () => {
    function Harness() {
      const [open, setOpen] = useState(false);
      return (
        <>
          <button type="button" onClick={() => setOpen(true)}>
            Open
          </button>
          {open ? (
            <Dialog title="T" onClose={() => setOpen(false)}>
              <input aria-label="Field" data-autofocus />
            </Dialog>
          ) : null}
        </>
      );
    }
    render(<Harness />);
    const opener = screen.getByRole('button', { name: 'Open' });
    opener.focus();
    fireEvent.click(opener);
    const dialog = await screen.findByRole('dialog', { name: 'T' });
    expect(document.activeElement).toBe(within(dialog).getByLabelText('Field'));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(document.activeElement).toBe(opener));
  });
});

describe('App shortcuts', () => {
  it('reads Ctrl (⌘ on a Mac) with a letter, by key or by physical key', () => {
    const e = (over: Partial<KeyboardEvent>) =>
      ({ key: 's', code: 'KeyS', ctrlKey: false, metaKey: false, altKey: false, isComposing: false, ...over }) as KeyboardEvent;
    expect(shortcutKey(e({ ctrlKey: true }), false)).toBe('s');
    expect(shortcutKey(e({ ctrlKey: true, key: 'ы' }), false)).toBe('s');
    expect(shortcutKey(e({ ctrlKey: true, altKey: true }), false)).toBeNull();
    expect(shortcutKey(e({ ctrlKey: true }), true)).toBeNull();
    expect(shortcutKey(e({ metaKey: true, key: 'K', code: 'KeyK' }), true)).toBe('k');
  });

  it('Ctrl+S on the History tab opens "Save a version" in the editor', async () => {
    const backend = fakeBackend({ p: { id: 1, draft: text('x'), samples: {}, versions: [] } });
    window.location.hash = '#/history/p';
    render(<App call={backend.call} transport="web" />);
    await screen.findByRole('heading', { name: 'No versions yet' });
    fireEvent.keyDown(window, { key: 's', code: 'KeyS', ctrlKey: true });
    await screen.findByRole('dialog', { name: 'Save a version' });
    expect(screen.getByRole('tab', { name: 'Edit' }).getAttribute('aria-selected')).toBe('true');
  });
});

describe('rendering is inert', () => {
  it('shows prompt output as text, markup and all', () => {
    const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>';
    const { container } = render(<RenderedView rendered={{ kind: 'chat', messages: [{ role: '<b>user</b>', content: evil }] }} />);
    expect(container.querySelector('img, script, b')).toBeNull();
    expect(container.textContent).toContain(evil);
  });

  it('keeps the save state short when saving fails, with the reason for screen readers', () => {
    render(<SaveIndicator state={{ kind: 'failed', message: 'Promptdesk is not reachable.' }} />);
    const status = screen.getByRole('status', { name: 'Draft status' });
    expect(status.textContent).toContain('Not saved');
    expect(status.getAttribute('title')).toContain('Promptdesk is not reachable.');
  });
});
