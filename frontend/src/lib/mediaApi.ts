// The media endpoints (apps/media/api.py; docs/api.md "Media"). Jobs are followed through the jobs API.
import { buildUrl, getTeam, send, request } from '../api/client';
import type { Job } from '../api/types';
import type { MediaLayout, MediaModality } from './media';

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

export interface MediaTokenizerStatus {
  installed: boolean;
  detail: string;
  install: string;
}

/** One entry of GET /media/tokenizers/: what it is, whether it runs here, and whether it needs a checkpoint ref. */
export interface MediaTokenizerEntry {
  id: string;
  modality: MediaModality;
  family: string;
  label: string;
  description: string;
  layout: MediaLayout;
  has_decoder: boolean;
  codebook_sizes: number[];
  sample_rate?: number | null;
  frame_rate?: number | null;
  image_size?: number | null;
  max_tokens?: number | null;
  source?: string;
  licence?: string;
  status: MediaTokenizerStatus;
  needs_ref: boolean;
  example_refs: string[];
  /** Set for the team's trained codebooks (job id, method, size, training data). */
  team_codebook?: Record<string, unknown> | null;
}

export interface BudgetRow {
  /** A media or text tokenizer id. */
  id: string;
  label: string | null;
  modality: 'audio' | 'image' | 'text';
  /** What the row counts: one second of audio, one image, one page of text. */
  unit: 'second' | 'image' | 'page';
  /** null: no fixed count (variable-rate units, a grid that depends on the image's size); `note` says why. */
  tokens: number | null;
  note: string;
  installed?: boolean;
}

export interface MediaBudget {
  /** The shipped page of text the text rows count. */
  page: { chars?: number; sha256?: string };
  rows: BudgetRow[];
}

export interface TokenizerChoice {
  id: string;
  ref?: string;
}

export interface MediaTokenizeOptions {
  tokenizers: TokenizerChoice[];
  ks?: number[];
  seed?: number;
  maxSeconds?: number;
}

export interface MediaTokenizeResponse {
  job: Job;
  upload?: { id: string } & Record<string, unknown>;
}

export const mediaApi = {
  tokenizers: (signal?: AbortSignal) => request<MediaTokenizerEntry[]>('media/tokenizers/', { signal }),
  budget: (signal?: AbortSignal) => request<MediaBudget>('media/budget/', { signal }),
  /** Multipart: the file, `tokenizers` as a JSON list of {id, ref?}, `ks` as a JSON list, `seed`, `max_seconds`.
   * 202 with the queued job; 4xx `{message}` when the file or the choices are refused. */
  tokenize: (file: File, options: MediaTokenizeOptions, signal?: AbortSignal) => {
    const form = new FormData();
    form.set('file', file);
    form.set('tokenizers', JSON.stringify(options.tokenizers));
    if (options.ks?.length) form.set('ks', JSON.stringify(options.ks));
    if (options.seed !== undefined) form.set('seed', String(options.seed));
    if (options.maxSeconds !== undefined) form.set('max_seconds', String(options.maxSeconds));
    return send<MediaTokenizeResponse>('media/tokenize/', { method: 'POST', body: form, signal });
  },
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
