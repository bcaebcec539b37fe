// The comparison table's rows: how each metric is read, formatted, explained, and which value is best.
import type { TokenizerResult } from '../api/types';
import { formatInt, formatNum, formatPercent } from './format';

export type Better = 'lower' | 'higher' | 'true' | null;

export type MetricValue = number | boolean | null | undefined;

export interface Metric {
  key: string;
  label: string;
  /** Short explanation shown on hover/focus. */
  help: string;
  better: Better;
  value: (r: TokenizerResult) => MetricValue;
  format: (r: TokenizerResult, baselineId: string | null) => string;
}

function relativeCostLabel(rel: number | null | undefined, isBaseline: boolean): string {
  if (rel === null || rel === undefined || !Number.isFinite(rel)) return '—';
  if (isBaseline) return `${rel.toFixed(2)}× (baseline)`;
  const pct = Math.round((rel - 1) * 100);
  const sign = pct > 0 ? '+' : pct < 0 ? '−' : '±';
  return `${rel.toFixed(2)}× (${sign}${Math.abs(pct)}%)`;
}

export function numberChunksLabel(r: TokenizerResult): string {
  const nc = r.stats.number_chunks;
  if (!nc || (!nc.pattern && !nc.examples?.length)) return '— (no numbers)';
  const ex = nc.examples?.[0];
  const example = ex ? `${ex[0]} → ${ex[1].join('|')}` : '';
  return [nc.pattern, example].filter(Boolean).join(' · ');
}

export const METRICS: Metric[] = [
  {
    key: 'tokens',
    label: 'Tokens',
    help: 'Number of tokens for the whole input. Fewer tokens means a shorter sequence: cheaper and more fits in the context.',
    better: 'lower',
    value: (r) => r.stats.tokens,
    format: (r) => formatInt(r.stats.tokens),
  },
  {
    key: 'chars_per_token',
    label: 'Chars / token',
    help: 'Unicode characters (code points) divided by tokens. Higher means better compression.',
    better: 'higher',
    value: (r) => r.stats.chars_per_token,
    format: (r) => formatNum(r.stats.chars_per_token),
  },
  {
    key: 'bytes_per_token',
    label: 'Bytes / token',
    help: 'UTF-8 bytes divided by tokens. Comparable across scripts; higher means better compression.',
    better: 'higher',
    value: (r) => r.stats.bytes_per_token,
    format: (r) => formatNum(r.stats.bytes_per_token),
  },
  {
    key: 'fertility',
    label: 'Fertility',
    help: 'Tokens per word (whitespace words). 1.0 means one token per word; lower is better.',
    better: 'lower',
    value: (r) => r.stats.fertility,
    format: (r) => formatNum(r.stats.fertility),
  },
  {
    key: 'continued_word_ratio',
    label: 'Continued words',
    help: 'Share of words split into two or more tokens (proportion of continued words). Lower is better.',
    better: 'lower',
    value: (r) => r.stats.continued_word_ratio,
    format: (r) => formatPercent(r.stats.continued_word_ratio),
  },
  {
    key: 'unknown',
    label: 'Unknown',
    help: "Tokens mapped to the tokenizer's unknown id: that text cannot be recovered. Lower is better.",
    better: 'lower',
    value: (r) => r.stats.unknown,
    format: (r) => formatInt(r.stats.unknown),
  },
  {
    key: 'byte_fallback',
    label: 'Byte fallback',
    help: 'SentencePiece <0xNN> byte pieces used for characters missing from the vocabulary. Lower is better.',
    better: 'lower',
    value: (r) => r.stats.byte_fallback,
    format: (r) => formatInt(r.stats.byte_fallback),
  },
  {
    key: 'roundtrip',
    label: 'Round-trip',
    help: 'Does decode(encode(text)) give back exactly the input? ✗ means normalisation or unknown tokens lose information.',
    better: 'true',
    value: (r) => r.stats.roundtrip,
    format: (r) => (r.stats.roundtrip ? '✓ lossless' : '✗ lossy'),
  },
  {
    key: 'number_chunks',
    label: 'Number chunking',
    help: 'How digit runs are split (e.g. 1–3 digits left to right, or single digits). Affects arithmetic.',
    better: null,
    value: () => null,
    format: (r) => numberChunksLabel(r),
  },
  {
    key: 'relative_cost',
    label: 'Cost vs baseline',
    help: 'Tokens relative to the baseline tokenizer (1.00× = same; 0.80× = 20% fewer tokens). Lower is better.',
    better: 'lower',
    value: (r) => r.stats.relative_cost,
    format: (r, baselineId) => relativeCostLabel(r.stats.relative_cost, r.tokenizer.id === baselineId),
  },
  {
    key: 'distinct_tokens',
    label: 'Distinct tokens',
    help: 'Number of different token ids used (types). Not better or worse by itself.',
    better: null,
    value: (r) => r.stats.distinct_tokens,
    format: (r) => formatInt(r.stats.distinct_tokens),
  },
  {
    key: 'special',
    label: 'Special tokens',
    help: 'Special/control tokens in the output (e.g. BOS, [CLS]).',
    better: null,
    value: (r) => r.stats.special,
    format: (r) => formatInt(r.stats.special),
  },
  {
    key: 'encode_ms',
    label: 'Encode time',
    help: 'Server-side time to encode the input, in milliseconds. Indicative only (includes warm-up effects).',
    better: null,
    value: (r) => r.stats.encode_ms,
    format: (r) => (r.stats.encode_ms === null || r.stats.encode_ms === undefined ? '—' : `${formatNum(r.stats.encode_ms, r.stats.encode_ms < 10 ? 2 : 0)} ms`),
  },
];

const EPS = 1e-9;

/**
 * Indices of the best values in a row. Nothing is highlighted when fewer than two values are comparable,
 * when all comparable values are equal, or when the metric has no direction. Ties are all highlighted.
 */
export function bestIndices(values: readonly MetricValue[], better: Better): Set<number> {
  const best = new Set<number>();
  if (better === null) return best;
  if (better === 'true') {
    const bools = values.map((v) => (typeof v === 'boolean' ? v : null));
    const comparable = bools.filter((v) => v !== null);
    if (comparable.length < 2 || comparable.every((v) => v === comparable[0])) return best;
    bools.forEach((v, i) => v === true && best.add(i));
    return best;
  }
  const nums = values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null));
  const comparable = nums.filter((v): v is number => v !== null);
  if (comparable.length < 2) return best;
  const target = better === 'lower' ? Math.min(...comparable) : Math.max(...comparable);
  const worst = better === 'lower' ? Math.max(...comparable) : Math.min(...comparable);
  if (Math.abs(target - worst) <= EPS * Math.max(1, Math.abs(target))) return best;
  nums.forEach((v, i) => {
    if (v !== null && Math.abs(v - target) <= EPS * Math.max(1, Math.abs(target))) best.add(i);
  });
  return best;
}

/** Spread between the smallest and largest token counts, relative to the smallest (0.25 = 25% more). */
export function tokenSpread(results: readonly TokenizerResult[]): number | null {
  const counts = results.map((r) => r.stats.tokens).filter((n) => Number.isFinite(n) && n > 0);
  if (counts.length < 2) return null;
  const min = Math.min(...counts);
  return (Math.max(...counts) - min) / min;
}
