// Dev/demo only (`vite --mode mock`): a fake Tokenscope backend inside the browser.
// It patches window.fetch for /api/v1/ and window.WebSocket for /ws/jobs/, following docs/api.md.
import type { ApiTokenCreated, Job, JobEvent, LanguageModel, Me, SpeculativeResult, TeamMember, Tokenizer, TokenizeResult } from '../api/types';
import meFixture from '../fixtures/me.json';
import specGreedy from '../fixtures/speculative-greedy.json';
import specSampled from '../fixtures/speculative-sampled.json';
import specTree from '../fixtures/speculative-tree.json';
import tokenizersFixture from '../fixtures/tokenizers.json';
import { fakeTokenize } from './fakeTokenizers';

const SYNC_LIMIT = 100_000;

interface State {
  signedIn: boolean;
  me: Me;
  tokenizers: Tokenizer[];
  jobs: Job[];
  apiTokens: ApiTokenCreated[];
  members: TeamMember[];
  listeners: Map<string, Set<(ev: JobEvent) => void>>;
}

const state: State = {
  signedIn: true,
  me: meFixture as Me,
  tokenizers: tokenizersFixture as Tokenizer[],
  jobs: [],
  apiTokens: [
    { id: 1, name: 'cluster jobs', key: 'tsk_0000', prefix: 'tsk_7f3a', created_at: new Date(Date.now() - 86400e3 * 12).toISOString(), last_used_at: new Date(Date.now() - 3600e3 * 5).toISOString() },
  ],
  members: [
    { username: 'local', role: 'owner', joined_at: new Date(Date.now() - 86400e3 * 40).toISOString() },
    { username: 'mira', role: 'member', joined_at: new Date(Date.now() - 86400e3 * 20).toISOString() },
    { username: 'jonas', role: 'viewer', joined_at: new Date(Date.now() - 86400e3 * 3).toISOString() },
  ],
  listeners: new Map(),
};

const MODELS: LanguageModel[] = [
  { id: 'smollm2-135m-instruct', name: 'SmolLM2-135M-Instruct', family: 'llama', kind: 'bundled', source: 'demo', licence: 'Apache-2.0', params: 134515008, context_length: 8192, vocab_size: 49152, tokenizer_id: 'tokenizers:smollm2', chat: true, available: true, status: 'installed' },
  { id: 'gemma-3-270m', name: 'Gemma 3 270M (base)', family: 'gemma3', kind: 'bundled', source: 'demo', licence: 'Gemma Terms of Use', params: 268098176, context_length: 32768, vocab_size: 262144, tokenizer_id: 'tokenizers:gemma-3', chat: false, available: true, status: 'installed' },
];

/** Demo speculative runs replay recorded traces: tree kinds the tree run, sampling the sampled run, else greedy. */
function recordedRun(params: Record<string, unknown>): SpeculativeResult {
  const drafter = (params.drafter ?? {}) as { kind?: string };
  if (drafter.kind && ['multi_draft', 'tree_fixed', 'tree_dyspec', 'token_recycling'].includes(drafter.kind)) return specTree as unknown as SpeculativeResult;
  return ((Number(params.temperature) || 0) > 0 ? specSampled : specGreedy) as unknown as SpeculativeResult;
}

function runSpeculative(job: Job) {
  const result = recordedRun(job.params);
  const steps = result.trace.steps;
  let i = 0;
  let tokens = 0;
  const total = Number(job.params.max_new_tokens) || 128;
  const tick = () => {
    if (job.status === 'cancelled') return;
    job.status = 'running';
    job.started_at ??= new Date().toISOString();
    const batch = steps.slice(i, i + 2);
    i += batch.length;
    tokens += batch.reduce((n, s) => n + s.emitted.length, 0);
    job.progress = Math.min(0.95, 0.05 + 0.9 * (i / steps.length));
    emit(job.id, { type: 'job.progress', job_id: job.id, progress: job.progress, message: `speculative: ${tokens}/${total} tokens` });
    emit(job.id, { type: 'job.partial', job_id: job.id, partial: { phase: 'speculative', steps: batch, text: batch.map((s) => s.accepted_text ?? '').join('') } });
    if (i < steps.length) setTimeout(tick, 450);
    else {
      job.result = result;
      job.status = 'succeeded';
      job.progress = 1;
      job.finished_at = new Date().toISOString();
      // like the real server: the finished event carries no result (the client fetches the job)
      emit(job.id, { type: 'job.finished', job: { ...job, result: null } });
    }
  };
  setTimeout(tick, 700);
}

const json = (status: number, body: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const err = (status: number, message: string, extra: Record<string, unknown> = {}) => json(status, { message, extra });
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : Math.random().toString(16).slice(2) + Date.now().toString(16));

function emit(jobId: string, ev: JobEvent) {
  state.listeners.get(jobId)?.forEach((fn) => fn(ev));
}

function makeJob(text: string, ids: string[], baseline: string | undefined, owner = 'local'): Job<TokenizeResult> {
  const now = new Date().toISOString();
  const id = uuid();
  const firstLine = text.split('\n')[0].trim();
  return {
    id,
    kind: 'tokenize',
    title: firstLine.length > 56 ? `${firstLine.slice(0, 56)}…` : firstLine || 'Untitled',
    status: 'queued',
    progress: 0,
    params: { tokenizers: ids, baseline: baseline ?? ids[0] },
    result: null,
    error: null,
    created_at: now,
    started_at: null,
    finished_at: null,
    owner,
    team: 'local',
    versions: { tokenscope: '0.1.0', tiktoken: '0.9.0', tokenizers: '0.21.1', sentencepiece: '0.2.0' },
    permalink: `/results/${id}`,
  };
}

function finish(job: Job<TokenizeResult>, text: string) {
  job.result = fakeTokenize(text, state.tokenizers, job.params.tokenizers as string[], job.params.baseline as string);
  job.status = 'succeeded';
  job.progress = 1;
  job.started_at ??= new Date().toISOString();
  job.finished_at = new Date().toISOString();
}

function runInBackground(job: Job<TokenizeResult>, text: string) {
  const ids = job.params.tokenizers as string[];
  let p = 0;
  const tick = () => {
    if (job.status === 'cancelled') return;
    p = Math.min(1, p + 0.07);
    job.status = 'running';
    job.started_at ??= new Date().toISOString();
    job.progress = p;
    const which = ids[Math.min(ids.length - 1, Math.floor(p * ids.length))];
    emit(job.id, { type: 'job.progress', job_id: job.id, progress: p, message: `tokenizing with ${which}` });
    if (p < 1) setTimeout(tick, 280);
    else {
      finish(job, text);
      emit(job.id, { type: 'job.finished', job });
    }
  };
  setTimeout(tick, 900);
}

function seed() {
  const samples: [string, string[], string][] = [
    ['The quick brown fox jumps over the lazy dog. 1234567 🦊', ['tiktoken:cl100k_base', 'hf:meta-llama/Meta-Llama-3-8B'], 'mira'],
    ['def add(a, b):\n    return a + b\n', ['tiktoken:o200k_base', 'sp:llama2', 'hf:bert-base-uncased'], 'local'],
    ['Привет, мир! 你好，世界', ['tiktoken:cl100k_base', 'sp:llama2'], 'jonas'],
  ];
  samples.forEach(([text, ids, owner], i) => {
    const job = makeJob(text, ids, ids[0], owner);
    finish(job, text);
    job.created_at = new Date(Date.now() - (i + 1) * 3600e3 * (i * 9 + 2)).toISOString();
    state.jobs.push(job);
  });
  const specRuns: [Record<string, unknown>, SpeculativeResult, string][] = [
    [{ target: 'smollm2-135m-instruct', method: 'speculative', drafter: { kind: 'prompt_lookup' }, prompt: 'Repeat exactly: the quick brown fox jumps over the lazy dog.', chat_template: true, gamma: 5, max_new_tokens: 32, temperature: 0 }, specGreedy as unknown as SpeculativeResult, 'local'],
    [{ target: 'smollm2-135m-instruct', method: 'speculative', drafter: { kind: 'prompt_lookup' }, prompt: 'Repeat exactly: the quick brown fox jumps over the lazy dog.', chat_template: true, gamma: 5, max_new_tokens: 24, temperature: 0.8, seed: 3 }, specSampled as unknown as SpeculativeResult, 'mira'],
    [{ target: 'smollm2-135m-instruct', method: 'speculative', drafter: { kind: 'tree_dyspec', model: 'smollm2-135m-instruct', node_budget: 8 }, prompt: 'Count from 1 to 10.', chat_template: true, max_new_tokens: 12, temperature: 0.9, seed: 2 }, specTree as unknown as SpeculativeResult, 'local'],
  ];
  specRuns.forEach(([params, result, owner], i) => {
    const id = uuid();
    const kind = (params.drafter as { kind: string }).kind;
    state.jobs.push({
      id,
      kind: 'speculative',
      title: `${kind} · ${params.target} · ${String(params.prompt).slice(0, 60)}`,
      status: 'succeeded',
      progress: 1,
      params,
      result,
      error: null,
      created_at: new Date(Date.now() - (i + 1) * 1800e3).toISOString(),
      started_at: null,
      finished_at: null,
      owner,
      team: 'local',
      versions: result.versions ?? null,
      permalink: `/results/${id}`,
    });
  });
  state.jobs.sort((a, b) => b.created_at.localeCompare(a.created_at));
  const failed = makeJob('A corrupted upload', ['tiktoken:gpt2'], undefined, 'mira');
  failed.status = 'failed';
  failed.error = 'The file is not valid UTF-8 (byte 0xff at position 1024).';
  failed.created_at = new Date(Date.now() - 86400e3 * 3).toISOString();
  state.jobs.push(failed);
}

async function handle(url: URL, init: RequestInit): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const path = url.pathname.replace(/^\/api\/v1/, '');
  const body = typeof init.body === 'string' ? JSON.parse(init.body) : init.body;
  await delay(method === 'GET' ? 120 : 350);

  if (path === '/auth/login/' && method === 'POST') {
    if (body?.password === 'wrong') return err(400, 'Unable to sign in with the given username and password.', {});
    state.signedIn = true;
    return json(200, state.me);
  }
  if (path === '/auth/logout/' && method === 'POST') {
    state.signedIn = false;
    return json(204, undefined);
  }
  if (!state.signedIn) return err(403, 'Authentication credentials were not provided.');
  if (path === '/auth/me/') return json(200, state.me);
  if (path === '/auth/tokens/' && method === 'GET') return json(200, state.apiTokens.map(({ key: _k, ...t }) => t));
  if (path === '/auth/tokens/' && method === 'POST') {
    if (!body?.name) return err(400, 'Invalid input.', { fields: { name: ['This field is required.'] } });
    const key = `tsk_${uuid().replace(/-/g, '')}`;
    const t = { id: Date.now(), name: body.name, key, prefix: key.slice(0, 8), created_at: new Date().toISOString(), last_used_at: null };
    state.apiTokens.push(t);
    return json(201, t);
  }
  const tokDel = /^\/auth\/tokens\/([^/]+)\/$/.exec(path);
  if (tokDel && method === 'DELETE') {
    state.apiTokens = state.apiTokens.filter((t) => String(t.id) !== tokDel[1]);
    return json(204, undefined);
  }
  const members = /^\/teams\/([^/]+)\/members\/$/.exec(path);
  if (members && method === 'GET') return json(200, state.members);
  if (members && method === 'POST') {
    if (!body?.username) return err(400, 'Invalid input.', { fields: { username: ['This field is required.'] } });
    if (body.username === 'ghost') return err(404, `No user called '${body.username}'.`);
    const m: TeamMember = { username: body.username, role: body.role ?? 'member', joined_at: new Date().toISOString() };
    state.members = [...state.members.filter((x) => x.username !== m.username), m];
    return json(201, m);
  }
  if (path === '/models/' && method === 'GET') return json(200, MODELS);
  if (path === '/speculative/' && method === 'POST') {
    if (!MODELS.some((m) => m.id === body?.target)) return err(400, `The target model is not usable: unknown model ${JSON.stringify(body?.target)}.`);
    if (!String(body?.prompt ?? '').trim()) return err(400, 'The prompt is empty.');
    if (String(body.prompt).includes('FAIL')) return err(400, 'The prompt is 9000 tokens; with 64 new tokens it exceeds SmolLM2-135M-Instruct’s context of 8192 tokens. Shorten the prompt. (demo: your prompt contains FAIL)');
    const id = uuid();
    const kind = body.method === 'autoregressive' ? 'autoregressive' : body.drafter?.kind ?? 'prompt_lookup';
    const job: Job = {
      id,
      kind: 'speculative',
      title: `${kind} · ${body.target} · ${String(body.prompt).split(/\s+/).join(' ').slice(0, 60)}`,
      status: 'queued',
      progress: 0,
      message: null,
      params: body,
      result: null,
      error: null,
      created_at: new Date().toISOString(),
      started_at: null,
      finished_at: null,
      owner: 'local',
      team: 'local',
      versions: null,
      permalink: `/results/${id}`,
    };
    state.jobs.unshift(job);
    runSpeculative(job);
    return json(202, job);
  }
  if (path === '/tokenizers/' && method === 'GET') return json(200, state.tokenizers);
  if (path === '/tokenizers/' && method === 'POST') {
    const name = body instanceof FormData ? String(body.get('name') ?? '') : body?.name;
    if (!name) return err(400, 'Invalid input.', { fields: { name: ['This field is required.'] } });
    const t: Tokenizer = {
      id: `custom:${uuid()}`,
      name,
      family: 'Custom',
      algorithm: 'BPE (byte-level)',
      library: 'tokenizers',
      vocab_size: 32000,
      special_tokens: ['<s>', '</s>'],
      source: body instanceof FormData ? `upload: ${(body.get('file') as File)?.name}` : `hf: ${body.hf_id}`,
      licence: 'unknown',
      available: true,
      builtin: false,
      description: 'Added by local.',
    };
    state.tokenizers = [...state.tokenizers, t];
    return json(201, t);
  }
  if (path === '/tokenize/' && method === 'POST') {
    let text: string;
    let ids: string[];
    let baseline: string | undefined;
    if (body instanceof FormData) {
      text = await (body.get('file') as File).text();
      ids = body.getAll('tokenizers').map(String);
      baseline = (body.get('baseline') as string) || undefined;
    } else {
      text = body.text ?? '';
      ids = body.tokenizers ?? [];
      baseline = body.baseline;
    }
    if (!text) return err(400, 'Invalid input.', { fields: { text: ['This field may not be blank.'] } });
    if (!ids.length || ids.length > 6) return err(400, 'Choose between 1 and 6 tokenizers.', { fields: { tokenizers: ['Choose between 1 and 6 tokenizers.'] } });
    const unknown = ids.find((id) => !state.tokenizers.some((t) => t.id === id && t.available));
    if (unknown) return err(400, `Unknown or unavailable tokenizer: ${unknown}.`, { fields: { tokenizers: [`Unknown tokenizer ${unknown}`] } });
    if (text.includes('FAIL')) return err(500, 'The tokenizer worker crashed (demo: your text contains FAIL).');
    const job = makeJob(text, ids, baseline);
    state.jobs.unshift(job);
    if (new TextEncoder().encode(text).length > SYNC_LIMIT || text.includes('SLOW')) {
      runInBackground(job, text);
      return json(202, job);
    }
    finish(job, text);
    return json(201, job);
  }
  if (path === '/jobs/' && method === 'GET') {
    const kind = url.searchParams.get('kind');
    const page = Number(url.searchParams.get('page') ?? 1);
    const size = 10;
    const all = state.jobs.filter((j) => !kind || j.kind === kind);
    const slice = all.slice((page - 1) * size, page * size).map((j) => ({ ...j, result: null }));
    const q = (p: number) => `${url.origin}/api/v1/jobs/?${kind ? `kind=${kind}&` : ''}page=${p}`;
    return json(200, { count: all.length, next: page * size < all.length ? q(page + 1) : null, previous: page > 1 ? q(page - 1) : null, results: slice });
  }
  const jobMatch = /^\/jobs\/([^/]+)\/(cancel\/)?$/.exec(path);
  if (jobMatch) {
    const job = state.jobs.find((j) => j.id === jobMatch[1]);
    if (jobMatch[1] === 'forbidden') return err(403, 'This result belongs to a team you are not a member of.');
    if (!job) return err(404, 'No job with this id in your team.');
    if (jobMatch[2] && method === 'POST') {
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return err(409, 'The job has already finished.');
      job.status = 'cancelled';
      job.finished_at = new Date().toISOString();
      emit(job.id, { type: 'job.cancelled', job_id: job.id });
      return json(200, job);
    }
    return json(200, job);
  }
  return err(404, `No mock for ${method} ${url.pathname}`);
}

class MockSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 0;
  url: string;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  private unsub: (() => void) | null = null;

  constructor(url: string) {
    this.url = url;
    const id = decodeURIComponent(/\/ws\/jobs\/([^/]+)\//.exec(url)?.[1] ?? '');
    setTimeout(() => {
      const job = state.jobs.find((j) => j.id === id);
      if (!job) return this.fire(4404);
      this.readyState = 1;
      this.onopen?.(new Event('open'));
      this.send_(JSON.stringify({ type: 'job.snapshot', job }));
      const fn = (ev: JobEvent) => this.send_(JSON.stringify(ev));
      const set = state.listeners.get(id) ?? new Set();
      set.add(fn);
      state.listeners.set(id, set);
      this.unsub = () => set.delete(fn);
    }, 150);
  }
  private send_(data: string) {
    if (this.readyState === 1) this.onmessage?.(new MessageEvent('message', { data }));
  }
  private fire(code: number) {
    this.readyState = 3;
    this.unsub?.();
    this.onclose?.(new CloseEvent('close', { code }));
  }
  send(data: string) {
    const msg = JSON.parse(data);
    this.send_(JSON.stringify(msg.type === 'ping' ? { type: 'pong' } : { type: 'error', message: 'Unknown message type.' }));
  }
  close(code = 1000) {
    if (this.readyState >= 2) return;
    setTimeout(() => this.fire(code), 0);
    this.readyState = 2;
  }
  addEventListener() {}
  removeEventListener() {}
}

export function installMockBackend() {
  seed();
  const realFetch = window.fetch.bind(window);
  window.fetch = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, window.location.origin);
    if (!url.pathname.startsWith('/api/v1/')) return realFetch(input, init);
    return handle(url, init);
  };
  const RealWS = window.WebSocket;
  window.WebSocket = function (url: string | URL, protocols?: string | string[]) {
    const u = String(url);
    if (u.includes('/ws/jobs/')) return new MockSocket(u) as unknown as WebSocket;
    return new RealWS(u, protocols);
  } as unknown as typeof WebSocket;
  document.documentElement.dataset.mock = 'true';
}
