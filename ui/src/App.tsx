// The window: top bar, prompt browser on the left, the open prompt (editor or history) or the
// settings on the right. Keyboard: Ctrl/⌘+S save a version, Ctrl/⌘+K search,
// Ctrl/⌘+Shift+P show or hide the preview.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { AppInfo } from './api/generated';
import { toApiError, type Call } from './api/client';
import { ApiContext, errorText, type ApiContextValue } from './components/context';
import { PromptBrowser } from './components/PromptBrowser';
import { PromptEditor } from './components/editor/PromptEditor';
import { History } from './components/editor/History';
import { Tests } from './components/evals/TestSuites';
import { Compare } from './components/evals/Compare';
import { hashOf, viewFromHash, type View } from './lib/routes';
import { IS_MAC, shortcutKey } from './lib/shortcuts';
import { Settings } from './components/settings/Settings';
import { ReviewQueue } from './components/review/Reviews';
import { ReviewPage } from './components/review/ReviewPage';
import { Releases, RequestReviewDialog } from './components/releases/Releases';
import { SigningContext, SigningKeysDialog, useSigningController } from './components/signing';
import { ProtectedLabelsProvider } from './components/labels';
import { TopBar } from './components/TopBar';
import { PromptTabs, TABS } from './components/PromptTabs';
import { DraftJournal } from './lib/journal';
import { nextTheme, applyTheme, loadTheme, type Theme } from './lib/theme';
import { ConflictsDialog, SyncContext, useSyncController } from './components/sync';
import { SYNCED_COMMANDS } from './lib/sync';
import { IncidentList } from './components/incidents/IncidentList';
import { IncidentPage } from './components/incidents/IncidentPage';
import { PostmortemEditor } from './components/incidents/Postmortem';
import { Home } from './components/Home';
import { LeaveDialog, LeaveGuardContext } from './components/editor/unsavedChanges';

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
  // What leaving the current view would lose (a postmortem not saved), and where the person
  // wanted to go meanwhile: the "Leave without saving?" dialog decides.
  const leaveGuard = useRef<string | null>(null);
  const [pendingView, setPendingView] = useState<View | null>(null);
  const setLeaveGuard = useCallback((message: string | null) => {
    leaveGuard.current = message;
  }, []);
  const [requesting, setRequesting] = useState(false);


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

  // The start-up canary: the key store must work for the acting person (see signing.tsx).
  const keys = useSigningController(call, info?.actor, info?.registry_path);
  const signing = keys.value;

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
        <ProtectedLabelsProvider refreshKey={refreshKey}>
          <div className="app">
            <TopBar
              info={info}
              place={
                view.kind === 'reviews' || view.kind === 'review' ? 'reviews'
                : view.kind === 'incidents' || view.kind === 'incident' || view.kind === 'postmortem' ? 'incidents'
                : view.kind === 'settings' ? 'settings'
                : 'other'
              }
              theme={theme}
              refreshKey={refreshKey}
              onHome={() => setView({ kind: 'home' })}
              onReviews={() => setView({ kind: 'reviews', all: false })}
              onIncidents={() => setView({ kind: 'incidents', all: false })}
              onSettings={() => setView(view.kind === 'settings' ? { kind: 'home' } : { kind: 'settings' })}
              onTeamSettings={() => setView({ kind: 'settings', section: 'team' })}
              onTheme={() => setTheme(nextTheme(theme))}
            />
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
          {keys.dialogOpen ? (
            <SigningKeysDialog
              status={signing.status}
              error={signing.error}
              onRecheck={signing.recheck}
              onChoose={signing.choose}
              onClose={keys.closeDialog}
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
        </ProtectedLabelsProvider>
      </SigningContext.Provider>
      </SyncContext.Provider>
      </LeaveGuardContext.Provider>
    </ApiContext.Provider>
  );
}
