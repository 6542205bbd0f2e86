// Polling that never overlaps: the next round is scheduled only once the previous one has
// answered (a slow backend gets fewer requests, not a queue of them).
import { useEffect, useRef } from 'react';

/** Calls `tick` every `ms` while `active`; stops when it turns false or the component goes. A
 * failing round is retried at the next interval. */
export function usePolling(active: boolean, tick: () => Promise<unknown>, ms: number): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const round = async () => {
      try {
        await latest.current();
      } catch {
        // the view shows its own errors; polling carries on
      }
      if (!stopped) timer = setTimeout(() => void round(), ms);
    };
    timer = setTimeout(() => void round(), ms);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [active, ms]);
}
