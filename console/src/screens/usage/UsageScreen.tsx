import { useState } from "react";
import { useSession } from "../../auth/AuthContext";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatNumber, formatUsd } from "../../components/format";
import { useLoad } from "../../components/useLoad";
import { modelsOf, pivot } from "./pivot";
import { UsageChart } from "./UsageChart";

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The last 30 UTC days, the API's own default range. */
function defaultRange(): { from: string; to: string } {
  const to = new Date();
  const from = new Date(to.getTime() - 29 * 24 * 3600 * 1000);
  return { from: isoDay(from), to: isoDay(to) };
}

/** Requests, tokens and estimated cost per UTC day and model, as charts and as a table. */
export function UsageScreen() {
  const { api } = useSession();
  const [range, setRange] = useState(defaultRange);
  const usage = useLoad(() => api.usage(range.from, range.to), [api, range.from, range.to]);
  const rows = usage.data?.days ?? [];
  const models = modelsOf(rows);

  return (
    <>
      <h1>Usage</h1>
      <form className="inline-form" onSubmit={(event) => event.preventDefault()}>
        <div className="field">
          <label htmlFor="usage-from">From</label>
          <input
            id="usage-from"
            type="date"
            value={range.from}
            max={range.to}
            onChange={(event) => event.target.value && setRange({ ...range, from: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="usage-to">To</label>
          <input
            id="usage-to"
            type="date"
            value={range.to}
            min={range.from}
            onChange={(event) => event.target.value && setRange({ ...range, to: event.target.value })}
          />
        </div>
      </form>
      <ErrorAlert error={usage.error} />
      {usage.data && (
        <p className="totals">
          Totals: {formatNumber(usage.data.totals.requests)} requests (
          {formatNumber(usage.data.totals.degraded_requests)} degraded),{" "}
          {formatNumber(usage.data.totals.prompt_tokens + usage.data.totals.completion_tokens)} LLM tokens,{" "}
          {formatNumber(usage.data.totals.embedding_tokens)} embedding tokens,{" "}
          {formatUsd(usage.data.totals.estimated_cost_usd)} estimated.
        </p>
      )}
      <div className="charts">
        <UsageChart title="Requests per day" rows={pivot(rows, "requests")} models={models} />
        <UsageChart title="Tokens per day" rows={pivot(rows, "tokens")} models={models} />
        <UsageChart
          title="Estimated cost per day (USD)"
          rows={pivot(rows, "estimated_cost_usd")}
          models={models}
          format={formatUsd}
        />
      </div>
      <TableWrap label="Usage by day">
        <table>
          <caption>Usage by day</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Model</th>
              <th scope="col">Requests</th>
              <th scope="col">Degraded</th>
              <th scope="col">Prompt tokens</th>
              <th scope="col">Completion tokens</th>
              <th scope="col">Embedding tokens</th>
              <th scope="col">Estimated cost</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={`${row.day}/${row.model}`}>
                <td>{row.day}</td>
                <td>{row.model}</td>
                <td>{formatNumber(row.requests)}</td>
                <td>{formatNumber(row.degraded_requests)}</td>
                <td>{formatNumber(row.prompt_tokens)}</td>
                <td>{formatNumber(row.completion_tokens)}</td>
                <td>{formatNumber(row.embedding_tokens)}</td>
                <td>{formatUsd(row.estimated_cost_usd)}</td>
              </tr>
            ))}
            {usage.data && rows.length === 0 && (
              <tr>
                <td colSpan={8}>No usage in this range.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableWrap>
    </>
  );
}
