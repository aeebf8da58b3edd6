import { useEffect, useRef, useState, type FormEvent } from "react";
import type { AnswerUpdate } from "../../api/client";
import type { ChatMessage, Citation } from "../../api/types";
import { useSession } from "../../auth/AuthContext";
import { ErrorAlert } from "../../components/ErrorAlert";
import { CitationDialog } from "./CitationDialog";

interface Turn {
  question: string;
  answer: string;
  sources: Citation[];
  cited: Citation[] | null;
  degradedReason: string | null;
  degraded: boolean;
}

/** The turn after one streamed update: text appended, sources set, the end recorded. */
export function applyUpdate(turn: Turn, update: AnswerUpdate): Turn {
  switch (update.kind) {
    case "citations":
      return { ...turn, sources: update.citations };
    case "delta":
      return { ...turn, answer: turn.answer + update.text };
    case "done":
      return {
        ...turn,
        cited: update.cited,
        degraded: update.degraded,
        degradedReason: update.degradedReason,
      };
  }
}

/** The gateway answers from the last 20 history messages (MAX_HISTORY_TURNS) and refuses a
 * conversation of more than 50 messages, so only the last 20 are sent: a long chat keeps working,
 * and the answers are the same. */
const HISTORY_SENT = 20;

function historyOf(turns: Turn[]): ChatMessage[] {
  return turns
    .flatMap((turn) => [
      { role: "user" as const, content: turn.question },
      { role: "assistant" as const, content: turn.answer },
    ])
    .slice(-HISTORY_SENT);
}

/** Once the answer is done, the sources it cites; while it streams (or if it cites none), all. */
function shownCitations(turn: Turn): Citation[] {
  return turn.cited && turn.cited.length > 0 ? turn.cited : turn.sources;
}

/**
 * Ask a question, watch the answer arrive, open its citations; follow-up questions carry the
 * earlier turns so the gateway can restate them for retrieval.
 */
export function AskScreen() {
  const { api } = useSession();
  const [question, setQuestion] = useState("");
  const [done, setDone] = useState<Turn[]>([]);
  const [current, setCurrent] = useState<Turn | null>(null);
  const [streaming, setStreaming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<Citation | null>(null);
  const model = useRef<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);

  async function ask(event: FormEvent) {
    event.preventDefault();
    const text = question.trim();
    if (!text || streaming) return;
    const earlier = current ? [...done, current] : done;
    let turn: Turn = {
      question: text,
      answer: "",
      sources: [],
      cited: null,
      degraded: false,
      degradedReason: null,
    };
    setDone(earlier);
    setCurrent(turn);
    setQuestion("");
    setError(null);
    setStreaming(true);
    abort.current = new AbortController();
    try {
      model.current ??= await api.defaultModel();
      const messages = [...historyOf(earlier), { role: "user" as const, content: text }];
      for await (const update of api.ask(model.current, messages, abort.current.signal)) {
        turn = applyUpdate(turn, update);
        setCurrent(turn);
      }
    } catch (caught) {
      if (!abort.current.signal.aborted) setError(caught);
    } finally {
      setStreaming(false);
    }
  }

  function restart() {
    abort.current?.abort();
    setDone([]);
    setCurrent(null);
    setError(null);
  }

  return (
    <>
      <h1>Ask</h1>
      {done.length > 0 && (
        <section aria-labelledby="conversation-heading" className="conversation">
          <h2 id="conversation-heading">Earlier in this conversation</h2>
          <ol>
            {done.map((turn, index) => (
              <li key={index}>
                <p className="turn-question">{turn.question}</p>
                <p className="turn-answer">{turn.answer}</p>
              </li>
            ))}
          </ol>
        </section>
      )}
      {current && (
        <section aria-label="Answer" aria-busy={streaming} className="card answer">
          <p className="turn-question">{current.question}</p>
          <p className="answer-text">{current.answer || (streaming ? "…" : "")}</p>
          {current.degraded && (
            <p role="status" className="degraded">
              Degraded: {current.degradedReason ?? "the answer was made without the language model"}
            </p>
          )}
          {shownCitations(current).length > 0 && (
            <ol className="citations" aria-label="Citations">
              {shownCitations(current).map((citation) => (
                <li key={citation.index}>
                  <a
                    href={`#citation-${citation.index}`}
                    onClick={(event) => {
                      event.preventDefault();
                      setOpen(citation);
                    }}
                  >
                    Citation {citation.index}
                  </a>{" "}
                  <span className="citation-title">{citation.title}</span>
                </li>
              ))}
            </ol>
          )}
        </section>
      )}
      <ErrorAlert error={error} />
      <form className="card ask-form" onSubmit={ask}>
        <label htmlFor="ask-question">Question</label>
        <textarea
          id="ask-question"
          rows={3}
          maxLength={2000}
          value={question}
          onChange={(event) => setQuestion(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey) {
              event.preventDefault();
              event.currentTarget.form?.requestSubmit();
            }
          }}
        />
        <p className="hint">Enter sends; Shift+Enter starts a new line.</p>
        <div className="actions">
          <button type="submit" disabled={streaming || !question.trim()}>
            Ask
          </button>
          {(done.length > 0 || current) && (
            <button type="button" className="secondary" onClick={restart}>
              New conversation
            </button>
          )}
        </div>
      </form>
      {open && <CitationDialog citation={open} onClose={() => setOpen(null)} />}
    </>
  );
}
