import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import type { PromptListing, TextDiff, VersionDiff } from '../api/generated';
import type { Call } from '../api/client';
import { ApiContext } from './context';
import { DiffView, splitRows } from './DiffView';
import { PromptBrowser } from './PromptBrowser';
import { parseDefault } from './evals/SchemaEditor';

afterEach(cleanup);

const textDiff: TextDiff = {
  added: 1,
  removed: 1,
  coarse: false,
  hunks: [
    {
      old_start: 1,
      old_len: 2,
      new_start: 1,
      new_len: 2,
      lines: [
        { tag: 'equal', old_line: 1, new_line: 1, spans: [{ text: 'Hello', changed: false }], ending: 'lf' },
        {
          tag: 'delete',
          old_line: 2,
          new_line: null,
          spans: [
            { text: 'Refunds within ', changed: false },
            { text: '30', changed: true },
            { text: ' days', changed: false },
          ],
          ending: 'lf',
        },
        {
          tag: 'insert',
          old_line: null,
          new_line: 2,
          spans: [
            { text: 'Refunds within ', changed: false },
            { text: '14', changed: true },
            { text: ' days', changed: false },
          ],
          ending: 'lf',
        },
      ],
    },
  ],
};

const versionDiff: VersionDiff = {
  kind: null,
  template: textDiff,
  messages: [],
  variables: [{ name: 'tone', status: 'added', fields: [{ field: 'type', new: 'string' }] }],
  model: [{ key: 'parameters.temperature', status: 'changed', old: 0.2, new: 0.7 }],
  includes: [],
  rendered: null,
  coarse: false,
};

describe('DiffView', () => {
  it('highlights exactly the changed words, in both layouts', () => {
    for (const layout of ['unified', 'split'] as const) {
      render(<DiffView diff={versionDiff} layout={layout} />);
      const table = screen.getByRole('table', { name: 'Template diff' });
      const marks = [...table.querySelectorAll('mark')].map((m) => `${m.className}:${m.textContent}`);
      expect(marks).toEqual(['word-del:30', 'word-ins:14']);
      expect(screen.getByRole('table', { name: 'Variable changes' }).textContent).toContain('tone');
      expect(screen.getByRole('table', { name: 'Model setting changes' }).textContent).toContain('0.7');
      cleanup();
    }
  });

  it('pairs deleted and inserted lines side by side', () => {
    const rows = splitRows(textDiff.hunks[0]!);
    expect(rows.map(([a, b]) => [a?.tag ?? null, b?.tag ?? null])).toEqual([
      ['equal', 'equal'],
      ['delete', 'insert'],
    ]);
  });
});

describe('PromptBrowser', () => {
  const prompts: PromptListing[] = [
    { name: 'support/refund-reply', kind: 'text', description: '', tags: [], latest: 4, labels: { production: 3, staging: 4, latest: 4 }, has_changes: false },
    { name: 'policies/refunds', kind: 'text', description: '', tags: [], latest: 2, labels: { production: 2 }, has_changes: true },
  ];

  it('shows the folder tree with label badges and opens a prompt', async () => {
    const call = vi.fn(async (command: string) => (command === 'list_prompts' ? prompts : [])) as unknown as Call;
    const onOpen = vi.fn();
    render(
      <ApiContext.Provider value={{ call, transport: 'web', refresh: () => undefined }}>
        <PromptBrowser selected={null} onOpen={onOpen} refreshKey={0} searchRef={{ current: null }} />
      </ApiContext.Provider>,
    );
    const item = await screen.findByRole('button', { name: 'support/refund-reply' });
    expect(within(item).getByText('production v3')).toBeTruthy();
    expect(within(item).getByText('staging v4')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Folder policies' })).toBeTruthy();
    fireEvent.click(item);
    expect(onOpen).toHaveBeenCalledWith('support/refund-reply');
  });

  it('searches through the backend and shows its errors', async () => {
    const call = vi.fn(async (command: string) => {
      if (command === 'list_prompts') return prompts;
      throw { kind: 'internal', message: 'disk on fire', details: null };
    }) as unknown as Call;
    render(
      <ApiContext.Provider value={{ call, transport: 'web', refresh: () => undefined }}>
        <PromptBrowser selected={null} onOpen={() => undefined} refreshKey={0} searchRef={{ current: null }} />
      </ApiContext.Provider>,
    );
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search prompts' }), { target: { value: 'refund' } });
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('disk on fire'));
    expect(call).toHaveBeenCalledWith('search_prompts', { query: 'refund' });
    // Clearing the search clears its error and brings the tree back.
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search prompts' }), { target: { value: '' } });
    await waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
    expect(screen.getByRole('button', { name: 'support/refund-reply' })).toBeTruthy();
  });
});

describe('parseDefault', () => {
  it('accepts only values of the declared type', () => {
    expect(parseDefault('string', 'hi')).toBe('hi');
    expect(parseDefault('number', '3')).toBe(3);
    expect(parseDefault('number', '"3"')).toBeUndefined();
    expect(parseDefault('list', '[1]')).toEqual([1]);
    expect(parseDefault('object', '[1]')).toBeUndefined();
    expect(parseDefault('boolean', '')).toBeNull();
  });
});
