/** Wire shapes of the public API (services/gateway/src/ragline_gateway/api/*.py), as read here. */

export type Scope = "ingest" | "query" | "admin";
export type JobStatus = "queued" | "processing" | "indexed" | "failed";
export type SearchMode = "dense" | "sparse" | "hybrid";
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
}

export interface WhoAmI {
  kind: "operator" | "tenant";
  tenant_id: string | null;
  tenant_name: string | null;
  key_id: string | null;
  scopes: Scope[];
}

export interface RateLimits {
  query_per_minute: number;
  ingest_per_minute: number;
}

export interface Quotas {
  documents: number | null;
  stored_bytes: number | null;
  llm_tokens_per_day: number | null;
}

export interface Tenant {
  id: string;
  name: string;
  created_at: string;
  rate_limits: RateLimits;
  quotas: Quotas;
}

export interface TenantPatch {
  rate_limits?: Partial<RateLimits>;
  quotas?: Partial<Quotas>;
}

export interface ApiKey {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  replaced_by: string | null;
}

export interface ApiKeyCreated extends ApiKey {
  key: string;
}

export interface DeadLetter {
  id: string;
  queue: string;
  routing_key: string;
  tenant_id: string | null;
  reason: string;
  dead_lettered_at: string;
  message_type: string | null;
  document_id: string | null;
  job_id: string | null;
}

export interface Readiness {
  status: string;
  checks: Record<string, string>;
}

export interface DocumentOut {
  id: string;
  external_id: string | null;
  title: string;
  source_name: string;
  content_type: string;
  size_bytes: number;
  version: number;
  metadata: Record<string, JsonValue>;
  status: JobStatus;
  chunk_count: number | null;
  created_at: string;
  updated_at: string;
}

export interface JobOut {
  id: string;
  document_id: string;
  version: number;
  status: JobStatus;
  reason: string | null;
  chunk_count: number | null;
  created_at: string;
  updated_at: string;
}

export interface DocumentList {
  documents: DocumentOut[];
  next_offset: number | null;
}

export interface JobList {
  jobs: JobOut[];
  next_offset: number | null;
}

export interface ChunkList {
  document_id: string;
  version: number | null;
  chunks: StoredChunk[];
  next_offset: number | null;
}

export interface UploadAccepted {
  document_id: string;
  job_id: string;
  version: number;
  status: JobStatus;
  duplicate: boolean;
}

interface ChunkFields {
  document_id: string;
  version: number;
  chunk_index: number;
  text: string;
  title: string;
  source_name: string;
  heading_path: string[];
  page: number | null;
  metadata: Record<string, JsonValue>;
  chunk_id: string;
}

export type StoredChunk = ChunkFields;

export interface SearchHit extends ChunkFields {
  score: number;
}

export interface SearchRequest {
  query: string;
  top_k: number;
  mode: SearchMode;
  filters: Record<string, JsonValue>;
}

export interface SearchOut {
  results: SearchHit[];
  mode: string;
  index_model?: string;
}

export interface Citation {
  index: number;
  document_id: string;
  chunk_id: string;
  title: string;
  snippet: string;
  page: number | null;
  heading_path: string[];
}

export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}

export interface UsageDay {
  day: string;
  model: string;
  requests: number;
  degraded_requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  embedding_tokens: number;
  estimated_cost_usd: number;
}

export interface UsageOut {
  tenant_id: string;
  start: string;
  end: string;
  days: UsageDay[];
  totals: Omit<UsageDay, "day" | "model">;
}

export const TERMINAL_STATUSES: readonly JobStatus[] = ["indexed", "failed"];
