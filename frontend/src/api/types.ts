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
/** How special-token strings in the text are read: plain text (default), or special tokens where defined. */
export type SpecialTokensMode = 'plain' | 'special';

export interface TokenizeRequest {
  text: string;
  tokenizers: string[];
  baseline?: string;
  special_tokens?: SpecialTokensMode;
}

export type TokenKind = 'normal' | 'special' | 'unknown' | 'byte_fallback' | 'partial';

export interface Token {
  id: number;
  /** The input characters the token covers: text[start:end]. */
  text: string;
  /** Raw bytes of the token, hex encoded. */
  bytes: string;
  /** Code-point offsets (Python str indices) into the input text, end exclusive. */
  start: number;
  end: number;
  kind: TokenKind;
}

export interface NumberChunks {
  /** null when the input has no digit runs. */
  pattern: string | null;
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

/** The listed tokens as the API sends them: parallel arrays (docs/api.md). Texts are slices of the result's text. */
export interface TokenColumns {
  ids: number[];
  /** Code-point offsets (Python str indices) into the text, end exclusive. */
  starts: number[];
  ends: number[];
  /** Positions of the tokens that are not `normal`, by kind. */
  kinds: Partial<Record<TokenKind, number[]>>;
  /** Hex of each listed id's own bytes (an unknown token's bytes are those of the text it replaced). */
  bytes: Record<string, string>;
}

/** One tokenizer's result as the API sends it (results saved before the columnar payload carry Token[]). */
export interface TokenizerResultPayload {
  tokenizer: TokenizerRef;
  /** How this tokenizer read special-token strings (plain when its library cannot parse them). */
  special_tokens?: SpecialTokensMode;
  tokens: TokenColumns | Token[];
  tokens_truncated: boolean;
  stats: TokenizerStats;
}

/** One tokenizer's result with one object per token (built on the client by expandResult). */
export interface TokenizerResult extends Omit<TokenizerResultPayload, 'tokens'> {
  tokens: Token[];
}

export interface InputSummary {
  chars: number;
  bytes: number;
  words: number;
  lines: number;
  sha256: string;
  /** How words were counted (UAX #29 segmenter and its dictionaries). */
  word_segmentation?: string;
}

/** A tokenize result as the API sends it. */
export interface TokenizeResultPayload extends Omit<TokenizeResult, 'results'> {
  results: TokenizerResultPayload[];
}

export interface TokenizeResult {
  /** The input; past the display limit only as far as the listed tokens reach (null in older results). */
  text: string | null;
  text_truncated: boolean;
  input: InputSummary;
  /** The reading asked for (older results: absent, i.e. plain). */
  special_tokens?: SpecialTokensMode;
  baseline: string | null;
  results: TokenizerResult[];
  boundaries: {
    disagree: [number, number][];
    /** Number of disagreement ranges (may exceed disagree.length when the list is truncated). */
    disagree_count?: number;
    /** Shared token edges / all token edges, in [0, 1]. */
    agreement?: number | null;
    /** The disagree list was cut to a display limit. */
    truncated?: boolean;
  };
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
  /** Latest progress message, e.g. "tokenizing with cl100k_base" (sent by the backend, not in docs/api.md). */
  message?: string | null;
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

// ---- team members ----------------------------------------------------------------------------------------------
export interface TeamMember {
  username: string;
  role: Role;
  joined_at: string | null;
}

export interface TeamMemberRequest {
  username: string;
  role: Role;
}

// ---- language models (catalogue) -----------------------------------------------------------------------------
export interface LanguageModel {
  id: string;
  name: string;
  family: string;
  /** Where it comes from: `bundled`, `local` or `hub`. */
  kind: string;
  source: string;
  licence: string;
  params: number | null;
  context_length: number | null;
  vocab_size: number | null;
  /** The matching text-tokenizer catalogue id, when there is one (same id ⇒ same vocabulary). */
  tokenizer_id: string | null;
  /** Has a chat template. */
  chat: boolean;
  available: boolean;
  /** `installed`, or why not and the command that installs it (a missing model is never replaced by another). */
  status: string;
}

// ---- speculative decoding (workers/pipelines/speculative.py, workers/decoding/trace.py) -----------------------
export type SpecMethod = 'speculative' | 'autoregressive';
export type ChainDrafterKind = 'prompt_lookup' | 'draft_model' | 'early_exit' | 'cross_tokenizer';
export type TreeDrafterKind = 'multi_draft' | 'tree_fixed' | 'tree_dyspec' | 'token_recycling';
export type DrafterKind = ChainDrafterKind | TreeDrafterKind;

/** `{kind, model?, ...parameters}`; parameters are per kind (see lib/speculative.ts DRAFTERS). */
export interface DrafterSpec {
  kind: DrafterKind;
  model?: string;
  [param: string]: unknown;
}

export interface SpeculativeRequest {
  target: string;
  method: SpecMethod;
  drafter?: DrafterSpec;
  prompt: string;
  chat_template: boolean;
  gamma?: number;
  adaptive_gamma?: boolean;
  max_new_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  run_baseline?: boolean;
}

export interface TopK {
  ids: number[];
  probs: number[];
  strings: string[] | null;
}

export type DraftDecision = 'accepted' | 'rejected' | 'unverified';
/** residual: resampled from norm(max(0, p − q)) after a rejection; bonus: every draft accepted, drawn from the next
 * target distribution; greedy: argmax correction; sample: a plain autoregressive draw (no draft). */
export type NextSource = 'residual' | 'bonus' | 'greedy' | 'sample';

/** One drafted token: a chain element, or a tree node with its parent (-1 = the root / last committed token). */
export interface DraftTokenRecord {
  node: number;
  parent: number;
  depth: number;
  token: number;
  q: number;
  p: number;
  /** min(1, p/q) in sampling mode; 1 or 0 (argmax match) in greedy mode. */
  accept_prob: number;
  /** The uniform draw compared with accept_prob (null in greedy mode or when never tested). */
  u: number | null;
  decision: DraftDecision;
  /** Σ min(p, q) at this position (1 − total variation). */
  beta: number;
  entropy_p: number;
  entropy_q: number;
  top_p: TopK | null;
  top_q: TopK | null;
  text: string | null;
}

export interface StepRecord {
  index: number;
  method: string;
  draft_source: string;
  gamma: number;
  prefix_len_before: number;
  prefix_len_after: number;
  draft: DraftTokenRecord[];
  is_tree: boolean;
  first_rejection: number | null;
  accepted_count: number;
  next_token: number;
  next_source: NextSource;
  next_prob: number;
  next_u: number | null;
  /** Tokens appended this step: accepted drafts, then the target's token (cut at EOS). */
  emitted: number[];
  draft_ms: number;
  verify_ms: number;
  overhead_ms: number;
  target_forwards: number;
  draft_forwards: number;
  kv_rollback: number;
  draft_kv_rollback: number;
  lossless: boolean;
  residual_top: TopK | null;
  next_text: string | null;
  /** The text this step added (a diff of full decodes, so leading spaces are right). */
  accepted_text: string | null;
  extra: Record<string, unknown>;
}

export interface TraceSummary {
  new_tokens: number;
  steps: number;
  target_calls: number;
  draft_forwards: number;
  drafted: number;
  accepted: number;
  acceptance_rate: number | null;
  alpha: number | null;
  acceptance_by_position: number[];
  mean_beta: number | null;
  mean_beta_by_position: number[];
  mean_gamma: number;
  tokens_per_target_call: number;
  theoretical_tokens_per_call: number | null;
  prefill_ms: number;
  decode_ms: number;
  total_ms: number;
  tokens_per_s: number;
  draft_ms: number;
  verify_ms: number;
  overhead_ms: number;
  target_ms_per_call: number | null;
  draft_ms_per_token: number | null;
  cost_ratio: number | null;
  theoretical_speedup: number | null;
  stop_reason: string;
  measured_speedup: number | null;
  baseline_tokens_per_s: number | null;
  output_matches_baseline: boolean | null;
  /** Mean verification forward ÷ the baseline's autoregressive forward (absent in traces saved before it existed). */
  verify_cost_ratio?: number | null;
  theoretical_speedup_at_verify_cost?: number | null;
  /** Tree drafts: acceptance is per depth (a level passes when any candidate is accepted), `mean_gamma` is the mean
   * depth, and the chain formulas are not applied (`theoretical_*` are null). Absent in older traces. */
  tree?: boolean;
  /** Trees: mean drafted nodes per verification step. */
  mean_nodes?: number | null;
}

export interface Trace {
  method: string;
  drafter: string | null;
  verifier: string | null;
  lossless: boolean;
  sampling: { temperature: number; top_k: number; top_p: number };
  seed: number;
  gamma: number;
  adaptive_gamma: boolean;
  prompt_len: number;
  max_new_tokens: number;
  target: string;
  draft_model: string | null;
  device: string;
  steps: StepRecord[];
  summary: TraceSummary | null;
  notes: string[];
}

export interface ModelRef {
  ref: string;
  id: string;
  name: string;
}

export interface SpeculativeResult {
  target: ModelRef;
  /** null for the autoregressive method; `model` is the draft model (or the drafter's own name, or null). */
  drafter: { kind: DrafterKind; model: ModelRef | string | null; [param: string]: unknown } | null;
  method: SpecMethod;
  prompt_ids: number[];
  prompt_text: string;
  output_ids: number[];
  output_text: string;
  trace: Trace;
  baseline: { output_ids: number[]; output_text: string; summary: TraceSummary } | null;
  lossless: { lossless: boolean; note: string };
  versions?: Record<string, string>;
}

/** `job.partial` payload of a speculative job: the steps finished since the previous batch and their text. */
export interface SpeculativePartial {
  phase: 'speculative' | 'autoregressive' | 'baseline';
  steps: StepRecord[];
  text: string;
}

export type SpeculativeJob = Job<SpeculativeResult>;

// ---- websocket -----------------------------------------------------------------------------------------------
export type JobEvent =
  | { type: 'job.snapshot'; job: Job }
  | { type: 'job.progress'; job_id: string; progress: number; message?: string }
  /** `seq`: 1, 2, 3 … per job; on connect the server replays the partials streamed so far, so a client that
   * reconnects sees some again (drop those with `seq` ≤ the last one applied). */
  | { type: 'job.partial'; job_id: string; partial: unknown; seq?: number }
  | { type: 'job.finished'; job: Job }
  | { type: 'job.failed'; job_id: string; error: string }
  | { type: 'job.cancelled'; job_id: string }
  | { type: 'pong' }
  | { type: 'error'; message: string };

export const FINISHED_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export function isFinished(status: JobStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

// ---- result manifests (docs/api.md, "Manifests and re-runs") -------------------------------------------------
export interface ManifestFile {
  /** Relative to the model folder, or the tokenizer file's name (never a server path). */
  name: string;
  bytes: number;
  sha256: string;
}

export interface ManifestTokenizer {
  id: string;
  name: string;
  library: string;
  source: string;
  revision: string | null;
  vocab_size: number | null;
  files: ManifestFile[];
  options?: Record<string, unknown>;
}

export interface ManifestModel {
  role: string;
  ref: string;
  id: string;
  name: string;
  kind: string | null;
  source: string | null;
  revision: string | null;
  device: string | null;
  dtype: string | null;
  files: ManifestFile[];
}

/** What computed a stored result (`result.manifest`), precisely enough to compute it again. */
export interface RunManifest {
  manifest_version: number;
  kind: string;
  product: { name: string; version: string | null; commit: string | null; commit_source: string | null; dirty: boolean | null };
  libraries: Record<string, string | null>;
  runtime: { platform: string; device: string | null; dtype?: string | null; torch_threads?: number; deterministic_algorithms?: boolean; gpu?: string };
  seed: number | null;
  parameters: Record<string, unknown>;
  tokenizers: ManifestTokenizer[];
  models: ManifestModel[];
  input?: { sha256: string };
  output?: { files: ManifestFile[] };
}
