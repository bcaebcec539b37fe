import { describe, expect, it } from 'vitest';
import {
  codebookRequest,
  codebookUseHref,
  defaultCodebookForm,
  durationSeconds,
  earlierUploads,
  isCodebookResult,
  teamCodebook,
  trainingFacts,
  withModality,
} from './mediaCodebooks';

describe('codebookRequest', () => {
  it('sends the shipped-samples form without uploads, with the size and seed as numbers', () => {
    /** Catches sizes sent as strings, an empty uploads list that the server would read as "uploads", or a blank name sent. */
    const form = { ...defaultCodebookForm('image'), size: '16', seed: '3', name: '  ' };
    expect(codebookRequest(form)).toEqual({ request: { modality: 'image', method: 'kmeans-patch', codebook_size: 16, seed: 3 } });
  });

  it('refuses sizes outside 2–4096 and non-integers, as the server does', () => {
    /** Catches an off-by-one at the limits (the server accepts 2 and 4096 inclusive) or a fractional size let through. */
    const at = (size: string) => codebookRequest({ ...defaultCodebookForm('image'), size });
    expect('request' in at('2') && 'request' in at('4096')).toBe(true);
    for (const bad of ['1', '4097', '2.5', '', 'x']) expect(at(bad)).toHaveProperty('error');
  });

  it('needs at least one upload when training on uploads, and sends their ids', () => {
    /** Catches a submit that silently trains on the samples when the user chose uploads but ticked none. */
    const form = { ...defaultCodebookForm('audio'), source: 'uploads' as const };
    expect(codebookRequest(form)).toHaveProperty('error');
    expect(codebookRequest({ ...form, uploads: ['u1', 'u2'], name: 'speech' })).toEqual({
      request: { modality: 'audio', method: 'mel-units', codebook_size: 64, seed: 0, uploads: ['u1', 'u2'], name: 'speech' },
    });
  });

  it('refuses a method of the other modality', () => {
    /** Catches the form keeping an image method after switching to audio (a 400 from the server). */
    expect(codebookRequest({ ...defaultCodebookForm('audio'), method: 'progressive' })).toHaveProperty('error');
    expect(withModality({ ...defaultCodebookForm('image'), method: 'progressive', name: 'n' }, 'audio')).toMatchObject({ method: 'mel-units', name: 'n' });
  });
});

describe('earlierUploads', () => {
  it('lists each media upload once, newest first, with its modality, skipping other jobs', () => {
    /** Catches the same upload offered twice (one per run) or text jobs' params read as uploads. */
    const job = (kind: string, params: Record<string, unknown>) => ({ kind, params });
    const uploads = earlierUploads([
      job('media_tokenize', { modality: 'image', filename: 'b.png', upload: { id: 'B', sha256: 'bb', size_bytes: 10 } }),
      job('media_tokenize', { modality: 'audio', filename: 'a.wav', upload: { id: 'A', sha256: 'aa', size_bytes: 20 } }),
      job('media_tokenize', { modality: 'image', filename: 'b-again.png', upload: { id: 'B', sha256: 'bb', size_bytes: 10 } }),
      job('tokenize', { upload: { id: 'T' }, modality: 'image' }),
      job('media_tokenize', { modality: 'image' }),
    ]);
    expect(uploads).toEqual([
      { id: 'B', filename: 'b.png', sha256: 'bb', sizeBytes: 10, modality: 'image' },
      { id: 'A', filename: 'a.wav', sha256: 'aa', sizeBytes: 20, modality: 'audio' },
    ]);
  });
});

describe('training facts', () => {
  it('reads the three training records: k-means patches, coarse-to-fine windows, mel-unit clips', () => {
    /** Catches a record shape read as empty (a codebook shown as trained on 0 images) or the wrong unit. */
    const images = [{ name: 'astronaut.png', sha256: 'a1' }, { name: 'coffee.png', sha256: 'c1' }];
    expect(trainingFacts({ images, samples: 40960 })).toEqual({ items: images, unit: 'images', samples: '40,960 patches', summary: null });
    expect(trainingFacts({ images, windows: 4096 }).samples).toBe('4,096 windows');
    const clips = trainingFacts({ summary: '2 clips (x, y)', clips: [{ name: 'x', sha256: 's', sample_rate: 8000 }, { name: 'y', sha256: 't', sample_rate: 8000 }] });
    expect(clips).toMatchObject({ unit: 'clips', samples: null, summary: '2 clips (x, y)' });
    expect(clips.items.map((c) => c.name)).toEqual(['x', 'y']);
    expect(trainingFacts(null)).toEqual({ items: [], unit: 'images', samples: null, summary: null });
  });

  it('reads a catalogue entry’s team_codebook, and nothing from a shipped entry', () => {
    /** Catches shipped tokenizers listed as team codebooks (team_codebook null) or a lost job id. */
    expect(teamCodebook(null)).toBeNull();
    expect(teamCodebook({ job_id: 'J', method: 'kmeans-patch', codebook_size: 16, source: 'samples', training: { images: [], samples: 5 }, created_at: '2026-01-01T00:00:00Z' })).toMatchObject({
      jobId: 'J',
      codebookSize: 16,
      source: 'samples',
      training: { samples: '5 patches' },
    });
  });

  it('recognises a codebook job result and times it', () => {
    /** Catches a result without the new tokenizer's id accepted (the view's "use it" link would be broken). */
    expect(isCodebookResult({ info: { id: 'image/codebook-1', label: 'x' }, training: {} })).toBe(true);
    expect(isCodebookResult({ info: { label: 'x' } })).toBe(false);
    expect(isCodebookResult(null)).toBe(false);
    expect(durationSeconds('2026-01-01T00:00:00Z', '2026-01-01T00:00:02.500Z')).toBe(2.5);
    expect(durationSeconds(null, '2026-01-01T00:00:00Z')).toBeNull();
    expect(codebookUseHref('image/codebook-1')).toBe('/media?use=image%2Fcodebook-1');
  });
});
