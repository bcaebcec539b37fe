import { useEffect, useReducer, useRef } from 'react';
import { jobSocketUrl } from '../api/client';
import type { Job } from '../api/types';
import {
  backoffDelay,
  fatalCloseMessage,
  initialJobStreamState,
  isStreamFinished,
  jobStreamReducer,
  parseJobEvent,
  type JobStreamState,
} from './jobStream';

export interface UseJobStreamOptions {
  /** A job already known (e.g. the 202 response), shown until the snapshot arrives. */
  initialJob?: Job | null;
  /** For tests: the WebSocket constructor. */
  WebSocketImpl?: typeof WebSocket;
  /** For tests: the URL builder. */
  url?: (jobId: string) => string;
}

const PING_INTERVAL_MS = 25000;

/**
 * Follows `/ws/jobs/<id>/`: applies the snapshot, the replay of the partials streamed so far, then events; reconnects
 * with backoff (each reconnect gets a fresh snapshot and replay; partials already applied are dropped by `seq`); stops
 * once the job is finished or the server refuses the connection (4401/4403/4404).
 * Pass `null` to stay idle.
 */
export function useJobStream(jobId: string | null, options: UseJobStreamOptions = {}): JobStreamState {
  const [state, dispatch] = useReducer(jobStreamReducer, undefined, () =>
    initialJobStreamState(jobId, options.initialJob ?? null),
  );
  const optsRef = useRef(options);
  optsRef.current = options;

  const stateRef = useRef(state);
  stateRef.current = state;

  useEffect(() => {
    dispatch({ type: 'reset', jobId, job: optsRef.current.initialJob ?? null });
    if (!jobId) return;
    const initial = optsRef.current.initialJob;
    if (initial && initial.id === jobId && ['succeeded', 'failed', 'cancelled'].includes(initial.status)) return;

    const WS = optsRef.current.WebSocketImpl ?? window.WebSocket;
    const urlFor = optsRef.current.url ?? jobSocketUrl;
    let socket: WebSocket | null = null;
    let attempt = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let pingTimer: ReturnType<typeof setInterval> | undefined;
    let finished = false;
    let disposed = false;

    const stopPing = () => {
      if (pingTimer !== undefined) clearInterval(pingTimer);
      pingTimer = undefined;
    };

    const connect = () => {
      if (disposed) return;
      dispatch({ type: 'connection', connection: attempt === 0 ? 'connecting' : 'reconnecting' });
      let ws: WebSocket;
      try {
        ws = new WS(urlFor(jobId));
      } catch {
        scheduleRetry();
        return;
      }
      socket = ws;
      ws.onopen = () => {
        attempt = 0;
        dispatch({ type: 'connection', connection: 'open' });
        stopPing();
        pingTimer = setInterval(() => {
          if (ws.readyState === 1) ws.send(JSON.stringify({ type: 'ping' }));
        }, PING_INTERVAL_MS);
      };
      ws.onmessage = (msg: MessageEvent) => {
        const ev = parseJobEvent(msg.data);
        if (!ev) return;
        dispatch({ type: 'event', event: ev });
        if (
          ev.type === 'job.finished' ||
          ev.type === 'job.failed' ||
          ev.type === 'job.cancelled' ||
          (ev.type === 'job.snapshot' && ['succeeded', 'failed', 'cancelled'].includes(ev.job.status))
        ) {
          // job.failed / job.cancelled carry no job: the snapshot path below keeps the last known one.
          finished = true;
          stopPing();
          ws.close(1000, 'job finished');
        }
      };
      ws.onclose = (ev: CloseEvent) => {
        stopPing();
        if (socket === ws) socket = null;
        if (disposed) return;
        const fatal = fatalCloseMessage(ev.code);
        if (fatal) {
          dispatch({ type: 'fatal', message: fatal });
          return;
        }
        if (finished || isStreamFinished(stateRef.current)) {
          dispatch({ type: 'connection', connection: 'closed' });
          return;
        }
        scheduleRetry();
      };
      ws.onerror = () => {
        // onclose follows and handles the retry
      };
    };

    const scheduleRetry = () => {
      if (disposed) return;
      dispatch({ type: 'connection', connection: 'reconnecting' });
      const delay = backoffDelay(attempt);
      attempt += 1;
      retryTimer = setTimeout(connect, delay);
    };

    connect();

    return () => {
      disposed = true;
      stopPing();
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      if (socket) {
        socket.onclose = null;
        socket.onmessage = null;
        socket.close(1000, 'unmounted');
      }
    };
  }, [jobId]);

  return state;
}
