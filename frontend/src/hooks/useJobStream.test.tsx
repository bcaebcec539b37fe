import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Job } from '../api/types';
import { render } from '../test/render';
import type { JobStreamState } from './jobStream';
import { useJobStream } from './useJobStream';

class FakeSocket {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closedWith: number | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(public url: string) {
    FakeSocket.instances.push(this);
  }
  send(d: string) {
    this.sent.push(d);
  }
  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
    this.onclose?.({ code });
  }
  // test helpers
  open() {
    act(() => {
      this.readyState = 1;
      this.onopen?.();
    });
  }
  emit(obj: unknown) {
    act(() => this.onmessage?.({ data: JSON.stringify(obj) }));
  }
  drop(code = 1006) {
    act(() => {
      this.readyState = 3;
      this.onclose?.({ code });
    });
  }
}

const job = (over: Partial<Job> = {}): Job => ({
  id: 'j1',
  kind: 'tokenize',
  title: '',
  status: 'queued',
  progress: 0,
  params: {},
  result: null,
  error: null,
  created_at: '',
  started_at: null,
  finished_at: null,
  owner: null,
  team: null,
  versions: null,
  permalink: null,
  ...over,
});

let latest: JobStreamState;
function Probe({ id, initial }: { id: string | null; initial?: Job }) {
  latest = useJobStream(id, { WebSocketImpl: FakeSocket as unknown as typeof WebSocket, url: (j) => `ws://test/ws/jobs/${j}/`, initialJob: initial });
  return null;
}

describe('useJobStream', () => {
  beforeEach(() => {
    FakeSocket.instances = [];
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('applies the snapshot then events, and closes when the job finishes', () => {
    const r = render(<Probe id="j1" initial={job()} />);
    expect(FakeSocket.instances).toHaveLength(1);
    const ws = FakeSocket.instances[0];
    expect(ws.url).toBe('ws://test/ws/jobs/j1/');
    expect(latest.connection).toBe('connecting');
    ws.open();
    expect(latest.connection).toBe('open');
    ws.emit({ type: 'job.snapshot', job: job({ status: 'running', progress: 0.1 }) });
    expect(latest.status).toBe('running');
    ws.emit({ type: 'job.progress', job_id: 'j1', progress: 0.6, message: 'half way' });
    expect(latest.progress).toBeCloseTo(0.6);
    expect(latest.message).toBe('half way');
    ws.emit({ type: 'job.finished', job: job({ status: 'succeeded', progress: 1, result: { r: 1 } }) });
    expect(latest.status).toBe('succeeded');
    expect(latest.job?.result).toEqual({ r: 1 });
    expect(ws.closedWith).toBe(1000);
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeSocket.instances).toHaveLength(1); // no reconnect after the end
    r.unmount();
  });

  it('reconnects with backoff after an unexpected close and gets a fresh snapshot', () => {
    const r = render(<Probe id="j1" />);
    const first = FakeSocket.instances[0];
    first.open();
    first.emit({ type: 'job.progress', job_id: 'j1', progress: 0.3 });
    first.drop(1006);
    expect(latest.connection).toBe('reconnecting');
    act(() => vi.advanceTimersByTime(700)); // first retry ≤ 600 ms
    expect(FakeSocket.instances).toHaveLength(2);
    const second = FakeSocket.instances[1];
    second.drop(1006); // fails before opening: the delay doubles
    act(() => vi.advanceTimersByTime(700));
    expect(FakeSocket.instances).toHaveLength(2);
    act(() => vi.advanceTimersByTime(600));
    expect(FakeSocket.instances).toHaveLength(3);
    const third = FakeSocket.instances[2];
    third.open();
    third.emit({ type: 'job.snapshot', job: job({ status: 'failed', error: 'worker died' }) });
    expect(latest.status).toBe('failed');
    expect(latest.error).toBe('worker died');
    r.unmount();
  });

  it('shows a running job from its start and, after a reconnect, ignores the replayed partials it already has', () => {
    const partial = (seq: number) => ({ type: 'job.partial', job_id: 'j1', partial: { phase: 'speculative', steps: [{ index: seq - 1 }], text: '' }, seq });
    const indices = () => latest.partials.map((p) => (p as { steps: { index: number }[] }).steps[0].index);
    const r = render(<Probe id="j1" />);
    const first = FakeSocket.instances[0];
    first.open();
    // opened mid-run: the snapshot, then the backlog (seq 1–3), then live events, one of them already replayed
    first.emit({ type: 'job.snapshot', job: job({ status: 'running', progress: 0.3 }) });
    [1, 2, 3].forEach((seq) => first.emit(partial(seq)));
    [3, 4].forEach((seq) => first.emit(partial(seq)));
    expect(indices()).toEqual([0, 1, 2, 3]);
    first.drop(1006);
    act(() => vi.advanceTimersByTime(700));
    const second = FakeSocket.instances[1];
    second.open();
    second.emit({ type: 'job.snapshot', job: job({ status: 'running', progress: 0.6 }) });
    [1, 2, 3, 4, 5, 6].forEach((seq) => second.emit(partial(seq))); // the backlog again, now with what was missed
    second.emit(partial(7)); // live
    expect(indices()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(latest.lastSeq).toBe(7);
    r.unmount();
  });

  it('stops on 4404 / 4403 without retrying', () => {
    const r = render(<Probe id="missing" />);
    FakeSocket.instances[0].drop(4404);
    expect(latest.fatal).toMatch(/does not exist/);
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeSocket.instances).toHaveLength(1);
    r.unmount();
  });

  it('sends pings while open', () => {
    const r = render(<Probe id="j1" />);
    const ws = FakeSocket.instances[0];
    ws.open();
    act(() => vi.advanceTimersByTime(25_000));
    expect(ws.sent).toContain('{"type":"ping"}');
    r.unmount();
  });

  it('does not connect for an already finished job or a null id', () => {
    const r = render(<Probe id="j1" initial={job({ status: 'succeeded' })} />);
    expect(FakeSocket.instances).toHaveLength(0);
    expect(latest.status).toBe('succeeded');
    r.rerender(<Probe id={null} />);
    expect(FakeSocket.instances).toHaveLength(0);
    r.unmount();
  });

  it('closes the socket on unmount', () => {
    const r = render(<Probe id="j1" />);
    const ws = FakeSocket.instances[0];
    ws.open();
    r.unmount();
    expect(ws.closedWith).toBe(1000);
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeSocket.instances).toHaveLength(1);
  });
});
