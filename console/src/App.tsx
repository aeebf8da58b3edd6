import { useCallback, useEffect, useMemo, useState } from "react";
import { useNavigate } from "react-router-dom";
import { Api } from "./api/client";
import type { WhoAmI } from "./api/types";
import { SessionContext, type Session } from "./auth/AuthContext";
import { screensFor } from "./auth/permissions";
import { forgetCredential, storeCredential, storedCredential } from "./auth/session";
import { AppRoutes } from "./AppRoutes";
import { SignIn } from "./screens/signin/SignIn";

/** React Router v7 behaviour now, so the upgrade changes nothing (and v6 stops warning). */
export const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true } as const;

type State =
  | { phase: "checking"; credential: string }
  | { phase: "signed-out" }
  | { phase: "signed-in"; api: Api; who: WhoAmI };

function initial(): State {
  const credential = storedCredential();
  return credential ? { phase: "checking", credential } : { phase: "signed-out" };
}

/** Signs in with the stored credential (if any), then shows the screens it may use. */
export function App() {
  const [state, setState] = useState<State>(initial);
  const navigate = useNavigate();

  const open = useCallback(async (credential: string): Promise<WhoAmI> => {
    const api = new Api(credential);
    const who = await api.whoami();
    storeCredential(credential);
    setState({ phase: "signed-in", api, who });
    return who;
  }, []);

  /** A new sign-in starts at the credential's first screen: the last one may not be its. */
  const signIn = useCallback(
    async (credential: string) => {
      const who = await open(credential);
      navigate(screensFor(who)[0]?.path ?? "/", { replace: true });
    },
    [open, navigate],
  );

  const signOut = useCallback(() => {
    forgetCredential();
    setState({ phase: "signed-out" });
  }, []);

  useEffect(() => {
    if (state.phase !== "checking") return;
    open(state.credential).catch(() => signOut());
  }, [state, open, signOut]);

  const session = useMemo<Session | null>(
    () => (state.phase === "signed-in" ? { api: state.api, who: state.who, signOut } : null),
    [state, signOut],
  );

  if (state.phase === "checking") {
    return (
      <main className="centered" aria-busy="true">
        <p>Checking your credential…</p>
      </main>
    );
  }
  if (!session) return <SignIn onSignIn={signIn} />;
  return (
    <SessionContext.Provider value={session}>
      <AppRoutes />
    </SessionContext.Provider>
  );
}
