import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { useSession } from "../../auth/AuthContext";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatDate } from "../../components/format";
import { useLoad } from "../../components/useLoad";

/** Operator: every tenant, and a form to create one. */
export function TenantsScreen() {
  const { api } = useSession();
  const tenants = useLoad(() => api.listTenants(), [api]);
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await api.createTenant(name.trim());
      setName("");
      await tenants.reload();
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <>
      <h1>Tenants</h1>
      <form className="inline-form" onSubmit={create}>
        <div className="field">
          <label htmlFor="tenant-name">Tenant name</label>
          <input
            id="tenant-name"
            required
            maxLength={200}
            value={name}
            onChange={(event) => setName(event.target.value)}
          />
        </div>
        <button type="submit" disabled={name.trim() === ""}>
          Create tenant
        </button>
      </form>
      <ErrorAlert error={error ?? tenants.error} />
      <TableWrap label="Tenants">
        <table>
          <caption>Tenants</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {(tenants.data ?? []).map((tenant) => (
              <tr key={tenant.id}>
                <td>
                  <Link to={`/tenants/${tenant.id}`}>{tenant.name}</Link>
                </td>
                <td>
                  <code>{tenant.id}</code>
                </td>
                <td>{formatDate(tenant.created_at)}</td>
              </tr>
            ))}
            {tenants.data?.length === 0 && (
              <tr>
                <td colSpan={3}>No tenants yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableWrap>
    </>
  );
}
