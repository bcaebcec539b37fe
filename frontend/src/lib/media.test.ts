import { describe, expect, it } from 'vitest';
import {
  bitsPerToken,
  formatBitrate,
  formatBits,
  formatEntropy,
  formatUtilisation,
  frameKey,
  isMediaResult,
  positionForK,
  rateQualityPoints,
  sliderStops,
  stopAt,
  stripCells,
  timedTokens,
  tokenAt,
  zipfPoints,
} from './media';
import { audioResult, imageResult } from './media.fixtures';
import { guessModality, parseKs } from './mediaApi';

const strip = imageResult.tokenizers[1];
const [mulaw, codec2, phones] = audioResult.tokenizers;

describe('k slider', () => {
  it('orders the reconstructions by k, one stop per k', () => {
    /** Catches a slider that follows the server's order (k = 4, 1, 2, 8) or repeats a k. */
    const stops = sliderStops([...(strip.reconstructions ?? []), { k: 2, artifact: 'dup.png', psnr: 0, ssim: 0 }]);
    expect(stops.map((s) => s.k)).toEqual([1, 2, 4, 8]);
    expect(stops[1].artifact).toBe('image-progressive-1d-k2.png');
  });

  it('maps positions to stops, clamped and rounded', () => {
    /** Catches an off-by-one or an out-of-range position showing nothing. */
    const stops = sliderStops(strip.reconstructions);
    expect(stopAt(stops, 0)?.k).toBe(1);
    expect(stopAt(stops, 2)?.k).toBe(4);
    expect(stopAt(stops, 99)?.k).toBe(8);
    expect(stopAt(stops, -3)?.k).toBe(1);
    expect(stopAt(stops, 1.6)?.k).toBe(4);
    expect(stopAt([], 0)).toBeNull();
  });

  it('starts at the largest k not above the wanted one', () => {
    /** Catches an initial position showing a k larger than asked for (or the coarsest for "all tokens"). */
    const stops = sliderStops(strip.reconstructions);
    expect(positionForK(stops, Infinity)).toBe(3);
    expect(positionForK(stops, 5)).toBe(2);
    expect(positionForK(stops, 0)).toBe(0);
  });
});

describe('audio tokens in time', () => {
  it('places fixed-rate frames at i / frame_rate with one code per codebook', () => {
    /** Catches frames placed by index without the rate, or codebooks read as frames. */
    const t = timedTokens(codec2);
    expect(t).toHaveLength(50);
    expect(t[10].start).toBeCloseTo(0.2);
    expect(t[10].end).toBeCloseTo(0.22);
    expect(t[10].codes).toEqual([(10 * 3) % 32, (10 * 4) % 32, (10 * 5) % 32]);
  });

  it('uses the units’ own times and labels, gaps included', () => {
    /** Catches phones spread evenly instead of at their times, or a gap attributed to a neighbour. */
    const t = timedTokens(phones);
    expect(t.map((x) => x.label)).toEqual(['SIL', 'HH', 'AH', 'SIL']);
    expect(tokenAt(t, 0.3)?.label).toBe('HH');
    expect(tokenAt(t, 0.47)).toBeNull(); // between 0.45 and 0.5
    expect(tokenAt(t, 0.5)?.label).toBe('AH');
    expect(tokenAt(t, 1.5)).toBeNull();
    expect(tokenAt(t, -0.1)).toBeNull();
  });

  it('finds the sample playing at t among 8,000 mu-law tokens', () => {
    /** Catches a search that drifts by a sample on a long strip. */
    const t = timedTokens(mulaw);
    expect(tokenAt(t, 0.5)?.index).toBe(4000);
    expect(tokenAt(t, 0.5 + 0.9 / 8000)?.index).toBe(4000);
  });

  it('merges dense tokens into at most maxCells cells and keeps wide tokens whole', () => {
    /** Catches a strip drawing one rect per sample (8,000 here, 480,000 for a minute) or merging phones. */
    const cells = stripCells(timedTokens(mulaw), 1, 200);
    expect(cells.length).toBeLessThanOrEqual(201);
    expect(cells.reduce((s, c) => s + c.count, 0)).toBe(8000);
    expect(cells[0].start).toBe(0);
    expect(cells[cells.length - 1].end).toBeCloseTo(1);
    const phoneCells = stripCells(timedTokens(phones), 1, 200);
    expect(phoneCells.map((c) => c.label)).toEqual(['SIL', 'HH', 'AH', 'SIL']);
  });

  it('colours a frame by all its codes', () => {
    /** Catches Codec2 frames coloured by their first 1-bit field only (a two-colour strip). */
    expect(frameKey([7])).toBe(7);
    expect(frameKey([1, 5, 9])).not.toBe(frameKey([1, 5, 8]));
    expect(frameKey([1, 5, 9])).toBe(frameKey([1, 5, 9]));
    const keys = new Set(stripCells(timedTokens(codec2), 1, 1000).map((c) => c.code));
    expect(keys.size).toBeGreaterThan(2);
  });
});

describe('rates, bits and usage', () => {
  it('sums log2 V over the codebooks of a frame', () => {
    /** Catches a bitrate that counts one codebook of a multi-codebook frame. */
    expect(bitsPerToken([256])).toBe(8);
    expect(bitsPerToken([1024, 1024, 1024, 1024])).toBe(40);
    expect(bitsPerToken([1])).toBe(0);
  });

  it('formats bitrates with SI prefixes', () => {
    /** Catches kibi prefixes (3200 bit/s shown as 3.13) or lost units. */
    expect(formatBitrate(700)).toBe('700 bit/s');
    expect(formatBitrate(52.45)).toBe('52.5 bit/s');
    expect(formatBitrate(3200)).toBe('3.2 kbit/s');
    expect(formatBitrate(1733.3)).toBe('1.73 kbit/s');
    expect(formatBitrate(128000)).toBe('128 kbit/s');
    expect(formatBitrate(1_411_200)).toBe('1.41 Mbit/s');
    expect(formatBitrate(0.5)).toBe('1 bit/s');
    expect(formatBitrate(null)).toBe('—');
  });

  it('formats bits with their bytes', () => {
    /** Catches bits shown as bytes (8× off). */
    expect(formatBits(128)).toBe('128 bits (16 B)');
    expect(formatBits(64000)).toBe('64 kbit (7.8 KB)');
    expect(formatBits(undefined)).toBe('—');
  });

  it('formats utilisation and entropy against the codebook', () => {
    /** Catches a utilisation fraction shown as a percentage of 1 or an entropy without its ceiling. */
    const u = { entropy_bits: 5.2109, perplexity: 37, utilisation: 12 / 256, used: 12, zipf: [] };
    expect(formatUtilisation(u, 256)).toBe('12 of 256 codes (4.7%)');
    expect(formatEntropy(u, 256)).toBe('5.21 of 8 bits');
    expect(formatEntropy(u, 40)).toBe('5.21 of 5.32 bits');
    expect(formatUtilisation(null, 256)).toBe('—');
  });

  it('drops zero counts from the Zipf plot and ranks from 1', () => {
    /** Catches log(0) points or 0-based ranks on a log axis. */
    expect(zipfPoints([5, 3, 0])).toEqual([
      { rank: 1, count: 5 },
      { rank: 2, count: 3 },
    ]);
  });
});

describe('comparing tokenizers', () => {
  it('plots every k of a strip and the full grid for images, skipping failed tokenizers', () => {
    /** Catches rate measured in tokens instead of bits, or a failed tokenizer plotted at 0. */
    const pts = rateQualityPoints(imageResult);
    expect(pts.filter((p) => p.id === 'image/progressive-1d').map((p) => [p.k, p.rate])).toEqual([
      [1, 6],
      [2, 12],
      [4, 24],
      [8, 48],
    ]);
    expect(pts.filter((p) => p.id === 'image/kmeans-patch-256')).toEqual([{ id: 'image/kmeans-patch-256', label: 'k-means patches (256)', rate: 128, quality: 24.5, k: 16 }]);
    expect(pts.some((p) => p.id === 'image/flextok')).toBe(false);
  });

  it('plots audio bitrate against SNR, leaving out tokenizers without a decoder', () => {
    /** Catches the phone units (no reconstruction) drawn with a made-up quality. */
    const pts = rateQualityPoints(audioResult);
    expect(pts.map((p) => [p.id, p.rate, p.quality])).toEqual([
      ['audio/mulaw-8bit', 64000, 37.9],
      ['audio/codec2-3200', 3200, 2.1],
    ]);
  });

  it('recognises a media result', () => {
    /** Catches a tokenize result (no modality) routed to the media view. */
    expect(isMediaResult(imageResult)).toBe(true);
    expect(isMediaResult({ results: [] })).toBe(false);
    expect(isMediaResult(null)).toBe(false);
  });
});

describe('form helpers', () => {
  it('parses prefixes k', () => {
    /** Catches unsorted, duplicated or fractional k reaching the server. */
    expect(parseKs('8, 1 2;4 4')).toEqual([1, 2, 4, 8]);
    expect(parseKs('1, 2.5')).toBeNull();
    expect(parseKs('0')).toBeNull();
    expect(parseKs('  ')).toBeNull();
  });

  it('guesses the modality from the type, then the extension', () => {
    /** Catches a WAV without a MIME type offered the image tokenizers. */
    expect(guessModality({ name: 'a.bin', type: 'image/png' })).toBe('image');
    expect(guessModality({ name: 'clip.WAV', type: '' })).toBe('audio');
    expect(guessModality({ name: 'notes.txt', type: 'text/plain' })).toBeNull();
  });
});
