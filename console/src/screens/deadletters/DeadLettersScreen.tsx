import { useState } from "react";
import type { DeadLetter } from "../../api/types";
import { useSession } from "../../auth/AuthContext";
import { Dialog } from "../../components/Dialog";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatDate } from "../../components/format";
import { useLoad } from "../../components/useLoad";

/** Messages that failed for good: see why, send one back, or purge them all. */
export function DeadLettersScreen() {
  const { api } = useSession();
  const letters = useLoad(() => api.listDeadLetters(), [api]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");
  const [confirming, setConfirming] = useState(false);

  async function act(action: () => Promise<string>) {
    setError(null);
    setNotice("");
    try {
      setNotice(await action());
      await letters.reload();
    } catch (caught) {
      setError(caught);
    }
  }

  const replay = (letter: DeadLetter) =>
    act(async () => {
      await api.replayDeadLetter(letter);
      return `Dead letter ${letter.id} sent back to ${letter.queue}.`;
    });

  const purge = () =>
    act(async () => {
      setConfirming(false);
      const purged = await api.purgeDeadLetters();
      return `Purged ${purged} dead letters.`;
    });

  const rows = letters.data ?? [];
  return (
    <>
      <h1>Dead letters</h1>
      <div className="actions">
        <button
          type="button"
          className="danger"
          disabled={rows.length === 0}
          onClick={() => setConfirming(true)}
        >
          Purge all
        </button>
        <button type="button" className="secondary" onClick={() => void letters.reload()}>
          Refresh
        </button>
      </div>
      {notice && <p role="status">{notice}</p>}
      <ErrorAlert error={error ?? letters.error} />
      <TableWrap label="Dead letters">
        <table>
          <caption>Dead letters</caption>
          <thead>
            <tr>
              <th scope="col">Parked</th>
              <th scope="col">Queue</th>
              <th scope="col">Tenant</th>
              <th scope="col">Type</th>
              <th scope="col">Document / job</th>
              <th scope="col">Reason</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((letter) => (
              <tr key={`${letter.tenant_id ?? ""}/${letter.id}`}>
                <td>{formatDate(letter.dead_lettered_at)}</td>
                <td>{letter.queue}</td>
                <td>
                  <code>{letter.tenant_id ?? "—"}</code>
                </td>
                <td>{letter.message_type ?? "—"}</td>
                <td>
                  <code>{letter.document_id ?? "—"}</code> / <code>{letter.job_id ?? "—"}</code>
                </td>
                <td>{letter.reason}</td>
                <td>
                  <button type="button" className="secondary" onClick={() => void replay(letter)}>
                    Replay
                  </button>
                </td>
              </tr>
            ))}
            {letters.data?.length === 0 && (
              <tr>
                <td colSpan={7}>No dead letters.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableWrap>
      {confirming && (
        <Dialog title="Purge all dead letters" onClose={() => setConfirming(false)}>
          <p>Every dead letter listed is deleted for good; none can be replayed afterwards.</p>
          <div className="actions">
            <button type="button" className="danger" onClick={() => void purge()}>
              Purge
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}
