import { act } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { setTeam } from '../../api/client';
import type { Job } from '../../api/types';
import { audioResult, imageResult } from '../../lib/media.fixtures';
import type { MediaTokenizerEntry } from '../../lib/mediaApi';
import { render } from '../../test/render';
import { defaultMediaForm, mediaFormOptions } from './MediaForm';
import { MediaResultView } from './MediaResultView';

const JOB = '11111111-2222-3333-4444-555555555555';
const job = (result: unknown): Job => ({
  id: JOB,
  kind: 'media_tokenize',
  title: 'media',
  status: 'succeeded',
  progress: 1,
  params: {},
  result,
  error: null,
  created_at: new Date().toISOString(),
  started_at: null,
  finished_at: null,
  owner: 'ada',
  team: 'lab',
  versions: null,
  permalink: null,
});

let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
  setTeam(null);
});

function setRange(input: HTMLInputElement, value: number) {
  // React tracks the value property; set it through the native setter so the change event carries it.
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')?.set;
  act(() => {
    setter?.call(input, String(value));
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

describe('MediaResultView, image', () => {
  it('changes the reconstruction when the k slider moves', () => {
    /** Catches a slider that updates its label but not the image, or shows the wrong k's artifact. */
    setTeam('lab');
    const { container, unmount } = render(<MediaResultView job={job(imageResult)} result={imageResult} />);
    cleanup = unmount;
    const card = container.querySelector('[data-tokenizer-id="image/progressive-1d"][data-testid="media-tokenizer"]') as HTMLElement;
    const img = () => card.querySelector('[data-testid="media-reconstruction"]') as HTMLImageElement;
    expect(img().getAttribute('data-k')).toBe('8');
    expect(img().getAttribute('src')).toBe(`/api/v1/media/jobs/${JOB}/artifacts/image-progressive-1d-k8.png/?team=lab`);
    setRange(card.querySelector('[data-testid="media-k-slider"]') as HTMLInputElement, 1);
    expect(img().getAttribute('src')).toContain('image-progressive-1d-k2.png');
    expect(card.querySelector('[data-testid="media-k-value"]')?.textContent).toBe('2');
    // the first k tokens of the strip are the ones in use
    expect(card.querySelectorAll('.media-strip-token.is-used')).toHaveLength(2);
  });

  it('draws the grid over the image, shows a failed tokenizer’s message and offers both exports', () => {
    /** Catches a grid drawn with the wrong shape, one failing tokenizer hiding the others, or a missing npz link. */
    const { container, unmount } = render(<MediaResultView job={job(imageResult)} result={imageResult} />);
    cleanup = unmount;
    const grid = container.querySelector('[data-testid="media-grid"]') as HTMLElement;
    expect([grid.dataset.rows, grid.dataset.cols]).toEqual(['4', '4']);
    expect(grid.querySelectorAll('.media-grid-cell')).toHaveLength(16);
    expect(grid.querySelectorAll('.media-grid-cell')[3].textContent).toBe('200');
    expect(container.querySelector('[data-tokenizer-id="image/flextok"] [data-testid="media-tokenizer-error"]')?.textContent).toContain('not installed');
    expect(container.querySelectorAll('[data-testid="media-compare-row"]')).toHaveLength(3);
    expect(container.querySelector('[data-testid="media-export-npz"]')?.getAttribute('href')).toBe(`/api/v1/jobs/${JOB}/export/?format=npz`);
  });
});

describe('MediaResultView, audio', () => {
  it('draws one time-aligned strip per tokenizer, phones labelled, and the A/B player', () => {
    /** Catches strips missing for a tokenizer, 8,000 rects for 8,000 samples, or phone labels lost. */
    const { container, unmount } = render(<MediaResultView job={job(audioResult)} result={audioResult} />);
    cleanup = unmount;
    const strips = [...container.querySelectorAll<SVGElement>('[data-testid="media-token-strip"]')];
    expect(strips.map((s) => s.dataset.tokenizerId)).toEqual(['audio/mulaw-8bit', 'audio/codec2-3200', 'audio/phones-pocketsphinx']);
    expect(strips.map((s) => s.dataset.tokens)).toEqual(['8000', '50', '4']);
    expect(Number(strips[0].dataset.cells)).toBeLessThanOrEqual(1001);
    expect(container.querySelector('.media-track-labels')?.textContent).toBe('SILHHAHSIL');
    const a = container.querySelector('[data-testid="media-audio-a"]') as HTMLAudioElement;
    const b = container.querySelector('[data-testid="media-audio-b"]') as HTMLAudioElement;
    // played straight from the artifact URL (the server answers byte ranges, so the browser can seek), not a blob
    expect(a.getAttribute('src')).toMatch(/^\/api\/v1\/media\/jobs\/[^/]+\/artifacts\/original\.wav\/(\?team=[^&]+)?$/);
    expect(b.getAttribute('src')).toMatch(/^\/api\/v1\/media\/jobs\/[^/]+\/artifacts\/audio-mulaw-8bit\.wav\/(\?team=[^&]+)?$/);
    // the phone units have no decoder: not offered as B
    const options = [...container.querySelectorAll('[data-testid="media-b-select"] option')].map((o) => o.getAttribute('value'));
    expect(options).toEqual(['audio/mulaw-8bit', 'audio/codec2-3200']);
    expect(container.querySelector('[data-testid="media-compare-table"]')?.textContent).toContain('3.2 kbit/s');
  });
});

describe('mediaFormOptions', () => {
  const entry = (over: Partial<MediaTokenizerEntry>): MediaTokenizerEntry => ({
    id: 'audio/mulaw-8bit',
    modality: 'audio',
    family: 'classical',
    label: 'mu-law',
    description: '',
    layout: 'strip',
    has_decoder: true,
    codebook_sizes: [256],
    status: { installed: true, detail: '', install: '' },
    sample_rate: 16000,
    frame_rate: 16000,
    image_size: null,
    max_tokens: null,
    source: '',
    licence: '',
    needs_ref: false,
    example_refs: [],
    team_codebook: null,
    ...over,
  });
  const wav = new File([new Uint8Array(10)], 'a.wav', { type: 'audio/wav' });

  it('sends only installed tokenizers of the file’s modality, with refs where needed', () => {
    /** Catches an image tokenizer still ticked from an earlier image being sent with a clip. */
    const entries = [entry({}), entry({ id: 'image/kmeans-patch-256', modality: 'image' }), entry({ id: 'audio/hf-codec', needs_ref: true })];
    const form = { ...defaultMediaForm(), file: wav, chosen: { 'audio/mulaw-8bit': { ref: '' }, 'image/kmeans-patch-256': { ref: '' }, 'audio/hf-codec': { ref: ' facebook/encodec_24khz ' } } };
    expect(mediaFormOptions(form, entries)).toEqual({
      options: { tokenizers: [{ id: 'audio/mulaw-8bit' }, { id: 'audio/hf-codec', ref: 'facebook/encodec_24khz' }], seed: 0, maxSeconds: 60 },
    });
  });

  it('says what to fix', () => {
    /** Catches a request sent without a checkpoint ref, or with too many seconds. */
    const entries = [entry({ id: 'audio/hf-codec', needs_ref: true })];
    const form = { ...defaultMediaForm(), file: wav, chosen: { 'audio/hf-codec': { ref: '' } } };
    expect(mediaFormOptions(form, entries)).toEqual({ error: 'mu-law needs a checkpoint: a hub id or an allowed folder.' });
    expect(mediaFormOptions({ ...defaultMediaForm(), file: wav }, entries)).toEqual({ error: 'Choose at least one installed tokenizer for this file.' });
    const ok = { ...form, chosen: { 'audio/hf-codec': { ref: 'x/y' } }, maxSeconds: '601' };
    expect(mediaFormOptions(ok, entries)).toEqual({ error: 'Seconds analysed: more than 0, at most 600.' });
    expect(mediaFormOptions(defaultMediaForm(), entries)).toEqual({ error: 'Choose an image or an audio file.' });
  });
});
