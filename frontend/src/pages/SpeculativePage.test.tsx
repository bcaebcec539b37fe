import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LanguageModel } from '../api/types';
import { SessionContext, type Session } from '../session';
import { render } from '../test/render';
import { SpeculativePage } from './SpeculativePage';

const MODELS: LanguageModel[] = [
  { id: 'smollm2-135m-instruct', name: 'SmolLM2-135M-Instruct', family: 'llama', kind: 'bundled', source: '', licence: 'Apache-2.0', params: 134515008, context_length: 8192, vocab_size: 49152, tokenizer_id: 'tokenizers:smollm2', chat: true, available: true, status: 'installed' },
  { id: 'gemma-3-270m', name: 'Gemma 3 270M (base)', family: 'gemma3', kind: 'bundled', source: '', licence: 'Gemma', params: 268098176, context_length: 32768, vocab_size: 262144, tokenizer_id: 'tokenizers:gemma-3', chat: false, available: true, status: 'installed' },
];

const session = { team: { id: 1, slug: 'local', name: 'Local team', role: 'owner' }, me: null } as unknown as Session;

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

function setValue(el: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, value: string) {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : el instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
  el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
}

async function flush() {
  await act(async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  });
}

class IdleSocket {
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  readyState = 0;
  send() {}
  close() {}
}

describe('SpeculativePage form', () => {
  let fetchMock: ReturnType<typeof vi.fn>;
  beforeEach(() => {
    window.localStorage.clear();
    fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/v1/models/') return json(200, MODELS);
      if (url === '/api/v1/speculative/' && init?.method === 'POST') {
        const body = JSON.parse(String(init.body));
        if (body.prompt.includes('too long'))
          return json(400, { message: 'The prompt is 9000 tokens; with 64 new tokens it exceeds SmolLM2-135M-Instruct’s context of 8192 tokens. Shorten the prompt.', extra: {} });
        return json(202, { id: 'job-1', kind: 'speculative', title: 't', status: 'queued', progress: 0, params: body, result: null, error: null, created_at: '', started_at: null, finished_at: null, owner: 'local', team: 'local', versions: null, permalink: '/results/job-1' });
      }
      return json(404, { message: 'no mock' });
    });
    vi.stubGlobal('fetch', fetchMock);
    vi.stubGlobal('WebSocket', IdleSocket);
  });
  afterEach(() => vi.unstubAllGlobals());

  async function mount() {
    const r = render(
      <SessionContext.Provider value={session}>
        <SpeculativePage />
      </SessionContext.Provider>,
    );
    await flush();
    return r;
  }
  const $ = <T extends HTMLElement>(r: { container: HTMLElement }, id: string) => r.container.querySelector<T>(`[data-testid="${id}"]`)!;
  const posts = () => fetchMock.mock.calls.filter(([, init]) => (init as RequestInit | undefined)?.method === 'POST');

  it('offers the catalogue’s models and defaults to the chat model with its chat template', async () => {
    const r = await mount();
    const target = $<HTMLSelectElement>(r, 'spec-target');
    expect(Array.from(target.options, (o) => o.value)).toEqual(['smollm2-135m-instruct', 'gemma-3-270m']);
    expect(target.value).toBe('smollm2-135m-instruct');
    expect($<HTMLInputElement>(r, 'spec-chat-template').checked).toBe(true);
    act(() => setValue(target, 'gemma-3-270m'));
    expect($<HTMLInputElement>(r, 'spec-chat-template').checked).toBe(false);
    r.unmount();
  });

  it('shows per-kind parameters and validates them before sending anything', async () => {
    const r = await mount();
    expect($(r, 'spec-param-max_ngram_size')).not.toBeNull();
    act(() => setValue($<HTMLSelectElement>(r, 'spec-drafter-kind'), 'tree_dyspec'));
    expect(r.container.querySelector('[data-testid="spec-param-max_ngram_size"]')).toBeNull();
    expect($(r, 'spec-param-node_budget')).not.toBeNull();
    expect(r.container.querySelector('[data-testid="spec-gamma"]')).toBeNull(); // tree methods size their own drafts
    act(() => setValue($<HTMLInputElement>(r, 'spec-param-node_budget'), '100'));
    await act(async () => $<HTMLButtonElement>(r, 'spec-run').click());
    expect(r.container.textContent).toMatch(/Node budget must be between 1 and 64/);
    expect(r.container.textContent).toMatch(/Write a prompt/);
    expect(posts()).toHaveLength(0);
    r.unmount();
  });

  it('sends a valid run and follows the queued job', async () => {
    const r = await mount();
    act(() => setValue($<HTMLTextAreaElement>(r, 'spec-prompt'), 'Repeat exactly: a b c'));
    act(() => setValue($<HTMLInputElement>(r, 'spec-gamma'), '8'));
    await act(async () => $<HTMLButtonElement>(r, 'spec-run').click());
    await flush();
    expect(posts()).toHaveLength(1);
    expect(JSON.parse(String((posts()[0][1] as RequestInit).body))).toMatchObject({
      target: 'smollm2-135m-instruct',
      method: 'speculative',
      drafter: { kind: 'prompt_lookup' },
      prompt: 'Repeat exactly: a b c',
      chat_template: true,
      gamma: 8,
      run_baseline: true,
    });
    expect($(r, 'job-progress')).not.toBeNull();
    expect($(r, 'spec-live')).not.toBeNull();
    r.unmount();
  });

  it('shows the server’s 400 message next to the form', async () => {
    const r = await mount();
    act(() => setValue($<HTMLTextAreaElement>(r, 'spec-prompt'), 'too long'));
    await act(async () => $<HTMLButtonElement>(r, 'spec-run').click());
    await flush();
    const form = $(r, 'spec-form');
    expect(form.querySelector('[data-testid="error-message"]')!.textContent).toMatch(/exceeds SmolLM2-135M-Instruct’s context/);
    r.unmount();
  });

  it('picks a draft model the drafter can use, never the new target itself for a cross-tokenizer pair', async () => {
    const r = await mount();
    act(() => setValue($<HTMLSelectElement>(r, 'spec-drafter-kind'), 'cross_tokenizer'));
    expect($<HTMLSelectElement>(r, 'spec-draft-model').value).toBe('gemma-3-270m');
    act(() => setValue($<HTMLSelectElement>(r, 'spec-target'), 'gemma-3-270m'));
    expect($<HTMLSelectElement>(r, 'spec-draft-model').value).toBe('smollm2-135m-instruct');
    act(() => setValue($<HTMLSelectElement>(r, 'spec-drafter-kind'), 'draft_model'));
    // only a model with Gemma's tokenizer can draft: here that is Gemma itself
    expect(Array.from($<HTMLSelectElement>(r, 'spec-draft-model').options, (o) => o.value).filter(Boolean)).toEqual(['gemma-3-270m']);
    r.unmount();
  });

  it('fills the prompt from a one-click example', async () => {
    const r = await mount();
    act(() => r.container.querySelectorAll<HTMLButtonElement>('[data-testid="spec-example"]')[2].click());
    expect($<HTMLTextAreaElement>(r, 'spec-prompt').value).toMatch(/lighthouse keeper/);
    r.unmount();
  });
});
