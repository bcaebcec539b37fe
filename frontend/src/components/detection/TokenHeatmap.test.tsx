import { describe, expect, it } from 'vitest';
import { QUANTITIES, type TextScoring } from '../../lib/detection';
import { render } from '../../test/render';
import { TokenHeatmap } from './TokenHeatmap';

const TEXT = 'A cat, a cat.';
// Scored tokens after the first ("A"): " cat" "," " a" " cat" "."; the second " cat" repeats the first.
const SCORING: TextScoring = {
  model: 'm',
  n_tokens: 5,
  truncated: false,
  scores: { min_k: -3, dcpdd: 0.004 },
  tokens: ['Ġcat', ',', 'Ġa', 'Ġcat', '.'],
  offsets: [
    [1, 5],
    [5, 6],
    [6, 8],
    [8, 12],
    [12, 13],
  ],
  per_token: {
    logp: [-5, -1, -2, -0.5, -0.1],
    rank: [40, 1, 3, 1, 1],
    entropy: [3, 1, 2, 1, 0.5],
    gltr_bucket: [1, 0, 0, 0, 0],
    dcpdd: [0.01, 0.002, 0.003, 0.01, 0.001],
    dcpdd_frequency: [1e-6, 0.01, 0.02, 1e-6, 0.03],
  },
  marks: { min_k: [0], dcpdd_clipped: [0, 3], dcpdd_repeated: [3] },
  details: {},
  notes: [],
};

describe('TokenHeatmap', () => {
  it('keeps the text, outlines Min-K% tokens and marks DC-PDD clipped / repeated tokens with f(x) on hover', () => {
    // Catches lost text between tokens, marks put on the wrong token index, or a hover without f(x).
    const logp = QUANTITIES.find((q) => q.key === 'logp')!;
    const { container, unmount } = render(<TokenHeatmap text={TEXT} scoring={SCORING} quantity={logp} />);
    const map = container.querySelector('[data-testid="det-heatmap"]')!;
    expect(map.textContent).toBe(TEXT);
    const tokens = Array.from(map.querySelectorAll<HTMLElement>('[data-testid="det-token"]'));
    expect(tokens.map((t) => t.textContent)).toEqual([' cat', ',', ' a', ' cat', '.']);
    expect(tokens.map((t) => t.classList.contains('is-mink'))).toEqual([true, false, false, false, false]);
    expect(tokens.map((t) => t.classList.contains('is-clipped'))).toEqual([true, false, false, true, false]);
    expect(tokens.map((t) => t.classList.contains('is-repeated'))).toEqual([false, false, false, true, false]);
    expect(tokens[3].title).toMatch(/f\(x\) = 1\.000e-6/);
    expect(tokens[3].title).toMatch(/repeated token/);
    expect(tokens[0].style.background).not.toBe(tokens[4].style.background); // unlikely vs likely
    unmount();
  });

  it('says so when the result lacks the chosen quantity instead of colouring nothing silently', () => {
    // Catches a heatmap that shows an uncoloured text as if the quantity were zero everywhere.
    const fast = QUANTITIES.find((q) => q.key === 'fast_detectgpt')!;
    const { container, unmount } = render(<TokenHeatmap text={TEXT} scoring={SCORING} quantity={fast} />);
    expect(container.querySelector('[data-testid="det-quantity-missing"]')).not.toBeNull();
    expect(Array.from(container.querySelectorAll<HTMLElement>('[data-testid="det-token"]')).every((t) => !t.style.background)).toBe(true);
    unmount();
  });
});
