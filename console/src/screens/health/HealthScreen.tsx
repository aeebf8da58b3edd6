import { useSession } from "../../auth/AuthContext";
import { TableWrap } from "../../components/TableWrap";
import { ErrorAlert } from "../../components/ErrorAlert";
import { useLoad } from "../../components/useLoad";

/** `/readyz`: whether each dependency answers. */
export function HealthScreen() {
  const { api } = useSession();
  const readiness = useLoad(() => api.readiness(), [api]);
  const checks = Object.entries(readiness.data?.checks ?? {});
  return (
    <>
      <h1>Health</h1>
      <div className="actions">
        <button type="button" className="secondary" onClick={() => void readiness.reload()}>
          Check again
        </button>
      </div>
      <ErrorAlert error={readiness.error} />
      {readiness.data && (
        <p role="status">
          Overall:{" "}
          <strong className={readiness.data.status === "ready" ? "ok" : "bad"}>
            {readiness.data.status}
          </strong>
        </p>
      )}
      <TableWrap label="Dependencies">
        <table>
          <caption>Dependencies</caption>
          <thead>
            <tr>
              <th scope="col">Dependency</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {checks.map(([name, status]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td className={status === "ok" ? "ok" : "bad"}>{status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </>
  );
}
