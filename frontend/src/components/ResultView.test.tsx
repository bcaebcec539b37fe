import { act } from 'react';
import { describe, expect, it } from 'vitest';
import type { TokenizeResultPayload } from '../api/types';
import { SessionContext, type Session } from '../session';
import { render } from '../test/render';
import { payload, tok } from '../test/factories';
import { ResultView } from './ResultView';

const session = { team: { id: 1, slug: 'local', name: 'Local', role: 'owner' } } as unknown as Session;

// The API's columnar payload: token texts are derived from `text` on the client.
const data: TokenizeResultPayload = {
  text: 'Hello world',
  text_truncated: false,
  input: { chars: 11, bytes: 11, words: 2, lines: 1, sha256: 'ab'.repeat(32), word_segmentation: 'UAX #29 by ICU' },
  special_tokens: 'special',
  baseline: 'a',
  results: [
    { ...payload('a', [tok('Hello', 0, 5), tok(' world', 5, 11)]), special_tokens: 'special' },
    { ...payload('b', [tok('Hel', 0, 3), tok('lo', 3, 5), tok(' ', 5, 6), tok('world', 6, 11)]), special_tokens: 'plain' },
  ],
  boundaries: { disagree: [[5, 6]] },
};

function mount() {
  return render(
    <SessionContext.Provider value={session}>
      <ResultView job={{ id: 'job-1', permalink: '/results/job-1' } as never} result={data} />
    </SessionContext.Provider>,
  );
}

describe('ResultView', () => {
  it('renders a panel per tokenizer, the stats table and export links', () => {
    const r = mount();
    const panels = r.container.querySelectorAll<HTMLElement>('[data-testid="result-panel"]');
    expect(Array.from(panels, (p) => p.dataset.tokenizerId)).toEqual(['a', 'b']);
    expect(r.container.querySelector('[data-testid="stats-table"]')).not.toBeNull();
    expect(r.container.querySelector<HTMLAnchorElement>('[data-testid="export-csv"]')?.getAttribute('href')).toBe('/api/v1/jobs/job-1/export/?format=csv&team=local');
    expect(r.container.querySelector('[data-testid="permalink-button"]')).not.toBeNull();
    // the reading of special tokens is shown, and which tokenizer could not parse them
    expect(r.container.querySelector('[data-testid="special-tokens-mode"]')?.textContent).toContain('parsed');
    expect(r.container.textContent).toContain('Read as plain text by b');
    // the disagreement range is underlined in both panels
    expect(panels[0].querySelectorAll('.dis')).toHaveLength(1);
    expect(panels[1].querySelectorAll('.dis')).toHaveLength(1);
    r.unmount();
  });

  it('hovering a token highlights the same characters in the other panel and shows a tooltip', () => {
    const r = mount();
    const [pa, pb] = Array.from(r.container.querySelectorAll<HTMLElement>('[data-testid="result-panel"]'));
    const hello = pa.querySelector<HTMLElement>('[data-i="0"]')!;
    act(() => {
      hello.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    });
    expect(hello.classList.contains('hovered')).toBe(true);
    const linked = Array.from(pb.querySelectorAll<HTMLElement>('.linked')).map((e) => e.dataset.i);
    expect(linked).toEqual(['0', '1']);
    expect(pb.querySelector('.link-status')?.textContent).toMatch(/same span/);
    const tip = document.querySelector('[data-testid="token-tooltip"]');
    expect(tip?.textContent).toContain('"Hello"');
    expect(tip?.textContent).toContain('48 65 6C 6C 6F');
    expect(tip?.textContent).toContain('[0, 5)');

    const world = pa.querySelector<HTMLElement>('[data-i="1"]')!;
    act(() => {
      world.dispatchEvent(new MouseEvent('mouseover', { bubbles: true }));
    });
    expect(hello.classList.contains('hovered')).toBe(false);
    expect(Array.from(pb.querySelectorAll<HTMLElement>('.linked'), (e) => e.dataset.i)).toEqual(['2', '3']);
    expect(pb.querySelector('.link-status')?.textContent).toMatch(/same span/);
    r.unmount();
  });

  it('switches to the token id view', () => {
    const r = mount();
    const idsButton = r.container.querySelector<HTMLButtonElement>('[data-testid="view-toggle"] [data-view="ids"]')!;
    act(() => idsButton.click());
    const first = r.container.querySelector<HTMLElement>('[data-testid="result-panel"] [data-testid="token"]')!;
    expect(first.textContent).toBe('0');
    r.unmount();
  });
});
