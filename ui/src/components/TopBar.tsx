// The bar across the top of the window: the way home, which registry and person this is, team
// sync, the review and incident queues with how many are open, the theme and settings.
import type { AppInfo } from '../api/generated';
import type { Theme } from '../lib/theme';
import { SyncStatusPill } from './sync';
import { useCommand } from './useCommand';

export type TopBarPlace = 'reviews' | 'incidents' | 'settings' | 'other';

export function TopBar({
  info,
  place,
  theme,
  refreshKey,
  onHome,
  onReviews,
  onIncidents,
  onSettings,
  onTeamSettings,
  onTheme,
}: {
  info: AppInfo | null;
  /** Which of the bar's own places is shown now (its button is pressed). */
  place: TopBarPlace;
  theme: Theme;
  refreshKey: number;
  onHome: () => void;
  onReviews: () => void;
  onIncidents: () => void;
  onSettings: () => void;
  onTeamSettings: () => void;
  onTheme: () => void;
}) {
  // The counts stay as last read when a re-read fails: a dash only before the first answer.
  const openReviews = useCommand('list_reviews', {}, refreshKey).data?.length ?? null;
  const openIncidents = useCommand('list_incidents', {}, refreshKey).data?.length ?? null;
  return (
    <header className="topbar">
      <h1 className="topbar__title">
        <button type="button" className="topbar__home" onClick={onHome} title="Home: open action items">
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
      <SyncStatusPill onOpenSettings={onTeamSettings} />
      <button
        type="button"
        className="btn btn--ghost"
        aria-pressed={place === 'reviews'}
        aria-label={openReviews === null ? 'Reviews' : `Reviews, ${openReviews} open`}
        onClick={onReviews}
      >
        Reviews <span className="count" aria-hidden="true">{openReviews ?? '–'}</span>
      </button>
      <button
        type="button"
        className="btn btn--ghost"
        aria-pressed={place === 'incidents'}
        aria-label={openIncidents === null ? 'Incidents' : `Incidents, ${openIncidents} open`}
        onClick={onIncidents}
      >
        Incidents{' '}
        <span className={`count${openIncidents ? ' count--alert' : ''}`} aria-hidden="true">
          {openIncidents ?? '–'}
        </span>
      </button>
      <button
        type="button"
        className="btn btn--ghost"
        onClick={onTheme}
        aria-label={`Theme: ${theme}. Switch theme`}
        title="Switch between light, dark and system theme"
      >
        <span aria-hidden="true">{theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'}</span> {theme}
      </button>
      <button type="button" className="btn btn--ghost" aria-pressed={place === 'settings'} onClick={onSettings}>
        Settings
      </button>
    </header>
  );
}
