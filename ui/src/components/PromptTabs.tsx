// The tabs of an open prompt (Edit, Tests, Compare, History, Releases) as an ARIA tab list.
import type { KeyboardEvent as ReactKeyboardEvent, ReactNode } from 'react';
import type { Tab } from '../lib/routes';

export const TABS = [
  { id: 'edit', label: 'Edit', panel: 'Editor' },
  { id: 'tests', label: 'Tests', panel: 'Tests' },
  { id: 'compare', label: 'Compare', panel: 'Compare' },
  { id: 'history', label: 'History', panel: 'History' },
  { id: 'releases', label: 'Releases', panel: 'Releases' },
] as const;

/** Edit / History, as an ARIA tab list: one tab stop, arrow keys move between the tabs. */
export function PromptTabs({
  tab,
  onTab,
  extra,
}: {
  tab: Tab;
  onTab: (tab: Tab) => void;
  extra: ReactNode;
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
