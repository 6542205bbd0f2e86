// Light, dark, or whatever the system prefers; remembered per machine.
export type Theme = 'system' | 'light' | 'dark';

const KEY = 'promptdesk.theme';

export function loadTheme(storage: Storage): Theme {
  const t = storage.getItem(KEY);
  return t === 'light' || t === 'dark' ? t : 'system';
}

export function nextTheme(t: Theme): Theme {
  return t === 'system' ? 'light' : t === 'light' ? 'dark' : 'system';
}

export function applyTheme(root: HTMLElement, theme: Theme, storage: Storage): void {
  if (theme === 'system') {
    root.removeAttribute('data-theme');
    storage.removeItem(KEY);
  } else {
    root.setAttribute('data-theme', theme);
    storage.setItem(KEY, theme);
  }
}
