// Thin fetch wrapper for the Tokenscope API: session cookies, CSRF, X-Team, and `{message, extra}` errors.
import type {
  ApiErrorBody,
  ApiToken,
  ApiTokenCreated,
  ExportFormat,
  Job,
  LanguageModel,
  LoginRequest,
  Me,
  Paginated,
  SpeculativeJob,
  SpeculativeRequest,
  TeamMember,
  TeamMemberRequest,
  TokenizeJob,
  TokenizeRequest,
  SpecialTokensMode,
  Tokenizer,
  TokenizerCreateJson,
} from './types';

export const API_PREFIX = '/api/v1';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** An error from the API (or from failing to reach it), carrying the backend's `{message, extra}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly extra: Record<string, unknown>;

  constructor(status: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.extra = extra;
  }

  /** Field errors of a validation error (`extra.fields`), e.g. `{text: ["This field is required."]}`. */
  get fields(): Record<string, string[]> {
    const f = this.extra.fields;
    if (f && typeof f === 'object' && !Array.isArray(f)) return f as Record<string, string[]>;
    return {};
  }

  get isNetworkError(): boolean {
    return this.status === 0;
  }

  get isAuthError(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

let currentTeam: string | null = null;

/** The team slug sent as `X-Team` on every request (null: the server picks the user's first team). */
export function setTeam(slug: string | null): void {
  currentTeam = slug;
}

export function getTeam(): string | null {
  return currentTeam;
}

export function readCookie(name: string, cookieString: string = document.cookie): string | null {
  for (const part of cookieString.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
  }
  return null;
}

function statusFallbackMessage(status: number, statusText: string): string {
  if (status === 401) return 'You are not signed in. Sign in and try again.';
  if (status === 403) return 'You do not have permission to do this.';
  if (status === 404) return 'Not found.';
  if (status === 413) return 'The upload is too large.';
  if (status === 429) return 'Too many requests. Wait a moment and try again.';
  if (status >= 500) return `The server had a problem (${status}${statusText ? ` ${statusText}` : ''}). Try again in a moment.`;
  return `Request failed (${status}${statusText ? ` ${statusText}` : ''}).`;
}

/** Turns a non-2xx response into an ApiError, using the backend's `{message, extra}` when present. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    const text = await res.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (body && typeof body === 'object') {
    const b = body as Partial<ApiErrorBody> & { detail?: unknown };
    const extra = b.extra && typeof b.extra === 'object' ? (b.extra as Record<string, unknown>) : {};
    if (typeof b.message === 'string' && b.message) return new ApiError(res.status, b.message, extra);
    // Tolerate DRF's default `{detail}` shape, in case an error escapes the custom handler.
    if (typeof b.detail === 'string' && b.detail) return new ApiError(res.status, b.detail, extra);
  }
  return new ApiError(res.status, statusFallbackMessage(res.status, res.statusText));
}

export interface RequestOptions {
  method?: string;
  /** JSON-serialised unless it is FormData. */
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  signal?: AbortSignal;
  /** Send no X-Team header (e.g. for auth endpoints). */
  noTeam?: boolean;
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  const isAbsolute = /^https?:\/\//.test(path) || path.startsWith('/');
  let url = isAbsolute ? path : `${API_PREFIX}/${path.replace(/^\//, '')}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    const qs = params.toString();
    if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  }
  return url;
}

/** Sends a request and returns the HTTP status with the parsed JSON body; throws ApiError on failure. */
export async function send<T>(path: string, opts: RequestOptions = {}): Promise<{ status: number; data: T }> {
  const method = (opts.method ?? (opts.body !== undefined ? 'POST' : 'GET')).toUpperCase();
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: BodyInit | undefined;
  if (opts.body instanceof FormData) {
    body = opts.body;
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (UNSAFE_METHODS.has(method)) {
    const csrf = readCookie('csrftoken');
    if (csrf) headers['X-CSRFToken'] = csrf;
  }
  if (currentTeam && !opts.noTeam) headers['X-Team'] = currentTeam;

  let res: Response;
  try {
    res = await fetch(buildUrl(path, opts.query), {
      method,
      headers,
      body,
      credentials: 'include',
      signal: opts.signal,
    });
  } catch (err) {
    if (isAbortError(err)) throw err;
    throw new ApiError(0, 'Cannot reach the Tokenscope server. Check your connection and that the server is running.');
  }
  if (!res.ok) throw await errorFromResponse(res);
  if (res.status === 204) return { status: res.status, data: undefined as T };
  const text = await res.text();
  if (!text) return { status: res.status, data: undefined as T };
  try {
    return { status: res.status, data: JSON.parse(text) as T };
  } catch {
    throw new ApiError(res.status, 'The server sent a response that is not JSON.');
  }
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  return (await send<T>(path, opts)).data;
}

export function isAbortError(err: unknown): boolean {
  return (
    (err instanceof DOMException && err.name === 'AbortError') ||
    (err instanceof Error && err.name === 'AbortError')
  );
}

/** A readable message for anything thrown by the client (or by code around it). */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong.';
}

// ---- endpoints -----------------------------------------------------------------------------------------------

export const api = {
  me: (signal?: AbortSignal) => request<Me>('auth/me/', { signal }),
  login: (body: LoginRequest) => request<unknown>('auth/login/', { method: 'POST', body, noTeam: true }),
  logout: () => request<unknown>('auth/logout/', { method: 'POST', noTeam: true }),

  listApiTokens: (signal?: AbortSignal) => request<ApiToken[] | Paginated<ApiToken>>('auth/tokens/', { signal }),
  createApiToken: (name: string) => request<ApiTokenCreated>('auth/tokens/', { method: 'POST', body: { name } }),
  revokeApiToken: (id: ApiToken['id']) =>
    request<void>(`auth/tokens/${encodeURIComponent(String(id))}/`, { method: 'DELETE' }),

  tokenizers: (signal?: AbortSignal) => request<Tokenizer[]>('tokenizers/', { signal }),
  addTokenizerFile: (name: string, file: File) => {
    const form = new FormData();
    form.set('name', name);
    form.set('file', file);
    return request<Tokenizer>('tokenizers/', { method: 'POST', body: form });
  },
  addTokenizerHf: (body: TokenizerCreateJson) => request<Tokenizer>('tokenizers/', { method: 'POST', body }),

  /** 201 → finished job; 202 → queued job to follow on the websocket. */
  tokenize: (body: TokenizeRequest, signal?: AbortSignal) =>
    send<TokenizeJob>('tokenize/', { method: 'POST', body, signal }),
  tokenizeFile: (
    file: File,
    tokenizers: string[],
    baseline: string | undefined,
    signal?: AbortSignal,
    specialTokens: SpecialTokensMode = 'plain',
  ) => {
    const form = new FormData();
    form.set('file', file);
    for (const t of tokenizers) form.append('tokenizers', t);
    if (baseline) form.set('baseline', baseline);
    form.set('special_tokens', specialTokens);
    return send<TokenizeJob>('tokenize/', { method: 'POST', body: form, signal });
  },

  teamMembers: (slug: string, signal?: AbortSignal) =>
    request<TeamMember[] | Paginated<TeamMember>>(`teams/${encodeURIComponent(slug)}/members/`, { signal }),
  addTeamMember: (slug: string, body: TeamMemberRequest) =>
    request<TeamMember>(`teams/${encodeURIComponent(slug)}/members/`, { method: 'POST', body }),

  models: (signal?: AbortSignal) => request<LanguageModel[]>('models/', { signal }),
  /** 202 with the queued job; 400 `{message}` for parameters the server refuses. */
  speculative: (body: SpeculativeRequest, signal?: AbortSignal) =>
    send<SpeculativeJob>('speculative/', { method: 'POST', body, signal }),

  jobs: (query: { kind?: string; page?: number }, signal?: AbortSignal) =>
    request<Paginated<Job>>('jobs/', { query, signal }),
  jobsPage: (url: string, signal?: AbortSignal) => request<Paginated<Job>>(toPath(url), { signal }),
  job: (id: string, signal?: AbortSignal) => request<Job>(`jobs/${encodeURIComponent(id)}/`, { signal }),
  cancelJob: (id: string) => request<Job>(`jobs/${encodeURIComponent(id)}/cancel/`, { method: 'POST' }),
  /** 201 (finished in the request) or 202 (queued) with the new job; 409 when the result has no usable manifest. */
  rerunJob: (id: string) => request<Job>(`jobs/${encodeURIComponent(id)}/rerun/`, { method: 'POST' }),
};

/** Export downloads are plain links (no custom headers), so the team goes in `?team=`. */
export function exportUrl(jobId: string, format: ExportFormat, team: string | null = currentTeam): string {
  return buildUrl(`jobs/${encodeURIComponent(jobId)}/export/`, { format, team });
}

/** DRF pagination links are absolute URLs; keep only path + query so requests stay same-origin. */
export function toPath(url: string): string {
  try {
    const u = new URL(url, window.location.origin);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

/** Browser permalink for a job. */
export function permalinkFor(job: Pick<Job, 'id' | 'permalink'>, origin: string = window.location.origin): string {
  if (job.permalink) {
    if (/^https?:\/\//.test(job.permalink)) return job.permalink;
    if (job.permalink.startsWith('/')) return origin + job.permalink;
  }
  return `${origin}/results/${encodeURIComponent(job.id)}`;
}

/** `ws(s)://host/ws/jobs/<id>/`, matching the page's scheme. */
export function jobSocketUrl(jobId: string, loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws/jobs/${encodeURIComponent(jobId)}/`;
}
