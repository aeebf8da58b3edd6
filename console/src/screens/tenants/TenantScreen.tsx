import { useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { useSession } from "../../auth/AuthContext";
import { ErrorAlert } from "../../components/ErrorAlert";
import { useLoad } from "../../components/useLoad";
import { KeysSection } from "../keys/KeysSection";
import { DeleteTenantDialog } from "./DeleteTenantDialog";
import { LimitsForm } from "./LimitsForm";

/** One tenant: its limits and quotas, its keys, and erasing it. */
export function TenantScreen() {
  const { tenantId = "" } = useParams();
  const { api } = useSession();
  const navigate = useNavigate();
  const tenant = useLoad(() => api.getTenant(tenantId), [api, tenantId]);
  const [deleting, setDeleting] = useState(false);

  if (!tenant.data) {
    return (
      <>
        <h1>Tenant</h1>
        {tenant.loading ? <p>Loading…</p> : <ErrorAlert error={tenant.error} />}
      </>
    );
  }
  const current = tenant.data;

  return (
    <>
      <h1>{current.name}</h1>
      <p className="hint">
        Tenant id <code>{current.id}</code>
      </p>
      <LimitsForm
        key={current.id}
        tenant={current}
        onSave={async (patch) => {
          await api.updateTenant(current.id, patch);
          await tenant.reload();
        }}
      />
      <KeysSection tenantId={current.id} />
      <section aria-labelledby="danger-heading" className="danger-zone">
        <h2 id="danger-heading">Delete</h2>
        <button type="button" className="danger" onClick={() => setDeleting(true)}>
          Delete tenant
        </button>
      </section>
      {deleting && (
        <DeleteTenantDialog
          tenantName={current.name}
          onClose={() => setDeleting(false)}
          onDelete={async () => {
            await api.deleteTenant(current.id);
            navigate("/tenants");
          }}
        />
      )}
    </>
  );
}
