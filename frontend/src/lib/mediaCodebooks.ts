// Team codebooks (issue 11): the training form's checks and request, the team's earlier media uploads to train on,
// and the facts of a trained codebook (its catalogue entry's `team_codebook`, or a `media_codebook` job's result).
import type { components } from '../api/schema';
import type { Job } from '../api/types';
import type { MediaModality } from './media';

type Schemas = components['schemas'];
export type CodebookMethod = Schemas['MediaCodebookInputMethodEnum'];
export type CodebookRequest = Schemas['MediaCodebookInputRequest'];

/** The server's limits (apps/media/services.py CODEBOOK_SIZES, apps/media/limits.py MAX_CODEBOOK_UPLOADS). */
export const CODEBOOK_LIMITS = { minSize: 2, maxSize: 4096, maxUploads: 50, nameChars: 80 } as const;

export interface CodebookMethodInfo {
  value: CodebookMethod;
  label: string;
  hint: string;
  defaultSize: number;
}

/** Which methods train which modality (the server refuses any other pairing). */
export const CODEBOOK_METHODS: Record<MediaModality, readonly CodebookMethodInfo[]> = {
  image: [
    { value: 'kmeans-patch', label: 'k-means patches (grid)', hint: 'Each 8×8 patch becomes its nearest of k visual words.', defaultSize: 256 },
    { value: 'progressive', label: 'coarse-to-fine 1D (strip)', hint: 'Ordered tokens: a prefix of k tokens reconstructs the image progressively.', defaultSize: 256 },
  ],
  audio: [{ value: 'mel-units', label: 'k-means mel units', hint: 'Each log-mel frame becomes its nearest of k units.', defaultSize: 64 }],
};

export const CODEBOOK_SAMPLES: Record<MediaModality, string> = {
  image: "scikit-image's sample photographs (astronaut, cat, coffee, rocket, Hubble deep field, IHC)",
  audio: "Codec 2's example speech recordings (8 kHz)",
};

export interface CodebookFormValue {
  modality: MediaModality;
  method: CodebookMethod;
  size: string;
  seed: string;
  source: 'samples' | 'uploads';
  uploads: string[];
  name: string;
}

export function defaultCodebookForm(modality: MediaModality = 'image'): CodebookFormValue {
  const method = CODEBOOK_METHODS[modality][0];
  return { modality, method: method.value, size: String(method.defaultSize), seed: '0', source: 'samples', uploads: [], name: '' };
}

/** The form after switching modality: the method and size follow (a method of the other modality is refused). */
export function withModality(form: CodebookFormValue, modality: MediaModality): CodebookFormValue {
  if (form.modality === modality) return form;
  return { ...defaultCodebookForm(modality), name: form.name, seed: form.seed, source: form.source };
}

/** The POST body for a valid form, or the message saying what to fix. */
export function codebookRequest(form: CodebookFormValue): { request: CodebookRequest } | { error: string } {
  if (!CODEBOOK_METHODS[form.modality].some((m) => m.value === form.method))
    return { error: `${form.modality} codebooks are trained with: ${CODEBOOK_METHODS[form.modality].map((m) => m.value).join(', ')}.` };
  const size = Number(form.size);
  const { minSize, maxSize, maxUploads, nameChars } = CODEBOOK_LIMITS;
  if (!form.size.trim() || !Number.isInteger(size) || size < minSize || size > maxSize)
    return { error: `Codebook size: a whole number from ${minSize} to ${maxSize}.` };
  const seed = Number(form.seed || '0');
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 31 - 1) return { error: 'The seed must be a whole number ≥ 0.' };
  const name = form.name.trim();
  if (name.length > nameChars) return { error: `The name is at most ${nameChars} characters.` };
  const request: CodebookRequest = { modality: form.modality, method: form.method, codebook_size: size, seed };
  if (name) request.name = name;
  if (form.source === 'uploads') {
    if (!form.uploads.length) return { error: `Choose at least one earlier ${form.modality} upload, or train on the shipped samples.` };
    if (form.uploads.length > maxUploads) return { error: `At most ${maxUploads} uploads per codebook.` };
    request.uploads = [...form.uploads];
  }
  return { request };
}

export interface EarlierUpload {
  id: string;
  filename: string;
  sha256: string;
  sizeBytes: number | null;
  modality: MediaModality;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The team's media uploads as its `media_tokenize` jobs name them (params.upload), newest first, each once. */
export function earlierUploads(jobs: readonly Pick<Job, 'kind' | 'params'>[]): EarlierUpload[] {
  const seen = new Map<string, EarlierUpload>();
  for (const job of jobs) {
    if (job.kind !== 'media_tokenize' || !isRecord(job.params)) continue;
    const { upload, modality, filename } = job.params;
    if (!isRecord(upload) || typeof upload.id !== 'string' || (modality !== 'image' && modality !== 'audio')) continue;
    if (seen.has(upload.id)) continue;
    seen.set(upload.id, {
      id: upload.id,
      filename: typeof filename === 'string' ? filename : upload.id,
      sha256: typeof upload.sha256 === 'string' ? upload.sha256 : '',
      sizeBytes: typeof upload.size_bytes === 'number' ? upload.size_bytes : null,
      modality,
    });
  }
  return [...seen.values()];
}

export interface TrainedOn {
  name: string;
  sha256: string;
}

/** What a codebook was trained on, from the training record its file carries: images (k-means patches: `samples`
 * patches; coarse-to-fine: `windows`) or clips (mel units: their frames are in the job's info, not the record). */
export interface TrainingFacts {
  items: TrainedOn[];
  unit: 'images' | 'clips';
  /** e.g. "40,960 patches", "4,096 windows"; null when the record does not say. */
  samples: string | null;
  summary: string | null;
}

export function trainingFacts(training: unknown): TrainingFacts {
  const rec = isRecord(training) ? training : {};
  const list = Array.isArray(rec.images) ? rec.images : Array.isArray(rec.clips) ? rec.clips : [];
  const items = list.filter(isRecord).map((x) => ({ name: String(x.name ?? ''), sha256: typeof x.sha256 === 'string' ? x.sha256 : '' }));
  const count = (key: string, word: string) => (typeof rec[key] === 'number' ? `${(rec[key] as number).toLocaleString('en-US')} ${word}` : null);
  return {
    items,
    unit: Array.isArray(rec.clips) ? 'clips' : 'images',
    samples: count('samples', 'patches') ?? count('windows', 'windows'),
    summary: typeof rec.summary === 'string' ? rec.summary : null,
  };
}

/** A catalogue entry's `team_codebook` (the schema types it as a free object). */
export interface TeamCodebook {
  jobId: string;
  method: string;
  codebookSize: number | null;
  source: string;
  training: TrainingFacts;
  createdAt: string | null;
}

export function teamCodebook(value: unknown): TeamCodebook | null {
  if (!isRecord(value) || typeof value.job_id !== 'string') return null;
  return {
    jobId: value.job_id,
    method: String(value.method ?? ''),
    codebookSize: typeof value.codebook_size === 'number' ? value.codebook_size : null,
    source: String(value.source ?? ''),
    training: trainingFacts(value.training),
    createdAt: typeof value.created_at === 'string' ? value.created_at : null,
  };
}

/** A `media_codebook` job's result (workers/pipelines/media_codebook.py): the new tokenizer's info and its training
 * record, with the manifest. */
export interface CodebookResult {
  info: { id: string; label: string; description?: string; family?: string; layout?: string; codebook_sizes?: number[]; modality?: string };
  training: unknown;
  manifest?: unknown;
}

export function isCodebookResult(value: unknown): value is CodebookResult {
  return isRecord(value) && isRecord(value.info) && typeof value.info.id === 'string' && typeof value.info.label === 'string';
}

/** Seconds between two ISO times, or null. */
export function durationSeconds(start: string | null | undefined, end: string | null | undefined): number | null {
  if (!start || !end) return null;
  const s = (Date.parse(end) - Date.parse(start)) / 1000;
  return Number.isFinite(s) && s >= 0 ? s : null;
}

/** `/media?use=<tokenizer id>`: the Media page with that tokenizer chosen. */
export function codebookUseHref(tokenizerId: string): string {
  return `/media?use=${encodeURIComponent(tokenizerId)}`;
}
