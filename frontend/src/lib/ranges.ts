// Character-range logic: disagreement underlines and cross-panel hover linking. All offsets are code points.

export type Range = readonly [number, number];

/** Sorts ranges, drops empty ones and merges overlapping or touching ranges. */
export function normalizeRanges(ranges: readonly Range[]): [number, number][] {
  const sorted = ranges
    .filter(([s, e]) => Number.isFinite(s) && Number.isFinite(e) && e > s)
    .map(([s, e]) => [s, e] as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/** Index of the first range whose end is after `pos` (ranges normalised). */
function firstEndingAfter(ranges: readonly Range[], pos: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid][1] <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface Piece {
  start: number;
  end: number;
  marked: boolean;
}

/**
 * Splits [start, end) into consecutive pieces that are inside (`marked`) or outside the given normalised ranges.
 * Used to underline disagreement ranges inside token spans.
 */
export function splitByRanges(start: number, end: number, ranges: readonly Range[]): Piece[] {
  if (end <= start) return [];
  const pieces: Piece[] = [];
  let pos = start;
  for (let i = firstEndingAfter(ranges, start); i < ranges.length && pos < end; i++) {
    const [rs, re] = ranges[i];
    if (rs >= end) break;
    if (rs > pos) {
      pieces.push({ start: pos, end: rs, marked: false });
      pos = rs;
    }
    const stop = Math.min(re, end);
    if (stop > pos) {
      pieces.push({ start: pos, end: stop, marked: true });
      pos = stop;
    }
  }
  if (pos < end) pieces.push({ start: pos, end, marked: false });
  return pieces;
}

/** Does [start, end) overlap any of the normalised ranges? */
export function overlapsAny(start: number, end: number, ranges: readonly Range[]): boolean {
  if (end <= start) return false;
  const i = firstEndingAfter(ranges, start);
  return i < ranges.length && ranges[i][0] < end;
}

/** Share of characters on which all tokenizers agree about boundaries (1 = no disagreement). */
export function agreementRatio(textLength: number, ranges: readonly Range[]): number | null {
  if (textLength <= 0) return null;
  let covered = 0;
  for (const [s, e] of normalizeRanges(ranges)) covered += Math.min(e, textLength) - Math.max(s, 0);
  return Math.max(0, 1 - covered / textLength);
}

export interface Linked {
  index: number;
  /** The token lies entirely inside the hovered range. */
  inside: boolean;
}

export interface LinkResult {
  tokens: Linked[];
  /** The tokens covering the range start and end exactly on its edges: the boundaries line up. */
  aligned: boolean;
}

/**
 * Tokens of another tokenizer that overlap the hovered character range [start, end).
 * `starts`/`ends` are the token offsets in order (non-decreasing); zero-width tokens are never linked.
 */
export function linkRange(starts: ArrayLike<number>, ends: ArrayLike<number>, start: number, end: number): LinkResult {
  const result: LinkResult = { tokens: [], aligned: false };
  if (end <= start) return result;
  // first token whose end is after `start`
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid] <= start) lo = mid + 1;
    else hi = mid;
  }
  let minStart = Infinity;
  let maxEnd = -Infinity;
  for (let i = lo; i < starts.length && starts[i] < end; i++) {
    if (ends[i] <= starts[i] || ends[i] <= start) continue;
    const inside = starts[i] >= start && ends[i] <= end;
    result.tokens.push({ index: i, inside });
    minStart = Math.min(minStart, starts[i]);
    maxEnd = Math.max(maxEnd, ends[i]);
  }
  result.aligned = result.tokens.length > 0 && minStart === start && maxEnd === end;
  return result;
}
