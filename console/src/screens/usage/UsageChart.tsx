import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { DayRow } from "./pivot";

/** Colours with at least 3:1 contrast against white, told apart by hue. */
const COLOURS = ["#1f5fa8", "#b0470d", "#2a7a2a", "#7b3fa0", "#9c2a4c", "#0f6f73"];

interface Props {
  title: string;
  rows: DayRow[];
  models: string[];
  format?: (value: number) => string;
}

/** One metric per day, stacked by model. The table below carries the same numbers as text. */
export function UsageChart({ title, rows, models, format }: Props) {
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div className="chart-body" aria-hidden="true">
        <ResponsiveContainer width="100%" height={240}>
          <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="day" />
            <YAxis tickFormatter={format} width={72} />
            <Tooltip formatter={format ? (value) => format(Number(value)) : undefined} />
            <Legend />
            {models.map((model, index) => (
              <Bar key={model} dataKey={model} stackId="models" fill={COLOURS[index % COLOURS.length]} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
