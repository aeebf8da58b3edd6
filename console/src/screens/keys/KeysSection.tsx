import { useState, type FormEvent } from "react";
import type { ApiKeyCreated, Scope } from "../../api/types";
import { useSession } from "../../auth/AuthContext";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatDate } from "../../components/format";
import { useLoad } from "../../components/useLoad";

const SCOPES: Scope[] = ["ingest", "query", "admin"];

/** The secret of a key just made: shown once, here, and never again. */
function NewKey({ created }: { created: ApiKeyCreated }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    await navigator.clipboard.writeText(created.key);
    setCopied(true);
  }
  return (
    <div className="new-key">
      <label htmlFor="new-key">New API key</label>
      <div className="inline-form">
        <input id="new-key" readOnly value={created.key} onFocus={(event) => event.target.select()} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p className="hint">Store it now: it is shown once. {copied && <span role="status">Copied.</span>}</p>
    </div>
  );
}

/** A tenant's API keys: create (with scopes), rotate, revoke. */
export function KeysSection({ tenantId }: { tenantId: string }) {
  const { api } = useSession();
  const keys = useLoad(() => api.listKeys(tenantId), [api, tenantId]);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["ingest", "query"]);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function act(action: () => Promise<ApiKeyCreated | void>) {
    setError(null);
    try {
      const result = await action();
      setCreated(result ?? null);
      await keys.reload();
    } catch (caught) {
      setError(caught);
    }
  }

  function create(event: FormEvent) {
    event.preventDefault();
    void act(() => api.createKey(tenantId, name.trim() || "default", scopes));
  }

  function toggle(scope: Scope, on: boolean) {
    setScopes(on ? [...scopes, scope] : scopes.filter((s) => s !== scope));
  }

  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">Keys</h2>
      <form className="inline-form" onSubmit={create}>
        <div className="field">
          <label htmlFor="key-name">Key name</label>
          <input
            id="key-name"
            maxLength={200}
            value={name}
            onChange={(event) => setName(event.target.value)}
          />
        </div>
        <fieldset className="scopes-field">
          <legend>Scopes</legend>
          {SCOPES.map((scope) => (
            <label key={scope} className="check">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(event) => toggle(scope, event.target.checked)}
              />
              {scope}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={scopes.length === 0}>
          Create key
        </button>
      </form>
      {created && <NewKey created={created} />}
      <ErrorAlert error={error ?? keys.error} />
      <TableWrap label="API keys">
        <table>
          <caption>API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(keys.data ?? []).map((key) => {
              const active = key.revoked_at === null && !key.replaced_by;
              return (
                <tr key={key.id}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}</code>
                  </td>
                  <td>{key.scopes.join(", ")}</td>
                  <td>{formatDate(key.created_at)}</td>
                  <td>{formatDate(key.expires_at)}</td>
                  <td>{key.revoked_at ? "revoked" : key.replaced_by ? "rotated" : "active"}</td>
                  <td className="row-actions">
                    {active && (
                      <>
                        <button
                          type="button"
                          className="secondary"
                          onClick={() => void act(() => api.rotateKey(tenantId, key.id))}
                        >
                          Rotate
                        </button>
                        <button
                          type="button"
                          className="danger"
                          onClick={() => void act(() => api.revokeKey(tenantId, key.id))}
                        >
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
    </section>
  );
}
