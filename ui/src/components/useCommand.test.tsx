import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Call } from '../api/client';
import { ApiContext } from './context';
import { Loadable, useAction, useChanged, useCommand, useCommandEach } from './useCommand';

afterEach(cleanup);

function withApi(call: Call, ui: React.ReactNode) {
  return <ApiContext.Provider value={{ call, transport: 'web', refresh: () => undefined }}>{ui}</ApiContext.Provider>;
}

function Suites({ name, refreshKey = 0 }: { name: string | null; refreshKey?: number }) {
  const loaded = useCommand('list_suites', name === null ? null : { name }, refreshKey);
  return (
    <Loadable state={loaded}>
      {(suites) => <p data-testid="suites">{suites.map((s) => s.name).join(',') || 'none'}</p>}
    </Loadable>
  );
}

describe('useCommand and Loadable', () => {
  it('shows loading, then the answer, and asks again when the request changes by value', async () => {
    const call = vi.fn(async (_c: string, req: { name: string }) => [{ name: `${req.name}-suite` }]) as unknown as Call;
    const { rerender } = render(withApi(call, <Suites name="a" />));
    expect(screen.getByText('Loading…')).toBeTruthy();
    expect((await screen.findByTestId('suites')).textContent).toBe('a-suite');
    // The same request in a new object does not call again.
    rerender(withApi(call, <Suites name="a" />));
    rerender(withApi(call, <Suites name="b" />));
    // What answered "a" is not shown as the answer to "b".
    expect(screen.queryByText('a-suite')).toBeNull();
    await waitFor(() => expect(screen.getByTestId('suites').textContent).toBe('b-suite'));
    expect(call).toHaveBeenCalledTimes(2);
    rerender(withApi(call, <Suites name="b" refreshKey={1} />));
    await waitFor(() => expect(call).toHaveBeenCalledTimes(3));
  });

  it('keeps the previous answer on screen until the new one arrives when asked to', async () => {
    const pending: Record<string, (v: unknown) => void> = {};
    const call = vi.fn(
      (_c: string, req: { name: string }) => new Promise((resolve) => (pending[req.name] = resolve)),
    ) as unknown as Call;
    function Kept({ name }: { name: string }) {
      const loaded = useCommand('list_suites', { name }, 0, { keepPrevious: true });
      return <Loadable state={loaded}>{(s) => <p data-testid="kept">{s.map((x) => x.name).join(',')}</p>}</Loadable>;
    }
    const { rerender } = render(withApi(call, <Kept name="a" />));
    await act(async () => pending.a?.([{ name: 'a-suite' }]));
    rerender(withApi(call, <Kept name="b" />));
    expect(screen.getByTestId('kept').textContent).toBe('a-suite');
    expect(screen.queryByText('Loading…')).toBeNull();
    await act(async () => pending.b?.([{ name: 'b-suite' }]));
    expect(screen.getByTestId('kept').textContent).toBe('b-suite');
  });

  it('runs nothing for a null request', () => {
    const call = vi.fn() as unknown as Call;
    render(withApi(call, <Suites name={null} />));
    expect(call).not.toHaveBeenCalled();
  });

  it('drops an answer that arrives after a newer request', async () => {
    const pending: Record<string, (v: unknown) => void> = {};
    const call = vi.fn(
      (_c: string, req: { name: string }) => new Promise((resolve) => (pending[req.name] = resolve)),
    ) as unknown as Call;
    const { rerender } = render(withApi(call, <Suites name="old" />));
    rerender(withApi(call, <Suites name="new" />));
    await act(async () => pending.new?.([{ name: 'new-suite' }]));
    await act(async () => pending.old?.([{ name: 'old-suite' }]));
    expect(screen.getByTestId('suites').textContent).toBe('new-suite');
  });

  it('says why a call failed and tries again on request, keeping the last good answer', async () => {
    let fail = false;
    const call = vi.fn(async () => {
      if (fail) throw { kind: 'internal', message: 'disk on fire', details: null };
      return [{ name: 'smoke' }];
    }) as unknown as Call;
    const { rerender } = render(withApi(call, <Suites name="a" />));
    expect((await screen.findByTestId('suites')).textContent).toBe('smoke');
    fail = true;
    rerender(withApi(call, <Suites name="a" refreshKey={1} />));
    expect((await screen.findByRole('alert')).textContent).toContain('disk on fire');
    expect(screen.getByTestId('suites').textContent).toBe('smoke');
    fail = false;
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    await waitFor(() => expect(screen.queryByRole('alert')).toBeNull());
    expect(call).toHaveBeenCalledTimes(3);
  });
});

function Saver({ save }: { save: () => Promise<string> }) {
  const action = useAction(save);
  return (
    <>
      <button type="button" disabled={action.busy} onClick={() => void action.run()}>
        Save
      </button>
      {action.error ? <p role="alert">{action.error}</p> : null}
    </>
  );
}

describe('useAction', () => {
  it('is busy while the change runs and keeps its error', async () => {
    let finish: (v: string) => void = () => undefined;
    const save = vi.fn(() => new Promise<string>((resolve) => (finish = resolve)));
    const { rerender } = render(withApi(vi.fn() as unknown as Call, <Saver save={save} />));
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect((screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement).disabled).toBe(true));
    await act(async () => finish('ok'));
    expect((screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement).disabled).toBe(false);
    const failing = vi.fn(async () => {
      throw { kind: 'conflict', message: 'someone else saved first', details: null };
    });
    rerender(withApi(vi.fn() as unknown as Call, <Saver save={failing} />));
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect((await screen.findByRole('alert')).textContent).toBe('someone else saved first');
  });
});

function EachSuite({ names, refreshKey = 0 }: { names: string[]; refreshKey?: number }) {
  const each = useCommandEach('list_suites', names.map((name) => ({ name })), refreshKey);
  if (each === null) return <p>waiting</p>;
  return <p data-testid="each">{each.map((o) => ('data' in o ? o.data.map((s) => s.name).join('+') : `error: ${o.error}`)).join(' | ')}</p>;
}

describe('useCommandEach', () => {
  it('gives every outcome in order once all are in, a failure beside the answers', async () => {
    const call = vi.fn(async (_c: string, req: { name: string }) => {
      if (req.name === 'bad') throw { kind: 'not_found', message: 'no prompt named bad', details: null };
      return [{ name: `${req.name}-suite` }];
    }) as unknown as Call;
    const { rerender } = render(withApi(call, <EachSuite names={['a', 'bad', 'c']} />));
    expect(screen.getByText('waiting')).toBeTruthy();
    expect((await screen.findByTestId('each')).textContent).toBe('a-suite | error: no prompt named bad | c-suite');
    // A refresh keeps the outcomes shown while it asks again.
    rerender(withApi(call, <EachSuite names={['a', 'bad', 'c']} refreshKey={1} />));
    expect(screen.getByTestId('each')).toBeTruthy();
    await waitFor(() => expect(call).toHaveBeenCalledTimes(6));
    // Other requests show nothing of the old ones.
    rerender(withApi(call, <EachSuite names={['d']} refreshKey={1} />));
    expect(screen.queryByText(/a-suite/)).toBeNull();
    expect((await screen.findByTestId('each')).textContent).toBe('d-suite');
  });
});

describe('useChanged', () => {
  it("shows a change's answer over what was read, until it is read again", async () => {
    let answer = 'read-1';
    const call = vi.fn(async () => [{ name: answer }]) as unknown as Call;
    function Editable({ refreshKey }: { refreshKey: number }) {
      const [suites, change] = useChanged(useCommand('list_suites', { name: 'p' }, refreshKey).data);
      return (
        <>
          <p data-testid="shown">{suites?.map((s) => s.name).join(',') ?? 'nothing'}</p>
          <button onClick={() => change([{ name: 'changed' } as never])}>change</button>
        </>
      );
    }
    const { rerender } = render(withApi(call, <Editable refreshKey={0} />));
    await waitFor(() => expect(screen.getByTestId('shown').textContent).toBe('read-1'));
    fireEvent.click(screen.getByText('change'));
    expect(screen.getByTestId('shown').textContent).toBe('changed');
    answer = 'read-2';
    rerender(withApi(call, <Editable refreshKey={1} />));
    await waitFor(() => expect(screen.getByTestId('shown').textContent).toBe('read-2'));
  });
});
