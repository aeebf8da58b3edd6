import { useEffect, useRef, useState, type DragEvent } from "react";
import type { Api } from "../../api/client";
import { ErrorAlert } from "../../components/ErrorAlert";
import { droppedFiles } from "./dropped";

type UploadState = "waiting" | "uploading" | "accepted" | "duplicate" | "failed";

interface Upload {
  id: number;
  name: string;
  fraction: number;
  state: UploadState;
  error: unknown;
}

const PARALLEL = 3;
/** Hidden files and OS litter that a dropped folder brings along. */
const SKIPPED = /^(\.|Thumbs\.db$|desktop\.ini$)/i;

interface Props {
  api: Api;
  onUploaded: () => void;
}

/** Files and folders, picked or dropped, each uploaded with its own progress bar. */
export function UploadPanel({ api, onUploaded }: Props) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [dragging, setDragging] = useState(false);
  const nextId = useRef(0);
  const folderInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    // React does not know the non-standard attribute; every current browser supports it.
    folderInput.current?.setAttribute("webkitdirectory", "");
  }, []);

  function update(id: number, change: Partial<Upload>) {
    setUploads((all) => all.map((upload) => (upload.id === id ? { ...upload, ...change } : upload)));
  }

  async function start(files: File[]) {
    const picked = files.filter((file) => !SKIPPED.test(file.name));
    const queued = picked.map((file) => ({ file, id: nextId.current++ }));
    setUploads((all) => [
      ...queued.map(({ file, id }) => ({
        id,
        name: file.name,
        fraction: 0,
        state: "waiting" as const,
        error: null,
      })),
      ...all,
    ]);
    const work = [...queued];
    const worker = async () => {
      for (let item = work.shift(); item; item = work.shift()) {
        const { file, id } = item;
        update(id, { state: "uploading" });
        try {
          const accepted = await api.upload(file, {}, (fraction) => update(id, { fraction }));
          update(id, { fraction: 1, state: accepted.duplicate ? "duplicate" : "accepted" });
          onUploaded();
        } catch (error) {
          update(id, { state: "failed", error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, queued.length) }, worker));
  }

  async function onDrop(event: DragEvent<HTMLDivElement>) {
    event.preventDefault();
    setDragging(false);
    void start(await droppedFiles(event.dataTransfer));
  }

  return (
    <section aria-labelledby="upload-heading" className="card">
      <h2 id="upload-heading">Upload</h2>
      <div
        className={dragging ? "dropzone dragging" : "dropzone"}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => void onDrop(event)}
      >
        <p>Drop files or folders here, or choose them:</p>
        <div className="inline-form">
          <div className="field">
            <label htmlFor="upload-files">Upload files</label>
            <input
              id="upload-files"
              type="file"
              multiple
              onChange={(event) => {
                void start(Array.from(event.target.files ?? []));
                event.target.value = "";
              }}
            />
          </div>
          <div className="field">
            <label htmlFor="upload-folder">Upload a folder</label>
            <input
              id="upload-folder"
              ref={folderInput}
              type="file"
              multiple
              onChange={(event) => {
                void start(Array.from(event.target.files ?? []));
                event.target.value = "";
              }}
            />
          </div>
        </div>
      </div>
      {uploads.length > 0 && (
        <ul className="uploads" aria-label="Uploads">
          {uploads.map((upload) => (
            <li key={upload.id}>
              <span className="upload-name">{upload.name}</span>
              <progress aria-label={upload.name} max={1} value={upload.fraction} />
              <span className={`upload-state ${upload.state}`}>{upload.state}</span>
              {upload.state === "failed" && <ErrorAlert error={upload.error} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
