/** Which screens a credential may use: the navigation shows these and nothing else. */
import type { Scope, WhoAmI } from "../api/types";

export interface Screen {
  path: string;
  label: string;
}

const OPERATOR: Screen[] = [
  { path: "/tenants", label: "Tenants" },
  { path: "/dead-letters", label: "Dead letters" },
  { path: "/health", label: "Health" },
];

const TENANT: { screen: Screen; needs: Scope[] }[] = [
  { screen: { path: "/documents", label: "Documents" }, needs: ["ingest", "query"] },
  { screen: { path: "/search", label: "Search" }, needs: ["query"] },
  { screen: { path: "/ask", label: "Ask" }, needs: ["query"] },
  { screen: { path: "/usage", label: "Usage" }, needs: ["query", "admin"] },
  { screen: { path: "/keys", label: "Keys" }, needs: ["admin"] },
];

/** The screens of `who`, in navigation order (any one of a screen's scopes suffices). */
export function screensFor(who: WhoAmI): Screen[] {
  if (who.kind === "operator") return OPERATOR;
  return TENANT.filter(({ needs }) => needs.some((scope) => who.scopes.includes(scope))).map(
    ({ screen }) => screen,
  );
}

export function hasScope(who: WhoAmI, ...scopes: Scope[]): boolean {
  return scopes.some((scope) => who.scopes.includes(scope));
}
