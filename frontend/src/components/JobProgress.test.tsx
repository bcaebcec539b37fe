import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Job } from '../api/types';
import { render } from '../test/render';
import { JobProgress } from './JobProgress';

class DeadSocket {
  onopen: (() => void) | null = null;
  onmessage: (() => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  readyState = 0;
  constructor() {
    setTimeout(() => this.onclose?.({ code: 1011 }), 10);
  }
  send() {}
  close() {}
}

const job = (over: Partial<Job> = {}): Job =>
  ({ id: 'j1', kind: 'tokenize', title: 'Big file', status: 'queued', progress: 0, params: {}, result: null, error: null, ...over }) as Job;

describe('JobProgress', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal('WebSocket', DeadSocket);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('shows a progress bar and a cancel button while queued', () => {
    const r = render(<JobProgress job={job()} onSucceeded={() => {}} />);
    expect(r.container.querySelector('[data-testid="progress-bar"]')).not.toBeNull();
    expect(r.container.querySelector('[data-testid="cancel-button"]')).not.toBeNull();
    r.unmount();
  });

  it('falls back to polling the job when the websocket keeps failing', async () => {
    const done = job({ status: 'succeeded', progress: 1, result: { results: [] } });
    const fetchMock = vi.fn().mockResolvedValue(new Response(JSON.stringify(done), { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const onSucceeded = vi.fn();
    const r = render(<JobProgress job={job()} onSucceeded={onSucceeded} />);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(4500);
    });
    expect(fetchMock).toHaveBeenCalledWith('/api/v1/jobs/j1/', expect.anything());
    expect(onSucceeded).toHaveBeenCalledWith(done);
    r.unmount();
  });

  it('cancels through the API and reports the end', async () => {
    const cancelled = job({ status: 'cancelled' });
    const fetchMock = vi.fn().mockResolvedValue(new Response(JSON.stringify(cancelled), { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const onEnded = vi.fn();
    const r = render(<JobProgress job={job({ status: 'running' })} onSucceeded={() => {}} onEnded={onEnded} />);
    await act(async () => {
      r.container.querySelector<HTMLButtonElement>('[data-testid="cancel-button"]')!.click();
      await vi.advanceTimersByTimeAsync(10);
    });
    expect(fetchMock.mock.calls[0][0]).toBe('/api/v1/jobs/j1/cancel/');
    expect(onEnded).toHaveBeenCalledWith('cancelled', null);
    r.unmount();
  });
});
