import { useState, type FormEvent } from "react";
import { Dialog } from "../../components/Dialog";
import { ErrorAlert } from "../../components/ErrorAlert";

interface Props {
  tenantName: string;
  onDelete: () => Promise<void>;
  onClose: () => void;
}

/** Erasing a tenant cannot be undone: the operator types its name to confirm. */
export function DeleteTenantDialog({ tenantName, onDelete, onClose }: Props) {
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const matches = typed === tenantName;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!matches) return;
    setBusy(true);
    setError(null);
    try {
      await onDelete();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  return (
    <Dialog title="Delete tenant" onClose={onClose}>
      <form onSubmit={submit}>
        <p>
          This erases <strong>{tenantName}</strong>: its documents, chunks, keys and usage. It cannot be
          undone.
        </p>
        <label htmlFor="confirm-tenant-name">Type the tenant name to confirm</label>
        <input
          id="confirm-tenant-name"
          autoComplete="off"
          value={typed}
          onChange={(event) => setTyped(event.target.value)}
        />
        <ErrorAlert error={error} />
        <div className="actions">
          <button type="submit" className="danger" disabled={!matches || busy}>
            Delete
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}
