import { Link } from "react-router-dom";
import type { SearchHit } from "../../api/types";
import { placeOf } from "../../components/chunkPlace";
import { Highlighted } from "./highlight";

interface Props {
  label: string;
  hits: SearchHit[];
  terms: string[];
}

/** Ranked chunks, each with its score, its place in the document and the query terms marked. */
export function ResultList({ label, hits, terms }: Props) {
  return (
    <ol className="results" aria-label={label}>
      {hits.map((hit) => (
        <li key={hit.chunk_id}>
          <div className="result-head">
            <Link to={`/documents/${hit.document_id}`}>{hit.title}</Link>
            <span className="score">score {hit.score.toFixed(4)}</span>
          </div>
          <p className="chunk-place">{placeOf(hit)}</p>
          <p className="chunk-text">
            <Highlighted text={hit.text} terms={terms} />
          </p>
        </li>
      ))}
      {hits.length === 0 && <li>No results.</li>}
    </ol>
  );
}
