import { useCallback, useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, api, isAbortError } from '../api/client';
import { isFinished, type Job, type LanguageModel } from '../api/types';
import { CopyButton, ErrorBanner, Figure, Notice, PageHeader, Spinner, StatusBadge } from '../components/common';
import { JobProgress } from '../components/JobProgress';
import { MiniLineChart } from '../components/MiniLineChart';
import { RunDetails } from '../components/RunDetails';
import type { JobStreamState } from '../hooks/jobStream';
import { useApi } from '../hooks/useApi';
import { formatDate, formatInt, formatNum, formatPercent, formatRelative } from '../lib/format';
import {
  DRAFT_PARAMS,
  DRAFT_PARAM_BY_KEY,
  DRAFT_PRESETS,
  EVAL_EVERY,
  MAX_PROMPT_CHARS,
  MAX_PROMPTS,
  PHASES,
  SUMMARY_GAMMA,
  budgetNote,
  defaultDraftForm,
  distillPhase,
  distillTargets,
  distilledDrafts,
  formatParams,
  formatSeconds,
  isDistillResult,
  jobSettings,
  limitsLabel,
  liveAgreement,
  livePoints,
  splitPrompts,
  submitDistillation,
  validateDraftForm,
  type DistillResult,
  type DraftForm,
  type DraftFormErrors,
  type DraftParam,
} from '../lib/drafts';
import { expectedTokensPerCall } from '../lib/speculative';
import { Link, navigate, useLocation } from '../router';
import { loadStored, saveStored } from '../lib/storage';
import { canWrite, useSession } from '../session';
import './DraftsPage.css';

const FORM_KEY = 'tokenscope.drafts';
const JOB_KIND = 'distill_draft';

function saveForm(f: DraftForm) {
  saveStored(FORM_KEY, { ...f, prompts: f.prompts.length <= 50_000 ? f.prompts : '' });
}

function initialForm(): DraftForm {
  const base = defaultDraftForm();
  const saved = loadStored<DraftForm>(FORM_KEY);
  return {
    target: typeof saved.target === 'string' ? saved.target : base.target,
    values: { ...base.values, ...(saved.values && typeof saved.values === 'object' ? saved.values : {}) },
    prompts: typeof saved.prompts === 'string' ? saved.prompts : '',
  };
}

/** The job id is the last segment of a draft's folder (`drafts/<team>/<job id>`). */
function jobIdOfDraft(model: LanguageModel): string | null {
  const m = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i.exec(model.id);
  return m ? m[1] : null;
}

function shortPath(path: string): string {
  const parts = path.split('/').filter(Boolean);
  return parts.length > 3 ? `…/${parts.slice(-3).join('/')}` : path;
}

function ownerName(owner: Job['owner']): string {
  if (!owner) return '—';
  return typeof owner === 'string' ? owner : owner.username;
}

/** Axis labels for a loss curve: whole numbers when the axis goes past 10. */
function lossFormat(values: number[]): (y: number) => string {
  const digits = Math.max(0, ...values) >= 10 ? 0 : 1;
  return (y) => formatNum(y, digits);
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'loading'; id: string }
  | { kind: 'submitting' }
  | { kind: 'running'; job: Job }
  | { kind: 'done'; job: Job }
  | { kind: 'failed'; error: unknown; job?: Job }
  | { kind: 'cancelled'; job: Job };

function phaseFor(job: Job): Phase {
  if (!isFinished(job.status)) return { kind: 'running', job };
  if (job.status === 'succeeded') return { kind: 'done', job };
  if (job.status === 'cancelled') return { kind: 'cancelled', job };
  return { kind: 'failed', error: new Error(job.error || 'The job failed.'), job };
}

// ---- form ------------------------------------------------------------------------------------------------------

function ParamField({ param, value, error, onChange, disabled }: { param: DraftParam; value: string; error?: string; onChange: (v: string) => void; disabled?: boolean }) {
  const id = useId();
  return (
    <div className={`field field-compact${error ? ' has-error' : ''}`}>
      <label className="field-label" htmlFor={id}>
        {param.label}
        {param.unit ? <span className="muted"> ({param.unit})</span> : null}
      </label>
      <input
        id={id}
        className="input"
        type="number"
        inputMode="numeric"
        step={1}
        min={param.min}
        max={param.key === 'seed' ? undefined : param.max}
        value={value}
        placeholder={String(param.default)}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={!!error}
        aria-describedby={`${id}-hint`}
        data-testid={`drafts-param-${param.key}`}
        disabled={disabled}
      />
      {error ? (
        <span className="field-error" id={`${id}-hint`} role="alert">
          {error}
        </span>
      ) : (
        <span className="field-hint" id={`${id}-hint`}>
          <span className="drafts-limit" data-testid={`drafts-limit-${param.key}`}>
            {limitsLabel(param)}
          </span>{' '}
          · default {formatInt(param.default)} · {param.help}
        </span>
      )}
    </div>
  );
}

function modelLabel(m: LanguageModel): string {
  return [m.name, m.params ? `${Math.round(m.params / 1e6)}M params` : null].filter(Boolean).join(' · ');
}

function DraftFormCard({
  form,
  onChange,
  models,
  modelsLoading,
  errors,
  busy,
  onSubmit,
  footer,
}: {
  form: DraftForm;
  onChange: (f: DraftForm) => void;
  models: LanguageModel[] | undefined;
  modelsLoading: boolean;
  errors: DraftFormErrors;
  busy: boolean;
  onSubmit: () => void;
  footer: ReactNode;
}) {
  const ids = { target: useId(), prompts: useId() };
  const targets = distillTargets(models ?? []);
  const target = targets.find((m) => m.id === form.target);
  const prompts = splitPrompts(form.prompts);
  const activePreset = DRAFT_PRESETS.find((p) => Object.entries(p.values).every(([k, v]) => form.values[k as keyof DraftForm['values']] === String(v)));
  return (
    <form
      className="card drafts-form"
      data-testid="drafts-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      <div className="spec-form-grid">
        <div className="spec-form-main">
          <div className="field">
            <label className="field-label" htmlFor={ids.target}>
              Target model
            </label>
            <select
              id={ids.target}
              className="select"
              value={form.target}
              onChange={(e) => onChange({ ...form, target: e.target.value })}
              data-testid="drafts-target"
              disabled={modelsLoading && !models}
              aria-invalid={!!errors.target}
            >
              {modelsLoading && !models && <option value="">Loading models…</option>}
              {models && !target && <option value="">{targets.length ? 'Choose a model…' : 'No model can be distilled'}</option>}
              {targets.map((m) => (
                <option key={m.id} value={m.id}>
                  {modelLabel(m)}
                </option>
              ))}
            </select>
            {errors.target ? (
              <span className="field-error" role="alert">
                {errors.target}
              </span>
            ) : (
              target && (
                <span className="field-hint">
                  The draft keeps {target.name}’s tokenizer ({target.vocab_size ? `${formatInt(target.vocab_size)} tokens` : 'same vocabulary'}), embeddings and head, and a few of its layers.
                </span>
              )
            )}
          </div>

          <div className="drafts-params-head">
            <span className="field-label">Training budget</span>
            <div className="segmented drafts-presets" role="group" aria-label="Presets">
              {DRAFT_PRESETS.map((p) => (
                <button
                  key={p.id}
                  type="button"
                  title={p.hint}
                  className={activePreset?.id === p.id ? 'is-on' : ''}
                  aria-pressed={activePreset?.id === p.id}
                  data-testid="drafts-preset"
                  data-preset={p.id}
                  onClick={() => onChange({ ...form, values: { ...form.values, ...Object.fromEntries(Object.entries(p.values).map(([k, v]) => [k, String(v)])) } })}
                >
                  {p.label}
                </button>
              ))}
            </div>
          </div>
          <div className="drafts-param-grid">
            {DRAFT_PARAMS.map((p) => (
              <ParamField key={p.key} param={p} value={form.values[p.key]} error={errors[p.key]} onChange={(v) => onChange({ ...form, values: { ...form.values, [p.key]: v } })} />
            ))}
          </div>
          <p className="field-hint">{budgetNote(form.values)}</p>

          <div className="field">
            <div className="field-row">
              <label className="field-label" htmlFor={ids.prompts}>
                Extra prompts <span className="muted small">(optional)</span>
              </label>
              <span className="muted small" data-testid="drafts-prompt-count">
                {prompts.length ? `${formatInt(prompts.length)} prompt${prompts.length === 1 ? '' : 's'}` : 'built-in set only'}
              </span>
            </div>
            <textarea
              id={ids.prompts}
              className="text-input drafts-prompts"
              rows={4}
              value={form.prompts}
              onChange={(e) => onChange({ ...form, prompts: e.target.value })}
              placeholder={'Prompts like the ones you will decode, added to the built-in varied set.\nSeparate prompts with an empty line.'}
              spellCheck={false}
              aria-invalid={!!errors.prompts}
              data-testid="drafts-prompts"
            />
            {errors.prompts ? (
              <span className="field-error" role="alert">
                {errors.prompts}
              </span>
            ) : (
              <span className="field-hint">
                Up to {formatInt(MAX_PROMPTS)} prompts of at most {formatInt(MAX_PROMPT_CHARS)} characters each; the target continues them to build the training corpus.
              </span>
            )}
          </div>
        </div>

        <div className="spec-form-side drafts-form-side">
          <div className="drafts-how">
            <strong>How it works (FastDraft-style)</strong>
            <ol>
              <li>The target continues varied prompts (plus yours): its own text is the training corpus.</li>
              <li>
                A {form.values.num_layers || DRAFT_PARAM_BY_KEY.num_layers.default}-layer copy of the target (embeddings, head and its first layers) becomes the
                draft.
              </li>
              <li>The draft learns to predict the target’s tokens (cross-entropy + top-k KL to the target).</li>
              <li>Held-out agreement with the target, before and after, estimates the acceptance rate.</li>
            </ol>
            <p className="muted small">The finished draft is saved for your team only and appears as a draft model on the Speculative decoding page.</p>
          </div>
          <div className="submit-row">
            <button type="submit" className="btn btn-primary btn-large" disabled={busy} data-testid="drafts-submit">
              {busy ? 'Distilling…' : 'Start distillation'}
            </button>
          </div>
          {footer}
        </div>
      </div>
    </form>
  );
}

// ---- live ------------------------------------------------------------------------------------------------------

function useElapsed(startedAt: string | null | undefined, running: boolean): number | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [running]);
  if (!startedAt) return null;
  const t = new Date(startedAt).getTime();
  return Number.isNaN(t) ? null : Math.max(0, (now - t) / 1000);
}

function PhaseSteps({ phase }: { phase: ReturnType<typeof distillPhase> }) {
  const index = phase === 'done' ? PHASES.length : PHASES.findIndex((p) => p.id === phase);
  return (
    <ol className="drafts-phases" aria-label="Stages">
      {PHASES.map((p, i) => {
        const state = index < 0 ? 'todo' : i < index ? 'done' : i === index ? 'current' : 'todo';
        return (
          <li key={p.id} className={`drafts-phase is-${state}`} data-testid="drafts-phase" data-phase={p.id} data-state={state} aria-current={state === 'current' ? 'step' : undefined}>
            <span className="drafts-phase-dot" aria-hidden="true">
              {state === 'done' ? '✓' : i + 1}
            </span>
            {p.label}
          </li>
        );
      })}
    </ol>
  );
}

/** What the websocket says while the job runs: stage, training step, loss and the agreement estimate. */
function DraftLive({ stream, job }: { stream: JobStreamState; job: Job }) {
  const points = useMemo(() => livePoints(stream.partials), [stream.partials]);
  const running = stream.status === null || !isFinished(stream.status);
  const phase = distillPhase(stream.status, stream.progress, stream.message);
  const elapsed = useElapsed(stream.job?.started_at ?? job.started_at, running);
  if (!running) return null;
  const maxSteps = typeof job.params?.max_steps === 'number' ? job.params.max_steps : DRAFT_PARAM_BY_KEY.max_steps.default;
  const agreement = liveAgreement(points, maxSteps);
  const budget = typeof job.params?.time_budget_s === 'number' ? job.params.time_budget_s : DRAFT_PARAM_BY_KEY.time_budget_s.default;
  const last = points[points.length - 1];
  const first = points[0];
  return (
    <div className="drafts-live" data-testid="drafts-live" data-phase={phase}>
      <PhaseSteps phase={phase} />
      <div className="fig-grid drafts-live-figs">
        <Figure
          label="Training step"
          value={last ? `${formatInt(last.step)} / ${formatInt(maxSteps)}` : '—'}
          sub={last ? 'reported every 10 steps' : phase === 'training' ? 'first report at step 10' : 'training has not started yet'}
          testId="drafts-live-step"
        />
        <Figure
          label="Training loss"
          value={last ? formatNum(last.loss, 3) : '—'}
          sub={last && first && last.step !== first.step ? `from ${formatNum(first.loss, 3)} at step ${formatInt(first.step)}` : 'CE + top-k KL to the target'}
          testId="drafts-live-loss"
        />
        <Figure
          label="Agreement (held out)"
          value={last ? formatPercent(last.acceptance_estimate) : '—'}
          sub={
            last ? (
              <>
                ≈ greedy acceptance · τ(γ={SUMMARY_GAMMA}) {formatNum(expectedTokensPerCall(last.acceptance_estimate, SUMMARY_GAMMA), 2)} · measured at step{' '}
                {formatInt(agreement[agreement.length - 1]?.step ?? 0)}
              </>
            ) : (
              `measured before training and every ${EVAL_EVERY} steps`
            )
          }
          testId="drafts-live-agreement"
        />
        <Figure label="Elapsed" value={elapsed === null ? '—' : formatSeconds(elapsed)} sub={`budget ${formatSeconds(budget)} + loading and saving`} testId="drafts-live-elapsed" />
      </div>
      <div className="drafts-charts">
        <MiniLineChart
          points={points.map((p) => ({ x: p.step, y: p.loss }))}
          xMax={maxSteps}
          formatY={lossFormat(points.map((p) => p.loss))}
          caption="Training loss"
          testId="drafts-loss-chart"
          empty="The loss curve appears once training starts."
        />
        <MiniLineChart
          points={agreement.map((p) => ({ x: p.step, y: p.agreement }))}
          xMax={maxSteps}
          yMax={1}
          formatY={(y) => formatPercent(y, 0)}
          caption="Held-out agreement"
          tone="good"
          testId="drafts-agreement-chart"
          empty={`Agreement is measured before training and every ${EVAL_EVERY} steps.`}
        />
      </div>
    </div>
  );
}

// ---- result ----------------------------------------------------------------------------------------------------

function signedPoints(delta: number): string {
  const pts = delta * 100;
  return `${pts >= 0 ? '+' : '−'}${Math.abs(pts).toFixed(1)} pts`;
}

/** The finished job: which draft, how well it agrees with the target, what it cost, and where to use it. */
function DraftSummary({ job, result, models, onNew }: { job: Job; result: DistillResult; models: LanguageModel[] | undefined; onNew: () => void }) {
  const entry = models?.find((m) => m.id === result.output_dir);
  const name = entry?.name ?? `Distilled draft for ${result.target.name} (${result.draft.num_layers} layers)`;
  const { before, after } = result.agreement;
  const tau = result.expected_tokens_per_target_call;
  const losses = result.training.losses;
  const share = result.draft.target_parameters ? result.draft.parameters / result.draft.target_parameters : null;
  const stop = result.training.stop_reason === 'time_budget' ? 'time budget reached' : 'all steps done';
  return (
    <section className="card drafts-summary" data-testid="drafts-summary" aria-labelledby="drafts-summary-heading">
      <div className="card-head">
        <h2 id="drafts-summary-heading" data-testid="drafts-draft-name">
          {name}
        </h2>
        <StatusBadge status={job.status} />
        <span className="muted small">
          from <strong>{result.target.name}</strong> · {formatDate(job.finished_at ?? job.created_at)}
        </span>
      </div>
      <div className="fig-grid drafts-summary-figs">
        <Figure
          label="Held-out agreement"
          value={
            <>
              {formatPercent(before)} <span className="drafts-arrow">→</span> {formatPercent(after)}
            </>
          }
          sub={`${signedPoints(after - before)} over ${formatInt(result.data.heldout_tokens)} held-out tokens`}
          tone={after > before ? 'good' : 'warn'}
          help="Share of held-out positions where the draft's top token equals the target's: the per-token acceptance rate of greedy speculative decoding."
          testId="drafts-fig-agreement"
        />
        <Figure
          label="Tokens per target call"
          value={
            <>
              {formatNum(tau.before, 2)} <span className="drafts-arrow">→</span> {formatNum(tau.after, 2)}
            </>
          }
          sub={`expected at γ = ${tau.gamma}: (1 − α^(γ+1)) / (1 − α)`}
          help={tau.note}
          testId="drafts-fig-tau"
        />
        <Figure
          label="Draft size"
          value={`${formatParams(result.draft.parameters)} params`}
          sub={
            <>
              {result.draft.num_layers} layers (target layers {result.draft.source_layers.join(', ')}) · {share !== null ? `${formatPercent(share, 0)} of the target` : ''} ·{' '}
              {formatParams(result.draft.trainable_parameters)} trained
            </>
          }
          testId="drafts-fig-size"
        />
        <Figure
          label="Training"
          value={`${formatInt(result.training.steps)} step${result.training.steps === 1 ? '' : 's'}`}
          sub={
            <>
              {stop} · {formatInt(result.training.tokens_seen)} tokens seen
              {losses.length > 0 && ` · loss ${formatNum(losses[0].loss, 2)} → ${formatNum(losses[losses.length - 1].loss, 2)}`}
            </>
          }
          testId="drafts-fig-training"
        />
        <Figure
          label="Corpus"
          value={`${formatInt(result.data.train_sequences)} sequence${result.data.train_sequences === 1 ? '' : 's'}`}
          sub={`${formatInt(result.data.train_tokens)} training tokens · ${formatInt(result.data.heldout_sequences)} held out${result.data.stopped_early ? ' · cut short by the budget' : ''}`}
          testId="drafts-fig-corpus"
        />
        <Figure
          label="Time"
          value={formatSeconds(result.elapsed_s)}
          sub={`corpus ${formatSeconds(result.data.seconds)} · training ${formatSeconds(result.training.seconds)}`}
          testId="drafts-fig-time"
        />
      </div>
      <div className="drafts-charts">
        <MiniLineChart
          points={losses.map((p) => ({ x: p.step, y: p.loss }))}
          xMax={result.training.steps}
          formatY={lossFormat(losses.map((p) => p.loss))}
          caption="Training loss"
          testId="drafts-result-loss-chart"
        />
        <MiniLineChart
          points={result.training.evals.map((p) => ({ x: p.step, y: p.agreement }))}
          xMax={result.training.steps}
          yMax={1}
          formatY={(y) => formatPercent(y, 0)}
          caption="Held-out agreement"
          tone="good"
          testId="drafts-result-agreement-chart"
        />
      </div>
      <Notice kind="success" testId="drafts-use-hint">
        <p className="drafts-use-text">
          <strong>Now selectable as a drafter.</strong> On the Speculative decoding page choose target <strong>{result.target.name}</strong>, drafter{' '}
          <strong>Draft model</strong>, then <strong>“{name}”</strong>. Everyone in your team can use it; other teams cannot see it.
        </p>
        <div className="drafts-use-actions">
          <Link to="/speculative" className="btn btn-primary btn-small" data-testid="drafts-use-link">
            Open Speculative decoding →
          </Link>
          <code className="drafts-model-id" title={result.output_dir} data-testid="drafts-draft-id">
            {shortPath(result.output_dir)}
          </code>
          <CopyButton text={result.output_dir} label="Copy model id" className="btn btn-small" title="The draft's model id for the API: drafter.model" />
          <button type="button" className="btn btn-ghost btn-small" onClick={onNew} data-testid="drafts-new">
            New distillation
          </button>
        </div>
      </Notice>
      <RunDetails job={job} />
    </section>
  );
}

// ---- lists -----------------------------------------------------------------------------------------------------

function DraftsTable({ models, loading, error, reload, highlight }: { models: LanguageModel[] | undefined; loading: boolean; error: Error | null; reload: () => void; highlight: string | null }) {
  const drafts = distilledDrafts(models ?? []);
  const showParams = drafts.some((m) => m.params);
  return (
    <section className="card table-card drafts-list" aria-labelledby="drafts-models-heading">
      <div className="card-head drafts-list-head">
        <h2 id="drafts-models-heading">Your team’s drafts</h2>
        <span className="muted small">{models ? `${formatInt(drafts.length)} distilled` : ''}</span>
      </div>
      {error && <ErrorBanner error={error} title="Could not load the model catalogue" onRetry={reload} />}
      {loading && !models && <Spinner label="Loading drafts…" />}
      {models && drafts.length === 0 && (
        <p className="muted drafts-list-empty" data-testid="drafts-models-empty">
          No distilled drafts yet. Finished distillations appear here and as draft models on the Speculative decoding page.
        </p>
      )}
      {drafts.length > 0 && (
        <div className="table-scroll">
          <table className="data-table compact" data-testid="drafts-models-table">
            <thead>
              <tr>
                <th>Draft</th>
                {showParams && <th className="num">Params</th>}
                <th className="num drafts-col-optional">Vocabulary</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {drafts.map((m) => {
                const jobId = jobIdOfDraft(m);
                return (
                  <tr key={m.id} data-testid="drafts-model-row" data-model-id={m.id} data-new={m.id === highlight ? 'true' : undefined} className={m.id === highlight ? 'is-new' : undefined}>
                    <td className="cell-title">
                      <div className="drafts-model-name">
                        {m.name}
                        {m.id === highlight && <span className="badge badge-accent badge-tiny">new</span>}
                      </div>
                      <div className="muted small mono drafts-path" title={m.id}>
                        {shortPath(m.id)}
                      </div>
                    </td>
                    {showParams && <td className="num">{formatParams(m.params)}</td>}
                    <td className="num drafts-col-optional">{formatInt(m.vocab_size)}</td>
                    <td className="drafts-row-actions">
                      {jobId && (
                        <Link to={`/drafts?job=${encodeURIComponent(jobId)}`} className="btn-link small">
                          Details
                        </Link>
                      )}
                      <Link to="/speculative" className="btn-link small">
                        Use →
                      </Link>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function JobsTable({ jobs, models, loading, error, reload, current }: { jobs: Job[] | undefined; models: LanguageModel[] | undefined; loading: boolean; error: Error | null; reload: () => void; current: string | null }) {
  const names = new Map((models ?? []).map((m) => [m.id, m.name]));
  return (
    <section className="card table-card drafts-list" aria-labelledby="drafts-jobs-heading">
      <div className="card-head drafts-list-head">
        <h2 id="drafts-jobs-heading">Recent distillation jobs</h2>
        <button type="button" className="btn btn-ghost btn-small" onClick={reload} disabled={loading} title="Reload">
          ↻ Refresh
        </button>
      </div>
      {error && <ErrorBanner error={error} title="Could not load the jobs" onRetry={reload} />}
      {loading && !jobs && <Spinner label="Loading jobs…" />}
      {jobs && jobs.length === 0 && (
        <p className="muted drafts-list-empty" data-testid="drafts-jobs-empty">
          No distillation jobs yet in this team.
        </p>
      )}
      {jobs && jobs.length > 0 && (
        <div className="table-scroll">
          <table className="data-table compact" data-testid="drafts-jobs-table">
            <thead>
              <tr>
                <th>Job</th>
                <th>Status</th>
                <th>Created</th>
                <th className="drafts-col-optional">Owner</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <tr key={job.id} data-testid="drafts-job-row" data-job-id={job.id} data-status={job.status} className={job.id === current ? 'is-current' : undefined}>
                  <td className="cell-title">
                    <Link to={`/drafts?job=${encodeURIComponent(job.id)}`} data-testid="drafts-job-open">
                      {names.get(String(job.params?.target)) ?? String(job.params?.target ?? job.title)}
                    </Link>
                    <div className="muted small">{jobSettings(job.params).join(' · ')}</div>
                  </td>
                  <td>
                    <StatusBadge status={job.status} />
                  </td>
                  <td title={formatDate(job.created_at)}>{formatRelative(job.created_at)}</td>
                  <td className="drafts-col-optional">{ownerName(job.owner)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

// ---- page ------------------------------------------------------------------------------------------------------

export function DraftsPage() {
  const { team } = useSession();
  const { search } = useLocation();
  const jobParam = search.get('job');
  const models = useApi((signal) => api.models(signal), [team?.slug]);
  const jobs = useApi((signal) => api.jobs({ kind: JOB_KIND }, signal), [team?.slug]);
  const [form, setForm] = useState<DraftForm>(initialForm);
  const [errors, setErrors] = useState<DraftFormErrors>({});
  const [serverError, setServerError] = useState<unknown>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const abortRef = useRef<AbortController | null>(null);
  const resultsRef = useRef<HTMLDivElement>(null);
  const shownJob = useRef<string | null>(null);
  const writable = canWrite(team);
  const busy = phase.kind === 'submitting' || phase.kind === 'running';
  const reloadModels = models.reload;
  const reloadJobs = jobs.reload;

  // A valid target once the catalogue is known (keeping the user's choice when it can be distilled).
  useEffect(() => {
    const list = models.data;
    if (!list) return;
    setForm((f) => (distillTargets(list).some((m) => m.id === f.target) ? f : { ...f, target: defaultDraftForm(list).target }));
  }, [models.data]);

  useEffect(() => {
    const t = setTimeout(() => saveForm(form), 400);
    return () => clearTimeout(t);
  }, [form]);

  // `?job=<id>`: show that job (follow it live while it runs), e.g. after a reload or from the jobs table.
  useEffect(() => {
    if (!jobParam || jobParam === shownJob.current) return;
    shownJob.current = jobParam;
    const ctrl = new AbortController();
    setPhase({ kind: 'loading', id: jobParam });
    api
      .job(jobParam, ctrl.signal)
      .then((job) => {
        if (job.kind !== JOB_KIND) setPhase({ kind: 'failed', error: new Error(`Job ${job.id} is a ${job.kind} job, not a distillation.`) });
        else setPhase(phaseFor(job));
      })
      .catch((e: unknown) => {
        if (!isAbortError(e)) setPhase({ kind: 'failed', error: e });
      });
    return () => ctrl.abort();
  }, [jobParam]);

  useEffect(() => () => abortRef.current?.abort(), []);

  const onChange = (next: DraftForm) => {
    setForm(next);
    if (Object.keys(errors).length) setErrors(validateDraftForm(next, models.data ?? []).errors);
  };

  const submit = useCallback(async () => {
    if (busy) return;
    setServerError(null);
    const { errors: errs, request } = validateDraftForm(form, models.data ?? []);
    setErrors(errs);
    if (!request) return;
    abortRef.current?.abort();
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setPhase({ kind: 'submitting' });
    try {
      const { data } = await submitDistillation(request, ctrl.signal);
      shownJob.current = data.id;
      navigate(`/drafts?job=${encodeURIComponent(data.id)}`, { replace: true });
      setPhase(phaseFor(data));
      reloadJobs();
    } catch (e) {
      if (isAbortError(e)) return;
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
        setServerError(e);
        setPhase({ kind: 'idle' });
      } else setPhase({ kind: 'failed', error: e });
    }
  }, [busy, form, models.data, reloadJobs]);

  useEffect(() => {
    if (phase.kind === 'running') resultsRef.current?.scrollIntoView?.({ behavior: 'smooth', block: 'start' });
  }, [phase.kind]);

  const startOver = () => {
    shownJob.current = null;
    setPhase({ kind: 'idle' });
    navigate('/drafts', { replace: true });
  };

  const onSucceeded = useCallback(
    (job: Job) => {
      setPhase({ kind: 'done', job });
      reloadModels();
      reloadJobs();
    },
    [reloadModels, reloadJobs],
  );

  const currentJob = phase.kind === 'running' || phase.kind === 'done' || phase.kind === 'cancelled' ? phase.job : phase.kind === 'failed' ? (phase.job ?? null) : null;
  const result = phase.kind === 'done' && isDistillResult(phase.job.result) ? phase.job.result : null;
  const forbidden = serverError instanceof ApiError && serverError.status === 403;

  return (
    <div className="drafts-page">
      <PageHeader
        title="Distilled drafts"
        subtitle="Train a small draft model for a target from the target’s own generations (FastDraft-style), then use it for speculative decoding."
        actions={
          <Link to="/speculative" className="btn">
            Speculative decoding
          </Link>
        }
      />
      {models.error && <ErrorBanner error={models.error} title="Could not load the model catalogue" onRetry={models.reload} />}

      <DraftFormCard
        form={form}
        onChange={onChange}
        models={models.data}
        modelsLoading={models.loading}
        errors={errors}
        busy={busy}
        onSubmit={() => void submit()}
        footer={
          <div className="drafts-form-messages" data-testid="drafts-form-messages">
            {serverError ? (
              <ErrorBanner
                error={serverError}
                title={forbidden ? 'You cannot start a distillation in this team' : 'The server refused these settings'}
                onDismiss={() => setServerError(null)}
              />
            ) : null}
            {Object.keys(errors).length > 0 && !serverError && <p className="field-error">Fix the highlighted fields first.</p>}
            {!writable && team && !forbidden && (
              <p className="field-hint" data-testid="drafts-viewer-hint">
                You are a viewer in {team.name}: only members and owners can start a distillation, so the server will refuse it. You can still follow the team’s jobs
                and use its drafts.
              </p>
            )}
          </div>
        }
      />

      <div ref={resultsRef} className="lab-results drafts-results">
        {phase.kind === 'loading' && <Spinner label="Loading the job…" />}
        {phase.kind === 'submitting' && <Spinner label="Queuing the distillation…" />}
        {phase.kind === 'running' && (
          <JobProgress
            key={phase.job.id}
            job={phase.job}
            description="Runs on a worker: the target generates a corpus, then the draft trains on it. You can leave this page: the job keeps running and is listed below."
            runningLabel="Distilling…"
            onSucceeded={onSucceeded}
            onEnded={(status, error) => {
              const ended = { ...phase.job, status, error };
              setPhase(status === 'failed' ? { kind: 'failed', error: new Error(error || 'The job failed.'), job: ended } : { kind: 'cancelled', job: ended });
              reloadJobs();
            }}
          >
            {(stream) => <DraftLive stream={stream} job={phase.job} />}
          </JobProgress>
        )}
        {phase.kind === 'done' && result && <DraftSummary job={phase.job} result={result} models={models.data} onNew={startOver} />}
        {phase.kind === 'done' && !result && <Notice kind="warn">The job finished but returned no draft summary.</Notice>}
        {phase.kind === 'failed' && (
          <ErrorBanner error={phase.error} title={phase.job ? 'The distillation failed' : 'Could not load the distillation'} onDismiss={startOver} />
        )}
        {phase.kind === 'cancelled' && (
          <Notice kind="warn" testId="drafts-cancelled">
            <strong>The distillation was cancelled.</strong> No draft was added; adjust the settings and start it again.{' '}
            <button type="button" className="btn-link" onClick={startOver}>
              Dismiss
            </button>
          </Notice>
        )}
      </div>

      <div className="drafts-lists">
        <DraftsTable models={models.data} loading={models.loading} error={models.error} reload={models.reload} highlight={result?.output_dir ?? null} />
        <JobsTable jobs={jobs.data?.results} models={models.data} loading={jobs.loading} error={jobs.error} reload={jobs.reload} current={currentJob?.id ?? null} />
      </div>
    </div>
  );
}
