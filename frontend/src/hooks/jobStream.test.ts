import { describe, expect, it } from 'vitest';
import type { Job } from '../api/types';
import { backoffDelay, fatalCloseMessage, initialJobStreamState, isStreamFinished, jobStreamReducer, parseJobEvent, type JobStreamState } from './jobStream';

function job(over: Partial<Job> = {}): Job {
  return {
    id: 'j1',
    kind: 'tokenize',
    title: 't',
    status: 'queued',
    progress: 0,
    params: {},
    result: null,
    error: null,
    created_at: '2025-01-01T00:00:00Z',
    started_at: null,
    finished_at: null,
    owner: 'local',
    team: 'local',
    versions: null,
    permalink: null,
    ...over,
  };
}

const ev = (s: JobStreamState, event: Parameters<typeof jobStreamReducer>[1] extends infer A ? (A extends { type: 'event'; event: infer E } ? E : never) : never) =>
  jobStreamReducer(s, { type: 'event', event });

describe('jobStreamReducer', () => {
  const start = initialJobStreamState('j1');

  it('applies the snapshot', () => {
    const s = ev(start, { type: 'job.snapshot', job: job({ status: 'running', progress: 0.3 }) });
    expect(s.status).toBe('running');
    expect(s.progress).toBeCloseTo(0.3);
    expect(s.job?.id).toBe('j1');
    expect(isStreamFinished(s)).toBe(false);
  });

  it('takes the progress message from the snapshot when the backend sends one', () => {
    const s = ev(start, { type: 'job.snapshot', job: job({ status: 'running', message: 'tokenizing with o200k_base' }) });
    expect(s.message).toBe('tokenizing with o200k_base');
  });

  it('applies progress events, never going backwards', () => {
    let s = ev(start, { type: 'job.snapshot', job: job() });
    s = ev(s, { type: 'job.progress', job_id: 'j1', progress: 0.5, message: 'tokenizing with cl100k_base' });
    expect(s).toMatchObject({ status: 'running', progress: 0.5, message: 'tokenizing with cl100k_base' });
    s = ev(s, { type: 'job.progress', job_id: 'j1', progress: 0.4 });
    expect(s.progress).toBe(0.5);
    expect(s.message).toBe('tokenizing with cl100k_base');
    s = ev(s, { type: 'job.progress', job_id: 'j1', progress: 7 });
    expect(s.progress).toBe(1);
  });

  it('finishes with the job carried by job.finished', () => {
    let s = ev(start, { type: 'job.progress', job_id: 'j1', progress: 0.9 });
    s = ev(s, { type: 'job.finished', job: job({ status: 'succeeded', progress: 1, result: { ok: true } }) });
    expect(s.status).toBe('succeeded');
    expect(s.progress).toBe(1);
    expect(s.job?.result).toEqual({ ok: true });
    expect(s.message).toBeNull();
    expect(isStreamFinished(s)).toBe(true);
  });

  it('ignores late progress after the end', () => {
    let s = ev(start, { type: 'job.cancelled', job_id: 'j1' });
    s = ev(s, { type: 'job.progress', job_id: 'j1', progress: 0.8 });
    expect(s.status).toBe('cancelled');
    expect(s.progress).toBe(0);
  });

  it('records failures with the error message', () => {
    let s = ev(start, { type: 'job.snapshot', job: job({ status: 'running' }) });
    s = ev(s, { type: 'job.failed', job_id: 'j1', error: 'Out of memory' });
    expect(s.status).toBe('failed');
    expect(s.error).toBe('Out of memory');
    expect(s.job?.status).toBe('failed');
  });

  it('treats a terminal snapshot as finished (e.g. after a reconnect)', () => {
    const s = ev(start, { type: 'job.snapshot', job: job({ status: 'failed', error: 'boom' }) });
    expect(s.status).toBe('failed');
    expect(s.error).toBe('boom');
    expect(isStreamFinished(s)).toBe(true);
  });

  it('ignores events about other jobs', () => {
    const s = ev(start, { type: 'job.progress', job_id: 'other', progress: 0.5 });
    expect(s).toBe(start);
    expect(ev(start, { type: 'job.snapshot', job: job({ id: 'other', status: 'succeeded' }) })).toBe(start);
  });

  it('keeps server notices and ignores pongs', () => {
    const s = ev(start, { type: 'error', message: 'Unknown message type.' });
    expect(s.serverNotice).toBe('Unknown message type.');
    expect(ev(s, { type: 'pong' })).toBe(s);
  });

  it('tracks the connection and fatal closes', () => {
    let s = jobStreamReducer(start, { type: 'connection', connection: 'open' });
    expect(s.connection).toBe('open');
    expect(jobStreamReducer(s, { type: 'connection', connection: 'open' })).toBe(s);
    s = jobStreamReducer(s, { type: 'fatal', message: 'nope' });
    expect(s).toMatchObject({ connection: 'closed', fatal: 'nope' });
  });

  it('resets for a new job, seeded with a known job', () => {
    const s = jobStreamReducer(ev(start, { type: 'job.progress', job_id: 'j1', progress: 0.5 }), {
      type: 'reset',
      jobId: 'j2',
      job: job({ id: 'j2', status: 'queued' }),
    });
    expect(s).toMatchObject({ jobId: 'j2', status: 'queued', progress: 0 });
  });
});

describe('helpers', () => {
  it('parses only JSON objects with a type', () => {
    expect(parseJobEvent('{"type":"pong"}')).toEqual({ type: 'pong' });
    expect(parseJobEvent('not json')).toBeNull();
    expect(parseJobEvent('{"no":"type"}')).toBeNull();
    expect(parseJobEvent(new ArrayBuffer(2))).toBeNull();
  });

  it('backs off exponentially with a cap', () => {
    const mid = () => 0.5;
    expect(backoffDelay(0, mid)).toBe(500);
    expect(backoffDelay(1, mid)).toBe(1000);
    expect(backoffDelay(3, mid)).toBe(4000);
    expect(backoffDelay(20, mid)).toBe(15000);
    expect(backoffDelay(0, () => 0)).toBe(400);
  });

  it('knows the fatal close codes', () => {
    expect(fatalCloseMessage(4401)).toMatch(/sign in/);
    expect(fatalCloseMessage(4403)).toMatch(/access/);
    expect(fatalCloseMessage(4404)).toMatch(/does not exist/);
    expect(fatalCloseMessage(1006)).toBeNull();
  });
});

describe('partials', () => {
  const start = initialJobStreamState('j1');

  it('keeps every job.partial payload in order, and the latest one', () => {
    let s = initialJobStreamState('j1');
    s = jobStreamReducer(s, { type: 'event', event: { type: 'job.partial', job_id: 'j1', partial: { steps: [1] } } });
    s = jobStreamReducer(s, { type: 'event', event: { type: 'job.partial', job_id: 'j1', partial: { steps: [2, 3] } } });
    s = jobStreamReducer(s, { type: 'event', event: { type: 'job.partial', job_id: 'other', partial: { steps: [9] } } });
    expect(s.partial).toEqual({ steps: [2, 3] });
    expect(s.partials).toEqual([{ steps: [1] }, { steps: [2, 3] }]);
    expect(jobStreamReducer(s, { type: 'reset', jobId: 'j2' }).partials).toEqual([]);
  });

  it('drops partials replayed again (seq not above the last one applied) and keeps the rest in order', () => {
    const partial = (seq: number) => ({ type: 'job.partial' as const, job_id: 'j1', partial: { steps: [seq] }, seq });
    let s = ev(start, { type: 'job.snapshot', job: job({ status: 'running' }) });
    for (const seq of [1, 2, 3]) s = ev(s, partial(seq)); // live
    const before = s;
    // reconnect: a fresh snapshot, then the whole backlog again, then what is new
    s = ev(s, { type: 'job.snapshot', job: job({ status: 'running', progress: 0.5 }) });
    for (const seq of [1, 2, 3]) s = ev(s, partial(seq));
    expect(s.partials).toBe(before.partials); // unchanged, not even copied
    for (const seq of [4, 5]) s = ev(s, partial(seq));
    s = ev(s, partial(5));
    expect(s.partials).toEqual([1, 2, 3, 4, 5].map((n) => ({ steps: [n] })));
    expect(s.partial).toEqual({ steps: [5] });
    expect(s.lastSeq).toBe(5);
    expect(jobStreamReducer(s, { type: 'reset', jobId: 'j1' }).lastSeq).toBe(0);
  });

  it('applies partials without a seq as they come (an older server, or no backlog)', () => {
    let s = ev(start, { type: 'job.partial', job_id: 'j1', partial: 'a', seq: 1 });
    s = ev(s, { type: 'job.partial', job_id: 'j1', partial: 'b' });
    s = ev(s, { type: 'job.partial', job_id: 'j1', partial: 'b' });
    expect(s.partials).toEqual(['a', 'b', 'b']);
    expect(s.lastSeq).toBe(1);
  });
});
