/** What the backend's `app_info` command returns (mirrors the Rust `AppInfo`). */
export interface AppInfo {
  name: string;
  version: string;
  canonical_format: string;
}

/**
 * Checks an untyped IPC reply and narrows it to `AppInfo`.
 * Throws with a readable message when a field is missing or not a non-empty string.
 */
export function parseAppInfo(value: unknown): AppInfo {
  if (typeof value !== 'object' || value === null) {
    throw new Error('app_info: expected an object');
  }
  const record = value as Record<string, unknown>;
  const field = (key: keyof AppInfo): string => {
    const v = record[key];
    if (typeof v !== 'string' || v.length === 0) {
      throw new Error(`app_info: field "${key}" must be a non-empty string`);
    }
    return v;
  };
  return { name: field('name'), version: field('version'), canonical_format: field('canonical_format') };
}

/** One line for the status area, e.g. "Promptdesk 0.1.0 · content format promptdesk.version/1". */
export function formatAppInfo(info: AppInfo): string {
  return `${info.name} ${info.version} · content format ${info.canonical_format}`;
}
