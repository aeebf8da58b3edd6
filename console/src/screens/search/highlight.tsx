import type { ReactNode } from "react";

/** The words of a query worth marking in a result (two letters or more). */
export function queryTerms(query: string): string[] {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? [];
  return Array.from(new Set(words));
}

function escape(term: string): string {
  return term.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `text` with each occurrence of a query term wrapped in <mark>. */
export function Highlighted({ text, terms }: { text: string; terms: string[] }) {
  if (terms.length === 0) return <>{text}</>;
  const pattern = new RegExp(`(${terms.map(escape).join("|")})`, "giu");
  const parts: ReactNode[] = text
    .split(pattern)
    .map((part, index) => (index % 2 === 1 ? <mark key={index}>{part}</mark> : part));
  return <>{parts}</>;
}
