import { afterEach, describe, expect, it } from 'vitest';
import { codePoints } from '../lib/tokens';
import { render } from '../test/render';
import { hexOf, result, tok } from '../test/factories';
import { TokenPanel } from './TokenPanel';

const noop = () => {};
let cleanup: (() => void) | null = null;
afterEach(() => {
  cleanup?.();
  cleanup = null;
});

function mount(text: string | null, tokens: ReturnType<typeof tok>[], opts: { disagree?: [number, number][]; view?: 'text' | 'ids'; limit?: number } = {}) {
  const r = render(
    <TokenPanel
      result={result('tiktoken:cl100k_base', tokens)}
      panelIndex={0}
      cps={text === null ? null : codePoints(text)}
      disagree={opts.disagree ?? []}
      view={opts.view ?? 'text'}
      isBaseline={false}
      limit={opts.limit ?? 1000}
      onShowAll={noop}
    />,
  );
  cleanup = r.unmount;
  const panel = r.container.querySelector<HTMLElement>('[data-testid="result-panel"]')!;
  const spans = Array.from(panel.querySelectorAll<HTMLElement>('[data-testid="token"]'));
  return { panel, spans, body: panel.querySelector<HTMLElement>('.panel-body')! };
}

describe('TokenPanel', () => {
  it('renders one span per token with stable test ids and data attributes', () => {
    const { panel, spans } = mount('Hello world', [tok('Hello', 0, 5, 'normal', 9906), tok(' world', 5, 11, 'normal', 1917)]);
    expect(panel.dataset.tokenizerId).toBe('tiktoken:cl100k_base');
    expect(spans).toHaveLength(2);
    expect(spans.map((s) => s.textContent)).toEqual(['Hello', '·world']);
    expect(spans[0].dataset).toMatchObject({ tokenId: '9906', start: '0', end: '5', kind: 'normal' });
    expect(spans[0].className).toContain('tc-0');
    expect(spans[1].className).toContain('tc-1');
    // roving tabindex: only the first token is in the tab order
    expect(spans.map((s) => s.tabIndex)).toEqual([0, -1]);
  });

  it('draws whitespace glyphs and keeps newlines as real line breaks', () => {
    const { spans } = mount('a\tb\nc', [tok('a', 0, 1), tok('\tb', 1, 3), tok('\n', 3, 4), tok('c', 4, 5)]);
    expect(spans.map((s) => s.textContent)).toEqual(['a', '→b', '↵\n', 'c']);
    expect(spans[1].querySelector('.ws')?.textContent).toBe('→');
  });

  it('draws an emoji once across partial byte-level tokens and labels the other pieces with their bytes', () => {
    const emoji = hexOf('😀');
    const text = 'hi 😀!';
    const { spans } = mount(text, [
      tok('hi', 0, 2),
      tok(' ', 2, 3),
      tok('�', 3, 4, 'partial', 100, emoji.slice(0, 4)),
      tok('�', 3, 4, 'partial', 101, emoji.slice(4)),
      tok('!', 4, 5),
    ]);
    expect(spans).toHaveLength(5);
    expect(spans[2].textContent).toBe('😀');
    expect(spans[2].dataset.kind).toBe('partial');
    expect(spans[3].textContent).toBe('98 80');
    expect(spans[3].className).toContain('tok-cont');
    expect(spans[4].textContent).toBe('!');
    // every character of the input is drawn exactly once (apart from labels)
    const drawn = spans.filter((s) => !s.className.includes('tok-label')).map((s) => s.textContent!.replace(/·/g, ' ')).join('');
    expect(drawn).toBe(text);
  });

  it('renders RTL text in logical order inside bidi-isolated spans', () => {
    const text = 'שלום עולם';
    const { spans, body } = mount(text, [tok('שלום', 0, 4), tok(' עולם', 4, 9)]);
    expect(body.getAttribute('dir')).toBe('auto');
    expect(spans.map((s) => s.textContent)).toEqual(['שלום', '·עולם']);
  });

  it('underlines disagreement ranges inside tokens', () => {
    const { spans } = mount('Hello world', [tok('Hello', 0, 5), tok(' world', 5, 11)], { disagree: [[5, 6]] });
    expect(spans[0].querySelector('.dis')).toBeNull();
    const dis = spans[1].querySelector('.dis');
    expect(dis?.textContent).toBe('·');
    expect(spans[1].textContent).toBe('·world');
  });

  it('shows characters no token covers as gaps', () => {
    const { panel, spans } = mount('hello world', [tok('hello', 0, 5), tok('world', 6, 11)]);
    expect(spans).toHaveLength(2);
    expect(panel.querySelector('.gap')?.textContent).toBe('·');
  });

  it('shows token ids in the ids view', () => {
    const { spans, body } = mount('Hello world', [tok('Hello', 0, 5, 'normal', 9906), tok(' world', 5, 11, 'normal', 1917)], { view: 'ids' });
    expect(spans.map((s) => s.textContent)).toEqual(['9906', '1917']);
    expect(body.className).toContain('view-ids');
  });

  it('falls back to token strings when the text is not available', () => {
    const { spans } = mount(null, [tok('Hello', 0, 5), tok(' world', 5, 11)]);
    expect(spans.map((s) => s.textContent)).toEqual(['Hello', '·world']);
  });

  it('limits the rendered tokens and offers to show all', () => {
    const tokens = Array.from({ length: 10 }, (_, i) => tok('a', i, i + 1));
    const { spans, panel } = mount('a'.repeat(10), tokens, { limit: 4 });
    expect(spans).toHaveLength(4);
    expect(panel.querySelector('.panel-more')?.textContent).toMatch(/Showing 4 of 10/);
  });
});
