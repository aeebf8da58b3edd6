import { useEffect } from "react";

/** Calls `tick` every `intervalMs` while `active`; stops as soon as it is not. */
export function usePolling(active: boolean, tick: () => void, intervalMs = 1500): void {
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(tick, intervalMs);
    return () => window.clearInterval(timer);
  }, [active, tick, intervalMs]);
}
