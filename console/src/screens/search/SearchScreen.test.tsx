import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SearchRequest } from "../../api/types";
import { fakeFetch, json, problem } from "../../test/fakeApi";
import { renderScreen } from "../../test/renderScreen";
import { SearchScreen } from "./SearchScreen";

afterEach(() => vi.unstubAllGlobals());

function hit(mode: string, rank: number) {
  return {
    document_id: `d-${mode}`,
    version: 1,
    chunk_index: rank,
    text: `Refund policy (${mode} #${rank}): refunds are paid within 14 days.`,
    title: `${mode} doc`,
    source_name: "policy.md",
    heading_path: ["Policy", "Refunds"],
    page: null,
    metadata: {},
    chunk_id: `${mode}-${rank}`,
    score: 1 / (rank + 1),
  };
}

/** Answers each search with two hits named after the mode that was asked for. */
function searchGateway() {
  return fakeFetch(({ body }) => {
    const { mode } = body as SearchRequest;
    return json({ results: [hit(mode, 0), hit(mode, 1)], mode, index_model: "hash" });
  });
}

describe("Search playground", () => {
  it("sends query, mode, top k and filters, and marks the query terms in ranked results", async () => {
    const calls = searchGateway();
    renderScreen(<SearchScreen />);
    await userEvent.type(screen.getByLabelText("Query"), "refund policy");
    await userEvent.selectOptions(screen.getByLabelText("Mode"), "sparse");
    await userEvent.clear(screen.getByLabelText("Top k"));
    await userEvent.type(screen.getByLabelText("Top k"), "5");
    await userEvent.type(screen.getByLabelText("Filters (JSON)"), '{{"lang": "en"}');
    await userEvent.click(screen.getByRole("button", { name: "Search" }));

    const results = await screen.findByRole("list", { name: "Results" });
    expect(calls.map((call) => call.body)).toEqual([
      { query: "refund policy", top_k: 5, mode: "sparse", filters: { lang: "en" } },
    ]);
    const items = within(results).getAllByRole("listitem");
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent("score 1.0000");
    expect(items[0]).toHaveTextContent("Policy › Refunds");
    const marked = Array.from(items[0]?.querySelectorAll("mark") ?? []).map((mark) => mark.textContent);
    // Terms are marked wherever they occur, case-insensitively, also inside longer words.
    expect(marked).toEqual(["Refund", "policy", "refund"]);
  });

  it("compares dense, sparse and hybrid side by side for one query", async () => {
    const calls = searchGateway();
    renderScreen(<SearchScreen />);
    await userEvent.type(screen.getByLabelText("Query"), "refunds");
    await userEvent.click(screen.getByLabelText("Compare modes"));
    await userEvent.click(screen.getByRole("button", { name: "Search" }));

    for (const mode of ["dense", "sparse", "hybrid"]) {
      const list = await screen.findByRole("list", { name: `${mode} results` });
      expect(
        within(list)
          .getAllByRole("link")
          .map((link) => link.textContent),
      ).toEqual([`${mode} doc`, `${mode} doc`]);
    }
    expect(calls.map((call) => (call.body as SearchRequest).mode).sort()).toEqual([
      "dense",
      "hybrid",
      "sparse",
    ]);
    expect(screen.queryByRole("list", { name: "Results" })).toBeNull();
  });

  it("refuses filters that are not a JSON object before asking the API", async () => {
    const calls = searchGateway();
    renderScreen(<SearchScreen />);
    await userEvent.type(screen.getByLabelText("Query"), "refunds");
    await userEvent.type(screen.getByLabelText("Filters (JSON)"), "lang=en");
    await userEvent.click(screen.getByRole("button", { name: "Search" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Filters must be JSON");
    expect(calls).toHaveLength(0);
  });

  it("shows the API's refusal with its code", async () => {
    fakeFetch(() => problem(422, "Unknown filter key 'colour'.", "bad_filter"));
    renderScreen(<SearchScreen />);
    await userEvent.type(screen.getByLabelText("Query"), "refunds");
    await userEvent.click(screen.getByRole("button", { name: "Search" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Unknown filter key 'colour'.");
    expect(alert).toHaveTextContent("bad_filter");
  });
});
