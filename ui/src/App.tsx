// The window: top bar, prompt browser on the left, the open prompt (editor or history) or the
// settings on the right. Keyboard: Ctrl/⌘+S save a version, Ctrl/⌘+K search,
// Ctrl/⌘+Shift+P show or hide the preview.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { AppInfo } from './api/generated';
import { toApiError, type Call } from './api/client';
import { ApiContext, errorText, type ApiContextValue } from './components/context';
import { PromptBrowser } from './components/PromptBrowser';
import { PromptEditor } from './components/PromptEditor';
import { History } from './components/History';
import { Settings } from './components/Settings';
import { DraftJournal } from './lib/journal';
import { nextTheme, applyTheme, loadTheme, type Theme } from './lib/theme';

type View = { kind: 'home' } | { kind: 'prompt'; name: string; tab: 'edit' | 'history' } | { kind: 'settings' };

function viewFromHash(hash: string): View {
  const m = /^#\/(edit|history)\/(.+)$/.exec(hash);
  if (m) return { kind: 'prompt', tab: m[1] as 'edit' | 'history', name: decodeURIComponent(m[2]!) };
  if (hash === '#/settings') return { kind: 'settings' };
  return { kind: 'home' };
}

function hashOf(v: View): string {
  if (v.kind === 'prompt') return `#/${v.tab}/${encodeURIComponent(v.name)}`;
  if (v.kind === 'settings') return '#/settings';
  return '#/';
}

export function App({ call, transport }: { call: Call; transport: 'desktop' | 'web' }) {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const [view, setViewState] = useState<View>(() => viewFromHash(window.location.hash));
  const [refreshKey, setRefreshKey] = useState(0);
  const [showPreview, setShowPreview] = useState(true);
  const [saveRequested, setSaveRequested] = useState(0);
  const [theme, setTheme] = useState<Theme>(() => loadTheme(window.localStorage));
  const searchRef = useRef<HTMLInputElement>(null);

  const refresh = useCallback(() => setRefreshKey((k) => k + 1), []);
  const ctx = useMemo<ApiContextValue>(() => ({ call, transport, refresh }), [call, transport, refresh]);

  const setView = useCallback((v: View) => {
    setViewState(v);
    window.history.replaceState(null, '', hashOf(v));
  }, []);

  useEffect(() => {
    call('app_info', {})
      .then((i) => {
        setInfo(i);
        performance.mark('promptdesk:interactive');
      })
      .catch((e) =>
        setFatal(
          toApiError(e).kind === 'unauthorized'
            ? 'This page has no valid access token. Open Promptdesk with the address that `promptdesk ui` printed.'
            : errorText(e),
        ),
      );
  }, [call, refreshKey]);

  // Prompts may change outside this window (the CLI, another window): re-read on focus.
  useEffect(() => {
    const onFocus = () => refresh();
    window.addEventListener('focus', onFocus);
    return () => window.removeEventListener('focus', onFocus);
  }, [refresh]);

  useEffect(() => applyTheme(document.documentElement, theme, window.localStorage), [theme]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const key = e.key.toLowerCase();
      if (key === 's') {
        e.preventDefault();
        if (view.kind === 'prompt') {
          if (view.tab !== 'edit') setView({ ...view, tab: 'edit' });
          setSaveRequested((n) => n + 1);
        }
      } else if (key === 'k') {
        e.preventDefault();
        searchRef.current?.focus();
      } else if (key === 'p' && e.shiftKey) {
        e.preventDefault();
        setShowPreview((s) => !s);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [view, setView]);

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
  return (
    <ApiContext.Provider value={ctx}>
      <div className="app">
        <header className="topbar">
          <h1 className="topbar__title">Promptdesk</h1>
          <span className="topbar__registry muted small" title={info?.registry_path}>
            {info ? `${info.registry_path} · ${info.actor}` : 'Connecting…'}
          </span>
          <span className="grow" />
          <button
            type="button"
            className="btn btn--ghost"
            onClick={() => setTheme(nextTheme(theme))}
            aria-label={`Theme: ${theme}. Switch theme`}
            title="Switch between light, dark and system theme"
          >
            {theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'} {theme}
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
            onOpen={(name) => setView({ kind: 'prompt', name, tab: 'edit' })}
            refreshKey={refreshKey}
            searchRef={searchRef}
          />
          <main className="workspace">
            {view.kind === 'settings' ? (
              <Settings onRegistryChanged={() => { setView({ kind: 'home' }); refresh(); }} />
            ) : view.kind === 'prompt' && info ? (
              <>
                <div className="tabs" role="tablist" aria-label="Prompt views">
                  <button type="button" role="tab" aria-selected={view.tab === 'edit'} onClick={() => setView({ ...view, tab: 'edit' })}>
                    Edit
                  </button>
                  <button type="button" role="tab" aria-selected={view.tab === 'history'} onClick={() => setView({ ...view, tab: 'history' })}>
                    History
                  </button>
                  <span className="grow" />
                  {view.tab === 'edit' ? (
                    <button
                      type="button"
                      className="btn btn--ghost"
                      aria-pressed={showPreview}
                      onClick={() => setShowPreview(!showPreview)}
                      title="Show or hide the preview (Ctrl+Shift+P)"
                    >
                      Preview
                    </button>
                  ) : null}
                </div>
                <div role="tabpanel" className="tabpanel" aria-label={view.tab === 'edit' ? 'Editor' : 'History'}>
                  {view.tab === 'edit' ? (
                    <PromptEditor
                      key={view.name}
                      name={view.name}
                      journal={journal}
                      showPreview={showPreview}
                      saveRequested={saveRequested}
                      onRenamed={(name) => setView({ kind: 'prompt', name, tab: 'edit' })}
                      onCommitted={refresh}
                    />
                  ) : (
                    <History name={view.name} />
                  )}
                </div>
              </>
            ) : (
              <div className="empty pad">
                <h2>Open a prompt</h2>
                <p className="muted">
                  Pick a prompt on the left, search with Ctrl+K, or create one with “New prompt”. Drafts are saved as you
                  type; a version is saved only when you choose “Save version” (Ctrl+S).
                </p>
              </div>
            )}
          </main>
        </div>
      </div>
    </ApiContext.Provider>
  );
}
