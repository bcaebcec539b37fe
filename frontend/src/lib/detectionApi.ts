// The detection endpoints (apps/detection/api.py; docs/api.md "Detection"). Results are followed through the jobs API.
import { request, send } from '../api/client';
import type { Job } from '../api/types';
import type { ScoreConvention } from './detection';

export interface ScoreParamsInput {
  k?: number;
  dcpdd_a?: number;
  max_tokens?: number;
}

export interface DetectCommon {
  models: string[];
  scores: string[];
  params?: ScoreParamsInput;
  reference_model?: string | null;
  second_model?: string | null;
  frequency_table?: string | null;
}

export interface DatasetColumns {
  layout: 'labelled' | 'pairs';
  text_column?: string;
  label_column?: string;
  human_column?: string;
  machine_column?: string;
}

export interface FrequencyTableEntry {
  id: string;
  model: string;
  tokenizer_id: string | null;
  corpus: Record<string, unknown>;
  total_tokens: number | null;
  created_at: string;
}

export interface ShippedCorpus {
  id: string;
  name: string;
  package: string;
  version: string | null;
  licence: string;
  provenance: string;
  description: string;
  unit: string;
  installed: boolean;
}

/** Where a frequency table's counts come from: a corpus the server ships, or a text file (one text per line). */
export type CorpusSource = { corpus: string } | { file: File };

export const detectionApi = {
  corpora: (signal?: AbortSignal) => request<ShippedCorpus[]>('detection/corpora/', { signal }),
  /** 202 with the queued `frequency_table` job; the table is listed (id = the job id) once it succeeds. */
  buildFrequencyTable: (model: string, source: CorpusSource, signal?: AbortSignal) => {
    const form = new FormData();
    form.set('model', model);
    if ('corpus' in source) form.set('corpus', source.corpus);
    else form.set('file', source.file);
    return send<Job>('detection/frequency-tables/', { method: 'POST', body: form, signal });
  },
  scores: (signal?: AbortSignal) => request<ScoreConvention[]>('detection/scores/', { signal }),
  frequencyTables: (signal?: AbortSignal) => request<FrequencyTableEntry[]>('detection/frequency-tables/', { signal }),
  /** 202 with the queued job; 400 `{message}` for inputs the server refuses. */
  text: (body: DetectCommon & { texts: string[] }, signal?: AbortSignal) =>
    send<Job>('detection/text/', { method: 'POST', body, signal }),
  /** Multipart: the file, repeated `models` / `scores` fields and `params` as a JSON string. */
  dataset: (file: File, common: DetectCommon, columns: DatasetColumns, signal?: AbortSignal) => {
    const form = new FormData();
    form.set('file', file);
    common.models.forEach((m) => form.append('models', m));
    common.scores.forEach((s) => form.append('scores', s));
    if (common.params) form.set('params', JSON.stringify(common.params));
    for (const key of ['reference_model', 'second_model', 'frequency_table'] as const) {
      const value = common[key];
      if (value) form.set(key, value);
    }
    for (const [key, value] of Object.entries(columns)) if (value) form.set(key, value);
    return send<Job>('detection/datasets/', { method: 'POST', body: form, signal });
  },
};

/** The column names of an uploaded JSONL / JSON / CSV / TSV file, read from its first record (for the pickers). */
export function sniffColumns(head: string, filename: string): string[] {
  const name = filename.toLowerCase();
  const firstLine = head.split(/\r?\n/).find((l) => l.trim()) ?? '';
  if (name.endsWith('.csv') || name.endsWith('.tsv')) {
    const sep = name.endsWith('.tsv') ? '\t' : ',';
    return firstLine.split(sep).map((c) => c.trim().replace(/^"(.*)"$/, '$1')).filter(Boolean);
  }
  const keys = (value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : []);
  const trimmed = head.trim();
  try {
    // A JSON array of records, or one object of equal-length lists (Fast-DetectGPT's {"original": [...], ...}).
    const whole: unknown = JSON.parse(trimmed);
    return Array.isArray(whole) ? keys(whole[0]) : keys(whole);
  } catch {
    /* JSON lines (or a file cut at the sniffing limit): the first record */
  }
  try {
    return keys(JSON.parse(firstLine));
  } catch {
    return [];
  }
}
