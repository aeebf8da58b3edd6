import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeFetch, json, problem, streamed } from "../test/fakeApi";
import { Api, ApiError, type AnswerUpdate } from "./client";
import { SseParser } from "./sse";

afterEach(() => vi.unstubAllGlobals());

describe("Api requests", () => {
  it("sends the credential as a bearer token", async () => {
    const calls = fakeFetch(() => json({ kind: "operator", scopes: [] }));
    await new Api("secret-token").whoami();
    expect(calls[0]?.url).toBe("/v1/whoami");
    expect(calls[0]?.headers.Authorization).toBe("Bearer secret-token");
  });

  it("turns a problem+json response into an ApiError with its detail and code", async () => {
    fakeFetch(() => problem(429, "Too many queries this minute.", "rate_limited"));
    const failure = await new Api("k").listTenants().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({
      status: 429,
      detail: "Too many queries this minute.",
      code: "rate_limited",
    });
  });

  it("names the HTTP status when the error body is not problem+json", async () => {
    fakeFetch(() => new Response("<html>bad gateway</html>", { status: 502 }));
    const failure = await new Api("k").listTenants().catch((error: unknown) => error);
    expect(failure).toMatchObject({
      status: 502,
      code: "http_502",
      detail: "The request failed (HTTP 502).",
    });
  });

  it("reports an unreachable gateway as a network error", async () => {
    vi.stubGlobal("fetch", () => Promise.reject(new TypeError("Failed to fetch")));
    await expect(new Api("k").listTenants()).rejects.toMatchObject({ status: 0, code: "network_error" });
  });

  it("reads /readyz's 503 body as data: which dependency is down is the point", async () => {
    fakeFetch(() => json({ status: "not_ready", checks: { catalog: "ok", broker: "timeout" } }, 503));
    await expect(new Api("k").readiness()).resolves.toEqual({
      status: "not_ready",
      checks: { catalog: "ok", broker: "timeout" },
    });
  });

  it("passes job filters as query parameters", async () => {
    const calls = fakeFetch(() => json({ jobs: [], next_offset: null }));
    await new Api("k").listJobs({ status: "failed", documentId: "d 1" });
    expect(calls[0]?.url).toBe("/v1/jobs?status=failed&document_id=d+1&limit=50");
  });
});

describe("SseParser", () => {
  it("completes events only at a blank line, across arbitrary chunk boundaries", () => {
    const parser = new SseParser();
    expect(parser.push("event: delta\nda")).toEqual([]);
    expect(parser.push('ta: {"text":"Hel')).toEqual([]);
    expect(parser.push('lo"}\n')).toEqual([]);
    expect(parser.push("\n")).toEqual([{ event: "delta", data: '{"text":"Hello"}' }]);
  });

  it("joins multi-line data, skips comments, accepts CRLF and defaults the event name", () => {
    const parser = new SseParser();
    const events = parser.push(": keep-alive\r\ndata: one\r\ndata:two\r\n\r\nevent: done\ndata: {}\n\n");
    expect(events).toEqual([
      { event: "message", data: "one\ntwo" },
      { event: "done", data: "{}" },
    ]);
  });

  it("waits when a chunk ends between CR and LF", () => {
    const parser = new SseParser();
    expect(parser.push("data: x\r")).toEqual([]);
    expect(parser.push("\n\r\n")).toEqual([{ event: "message", data: "x" }]);
  });
});

const CITATION = {
  index: 1,
  document_id: "d-1",
  chunk_id: "c-1",
  title: "Handbook",
  snippet: "Refunds take 14 days.",
  page: 3,
  heading_path: [],
};

function chunk(payload: object): string {
  return `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", ...payload })}\n\n`;
}

async function collect(updates: AsyncIterable<AnswerUpdate>): Promise<AnswerUpdate[]> {
  const all: AnswerUpdate[] = [];
  for await (const update of updates) all.push(update);
  return all;
}

describe("Api.ask", () => {
  it("streams the citations, the text and the end of a chat completion", async () => {
    const body = [
      chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "" } }], citations: [CITATION] }),
      chunk({ choices: [{ index: 0, delta: { content: "Refunds take " } }] }),
      chunk({ choices: [{ index: 0, delta: { content: "14 days [1]." } }] }),
      chunk({
        choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
        citations: [CITATION],
        ragline: { mode: "extractive", degraded: true, degraded_reason: "llm_unavailable" },
      }),
      "data: [DONE]\n\n",
    ].join("");
    // Cut the body at awkward places: inside JSON, between "\n" and "\n".
    const pieces = [body.slice(0, 37), body.slice(37, 150), body.slice(150, 151), body.slice(151)];
    const calls = fakeFetch(() => streamed(pieces));

    const updates = await collect(
      new Api("k").ask("extractive", [{ role: "user", content: "How long do refunds take?" }]),
    );

    expect(calls[0]?.body).toEqual({
      model: "extractive",
      messages: [{ role: "user", content: "How long do refunds take?" }],
      stream: true,
    });
    expect(updates).toEqual([
      { kind: "citations", citations: [CITATION] },
      { kind: "delta", text: "Refunds take " },
      { kind: "delta", text: "14 days [1]." },
      { kind: "done", cited: [CITATION], degraded: true, degradedReason: "llm_unavailable" },
    ]);
  });

  it("raises the error a stream reports after it began", async () => {
    fakeFetch(() =>
      streamed([
        chunk({ choices: [{ index: 0, delta: { content: "Par" } }] }),
        `data: ${JSON.stringify({ error: { message: "Generation is unavailable.", code: "upstream_unavailable" } })}\n\n`,
      ]),
    );
    const seen: AnswerUpdate[] = [];
    const failure = await (async () => {
      for await (const update of new Api("k").ask("m", [{ role: "user", content: "q" }])) seen.push(update);
    })().catch((error: unknown) => error);
    expect(seen).toEqual([{ kind: "delta", text: "Par" }]);
    expect(failure).toMatchObject({ detail: "Generation is unavailable.", code: "upstream_unavailable" });
  });
});
