import { act, useState } from 'react';
import { describe, expect, it } from 'vitest';
import type { Tokenizer } from '../api/types';
import tokenizers from '../fixtures/tokenizers.json';
import { render } from '../test/render';
import { TokenizerPicker, defaultSelection, filterTokenizers } from './TokenizerPicker';

const list = tokenizers as Tokenizer[];

describe('catalogue helpers', () => {
  it('defaults to cl100k_base and Llama 3', () => {
    expect(defaultSelection(list)).toEqual(['tiktoken:cl100k_base', 'hf:meta-llama/Meta-Llama-3-8B']);
    expect(defaultSelection(list.filter((t) => !t.id.includes('cl100k')))).toEqual(['hf:meta-llama/Meta-Llama-3-8B', 'tiktoken:o200k_base']);
  });

  it('filters on every term', () => {
    expect(filterTokenizers(list, 'sentencepiece llama').map((t) => t.id)).toEqual(['sp:llama2']);
    expect(filterTokenizers(list, 'WORDPIECE').map((t) => t.id)).toEqual(['hf:bert-base-uncased']);
    expect(filterTokenizers(list, '')).toHaveLength(list.length);
  });
});

function Harness({ initial = [] as string[] }) {
  const [sel, setSel] = useState(initial);
  return (
    <>
      <TokenizerPicker tokenizers={list} selected={sel} onChange={setSel} />
      <output data-testid="sel">{sel.join(',')}</output>
    </>
  );
}

function key(el: Element, k: string) {
  act(() => {
    el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
  });
}

function type(input: HTMLInputElement, value: string) {
  act(() => {
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
    setter.call(input, value);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

describe('TokenizerPicker', () => {
  it('is keyboard operable: search, move, toggle, remove', () => {
    const r = render(<Harness />);
    const input = r.container.querySelector<HTMLInputElement>('[data-testid="tokenizer-search"]')!;
    const sel = () => r.container.querySelector('[data-testid="sel"]')!.textContent;
    act(() => input.focus());
    expect(input.getAttribute('aria-expanded')).toBe('true');
    type(input, 'bert');
    const options = r.container.querySelectorAll<HTMLElement>('[data-testid="tokenizer-option"]');
    expect(Array.from(options, (o) => o.dataset.tokenizerId)).toEqual(['hf:bert-base-uncased']);
    key(input, 'Enter');
    expect(sel()).toBe('hf:bert-base-uncased');
    expect(input.value).toBe(''); // query cleared after picking
    key(input, 'ArrowDown');
    key(input, 'Enter');
    expect(sel()).toBe('hf:bert-base-uncased,tiktoken:o200k_base');
    expect(r.container.querySelectorAll('[data-testid="tokenizer-chip"]')).toHaveLength(2);
    key(input, 'Backspace');
    expect(sel()).toBe('hf:bert-base-uncased');
    key(input, 'Escape');
    expect(input.getAttribute('aria-expanded')).toBe('false');
    r.unmount();
  });

  it('does not select unavailable tokenizers or more than six', () => {
    const six = list.filter((t) => t.available).map((t) => t.id).slice(0, 6);
    const r = render(<Harness initial={six} />);
    const input = r.container.querySelector<HTMLInputElement>('[data-testid="tokenizer-search"]')!;
    act(() => input.focus());
    const t5 = r.container.querySelector<HTMLElement>('[data-tokenizer-id="sp:t5-small"][data-testid="tokenizer-option"]')!;
    expect(t5.getAttribute('aria-disabled')).toBe('true');
    act(() => t5.click());
    expect(r.container.querySelector('[data-testid="sel"]')!.textContent!.split(',')).toHaveLength(6);
    r.unmount();
  });
});
