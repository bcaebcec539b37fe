import { useEffect, useRef, useState } from 'react';
import { ApiError, api, isAbortError } from '../api/client';
import { isFinished, type Job, type LanguageModel, type SpeculativeResult, type TokenizeResultPayload } from '../api/types';
import { ErrorBanner, Notice, PageHeader, Spinner } from '../components/common';
import { DatasetResultView } from '../components/detection/DatasetResultView';
import { DetectTextResultView } from '../components/detection/DetectTextResultView';
import { FrequencyTableBuilder } from '../components/detection/FrequencyTableBuilder';
import '../components/detection/detection.css';
import { JobProgress } from '../components/JobProgress';
import { useApi } from '../hooks/useApi';
import { isDetectDatasetResult, isDetectTextResult, signLabel, type ScoreConvention } from '../lib/detection';
import { detectionApi, sniffColumns, type DetectCommon } from '../lib/detectionApi';
import { Link, useLocation } from '../router';
import { canWrite, useSession } from '../session';

const MAX_MODELS = 4;
const DEFAULT_SCORES = ['loss', 'zlib', 'min_k', 'min_k_plus_plus', 'log_rank', 'gltr', 'fast_detectgpt'];
const NEED_LABELS: Record<string, string> = {
  reference_model: 'a reference model',
  second_model: 'a second model',
  frequency_table: 'a frequency table',
  lowercase_text: 'a second forward pass on the lowercased text',
};

type Mode = 'text' | 'dataset';
type Phase = { kind: 'idle' } | { kind: 'submitting' } | { kind: 'queued'; job: Job } | { kind: 'done'; job: Job } | { kind: 'failed'; error: unknown } | { kind: 'cancelled' };

/** The text a job carries, for "Score this text" links: a lab input, or a speculative run's prompt and output. */
export function textOfJob(job: Job): string | null {
  if (job.kind === 'tokenize') return (job.result as TokenizeResultPayload | null)?.text ?? null;
  if (job.kind === 'speculative') {
    const r = job.result as SpeculativeResult | null;
    return r ? r.prompt_text + r.output_text : null;
  }
  return null;
}

function ModelPicker({ models, chosen, onChange }: { models: LanguageModel[]; chosen: string[]; onChange: (ids: string[]) => void }) {
  return (
    <fieldset className="det-fieldset" data-testid="det-models">
      <legend className="field-label">Models (up to {MAX_MODELS}, side by side)</legend>
      <div className="det-checks">
        {models
          .map((m) => (
            <label key={m.id} className={m.available ? 'toggle' : 'toggle muted'} title={m.available ? m.source : m.status}>
              <input
                type="checkbox"
                checked={chosen.includes(m.id)}
                disabled={!m.available || (!chosen.includes(m.id) && chosen.length >= MAX_MODELS)}
                onChange={(e) => onChange(e.target.checked ? [...chosen, m.id] : chosen.filter((id) => id !== m.id))}
                data-testid="det-model"
                value={m.id}
              />
              {m.name}
              {!m.available && <span className="small"> ({m.status})</span>}
            </label>
          ))}
      </div>
    </fieldset>
  );
}

function ScorePicker({ scores, chosen, onChange }: { scores: ScoreConvention[]; chosen: string[]; onChange: (names: string[]) => void }) {
  return (
    <fieldset className="det-fieldset" data-testid="det-scores">
      <legend className="field-label">Scores</legend>
      <div className="det-score-list">
        {scores.map((c) => (
          <label key={c.name} className="det-score-option" title={`${c.description} (${c.source})`}>
            <input
              type="checkbox"
              checked={chosen.includes(c.name)}
              onChange={(e) => onChange(e.target.checked ? [...chosen, c.name] : chosen.filter((n) => n !== c.name))}
              data-testid="det-score"
              value={c.name}
            />
            <span>
              <strong>{c.label}</strong> <span className={`det-sign det-sign-${c.higher_means}`}>{signLabel(c)}</span>
              <span className="muted small det-score-desc">
                {c.description}
                {c.needs.length > 0 && <> Needs {c.needs.map((n) => NEED_LABELS[n] ?? n).join(', ')}.</>}
              </span>
            </span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

function ColumnSelect({ label, value, onChange, columns, testId }: { label: string; value: string; onChange: (v: string) => void; columns: string[]; testId: string }) {
  return (
    <label className="field-inline">
      {label}{' '}
      <select className="input" value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        {columns.map((c) => (
          <option key={c}>{c}</option>
        ))}
      </select>
    </label>
  );
}

export function DetectionPage() {
  const { team } = useSession();
  const { search } = useLocation();
  const fromId = search.get('from');
  const writable = canWrite(team);
  const models = useApi((signal) => api.models(signal), [team?.slug]);
  const scores = useApi((signal) => detectionApi.scores(signal), [team?.slug]);
  const tables = useApi((signal) => detectionApi.frequencyTables(signal), [team?.slug]);
  const [mode, setMode] = useState<Mode>(search.get('mode') === 'dataset' ? 'dataset' : 'text');
  const [text, setText] = useState('');
  const [fromNote, setFromNote] = useState<string | null>(null);
  const [chosenModels, setChosenModels] = useState<string[]>([]);
  const [chosenScores, setChosenScores] = useState<string[]>(DEFAULT_SCORES);
  const [k, setK] = useState('0.2');
  const [referenceModel, setReferenceModel] = useState('');
  const [secondModel, setSecondModel] = useState('');
  const [frequencyTable, setFrequencyTable] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [columns, setColumns] = useState<string[]>([]);
  const [textColumn, setTextColumn] = useState('');
  const [labelColumn, setLabelColumn] = useState('');
  const [layout, setLayout] = useState<'labelled' | 'pairs'>('labelled');
  const [humanColumn, setHumanColumn] = useState('');
  const [machineColumn, setMachineColumn] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const [serverError, setServerError] = useState<unknown>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const abortRef = useRef<AbortController | null>(null);
  const busy = phase.kind === 'submitting' || phase.kind === 'queued';

  useEffect(() => {
    const list = models.data;
    if (list && !chosenModels.length) {
      const first = list.find((m) => m.available && m.kind === 'bundled') ?? list.find((m) => m.available);
      if (first) setChosenModels([first.id]);
    }
  }, [models.data, chosenModels.length]);

  // "Score this text" from a lab result or a speculative trace.
  useEffect(() => {
    if (!fromId) return;
    const ctrl = new AbortController();
    api
      .job(fromId, ctrl.signal)
      .then((job) => {
        const found = textOfJob(job);
        if (found) {
          setText(found);
          setMode('text');
          setFromNote(`Text from “${job.title || job.id}”${job.kind === 'speculative' ? ' (prompt and output)' : ''}.`);
        }
      })
      .catch(() => setFromNote('The linked result could not be loaded; paste a text instead.'));
    return () => ctrl.abort();
  }, [fromId]);

  useEffect(() => () => abortRef.current?.abort(), []);

  const chooseFile = async (f: File | null) => {
    setFile(f);
    setColumns([]);
    if (!f) return;
    const head = await (f.size <= 5_000_000 ? f.text() : f.slice(0, 65_536).text());
    const found = sniffColumns(head, f.name);
    setColumns(found);
    setTextColumn(found.includes('text') ? 'text' : found.includes('input') ? 'input' : (found[0] ?? ''));
    setLabelColumn(found.includes('label') ? 'label' : (found.find((c) => c !== found[0]) ?? ''));
    setHumanColumn(found.includes('human') ? 'human' : found.includes('original') ? 'original' : (found[0] ?? ''));
    setMachineColumn(found.includes('machine') ? 'machine' : found.includes('sampled') ? 'sampled' : (found[1] ?? ''));
    if (!found.includes('label') && (found.includes('human') || found.includes('original'))) setLayout('pairs');
  };

  const needs = new Set((scores.data ?? []).filter((c) => chosenScores.includes(c.name)).flatMap((c) => c.needs));

  const submit = async () => {
    if (busy || !writable) return;
    setServerError(null);
    const kValue = Number(k);
    const problem = !chosenModels.length
      ? 'Choose at least one model.'
      : !chosenScores.length
        ? 'Choose at least one score.'
        : !(kValue > 0 && kValue <= 1)
          ? 'k must be a fraction in (0, 1].'
          : mode === 'text' && !text.trim()
            ? 'Paste a text to score.'
            : mode === 'dataset' && !file
              ? 'Choose a JSONL or CSV file.'
              : null;
    setFormError(problem);
    if (problem) return;
    const common: DetectCommon = {
      models: chosenModels,
      scores: chosenScores,
      params: { k: kValue },
      reference_model: needs.has('reference_model') ? referenceModel || null : null,
      second_model: secondModel || null,
      frequency_table: needs.has('frequency_table') ? frequencyTable || null : null,
    };
    abortRef.current?.abort();
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setPhase({ kind: 'submitting' });
    try {
      const { data } =
        mode === 'text'
          ? await detectionApi.text({ ...common, texts: [text] }, ctrl.signal)
          : await detectionApi.dataset(
              file as File,
              common,
              layout === 'labelled'
                ? { layout, text_column: textColumn || undefined, label_column: labelColumn || undefined }
                : { layout, human_column: humanColumn || undefined, machine_column: machineColumn || undefined },
              ctrl.signal,
            );
      if (!isFinished(data.status) || !data.result) setPhase({ kind: 'queued', job: data });
      else setPhase({ kind: 'done', job: data });
    } catch (e) {
      if (isAbortError(e)) return;
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
        setServerError(e);
        setPhase({ kind: 'idle' });
      } else setPhase({ kind: 'failed', error: e });
    }
  };

  const available = (models.data ?? []).filter((m) => m.available);
  const result = phase.kind === 'done' ? phase.job.result : null;

  return (
    <div className="det-page">
      <PageHeader
        title="Detection"
        subtitle="Membership-inference and machine-text scores per token and per text, and how well they separate a labelled dataset."
        actions={
          <Link to={`/history?kind=${mode === 'text' ? 'detect_text' : 'detect_dataset'}`} className="btn">
            Saved runs
          </Link>
        }
      />
      {(models.error || scores.error) && <ErrorBanner error={models.error ?? scores.error} title="Could not load the models or scores" onRetry={() => (models.reload(), scores.reload())} />}
      <form
        className="card det-form"
        data-testid="det-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="det-tabs" role="tablist">
          {(['text', 'dataset'] as const).map((m) => (
            <button key={m} type="button" role="tab" aria-selected={mode === m} className={`det-tab${mode === m ? ' is-active' : ''}`} onClick={() => setMode(m)} data-testid={`det-mode-${m}`}>
              {m === 'text' ? 'One text' : 'A labelled dataset'}
            </button>
          ))}
        </div>
        <div className="det-form-grid">
          <div className="det-form-main">
            {mode === 'text' ? (
              <>
                <label className="field-label" htmlFor="det-text">
                  Text
                </label>
                {fromNote && <p className="muted small" data-testid="det-from-note">{fromNote}</p>}
                <textarea id="det-text" className="text-input" rows={8} value={text} onChange={(e) => setText(e.target.value)} placeholder="Paste a text to score…" spellCheck={false} data-testid="det-text" />
              </>
            ) : (
              <>
                <label className="field-label" htmlFor="det-file">
                  Dataset file (JSON lines, JSON, CSV or TSV; at most 10,000 rows; label 1 = member / machine)
                </label>
                <input id="det-file" type="file" accept=".jsonl,.json,.csv,.tsv,.txt" onChange={(e) => void chooseFile(e.target.files?.[0] ?? null)} data-testid="det-file" />
                {file && (
                  <div className="det-columns">
                    <label className="field-inline" title="labelled: a text and a 0/1 label per row; pairs: a human and a machine text per row (WikiMIA / MIMIR use input + label)">
                      Layout{' '}
                      <select className="input" value={layout} onChange={(e) => setLayout(e.target.value as 'labelled' | 'pairs')} data-testid="det-layout">
                        <option value="labelled">text + label</option>
                        <option value="pairs">human / machine pairs</option>
                      </select>
                    </label>
                    {columns.length ? (
                      layout === 'labelled' ? (
                        <>
                          <ColumnSelect label="Text column" value={textColumn} onChange={setTextColumn} columns={columns} testId="det-text-column" />
                          <ColumnSelect label="Label column" value={labelColumn} onChange={setLabelColumn} columns={columns} testId="det-label-column" />
                        </>
                      ) : (
                        <>
                          <ColumnSelect label="Human column (label 0)" value={humanColumn} onChange={setHumanColumn} columns={columns} testId="det-human-column" />
                          <ColumnSelect label="Machine column (label 1)" value={machineColumn} onChange={setMachineColumn} columns={columns} testId="det-machine-column" />
                        </>
                      )
                    ) : (
                      <span className="muted small">Columns could not be read here; the server uses text / input and label.</span>
                    )}
                  </div>
                )}
              </>
            )}
            {scores.data ? <ScorePicker scores={scores.data} chosen={chosenScores} onChange={setChosenScores} /> : <Spinner label="Loading the scores…" />}
          </div>
          <div className="det-form-side">
            {models.data ? <ModelPicker models={models.data} chosen={chosenModels} onChange={setChosenModels} /> : <Spinner label="Loading models…" />}
            <label className="field-inline">
              k (Min-K%, Min-K%++){' '}
              <input className="input det-k" type="number" min={0.01} max={1} step={0.05} value={k} onChange={(e) => setK(e.target.value)} data-testid="det-k" />
            </label>
            {needs.has('reference_model') && (
              <label className="field-inline">
                Reference model{' '}
                <select className="input" value={referenceModel} onChange={(e) => setReferenceModel(e.target.value)} data-testid="det-reference">
                  <option value="">— choose —</option>
                  {available.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.name}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {(chosenScores.includes('binoculars') || chosenScores.includes('fast_detectgpt')) && (
              <label className="field-inline" title="Binoculars' performer (required) / Fast-DetectGPT's sampling model (optional); same tokenizer as each model">
                Second model{' '}
                <select className="input" value={secondModel} onChange={(e) => setSecondModel(e.target.value)} data-testid="det-second">
                  <option value="">{needs.has('second_model') ? '— choose —' : 'none'}</option>
                  {available.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.name}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {needs.has('frequency_table') && (
              <label className="field-inline">
                Frequency table{' '}
                <select className="input" value={frequencyTable} onChange={(e) => setFrequencyTable(e.target.value)} data-testid="det-frequency">
                  <option value="">— choose —</option>
                  {(tables.data ?? []).map((t) => (
                    <option key={t.id} value={t.id}>
                      {t.model} · {String(t.corpus.name ?? t.corpus.id ?? t.id)}
                    </option>
                  ))}
                </select>
                {tables.data && !tables.data.length && <span className="field-hint">No table yet: build one below.</span>}
              </label>
            )}
            {needs.has('frequency_table') && (
              <FrequencyTableBuilder
                models={available}
                defaultModel={chosenModels[0] ?? ''}
                onBuilt={(id) => {
                  tables.reload();
                  setFrequencyTable(id);
                }}
              />
            )}
            <button type="submit" className="btn btn-primary" disabled={busy || !writable} data-testid="det-run">
              {busy ? 'Running…' : mode === 'text' ? 'Score the text' : 'Score the dataset'}
            </button>
            {formError && <p className="field-error" role="alert">{formError}</p>}
            {!writable && team && <p className="field-hint">You are a viewer in {team.name}: you can browse runs but not start new ones.</p>}
          </div>
        </div>
        {serverError ? <ErrorBanner error={serverError} title="The server refused these settings" onDismiss={() => setServerError(null)} /> : null}
      </form>

      <div className="lab-results">
        {phase.kind === 'submitting' && <Spinner label="Queuing the job…" />}
        {phase.kind === 'failed' && <ErrorBanner error={phase.error} title="The run failed" onRetry={() => void submit()} />}
        {phase.kind === 'queued' && (
          <JobProgress
            key={phase.job.id}
            job={phase.job}
            description="Runs on a worker: the models load once, then every text is scored in batches."
            runningLabel="Scoring…"
            onSucceeded={(job) => setPhase({ kind: 'done', job })}
            onEnded={(status, error) => (status === 'failed' ? setPhase({ kind: 'failed', error: new Error(error || 'The job failed.') }) : setPhase({ kind: 'cancelled' }))}
          />
        )}
        {phase.kind === 'cancelled' && <Notice kind="warn">The job was cancelled.</Notice>}
        {phase.kind === 'done' && (
          <div className="result-head">
            <h2>Result</h2>
            <Link to={`/results/${encodeURIComponent(phase.job.id)}`} className="btn-link small" data-testid="det-open-page">
              Open as a page →
            </Link>
          </div>
        )}
        {phase.kind === 'done' && isDetectTextResult(result) && <DetectTextResultView job={phase.job} result={result} />}
        {phase.kind === 'done' && isDetectDatasetResult(result) && <DatasetResultView job={phase.job} result={result} />}
      </div>
    </div>
  );
}
