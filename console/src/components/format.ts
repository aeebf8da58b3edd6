/** Dates and numbers as people read them, in the browser's locale. */
export function formatDate(iso: string | null): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function formatNumber(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : value.toLocaleString();
}

export function formatUsd(value: number): string {
  return `$${value.toFixed(value !== 0 && value < 0.01 ? 6 : 2)}`;
}
