// A write-ahead copy of unsaved edits in the page's own storage. An edit is journalled the
// moment it is typed and cleared once the backend confirms the save, so if the backend (or the
// whole app) dies in between, reopening the prompt restores what was typed.
import type { DraftContent } from '../api/generated';

interface Entry {
  content: DraftContent;
  at: number;
  /** The prompt's id when the edit was made. Names are reused (renamed or recreated prompts,
   * possibly through the CLI), ids are not: an edit is only ever restored into its own prompt. */
  prompt_id?: number;
}

/** JSON with object keys sorted, so that equal content compares equal whatever the key order
 * (the backend returns objects sorted; the UI builds them in typing order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function sameContent(a: DraftContent, b: DraftContent): boolean {
  return a === b || canonicalJson(a) === canonicalJson(b);
}

export class DraftJournal {
  constructor(
    private readonly storage: Storage,
    readonly scope: string,
  ) {}

  private key(prompt: string): string {
    return `promptdesk.journal.${this.scope}.${prompt}`;
  }

  write(prompt: string, content: DraftContent, promptId: number): void {
    try {
      const entry: Entry = { content, at: Date.now(), prompt_id: promptId };
      this.storage.setItem(this.key(prompt), JSON.stringify(entry));
    } catch {
      // Storage full or disabled: the backend save still runs; nothing else to do here.
    }
  }

  /** Clears the entry if it still holds `content` (a newer edit may have been journalled). */
  confirm(prompt: string, content: DraftContent): void {
    const entry = this.entry(prompt);
    if (entry && sameContent(entry.content, content)) this.storage.removeItem(this.key(prompt));
  }

  read(prompt: string): DraftContent | null {
    return this.entry(prompt)?.content ?? null;
  }

  /** The journalled edit to restore into the prompt `promptId` whose stored draft is `stored`:
   * only one made in that very prompt, of the same kind, and different from what is stored.
   * Any other entry under this name is stale and is dropped. */
  pendingFor(prompt: string, promptId: number, stored: DraftContent): DraftContent | null {
    const entry = this.entry(prompt);
    if (!entry) return null;
    const ours =
      (entry.prompt_id === undefined || entry.prompt_id === promptId) &&
      entry.content.body.kind === stored.body.kind &&
      !sameContent(entry.content, stored);
    if (!ours) this.discard(prompt);
    return ours ? entry.content : null;
  }

  /** Carries an unconfirmed edit over to the prompt's new name. */
  rename(from: string, to: string): void {
    const raw = this.storage.getItem(this.key(from));
    this.discard(from);
    if (raw === null) return;
    try {
      this.storage.setItem(this.key(to), raw);
    } catch {
      // As in write().
    }
  }

  discard(prompt: string): void {
    this.storage.removeItem(this.key(prompt));
  }

  private entry(prompt: string): Entry | null {
    const raw = this.storage.getItem(this.key(prompt));
    if (!raw) return null;
    try {
      const entry = JSON.parse(raw) as Partial<Entry>;
      return entry.content?.body ? (entry as Entry) : null;
    } catch {
      this.storage.removeItem(this.key(prompt));
      return null;
    }
  }
}
