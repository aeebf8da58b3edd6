import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ApiKey } from "../../api/types";
import { fakeFetch, json } from "../../test/fakeApi";
import { renderScreen } from "../../test/renderScreen";
import { KeysSection } from "./KeysSection";

afterEach(() => vi.unstubAllGlobals());

/** A tenant's keys kept in memory, behaving as the gateway's key routes do. */
function keyGateway() {
  const keys: ApiKey[] = [];
  let made = 0;
  const make = (name: string, scopes: ApiKey["scopes"]) => {
    made += 1;
    const key: ApiKey = {
      id: `key-${made}`,
      tenant_id: "t-1",
      name,
      prefix: `rl_${made}`,
      scopes,
      created_at: "2026-12-04T10:00:00Z",
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
      replaced_by: null,
    };
    keys.push(key);
    return json({ ...key, key: `rl_secret_${made}` }, 201);
  };
  const calls = fakeFetch(({ method, url, body }) => {
    const [, keyId, action] = url.match(/^\/v1\/tenants\/t-1\/keys(?:\/([^/]+))?(?:\/(rotate))?$/) ?? [];
    const key = keys.find((k) => k.id === keyId);
    if (method === "GET") return json(keys);
    if (method === "POST" && !keyId) {
      const { name, scopes } = body as { name: string; scopes: ApiKey["scopes"] };
      return make(name, scopes);
    }
    if (key && action === "rotate") {
      const response = make(key.name, key.scopes);
      key.replaced_by = `key-${made}`;
      return response;
    }
    if (key && method === "DELETE") {
      key.revoked_at = "2026-12-04T11:00:00Z";
      return new Response(null, { status: 204 });
    }
    return json({ detail: "No such key.", code: "key_not_found" }, 404);
  });
  return calls;
}

describe("Keys", () => {
  it("creates a key with the chosen scopes and shows its secret once", async () => {
    const calls = keyGateway();
    renderScreen(<KeysSection tenantId="t-1" />);
    await userEvent.type(screen.getByLabelText("Key name"), "ci");
    await userEvent.click(screen.getByRole("checkbox", { name: "ingest" }));
    await userEvent.click(screen.getByRole("checkbox", { name: "admin" }));
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));

    expect(await screen.findByLabelText("New API key")).toHaveValue("rl_secret_1");
    expect(screen.getByLabelText("New API key")).toHaveAttribute("readonly");
    expect(calls.find((call) => call.method === "POST")?.body).toEqual({
      name: "ci",
      scopes: ["query", "admin"],
    });
    const table = screen.getByRole("table", { name: "API keys" });
    expect(await within(table).findByText("query, admin")).toBeInTheDocument();
  });

  it("rotates a key (the new secret shown, the old one marked) and revokes one", async () => {
    keyGateway();
    renderScreen(<KeysSection tenantId="t-1" />);
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));
    const table = screen.getByRole("table", { name: "API keys" });
    await userEvent.click(await within(table).findByRole("button", { name: "Rotate" }));

    expect(await screen.findByLabelText("New API key")).toHaveValue("rl_secret_2");
    const states = () =>
      within(table)
        .getAllByRole("row")
        .slice(1)
        .map((row) => within(row).getAllByRole("cell")[5]?.textContent);
    expect(await within(table).findByText("rotated")).toBeInTheDocument();
    expect(states()).toEqual(["rotated", "active"]);

    await userEvent.click(within(table).getByRole("button", { name: "Revoke" }));
    expect(await within(table).findByText("revoked")).toBeInTheDocument();
    expect(states()).toEqual(["rotated", "revoked"]);
    expect(screen.queryByLabelText("New API key")).toBeNull();
    expect(within(table).queryByRole("button", { name: "Rotate" })).toBeNull();
  });
});
