import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ChatMessage } from "../../api/types";
import { fakeFetch, json, streamed, type Call } from "../../test/fakeApi";
import { renderScreen } from "../../test/renderScreen";
import { AskScreen } from "./AskScreen";

afterEach(() => vi.unstubAllGlobals());

const SOURCES = [
  {
    index: 1,
    document_id: "d-1",
    chunk_id: "c-1",
    title: "Handbook",
    snippet: "Refunds take 14 days.",
    page: 3,
    heading_path: [],
  },
  {
    index: 2,
    document_id: "d-2",
    chunk_id: "c-2",
    title: "FAQ",
    snippet: "Children travel free.",
    page: null,
    heading_path: ["Travel", "Children"],
  },
];

function chunk(payload: object): string {
  return `data: ${JSON.stringify({ object: "chat.completion.chunk", ...payload })}\n\n`;
}

/** A streamed completion that says `text` in two pieces, cites `cited`, degraded or not. */
function completion(text: string, cited: typeof SOURCES, degradedReason: string | null) {
  const half = Math.floor(text.length / 2);
  return streamed([
    chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "" } }], citations: SOURCES }),
    chunk({ choices: [{ index: 0, delta: { content: text.slice(0, half) } }] }),
    chunk({ choices: [{ index: 0, delta: { content: text.slice(half) } }] }),
    chunk({
      choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
      citations: cited,
      ragline: { mode: "extractive", degraded: degradedReason !== null, degraded_reason: degradedReason },
    }),
    "data: [DONE]\n\n",
  ]);
}

function askGateway(answers: Response[]): Call[] {
  return fakeFetch(({ url }) => {
    if (url === "/v1/models") return json({ object: "list", data: [{ id: "extractive", object: "model" }] });
    const next = answers.shift();
    if (!next) throw new Error("no answer left");
    return next;
  });
}

async function ask(question: string) {
  await userEvent.type(screen.getByLabelText("Question"), question);
  await userEvent.click(screen.getByRole("button", { name: "Ask" }));
}

describe("Ask", () => {
  it("streams the answer, numbers its citations and opens a cited chunk", async () => {
    askGateway([completion("Refunds take 14 days [1].", [SOURCES[0]!], null)]);
    renderScreen(<AskScreen />);
    await ask("How long do refunds take?");

    const answer = await screen.findByRole("region", { name: "Answer" });
    expect(await within(answer).findByText("Refunds take 14 days [1].")).toBeInTheDocument();
    // Once done, only the cited source is listed.
    expect(
      within(answer)
        .getAllByRole("link")
        .map((link) => link.textContent),
    ).toEqual(["Citation 1"]);
    expect(screen.queryByRole("status")).toBeNull();

    await userEvent.click(within(answer).getByRole("link", { name: "Citation 1" }));
    const dialog = screen.getByRole("dialog", { name: "Cited chunk" });
    expect(dialog).toHaveTextContent("Handbook");
    expect(dialog).toHaveTextContent("Page 3");
    expect(dialog).toHaveTextContent("Refunds take 14 days.");
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("says when an answer is degraded, and why", async () => {
    askGateway([completion("Children travel free [2].", [SOURCES[1]!], "The language model timed out.")]);
    renderScreen(<AskScreen />);
    await ask("Do children pay?");
    const status = await screen.findByRole("status");
    expect(status.textContent).toBe("Degraded: The language model timed out.");
  });

  it("sends the earlier turns with a follow-up question", async () => {
    const calls = askGateway([
      completion("Refunds take 14 days [1].", [SOURCES[0]!], null),
      completion("Children travel free [2].", [SOURCES[1]!], null),
    ]);
    renderScreen(<AskScreen />);
    await ask("How long do refunds take?");
    await screen.findByText("Refunds take 14 days [1].");
    await ask("And for children?");
    await within(await screen.findByRole("region", { name: "Answer" })).findByText(
      "Children travel free [2].",
    );

    const completions = calls.filter((call) => call.url === "/v1/chat/completions");
    const messages = (completions[1]?.body as { messages: ChatMessage[] }).messages;
    expect(messages).toEqual([
      { role: "user", content: "How long do refunds take?" },
      { role: "assistant", content: "Refunds take 14 days [1]." },
      { role: "user", content: "And for children?" },
    ]);
    // The earlier turn stays readable above the new answer.
    expect(screen.getByRole("heading", { name: "Earlier in this conversation" })).toBeInTheDocument();
    expect(calls.filter((call) => call.url === "/v1/models")).toHaveLength(1);
  });

  it("sends only the last 20 history messages, which the gateway answers from", async () => {
    const turns = 12;
    const calls = askGateway(
      Array.from({ length: turns }, (_, n) => completion(`Answer ${n}.`, [SOURCES[0]!], null)),
    );
    renderScreen(<AskScreen />);
    for (let n = 0; n < turns; n += 1) {
      await ask(`Question ${n}?`);
      await screen.findByText(`Answer ${n}.`);
    }

    const completions = calls.filter((call) => call.url === "/v1/chat/completions");
    const messages = (completions[turns - 1]?.body as { messages: ChatMessage[] }).messages;
    expect(messages).toHaveLength(21);
    expect(messages[0]).toEqual({ role: "user", content: "Question 1?" });
    expect(messages[20]).toEqual({ role: "user", content: `Question ${turns - 1}?` });
  });
});
