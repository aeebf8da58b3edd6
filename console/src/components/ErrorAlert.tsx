import { ApiError } from "../api/client";

/** A failure as the API described it: the detail to read, the code to quote. */
export function ErrorAlert({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const detail = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : null;
  return (
    <p role="alert" className="alert">
      {detail}
      {code && <code className="alert-code">{code}</code>}
    </p>
  );
}
