import { act, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Api } from "../../api/client";
import { UploadPanel } from "./UploadPanel";

/** Stands in for the browser's XMLHttpRequest: the test decides when bytes go and what comes back. */
class FakeXhr {
  static sent: FakeXhr[] = [];
  readonly upload = new EventTarget();
  private readonly events = new EventTarget();
  readonly headers: Record<string, string> = {};
  url = "";
  body: FormData | null = null;
  status = 0;
  responseText = "";

  open(_method: string, url: string) {
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  addEventListener(type: string, listener: EventListener) {
    this.events.addEventListener(type, listener);
  }
  send(body: FormData) {
    this.body = body;
    FakeXhr.sent.push(this);
  }
  progress(loaded: number, total: number) {
    const event = Object.assign(new Event("progress"), { lengthComputable: true, loaded, total });
    act(() => void this.upload.dispatchEvent(event));
  }
  async respond(status: number, body: object) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    await act(async () => void this.events.dispatchEvent(new Event("load")));
  }
}

afterEach(() => {
  FakeXhr.sent = [];
  vi.unstubAllGlobals();
});

const ACCEPTED = { document_id: "d-1", job_id: "j-1", version: 1, status: "queued", duplicate: false };

describe("Upload panel", () => {
  it("shows each file's own progress and outcome", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const onUploaded = vi.fn();
    render(<UploadPanel api={new Api("rl_key")} onUploaded={onUploaded} />);

    const guide = new File(["# Guide\n\nhello"], "guide.md", { type: "text/markdown" });
    const big = new File(["x".repeat(100)], "big.pdf", { type: "application/pdf" });
    await userEvent.upload(screen.getByLabelText("Upload files"), [guide, big]);

    expect(FakeXhr.sent).toHaveLength(2);
    const [first, second] = FakeXhr.sent;
    if (!first || !second) throw new Error("two uploads expected");
    expect(first.url).toBe("/v1/documents");
    expect(first.headers.Authorization).toBe("Bearer rl_key");
    expect((first.body?.get("file") as File).name).toBe("guide.md");

    first.progress(25, 100);
    second.progress(90, 100);
    expect(screen.getByRole("progressbar", { name: "guide.md" })).toHaveProperty("value", 0.25);
    expect(screen.getByRole("progressbar", { name: "big.pdf" })).toHaveProperty("value", 0.9);

    await first.respond(202, ACCEPTED);
    await second.respond(413, {
      status: 413,
      title: "Payload Too Large",
      detail: "The file is larger than 10 MiB.",
      code: "payload_too_large",
    });

    expect(screen.getByRole("progressbar", { name: "guide.md" })).toHaveProperty("value", 1);
    const rows = screen.getAllByRole("listitem");
    const guideRow = rows.find((row) => row.textContent?.includes("guide.md"));
    const bigRow = rows.find((row) => row.textContent?.includes("big.pdf"));
    expect(guideRow).toHaveTextContent("accepted");
    expect(within(bigRow as HTMLElement).getByRole("alert")).toHaveTextContent(
      "The file is larger than 10 MiB.",
    );
    expect(bigRow).toHaveTextContent("payload_too_large");
    expect(onUploaded).toHaveBeenCalledTimes(1);
  });

  it("marks the folder input as a directory picker", () => {
    render(<UploadPanel api={new Api("k")} onUploaded={() => undefined} />);
    expect(screen.getByLabelText("Upload a folder")).toHaveAttribute("webkitdirectory");
    expect(screen.getByLabelText("Upload files")).toHaveAttribute("multiple");
  });
});
