import { Link } from "react-router-dom";
import type { Citation } from "../../api/types";
import { placeOf } from "../../components/chunkPlace";
import { Dialog } from "../../components/Dialog";

/** The chunk a citation points at: its document, its place, the cited text. */
export function CitationDialog({ citation, onClose }: { citation: Citation; onClose: () => void }) {
  return (
    <Dialog title="Cited chunk" onClose={onClose}>
      <p className="citation-source">
        [{citation.index}] <strong>{citation.title}</strong>
      </p>
      <p className="chunk-place">{placeOf(citation)}</p>
      <blockquote className="chunk-text">{citation.snippet}</blockquote>
      <div className="actions">
        <Link to={`/documents/${citation.document_id}`}>Open the document</Link>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
