// Label badges. Which labels are protected comes from the release policies (`list_policies`,
// read by `ProtectedLabelsProvider` and refreshed with everything else), never from a label's
// name: a protected label gets the production badge style wherever it shows.
import { createContext, useContext, useMemo, type ReactNode } from 'react';
import { DEFAULT_PROTECTED } from '../lib/release';
import { useCommand } from './useCommand';

export const ProtectedLabelsContext = createContext<ReadonlySet<string>>(DEFAULT_PROTECTED);

/** Reads which labels are protected for everything below it. Until the policies are read (or
 * when they cannot be), the default protected labels are shown as protected. */
export function ProtectedLabelsProvider({ refreshKey, children }: { refreshKey: number; children: ReactNode }) {
  const policies = useCommand('list_policies', {}, refreshKey).data;
  // By value, so a refresh that changes nothing re-renders no badge.
  const key = policies === null ? null : policies.filter((p) => p.protected).map((p) => p.label).sort().join('\n');
  const labels = useMemo<ReadonlySet<string>>(
    () => (key === null ? DEFAULT_PROTECTED : new Set(key === '' ? [] : key.split('\n'))),
    [key],
  );
  return <ProtectedLabelsContext.Provider value={labels}>{children}</ProtectedLabelsContext.Provider>;
}

export function useProtectedLabels(): ReadonlySet<string> {
  return useContext(ProtectedLabelsContext);
}

/** One label, optionally with the version it serves. Protected labels say so to screen readers
 * too, not only in colour. */
export function LabelBadge({
  label,
  version,
  big = false,
  title,
}: {
  label: string;
  version?: number;
  big?: boolean;
  title?: string;
}) {
  const isProtected = useProtectedLabels().has(label);
  const classes = ['badge'];
  if (isProtected) classes.push('badge--protected');
  else if (label === 'staging' || label === 'latest') classes.push(`badge--${label}`);
  if (big) classes.push('badge--big');
  return (
    <span
      className={classes.join(' ')}
      data-label={label}
      title={title ?? `${label}${version !== undefined ? ` → version ${version}` : ''}${isProtected ? ' (protected: moves only through a release under its policy)' : ''}`}
    >
      {label}
      {version !== undefined ? ` v${version}` : null}
      {isProtected ? <span className="sr-only"> (protected)</span> : null}
    </span>
  );
}
