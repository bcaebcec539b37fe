import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../../api/types';
import { render } from '../../test/render';
import { CodebookResultView } from './CodebookResultView';

const JOB = '11111111-2222-3333-4444-555555555555';
const result = {
  info: { id: `image/codebook-${JOB}`, label: 'my words', modality: 'image', codebook_sizes: [16] },
  training: { images: [{ name: 'astronaut.png', sha256: 'ab'.repeat(32) }, { name: 'coffee.png', sha256: 'cd'.repeat(32) }], samples: 8192 },
};
const job: Job = {
  id: JOB,
  kind: 'media_codebook',
  title: 'codebook',
  status: 'succeeded',
  progress: 1,
  params: { modality: 'image', method: 'kmeans-patch', codebook_size: 16, seed: 0, source: 'samples', uploads: [] },
  result,
  error: null,
  created_at: '2026-12-06T11:00:00Z',
  started_at: '2026-12-06T11:00:01Z',
  finished_at: '2026-12-06T11:00:03.5Z',
  owner: 'ada',
  team: 'lab',
  versions: null,
  permalink: null,
};

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

describe('CodebookResultView', () => {
  it('shows what was trained, on what, how long, and links to use it', () => {
    /** Catches the training images or their hashes dropped, the time from the wrong timestamps, or a "use it" link
     * that does not name the new tokenizer. */
    const { container, unmount } = render(<CodebookResultView job={job} result={result} />);
    cleanup = unmount;
    const q = (id: string) => container.querySelector(`[data-testid="${id}"]`) as HTMLElement;
    expect(q('codebook-result-id').textContent).toBe(`image/codebook-${JOB}`);
    expect(q('codebook-result-size').textContent).toBe('16');
    expect(q('codebook-result-time').textContent).toBe('2.5 s');
    expect(q('codebook-result-source').textContent).toContain('2 images');
    expect(q('codebook-result-source').textContent).toContain('8,192 patches');
    const rows = container.querySelectorAll('[data-testid="codebook-training-item"]');
    expect([...rows].map((r) => r.querySelector('td')?.textContent)).toEqual(['astronaut.png', 'coffee.png']);
    expect(rows[0].querySelector('[title]')?.getAttribute('title')).toBe('ab'.repeat(32));
    expect(q('codebook-use').getAttribute('href')).toBe(`/media?use=${encodeURIComponent(`image/codebook-${JOB}`)}`);
  });
});
