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
  | { phase: "signed-out"; notice?: string }
  | { phase: "signed-in"; api: Api; who: WhoAmI };

function initial(): State {
  const credential = storedCredential();
  return credential ? { phase: "checking", credential } : { phase: "signed-out" };
}

/** Signs in with the stored credential (if any), then shows the screens it may use. */
export function App() {
  const [state, setState] = useState<State>(initial);
  const navigate = useNavigate();

  const signOut = useCallback((notice?: string) => {
    forgetCredential();
    setState({ phase: "signed-out", notice });
  }, []);

  const open = useCallback(
    async (credential: string): Promise<WhoAmI> => {
      const who = await new Api(credential).whoami();
      const api = new Api(credential, () =>
        signOut("Your credential is no longer accepted (revoked or expired). Sign in again."),
      );
      storeCredential(credential);
      setState({ phase: "signed-in", api, who });
      return who;
    },
    [signOut],
  );

  /** A new sign-in starts at the credential's first screen: the last one may not be its. */
  const signIn = useCallback(
    async (credential: string) => {
      const who = await open(credential);
      navigate(screensFor(who)[0]?.path ?? "/", { replace: true });
    },
    [open, navigate],
  );

  useEffect(() => {
    if (state.phase !== "checking") return;
    open(state.credential).catch(() => signOut());
  }, [state, open, signOut]);

  const session = useMemo<Session | null>(
    () => (state.phase === "signed-in" ? { api: state.api, who: state.who, signOut: () => signOut() } : null),
    [state, signOut],
  );

  if (state.phase === "checking") {
    return (
      <main className="centered" aria-busy="true">
        <p>Checking your credential…</p>
      </main>
    );
  }
  if (!session)
    return <SignIn onSignIn={signIn} notice={state.phase === "signed-out" ? state.notice : undefined} />;
  return (
    <SessionContext.Provider value={session}>
      <AppRoutes />
    </SessionContext.Provider>
  );
}
