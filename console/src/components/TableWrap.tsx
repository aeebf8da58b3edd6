import type { ReactNode } from "react";

/**
 * A table that scrolls sideways on narrow screens. The scrolling box takes keyboard focus so
 * that it can be scrolled without a mouse (axe: scrollable-region-focusable).
 */
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={`${label} table`} tabIndex={0}>
      {children}
    </div>
  );
}
