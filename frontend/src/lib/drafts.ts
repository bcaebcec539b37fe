// Draft-model distillation (FastDraft-style), all pure: the form's parameters and limits, validation, phases of a
// running job, and the shape of its result. Limits and defaults mirror `parse_inputs` in
// workers/pipelines/distill_draft.py (the API's serializer, apps/speculative/api.py `DraftDistillInputSerializer`,
// passes the same fields through); the messages say what to change, like the server's.
import { send } from '../api/client';
import type { components } from '../api/schema';
import type { Job, LanguageModel } from '../api/types';

/** The request body of `POST /api/v1/drafts/`, generated from docs/openapi.yaml. */
export type DraftRequest = components['schemas']['DraftDistillInputRequest'];

export type DraftParamKey = 'num_layers' | 'num_sequences' | 'max_new_tokens' | 'max_steps' | 'time_budget_s' | 'seed';

export interface DraftParam {
  key: DraftParamKey;
  label: string;
  min: number;
  max: number;
  default: number;
  /** Shown under the field, next to the limits. */
  help: string;
  unit?: string;
}

/** Every numeric training parameter the API accepts, in form order. */
export const DRAFT_PARAMS: readonly DraftParam[] = [
  { key: 'num_layers', label: 'Draft layers', min: 2, max: 8, default: 4, help: 'copied from the target’s first layers' },
  { key: 'num_sequences', label: 'Training sequences', min: 8, max: 2048, default: 128, help: 'continuations the target generates' },
  { key: 'max_new_tokens', label: 'Tokens per sequence', min: 16, max: 256, default: 96, help: 'length of each continuation' },
  { key: 'max_steps', label: 'Training steps', min: 1, max: 20000, default: 300, help: 'batches of 8 sequences' },
  { key: 'time_budget_s', label: 'Time budget', min: 10, max: 3600, default: 600, help: 'generation + training', unit: 's' },
  // The server accepts up to 2^63 − 1; a browser number is exact up to 2^53 − 1, which is plenty for a seed.
  { key: 'seed', label: 'Seed', min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, help: 'same seed, same draft' },
];

export const DRAFT_PARAM_BY_KEY = Object.fromEntries(DRAFT_PARAMS.map((p) => [p.key, p])) as Record<DraftParamKey, DraftParam>;

/** Extra prompts (`prompts`): at most this many, each at most MAX_PROMPT_CHARS characters. */
export const MAX_PROMPTS = 1000;
export const MAX_PROMPT_CHARS = 4000;
/** Agreement → expected tokens per target call is reported at this draft length. */
export const SUMMARY_GAMMA = 4;

export interface DraftForm {
  target: string;
  /** Typed values, as strings (the inputs' values). */
  values: Record<DraftParamKey, string>;
  /** Extra training prompts, separated by an empty line. */
  prompts: string;
}

export type DraftFormErrors = Partial<Record<DraftParamKey | 'target' | 'prompts', string>>;

export interface DraftPreset {
  id: string;
  label: string;
  hint: string;
  values: Partial<Record<DraftParamKey, number>>;
}

export const DRAFT_PRESETS: readonly DraftPreset[] = [
  {
    id: 'smallest',
    label: 'Smallest',
    hint: 'The least the server accepts: a smoke test that finishes in about half a minute on a 2-core CPU (the draft will not be useful).',
    values: { num_layers: 2, num_sequences: 8, max_new_tokens: 16, max_steps: 1, time_budget_s: 10 },
  },
  {
    id: 'default',
    label: 'Default',
    hint: 'The server’s defaults: 4 layers, 128 sequences, 300 steps, at most 10 minutes.',
    values: Object.fromEntries(DRAFT_PARAMS.filter((p) => p.key !== 'seed').map((p) => [p.key, p.default])),
  },
  {
    id: 'longer',
    label: 'Longer',
    hint: 'More data and steps for a better draft: up to 30 minutes.',
    values: { num_layers: 4, num_sequences: 512, max_new_tokens: 128, max_steps: 2000, time_budget_s: 1800 },
  },
];

export function defaultDraftForm(models: LanguageModel[] = []): DraftForm {
  const targets = distillTargets(models);
  const target = targets.find((m) => m.chat) ?? targets[0];
  return {
    target: target?.id ?? '',
    values: Object.fromEntries(DRAFT_PARAMS.map((p) => [p.key, String(p.default)])) as Record<DraftParamKey, string>,
    prompts: '',
  };
}

/** Models a distillation can start from: available ones that are not themselves distilled drafts. */
export function distillTargets(models: LanguageModel[]): LanguageModel[] {
  return models.filter((m) => m.available && m.kind !== 'distilled');
}

/** The team's finished drafts (`GET /api/v1/models/` lists them with `kind: "distilled"`). */
export function distilledDrafts(models: LanguageModel[]): LanguageModel[] {
  return models.filter((m) => m.kind === 'distilled');
}

/** Extra prompts from the textarea: paragraphs separated by one or more empty lines. */
export function splitPrompts(text: string): string[] {
  return text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((p) => p.trim())
    .filter(Boolean);
}

function parseIntStrict(raw: string): number | null {
  const s = raw.trim();
  if (!/^-?\d+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** Checks the form as the server would; `request` is set only when there are no errors. */
export function validateDraftForm(form: DraftForm, models: LanguageModel[] = []): { errors: DraftFormErrors; request: DraftRequest | null } {
  const errors: DraftFormErrors = {};
  const target = form.target.trim();
  if (!target) errors.target = 'Choose a target model.';
  else if (models.length && !distillTargets(models).some((m) => m.id === target))
    errors.target = models.some((m) => m.id === target) ? 'This model cannot be distilled: choose a bundled or local model.' : `Unknown model ${target}.`;

  const request: DraftRequest = { target };
  for (const p of DRAFT_PARAMS) {
    const raw = form.values[p.key] ?? '';
    if (!raw.trim()) {
      request[p.key] = p.default;
      continue;
    }
    const n = parseIntStrict(raw);
    if (n === null) errors[p.key] = `${p.label} must be a whole number.`;
    else if (n < p.min || n > p.max)
      errors[p.key] = p.key === 'seed' ? `${p.label} must be 0 or more.` : `${p.label} must be between ${formatLimit(p.min)} and ${formatLimit(p.max)}${p.unit ? ` ${p.unit}` : ''}.`;
    else request[p.key] = n;
  }

  const prompts = splitPrompts(form.prompts);
  if (prompts.length > MAX_PROMPTS) errors.prompts = `At most ${MAX_PROMPTS} prompts are allowed (got ${prompts.length}).`;
  else {
    const long = prompts.findIndex((p) => p.length > MAX_PROMPT_CHARS);
    if (long >= 0) errors.prompts = `Prompt ${long + 1} is longer than ${formatLimit(MAX_PROMPT_CHARS)} characters.`;
  }
  if (prompts.length) request.prompts = prompts;
  return Object.keys(errors).length ? { errors, request: null } : { errors, request };
}

export function formatLimit(n: number): string {
  return new Intl.NumberFormat('en-US').format(n);
}

/** "1–20,000" for a field's limits. */
export function limitsLabel(p: DraftParam): string {
  if (p.key === 'seed') return '≥ 0';
  return `${formatLimit(p.min)}–${formatLimit(p.max)}${p.unit ? ` ${p.unit}` : ''}`;
}

/** `POST /api/v1/drafts/`: 202 with the queued `distill_draft` job; 400/403 `{message}` otherwise. */
export function submitDistillation(body: DraftRequest, signal?: AbortSignal) {
  return send<Job<DistillResult>>('drafts/', { method: 'POST', body, signal });
}

// ---- the job's progress and result (workers/pipelines/distill_draft.py `run`) ---------------------------------

/** `job.partial` during training (every 10 steps and at the last one). */
export interface DistillPartial {
  step: number;
  loss: number;
  /** The latest held-out agreement (measured every 50 steps and before training). */
  acceptance_estimate: number;
}

export interface DistillResult {
  target: { ref: string; id: string; name: string };
  /** The draft's folder in the model store: its model id in `GET /api/v1/models/`. */
  output_dir: string;
  draft: {
    architecture: string;
    num_layers: number;
    source_layers: number[];
    layer_selection: string;
    parameters: number;
    trainable_parameters: number;
    target_parameters: number;
  };
  data: {
    train_sequences: number;
    train_tokens: number;
    heldout_sequences: number;
    heldout_tokens: number;
    chat_template: boolean;
    stopped_early: boolean;
    seconds: number;
  };
  training: {
    steps: number;
    /** `max_steps` or `time_budget`. */
    stop_reason: string;
    tokens_seen: number;
    losses: { step: number; loss: number }[];
    evals: { step: number; agreement: number }[];
    seconds: number;
  };
  /** Held-out agreement (draft argmax = target argmax), the greedy acceptance rate. */
  agreement: { before: number; after: number };
  expected_tokens_per_target_call: { gamma: number; before: number; after: number; note: string };
  elapsed_s: number;
}

export function isDistillPartial(x: unknown): x is DistillPartial {
  if (!x || typeof x !== 'object') return false;
  const p = x as Record<string, unknown>;
  return typeof p.step === 'number' && typeof p.loss === 'number';
}

export function isDistillResult(x: unknown): x is DistillResult {
  if (!x || typeof x !== 'object') return false;
  const r = x as Record<string, unknown>;
  return typeof r.output_dir === 'string' && !!r.agreement && typeof r.agreement === 'object' && !!r.training && typeof r.training === 'object';
}

/** Training points from the websocket's partials, de-duplicated by step (reconnects replay nothing, but be safe). */
export function livePoints(partials: unknown[]): DistillPartial[] {
  const byStep = new Map<number, DistillPartial>();
  for (const p of partials) if (isDistillPartial(p)) byStep.set(p.step, p);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** The pipeline measures held-out agreement before training and every this many steps (`TrainConfig.eval_every`). */
export const EVAL_EVERY = 50;

/** Agreement measurements among the live points: each partial repeats the latest one, measured at the last multiple
 * of EVAL_EVERY (step 0 = before training; the last step is evaluated only after the report, so a report at
 * `maxSteps` still carries the previous measurement). */
export function liveAgreement(points: DistillPartial[], maxSteps?: number): { step: number; agreement: number }[] {
  const byStep = new Map<number, number>();
  for (const p of points) {
    if (typeof p.acceptance_estimate !== 'number') continue;
    const step = p.step === maxSteps ? p.step - 1 : p.step;
    byStep.set(Math.floor(Math.max(0, step) / EVAL_EVERY) * EVAL_EVERY, p.acceptance_estimate);
  }
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]).map(([step, agreement]) => ({ step, agreement }));
}

export type DistillPhase = 'queued' | 'loading' | 'generating' | 'training' | 'saving' | 'done';

export const PHASES: { id: Exclude<DistillPhase, 'queued' | 'done'>; label: string }[] = [
  { id: 'loading', label: 'Load target' },
  { id: 'generating', label: 'Generate corpus' },
  { id: 'training', label: 'Train draft' },
  { id: 'saving', label: 'Evaluate & save' },
];

/** Where a running job is, from its progress message (the pipeline's own words) or else its progress value
 * (generation reports 5–35 %, training 35–95 %). */
export function distillPhase(status: string | null, progress: number, message: string | null): DistillPhase {
  if (status === 'succeeded') return 'done';
  if (status === 'queued' || status === null) return progress > 0 ? phaseFromProgress(progress) : 'queued';
  const m = (message ?? '').toLowerCase();
  if (m.startsWith('loading')) return 'loading';
  if (m.startsWith('generated')) return 'generating';
  if (m.startsWith('building') || m.startsWith('step ')) return 'training';
  if (m.startsWith('saving') || m === 'done') return 'saving';
  return phaseFromProgress(progress);
}

function phaseFromProgress(progress: number): DistillPhase {
  if (progress < 0.05) return 'loading';
  if (progress < 0.35) return 'generating';
  if (progress < 0.95) return 'training';
  return 'saving';
}

/** "2 min 05 s", "42 s", "1.5 s". */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  if (m < 60) return rest ? `${m} min ${String(rest).padStart(2, '0')} s` : `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** "35.4M" for parameter counts. */
export function formatParams(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

/** A distillation job's settings as short labels, from its parameters (list rows carry no result). */
export function jobSettings(params: Record<string, unknown> | null | undefined): string[] {
  const p = params ?? {};
  const num = (k: DraftParamKey) => (typeof p[k] === 'number' ? (p[k] as number) : DRAFT_PARAM_BY_KEY[k].default);
  const prompts = Array.isArray(p.prompts) ? p.prompts.length : 0;
  return [
    `${num('num_layers')} layers`,
    `${formatLimit(num('num_sequences'))} × ${num('max_new_tokens')} tokens`,
    `${formatLimit(num('max_steps'))} step${num('max_steps') === 1 ? '' : 's'}`,
    `≤ ${formatSeconds(num('time_budget_s'))}`,
    ...(prompts ? [`+${prompts} prompt${prompts === 1 ? '' : 's'}`] : []),
  ];
}

/** Estimated wall time: the budget (or less), plus loading and saving. */
export function budgetNote(values: Record<DraftParamKey, string>): string {
  const budget = Number(values.time_budget_s) || DRAFT_PARAM_BY_KEY.time_budget_s.default;
  return `Stops after the training steps or the ${formatSeconds(budget)} budget, whichever comes first (at most half of it generating the corpus). Loading the target, the held-out evaluation and saving add a little.`;
}
