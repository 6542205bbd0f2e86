// Keyboard shortcuts: which Ctrl/⌘ letter an event is, on this platform.

export const IS_MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

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
