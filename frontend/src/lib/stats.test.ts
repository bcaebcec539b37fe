import { describe, expect, it } from 'vitest';
import { result, tok } from '../test/factories';
import { METRICS, bestIndices, numberChunksLabel, tokenSpread } from './stats';

describe('bestIndices', () => {
  it('picks the minimum when lower is better', () => {
    expect([...bestIndices([10, 7, 12], 'lower')]).toEqual([1]);
  });

  it('picks the maximum when higher is better', () => {
    expect([...bestIndices([3.1, 4.2, 4.0], 'higher')]).toEqual([1]);
  });

  it('highlights every tie', () => {
    expect([...bestIndices([7, 9, 7], 'lower')]).toEqual([0, 2]);
  });

  it('highlights nothing when all values are equal', () => {
    expect(bestIndices([0, 0, 0], 'lower').size).toBe(0);
    expect(bestIndices([true, true], 'true').size).toBe(0);
  });

  it('ignores missing values and needs at least two comparable ones', () => {
    expect([...bestIndices([null, 5, undefined, 3], 'lower')]).toEqual([3]);
    expect(bestIndices([null, 5], 'lower').size).toBe(0);
    expect(bestIndices([5], 'lower').size).toBe(0);
    expect([...bestIndices([Number.NaN, 2, 4], 'higher')]).toEqual([2]);
  });

  it('prefers true for round-trip', () => {
    expect([...bestIndices([true, false, true], 'true')]).toEqual([0, 2]);
  });

  it('highlights nothing for metrics without a direction', () => {
    expect(bestIndices([1, 2, 3], null).size).toBe(0);
  });

  it('treats floating-point noise as a tie', () => {
    expect([...bestIndices([0.1 + 0.2, 0.3, 0.5], 'lower')]).toEqual([0, 1]);
  });
});

describe('metric rows', () => {
  const a = result('a', [tok('x', 0, 1)], { relative_cost: 1 });
  const b = result('b', [tok('x', 0, 1)], { relative_cost: 0.8 });
  const c = result('c', [tok('x', 0, 1)], { relative_cost: 1.25 });
  const rel = METRICS.find((m) => m.key === 'relative_cost')!;

  it('formats the cost relative to the baseline', () => {
    expect(rel.format(a, 'a')).toBe('1.00× (baseline)');
    expect(rel.format(b, 'a')).toBe('0.80× (−20%)');
    expect(rel.format(c, 'a')).toBe('1.25× (+25%)');
  });

  it('finds the cheapest tokenizer', () => {
    expect([...bestIndices([a, b, c].map(rel.value), rel.better)]).toEqual([1]);
  });

  it('describes number chunking with an example', () => {
    expect(numberChunksLabel(a)).toBe('1-3 digits, left to right · 12345 → 123|45');
  });

  it('says when the input has no numbers', () => {
    const none = result('n', [], { number_chunks: { pattern: null, examples: [] } });
    expect(numberChunksLabel(none)).toBe('— (no numbers)');
    expect(numberChunksLabel(result('m', [], { number_chunks: null }))).toBe('— (no numbers)');
  });

  it('has a help text for every metric', () => {
    for (const m of METRICS) expect(m.help.length).toBeGreaterThan(10);
  });
});

describe('tokenSpread', () => {
  it('is (max - min) / min of the token counts', () => {
    const r = (n: number) => result(`t${n}`, [], { tokens: n });
    expect(tokenSpread([r(100), r(125), r(110)])).toBeCloseTo(0.25);
    expect(tokenSpread([r(100)])).toBeNull();
  });
});
