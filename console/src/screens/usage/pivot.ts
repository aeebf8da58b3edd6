import type { UsageDay } from "../../api/types";

export type Metric = "requests" | "tokens" | "estimated_cost_usd";

/** Chart rows: one per day, one numeric column per model. */
export interface DayRow {
  day: string;
  [model: string]: number | string;
}

function valueOf(row: UsageDay, metric: Metric): number {
  if (metric === "tokens") return row.prompt_tokens + row.completion_tokens + row.embedding_tokens;
  return row[metric];
}

export function modelsOf(rows: UsageDay[]): string[] {
  return Array.from(new Set(rows.map((row) => row.model))).sort();
}

/** `rows` (one per day and model) as one row per day, models as columns, days in order. */
export function pivot(rows: UsageDay[], metric: Metric): DayRow[] {
  const models = modelsOf(rows);
  const byDay = new Map<string, DayRow>();
  for (const row of rows) {
    let day = byDay.get(row.day);
    if (!day) {
      day = { day: row.day, ...Object.fromEntries(models.map((model) => [model, 0])) };
      byDay.set(row.day, day);
    }
    day[row.model] = Number(day[row.model] ?? 0) + valueOf(row, metric);
  }
  return Array.from(byDay.values()).sort((a, b) => a.day.localeCompare(b.day));
}
