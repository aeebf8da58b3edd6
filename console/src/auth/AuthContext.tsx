import { createContext, useContext } from "react";
import type { Api } from "../api/client";
import type { WhoAmI } from "../api/types";

export interface Session {
  api: Api;
  who: WhoAmI;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

/** The signed-in session; screens render only inside one. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in session");
  return session;
}
