// Image and audio tokenization (issue 11): the media job's result as the pipeline builds it
// (workers/pipelines/media_tokenize.py; the shared contract in docs/media.md), and the pure logic the Media page
// draws from it: which reconstruction a k slider shows, where each audio token sits in time, rates and usage.

export type MediaModality = 'image' | 'audio';
export type MediaLayout = 'strip' | 'grid' | 'frames';

export interface CodebookUsage {
  entropy_bits: number;
  perplexity: number;
  /** used / codebook size, in [0, 1]. */
  utilisation: number;
  used: number;
  /** Counts of the used codes sorted descending (truncated to 1024). */
  zipf: number[];
}

export interface ImageReconstruction {
  k: number;
  artifact: string;
  psnr: number | null;
  ssim: number | null;
}

export interface AudioReconstruction {
  artifact: string;
  snr_db: number | null;
  mel_distance: number | null;
  pesq: number | null;
  stoi: number | null;
}

/** One tokenizer's part of a media result. A tokenizer that failed carries `error` and may lack the rest. */
export interface MediaTokenizerResult {
  id: string;
  label: string;
  family: string;
  layout: MediaLayout;
  has_decoder: boolean;
  description: string;
  codebook_sizes: number[];
  n_tokens: number;
  /** n_tokens × Σ log2 V. */
  bits: number;
  /** audio: [codebook][frame]; image grid: [row][col]; image strip: [token]. */
  codes: number[] | number[][];
  /** The result keeps at most 100,000 codes (the first ones); all of them are in the npz export. */
  codes_truncated?: boolean;
  /** Audio: frames in all (codes may hold fewer when truncated). */
  n_frames?: number;
  grid: [number, number] | null;
  // audio
  sample_rate?: number;
  frame_rate?: number | null;
  tokens_per_second?: number;
  bitrate_bps?: number;
  times?: [number, number][] | null;
  labels?: string[] | null;
  reconstruction?: AudioReconstruction | null;
  // image
  reconstructions?: ImageReconstruction[];
  contributions?: number[] | null;
  /** The first codebook's usage; `per_codebook` for frames of several codebooks. */
  usage: (CodebookUsage & { per_codebook?: CodebookUsage[] }) | null;
  timing: { encode_s: number | null; decode_s: number | null } | null;
  seed?: number | null;
  error: string | null;
}

export interface MediaInputSummary {
  filename: string;
  sha256: string;
  size_bytes: number;
  format: string;
  width?: number;
  height?: number;
  duration_s?: number;
  /** Audio: the seconds the job analysed (the first max_seconds). */
  analysed_s?: number;
  sample_rate?: number;
  channels?: number;
  processed: string;
}

export interface MediaResult {
  modality: MediaModality;
  input: MediaInputSummary;
  original: { artifact: string };
  waveform?: { peaks: [number, number][]; duration_s: number } | null;
  spectrogram?: { artifact: string; max_hz: number } | null;
  tokenizers: MediaTokenizerResult[];
  /** Every tokenizer's codes as int arrays (npz), an artifact of the job. */
  codes_artifact?: string;
  manifest?: unknown;
}

export function isMediaResult(value: unknown): value is MediaResult {
  if (!value || typeof value !== 'object') return false;
  const v = value as Partial<MediaResult>;
  return (v.modality === 'image' || v.modality === 'audio') && Array.isArray(v.tokenizers) && !!v.original;
}

// ---- image: the k slider -------------------------------------------------------------------------------------

/** The reconstructions ordered by k, one per k (the slider's stops). */
export function sliderStops(recs: readonly ImageReconstruction[] | null | undefined): ImageReconstruction[] {
  const byK = new Map<number, ImageReconstruction>();
  for (const r of recs ?? []) if (Number.isFinite(r.k) && r.k > 0 && !byK.has(r.k)) byK.set(r.k, r);
  return [...byK.values()].sort((a, b) => a.k - b.k);
}

/** The stop a slider position stands for (clamped; positions are indices into `sliderStops`). */
export function stopAt(stops: readonly ImageReconstruction[], position: number): ImageReconstruction | null {
  if (!stops.length) return null;
  const i = Math.min(stops.length - 1, Math.max(0, Math.round(Number.isFinite(position) ? position : 0)));
  return stops[i];
}

/** The slider position showing the largest k that does not exceed `k` (the first stop when all are larger). */
export function positionForK(stops: readonly ImageReconstruction[], k: number): number {
  let best = 0;
  stops.forEach((s, i) => {
    if (s.k <= k) best = i;
  });
  return best;
}

// ---- audio: tokens in time -----------------------------------------------------------------------------------

export interface TimedToken {
  index: number;
  start: number;
  end: number;
  /** One code per codebook. */
  codes: number[];
  label: string | null;
}

/** The frames of an audio tokenizer (codes[codebook][frame]) as tokens in seconds: from the unit times when the
 * tokenizer gives them (phones), else frame i covers [i / frame_rate, (i + 1) / frame_rate). */
export function timedTokens(tok: Pick<MediaTokenizerResult, 'codes' | 'frame_rate' | 'times' | 'labels'>): TimedToken[] {
  const books = (Array.isArray(tok.codes[0]) ? tok.codes : [tok.codes]) as number[][];
  const n = books.length ? books[0].length : 0;
  const out: TimedToken[] = [];
  for (let i = 0; i < n; i++) {
    const time = tok.times?.[i];
    let start: number;
    let end: number;
    if (time) [start, end] = time;
    else if (tok.frame_rate && tok.frame_rate > 0) {
      start = i / tok.frame_rate;
      end = (i + 1) / tok.frame_rate;
    } else continue; // neither times nor a rate: the token cannot be placed
    out.push({ index: i, start, end, codes: books.map((b) => b[i]), label: tok.labels?.[i] ?? null });
  }
  return out;
}

/** The token playing at time `t` (binary search over tokens sorted by start), or null in a gap. */
export function tokenAt(tokens: readonly TimedToken[], t: number): TimedToken | null {
  let lo = 0;
  let hi = tokens.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid].start <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return null;
  return t < tokens[found].end ? tokens[found] : null;
}

/** One number standing for a frame's codes (the code itself for one codebook), so equal frames get one colour. */
export function frameKey(codes: readonly number[]): number {
  if (codes.length === 1) return codes[0];
  let h = 17;
  for (const c of codes) h = (Math.imul(h, 31) + c) | 0;
  return h >>> 0;
}

export interface StripCell {
  start: number;
  end: number;
  /** The first token's frame key (`frameKey`): what the cell's colour stands for. */
  code: number;
  /** The first token's codes, one per codebook. */
  codes: number[];
  count: number;
  label: string | null;
  first: number;
}

/** Tokens merged into at most `maxCells` time cells, so a strip of 480,000 mu-law samples draws as ~1,000 rects;
 * tokens wider than a cell (phones, codec frames on a short clip) stay one cell each. */
export function stripCells(tokens: readonly TimedToken[], duration: number, maxCells: number): StripCell[] {
  const width = duration > 0 && maxCells > 0 ? duration / maxCells : 0;
  const cells: StripCell[] = [];
  for (const t of tokens) {
    const last = cells[cells.length - 1];
    if (last && width > 0 && t.end - last.start <= width * 1.0001) {
      last.end = t.end;
      last.count += 1;
      continue;
    }
    cells.push({ start: t.start, end: t.end, code: frameKey(t.codes), codes: t.codes, count: 1, label: t.label, first: t.index });
  }
  return cells;
}

/** Seconds as m:ss.s (or s.ss under a minute). */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 60) return `${s.toFixed(2)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, '0')}`;
}

// ---- rates, bits, usage --------------------------------------------------------------------------------------

/** Bits one token carries: Σ log2 V over the codebooks of a frame. */
export function bitsPerToken(codebookSizes: readonly number[]): number {
  return codebookSizes.reduce((s, v) => s + (v > 1 ? Math.log2(v) : 0), 0);
}

function scaled(value: number, units: [number, string][], digits: number): string {
  for (const [size, unit] of units) if (Math.abs(value) >= size) return `${+(value / size).toPrecision(digits)} ${unit}`;
  const [, base] = units[units.length - 1];
  return `${value.toFixed(0)} ${base}`;
}

/** "700 bit/s", "3.2 kbit/s", "1.41 Mbit/s": three significant digits, SI prefixes (as codec rates are quoted). */
export function formatBitrate(bps: number | null | undefined): string {
  if (bps === null || bps === undefined || !Number.isFinite(bps)) return '—';
  return scaled(bps, [
    [1e6, 'Mbit/s'],
    [1e3, 'kbit/s'],
    [1, 'bit/s'],
  ], 3);
}

/** "2,048 bits (256 B)", "1.47 Mbit (184 KB)": a payload size in bits with its bytes. */
export function formatBits(bits: number | null | undefined): string {
  if (bits === null || bits === undefined || !Number.isFinite(bits)) return '—';
  const bytes = bits / 8;
  const b = bytes < 1024 ? `${Math.ceil(bytes)} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(2)} MB`;
  const main = bits < 1e4 ? `${Math.round(bits).toLocaleString('en-US')} bits` : scaled(bits, [[1e6, 'Mbit'], [1e3, 'kbit']], 3);
  return `${main} (${b})`;
}

/** "12 of 256 codes (4.7%)". */
export function formatUtilisation(usage: CodebookUsage | null | undefined, codebookSize: number | undefined): string {
  if (!usage) return '—';
  const pct = `${(usage.utilisation * 100).toFixed(1)}%`;
  return codebookSize ? `${usage.used.toLocaleString('en-US')} of ${codebookSize.toLocaleString('en-US')} codes (${pct})` : `${usage.used} codes (${pct})`;
}

/** Entropy with its ceiling: "5.21 of 8 bits". */
export function formatEntropy(usage: CodebookUsage | null | undefined, codebookSize: number | undefined): string {
  if (!usage) return '—';
  const cap = codebookSize && codebookSize > 1 ? ` of ${+Math.log2(codebookSize).toFixed(2)} bits` : ' bits';
  return `${usage.entropy_bits.toFixed(2)}${cap}`;
}

/** The Zipf plot's points: rank (1-based) against count, both for log axes (zero counts dropped). */
export function zipfPoints(zipf: readonly number[] | null | undefined): { rank: number; count: number }[] {
  return (zipf ?? []).map((count, i) => ({ rank: i + 1, count })).filter((p) => p.count > 0);
}

// ---- comparing tokenizers ------------------------------------------------------------------------------------

/** The best reconstruction an image tokenizer offers (all its tokens: the largest k). */
export function fullReconstruction(tok: MediaTokenizerResult): ImageReconstruction | null {
  const stops = sliderStops(tok.reconstructions);
  return stops.length ? stops[stops.length - 1] : null;
}

export interface RatePoint {
  id: string;
  label: string;
  /** Image: bits for the image; audio: bit/s. */
  rate: number;
  /** Image: PSNR (dB) at that k; audio: SNR (dB). */
  quality: number;
  k?: number;
}

/** Rate-quality points across tokenizers: every k of an image strip tokenizer (its own curve), a grid's full
 * code, an audio codec's bitrate against its SNR. Tokenizers without a decoder or a metric are left out. */
export function rateQualityPoints(result: MediaResult): RatePoint[] {
  const points: RatePoint[] = [];
  for (const tok of result.tokenizers) {
    if (tok.error) continue;
    if (result.modality === 'image') {
      const perToken = bitsPerToken(tok.codebook_sizes);
      for (const r of sliderStops(tok.reconstructions)) {
        if (r.psnr === null || !Number.isFinite(r.psnr)) continue;
        points.push({ id: tok.id, label: tok.label, rate: r.k * perToken, quality: r.psnr, k: r.k });
      }
    } else {
      const snr = tok.reconstruction?.snr_db;
      if (snr === null || snr === undefined || !Number.isFinite(snr) || !tok.bitrate_bps) continue;
      points.push({ id: tok.id, label: tok.label, rate: tok.bitrate_bps, quality: snr });
    }
  }
  return points;
}

/** A stable, well-spread colour for code `code` (golden-angle hues), so equal codes look alike across views. */
export function codeColour(code: number, alpha = 1): string {
  const hue = (((code * 137.508) % 360) + 360) % 360;
  const light = 52 + (((code * 7) % 3) - 1) * 10;
  return `hsla(${hue.toFixed(1)}, 70%, ${light}%, ${alpha})`;
}

/** Series colours for tokenizers drawn on one chart (the app's chip palette). */
export const SERIES_COLOURS = ['#e8590c', '#2f9e44', '#1c7ed6', '#ae3ec9', '#e0a800', '#0c8599', '#c92a2a', '#5c940d'];
