// Small display helpers shared by the views.

/** "3 minutes ago", "yesterday", or a date, from an RFC 3339 timestamp. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'} ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} hour${h === 1 ? '' : 's'} ago`;
  const d = Math.round(h / 24);
  if (d === 1) return 'yesterday';
  if (d < 30) return `${d} days ago`;
  return new Date(t).toISOString().slice(0, 10);
}

export function shortHash(hash: string): string {
  return hash.slice(0, 10);
}

/** Which editor a template error belongs to: the text template (`-1`), a chat message's index,
 * or `null` for errors in an included prompt (shown in the problems list only). */
export function errorTarget(prompt: string, template: string): number | null {
  if (template === prompt) return -1;
  const m = /^(.*), message (\d+) \(/.exec(template);
  if (m && m[1] === prompt) return Number(m[2]) - 1;
  return null;
}

/** How many `{` of `template` are not the start of a `{{ }}`, `{% %}` or `{# #}` that is
 * closed: text braces, and the first half of a tag being typed. */
export function loneBraces(template: string): number {
  let n = 0;
  for (let i = template.indexOf('{'); i !== -1; i = template.indexOf('{', i + 1)) {
    const next = template[i + 1];
    const closer = next === '{' ? '}}' : next === '%' ? '%}' : next === '#' ? '#}' : null;
    const end = closer ? template.indexOf(closer, i + 2) : -1;
    if (closer && end !== -1) {
      i = end + 1;
    } else {
      n += 1;
    }
  }
  return n;
}
