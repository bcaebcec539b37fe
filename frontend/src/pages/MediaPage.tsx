// Image and audio tokenizers (issue 11): upload, pick tokenizers, follow the job, see tokens, reconstructions and
// numbers; `/media/jobs/<id>` is the permalink of one result.
import { useEffect, useRef, useState } from 'react';
import { ApiError, api, isAbortError } from '../api/client';
import { isFinished, type Job } from '../api/types';
import { EmptyState, ErrorBanner, Notice, PageHeader, Spinner, StatusBadge } from '../components/common';
import { JobProgress } from '../components/JobProgress';
import { BudgetChart } from '../components/media/BudgetChart';
import { CodebookTrainer } from '../components/media/CodebookTrainer';
import { MediaForm, defaultMediaForm, mediaFormOptions, type MediaFormValue } from '../components/media/MediaForm';
import { MediaResultView } from '../components/media/MediaResultView';
import '../components/media/media.css';
import { useApi } from '../hooks/useApi';
import { formatDate } from '../lib/format';
import { isMediaResult } from '../lib/media';
import { mediaApi } from '../lib/mediaApi';
import { Link, useLocation } from '../router';
import { canWrite, useSession } from '../session';

const JOB_NOTE = 'Runs on a worker: each tokenizer encodes the input, decodes it where it can, and is measured against it.';

/** A media job: live while it runs, then its result. */
function MediaJobView({ job, onJob }: { job: Job; onJob: (j: Job) => void }) {
  const [ended, setEnded] = useState<{ status: 'failed' | 'cancelled'; error: string | null } | null>(null);
  if (job.status === 'queued' || job.status === 'running')
    return ended ? (
      ended.status === 'failed' ? (
        <ErrorBanner error={new Error(ended.error || 'The job failed.')} title="The job failed" />
      ) : (
        <Notice kind="warn">The job was cancelled.</Notice>
      )
    ) : (
      <JobProgress key={job.id} job={job} description={JOB_NOTE} runningLabel="Tokenizing…" onSucceeded={onJob} onEnded={(status, error) => setEnded({ status, error })} />
    );
  if (job.status === 'failed') return <ErrorBanner error={new Error(job.error || 'The job failed.')} title="This job failed" />;
  if (job.status === 'cancelled') return <Notice kind="warn">This job was cancelled before it finished.</Notice>;
  if (!isMediaResult(job.result)) return <Notice>This job has no media result to show. Use the JSON export.</Notice>;
  return <MediaResultView job={job} result={job.result} />;
}

/** `/media/jobs/<id>`. */
export function MediaJobPage({ id }: { id: string }) {
  const { team } = useSession();
  const loaded = useApi((signal) => api.job(id, signal), [id, team?.slug]);
  const [job, setJob] = useState<Job | null>(null);
  useEffect(() => setJob(loaded.data ?? null), [loaded.data]);
  if (loaded.error) {
    if (loaded.error instanceof ApiError && loaded.error.status === 404)
      return (
        <EmptyState title="Result not found" icon="?">
          <p>
            There is no media result with id <code>{id}</code> in {team ? <strong>{team.name}</strong> : 'this team'}.
          </p>
        </EmptyState>
      );
    return <ErrorBanner error={loaded.error} title="Could not load the result" onRetry={loaded.reload} />;
  }
  if (!job) return <Spinner label="Loading the result…" />;
  return (
    <div className="media-page">
      <PageHeader
        title={job.title || 'Media tokenization'}
        subtitle={
          <>
            <StatusBadge status={job.status} /> <span className="muted">{formatDate(job.created_at)}</span>
          </>
        }
        actions={
          <Link to="/media" className="btn">
            New media run
          </Link>
        }
      />
      <MediaJobView job={job} onJob={setJob} />
    </div>
  );
}

/** `/media`: the form, the run, its result, and the cross-modal budget. */
export function MediaPage() {
  const { team } = useSession();
  const writable = canWrite(team);
  const entries = useApi((signal) => mediaApi.tokenizers(signal), [team?.slug]);
  const use = useLocation().search.get('use'); // `/media?use=<tokenizer id>`: a codebook's "use it" link
  const [form, setForm] = useState<MediaFormValue>(() => (use ? { ...defaultMediaForm(), chosen: { [use]: { ref: '' } } } : defaultMediaForm()));
  const [formError, setFormError] = useState<string | null>(null);
  const [serverError, setServerError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  const abortRef = useRef<AbortController | null>(null);
  useEffect(() => () => abortRef.current?.abort(), []);
  const busy = submitting || (job !== null && !isFinished(job.status));

  const submit = async () => {
    if (busy || !writable) return;
    setServerError(null);
    const checked = mediaFormOptions(form, entries.data ?? []);
    if ('error' in checked) {
      setFormError(checked.error);
      return;
    }
    setFormError(null);
    abortRef.current?.abort();
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setSubmitting(true);
    setJob(null);
    try {
      const { data } = await mediaApi.tokenize(form.file as File, checked.options, ctrl.signal);
      setJob(data.job);
    } catch (e) {
      if (!isAbortError(e)) setServerError(e);
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <div className="media-page">
      <PageHeader
        title="Images and audio"
        subtitle="Tokenize an image or a clip with several tokenizers: the tokens, what they reconstruct, and what they cost."
        actions={
          <Link to="/history?kind=media_tokenize" className="btn">
            Saved runs
          </Link>
        }
      />
      {entries.error && <ErrorBanner error={entries.error} title="Could not load the media tokenizers" onRetry={entries.reload} />}
      {entries.data ? (
        <MediaForm form={form} onChange={setForm} entries={entries.data} busy={busy} writable={writable} error={formError} onSubmit={() => void submit()} />
      ) : (
        !entries.error && <Spinner label="Loading the media tokenizers…" />
      )}
      {serverError ? <ErrorBanner error={serverError} title="The server refused this upload" onDismiss={() => setServerError(null)} /> : null}
      <div className="lab-results">
        {submitting && <Spinner label="Uploading…" />}
        {job && (
          <>
            {job.status === 'succeeded' && (
              <div className="result-head">
                <h2>Result</h2>
                <Link to={`/media/jobs/${encodeURIComponent(job.id)}`} className="btn-link small" data-testid="media-open-page">
                  Open as a page →
                </Link>
              </div>
            )}
            <MediaJobView key={job.id} job={job} onJob={setJob} />
          </>
        )}
      </div>
      <CodebookTrainer
        key={team?.slug}
        writable={writable}
        onTrained={(id) => {
          entries.reload();
          setForm((f) => ({ ...f, chosen: { ...f.chosen, [id]: { ref: '' } } }));
        }}
      />
      <div className="card">
        <div className="card-head">
          <h2>Token budget across modalities</h2>
        </div>
        <BudgetChart />
      </div>
    </div>
  );
}
