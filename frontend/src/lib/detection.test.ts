import { describe, expect, it } from 'vitest';
import { GLTR_COLOURS, QUANTITIES, colourScale, confusionAt, quantitySeries, robustRange, textColourOn, thresholdCandidates, tokenPieces, type TextScoring } from './detection';
import { sniffColumns } from './detectionApi';

const spec = (key: string) => QUANTITIES.find((q) => q.key === key)!;

describe('confusionAt', () => {
  const values = [0.9, 0.8, 0.7, 0.4, 0.3, null, 0.1];
  const labels = [1, 1, 0, 1, 0, 1, 0];

  it('counts predictions at ">=" against hand-counted cells', () => {
    // Catches a threshold that excludes equal values or swaps FP and FN.
    const c = confusionAt(values, labels, 0.7, '>=');
    expect([c.tp, c.fp, c.tn, c.fn]).toEqual([2, 1, 2, 1]);
    expect(c.tpr).toBeCloseTo(2 / 3);
    expect(c.fpr).toBeCloseTo(1 / 3);
    expect(c.precision).toBeCloseTo(2 / 3);
  });

  it('flips the direction for scores where lower means positive ("<=")', () => {
    // Catches a picker that ignores the score's sign convention (rule) and reports the mirrored matrix.
    const c = confusionAt(values, labels, 0.4, '<=');
    expect([c.tp, c.fp, c.tn, c.fn]).toEqual([1, 2, 1, 2]);
  });

  it('leaves undefined rows out, as the server metrics do', () => {
    // Catches a null counted as 0 (it would become a prediction and shift every rate).
    const c = confusionAt([null, Number.NaN, 1], [1, 0, 1], 0, '>=');
    expect(c.tp + c.fp + c.tn + c.fn).toBe(1);
  });

  it('gives TPR = FPR = 1 at the lowest candidate and 0 above the highest', () => {
    // Catches candidate thresholds that miss the ends of the ROC curve.
    const cands = thresholdCandidates(values);
    expect(cands).toEqual([0.1, 0.3, 0.4, 0.7, 0.8, 0.9]);
    const low = confusionAt(values, labels, cands[0], '>=');
    expect([low.tpr, low.fpr]).toEqual([1, 1]);
    const high = confusionAt(values, labels, 1.5, '>=');
    expect([high.tpr, high.fpr]).toEqual([0, 0]);
  });
});

describe('colour scales', () => {
  it('diverging: neutral at 0, red on the hot side, blue on the other, symmetric bound', () => {
    // Catches a diverging scale centred on the mean instead of 0 (a z of 0 would look unusual).
    const s = colourScale(spec('fast_detectgpt'), [-2, -1, 0, 1, 4]);
    expect(s.min).toBe(-s.max);
    expect(s.colour(0)).toBe('rgb(248, 249, 250)');
    expect(s.colour(-s.max)).toBe('rgb(250, 82, 82)'); // hotIsHigh unset: low values are hot
    expect(s.colour(s.max)).toBe('rgb(51, 154, 240)');
  });

  it('sequential log-probability: unlikely tokens red, likely ones blue, clamped outside the range', () => {
    // Catches an inverted log p scale (likely tokens painted as surprising).
    const s = colourScale(spec('logp'), [-10, -5, -1, -0.1]);
    expect(s.colour(-100)).toBe('rgb(250, 82, 82)');
    expect(s.colour(0)).toBe('rgb(51, 154, 240)');
  });

  it('GLTR buckets get their fixed colours', () => {
    // Catches bucket indices shifted by one (top-10 painted as top-100).
    const s = colourScale(spec('gltr_bucket'), [0, 1, 2, 3]);
    expect([0, 1, 2, 3].map(s.colour)).toEqual([...GLTR_COLOURS]);
  });

  it('robust range ignores a single extreme token', () => {
    // Catches a min/max range where one outlier washes every other token out.
    const values = [...Array.from({ length: 99 }, (_, i) => i / 100), 1000];
    expect(robustRange(values)[1]).toBeLessThan(2);
  });

  it('picks readable text on dark and light backgrounds', () => {
    // Catches white-on-pale or black-on-dark token text.
    expect(textColourOn('rgb(30, 30, 30)')).toBe('#ffffff');
    expect(textColourOn('#ffec99')).toBe('#212529');
  });
});

describe('token pieces and series', () => {
  it('cuts the text at the offsets, keeping the unscored first token and the spaces', () => {
    // Catches pieces that drop the text between tokens or include the unscored first token.
    const text = 'The quick fox.';
    const out = tokenPieces(text, [
      [3, 9],
      [9, 13],
      [13, 14],
    ]);
    expect(out.prefix).toBe('The');
    expect(out.pieces).toEqual([' quick', ' fox', '.']);
    expect(out.prefix + out.pieces.join('') + out.tail).toBe(text);
  });

  it('derives the Binoculars per-token pair as performer NLL minus cross-entropy', () => {
    // Catches the pair plotted from one series only (or subtracted the wrong way round).
    const s = { per_token: { binoculars_performer_nll: [3, 1], binoculars_cross_entropy: [1, 2] } } as unknown as TextScoring;
    expect(quantitySeries(s, 'binoculars_pair')).toEqual([2, -1]);
    expect(quantitySeries(s, 'dcpdd')).toBeNull();
  });
});

describe('sniffColumns', () => {
  it('reads the header of a CSV and the keys of the first JSON line', () => {
    // Catches column pickers left empty for an ordinary upload.
    expect(sniffColumns('text,label\n"a",1\n', 'd.csv')).toEqual(['text', 'label']);
    expect(sniffColumns('{"input": "a", "label": 1}\n{"input": "b", "label": 0}', 'd.jsonl')).toEqual(['input', 'label']);
    expect(sniffColumns('{\n  "original": ["a", "b"],\n  "sampled": ["c", "d"]\n}', 'fast.json')).toEqual(['original', 'sampled']);
    expect(sniffColumns('[{"human": "a", "machine": "b"}]', 'pairs.json')).toEqual(['human', 'machine']);
  });
});
