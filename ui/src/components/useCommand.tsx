// Reading from the backend without hand-written effects: `useCommand` runs a command whenever
// its request (compared by value) or a refresh key changes, drops answers that arrive after a
// newer request or after the component went away, and keeps the last good answer while a
// reload is under way; `Loadable` shows its three states the same way on every screen; and
// `useAction` runs a change with a busy flag and its error, for buttons. `useCommandEach` asks the
// same command for each of several requests (one answer or error per request); `useChanged`
// shows a change's answer over what was read, until it is read again.
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import type { CommandName, Req, Res } from '../api/client';
import { errorText, useApi } from './context';

export interface Loaded<T> {
  /** The latest answer; `null` until the first one arrives. */
  data: T | null;
  /** Why the latest call failed, in words for people; `null` after a success. */
  error: string | null;
  /** A call is under way. */
  loading: boolean;
  /** Calls the command again with the same request. */
  reload: () => void;
}

export interface CommandOptions {
  /** Keep showing the answer to the previous request until the new one arrives (a list whose
   * filter changed stays on screen instead of flashing "Loading…"). */
  keepPrevious?: boolean;
}

/**
 * Runs `command` with `req` and keeps its answer. `req === null` runs nothing (nothing to ask
 * yet) and has no data. The call runs again when `req` changes by value (its old answer is no
 * longer shown, unless `keepPrevious`), when `refreshKey` changes, or on `reload()` (the old
 * answer stays shown until the new one arrives).
 */
export function useCommand<K extends CommandName>(
  command: K,
  req: Req<K> | null,
  refreshKey: unknown = 0,
  { keepPrevious = false }: CommandOptions = {},
): Loaded<Res<K>> {
  const { call } = useApi();
  // The answer with the request it answers: an answer to another request is never shown, while
  // one to this request stays shown through a refresh or a reload.
  const [answer, setAnswer] = useState<{ key: string; data: Res<K> } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(req !== null);
  const [again, setAgain] = useState(0);
  const key = req === null ? null : JSON.stringify(req);
  // The request as of the key, so the effect reads it without depending on its identity.
  const latest = useRef(req);
  latest.current = req;

  useEffect(() => {
    if (key === null) {
      setLoading(false);
      return;
    }
    let live = true;
    setLoading(true);
    call(command, latest.current as Req<K>)
      .then((data) => {
        if (!live) return;
        setAnswer({ key, data });
        setError(null);
      })
      .catch((e) => {
        if (live) setError(errorText(e));
      })
      .finally(() => {
        if (live) setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [call, command, key, refreshKey, again]);

  const reload = useCallback(() => setAgain((n) => n + 1), []);
  const data = answer !== null && key !== null && (answer.key === key || keepPrevious) ? answer.data : null;
  return { data, error, loading, reload };
}

/**
 * What a screen shows of something it reads and also changes: the answer `read` (from
 * `useCommand`), or the answer a change of its own gave back (`change(value)`) until the command
 * answers again: whichever of the two came last is shown.
 */
export function useChanged<T>(read: T | null): [T | null, (value: T) => void] {
  const [changed, setChanged] = useState<{ base: T | null; value: T } | null>(null);
  // The answer as of the latest render, not of the render that started the change (it may have
  // awaited across a reading).
  const latest = useRef(read);
  latest.current = read;
  const change = useCallback((value: T) => setChanged({ base: latest.current, value }), []);
  return [changed !== null && changed.base === read ? changed.value : read, change];
}

/** One request's outcome in `useCommandEach`. */
export type Each<T> = { data: T } | { error: string };

/**
 * Runs `command` once per request in `reqs`, together, and gives their outcomes in the same
 * order once all have settled: one failing does not hide the others. `reqs === null` runs
 * nothing. Runs again when `reqs` changes by value (nothing is shown until the new outcomes are
 * in) or `refreshKey` changes (the previous outcomes stay shown until then); outcomes of a
 * superseded round are dropped.
 */
export function useCommandEach<K extends CommandName>(
  command: K,
  reqs: readonly Req<K>[] | null,
  refreshKey: unknown = 0,
): Each<Res<K>>[] | null {
  const { call } = useApi();
  const [outcomes, setOutcomes] = useState<{ key: string; each: Each<Res<K>>[] } | null>(null);
  const key = reqs === null ? null : JSON.stringify(reqs);
  const latest = useRef(reqs);
  latest.current = reqs;

  useEffect(() => {
    if (key === null) return;
    let live = true;
    void Promise.all(
      (latest.current ?? []).map((req) =>
        call(command, req).then(
          (data): Each<Res<K>> => ({ data }),
          (e): Each<Res<K>> => ({ error: errorText(e) }),
        ),
      ),
    ).then((each) => {
      if (live) setOutcomes({ key, each });
    });
    return () => {
      live = false;
    };
  }, [call, command, key, refreshKey]);

  // Outcomes line up with the requests they answered, so another round's are never shown.
  return key !== null && outcomes !== null && outcomes.key === key ? outcomes.each : null;
}

/**
 * The three states of a `Loaded` value: "Loading…" before the first answer, the error with a
 * way to try again, and the content. A failed reload keeps showing the last good content, with
 * the error above it.
 */
export function Loadable<T>({
  state,
  children,
  loadingText = 'Loading…',
}: {
  state: Loaded<T>;
  children: (data: T) => ReactNode;
  loadingText?: string;
}) {
  return (
    <>
      {state.error ? (
        <p role="alert" className="error small">
          {state.error}{' '}
          <button type="button" className="linklike" onClick={state.reload}>
            Try again
          </button>
        </p>
      ) : null}
      {state.data === null && !state.error ? (
        <p className="muted small" aria-busy="true">
          {loadingText}
        </p>
      ) : null}
      {state.data !== null ? children(state.data) : null}
    </>
  );
}

export interface Action<A extends unknown[], T> {
  /** Runs the change; resolves to its answer, or `undefined` when it failed (see `error`). */
  run: (...args: A) => Promise<T | undefined>;
  busy: boolean;
  error: string | null;
  clearError: () => void;
}

/** A change a person starts (a button): one at a time, with its error kept for display. */
export function useAction<A extends unknown[], T>(perform: (...args: A) => Promise<T>): Action<A, T> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const run = useCallback(
    async (...args: A) => {
      setBusy(true);
      setError(null);
      try {
        return await perform(...args);
      } catch (e) {
        if (mounted.current) setError(errorText(e));
        return undefined;
      } finally {
        if (mounted.current) setBusy(false);
      }
    },
    [perform],
  );
  const clearError = useCallback(() => setError(null), []);
  return { run, busy, error, clearError };
}
