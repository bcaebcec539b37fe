// Builds a DC-PDD frequency table as a job, from the page where it is needed: the tokenizer of a chosen model, counted
// over a shipped corpus or an uploaded text file. On success the parent refreshes its list and selects the new table.
import { useEffect, useRef, useState } from 'react';
import { ApiError, isAbortError } from '../../api/client';
import type { Job, LanguageModel } from '../../api/types';
import { useApi } from '../../hooks/useApi';
import { detectionApi, type CorpusSource } from '../../lib/detectionApi';
import { ErrorBanner, Notice, Spinner } from '../common';
import { JobProgress } from '../JobProgress';

type Phase = { kind: 'idle' } | { kind: 'submitting' } | { kind: 'running'; job: Job } | { kind: 'failed'; error: unknown };

interface Props {
  models: LanguageModel[];
  defaultModel: string;
  onBuilt: (tableId: string) => void;
}

export function FrequencyTableBuilder({ models, defaultModel, onBuilt }: Props) {
  const corpora = useApi((signal) => detectionApi.corpora(signal), []);
  const [model, setModel] = useState(defaultModel);
  const [source, setSource] = useState<'corpus' | 'file'>('corpus');
  const [corpus, setCorpus] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [problem, setProblem] = useState<string | null>(null);
  const abortRef = useRef<AbortController | null>(null);

  useEffect(() => setModel((current) => current || defaultModel), [defaultModel]);
  useEffect(() => {
    const first = corpora.data?.find((c) => c.installed);
    if (first && !corpus) setCorpus(first.id);
  }, [corpora.data, corpus]);
  useEffect(() => () => abortRef.current?.abort(), []);

  const build = async () => {
    const chosen: CorpusSource | null = source === 'corpus' ? (corpus ? { corpus } : null) : file ? { file } : null;
    const missing = !model ? 'Choose the model whose tokenizer the table counts.' : !chosen ? (source === 'corpus' ? 'Choose a corpus.' : 'Choose a text file.') : null;
    setProblem(missing);
    if (missing || !chosen) return;
    abortRef.current?.abort();
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setPhase({ kind: 'submitting' });
    try {
      const { data } = await detectionApi.buildFrequencyTable(model, chosen, ctrl.signal);
      setPhase({ kind: 'running', job: data });
    } catch (e) {
      if (isAbortError(e)) return;
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) setProblem(e.message);
      setPhase(e instanceof ApiError && e.status < 500 ? { kind: 'idle' } : { kind: 'failed', error: e });
    }
  };

  const busy = phase.kind === 'submitting' || phase.kind === 'running';
  const chosenCorpus = corpora.data?.find((c) => c.id === corpus);
  return (
    <details className="det-builder" data-testid="det-freq-builder">
      <summary>Build a frequency table…</summary>
      <p className="muted small">
        DC-PDD compares each token&apos;s probability with its frequency in a reference corpus, counted with the scored model&apos;s tokenizer.
      </p>
      <label className="field-inline">
        Tokenizer of{' '}
        <select className="input" value={model} onChange={(e) => setModel(e.target.value)} data-testid="det-freq-model">
          {models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name}
            </option>
          ))}
        </select>
      </label>
      <div className="det-checks" role="radiogroup" aria-label="Corpus source">
        <label className="toggle">
          <input type="radio" checked={source === 'corpus'} onChange={() => setSource('corpus')} /> a shipped corpus
        </label>
        <label className="toggle">
          <input type="radio" checked={source === 'file'} onChange={() => setSource('file')} data-testid="det-freq-source-file" /> my text file (one text per line)
        </label>
      </div>
      {source === 'corpus' ? (
        corpora.data ? (
          <label className="field-inline">
            Corpus{' '}
            <select className="input" value={corpus} onChange={(e) => setCorpus(e.target.value)} data-testid="det-freq-corpus">
              {corpora.data.map((c) => (
                <option key={c.id} value={c.id} disabled={!c.installed}>
                  {c.name}
                  {c.installed ? '' : ' (not installed)'}
                </option>
              ))}
            </select>
            {chosenCorpus && (
              <span className="field-hint">
                {chosenCorpus.description} Licence: {chosenCorpus.licence}.
              </span>
            )}
          </label>
        ) : corpora.error ? (
          <ErrorBanner error={corpora.error} title="Could not load the corpora" onRetry={corpora.reload} />
        ) : (
          <Spinner label="Loading the corpora…" />
        )
      ) : (
        <input type="file" accept=".txt,text/plain" onChange={(e) => setFile(e.target.files?.[0] ?? null)} data-testid="det-freq-file" />
      )}
      <button type="button" className="btn" disabled={busy} onClick={() => void build()} data-testid="det-freq-build">
        {busy ? 'Building…' : 'Build the table'}
      </button>
      {problem && (
        <p className="field-error" role="alert">
          {problem}
        </p>
      )}
      {phase.kind === 'running' && (
        <JobProgress
          key={phase.job.id}
          job={phase.job}
          description="Counts every token of the corpus with the model's tokenizer (a shipped corpus takes about a minute)."
          runningLabel="Counting…"
          onSucceeded={(job) => {
            setPhase({ kind: 'idle' });
            onBuilt(job.id);
          }}
          onEnded={(status, error) => setPhase(status === 'failed' ? { kind: 'failed', error: new Error(error || 'The job failed.') } : { kind: 'idle' })}
        />
      )}
      {phase.kind === 'failed' && <Notice kind="warn">The table could not be built: {phase.error instanceof Error ? phase.error.message : String(phase.error)}</Notice>}
    </details>
  );
}
