import { useParams } from "react-router-dom";
import { useSession } from "../../auth/AuthContext";
import { placeOf } from "../../components/chunkPlace";
import { ErrorAlert } from "../../components/ErrorAlert";
import { useLoad } from "../../components/useLoad";

/** One document and the chunks searches show of it now. */
export function DocumentScreen() {
  const { documentId = "" } = useParams();
  const { api } = useSession();
  const loaded = useLoad(async () => {
    const [document, chunks] = await Promise.all([
      api.getDocument(documentId),
      api.listChunks(documentId, 199),
    ]);
    return { document, chunks };
  }, [api, documentId]);

  if (!loaded.data) {
    return (
      <>
        <h1>Document</h1>
        {loaded.loading ? <p>Loading…</p> : <ErrorAlert error={loaded.error} />}
      </>
    );
  }
  const { document, chunks } = loaded.data;
  return (
    <>
      <h1>{document.title}</h1>
      <dl className="facts">
        <dt>Status</dt>
        <dd>{document.status}</dd>
        <dt>Version</dt>
        <dd>{document.version}</dd>
        <dt>Source</dt>
        <dd>{document.source_name}</dd>
        <dt>Type</dt>
        <dd>{document.content_type}</dd>
      </dl>
      <h2>Chunks</h2>
      {chunks.chunks.length === 0 && <p>No indexed chunks yet.</p>}
      <ol className="chunks" aria-label="Chunks">
        {chunks.chunks.map((chunk) => (
          <li key={chunk.chunk_id}>
            <p className="chunk-place">{placeOf(chunk)}</p>
            <p className="chunk-text">{chunk.text}</p>
          </li>
        ))}
      </ol>
      {chunks.next_offset !== null && (
        <p className="hint">Showing the first {chunks.chunks.length} chunks.</p>
      )}
    </>
  );
}
