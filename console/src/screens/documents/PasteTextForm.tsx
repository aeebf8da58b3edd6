import { useState, type FormEvent } from "react";
import type { Api } from "../../api/client";
import type { JsonValue } from "../../api/types";
import { ErrorAlert } from "../../components/ErrorAlert";

function parseMetadata(text: string): Record<string, JsonValue> {
  if (!text.trim()) return {};
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error('Metadata must be a JSON object, such as {"lang": "en"}.');
  }
  return parsed as Record<string, JsonValue>;
}

/** Text typed or pasted in, with a title and metadata, added as a document. */
export function PasteTextForm({ api, onAdded }: { api: Api; onAdded: () => void }) {
  const [title, setTitle] = useState("");
  const [text, setText] = useState("");
  const [metadata, setMetadata] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setNotice("");
    try {
      const accepted = await api.addText(text, title.trim(), parseMetadata(metadata));
      setNotice(accepted.duplicate ? "Already added: identical text exists." : "Text added.");
      setTitle("");
      setText("");
      setMetadata("");
      onAdded();
    } catch (caught) {
      setError(
        caught instanceof SyntaxError ? new Error(`Metadata is not valid JSON: ${caught.message}`) : caught,
      );
    }
  }

  return (
    <form className="card grid-form" onSubmit={submit} aria-labelledby="paste-heading">
      <h2 id="paste-heading">Paste text</h2>
      <div className="field">
        <label htmlFor="paste-title">Title</label>
        <input
          id="paste-title"
          maxLength={500}
          value={title}
          onChange={(event) => setTitle(event.target.value)}
        />
      </div>
      <div className="field wide">
        <label htmlFor="paste-text">Text</label>
        <textarea
          id="paste-text"
          required
          rows={6}
          value={text}
          onChange={(event) => setText(event.target.value)}
        />
      </div>
      <div className="field wide">
        <label htmlFor="paste-metadata">Metadata (JSON)</label>
        <input
          id="paste-metadata"
          placeholder='{"lang": "en"}'
          value={metadata}
          onChange={(event) => setMetadata(event.target.value)}
        />
      </div>
      <div className="actions">
        <button type="submit" disabled={!text.trim()}>
          Add text
        </button>
        {notice && <span role="status">{notice}</span>}
      </div>
      <ErrorAlert error={error} />
    </form>
  );
}
