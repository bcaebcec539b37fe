import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, api } from '../api/client';
import { isFinished, type Job } from '../api/types';
import type { JobStreamState } from '../hooks/jobStream';
import { useJobStream } from '../hooks/useJobStream';
import { ErrorBanner, Notice, ProgressBar } from './common';

interface Props {
  job: Job;
  /** Called once with the finished job (with its result) when it succeeds. */
  onSucceeded: (job: Job) => void;
  /** Called when the job ends without a result (failed or cancelled). */
  onEnded?: (status: 'failed' | 'cancelled', error: string | null) => void;
  /** Text under the title while the job runs (default: the tokenize job's "large input" note). */
  description?: ReactNode;
  /** Progress text while running when the server sent no message (default "Tokenizing…"). */
  runningLabel?: string;
  /** Live content fed by the same websocket (e.g. streamed partial results), shown under the progress bar. */
  children?: (stream: JobStreamState) => ReactNode;
}

/** Live progress of a queued job, fed by the websocket, with a Cancel button. */
export function JobProgress({ job, onSucceeded, onEnded, description, runningLabel = 'Tokenizing…', children }: Props) {
  const stream = useJobStream(job.id, { initialJob: job });
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<unknown>(null);
  const [fetchError, setFetchError] = useState<unknown>(null);
  // Fallback when the websocket cannot connect (e.g. a proxy without upgrade support): poll the job.
  const [polled, setPolled] = useState<Job | null>(null);
  const reported = useRef(false);
  const cbs = useRef({ onSucceeded, onEnded });
  cbs.current = { onSucceeded, onEnded };

  const streamDone = stream.status !== null && isFinished(stream.status);
  const usePolled = !streamDone && polled !== null && isFinished(polled.status);
  const status = usePolled ? polled.status : stream.status;
  const finalJob = usePolled ? polled : stream.job;
  const finalError = usePolled ? polled.error : stream.error;

  // Poll while the socket is not open, or has been silent for a while. A ref keeps the interval alive across
  // quick connect/close flickers (a socket that opens and then fails would otherwise reset the timer forever).
  const live = useRef({ connection: stream.connection, lastChange: Date.now() });
  useEffect(() => {
    live.current = { connection: stream.connection, lastChange: Date.now() };
  }, [stream.connection, stream.progress, stream.message]);
  useEffect(() => {
    if (streamDone || stream.fatal) return;
    const timer = setInterval(() => {
      const { connection, lastChange } = live.current;
      if (connection === 'open' && Date.now() - lastChange < 15000) return;
      api
        .job(job.id)
        .then(setPolled)
        .catch(() => {
          /* keep trying; the websocket may come back */
        });
    }, 4000);
    return () => clearInterval(timer);
  }, [streamDone, stream.fatal, job.id]);

  useEffect(() => {
    if (reported.current || !status) return;
    if (status === 'succeeded') {
      reported.current = true;
      if (finalJob && finalJob.result) cbs.current.onSucceeded(finalJob);
      else
        api
          .job(job.id)
          .then((j) => cbs.current.onSucceeded(j))
          .catch((e: unknown) => {
            reported.current = false;
            setFetchError(e);
          });
    } else if (status === 'failed' || status === 'cancelled') {
      reported.current = true;
      cbs.current.onEnded?.(status, finalError);
    }
  }, [status, finalJob, finalError, job.id]);

  const cancel = async () => {
    setCancelling(true);
    setCancelError(null);
    try {
      const j = await api.cancelJob(job.id);
      if (j && j.status === 'cancelled') setPolled(j);
    } catch (e) {
      // 409: it finished meanwhile; the stream will tell us how.
      if (!(e instanceof ApiError && e.status === 409)) setCancelError(e);
    } finally {
      setCancelling(false);
    }
  };

  const running = status === 'queued' || status === 'running' || status === null;
  const label =
    status === 'queued'
      ? 'Queued — waiting for a worker…'
      : stream.message || (status === 'running' ? runningLabel : status === 'succeeded' ? 'Loading the result…' : 'Starting…');

  return (
    <div className="card job-progress" data-testid="job-progress" data-status={status ?? 'unknown'}>
      <div className="card-head">
        <h2>{job.title || 'Background job'}</h2>
        <span className={`badge status-${status ?? 'queued'}`}>{status ?? 'queued'}</span>
      </div>
      {running && (
        <>
          <p className="muted">
            {description ?? 'This input is large, so it runs as a background job. You can leave this page: the result will be in History.'}
          </p>
          <ProgressBar value={Math.max(stream.progress, polled?.progress ?? 0)} label="Job progress" indeterminate={status === 'queued' && stream.progress === 0 && !polled?.progress} />
          <div className="job-progress-foot">
            <span className="progress-message" aria-live="polite">
              {label}
            </span>
            {stream.connection === 'reconnecting' && <span className="muted"> · connection lost, reconnecting…</span>}
            <button type="button" className="btn btn-danger-soft btn-small" onClick={cancel} disabled={cancelling} data-testid="cancel-button">
              {cancelling ? 'Cancelling…' : 'Cancel'}
            </button>
          </div>
        </>
      )}
      {status === 'succeeded' && !fetchError && <ProgressBar value={1} label="Job progress" />}
      {children?.(stream)}
      {status === 'failed' && <ErrorBanner error={new Error(finalError || 'The job failed.')} title="The job failed" />}
      {status === 'cancelled' && <Notice kind="warn">The job was cancelled.</Notice>}
      {stream.fatal && <ErrorBanner error={new Error(stream.fatal)} />}
      {stream.serverNotice && <p className="muted small">Server: {stream.serverNotice}</p>}
      <ErrorBanner error={cancelError} title="Could not cancel" onDismiss={() => setCancelError(null)} />
      <ErrorBanner error={fetchError} title="Could not load the result" />
    </div>
  );
}
