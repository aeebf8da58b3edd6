import { fireEvent, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeFetch, json } from "../../test/fakeApi";
import { renderScreen } from "../../test/renderScreen";
import { pivot } from "./pivot";
import { UsageScreen } from "./UsageScreen";

afterEach(() => vi.unstubAllGlobals());

const DAYS = [
  {
    day: "2026-12-01",
    model: "extractive",
    requests: 3,
    degraded_requests: 1,
    prompt_tokens: 0,
    completion_tokens: 0,
    embedding_tokens: 0,
    estimated_cost_usd: 0,
  },
  {
    day: "2026-12-01",
    model: "gpt-4o-mini",
    requests: 2,
    degraded_requests: 0,
    prompt_tokens: 1200,
    completion_tokens: 300,
    embedding_tokens: 0,
    estimated_cost_usd: 0.25,
  },
  {
    day: "2026-12-02",
    model: "hash",
    requests: 0,
    degraded_requests: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    embedding_tokens: 5000,
    estimated_cost_usd: 0,
  },
];

function usageGateway() {
  return fakeFetch(({ url }) => {
    const params = new URL(url, "http://console").searchParams;
    return json({
      tenant_id: "t-1",
      start: params.get("from"),
      end: params.get("to"),
      days: DAYS,
      totals: {
        requests: 5,
        degraded_requests: 1,
        prompt_tokens: 1200,
        completion_tokens: 300,
        embedding_tokens: 5000,
        estimated_cost_usd: 0.25,
      },
    });
  });
}

describe("Usage", () => {
  it("lists each day and model in the table and reloads for a new range", async () => {
    const calls = usageGateway();
    renderScreen(<UsageScreen />);
    const table = await screen.findByRole("table", { name: "Usage by day" });
    await within(table).findByText("gpt-4o-mini");
    const rows = within(table).getAllByRole("row").slice(1);
    const cells = (row: HTMLElement) =>
      within(row)
        .getAllByRole("cell")
        .map((cell) => cell.textContent);
    expect(rows.map(cells)).toEqual([
      ["2026-12-01", "extractive", "3", "1", "0", "0", "0", "$0.00"],
      ["2026-12-01", "gpt-4o-mini", "2", "0", "1,200", "300", "0", "$0.25"],
      ["2026-12-02", "hash", "0", "0", "0", "0", "5,000", "$0.00"],
    ]);
    expect(screen.getByText(/Totals:/)).toHaveTextContent(
      "5 requests (1 degraded), 1,500 LLM tokens, 5,000 embedding tokens, $0.25",
    );

    fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-11-01" } });
    fireEvent.change(screen.getByLabelText("To"), { target: { value: "2026-11-30" } });
    await screen.findByRole("table", { name: "Usage by day" });
    expect(calls.at(-1)?.url).toBe("/v1/usage?from=2026-11-01&to=2026-11-30");
  });

  it("charts one row per day with a column per model", () => {
    expect(pivot(DAYS, "tokens")).toEqual([
      { day: "2026-12-01", extractive: 0, "gpt-4o-mini": 1500, hash: 0 },
      { day: "2026-12-02", extractive: 0, "gpt-4o-mini": 0, hash: 5000 },
    ]);
    expect(pivot(DAYS, "requests").map((row) => row.extractive)).toEqual([3, 0]);
  });
});
