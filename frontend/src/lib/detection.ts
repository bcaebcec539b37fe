// Detection results (workers/pipelines/detection_text.py, detection_dataset.py; docs/api.md "Detection results") and
// the pure logic of their views: the heatmap's colour scales and what a threshold implies on the scored rows.

export type HigherMeans = 'member' | 'non-member' | 'machine' | 'human';

/** A score's meaning and sign convention, as GET /detection/scores/ and every result give it. */
export interface ScoreConvention {
  name: string;
  label: string;
  task: 'membership' | 'machine';
  higher_means: HigherMeans;
  positive_is_higher: boolean;
  description: string;
  needs: string[];
  source: string;
}

export interface ModelEntry {
  ref: string;
  id: string;
  name: string;
}

export interface TextScoring {
  model: string;
  n_tokens: number;
  truncated: boolean;
  scores: Record<string, number | null>;
  /** The scored tokens (the first token of a text is not predicted, so it is not listed). */
  tokens: string[];
  /** [start, end) character offsets of each scored token in the text. */
  offsets: [number, number][];
  per_token: Record<string, number[]>;
  marks: Record<string, number[]>;
  details: Record<string, unknown>;
  notes: string[];
}

export interface DetectTextResult {
  texts: string[];
  scores: ScoreConvention[];
  params: Record<string, number>;
  reference_model: ModelEntry | null;
  second_model: ModelEntry | null;
  frequency_table: Record<string, unknown> | null;
  length_rule: string;
  runs: { model: ModelEntry; results: TextScoring[] }[];
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
  n: number;
  level: number;
}

export interface ScoreMetrics {
  higher_means: HigherMeans;
  rows_scored: number;
  rows_undefined: number;
  positives: number;
  negatives: number;
  available: boolean;
  reason?: string;
  auroc?: number;
  tpr_at_1_fpr?: number;
  tpr_at_5_fpr?: number;
  pr_auc?: number;
  best_accuracy?: { accuracy: number; threshold: number };
  ci?: Partial<Record<'auroc' | 'tpr_at_1_fpr' | 'tpr_at_5_fpr', Interval>>;
  roc?: { rule: '>=' | '<='; fpr: number[]; tpr: number[]; threshold: (number | null)[] };
  histogram?: { edges: number[]; positive: number[]; negative: number[] };
  by_length?: { min: number; max: number | null; n: number; positive: number; negative: number; auroc: number | null }[];
}

export interface DatasetRow {
  index: number;
  label: number;
  words: number;
  chars: number;
  preview: string;
  results: Record<string, { scores: Record<string, number | null>; n_tokens: number; truncated: boolean; notes: string[] }>;
}

export interface DetectDatasetResult {
  dataset: Record<string, unknown>;
  scores: ScoreConvention[];
  params: Record<string, number>;
  models: ModelEntry[];
  length_rule: string;
  bootstrap: { n: number; seed: number; level: number; stratified: boolean };
  rows: DatasetRow[];
  metrics: Record<string, Record<string, ScoreMetrics>>;
}

export function isDetectTextResult(r: unknown): r is DetectTextResult {
  return !!r && typeof r === 'object' && Array.isArray((r as DetectTextResult).runs) && Array.isArray((r as DetectTextResult).texts);
}

export function isDetectDatasetResult(r: unknown): r is DetectDatasetResult {
  return !!r && typeof r === 'object' && Array.isArray((r as DetectDatasetResult).rows) && !!(r as DetectDatasetResult).metrics;
}

/** What the positive class is called for a task (label 1 of a dataset). */
export function positiveName(task: 'membership' | 'machine'): string {
  return task === 'membership' ? 'member' : 'machine';
}

// ---- threshold picker ------------------------------------------------------------------------------------------

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  tpr: number;
  fpr: number;
  precision: number | null;
  accuracy: number;
}

/**
 * What predicting "positive" when `value rule threshold` implies on the rows (label 1 = member / machine). Rows whose
 * value is undefined (null / not finite) are left out, as the server's metrics leave them out.
 */
export function confusionAt(values: readonly (number | null | undefined)[], labels: readonly number[], threshold: number, rule: '>=' | '<='): Confusion {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined || !Number.isFinite(v)) return;
    const predicted = rule === '>=' ? v >= threshold : v <= threshold;
    const positive = labels[i] === 1;
    if (predicted && positive) tp += 1;
    else if (predicted) fp += 1;
    else if (positive) fn += 1;
    else tn += 1;
  });
  const pos = tp + fn;
  const neg = fp + tn;
  const total = pos + neg;
  return {
    tp,
    fp,
    tn,
    fn,
    tpr: pos ? tp / pos : 0,
    fpr: neg ? fp / neg : 0,
    precision: tp + fp ? tp / (tp + fp) : null,
    accuracy: total ? (tp + tn) / total : 0,
  };
}

/** The distinct finite values, ascending: the thresholds at which the confusion matrix changes. */
export function thresholdCandidates(values: readonly (number | null | undefined)[]): number[] {
  const finite = values.filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v));
  return [...new Set(finite)].sort((a, b) => a - b);
}

/** A row's value of one score for one model (null when the row has none). */
export function rowValues(rows: readonly DatasetRow[], model: string, score: string): (number | null)[] {
  return rows.map((r) => r.results[model]?.scores[score] ?? null);
}

// ---- heatmap ---------------------------------------------------------------------------------------------------

export type QuantityKey =
  | 'logp'
  | 'gltr_bucket'
  | 'entropy'
  | 'min_k_plus_plus_z'
  | 'dcpdd'
  | 'fast_detectgpt'
  | 'binoculars_pair';

export interface QuantitySpec {
  key: QuantityKey;
  label: string;
  /** What a warm (red) token means. */
  hint: string;
  /** Diverging around 0 (both signs meaningful) or sequential (low → high). */
  scale: 'diverging' | 'sequential' | 'gltr';
  /** Sequential scales: red at the high end (true) or at the low end (false). */
  hotIsHigh?: boolean;
}

export const QUANTITIES: QuantitySpec[] = [
  { key: 'logp', label: 'Log-probability', hint: 'red: unlikely tokens (low log p), blue: likely ones', scale: 'sequential', hotIsHigh: false },
  { key: 'gltr_bucket', label: 'Rank bucket (GLTR)', hint: 'green top 10, yellow top 100, red top 1,000, purple beyond', scale: 'gltr' },
  { key: 'entropy', label: 'Entropy', hint: "red: the model's next-token distribution was uncertain (nats)", scale: 'sequential', hotIsHigh: true },
  { key: 'min_k_plus_plus_z', label: 'Min-K%++ z', hint: "z of log p within the model's distribution; red: below its mean", scale: 'diverging' },
  { key: 'dcpdd', label: 'DC-PDD contribution', hint: 'p(x)·log(1/f(x)), clipped at a; red: large contributions', scale: 'sequential', hotIsHigh: true },
  { key: 'fast_detectgpt', label: 'Fast-DetectGPT contribution', hint: 'log p − expected log p; red: below expectation (human-like)', scale: 'diverging' },
  {
    key: 'binoculars_pair',
    label: 'Binoculars pair',
    hint: 'performer NLL − cross-entropy per token; red: more surprising than the observer expects',
    scale: 'diverging',
    hotIsHigh: true,
  },
];

/** The per-token series of a quantity, or null when this result does not have it. */
export function quantitySeries(scoring: TextScoring, key: QuantityKey): number[] | null {
  if (key === 'binoculars_pair') {
    const nll = scoring.per_token.binoculars_performer_nll;
    const cross = scoring.per_token.binoculars_cross_entropy;
    return nll && cross ? nll.map((v, i) => v - cross[i]) : null;
  }
  return scoring.per_token[key] ?? null;
}

export const GLTR_COLOURS = ['#b2f2bb', '#ffec99', '#ffa8a8', '#d0bfff'] as const;
export const GLTR_LABELS = ['top 10', 'top 100', 'top 1,000', 'beyond'] as const;

type Rgb = [number, number, number];
const NEUTRAL: Rgb = [248, 249, 250];
const HOT: Rgb = [250, 82, 82];
const COLD: Rgb = [51, 154, 240];

function mix(a: Rgb, b: Rgb, t: number): string {
  const c = a.map((x, i) => Math.round(x + (b[i] - x) * t));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export interface ColourScale {
  min: number;
  max: number;
  colour: (v: number) => string;
}

/** A robust range: the 2nd and 98th percentiles, so one extreme token does not wash the others out. */
export function robustRange(values: readonly number[]): [number, number] {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!finite.length) return [0, 0];
  const at = (q: number) => finite[Math.min(finite.length - 1, Math.max(0, Math.round(q * (finite.length - 1))))];
  return [at(0.02), at(0.98)];
}

/**
 * The colour of each value of a series: GLTR buckets get their fixed colours; a diverging scale is symmetric around
 * 0 (neutral at 0, red on the `hotIsHigh` side, blue on the other); a sequential one runs blue → neutral → red from
 * the cold to the hot end of the series' robust range. Values outside the range take the end colour.
 */
export function colourScale(spec: QuantitySpec, values: readonly number[]): ColourScale {
  if (spec.scale === 'gltr') {
    return { min: 0, max: 3, colour: (v) => GLTR_COLOURS[Math.min(3, Math.max(0, Math.round(v)))] };
  }
  const [lo, hi] = robustRange(values);
  if (spec.scale === 'diverging') {
    const bound = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    const hotSign = spec.hotIsHigh ? 1 : -1;
    return {
      min: -bound,
      max: bound,
      colour: (v) => {
        const t = Math.max(-1, Math.min(1, v / bound)) * hotSign;
        return t >= 0 ? mix(NEUTRAL, HOT, t) : mix(NEUTRAL, COLD, -t);
      },
    };
  }
  const span = hi - lo || 1;
  return {
    min: lo,
    max: hi,
    colour: (v) => {
      let t = Math.max(0, Math.min(1, (v - lo) / span)); // 0 at lo, 1 at hi
      if (!spec.hotIsHigh) t = 1 - t;
      return t >= 0.5 ? mix(NEUTRAL, HOT, (t - 0.5) * 2) : mix(NEUTRAL, COLD, (0.5 - t) * 2);
    },
  };
}

/** Black or white text, whichever reads better on an `rgb(...)` / `#rrggbb` background. */
export function textColourOn(background: string): string {
  let rgb: number[] = [];
  const m = /rgb\((\d+), (\d+), (\d+)\)/.exec(background);
  if (m) rgb = [Number(m[1]), Number(m[2]), Number(m[3])];
  else if (/^#[0-9a-f]{6}$/i.test(background)) rgb = [1, 3, 5].map((i) => parseInt(background.slice(i, i + 2), 16));
  if (rgb.length !== 3) return '#212529';
  const luminance = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255;
  return luminance > 0.55 ? '#212529' : '#ffffff';
}

/** The text cut into [unscored prefix, one piece per scored token, tail], from the tokens' character offsets. */
export function tokenPieces(text: string, offsets: readonly [number, number][]): { prefix: string; pieces: string[]; tail: string } {
  if (!offsets.length) return { prefix: text, pieces: [], tail: '' };
  const pieces = offsets.map(([start], i) => text.slice(start, i + 1 < offsets.length ? offsets[i + 1][0] : offsets[i][1]));
  return { prefix: text.slice(0, offsets[0][0]), pieces, tail: text.slice(offsets[offsets.length - 1][1]) };
}

/** "higher → member" etc., for tables and legends. */
export function signLabel(c: Pick<ScoreConvention, 'higher_means'>): string {
  return `higher → ${c.higher_means}`;
}
