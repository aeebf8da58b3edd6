import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App, ROUTER_FUTURE } from "../../App";
import { fakeFetch, json, problem } from "../../test/fakeApi";

afterEach(() => vi.unstubAllGlobals());

const WHO: Record<string, object> = {
  "op-token": { kind: "operator", tenant_id: null, tenant_name: null, key_id: null, scopes: [] },
  rl_query: { kind: "tenant", tenant_id: "t-1", tenant_name: "Acme", key_id: "k-1", scopes: ["query"] },
  rl_ingest: { kind: "tenant", tenant_id: "t-1", tenant_name: "Acme", key_id: "k-2", scopes: ["ingest"] },
  rl_admin: { kind: "tenant", tenant_id: "t-1", tenant_name: "Acme", key_id: "k-3", scopes: ["admin"] },
};

const TOTALS = {
  requests: 0,
  degraded_requests: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  embedding_tokens: 0,
  estimated_cost_usd: 0,
};
const EMPTY: Record<string, object> = {
  "/v1/documents": { documents: [], next_offset: null },
  "/v1/jobs": { jobs: [], next_offset: null },
  "/v1/usage": { tenant_id: "t-1", start: "2026-11-05", end: "2026-12-04", days: [], totals: TOTALS },
};

/** A gateway that knows the credentials above and has nothing in it. */
function gateway() {
  return fakeFetch(({ url, headers }) => {
    const credential = headers.Authorization?.replace("Bearer ", "") ?? "";
    if (url === "/v1/whoami") {
      const who = WHO[credential];
      return who ? json(who) : problem(401, "The API key is not valid.", "invalid_api_key");
    }
    return json(EMPTY[url.split("?")[0] ?? ""] ?? []);
  });
}

async function signInWith(credential: string) {
  render(
    <MemoryRouter future={ROUTER_FUTURE}>
      <App />
    </MemoryRouter>,
  );
  await userEvent.type(screen.getByLabelText("Credential"), credential);
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
}

function navLinks(): string[] {
  const nav = screen.getByRole("navigation", { name: "Main" });
  return within(nav)
    .getAllByRole("link")
    .map((link) => link.textContent ?? "");
}

describe("Sign in", () => {
  it("shows the problem detail for a wrong credential and stores nothing", async () => {
    gateway();
    await signInWith("rl_wrong");
    expect(await screen.findByRole("alert")).toHaveTextContent("The API key is not valid.");
    expect(screen.getByRole("alert")).toHaveTextContent("invalid_api_key");
    expect(screen.getByRole("heading", { level: 1, name: "Sign in" })).toBeInTheDocument();
    expect(sessionStorage.length).toBe(0);
  });

  it("gives the operator the operator screens only", async () => {
    gateway();
    await signInWith("op-token");
    expect(await screen.findByText("Signed in as operator")).toBeInTheDocument();
    expect(navLinks()).toEqual(["Tenants", "Dead letters", "Health"]);
    expect(sessionStorage.getItem("ragline.credential")).toBe("op-token");
  });

  it("gives a query key its tenant's reading screens, with its name and scopes", async () => {
    gateway();
    await signInWith("rl_query");
    expect(await screen.findByText(/Signed in as Acme/)).toHaveTextContent("scopes: query");
    expect(navLinks()).toEqual(["Documents", "Search", "Ask", "Usage"]);
  });

  it("gives an ingest-only key Documents and nothing that reads answers or usage", async () => {
    gateway();
    await signInWith("rl_ingest");
    await screen.findByText(/Signed in as Acme/);
    expect(navLinks()).toEqual(["Documents"]);
  });

  it("gives an admin key usage and keys, and no operator screen", async () => {
    gateway();
    await signInWith("rl_admin");
    await screen.findByText(/Signed in as Acme/);
    expect(navLinks()).toEqual(["Usage", "Keys"]);
  });

  it("signs out: the credential is forgotten and the sign-in screen returns", async () => {
    gateway();
    await signInWith("op-token");
    await userEvent.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(screen.getByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    expect(sessionStorage.getItem("ragline.credential")).toBeNull();
  });

  it("resumes a session from sessionStorage without asking again", async () => {
    gateway();
    sessionStorage.setItem("ragline.credential", "rl_query");
    render(
      <MemoryRouter initialEntries={["/tenants"]} future={ROUTER_FUTURE}>
        <App />
      </MemoryRouter>,
    );
    expect(await screen.findByText(/Signed in as Acme/)).toBeInTheDocument();
    // A tenant key asking for an operator screen gets "not found", not the screen.
    expect(screen.getByRole("heading", { level: 1, name: "Not found" })).toBeInTheDocument();
  });
});

describe("Sign in after another credential", () => {
  it("starts at the new credential's first screen, not at the last one's", async () => {
    gateway();
    render(
      <MemoryRouter initialEntries={["/health"]} future={ROUTER_FUTURE}>
        <App />
      </MemoryRouter>,
    );
    await userEvent.type(screen.getByLabelText("Credential"), "rl_query");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Documents" })).toBeInTheDocument();
  });
});

describe("Navigation", () => {
  it("moves focus to the new screen after a link is followed", async () => {
    gateway();
    await signInWith("op-token");
    await screen.findByRole("heading", { level: 1, name: "Tenants" });
    await userEvent.click(screen.getByRole("link", { name: "Health" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Health" })).toBeInTheDocument();
    expect(screen.getByRole("main")).toHaveFocus();
  });
});

describe("A credential revoked mid-session", () => {
  it("ends the session at the first 401 and says why", async () => {
    let revoked = false;
    fakeFetch(({ url }) => {
      if (revoked) return problem(401, "The API key is not valid.", "invalid_api_key");
      if (url === "/v1/whoami") return json(WHO.rl_query);
      return json({ documents: [], jobs: [], next_offset: null });
    });
    await signInWith("rl_query");
    await screen.findByRole("heading", { level: 1, name: "Documents" });
    revoked = true;
    await userEvent.click(screen.getByRole("link", { name: "Search" }));
    await userEvent.type(screen.getByLabelText("Query"), "refunds");
    await userEvent.click(screen.getByRole("button", { name: "Search" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Sign in" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("no longer accepted");
    expect(sessionStorage.getItem("ragline.credential")).toBeNull();
  });
});
