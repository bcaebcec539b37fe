// The media endpoints (apps/media/api.py; docs/api.md "Media"). Jobs are followed through the jobs API.
import { buildUrl, getTeam, send, request } from '../api/client';
import type { components } from '../api/schema';
import type { Job } from '../api/types';
import type { MediaModality } from './media';

/** The limits in docs/limits.md ("Media"), shown next to the upload; the server enforces them. */
export const MEDIA_LIMITS = {
  uploadBytes: 50 * 1024 * 1024,
  imageMegapixels: 40,
  audioMaxSeconds: 600,
  analysedSecondsDefault: 60,
  analysedSecondsMax: 600,
  tokenizersPerJob: 8,
  prefixesPerJob: 16,
} as const;

type Schemas = components['schemas'];

/** One entry of GET /media/tokenizers/: what it is, whether it runs here (and how to install it), whether it needs a
 * checkpoint reference, and `team_codebook` for the team's trained codebooks. Generated from the OpenAPI schema. */
export type MediaTokenizerEntry = Schemas['MediaTokenizer'];
export type MediaTokenizerStatus = Schemas['MediaStatus'];

export type BudgetModality = 'audio' | 'image' | 'text';
/** One row of the cross-modal budget: `tokens` for one `unit` (second / image / page); null with a `note` when there
 * is no fixed count (variable-rate units, a grid that depends on the image's size). */
export type BudgetRow = Schemas['BudgetRow'];
export type MediaBudget = Schemas['Budget'];

export function isBudgetModality(m: string): m is BudgetModality {
  return m === 'audio' || m === 'image' || m === 'text';
}

export type TokenizerChoice = Schemas['MediaChoiceRequest'];

export interface MediaTokenizeOptions {
  tokenizers: TokenizerChoice[];
  ks?: number[];
  seed?: number;
  maxSeconds?: number;
}

/** 202: the queued job (the app's Job type; `contract.ts` keeps it equal to the schema's) and the stored upload. */
export type MediaTokenizeResponse = Omit<Schemas['MediaTokenizeResponse'], 'job'> & { job: Job };

export const mediaApi = {
  tokenizers: (signal?: AbortSignal) => request<MediaTokenizerEntry[]>('media/tokenizers/', { signal }),
  budget: (signal?: AbortSignal) => request<MediaBudget>('media/budget/', { signal }),
  /** Multipart: the file, `tokenizers` as a JSON list of {id, ref?}, `ks` as a JSON list, `seed`, `max_seconds`.
   * 202 with the queued job; 4xx `{message}` when the file or the choices are refused. */
  tokenize: (file: File, options: MediaTokenizeOptions, signal?: AbortSignal) => {
    const form = new FormData();
    // Field names checked against the generated request type, so a renamed field fails the typecheck.
    const set = (key: keyof Schemas['MediaTokenizeInputRequest'], value: string | File) => form.set(key, value);
    set('file', file);
    set('tokenizers', JSON.stringify(options.tokenizers));
    if (options.ks?.length) set('ks', JSON.stringify(options.ks));
    if (options.seed !== undefined) set('seed', String(options.seed));
    if (options.maxSeconds !== undefined) set('max_seconds', String(options.maxSeconds));
    return send<MediaTokenizeResponse>('media/tokenize/', { method: 'POST', body: form, signal });
  },
  /** The team's trained codebooks (catalogue entries with `team_codebook`), newest first. */
  codebooks: (signal?: AbortSignal) => request<MediaTokenizerEntry[]>('media/codebooks/', { signal }),
  /** 202 with the queued `media_codebook` job; 4xx `{message}` for a method, size or upload the server refuses. */
  trainCodebook: (body: Schemas['MediaCodebookInputRequest'], signal?: AbortSignal) =>
    request<Job>('media/codebooks/', { method: 'POST', body, signal }),
};

/** An artifact (PNG/WAV) of a media job. `<img>`/`<audio>` cannot send X-Team, so the team goes in `?team=`. */
export function artifactUrl(jobId: string, name: string, team: string | null = getTeam()): string {
  return buildUrl(`media/jobs/${encodeURIComponent(jobId)}/artifacts/${encodeURIComponent(name)}/`, { team });
}

/** The modality a chosen file most likely has (from its type, else its extension); the server sniffs the bytes. */
export function guessModality(file: Pick<File, 'name' | 'type'>): MediaModality | null {
  if (file.type.startsWith('image/')) return 'image';
  if (file.type.startsWith('audio/')) return 'audio';
  const ext = file.name.toLowerCase().split('.').pop() ?? '';
  if (['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tif', 'tiff'].includes(ext)) return 'image';
  if (['wav', 'flac', 'ogg', 'mp3', 'aiff', 'aif', 'au', 'raw'].includes(ext)) return 'audio';
  return null;
}

/** Parses "1, 2, 4, 8" into sorted distinct positive integers; null when something is not one. */
export function parseKs(text: string): number[] | null {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (!parts.length) return null;
  const ks = parts.map(Number);
  if (ks.some((k) => !Number.isInteger(k) || k < 1)) return null;
  return [...new Set(ks)].sort((a, b) => a - b);
}

/** JSON (the whole result) or NumPy npz (the codes per tokenizer + the manifest); a plain link, so `?team=`. */
export function mediaExportUrl(jobId: string, format: 'json' | 'npz', team: string | null = getTeam()): string {
  return buildUrl(`jobs/${encodeURIComponent(jobId)}/export/`, { format, team });
}
