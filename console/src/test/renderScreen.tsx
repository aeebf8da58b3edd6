import { render, type RenderResult } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { Api } from "../api/client";
import { ROUTER_FUTURE } from "../App";
import type { WhoAmI } from "../api/types";
import { SessionContext } from "../auth/AuthContext";

export const TENANT: WhoAmI = {
  kind: "tenant",
  tenant_id: "t-1",
  tenant_name: "Acme",
  key_id: "k-1",
  scopes: ["ingest", "query"],
};

/** `screen` rendered at `path` (matched by `pattern`) inside a signed-in session. */
export function renderScreen(
  screen: ReactElement,
  { who = TENANT, path = "/", pattern = "*" }: { who?: WhoAmI; path?: string; pattern?: string } = {},
): RenderResult {
  const session = { api: new Api("rl_test_key"), who, signOut: () => undefined };
  return render(
    <MemoryRouter initialEntries={[path]} future={ROUTER_FUTURE}>
      <SessionContext.Provider value={session}>
        <Routes>
          <Route path={pattern} element={screen} />
        </Routes>
      </SessionContext.Provider>
    </MemoryRouter>,
  );
}
