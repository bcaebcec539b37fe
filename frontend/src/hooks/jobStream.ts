// The websocket job stream's state machine, kept pure for testing (see useJobStream.ts for the socket side).
import { isFinished, type Job, type JobEvent, type JobStatus } from '../api/types';

export type Connection = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface JobStreamState {
  jobId: string | null;
  job: Job | null;
  status: JobStatus | null;
  progress: number;
  message: string | null;
  /** The latest `job.partial` payload. */
  partial: unknown;
  /** Every `job.partial` payload of the job, in order, each once (partials can be deltas, e.g. the speculative job's
   * batches of finished steps; several may arrive between two renders). On connect the server replays those streamed
   * so far, so opening a running job shows it from its start; replays after a reconnect are dropped by `seq`. */
  partials: unknown[];
  /** The highest `seq` of a `job.partial` applied (0: none yet); partials with a lower or equal `seq` are repeats. */
  lastSeq: number;
  error: string | null;
  connection: Connection;
  /** Set when the server refused the connection (4401 / 4403 / 4404): no more retries. */
  fatal: string | null;
  /** Last `{type: "error"}` message from the server (the connection stays open). */
  serverNotice: string | null;
}

export type JobStreamAction =
  | { type: 'reset'; jobId: string | null; job?: Job | null }
  | { type: 'event'; event: JobEvent }
  | { type: 'connection'; connection: Connection }
  | { type: 'fatal'; message: string };

export function initialJobStreamState(jobId: string | null = null, job: Job | null = null): JobStreamState {
  return {
    jobId,
    job,
    status: job?.status ?? null,
    progress: job ? clamp01(job.progress) : 0,
    message: job?.message ?? null,
    partial: null,
    partials: [],
    lastSeq: 0,
    error: job?.error ?? null,
    connection: 'idle',
    fatal: null,
    serverNotice: null,
  };
}

function clamp01(n: unknown): number {
  const x = typeof n === 'number' && Number.isFinite(n) ? n : 0;
  return Math.min(1, Math.max(0, x));
}

function fromJob(state: JobStreamState, job: Job): JobStreamState {
  return {
    ...state,
    job,
    status: job.status,
    progress: job.status === 'succeeded' ? 1 : Math.max(clamp01(job.progress), job.status === state.status ? state.progress : 0),
    error: job.status === 'failed' ? job.error || state.error || 'The job failed.' : null,
    message: job.message || state.message,
  };
}

export function isStreamFinished(state: JobStreamState): boolean {
  return state.status !== null && isFinished(state.status);
}

export function jobStreamReducer(state: JobStreamState, action: JobStreamAction): JobStreamState {
  switch (action.type) {
    case 'reset':
      return initialJobStreamState(action.jobId, action.job ?? null);
    case 'connection':
      if (state.connection === action.connection) return state;
      return { ...state, connection: action.connection };
    case 'fatal':
      return { ...state, fatal: action.message, connection: 'closed' };
    case 'event':
      return applyEvent(state, action.event);
  }
}

function applyEvent(state: JobStreamState, ev: JobEvent): JobStreamState {
  const belongs = (id: string | undefined) => !id || !state.jobId || id === state.jobId;
  switch (ev.type) {
    case 'job.snapshot':
      if (!belongs(ev.job?.id)) return state;
      return fromJob(state, ev.job);
    case 'job.finished':
      if (!belongs(ev.job?.id)) return state;
      return { ...fromJob(state, ev.job), message: null };
    case 'job.progress': {
      if (!belongs(ev.job_id)) return state;
      if (state.status !== null && isFinished(state.status)) return state; // late event after the end
      return {
        ...state,
        status: 'running',
        // progress never goes backwards within a run
        progress: Math.max(state.progress, clamp01(ev.progress)),
        message: ev.message ?? state.message,
        job: state.job ? { ...state.job, status: 'running', progress: Math.max(state.progress, clamp01(ev.progress)) } : state.job,
      };
    }
    case 'job.partial': {
      if (!belongs(ev.job_id)) return state;
      // Partials without a seq (an older server, or no backlog) are applied as they come.
      const seq = typeof ev.seq === 'number' && Number.isFinite(ev.seq) ? ev.seq : null;
      if (seq !== null && seq <= state.lastSeq) return state; // replayed again after a reconnect
      return { ...state, partial: ev.partial, partials: [...state.partials, ev.partial], lastSeq: seq ?? state.lastSeq };
    }
    case 'job.failed':
      if (!belongs(ev.job_id)) return state;
      return {
        ...state,
        status: 'failed',
        error: ev.error || 'The job failed.',
        message: null,
        job: state.job ? { ...state.job, status: 'failed', error: ev.error } : state.job,
      };
    case 'job.cancelled':
      if (!belongs(ev.job_id)) return state;
      return {
        ...state,
        status: 'cancelled',
        message: null,
        job: state.job ? { ...state.job, status: 'cancelled' } : state.job,
      };
    case 'error':
      return { ...state, serverNotice: ev.message };
    case 'pong':
      return state;
    default:
      return state;
  }
}

/** Parses one websocket message; null for anything that is not a known event. */
export function parseJobEvent(data: unknown): JobEvent | null {
  if (typeof data !== 'string') return null;
  try {
    const obj = JSON.parse(data) as { type?: unknown };
    if (obj && typeof obj === 'object' && typeof obj.type === 'string') return obj as JobEvent;
  } catch {
    /* ignore malformed frames */
  }
  return null;
}

/** Reconnect delay: 0.5 s, 1 s, 2 s … capped at 15 s, with ±20% jitter. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(15000, 500 * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.8 + 0.4 * random()));
}

// The server's refusals (apps/accounts/websocket_auth.py): signed out, origin refused, no such job in your teams.
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_NOT_FOUND = 4404;

export function fatalCloseMessage(code: number): string | null {
  if (code === CLOSE_UNAUTHENTICATED) return 'You are signed out: sign in again to follow this job.';
  if (code === CLOSE_FORBIDDEN) return 'You do not have access to this job (you may need to sign in or switch team).';
  if (code === CLOSE_NOT_FOUND) return 'This job does not exist (it may have been deleted).';
  return null;
}
