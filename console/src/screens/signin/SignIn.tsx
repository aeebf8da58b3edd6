import { useState, type FormEvent } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";

/** Sign in with an operator token or a tenant API key; the gateway says what it may do. */
export function SignIn({
  onSignIn,
  notice,
}: {
  onSignIn: (credential: string) => Promise<void>;
  /** Why the last session ended, when it was not the user's choice. */
  notice?: string | undefined;
}) {
  const [credential, setCredential] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSignIn(credential.trim());
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  return (
    <main className="centered">
      <form className="card signin" onSubmit={submit}>
        <h1>Sign in</h1>
        {notice && (
          <p role="status" className="notice">
            {notice}
          </p>
        )}
        <p className="hint">Use an operator token or a tenant API key. It is kept for this tab only.</p>
        <label htmlFor="credential">Credential</label>
        <input
          id="credential"
          type="password"
          autoComplete="off"
          required
          value={credential}
          onChange={(event) => setCredential(event.target.value)}
        />
        <button type="submit" disabled={busy || credential.trim() === ""}>
          Sign in
        </button>
        <ErrorAlert error={error} />
      </form>
    </main>
  );
}
