import { describe, expect, it } from 'vitest';
import type { Job } from '../api/types';
import { JOB_KINDS, jobHref, jobTokenizerIds } from './HistoryPage';

describe('History links', () => {
  it('opens distillation jobs on the Drafts page and every other job on its result page', () => {
    expect(jobHref({ id: 'a b', kind: 'distill_draft' })).toBe('/drafts?job=a%20b');
    expect(jobHref({ id: 'j1', kind: 'speculative' })).toBe('/results/j1');
    expect(jobHref({ id: 'j2', kind: 'tokenize' })).toBe('/results/j2');
    expect(jobHref({ id: 'j3', kind: 'media_tokenize' })).toBe('/media/jobs/j3');
  });

  it('offers every job kind the API lists in the kind filter', () => {
    expect(JOB_KINDS.map((k) => k.value)).toEqual(['', 'tokenize', 'speculative', 'distill_draft', 'detect_text', 'detect_dataset', 'media_tokenize', 'media_codebook']);
  });

  it('names a media job’s tokenizers by id', () => {
    /** Catches "[object Object]" in History for jobs whose params list {id, ref} choices. */
    const job = { params: { tokenizers: [{ id: 'audio/mulaw-8bit' }, { id: 'audio/hf-codec', ref: 'x/y' }, 'o200k_base'] }, result: null } as unknown as Job;
    expect(jobTokenizerIds(job)).toEqual(['audio/mulaw-8bit', 'audio/hf-codec', 'o200k_base']);
  });
});
