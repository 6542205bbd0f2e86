// What every view needs: the typed `call`, the transport in use, and a way to refresh listings.
import { createContext, useContext } from 'react';
import { toApiError, type Call } from '../api/client';

export interface ApiContextValue {
  call: Call;
  transport: 'desktop' | 'web';
  /** Re-reads listings (after a create, rename or commit). */
  refresh: () => void;
}

export const ApiContext = createContext<ApiContextValue | null>(null);

export function useApi(): ApiContextValue {
  const v = useContext(ApiContext);
  if (!v) throw new Error('useApi outside <ApiContext.Provider>');
  return v;
}

/** The message to show for any failure. */
export function errorText(err: unknown): string {
  return toApiError(err).message;
}
