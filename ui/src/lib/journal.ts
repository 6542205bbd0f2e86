// A write-ahead copy of unsaved edits in the page's own storage. An edit is journalled the
// moment it is typed and cleared once the backend confirms the save, so if the backend (or the
// whole app) dies in between, reopening the prompt restores what was typed.
import type { DraftContent } from '../api/generated';

interface Entry {
  content: DraftContent;
  at: number;
}

export class DraftJournal {
  constructor(
    private readonly storage: Storage,
    private readonly scope: string,
  ) {}

  private key(prompt: string): string {
    return `promptdesk.journal.${this.scope}.${prompt}`;
  }

  write(prompt: string, content: DraftContent): void {
    try {
      this.storage.setItem(this.key(prompt), JSON.stringify({ content, at: Date.now() } satisfies Entry));
    } catch {
      // Storage full or disabled: the backend save still runs; nothing else to do here.
    }
  }

  /** Clears the entry if it still holds `content` (a newer edit may have been journalled). */
  confirm(prompt: string, content: DraftContent): void {
    const entry = this.read(prompt);
    if (entry && JSON.stringify(entry) === JSON.stringify(content)) this.storage.removeItem(this.key(prompt));
  }

  read(prompt: string): DraftContent | null {
    const raw = this.storage.getItem(this.key(prompt));
    if (!raw) return null;
    try {
      const entry = JSON.parse(raw) as Partial<Entry>;
      return entry.content ?? null;
    } catch {
      this.storage.removeItem(this.key(prompt));
      return null;
    }
  }

  discard(prompt: string): void {
    this.storage.removeItem(this.key(prompt));
  }
}
