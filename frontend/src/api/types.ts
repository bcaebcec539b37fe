// Types for the Tokenscope REST + websocket API (v1), written by hand from docs/api.md.
// They will later be generated from docs/openapi.yaml; keep every API type in this one file so that swap is easy.

export type Role = 'owner' | 'member' | 'viewer';

export interface User {
  id: number;
  username: string;
}

export interface TeamMembership {
  id: number;
  slug: string;
  name: string;
  role: Role;
}

export interface Me {
  user: User;
  teams: TeamMembership[];
  current_team: string | null;
}

export interface LoginRequest {
  username: string;
  password: string;
}

/** `{message, extra}` — the body of every 4xx/5xx response. */
export interface ApiErrorBody {
  message: string;
  extra?: {
    fields?: Record<string, string[]>;
    [key: string]: unknown;
  };
}

// ---- personal API tokens -------------------------------------------------------------------------------------
// docs/api.md documents only `POST /api/v1/auth/tokens/ {name}` (key shown once). Listing (GET) and revoking
// (DELETE /api/v1/auth/tokens/<id>/) are assumed to follow the same collection; the UI degrades when they 404/405.
export interface ApiTokenCreateRequest {
  name: string;
}

export interface ApiToken {
  id: number | string;
  name: string;
  created_at?: string;
  last_used_at?: string | null;
  /** A short, non-secret prefix of the key, if the server exposes one. */
  prefix?: string;
}

export interface ApiTokenCreated extends ApiToken {
  key: string;
}

// ---- tokenizer catalogue -------------------------------------------------------------------------------------
export interface Tokenizer {
  id: string;
  name: string;
  family: string;
  algorithm: string;
  library: string;
  vocab_size: number | null;
  special_tokens: string[];
  source: string;
  licence: string;
  available: boolean;
  builtin: boolean;
  description: string;
}

export interface TokenizerCreateJson {
  name: string;
  hf_id: string;
}

// ---- tokenize ------------------------------------------------------------------------------------------------
export interface TokenizeRequest {
  text: string;
  tokenizers: string[];
  baseline?: string;
}

export type TokenKind = 'normal' | 'special' | 'unknown' | 'byte_fallback' | 'partial';

export interface Token {
  id: number;
  text: string;
  /** Raw bytes of the token, hex encoded. */
  bytes: string;
  /** Code-point offsets (Python str indices) into the input text, end exclusive. */
  start: number;
  end: number;
  kind: TokenKind;
}

export interface NumberChunks {
  pattern: string;
  examples: [string, string[]][];
}

export interface TokenizerStats {
  tokens: number;
  chars: number;
  bytes: number;
  words: number;
  chars_per_token: number | null;
  bytes_per_token: number | null;
  fertility: number | null;
  continued_word_ratio: number | null;
  unknown: number;
  byte_fallback: number;
  special: number;
  roundtrip: boolean;
  number_chunks: NumberChunks | null;
  relative_cost: number | null;
  distinct_tokens: number;
  encode_ms: number | null;
}

export interface TokenizerRef {
  id: string;
  name: string;
  family: string;
  algorithm: string;
  vocab_size: number | null;
}

export interface TokenizerResult {
  tokenizer: TokenizerRef;
  tokens: Token[];
  tokens_truncated: boolean;
  stats: TokenizerStats;
}

export interface InputSummary {
  chars: number;
  bytes: number;
  words: number;
  lines: number;
  sha256: string;
}

export interface TokenizeResult {
  /** null when the input is over the display limit. */
  text: string | null;
  text_truncated: boolean;
  input: InputSummary;
  baseline: string | null;
  results: TokenizerResult[];
  boundaries: { disagree: [number, number][] };
}

// ---- jobs ----------------------------------------------------------------------------------------------------
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type JobKind = 'tokenize' | (string & {});

/** `owner` is not specified in detail by docs/api.md; accept a username or a user object. */
export type JobOwner = string | User | null;

export interface Job<R = unknown> {
  id: string;
  kind: JobKind;
  title: string;
  status: JobStatus;
  progress: number;
  params: Record<string, unknown>;
  result: R | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  owner: JobOwner;
  team: string | { slug: string; name?: string } | null;
  versions: Record<string, unknown> | null;
  permalink: string | null;
}

export type TokenizeJob = Job<TokenizeResult>;

export interface Paginated<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export type ExportFormat = 'json' | 'csv';

// ---- websocket -----------------------------------------------------------------------------------------------
export type JobEvent =
  | { type: 'job.snapshot'; job: Job }
  | { type: 'job.progress'; job_id: string; progress: number; message?: string }
  | { type: 'job.partial'; job_id: string; partial: unknown }
  | { type: 'job.finished'; job: Job }
  | { type: 'job.failed'; job_id: string; error: string }
  | { type: 'job.cancelled'; job_id: string }
  | { type: 'pong' }
  | { type: 'error'; message: string };

export const FINISHED_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export function isFinished(status: JobStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}
