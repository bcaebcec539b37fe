import { describe, expect, it } from 'vitest';
import { render } from '../test/render';
import { result, tok } from '../test/factories';
import { StatsTable } from './StatsTable';

describe('StatsTable', () => {
  it('highlights the best value per row', () => {
    const a = result('a', [tok('x', 0, 1)], { tokens: 10, chars_per_token: 4, relative_cost: 1, roundtrip: true, unknown: 0 });
    const b = result('b', [tok('x', 0, 1)], { tokens: 8, chars_per_token: 5, relative_cost: 0.8, roundtrip: false, unknown: 2 });
    const { container, unmount } = render(<StatsTable results={[a, b]} baseline="a" />);
    const table = container.querySelector('[data-testid="stats-table"]')!;
    const best = (metric: string) =>
      Array.from(table.querySelectorAll<HTMLElement>(`[data-testid="stat-cell"][data-metric="${metric}"][data-best="true"]`)).map((c) => c.dataset.tokenizerId);
    expect(best('tokens')).toEqual(['b']);
    expect(best('chars_per_token')).toEqual(['b']);
    expect(best('relative_cost')).toEqual(['b']);
    expect(best('roundtrip')).toEqual(['a']);
    expect(best('unknown')).toEqual(['a']);
    expect(best('number_chunks')).toEqual([]);
    expect(best('bytes_per_token')).toEqual([]); // equal values: nothing highlighted
    const help = table.querySelector('tr[data-metric="fertility"] [role="tooltip"]');
    expect(help?.textContent).toMatch(/Tokens per word/);
    unmount();
  });
});
