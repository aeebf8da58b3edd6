import { useState, type FormEvent } from "react";
import type { JsonValue, SearchHit, SearchMode } from "../../api/types";
import { useSession } from "../../auth/AuthContext";
import { ErrorAlert } from "../../components/ErrorAlert";
import { queryTerms } from "./highlight";
import { ResultList } from "./ResultList";

const MODES: SearchMode[] = ["dense", "sparse", "hybrid"];

type Outcome =
  | { kind: "one"; hits: SearchHit[] }
  | { kind: "compare"; hits: Record<SearchMode, SearchHit[]> };

function parseFilters(text: string): Record<string, JsonValue> {
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('Filters must be JSON, such as {"lang": "en"}.');
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error('Filters must be a JSON object, such as {"lang": "en"}.');
  }
  return parsed as Record<string, JsonValue>;
}

/** The search playground: one mode, or all three side by side for the same query. */
export function SearchScreen() {
  const { api } = useSession();
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState<SearchMode>("hybrid");
  const [topK, setTopK] = useState(10);
  const [filters, setFilters] = useState("");
  const [compare, setCompare] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [terms, setTerms] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const base = { query, top_k: topK, filters: parseFilters(filters) };
      if (compare) {
        const [dense, sparse, hybrid] = await Promise.all(
          MODES.map(async (m) => (await api.search({ ...base, mode: m })).results),
        );
        setOutcome({
          kind: "compare",
          hits: { dense: dense ?? [], sparse: sparse ?? [], hybrid: hybrid ?? [] },
        });
      } else {
        setOutcome({ kind: "one", hits: (await api.search({ ...base, mode })).results });
      }
      setTerms(queryTerms(query));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>Search</h1>
      <form className="card grid-form" onSubmit={submit}>
        <div className="field wide">
          <label htmlFor="search-query">Query</label>
          <input
            id="search-query"
            type="search"
            required
            maxLength={2000}
            value={query}
            onChange={(event) => setQuery(event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="search-mode">Mode</label>
          <select
            id="search-mode"
            value={mode}
            disabled={compare}
            onChange={(event) => setMode(event.target.value as SearchMode)}
          >
            {MODES.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="search-top-k">Top k</label>
          <input
            id="search-top-k"
            type="number"
            min={1}
            max={100}
            required
            value={topK}
            onChange={(event) => setTopK(Number(event.target.value))}
          />
        </div>
        <div className="field wide">
          <label htmlFor="search-filters">Filters (JSON)</label>
          <input
            id="search-filters"
            placeholder='{"lang": "en", "year": {"gte": 2020}}'
            value={filters}
            onChange={(event) => setFilters(event.target.value)}
          />
        </div>
        <label className="check">
          <input type="checkbox" checked={compare} onChange={(event) => setCompare(event.target.checked)} />
          Compare modes
        </label>
        <div className="actions">
          <button type="submit" disabled={busy || !query.trim()}>
            Search
          </button>
        </div>
      </form>
      <ErrorAlert error={error} />
      {outcome?.kind === "one" && <ResultList label="Results" hits={outcome.hits} terms={terms} />}
      {outcome?.kind === "compare" && (
        <div className="compare">
          {MODES.map((m) => (
            <section key={m} aria-labelledby={`compare-${m}`}>
              <h2 id={`compare-${m}`}>{m}</h2>
              <ResultList label={`${m} results`} hits={outcome.hits[m]} terms={terms} />
            </section>
          ))}
        </div>
      )}
    </>
  );
}
