import { describe, expect, it } from 'vitest';
import { JOB_KINDS, jobHref } from './HistoryPage';

describe('History links', () => {
  it('opens distillation jobs on the Drafts page and every other job on its result page', () => {
    expect(jobHref({ id: 'a b', kind: 'distill_draft' })).toBe('/drafts?job=a%20b');
    expect(jobHref({ id: 'j1', kind: 'speculative' })).toBe('/results/j1');
    expect(jobHref({ id: 'j2', kind: 'tokenize' })).toBe('/results/j2');
  });

  it('offers every job kind the API lists in the kind filter', () => {
    expect(JOB_KINDS.map((k) => k.value)).toEqual(['', 'tokenize', 'speculative', 'distill_draft', 'detect_text', 'detect_dataset']);
  });
});
