/** A prompt as `list_prompts` returns it (mirrors the Rust `PromptListing`). */
export interface PromptListing {
  name: string;
  kind: 'text' | 'chat';
  description: string;
  tags: string[];
  latest: number | null;
  labels: Record<string, number>;
  has_changes: boolean;
}

/** Checks an untyped IPC reply and narrows it to a list of prompts, or throws saying what is wrong. */
export function parsePromptListings(value: unknown): PromptListing[] {
  if (!Array.isArray(value)) {
    throw new Error('list_prompts: expected a list');
  }
  return value.map((item, i) => {
    if (typeof item !== 'object' || item === null) {
      throw new Error(`list_prompts: item ${i} is not an object`);
    }
    const r = item as Record<string, unknown>;
    if (typeof r.name !== 'string' || (r.kind !== 'text' && r.kind !== 'chat')) {
      throw new Error(`list_prompts: item ${i} has no name or kind`);
    }
    return {
      name: r.name,
      kind: r.kind,
      description: typeof r.description === 'string' ? r.description : '',
      tags: Array.isArray(r.tags) ? r.tags.filter((t): t is string => typeof t === 'string') : [],
      latest: typeof r.latest === 'number' ? r.latest : null,
      labels: typeof r.labels === 'object' && r.labels !== null ? (r.labels as Record<string, number>) : {},
      has_changes: r.has_changes === true,
    };
  });
}

/** The label badges of a prompt other than `latest`, e.g. ["production → v3", "staging → v4"]. */
export function labelBadges(p: PromptListing): string[] {
  return Object.entries(p.labels)
    .filter(([label]) => label !== 'latest')
    .map(([label, version]) => `${label} → v${version}`);
}

/** An error from a Tauri command (`{kind, message}`) or anything else, as one readable line. */
export function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err) {
    return String((err as { message: unknown }).message);
  }
  return err instanceof Error ? err.message : String(err);
}
