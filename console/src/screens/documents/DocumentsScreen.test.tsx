import { act, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { JobStatus } from "../../api/types";
import { fakeFetch, json } from "../../test/fakeApi";
import { renderScreen } from "../../test/renderScreen";
import { DocumentsScreen } from "./DocumentsScreen";

beforeEach(() => vi.useFakeTimers({ shouldAdvanceTime: true }));
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const STAMP = "2026-12-04T10:00:00Z";

/** One document whose job moves through `status`; the test sets it. */
function gatewayWith(state: { status: JobStatus; reason: string | null }) {
  return fakeFetch(({ url }) => {
    const chunks = state.status === "indexed" ? 7 : null;
    if (url.startsWith("/v1/documents")) {
      return json({
        documents: [
          {
            id: "d-1",
            external_id: null,
            title: "guide.md",
            source_name: "guide.md",
            content_type: "text/markdown",
            size_bytes: 10,
            version: 2,
            metadata: {},
            status: state.status,
            chunk_count: chunks,
            created_at: STAMP,
            updated_at: STAMP,
          },
        ],
        next_offset: null,
      });
    }
    return json({
      jobs: [
        {
          id: "j-2",
          document_id: "d-1",
          version: 2,
          status: state.status,
          reason: state.reason,
          chunk_count: chunks,
          created_at: STAMP,
          updated_at: STAMP,
        },
      ],
      next_offset: null,
    });
  });
}

async function tick(ms: number) {
  await act(() => vi.advanceTimersByTimeAsync(ms));
}

describe("Documents", () => {
  it("polls while a job runs and stops once every job is terminal", async () => {
    const state: { status: JobStatus; reason: string | null } = { status: "queued", reason: null };
    const calls = gatewayWith(state);
    renderScreen(<DocumentsScreen />);
    const documents = await screen.findByRole("table", { name: "Documents" });
    expect(await within(documents).findByText("queued")).toBeInTheDocument();
    expect(within(documents).getByRole("link", { name: "guide.md" })).toHaveAttribute(
      "href",
      "/documents/d-1",
    );

    state.status = "processing";
    await tick(1600);
    expect(within(documents).getByText("processing")).toBeInTheDocument();

    state.status = "indexed";
    await tick(1600);
    expect(within(documents).getByText("indexed")).toBeInTheDocument();
    const row = within(documents).getAllByRole("row")[1] as HTMLElement;
    expect(
      within(row)
        .getAllByRole("cell")
        .map((cell) => cell.textContent)
        .slice(1, 4),
    ).toEqual(["indexed", "2", "7"]);

    const made = calls.length;
    await tick(6000);
    expect(calls.length).toBe(made);
  });

  it("shows why a job failed, in the documents and the jobs table", async () => {
    gatewayWith({ status: "failed", reason: "The PDF is encrypted." });
    renderScreen(<DocumentsScreen />);
    const documents = await screen.findByRole("table", { name: "Documents" });
    expect(await within(documents).findByText(/The PDF is encrypted\./)).toBeInTheDocument();
    const jobs = screen.getByRole("table", { name: "Jobs" });
    expect(await within(jobs).findByText(/The PDF is encrypted\./)).toBeInTheDocument();
    // A job names its document by title once the document list has it.
    expect(within(jobs).getByRole("link", { name: "guide.md" })).toHaveAttribute("href", "/documents/d-1");
  });

  it("offers an ingest-only key the uploads, and lists no documents it may not read", async () => {
    const calls = gatewayWith({ status: "indexed", reason: null });
    renderScreen(<DocumentsScreen />, {
      who: { kind: "tenant", tenant_id: "t-1", tenant_name: "Acme", key_id: "k", scopes: ["ingest"] },
    });
    expect(screen.getByLabelText("Upload files")).toBeInTheDocument();
    expect(await screen.findByRole("table", { name: "Jobs" })).toBeInTheDocument();
    expect(screen.queryByRole("table", { name: "Documents" })).toBeNull();
    expect(calls.some((call) => call.url.startsWith("/v1/documents"))).toBe(false);
  });
});
