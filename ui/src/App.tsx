// The window: top bar, prompt browser on the left, the open prompt (editor or history) or the
// settings on the right. Keyboard: Ctrl/⌘+S save a version, Ctrl/⌘+K search,
// Ctrl/⌘+Shift+P show or hide the preview.
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent as ReactKeyboardEvent } from 'react';
import type { AppInfo, KeyStatus, KeyStoreKind } from './api/generated';
import { toApiError, type Call } from './api/client';
import { ApiContext, errorText, type ApiContextValue } from './components/context';
import { PromptBrowser } from './components/PromptBrowser';
import { PromptEditor } from './components/editor/PromptEditor';
import { History } from './components/editor/History';
import { Tests } from './components/evals/TestSuites';
import { Compare, type CompareInit } from './components/evals/Compare';
import { Settings } from './components/settings/Settings';
import { ReviewQueue } from './components/review/Reviews';
import { ReviewPage } from './components/review/ReviewPage';
import { Releases, RequestReviewDialog } from './components/releases/Releases';
import { SigningContext, SigningKeysDialog, type SigningValue } from './components/signing';
import { ProtectedLabelsContext } from './components/labels';
import { DEFAULT_PROTECTED } from './lib/release';
import { DraftJournal } from './lib/journal';
import { nextTheme, applyTheme, loadTheme, type Theme } from './lib/theme';
import { ConflictsDialog, SyncContext, SyncStatusPill, useSyncController } from './components/sync';
import { SYNCED_COMMANDS } from './lib/sync';
import { IncidentList, IncidentPage } from './components/incidents/Incidents';
import { PostmortemEditor } from './components/incidents/Postmortem';
import { Home } from './components/Home';
import { LeaveDialog, LeaveGuardContext } from './components/editor/unsavedChanges';

type Tab = 'edit' | 'tests' | 'compare' | 'history' | 'releases';
type View =
  | { kind: 'home' }
  | { kind: 'prompt'; name: string; tab: Tab; compare?: CompareInit }
  | { kind: 'settings'; section?: 'team' }
  | { kind: 'reviews'; all: boolean }
  | { kind: 'review'; number: number }
  | { kind: 'incidents'; all: boolean }
  | { kind: 'incident'; id: string }
  | { kind: 'postmortem'; id: string };

/** The versions and suite a comparison opens with, from `?versions=3,4&suite=regression`. */
function compareInitOf(query: string | undefined): CompareInit | undefined {
  if (!query) return undefined;
  const q = new URLSearchParams(query);
  const versions = (q.get('versions') ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const suite = q.get('suite') ?? '';
  const init: CompareInit = {};
  if (versions.length) init.versions = versions;
  if (suite) init.suite = suite;
  return versions.length || suite ? init : undefined;
}

export function viewFromHash(hash: string): View {
  const m = /^#\/(edit|tests|compare|history|releases)\/([^?]+)(?:\?(.*))?$/.exec(hash);
  if (m) {
    const v: View = { kind: 'prompt', tab: m[1] as Tab, name: decodeURIComponent(m[2]!) };
    const init = m[1] === 'compare' ? compareInitOf(m[3]) : undefined;
    return init ? { ...v, compare: init } : v;
  }
  if (hash === '#/settings') return { kind: 'settings' };
  if (hash === '#/settings/team') return { kind: 'settings', section: 'team' };
  if (hash === '#/reviews' || hash === '#/reviews/all') return { kind: 'reviews', all: hash.endsWith('/all') };
  const r = /^#\/review\/(\d+)$/.exec(hash);
  if (r) return { kind: 'review', number: Number(r[1]) };
  if (hash === '#/incidents' || hash === '#/incidents/all') return { kind: 'incidents', all: hash.endsWith('/all') };
  const inc = /^#\/(incident|postmortem)\/([0-9A-Za-z_-]{4,})$/.exec(hash);
  if (inc) return { kind: inc[1] as 'incident' | 'postmortem', id: inc[2]! };
  return { kind: 'home' };
}

const IS_MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/** The letter of a shortcut (Ctrl/⌘ + letter), or null. On a Mac only ⌘ counts: Ctrl+K and
 * Ctrl+P are text-editing keys there (CodeMirror binds them too). Alt is left out so AltGr
 * characters (Ctrl+Alt on Windows) are never taken for shortcuts. `code` covers keyboard
 * layouts whose letters are not Latin. */
export function shortcutKey(e: Pick<KeyboardEvent, 'key' | 'code' | 'ctrlKey' | 'metaKey' | 'altKey' | 'isComposing'>, mac = IS_MAC): string | null {
  if (!(mac ? e.metaKey : e.ctrlKey) || e.altKey || e.isComposing) return null;
  if (/^[a-z]$/i.test(e.key)) return e.key.toLowerCase();
  const m = /^Key([A-Z])$/.exec(e.code);
  return m ? m[1]!.toLowerCase() : null;
}

function hashOf(v: View): string {
  if (v.kind === 'prompt') {
    const base = `#/${v.tab}/${encodeURIComponent(v.name)}`;
    if (v.tab !== 'compare' || !v.compare) return base;
    const q = new URLSearchParams();
    if (v.compare.versions?.length) q.set('versions', v.compare.versions.join(','));
    if (v.compare.suite) q.set('suite', v.compare.suite);
    return `${base}?${q.toString()}`;
  }
  if (v.kind === 'settings') return v.section ? `#/settings/${v.section}` : '#/settings';
  if (v.kind === 'reviews') return v.all ? '#/reviews/all' : '#/reviews';
  if (v.kind === 'review') return `#/review/${v.number}`;
  if (v.kind === 'incidents') return v.all ? '#/incidents/all' : '#/incidents';
  if (v.kind === 'incident' || v.kind === 'postmortem') return `#/${v.kind}/${v.id}`;
  return '#/';
}

export function App({ call: backendCall, transport }: { call: Call; transport: 'desktop' | 'web' }) {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const [view, setViewState] = useState<View>(() => viewFromHash(window.location.hash));
  const [refreshKey, setRefreshKey] = useState(0);
  const [showPreview, setShowPreview] = useState(true);
  // Ctrl+S pressed and not yet taken up by the editor (which may still be mounting: Ctrl+S on
  // the History tab switches to the editor first).
  const [saveRequested, setSaveRequested] = useState(false);
  // A prompt created a moment ago: its editor takes the focus.
  const [justCreated, setJustCreated] = useState<string | null>(null);
  const infoRef = useRef<AppInfo | null>(null);
  const [theme, setTheme] = useState<Theme>(() => loadTheme(window.localStorage));
  const searchRef = useRef<HTMLInputElement>(null);
  const [openReviews, setOpenReviews] = useState<number | null>(null);
  const [openIncidents, setOpenIncidents] = useState<number | null>(null);
  // What leaving the current view would lose (a postmortem not saved), and where the person
  // wanted to go meanwhile: the "Leave without saving?" dialog decides.
  const leaveGuard = useRef<string | null>(null);
  const [pendingView, setPendingView] = useState<View | null>(null);
  const setLeaveGuard = useCallback((message: string | null) => {
    leaveGuard.current = message;
  }, []);
  const [requesting, setRequesting] = useState(false);

  // The key store canary's latest answer, and whether the "Signing keys" dialog is open.
  const [keyStatus, setKeyStatus] = useState<KeyStatus | null>(null);
  const [keyError, setKeyError] = useState<string | null>(null);
  const [keyDialog, setKeyDialog] = useState(false);
  const keySeq = useRef(0);
  const [protectedLabels, setProtectedLabels] = useState<ReadonlySet<string>>(DEFAULT_PROTECTED);

  const refresh = useCallback(() => setRefreshKey((k) => k + 1), []);

  // Every change the views make that the team's server should hear about starts a sync round
  // shortly after (see SYNCED_COMMANDS): the views call through this wrapper.
  const changedRef = useRef<() => void>(() => undefined);
  const call = useMemo<Call>(
    () =>
      (async (command: Parameters<Call>[0], req: Parameters<Call>[1]) => {
        const res = await backendCall(command, req as never);
        if (SYNCED_COMMANDS.has(command)) changedRef.current();
        return res;
      }) as Call,
    [backendCall],
  );
  const ctx = useMemo<ApiContextValue>(() => ({ call, transport, refresh }), [call, transport, refresh]);
  const [conflictsOpen, setConflictsOpen] = useState(false);
  const openConflicts = useCallback(() => setConflictsOpen(true), []);
  const sync = useSyncController({
    call: backendCall,
    registry: info?.registry_path ?? null,
    onPulled: refresh,
    openConflicts,
  });
  useEffect(() => {
    changedRef.current = sync.changed;
  }, [sync.changed]);

  const goTo = useCallback((v: View) => {
    setViewState(v);
    window.history.replaceState(null, '', hashOf(v));
  }, []);
  const setView = useCallback(
    (v: View) => {
      if (leaveGuard.current && hashOf(v) !== window.location.hash) setPendingView(v);
      else goTo(v);
    },
    [goTo],
  );

  useEffect(() => {
    call('app_info', {})
      .then((i) => {
        infoRef.current = i;
        setInfo(i);
        performance.mark('promptdesk:interactive');
      })
      .catch((e) => {
        // Only a failed start replaces the window. Once it is up, a re-read that fails (the
        // server restarting while the writer looks at another window) must not unmount the
        // editor they are typing in; its save state already says the registry is away.
        if (infoRef.current) return;
        setFatal(
          toApiError(e).kind === 'unauthorized'
            ? 'This page has no valid access token. Open Promptdesk with the address that `promptdesk ui` printed.'
            : errorText(e),
        );
      });
  }, [call, refreshKey]);

  // The start-up canary: proves the key store works for the acting person, at start and again
  // whenever the acting person (or the registry) changes. When it fails, the dialog asks.
  const actor = info?.actor;
  const registryPath = info?.registry_path;
  useEffect(() => {
    if (actor === undefined) return;
    const seq = ++keySeq.current;
    call('check_signing_key', {})
      .then((k) => {
        if (seq !== keySeq.current) return;
        setKeyStatus(k);
        setKeyError(null);
        setKeyDialog(!k.ok);
      })
      .catch((e) => {
        if (seq !== keySeq.current) return;
        setKeyStatus(null);
        setKeyError(errorText(e));
      });
  }, [call, actor, registryPath]);

  const signing = useMemo<SigningValue>(() => {
    const take = (k: KeyStatus) => {
      keySeq.current++;
      setKeyStatus(k);
      setKeyError(null);
      return k;
    };
    return {
      status: keyStatus,
      error: keyError,
      recheck: () => call('check_signing_key', {}).then(take),
      choose: (store: KeyStoreKind) => call('choose_key_store', { store }).then(take),
      ask: () => setKeyDialog(true),
    };
  }, [call, keyStatus, keyError]);

  // Which labels are protected, from the release policies (the production badge style).
  useEffect(() => {
    let live = true;
    call('list_policies', {})
      .then((ps) => {
        if (!live) return;
        const next = new Set(ps.filter((p) => p.protected).map((p) => p.label));
        setProtectedLabels((prev) => (prev.size === next.size && [...next].every((l) => prev.has(l)) ? prev : next));
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [call, refreshKey]);

  useEffect(() => {
    let live = true;
    call('list_reviews', {})
      .then((r) => live && setOpenReviews(r.length))
      .catch(() => undefined);
    call('list_incidents', {})
      .then((i) => live && setOpenIncidents(i.length))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [call, refreshKey]);

  // Prompts may change outside this window (the CLI, another window): re-read on focus.
  useEffect(() => {
    const onFocus = () => refresh();
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, [refresh]);

  useEffect(() => applyTheme(document.documentElement, theme, window.localStorage), [theme]);

  useEffect(() => {
    // On the window, so the shortcuts work wherever the focus is, CodeMirror included (its
    // keymap binds none of these keys and lets them bubble).
    const onKey = (e: KeyboardEvent) => {
      const key = shortcutKey(e);
      if (key === 's') {
        e.preventDefault();
        // Not from inside another dialog (New prompt, Rename): one modal at a time.
        if (view.kind === 'prompt' && !document.querySelector('dialog[open]')) {
          if (view.tab !== 'edit') setView({ ...view, tab: 'edit' });
          setSaveRequested(true);
        }
      } else if (key === 'k') {
        e.preventDefault();
        searchRef.current?.focus();
        searchRef.current?.select();
      } else if (key === 'p' && e.shiftKey) {
        e.preventDefault();
        setShowPreview((s) => !s);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [view, setView]);

  const saveRequestHandled = useCallback(() => setSaveRequested(false), []);

  const journal = useMemo(
    () => new DraftJournal(window.localStorage, info?.registry_path ?? 'unknown'),
    [info?.registry_path],
  );

  if (fatal) {
    return (
      <div className="fatal">
        <h1>Promptdesk</h1>
        <p role="alert" className="error">
          {fatal}
        </p>
        <button type="button" className="btn" onClick={() => { setFatal(null); refresh(); }}>
          Try again
        </button>
      </div>
    );
  }

  const selected = view.kind === 'prompt' ? view.name : null;
  const mod = IS_MAC ? '⌘' : 'Ctrl+';
  return (
    <ApiContext.Provider value={ctx}>
      <LeaveGuardContext.Provider value={setLeaveGuard}>
      <SyncContext.Provider value={sync}>
      <SigningContext.Provider value={signing}>
        <ProtectedLabelsContext.Provider value={protectedLabels}>
          <div className="app">
            <header className="topbar">
              <h1 className="topbar__title">
                <button type="button" className="topbar__home" onClick={() => setView({ kind: 'home' })} title="Home: open action items">
                  Promptdesk
                </button>
              </h1>
              <span className="topbar__registry" title={info?.registry_path}>
                {info ? (
                  <>
                    <span className="topbar__path">{info.registry_path}</span>
                    <span aria-hidden="true"> · </span>
                    <span className="sr-only">, acting as </span>
                    {info.actor}
                  </>
                ) : (
                  'Connecting…'
                )}
              </span>
              <span className="grow" />
              <SyncStatusPill onOpenSettings={() => setView({ kind: 'settings', section: 'team' })} />
              <button
                type="button"
                className="btn btn--ghost"
                aria-pressed={view.kind === 'reviews' || view.kind === 'review'}
                aria-label={openReviews === null ? 'Reviews' : `Reviews, ${openReviews} open`}
                onClick={() => setView({ kind: 'reviews', all: false })}
              >
                Reviews <span className="count" aria-hidden="true">{openReviews ?? '–'}</span>
              </button>
              <button
                type="button"
                className="btn btn--ghost"
                aria-pressed={view.kind === 'incidents' || view.kind === 'incident' || view.kind === 'postmortem'}
                aria-label={openIncidents === null ? 'Incidents' : `Incidents, ${openIncidents} open`}
                onClick={() => setView({ kind: 'incidents', all: false })}
              >
                Incidents{' '}
                <span className={`count${openIncidents ? ' count--alert' : ''}`} aria-hidden="true">
                  {openIncidents ?? '–'}
                </span>
              </button>
              <button
                type="button"
                className="btn btn--ghost"
                onClick={() => setTheme(nextTheme(theme))}
                aria-label={`Theme: ${theme}. Switch theme`}
                title="Switch between light, dark and system theme"
              >
                <span aria-hidden="true">{theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'}</span> {theme}
              </button>
              <button
                type="button"
                className="btn btn--ghost"
                aria-pressed={view.kind === 'settings'}
                onClick={() => setView(view.kind === 'settings' ? { kind: 'home' } : { kind: 'settings' })}
              >
                Settings
              </button>
            </header>
            <div className="layout">
              <PromptBrowser
                selected={selected}
                onOpen={(name) => {
                  setJustCreated(null);
                  setView({ kind: 'prompt', name, tab: 'edit' });
                }}
                onCreated={(name) => {
                  setJustCreated(name);
                  setView({ kind: 'prompt', name, tab: 'edit' });
                }}
                refreshKey={refreshKey}
                searchRef={searchRef}
              />
              <main className="workspace">
                {view.kind === 'settings' ? (
                  <Settings
                    key={view.section ?? 'all'}
                    section={view.section}
                    onRegistryChanged={() => { setView({ kind: 'home' }); refresh(); }}
                    onIdentityChanged={refresh}
                    refreshKey={refreshKey}
                  />
                ) : view.kind === 'reviews' ? (
                  <ReviewQueue
                    all={view.all}
                    onAll={(all) => setView({ kind: 'reviews', all })}
                    onOpen={(number) => setView({ kind: 'review', number })}
                    refreshKey={refreshKey}
                  />
                ) : view.kind === 'incidents' ? (
                  <IncidentList
                    all={view.all}
                    onAll={(all) => setView({ kind: 'incidents', all })}
                    onOpen={(id) => setView({ kind: 'incident', id })}
                    refreshKey={refreshKey}
                  />
                ) : view.kind === 'incident' && info ? (
                  <IncidentPage
                    key={view.id}
                    id={view.id}
                    info={info}
                    refreshKey={refreshKey}
                    onOpenPostmortem={(id) => setView({ kind: 'postmortem', id })}
                    onOpenReleases={(name) => setView({ kind: 'prompt', name, tab: 'releases' })}
                  />
                ) : view.kind === 'postmortem' ? (
                  <PostmortemEditor
                    key={view.id}
                    id={view.id}
                    refreshKey={refreshKey}
                    onOpenIncident={(id) => setView({ kind: 'incident', id })}
                  />
                ) : view.kind === 'review' && info ? (
                  <ReviewPage
                    key={view.number}
                    number={view.number}
                    info={info}
                    refreshKey={refreshKey}
                    onOpenPrompt={(name) => setView({ kind: 'prompt', name, tab: 'releases' })}
                    onOpenCompare={(name, versions, suite) =>
                      setView({ kind: 'prompt', name, tab: 'compare', compare: { versions, ...(suite ? { suite } : {}) } })
                    }
                  />
                ) : view.kind === 'prompt' && info ? (
                  <>
                    <PromptTabs
                      tab={view.tab}
                      onTab={(tab) => setView({ kind: 'prompt', name: view.name, tab })}
                      extra={
                        <>
                          <button type="button" className="btn" onClick={() => setRequesting(true)}>
                            Request review…
                          </button>
                          {view.tab === 'edit' ? (
                            <button
                              type="button"
                              className="btn btn--ghost"
                              aria-pressed={showPreview}
                              onClick={() => setShowPreview(!showPreview)}
                              title={`Show or hide the preview (${mod}Shift+P)`}
                            >
                              Preview
                            </button>
                          ) : null}
                        </>
                      }
                    />
                    {requesting ? (
                      <RequestReviewDialog
                        name={view.name}
                        onClose={() => setRequesting(false)}
                        onRequested={(number) => {
                          setRequesting(false);
                          setView({ kind: 'review', number });
                        }}
                      />
                    ) : null}
                    <div
                      role="tabpanel"
                      id="prompt-tabpanel"
                      className="tabpanel"
                      aria-label={TABS.find((t) => t.id === view.tab)?.panel ?? 'Editor'}
                    >
                      {view.tab === 'edit' ? (
                        <PromptEditor
                          key={view.name}
                          name={view.name}
                          journal={journal}
                          showPreview={showPreview}
                          saveRequested={saveRequested}
                          onSaveRequestHandled={saveRequestHandled}
                          focusOnOpen={justCreated === view.name}
                          onRenamed={(name) => setView({ kind: 'prompt', name, tab: 'edit' })}
                          onCommitted={refresh}
                        />
                      ) : view.tab === 'tests' ? (
                        <Tests key={view.name} name={view.name} refreshKey={refreshKey} />
                      ) : view.tab === 'compare' ? (
                        <Compare key={`${view.name}\u0000${hashOf(view)}`} name={view.name} refreshKey={refreshKey} init={view.compare} />
                      ) : view.tab === 'history' ? (
                        <History key={view.name} name={view.name} refreshKey={refreshKey} />
                      ) : (
                        <Releases
                          key={view.name}
                          name={view.name}
                          refreshKey={refreshKey}
                          onIncidentOpened={(id) => setView({ kind: 'incident', id })}
                        />
                      )}
                    </div>
                  </>
                ) : (
                  <Home mod={mod} refreshKey={refreshKey} onOpenPostmortem={(id) => setView({ kind: 'postmortem', id })} />
                )}
              </main>
            </div>
          </div>
          {conflictsOpen && sync.status ? (
            <ConflictsDialog
              refused={sync.status.refused}
              seen={sync.seen}
              onSeen={sync.markSeen}
              onClose={() => setConflictsOpen(false)}
              onOpenPrompt={(name) => {
                setConflictsOpen(false);
                setView({ kind: 'prompt', name, tab: 'releases' });
              }}
            />
          ) : null}
          {keyDialog ? (
            <SigningKeysDialog
              status={keyStatus}
              error={keyError}
              onRecheck={signing.recheck}
              onChoose={signing.choose}
              onClose={() => setKeyDialog(false)}
            />
          ) : null}
          {pendingView ? (
            <LeaveDialog
              message={leaveGuard.current ?? 'Your changes are not saved.'}
              onStay={() => setPendingView(null)}
              onLeave={() => {
                const v = pendingView;
                leaveGuard.current = null;
                setPendingView(null);
                goTo(v);
              }}
            />
          ) : null}
        </ProtectedLabelsContext.Provider>
      </SigningContext.Provider>
      </SyncContext.Provider>
      </LeaveGuardContext.Provider>
    </ApiContext.Provider>
  );
}

const TABS = [
  { id: 'edit', label: 'Edit', panel: 'Editor' },
  { id: 'tests', label: 'Tests', panel: 'Tests' },
  { id: 'compare', label: 'Compare', panel: 'Compare' },
  { id: 'history', label: 'History', panel: 'History' },
  { id: 'releases', label: 'Releases', panel: 'Releases' },
] as const;

/** Edit / History, as an ARIA tab list: one tab stop, arrow keys move between the tabs. */
function PromptTabs({
  tab,
  onTab,
  extra,
}: {
  tab: Tab;
  onTab: (tab: Tab) => void;
  extra: React.ReactNode;
}) {
  const onKeyDown = (e: ReactKeyboardEvent<HTMLDivElement>) => {
    const i = TABS.findIndex((t) => t.id === tab);
    const j =
      e.key === 'ArrowRight' ? (i + 1) % TABS.length
      : e.key === 'ArrowLeft' ? (i + TABS.length - 1) % TABS.length
      : e.key === 'Home' ? 0
      : e.key === 'End' ? TABS.length - 1
      : -1;
    if (j < 0) return;
    e.preventDefault();
    onTab(TABS[j]!.id);
    document.getElementById(`tab-${TABS[j]!.id}`)?.focus();
  };
  return (
    <div className="tabs">
      <div role="tablist" aria-label="Prompt views" onKeyDown={onKeyDown}>
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls="prompt-tabpanel"
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => onTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <span className="grow" />
      {extra}
    </div>
  );
}
