// "Train a codebook" on the Media page: method, size and training data (the shipped samples or the team's earlier
// media uploads) -> a `media_codebook` job followed live -> the team's codebooks, which the tokenizer picker lists.
import { useEffect, useRef, useState } from 'react';
import { api, isAbortError } from '../../api/client';
import type { Job } from '../../api/types';
import { useApi } from '../../hooks/useApi';
import { formatBytes, formatDate } from '../../lib/format';
import type { MediaModality } from '../../lib/media';
import { mediaApi, type MediaTokenizerEntry } from '../../lib/mediaApi';
import {
  CODEBOOK_LIMITS,
  CODEBOOK_METHODS,
  CODEBOOK_SAMPLES,
  codebookRequest,
  defaultCodebookForm,
  earlierUploads,
  teamCodebook,
  withModality,
  type CodebookFormValue,
} from '../../lib/mediaCodebooks';
import { Link } from '../../router';
import { ErrorBanner, Notice, Spinner } from '../common';
import { JobProgress } from '../JobProgress';
import './codebooks.css';

/** The team's earlier uploads of this modality (from its media runs), as checkboxes. */
function UploadPicker({ modality, chosen, onChange }: { modality: MediaModality; chosen: string[]; onChange: (ids: string[]) => void }) {
  const jobs = useApi((signal) => api.jobs({ kind: 'media_tokenize' }, signal), []);
  if (jobs.error) return <ErrorBanner error={jobs.error} title="Could not load the team's media runs" onRetry={jobs.reload} />;
  if (!jobs.data) return <Spinner label="Loading the team's uploads…" />;
  const uploads = earlierUploads(jobs.data.results).filter((u) => u.modality === modality);
  if (!uploads.length)
    return (
      <p className="muted small" data-testid="codebook-no-uploads">
        No {modality} uploads in this team yet: tokenize a file above first, or train on the shipped samples.
      </p>
    );
  return (
    <div className="codebook-uploads" data-testid="codebook-uploads">
      {uploads.map((u) => (
        <label key={u.id} className="toggle" title={`sha256 ${u.sha256}`}>
          <input
            type="checkbox"
            value={u.id}
            checked={chosen.includes(u.id)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, u.id] : chosen.filter((id) => id !== u.id))}
            data-testid="codebook-upload"
          />
          {u.filename} <span className="muted small">{u.sizeBytes !== null ? formatBytes(u.sizeBytes) : ''}</span>
        </label>
      ))}
      <span className="field-hint">From this team's recent media runs; at most {CODEBOOK_LIMITS.maxUploads}.</span>
    </div>
  );
}

/** The team's codebooks with what each was trained on. */
function CodebookList({ entries }: { entries: MediaTokenizerEntry[] }) {
  if (!entries.length)
    return (
      <p className="muted small" data-testid="codebook-list-empty">
        No codebooks trained in this team yet.
      </p>
    );
  return (
    <div className="table-scroll">
      <table className="data-table compact" data-testid="codebook-list">
        <thead>
          <tr>
            <th>Codebook</th>
            <th>Method</th>
            <th>Size</th>
            <th>Trained on</th>
            <th>When</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => {
            const cb = teamCodebook(e.team_codebook);
            const items = cb?.training.items ?? [];
            return (
              <tr key={e.id} data-testid="codebook-row" data-tokenizer-id={e.id}>
                <td>
                  <strong>{e.label}</strong>
                  <div className="muted small">
                    <code>{e.id}</code>
                  </div>
                </td>
                <td>{cb?.method}</td>
                <td>{cb?.codebookSize ?? e.codebook_sizes.join(' × ')}</td>
                <td title={items.map((i) => `${i.name} ${i.sha256}`).join('\n')}>
                  {cb?.source === 'uploads' ? 'uploads' : 'shipped samples'}: {items.length} {cb?.training.unit ?? 'files'}
                  {cb?.training.samples && <span className="muted"> · {cb.training.samples}</span>}
                </td>
                <td>
                  {cb && (
                    <Link to={`/results/${encodeURIComponent(cb.jobId)}`} className="btn-link small">
                      {formatDate(cb.createdAt)}
                    </Link>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

interface Props {
  writable: boolean;
  /** A codebook finished training: its tokenizer id (the page reloads the tokenizer list and chooses it). */
  onTrained: (tokenizerId: string) => void;
}

export function CodebookTrainer({ writable, onTrained }: Props) {
  const codebooks = useApi((signal) => mediaApi.codebooks(signal), []);
  const [form, setForm] = useState<CodebookFormValue>(() => defaultCodebookForm());
  const [formError, setFormError] = useState<string | null>(null);
  const [serverError, setServerError] = useState<unknown>(null);
  const [submitting, setSubmitting] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  const [ended, setEnded] = useState<string | null>(null);
  const [trained, setTrained] = useState<Job | null>(null);
  const abortRef = useRef<AbortController | null>(null);
  useEffect(() => () => abortRef.current?.abort(), []);
  const running = job !== null && trained === null && ended === null;
  const busy = submitting || running;
  const set = (patch: Partial<CodebookFormValue>) => setForm((f) => ({ ...f, ...patch }));
  const method = CODEBOOK_METHODS[form.modality].find((m) => m.value === form.method);

  const submit = async () => {
    if (busy || !writable) return;
    setServerError(null);
    const checked = codebookRequest(form);
    if ('error' in checked) {
      setFormError(checked.error);
      return;
    }
    setFormError(null);
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setSubmitting(true);
    setJob(null);
    setEnded(null);
    setTrained(null);
    try {
      setJob(await mediaApi.trainCodebook(checked.request, ctrl.signal));
    } catch (e) {
      if (!isAbortError(e)) setServerError(e);
    } finally {
      setSubmitting(false);
    }
  };

  const succeeded = (done: Job) => {
    setTrained(done);
    codebooks.reload();
    const id = (done.result as { info?: { id?: unknown } } | null)?.info?.id;
    if (typeof id === 'string') onTrained(id);
  };
  const trainedId = (trained?.result as { info?: { id?: unknown } } | null)?.info?.id;

  return (
    <div className="card codebook-trainer" data-testid="codebook-trainer">
      <div className="card-head">
        <h2>Train a codebook</h2>
      </div>
      <p className="muted small">
        A k-means codebook trained for this team, as a job on a worker; once it finishes it is one of the tokenizers above (marked “your team's”).
      </p>
      <form
        className="codebook-form"
        data-testid="codebook-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="field-inline">
          Modality
          <div className="segmented" role="radiogroup" aria-label="Modality">
            {(['image', 'audio'] as const).map((m) => (
              <button
                key={m}
                type="button"
                role="radio"
                aria-checked={form.modality === m}
                className={form.modality === m ? 'is-on' : ''}
                onClick={() => setForm((f) => withModality(f, m))}
                data-testid={`codebook-modality-${m}`}
              >
                {m}
              </button>
            ))}
          </div>
        </div>
        <label className="field-inline">
          Method
          <select
            className="input"
            value={form.method}
            onChange={(e) => {
              const next = CODEBOOK_METHODS[form.modality].find((m) => m.value === e.target.value);
              if (next) set({ method: next.value });
            }}
            data-testid="codebook-method"
          >
            {CODEBOOK_METHODS[form.modality].map((m) => (
              <option key={m.value} value={m.value}>
                {m.label}
              </option>
            ))}
          </select>
          {method && <span className="field-hint">{method.hint}</span>}
        </label>
        <label className="field-inline">
          Codebook size k
          <input
            className="input"
            type="number"
            min={CODEBOOK_LIMITS.minSize}
            max={CODEBOOK_LIMITS.maxSize}
            value={form.size}
            onChange={(e) => set({ size: e.target.value })}
            data-testid="codebook-size"
          />
          <span className="field-hint">
            {CODEBOOK_LIMITS.minSize}–{CODEBOOK_LIMITS.maxSize} entries; {form.size && Number(form.size) >= 2 ? `${Math.log2(Number(form.size)).toFixed(1)} bits per token` : ''}
          </span>
        </label>
        <label className="field-inline">
          Seed
          <input className="input" type="number" min={0} step={1} value={form.seed} onChange={(e) => set({ seed: e.target.value })} data-testid="codebook-seed" />
        </label>
        <label className="field-inline">
          Name
          <input
            className="input"
            value={form.name}
            maxLength={CODEBOOK_LIMITS.nameChars}
            onChange={(e) => set({ name: e.target.value })}
            placeholder={`e.g. my ${form.modality} words`}
            data-testid="codebook-name"
          />
        </label>
        <fieldset className="det-fieldset codebook-source">
          <legend className="field-label">Training data</legend>
          <label className="toggle">
            <input type="radio" name="codebook-source" checked={form.source === 'samples'} onChange={() => set({ source: 'samples' })} data-testid="codebook-source-samples" />
            Shipped samples: {CODEBOOK_SAMPLES[form.modality]}
          </label>
          <label className="toggle">
            <input type="radio" name="codebook-source" checked={form.source === 'uploads'} onChange={() => set({ source: 'uploads' })} data-testid="codebook-source-uploads" />
            This team's earlier {form.modality} uploads
          </label>
          {form.source === 'uploads' && <UploadPicker modality={form.modality} chosen={form.uploads} onChange={(uploads) => set({ uploads })} />}
        </fieldset>
        <div className="codebook-actions">
          <button type="submit" className="btn btn-primary" disabled={busy || !writable} data-testid="codebook-train">
            {busy ? 'Training…' : 'Train'}
          </button>
          {formError && (
            <p className="field-error" role="alert" data-testid="codebook-form-error">
              {formError}
            </p>
          )}
          {!writable && <p className="field-hint">You are a viewer in this team: you can see its codebooks but not train new ones.</p>}
        </div>
      </form>
      {serverError ? <ErrorBanner error={serverError} title="The server refused this codebook" onDismiss={() => setServerError(null)} /> : null}
      {submitting && <Spinner label="Queueing…" />}
      {job && running && (
        <JobProgress
          key={job.id}
          job={job}
          description="Training on a worker: the training data is read, then k-means runs; seconds for small codebooks."
          runningLabel="Training…"
          onSucceeded={succeeded}
          onEnded={(status, error) => setEnded(status === 'failed' ? error || 'The job failed.' : 'The job was cancelled.')}
        />
      )}
      {ended && <ErrorBanner error={new Error(ended)} title="The codebook was not trained" onDismiss={() => setEnded(null)} />}
      {trained && typeof trainedId === 'string' && (
        <Notice kind="success" testId="codebook-trained">
          Trained <code>{trainedId}</code>; it is chosen in the tokenizer list above.{' '}
          <Link to={`/results/${encodeURIComponent(trained.id)}`} className="btn-link" data-testid="codebook-trained-open">
            What was trained →
          </Link>
        </Notice>
      )}
      <h3 className="codebook-list-title">This team's codebooks</h3>
      {codebooks.error && <ErrorBanner error={codebooks.error} title="Could not load the team's codebooks" onRetry={codebooks.reload} />}
      {codebooks.data ? <CodebookList entries={codebooks.data} /> : !codebooks.error && <Spinner label="Loading the team's codebooks…" />}
    </div>
  );
}
