// Where the app is: each view and its address after '#', read back the same way (so a link, a
// reload or the back button lands on the same screen).

/** The versions and suite a comparison opens with (`#/compare/<name>?versions=3,4&suite=…`). */
export interface CompareInit {
  versions?: number[];
  suite?: string;
}

export type Tab = 'edit' | 'tests' | 'compare' | 'history' | 'releases';
export type View =
  | { kind: 'home' }
  | { kind: 'prompt'; name: string; tab: Tab; compare?: CompareInit }
  | { kind: 'settings'; section?: 'team' }
  | { kind: 'reviews'; all: boolean }
  | { kind: 'review'; number: number }
  | { kind: 'incidents'; all: boolean }
  | { kind: 'incident'; id: string }
  | { kind: 'postmortem'; id: string };

/** The versions and suite a comparison opens with, from `?versions=3,4&suite=regression`. */
function compareInitOf(query: string | undefined): CompareInit | undefined {
  if (!query) return undefined;
  const q = new URLSearchParams(query);
  const versions = (q.get('versions') ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const suite = q.get('suite') ?? '';
  const init: CompareInit = {};
  if (versions.length) init.versions = versions;
  if (suite) init.suite = suite;
  return versions.length || suite ? init : undefined;
}

export function viewFromHash(hash: string): View {
  const m = /^#\/(edit|tests|compare|history|releases)\/([^?]+)(?:\?(.*))?$/.exec(hash);
  if (m) {
    const v: View = { kind: 'prompt', tab: m[1] as Tab, name: decodeURIComponent(m[2]!) };
    const init = m[1] === 'compare' ? compareInitOf(m[3]) : undefined;
    return init ? { ...v, compare: init } : v;
  }
  if (hash === '#/settings') return { kind: 'settings' };
  if (hash === '#/settings/team') return { kind: 'settings', section: 'team' };
  if (hash === '#/reviews' || hash === '#/reviews/all') return { kind: 'reviews', all: hash.endsWith('/all') };
  const r = /^#\/review\/(\d+)$/.exec(hash);
  if (r) return { kind: 'review', number: Number(r[1]) };
  if (hash === '#/incidents' || hash === '#/incidents/all') return { kind: 'incidents', all: hash.endsWith('/all') };
  const inc = /^#\/(incident|postmortem)\/([0-9A-Za-z_-]{4,})$/.exec(hash);
  if (inc) return { kind: inc[1] as 'incident' | 'postmortem', id: inc[2]! };
  return { kind: 'home' };
}

export function hashOf(v: View): string {
  if (v.kind === 'prompt') {
    const base = `#/${v.tab}/${encodeURIComponent(v.name)}`;
    if (v.tab !== 'compare' || !v.compare) return base;
    const q = new URLSearchParams();
    if (v.compare.versions?.length) q.set('versions', v.compare.versions.join(','));
    if (v.compare.suite) q.set('suite', v.compare.suite);
    return `${base}?${q.toString()}`;
  }
  if (v.kind === 'settings') return v.section ? `#/settings/${v.section}` : '#/settings';
  if (v.kind === 'reviews') return v.all ? '#/reviews/all' : '#/reviews';
  if (v.kind === 'review') return `#/review/${v.number}`;
  if (v.kind === 'incidents') return v.all ? '#/incidents/all' : '#/incidents';
  if (v.kind === 'incident' || v.kind === 'postmortem') return `#/${v.kind}/${v.id}`;
  return '#/';
}
