/** Where a chunk sits: its page (PDF) or its heading path (Markdown, HTML). */
export function placeOf(chunk: { page: number | null; heading_path: readonly string[] }): string {
  const parts: string[] = [];
  if (chunk.page !== null) parts.push(`Page ${chunk.page}`);
  if (chunk.heading_path.length > 0) parts.push(chunk.heading_path.join(" › "));
  return parts.join(" · ") || "No page or heading";
}
