// Label badges. Which labels are protected comes from the release policies (`list_policies`,
// read by the App and refreshed with everything else), never from a label's name: a protected
// label gets the production badge style wherever it shows.
import { createContext, useContext } from 'react';
import { DEFAULT_PROTECTED } from '../lib/release';

export const ProtectedLabelsContext = createContext<ReadonlySet<string>>(DEFAULT_PROTECTED);

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
