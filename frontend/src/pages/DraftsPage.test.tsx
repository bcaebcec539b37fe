import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Job, LanguageModel } from '../api/types';
import type { DistillResult } from '../lib/drafts';
import { defaultDraftForm, distillPhase, liveAgreement, splitPrompts, validateDraftForm } from '../lib/drafts';
import { SessionContext, type Session } from '../session';
import { render } from '../test/render';
import { DraftsPage } from './DraftsPage';

const JOB_ID = '6f1c2a9e-4b7d-4c1e-9a3f-0d2b8e7c5a41';
const OLD_JOB_ID = '0a5b3c7d-1e2f-4a6b-8c9d-e0f1a2b3c4d5';
const DRAFT_DIR = `/srv/models/drafts/local/${OLD_JOB_ID}`;
const NEW_DRAFT_DIR = `/srv/models/drafts/local/${JOB_ID}`;

const SMOL: LanguageModel = { id: 'smollm2-135m-instruct', name: 'SmolLM2-135M-Instruct', family: 'llama', kind: 'bundled', source: '', licence: 'Apache-2.0', params: 134515008, context_length: 8192, vocab_size: 49152, tokenizer_id: 'tokenizers:smollm2', chat: true, available: true, status: 'installed' };
const GEMMA: LanguageModel = { id: 'gemma-3-270m', name: 'Gemma 3 270M (base)', family: 'gemma3', kind: 'bundled', source: '', licence: 'Gemma', params: 268098176, context_length: 32768, vocab_size: 262144, tokenizer_id: 'tokenizers:gemma-3', chat: false, available: true, status: 'installed' };
const MISSING: LanguageModel = { ...GEMMA, id: 'missing-model', name: 'Not downloaded', available: false, status: 'not installed: run `make models`' };
const draftEntry = (dir: string, layers: number): LanguageModel => ({
  id: dir,
  name: `Distilled draft for SmolLM2-135M-Instruct (${layers} layers)`,
  family: 'llama',
  kind: 'distilled',
  source: 'distilled by job … (FastDraft-style)',
  licence: 'Apache-2.0',
  params: 35392320,
  context_length: 8192,
  vocab_size: 49152,
  tokenizer_id: 'tokenizers:smollm2',
  chat: false,
  available: true,
  status: 'installed',
});
const OLD_DRAFT = draftEntry(DRAFT_DIR, 4);

const RESULT: DistillResult = {
  target: { ref: 'smollm2-135m-instruct', id: 'smollm2-135m-instruct', name: 'SmolLM2-135M-Instruct' },
  output_dir: NEW_DRAFT_DIR,
  draft: { architecture: 'LlamaForCausalLM', num_layers: 2, source_layers: [0, 1], layer_selection: 'first', parameters: 35392320, trainable_parameters: 7080768, target_parameters: 134515008 },
  data: { train_sequences: 7, train_tokens: 112, heldout_sequences: 1, heldout_tokens: 16, chat_template: true, stopped_early: false, seconds: 16.17 },
  training: { steps: 20, stop_reason: 'max_steps', tokens_seen: 2240, losses: [{ step: 1, loss: 18.9 }, { step: 10, loss: 9.2 }, { step: 20, loss: 6.4 }], evals: [{ step: 0, agreement: 0.0625 }, { step: 20, agreement: 0.1875 }], seconds: 8.5 },
  agreement: { before: 0.0625, after: 0.1875 },
  expected_tokens_per_target_call: { gamma: 4, before: 1.07, after: 1.23, note: 'From held-out agreement α' },
  elapsed_s: 27.4,
};

const job = (over: Partial<Job> = {}): Job => ({
  id: JOB_ID,
  kind: 'distill_draft',
  title: 'distil a 2-layer draft for SmolLM2-135M-Instruct',
  status: 'queued',
  progress: 0,
  message: '',
  params: { target: 'smollm2-135m-instruct', num_layers: 2, num_sequences: 8, max_new_tokens: 16, max_steps: 20, time_budget_s: 10, seed: 0 },
  result: null,
  error: null,
  created_at: new Date().toISOString(),
  started_at: null,
  finished_at: null,
  owner: 'local',
  team: 'local',
  versions: null,
  permalink: `/results/${JOB_ID}`,
  ...over,
});

const OLD_JOB = job({ id: OLD_JOB_ID, status: 'succeeded', progress: 1, params: { target: 'smollm2-135m-instruct', num_layers: 4, max_steps: 300 } });

const sessionFor = (role: 'owner' | 'member' | 'viewer') => ({ team: { id: 1, slug: 'local', name: 'Local team', role }, me: null }) as unknown as Session;

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

function setValue(el: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, value: string) {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : el instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
  el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
}

async function flush() {
  await act(async () => {
    for (let i = 0; i < 8; i++) await Promise.resolve();
  });
}

/** A websocket the test drives: `open()`, then `emit(event)`. */
class FakeSocket {
  static instances: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  readyState = 0;
  sent: string[] = [];
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  emit(event: unknown) {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
}

interface Backend {
  models: LanguageModel[];
  jobs: Job[];
  /** Response to POST /drafts/: a status and body. */
  create: (body: Record<string, unknown>) => [number, unknown];
  jobDetail: () => Job;
}

describe('DraftsPage', () => {
  let fetchMock: ReturnType<typeof vi.fn>;
  let backend: Backend;

  beforeEach(() => {
    window.localStorage.clear();
    window.history.replaceState(null, '', '/drafts');
    FakeSocket.instances = [];
    backend = {
      models: [SMOL, GEMMA, MISSING, OLD_DRAFT],
      jobs: [OLD_JOB],
      create: (body) => [202, job({ params: body })],
      jobDetail: () => job({ status: 'succeeded', progress: 1, result: RESULT, started_at: new Date().toISOString(), finished_at: new Date().toISOString() }),
    };
    fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      if (url === '/api/v1/models/') return json(200, backend.models);
      if (url === '/api/v1/jobs/?kind=distill_draft') return json(200, { count: backend.jobs.length, next: null, previous: null, results: backend.jobs });
      if (url === '/api/v1/drafts/' && method === 'POST') {
        const [status, body] = backend.create(JSON.parse(String(init!.body)));
        return json(status, body);
      }
      if (url === `/api/v1/jobs/${JOB_ID}/cancel/` && method === 'POST') return json(200, job({ status: 'cancelled' }));
      if (url === `/api/v1/jobs/${JOB_ID}/`) return json(200, backend.jobDetail());
      return json(404, { message: `no mock for ${method} ${url}` });
    });
    vi.stubGlobal('fetch', fetchMock);
    vi.stubGlobal('WebSocket', FakeSocket);
    window.HTMLElement.prototype.scrollIntoView = () => {};
  });
  afterEach(() => vi.unstubAllGlobals());

  async function mount(role: 'owner' | 'member' | 'viewer' = 'member') {
    const r = render(
      <SessionContext.Provider value={sessionFor(role)}>
        <DraftsPage />
      </SessionContext.Provider>,
    );
    await flush();
    return r;
  }
  const $ = <T extends HTMLElement>(r: { container: HTMLElement }, id: string) => r.container.querySelector<T>(`[data-testid="${id}"]`)!;
  const $$ = (r: { container: HTMLElement }, id: string) => Array.from(r.container.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`));
  const posts = (path: string) => fetchMock.mock.calls.filter(([url, init]) => url === path && (init as RequestInit | undefined)?.method === 'POST');
  const postedBody = () => JSON.parse(String((posts('/api/v1/drafts/')[0][1] as RequestInit).body));

  async function submitSmallest(r: { container: HTMLElement }) {
    act(() => $<HTMLButtonElement>(r, 'drafts-preset').click()); // the first preset: the smallest budget
    await act(async () => $<HTMLButtonElement>(r, 'drafts-submit').click());
    await flush();
  }

  it('offers only models that can be distilled, with the API’s defaults and limits', async () => {
    const r = await mount();
    const target = $<HTMLSelectElement>(r, 'drafts-target');
    expect(Array.from(target.options, (o) => o.value)).toEqual(['smollm2-135m-instruct', 'gemma-3-270m']);
    expect(target.value).toBe('smollm2-135m-instruct');
    const limits = Object.fromEntries($$(r, 'drafts-limit-num_layers').concat($$(r, 'drafts-limit-num_sequences'), $$(r, 'drafts-limit-max_new_tokens'), $$(r, 'drafts-limit-max_steps'), $$(r, 'drafts-limit-time_budget_s')).map((el) => [el.dataset.testid, el.textContent]));
    expect(limits).toEqual({
      'drafts-limit-num_layers': '2–8',
      'drafts-limit-num_sequences': '8–2,048',
      'drafts-limit-max_new_tokens': '16–256',
      'drafts-limit-max_steps': '1–20,000',
      'drafts-limit-time_budget_s': '10–3,600 s',
    });
    const value = (key: string) => $<HTMLInputElement>(r, `drafts-param-${key}`).value;
    expect([value('num_layers'), value('num_sequences'), value('max_new_tokens'), value('max_steps'), value('time_budget_s'), value('seed')]).toEqual(['4', '128', '96', '300', '600', '0']);
    expect($<HTMLInputElement>(r, 'drafts-param-num_layers').min).toBe('2');
    expect($<HTMLInputElement>(r, 'drafts-param-num_layers').max).toBe('8');
    r.unmount();
  });

  it('lists the team’s drafts and recent distillation jobs', async () => {
    const r = await mount();
    expect(fetchMock.mock.calls.some(([url]) => url === '/api/v1/jobs/?kind=distill_draft')).toBe(true);
    const rows = $$(r, 'drafts-model-row');
    expect(rows.map((row) => row.dataset.modelId)).toEqual([DRAFT_DIR]);
    expect(rows[0].textContent).toMatch(/Distilled draft for SmolLM2-135M-Instruct \(4 layers\)/);
    expect(rows[0].querySelector('a[href^="/drafts?job="]')!.getAttribute('href')).toBe(`/drafts?job=${OLD_JOB_ID}`);
    const jobRows = $$(r, 'drafts-job-row');
    expect(jobRows.map((row) => [row.dataset.jobId, row.dataset.status])).toEqual([[OLD_JOB_ID, 'succeeded']]);
    expect(jobRows[0].textContent).toMatch(/4 layers/);
    r.unmount();
  });

  it('validates the limits before sending anything', async () => {
    const r = await mount();
    act(() => setValue($<HTMLInputElement>(r, 'drafts-param-num_layers'), '9'));
    act(() => setValue($<HTMLInputElement>(r, 'drafts-param-max_steps'), '0'));
    act(() => setValue($<HTMLInputElement>(r, 'drafts-param-time_budget_s'), '12.5'));
    await act(async () => $<HTMLButtonElement>(r, 'drafts-submit').click());
    const text = $(r, 'drafts-form').textContent;
    expect(text).toMatch(/Draft layers must be between 2 and 8\./);
    expect(text).toMatch(/Training steps must be between 1 and 20,000\./);
    expect(text).toMatch(/Time budget must be a whole number\./);
    expect(text).toMatch(/Fix the highlighted fields first/);
    expect(posts('/api/v1/drafts/')).toHaveLength(0);
    // fixing a field clears its error as you type
    act(() => setValue($<HTMLInputElement>(r, 'drafts-param-num_layers'), '3'));
    expect($(r, 'drafts-form').textContent).not.toMatch(/Draft layers must be/);
    r.unmount();
  });

  it('sends the smallest budget with extra prompts and follows the job live', async () => {
    backend.create = () => [202, job()]; // the job's own parameters (20 steps) drive the live view
    const r = await mount();
    act(() => setValue($<HTMLTextAreaElement>(r, 'drafts-prompts'), 'Summarise this:\nTokens are pieces.\n\n  Write a haiku about drafts.  \n\n'));
    expect($(r, 'drafts-prompt-count').textContent).toBe('2 prompts');
    await submitSmallest(r);
    expect(postedBody()).toEqual({
      target: 'smollm2-135m-instruct',
      num_layers: 2,
      num_sequences: 8,
      max_new_tokens: 16,
      max_steps: 1,
      time_budget_s: 10,
      seed: 0,
      prompts: ['Summarise this:\nTokens are pieces.', 'Write a haiku about drafts.'],
    });
    expect(window.location.search).toBe(`?job=${JOB_ID}`);
    const progress = $(r, 'job-progress');
    expect(progress.dataset.status).toBe('queued');
    expect($(r, 'drafts-live').dataset.phase).toBe('queued');

    const ws = FakeSocket.instances.at(-1)!;
    expect(ws.url).toMatch(new RegExp(`/ws/jobs/${JOB_ID}/$`));
    await act(async () => {
      ws.open();
      ws.emit({ type: 'job.snapshot', job: job({ status: 'running', progress: 0.05, message: 'Loading the target model', started_at: new Date().toISOString() }) });
      ws.emit({ type: 'job.progress', job_id: JOB_ID, progress: 0.2, message: 'Generated 4/8 target continuations' });
    });
    expect($(r, 'job-progress').dataset.status).toBe('running');
    expect($(r, 'progress-bar').dataset.progress).toBe('20');
    expect($(r, 'job-progress').textContent).toMatch(/Generated 4\/8 target continuations/);
    expect($(r, 'drafts-live').dataset.phase).toBe('generating');
    expect($$(r, 'drafts-phase').map((el) => el.dataset.state)).toEqual(['done', 'current', 'todo', 'todo']);
    expect($(r, 'drafts-loss-chart').dataset.points).toBe('0');

    await act(async () => {
      ws.emit({ type: 'job.progress', job_id: JOB_ID, progress: 0.65, message: 'Step 10/20, loss 9.200' });
      ws.emit({ type: 'job.partial', job_id: JOB_ID, partial: { step: 10, loss: 9.2, acceptance_estimate: 0.0625 } });
      ws.emit({ type: 'job.progress', job_id: JOB_ID, progress: 0.8, message: 'Step 20/20, loss 6.400' });
      ws.emit({ type: 'job.partial', job_id: JOB_ID, partial: { step: 20, loss: 6.4, acceptance_estimate: 0.0625 } });
    });
    expect($(r, 'drafts-live').dataset.phase).toBe('training');
    expect($(r, 'progress-bar').dataset.progress).toBe('80');
    expect($(r, 'drafts-live-step').textContent).toMatch(/20 \/ 20/);
    expect($(r, 'drafts-live-loss').textContent).toMatch(/6\.400/);
    expect($(r, 'drafts-live-loss').textContent).toMatch(/from 9\.200 at step 10/);
    expect($(r, 'drafts-live-agreement').textContent).toMatch(/6\.3%.*measured at step 0/);
    expect($(r, 'drafts-loss-chart').dataset.points).toBe('2');
    expect($(r, 'drafts-agreement-chart').dataset.points).toBe('1'); // one measurement (before training), repeated
    r.unmount();
  });

  it('cancels a running job through the API and says so', async () => {
    const r = await mount();
    await submitSmallest(r);
    const ws = FakeSocket.instances.at(-1)!;
    await act(async () => {
      ws.open();
      ws.emit({ type: 'job.progress', job_id: JOB_ID, progress: 0.1, message: 'Generated 1/8 target continuations' });
    });
    backend.jobs = [job({ status: 'cancelled' }), OLD_JOB];
    await act(async () => $<HTMLButtonElement>(r, 'cancel-button').click());
    await flush();
    expect(posts(`/api/v1/jobs/${JOB_ID}/cancel/`)).toHaveLength(1);
    expect($(r, 'drafts-cancelled').textContent).toMatch(/The distillation was cancelled/);
    expect(r.container.querySelector('[data-testid="job-progress"]')).toBeNull();
    expect($<HTMLButtonElement>(r, 'drafts-submit').disabled).toBe(false);
    expect($$(r, 'drafts-job-row').map((row) => row.dataset.status)).toEqual(['cancelled', 'succeeded']);
    r.unmount();
  });

  it('summarises the finished draft and points to the Speculative page', async () => {
    const r = await mount();
    await submitSmallest(r);
    const ws = FakeSocket.instances.at(-1)!;
    backend.models = [SMOL, GEMMA, draftEntry(NEW_DRAFT_DIR, 2), OLD_DRAFT];
    await act(async () => {
      ws.open();
      // like the server: the finished event has no result, so the page fetches the job
      ws.emit({ type: 'job.finished', job: job({ status: 'succeeded', progress: 1 }) });
    });
    await flush();
    expect(fetchMock.mock.calls.some(([url]) => url === `/api/v1/jobs/${JOB_ID}/`)).toBe(true);
    const summary = $(r, 'drafts-summary');
    expect($(r, 'drafts-draft-name').textContent).toBe('Distilled draft for SmolLM2-135M-Instruct (2 layers)');
    expect($(r, 'drafts-fig-agreement').textContent).toMatch(/6\.3%\s*→\s*18\.8%/);
    expect($(r, 'drafts-fig-agreement').textContent).toMatch(/\+12\.5 pts/);
    expect($(r, 'drafts-fig-tau').textContent).toMatch(/1\.07\s*→\s*1\.23/);
    expect($(r, 'drafts-fig-time').textContent).toMatch(/27 s/);
    expect($(r, 'drafts-fig-size').textContent).toMatch(/35\.4M params/);
    expect($(r, 'drafts-result-loss-chart').dataset.points).toBe('3');
    expect(summary.querySelector('[data-testid="drafts-use-hint"]')!.textContent).toMatch(/Now selectable as a drafter/);
    expect($(r, 'drafts-use-link').getAttribute('href')).toBe('/speculative');
    expect($(r, 'drafts-draft-id').title).toBe(NEW_DRAFT_DIR);
    // the catalogue was reloaded: the new draft is listed and marked
    const rows = $$(r, 'drafts-model-row');
    expect(rows.map((row) => row.dataset.modelId)).toEqual([NEW_DRAFT_DIR, DRAFT_DIR]);
    expect(rows[0].dataset.new).toBe('true');
    r.unmount();
  });

  it('shows the server’s 400 message next to the form', async () => {
    backend.create = () => [400, { message: 'unknown model \'nope\': use a bundled id, a local folder or a Hugging Face id.', extra: {} }];
    const r = await mount();
    await submitSmallest(r);
    const form = $(r, 'drafts-form');
    expect(form.querySelector('[data-testid="error-message"]')!.textContent).toMatch(/unknown model 'nope'/);
    expect(form.textContent).toMatch(/The server refused these settings/);
    expect(r.container.querySelector('[data-testid="job-progress"]')).toBeNull();
    r.unmount();
  });

  it('shows a viewer the 403 message from the server', async () => {
    backend.create = () => [403, { message: "Your role in 'local' is viewer; this needs member.", extra: {} }];
    const r = await mount('viewer');
    expect($(r, 'drafts-viewer-hint').textContent).toMatch(/You are a viewer in Local team/);
    await submitSmallest(r);
    expect(posts('/api/v1/drafts/')).toHaveLength(1);
    const form = $(r, 'drafts-form');
    expect(form.querySelector('[data-testid="error-message"]')!.textContent).toBe("Your role in 'local' is viewer; this needs member.");
    expect(form.textContent).toMatch(/You cannot start a distillation in this team/);
    r.unmount();
  });

  it('opens a job from the URL (?job=<id>) and shows its summary', async () => {
    window.history.replaceState(null, '', `/drafts?job=${JOB_ID}`);
    const r = await mount();
    await flush();
    expect($(r, 'drafts-summary')).not.toBeNull();
    expect($(r, 'drafts-fig-agreement').textContent).toMatch(/18\.8%/);
    expect(FakeSocket.instances).toHaveLength(0); // a finished job needs no websocket
    r.unmount();
  });

  it('reports a failed job with its error', async () => {
    const r = await mount();
    await submitSmallest(r);
    const ws = FakeSocket.instances.at(-1)!;
    await act(async () => {
      ws.open();
      ws.emit({ type: 'job.failed', job_id: JOB_ID, error: 'num_layers must be smaller than the target’s 30 layers (got 40).' });
    });
    await flush();
    expect($(r, 'error-message').textContent).toMatch(/smaller than the target’s 30 layers/);
    expect(r.container.textContent).toMatch(/The distillation failed/);
    r.unmount();
  });
});

describe('drafts helpers', () => {
  it('splits prompts on empty lines', () => {
    expect(splitPrompts('a\nb\n\n\nc\n \nd')).toEqual(['a\nb', 'c', 'd']);
    expect(splitPrompts('  \n\n ')).toEqual([]);
  });

  it('sends the defaults for empty fields and refuses unknown or distilled targets', () => {
    const form = defaultDraftForm([SMOL]);
    const empty = { ...form, values: { ...form.values, max_steps: '', seed: '' } };
    expect(validateDraftForm(empty, [SMOL]).request).toMatchObject({ target: 'smollm2-135m-instruct', max_steps: 300, seed: 0 });
    expect(validateDraftForm({ ...form, target: DRAFT_DIR }, [SMOL, OLD_DRAFT]).errors.target).toMatch(/cannot be distilled/);
    expect(validateDraftForm({ ...form, target: 'nope' }, [SMOL]).errors.target).toMatch(/Unknown model/);
    expect(validateDraftForm({ ...form, prompts: 'x'.repeat(4001) }, [SMOL]).errors.prompts).toMatch(/longer than 4,000 characters/);
  });

  it('places each agreement measurement at the step it was taken', () => {
    const partial = (step: number, acceptance_estimate: number) => ({ step, loss: 1, acceptance_estimate });
    expect(liveAgreement([partial(10, 0.05), partial(40, 0.05), partial(50, 0.2), partial(60, 0.2), partial(120, 0.3)])).toEqual([
      { step: 0, agreement: 0.05 },
      { step: 50, agreement: 0.2 },
      { step: 100, agreement: 0.3 },
    ]);
    // at the last step the report comes before the final evaluation
    expect(liveAgreement([partial(10, 0.05), partial(100, 0.05)], 100)).toEqual([
      { step: 0, agreement: 0.05 },
      { step: 50, agreement: 0.05 },
    ]);
  });

  it('reads the stage from the pipeline’s messages', () => {
    expect(distillPhase('queued', 0, null)).toBe('queued');
    expect(distillPhase('running', 0, 'started')).toBe('loading');
    expect(distillPhase('running', 0.01, 'Loading the target model')).toBe('loading');
    expect(distillPhase('running', 0.2, 'Generated 3/8 target continuations')).toBe('generating');
    expect(distillPhase('running', 0.35, "Building the draft from the target's layers")).toBe('training');
    expect(distillPhase('running', 0.6, 'Step 10/300, loss 5.1')).toBe('training');
    expect(distillPhase('running', 0.95, 'Saving the draft model')).toBe('saving');
    expect(distillPhase('succeeded', 1, null)).toBe('done');
  });
});
