import { useState, type FormEvent } from "react";
import type { Tenant, TenantPatch } from "../../api/types";
import { ErrorAlert } from "../../components/ErrorAlert";

interface LimitField {
  id: string;
  label: string;
  value: (tenant: Tenant) => number | null;
  optional: boolean;
}

const FIELDS: LimitField[] = [
  {
    id: "query_per_minute",
    label: "Queries per minute",
    value: (t) => t.rate_limits.query_per_minute,
    optional: false,
  },
  {
    id: "ingest_per_minute",
    label: "Uploads per minute",
    value: (t) => t.rate_limits.ingest_per_minute,
    optional: false,
  },
  { id: "documents", label: "Most documents", value: (t) => t.quotas.documents, optional: true },
  { id: "stored_bytes", label: "Most stored bytes", value: (t) => t.quotas.stored_bytes, optional: true },
  {
    id: "llm_tokens_per_day",
    label: "LLM tokens per day",
    value: (t) => t.quotas.llm_tokens_per_day,
    optional: true,
  },
];

type Values = Record<string, string>;

function valuesOf(tenant: Tenant): Values {
  return Object.fromEntries(FIELDS.map((f) => [f.id, String(f.value(tenant) ?? "")]));
}

/** A blank quota means unlimited (null); rate limits are always numbers. */
function patchOf(values: Values): TenantPatch {
  const number = (id: string) => (values[id]?.trim() ? Number(values[id]) : null);
  const rate = (id: string) => number(id) ?? undefined;
  return {
    rate_limits: { query_per_minute: rate("query_per_minute"), ingest_per_minute: rate("ingest_per_minute") },
    quotas: {
      documents: number("documents"),
      stored_bytes: number("stored_bytes"),
      llm_tokens_per_day: number("llm_tokens_per_day"),
    },
  };
}

/** The limits and quotas that bind a tenant now; the operator changes them here. */
export function LimitsForm({
  tenant,
  onSave,
}: {
  tenant: Tenant;
  onSave: (patch: TenantPatch) => Promise<void>;
}) {
  const [values, setValues] = useState<Values>(() => valuesOf(tenant));
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await onSave(patchOf(values));
      setSaved(true);
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <form className="grid-form" onSubmit={submit} aria-labelledby="limits-heading">
      <h2 id="limits-heading">Limits and quotas</h2>
      {FIELDS.map((field) => (
        <div className="field" key={field.id}>
          <label htmlFor={`limit-${field.id}`}>{field.label}</label>
          <input
            id={`limit-${field.id}`}
            type="number"
            min={field.optional ? 0 : 1}
            required={!field.optional}
            placeholder={field.optional ? "unlimited" : undefined}
            value={values[field.id] ?? ""}
            onChange={(event) => setValues({ ...values, [field.id]: event.target.value })}
          />
        </div>
      ))}
      <div className="actions">
        <button type="submit">Save limits</button>
        {saved && <span role="status">Limits saved.</span>}
      </div>
      <ErrorAlert error={error} />
    </form>
  );
}
