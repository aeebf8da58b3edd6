/**
 * The one place the console talks to the API: the bearer credential on every call, problem+json
 * errors as {@link ApiError}, uploads with progress (XMLHttpRequest: fetch reports no upload
 * progress) and the streamed answers (server-sent events over fetch).
 */
import { readEvents } from "./sse";
import type {
  ApiKey,
  ApiKeyCreated,
  ChatMessage,
  ChunkList,
  Citation,
  DeadLetter,
  DocumentList,
  DocumentOut,
  JobList,
  JobStatus,
  JsonValue,
  Problem,
  Readiness,
  Scope,
  SearchOut,
  SearchRequest,
  Tenant,
  TenantPatch,
  UploadAccepted,
  UsageOut,
  WhoAmI,
} from "./types";

/** A refused or failed call: `detail` is for people, `code` for support and scripts. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;

  constructor(status: number, problem: Problem) {
    const detail = problem.detail ?? problem.title ?? `The request failed (HTTP ${status}).`;
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = problem.code ?? (status === 0 ? "network_error" : `http_${status}`);
    this.detail = detail;
  }
}

function isProblem(value: unknown): value is Problem {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function problemOf(text: string): Problem {
  try {
    const parsed: unknown = JSON.parse(text);
    return isProblem(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

async function failure(response: Response): Promise<ApiError> {
  return new ApiError(response.status, problemOf(await response.text()));
}

export interface UploadFields {
  title?: string;
  metadata?: Record<string, JsonValue>;
}

/** What a streamed answer reports, in order: sources, text, then the end (or a failure). */
export type AnswerUpdate =
  | { kind: "citations"; citations: Citation[] }
  | { kind: "delta"; text: string }
  | { kind: "done"; cited: Citation[]; degraded: boolean; degradedReason: string | null };

interface CompletionChunk {
  choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
  citations?: Citation[];
  ragline?: { degraded?: boolean; degraded_reason?: string | null };
  error?: { message?: string; code?: string };
}

function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export class Api {
  /** `onUnauthorized` hears of every 401: the credential was revoked or expired mid-session. */
  constructor(
    private readonly credential: string,
    private readonly onUnauthorized: () => void = () => undefined,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Authorization: `Bearer ${this.credential}`, Accept: "application/json", ...extra };
  }

  private async call(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(path, {
        ...init,
        headers: this.headers(init.body ? { "Content-Type": "application/json" } : {}),
      });
    } catch {
      throw new ApiError(0, { detail: "The gateway could not be reached.", code: "network_error" });
    }
    if (response.status === 401) this.onUnauthorized();
    if (!response.ok) throw await failure(response);
    return response;
  }

  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.call(path, init);
    return (await response.json()) as T;
  }

  private async send(path: string, method: string, body?: unknown): Promise<void> {
    await this.call(path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  private post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>(path, { method: "POST", body: JSON.stringify(body) });
  }

  whoami(): Promise<WhoAmI> {
    return this.request("/v1/whoami");
  }

  // operator: tenants, keys, dead letters, health

  listTenants(): Promise<Tenant[]> {
    return this.request("/v1/tenants");
  }

  createTenant(name: string): Promise<Tenant> {
    return this.post("/v1/tenants", { name });
  }

  getTenant(id: string): Promise<Tenant> {
    return this.request(`/v1/tenants/${encodeURIComponent(id)}`);
  }

  updateTenant(id: string, patch: TenantPatch): Promise<Tenant> {
    return this.request(`/v1/tenants/${encodeURIComponent(id)}`, {
      method: "PATCH",
      body: JSON.stringify(patch),
    });
  }

  deleteTenant(id: string): Promise<void> {
    return this.send(`/v1/tenants/${encodeURIComponent(id)}`, "DELETE");
  }

  listKeys(tenantId: string): Promise<ApiKey[]> {
    return this.request(`/v1/tenants/${encodeURIComponent(tenantId)}/keys`);
  }

  createKey(tenantId: string, name: string, scopes: Scope[]): Promise<ApiKeyCreated> {
    return this.post(`/v1/tenants/${encodeURIComponent(tenantId)}/keys`, { name, scopes });
  }

  rotateKey(tenantId: string, keyId: string): Promise<ApiKeyCreated> {
    const path = `/v1/tenants/${encodeURIComponent(tenantId)}/keys/${encodeURIComponent(keyId)}`;
    return this.post(`${path}/rotate`, {});
  }

  revokeKey(tenantId: string, keyId: string): Promise<void> {
    const path = `/v1/tenants/${encodeURIComponent(tenantId)}/keys/${encodeURIComponent(keyId)}`;
    return this.send(path, "DELETE");
  }

  async listDeadLetters(): Promise<DeadLetter[]> {
    const body = await this.request<{ dead_letters: DeadLetter[] }>("/v1/admin/dead-letters");
    return body.dead_letters;
  }

  replayDeadLetter(letter: DeadLetter): Promise<void> {
    const tenant = query({ tenant_id: letter.tenant_id ?? undefined });
    return this.send(`/v1/admin/dead-letters/${encodeURIComponent(letter.id)}/replay${tenant}`, "POST");
  }

  async purgeDeadLetters(): Promise<number> {
    const body = await this.request<{ purged: number }>("/v1/admin/dead-letters", {
      method: "DELETE",
    });
    return body.purged;
  }

  /** `/readyz` answers 503 with the same body when a dependency is down: that is data here. */
  async readiness(): Promise<Readiness> {
    let response: Response;
    try {
      response = await fetch("/readyz", { headers: this.headers() });
    } catch {
      throw new ApiError(0, { detail: "The gateway could not be reached.", code: "network_error" });
    }
    if (response.ok || response.status === 503) return (await response.json()) as Readiness;
    throw await failure(response);
  }

  // tenant: documents, jobs, search, answers, usage

  listDocuments(limit = 100, offset = 0): Promise<DocumentList> {
    return this.request(`/v1/documents${query({ limit, offset })}`);
  }

  getDocument(id: string): Promise<DocumentOut> {
    return this.request(`/v1/documents/${encodeURIComponent(id)}`);
  }

  listChunks(id: string, limit = 100, offset = 0): Promise<ChunkList> {
    return this.request(`/v1/documents/${encodeURIComponent(id)}/chunks${query({ limit, offset })}`);
  }

  listJobs(filter: { status?: JobStatus; documentId?: string; limit?: number } = {}): Promise<JobList> {
    return this.request(
      `/v1/jobs${query({ status: filter.status, document_id: filter.documentId, limit: filter.limit ?? 50 })}`,
    );
  }

  addText(text: string, title: string, metadata: Record<string, JsonValue>): Promise<UploadAccepted> {
    const content_type = /\.(md|markdown)$/i.test(title) ? "text/markdown" : "text/plain";
    return this.post("/v1/documents", { text, title: title || "Untitled", metadata, content_type });
  }

  /** One file as multipart; `onProgress` gets the fraction of the body sent (0..1). */
  upload(file: File, fields: UploadFields, onProgress: (fraction: number) => void): Promise<UploadAccepted> {
    const form = new FormData();
    form.append("file", file, file.name);
    if (fields.title) form.append("title", fields.title);
    if (fields.metadata && Object.keys(fields.metadata).length > 0) {
      form.append("metadata", JSON.stringify(fields.metadata));
    }
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/v1/documents");
      for (const [name, value] of Object.entries(this.headers())) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
      });
      xhr.addEventListener("load", () => {
        if (xhr.status === 401) this.onUnauthorized();
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve(JSON.parse(xhr.responseText) as UploadAccepted);
        } else {
          reject(new ApiError(xhr.status, problemOf(xhr.responseText)));
        }
      });
      xhr.addEventListener("error", () =>
        reject(new ApiError(0, { detail: "The upload could not reach the gateway.", code: "network_error" })),
      );
      xhr.send(form);
    });
  }

  search(request: SearchRequest): Promise<SearchOut> {
    return this.post("/v1/search", request);
  }

  async defaultModel(): Promise<string> {
    const body = await this.request<{ data: { id: string }[] }>("/v1/models");
    const first = body.data[0];
    if (!first) throw new ApiError(503, { detail: "No answer model is available.", code: "no_model" });
    return first.id;
  }

  /**
   * A grounded answer to the last user message, streamed: the earlier turns let the gateway
   * restate a follow-up question (`POST /v1/chat/completions`, the only route taking a
   * conversation). Throws {@link ApiError} for a refusal, before or during the stream.
   */
  async *ask(
    model: string,
    messages: ChatMessage[],
    signal?: AbortSignal,
  ): AsyncGenerator<AnswerUpdate, void, undefined> {
    const response = await this.call("/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify({ model, messages, stream: true }),
      signal,
    });
    if (!response.body) throw new ApiError(502, { detail: "The answer stream is empty." });
    for await (const event of readEvents(response.body)) {
      if (event.data === "[DONE]") return;
      const chunk = JSON.parse(event.data) as CompletionChunk;
      if (chunk.error) {
        throw new ApiError(502, {
          detail: chunk.error.message ?? "The answer failed.",
          code: chunk.error.code ?? "stream_error",
        });
      }
      const choice = chunk.choices?.[0];
      if (choice?.finish_reason) {
        yield {
          kind: "done",
          cited: chunk.citations ?? [],
          degraded: chunk.ragline?.degraded ?? false,
          degradedReason: chunk.ragline?.degraded_reason ?? null,
        };
      } else if (chunk.citations) {
        yield { kind: "citations", citations: chunk.citations };
      }
      const text = choice?.delta?.content;
      if (text) yield { kind: "delta", text };
    }
  }

  usage(from: string, to: string): Promise<UsageOut> {
    return this.request(`/v1/usage${query({ from, to })}`);
  }
}
