// Media results built to the shared contract (docs/media.md, "The media job result"), for the unit tests.
// Small on purpose: a 4×4 k-means grid and an 8-token ordered strip; a 1 s clip with mu-law samples (8 kHz),
// Codec2 frames (several codes per frame) and timed phones.
import type { MediaResult, MediaTokenizerResult } from './media';

const usage = (zipf: number[], size: number) => {
  const total = zipf.reduce((a, b) => a + b, 0);
  const entropy = -zipf.reduce((s, c) => s + (c / total) * Math.log2(c / total), 0);
  return { entropy_bits: entropy, perplexity: 2 ** entropy, utilisation: zipf.length / size, used: zipf.length, zipf };
};

const gridTok: MediaTokenizerResult = {
  id: 'image/kmeans-patch-256',
  label: 'k-means patches (256)',
  family: 'classical',
  layout: 'grid',
  has_decoder: true,
  description: 'A 2D grid of visual words: 16×16-pixel patches quantized to the nearest of 256 centroids.',
  codebook_sizes: [256],
  n_tokens: 16,
  bits: 16 * 8,
  codes: [
    [3, 3, 17, 200],
    [3, 5, 17, 200],
    [9, 5, 5, 41],
    [9, 9, 41, 41],
  ],
  grid: [4, 4],
  reconstructions: [{ k: 16, artifact: 'image-kmeans-patch-256-k16.png', psnr: 24.5, ssim: 0.71 }],
  contributions: null,
  usage: usage([4, 3, 3, 2, 2, 2], 256),
  timing: { encode_s: 0.004, decode_s: 0.001 },
  error: null,
};

const stripTok: MediaTokenizerResult = {
  id: 'image/progressive-1d',
  label: 'Ordered coarse-to-fine 1D',
  family: 'classical',
  layout: 'strip',
  has_decoder: true,
  description: 'Ordered 1D tokens: each prefix of k tokens reconstructs the image progressively.',
  codebook_sizes: [64],
  n_tokens: 8,
  bits: 8 * 6,
  codes: [12, 40, 3, 3, 61, 7, 22, 9],
  grid: null,
  reconstructions: [
    { k: 4, artifact: 'image-progressive-1d-k4.png', psnr: 18.0, ssim: 0.4 },
    { k: 1, artifact: 'image-progressive-1d-k1.png', psnr: 12.1, ssim: 0.2 },
    { k: 2, artifact: 'image-progressive-1d-k2.png', psnr: 15.3, ssim: 0.31 },
    { k: 8, artifact: 'image-progressive-1d-k8.png', psnr: 21.7, ssim: 0.55 },
  ],
  contributions: [12.1, 3.2, 1.5, 1.2, 1.4, 0.9, 0.8, 0.6],
  usage: usage([2, 1, 1, 1, 1, 1, 1], 64),
  timing: { encode_s: 0.02, decode_s: 0.01 },
  seed: 0,
  error: null,
};

export const imageResult: MediaResult = {
  modality: 'image',
  input: { filename: 'astronaut.png', sha256: 'a'.repeat(64), size_bytes: 123456, format: 'PNG', width: 64, height: 64, processed: 'none' },
  original: { artifact: 'original.png' },
  tokenizers: [
    gridTok,
    stripTok,
    { ...gridTok, id: 'image/flextok', label: 'FlexTok', family: 'neural', error: 'FlexTok is not installed: no checkpoint in var/models/media/flextok.' },
  ],
  manifest: null,
};

const SR = 8000;
const mulawCodes = Array.from({ length: SR }, (_, i) => 128 + Math.round(100 * Math.sin((2 * Math.PI * 440 * i) / SR)));

export const audioResult: MediaResult = {
  modality: 'audio',
  input: { filename: 'hello.wav', sha256: 'b'.repeat(64), size_bytes: 16044, format: 'WAV', duration_s: 1, sample_rate: SR, channels: 1, processed: 'none' },
  original: { artifact: 'original.wav' },
  waveform: { peaks: Array.from({ length: 100 }, (_, i) => [-Math.abs(Math.sin(i / 9)), Math.abs(Math.sin(i / 9))] as [number, number]), duration_s: 1 },
  spectrogram: { artifact: 'spectrogram.png', max_hz: 4000 },
  tokenizers: [
    {
      id: 'audio/mulaw-8bit',
      label: 'mu-law 8-bit',
      family: 'classical',
      layout: 'strip',
      has_decoder: true,
      description: 'WaveNet-style companding: one 8-bit token per sample.',
      codebook_sizes: [256],
      n_tokens: SR,
      bits: SR * 8,
      codes: [mulawCodes],
      grid: null,
      sample_rate: SR,
      frame_rate: SR,
      tokens_per_second: SR,
      bitrate_bps: 64000,
      times: null,
      labels: null,
      reconstruction: { artifact: 'audio-mulaw-8bit.wav', snr_db: 37.9, mel_distance: 0.05, pesq: 4.3, stoi: 0.99 },
      usage: usage([900, 800, 700, 600], 256),
      timing: { encode_s: 0.001, decode_s: 0.001 },
      error: null,
    },
    {
      id: 'audio/codec2-3200',
      label: 'Codec2 3200',
      family: 'codec',
      layout: 'frames',
      has_decoder: true,
      description: 'Codec2 at 3200 bit/s: a 64-bit frame every 20 ms.',
      codebook_sizes: [128, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32],
      n_tokens: 50,
      bits: 3200,
      codes: Array.from({ length: 3 }, (_, b) => Array.from({ length: 50 }, (_, i) => (i * (b + 3)) % 32)),
      grid: null,
      sample_rate: SR,
      frame_rate: 50,
      tokens_per_second: 50,
      bitrate_bps: 3200,
      times: null,
      labels: null,
      reconstruction: { artifact: 'audio-codec2-3200.wav', snr_db: 2.1, mel_distance: 0.8, pesq: 2.9, stoi: 0.85 },
      usage: usage([5, 4, 4, 3], 128),
      timing: { encode_s: 0.01, decode_s: 0.01 },
      error: null,
    },
    {
      id: 'audio/phones-pocketsphinx',
      label: 'Phones (PocketSphinx)',
      family: 'units',
      layout: 'strip',
      has_decoder: false,
      description: 'Discrete units without a decoder: a timed English phone sequence.',
      codebook_sizes: [40],
      n_tokens: 4,
      bits: 4 * Math.log2(40),
      codes: [[0, 11, 22, 0]],
      grid: null,
      sample_rate: 16000,
      frame_rate: null,
      tokens_per_second: 4,
      bitrate_bps: 4 * Math.log2(40),
      times: [
        [0, 0.2],
        [0.2, 0.45],
        [0.5, 0.8],
        [0.8, 1.0],
      ],
      labels: ['SIL', 'HH', 'AH', 'SIL'],
      reconstruction: null,
      usage: usage([2, 1, 1], 40),
      timing: { encode_s: 0.3, decode_s: null },
      error: null,
    },
  ],
  manifest: null,
};
