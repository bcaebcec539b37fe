import { describe, expect, it } from 'vitest';
import { agreementRatio, linkRange, normalizeRanges, overlapsAny, splitByRanges } from './ranges';

describe('normalizeRanges', () => {
  it('sorts, merges overlapping or touching ranges and drops empty ones', () => {
    expect(
      normalizeRanges([
        [10, 12],
        [0, 2],
        [1, 4],
        [4, 5],
        [7, 7],
      ]),
    ).toEqual([
      [0, 5],
      [10, 12],
    ]);
  });
});

describe('splitByRanges (disagreement underline)', () => {
  const ranges = normalizeRanges([
    [5, 6],
    [8, 10],
  ]);

  it('splits a token that straddles a range', () => {
    expect(splitByRanges(3, 9, ranges)).toEqual([
      { start: 3, end: 5, marked: false },
      { start: 5, end: 6, marked: true },
      { start: 6, end: 8, marked: false },
      { start: 8, end: 9, marked: true },
    ]);
  });

  it('returns one unmarked piece when there is no overlap', () => {
    expect(splitByRanges(0, 5, ranges)).toEqual([{ start: 0, end: 5, marked: false }]);
    expect(splitByRanges(10, 12, ranges)).toEqual([{ start: 10, end: 12, marked: false }]);
  });

  it('marks a token entirely inside a range', () => {
    expect(splitByRanges(8, 10, ranges)).toEqual([{ start: 8, end: 10, marked: true }]);
  });

  it('returns nothing for empty spans', () => {
    expect(splitByRanges(4, 4, ranges)).toEqual([]);
  });

  it('overlapsAny agrees', () => {
    expect(overlapsAny(3, 5, ranges)).toBe(false);
    expect(overlapsAny(3, 6, ranges)).toBe(true);
    expect(overlapsAny(9, 20, ranges)).toBe(true);
  });
});

describe('agreementRatio', () => {
  it('is the share of characters outside disagreement ranges', () => {
    expect(agreementRatio(10, [[0, 2], [1, 3]])).toBeCloseTo(0.7);
    expect(agreementRatio(0, [])).toBeNull();
  });
});

describe('linkRange (hover linking across panels)', () => {
  // other tokenizer: "Hel" [0,3) "lo" [3,5) " wor" [5,9) "ld" [9,11)
  const starts = [0, 3, 5, 9];
  const ends = [3, 5, 9, 11];

  it('finds the tokens covering exactly the hovered range', () => {
    const r = linkRange(starts, ends, 0, 5);
    expect(r.tokens).toEqual([
      { index: 0, inside: true },
      { index: 1, inside: true },
    ]);
    expect(r.aligned).toBe(true);
  });

  it('flags tokens that extend beyond the hovered range', () => {
    const r = linkRange(starts, ends, 6, 11);
    expect(r.tokens).toEqual([
      { index: 2, inside: false },
      { index: 3, inside: true },
    ]);
    expect(r.aligned).toBe(false);
  });

  it('ignores zero-width tokens and empty ranges', () => {
    expect(linkRange([0, 0, 2], [0, 2, 4], 0, 2).tokens).toEqual([{ index: 1, inside: true }]);
    expect(linkRange(starts, ends, 3, 3).tokens).toEqual([]);
  });

  it('links partial tokens sharing a character', () => {
    const r = linkRange([0, 1, 1, 2], [1, 2, 2, 3], 1, 2);
    expect(r.tokens.map((t) => t.index)).toEqual([1, 2]);
    expect(r.aligned).toBe(true);
  });
});
