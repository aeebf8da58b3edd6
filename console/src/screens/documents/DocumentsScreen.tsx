import { useCallback } from "react";
import { Link } from "react-router-dom";
import { TERMINAL_STATUSES, type JobOut } from "../../api/types";
import { useSession } from "../../auth/AuthContext";
import { hasScope } from "../../auth/permissions";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatDate, formatNumber } from "../../components/format";
import { useLoad } from "../../components/useLoad";
import { usePolling } from "../../components/usePolling";
import { PasteTextForm } from "./PasteTextForm";
import { UploadPanel } from "./UploadPanel";

/** The newest job of each document (jobs come newest first). */
function latestJobs(jobs: JobOut[]): Map<string, JobOut> {
  const latest = new Map<string, JobOut>();
  for (const job of jobs) if (!latest.has(job.document_id)) latest.set(job.document_id, job);
  return latest;
}

/**
 * Upload and paste, then watch the documents and their jobs: the lists refresh every 1.5 s
 * while any job is queued or processing, and stop once all are indexed or failed.
 */
export function DocumentsScreen() {
  const { api, who } = useSession();
  const canIngest = hasScope(who, "ingest");
  const canRead = hasScope(who, "query", "admin");
  const documents = useLoad(
    async () => (canRead ? (await api.listDocuments()).documents : []),
    [api, canRead],
  );
  const jobs = useLoad(async () => (await api.listJobs({ limit: 50 })).jobs, [api]);

  const refresh = useCallback(() => {
    void documents.reload();
    void jobs.reload();
  }, [documents.reload, jobs.reload]);

  const running =
    (jobs.data ?? []).some((job) => !TERMINAL_STATUSES.includes(job.status)) ||
    (documents.data ?? []).some((doc) => !TERMINAL_STATUSES.includes(doc.status));
  usePolling(running, refresh);

  const latest = latestJobs(jobs.data ?? []);
  const titles = new Map((documents.data ?? []).map((doc) => [doc.id, doc.title]));
  return (
    <>
      <h1>Documents</h1>
      {canIngest && (
        <div className="two-columns">
          <UploadPanel api={api} onUploaded={refresh} />
          <PasteTextForm api={api} onAdded={refresh} />
        </div>
      )}
      <p className="hint" aria-live="polite">
        {running ? "Jobs are running: the lists update every few seconds." : "All jobs have finished."}
      </p>
      {canRead && (
        <>
          <ErrorAlert error={documents.error} />
          <TableWrap label="Documents">
            <table>
              <caption>Documents</caption>
              <thead>
                <tr>
                  <th scope="col">Title</th>
                  <th scope="col">Status</th>
                  <th scope="col">Version</th>
                  <th scope="col">Chunks</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {(documents.data ?? []).map((doc) => {
                  const reason = doc.status === "failed" ? latest.get(doc.id)?.reason : null;
                  return (
                    <tr key={doc.id}>
                      <td>
                        <Link to={`/documents/${doc.id}`}>{doc.title}</Link>
                      </td>
                      <td>
                        <span className={`status ${doc.status}`}>{doc.status}</span>
                        {reason && <span className="reason">: {reason}</span>}
                      </td>
                      <td>{doc.version}</td>
                      <td>{formatNumber(doc.chunk_count)}</td>
                      <td>{formatDate(doc.updated_at)}</td>
                    </tr>
                  );
                })}
                {documents.data?.length === 0 && (
                  <tr>
                    <td colSpan={5}>No documents yet.</td>
                  </tr>
                )}
              </tbody>
            </table>
          </TableWrap>
        </>
      )}
      <ErrorAlert error={jobs.error} />
      <TableWrap label="Jobs">
        <table>
          <caption>Jobs</caption>
          <thead>
            <tr>
              <th scope="col">Document</th>
              <th scope="col">Version</th>
              <th scope="col">Status</th>
              <th scope="col">Chunks</th>
              <th scope="col">Updated</th>
              <th scope="col">Job</th>
            </tr>
          </thead>
          <tbody>
            {(jobs.data ?? []).map((job) => (
              <tr key={job.id}>
                <td>
                  {titles.has(job.document_id) ? (
                    <Link to={`/documents/${job.document_id}`}>{titles.get(job.document_id)}</Link>
                  ) : (
                    <code>{job.document_id}</code>
                  )}
                </td>
                <td>{job.version}</td>
                <td>
                  <span className={`status ${job.status}`}>{job.status}</span>
                  {job.reason && <span className="reason">: {job.reason}</span>}
                </td>
                <td>{formatNumber(job.chunk_count)}</td>
                <td>{formatDate(job.updated_at)}</td>
                <td>
                  <code className="id">{job.id}</code>
                </td>
              </tr>
            ))}
            {jobs.data?.length === 0 && (
              <tr>
                <td colSpan={6}>No jobs yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableWrap>
    </>
  );
}
