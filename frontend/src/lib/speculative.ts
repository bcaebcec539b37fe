// Pure helpers for the speculative-decoding page: drafter catalogue and form validation, trace → coloured token
// timeline, acceptance statistics, tree layout, and live (streamed) partial results.
// The trace format is workers/decoding/trace.py (Trace.to_dict); the inputs are workers/pipelines/speculative.py.
import type {
  DraftDecision,
  DraftTokenRecord,
  DrafterKind,
  DrafterSpec,
  LanguageModel,
  NextSource,
  SpecMethod,
  SpeculativePartial,
  SpeculativeRequest,
  SpeculativeResult,
  StepRecord,
  TraceSummary,
} from '../api/types';
import LIMITS from './speculativeLimits.json';

// ---- drafters ------------------------------------------------------------------------------------------------

export interface ParamField {
  key: string;
  label: string;
  kind: 'int' | 'select';
  min?: number;
  max?: number;
  /** Shown as the placeholder; sent only when the user typed a value (the server applies the same default). */
  default?: number | string;
  /** Placeholder text when there is no fixed default (e.g. "⅓ of the layers"). */
  placeholder?: string;
  options?: { value: string; label: string }[];
  help: string;
  /** Only meaningful when sampling (temperature > 0). */
  samplingOnly?: boolean;
}

export interface DrafterInfo {
  kind: DrafterKind;
  label: string;
  family: 'chain' | 'tree';
  /** Needs a draft model: `shared` = with the target's vocabulary, `any` = any tokenizer. */
  model: 'shared' | 'any' | null;
  params: ParamField[];
  description: string;
  /** Whether γ (draft length) and adaptive γ apply; tree methods size their drafts with their own parameters. */
  usesGamma: boolean;
}

type LimitGroup = keyof typeof LIMITS.fields;

/** A field's [min, max] from speculativeLimits.json: the server's limits (tests/workers/decoding/
 * test_speculative_fixtures.py probes the server's validation with each of them). */
function range<G extends LimitGroup>(group: G, key: keyof (typeof LIMITS.fields)[G]): { min: number; max: number } {
  const [min, max] = LIMITS.fields[group][key] as unknown as [number, number];
  return { min, max };
}

const RULE_OPTIONS = [
  { value: 'rrs', label: 'RRS — recursive rejection sampling (i.i.d. drafts)' },
  { value: 'rsd_without_replacement', label: 'RSD — drafts without replacement' },
  { value: 'spectr', label: 'SpecTr — K-SEQ (i.i.d. drafts)' },
];

export const DRAFTERS: DrafterInfo[] = [
  {
    kind: 'prompt_lookup',
    label: 'Prompt lookup (n-gram)',
    family: 'chain',
    model: null,
    usesGamma: true,
    description:
      'No draft model: finds the latest n-gram of the context earlier in the prompt/output and proposes what followed it. Pays off when the output copies the input (editing, code, extraction).',
    params: [
      { key: 'max_ngram_size', label: 'Max n-gram size', kind: 'int', ...range('prompt_lookup', 'max_ngram_size'), default: 2, help: 'Longest suffix n-gram searched for in the context.' },
      {
        key: 'min_ngram_size',
        label: 'Min n-gram size',
        kind: 'int',
        ...range('prompt_lookup', 'min_ngram_size'),
        default: 2,
        help: 'Shortest match that may draft; 1 is HF’s rule. Single-token matches rarely pay on a CPU.',
      },
      { key: 'num_pred_tokens', label: 'Tokens per lookup', kind: 'int', ...range('prompt_lookup', 'num_pred_tokens'), default: 10, help: 'Tokens copied after a match (the draft is also capped by γ).' },
    ],
  },
  {
    kind: 'draft_model',
    label: 'Draft model',
    family: 'chain',
    model: 'shared',
    usesGamma: true,
    description: 'A smaller model with the target’s tokenizer drafts γ tokens autoregressively (Leviathan et al. 2023).',
    params: [],
  },
  {
    kind: 'early_exit',
    label: 'Early exit (self-speculative)',
    family: 'chain',
    model: null,
    usesGamma: true,
    description: 'The target’s first layers plus its LM head draft for the full model (LayerSkip-style self-speculation). No second model.',
    params: [
      { key: 'exit_layer', label: 'Exit layer', kind: 'int', min: 1, max: 512, placeholder: '⅓ of the layers', help: 'Draft with the first N decoder layers (1 … layers − 1). Blank: a third of the target’s layers.' },
    ],
  },
  {
    kind: 'cross_tokenizer',
    label: 'Cross-tokenizer draft model',
    family: 'chain',
    model: 'any',
    usesGamma: true,
    description: 'A draft model with a different tokenizer (e.g. SmolLM2 drafting for Gemma): its text is re-tokenized into the target’s vocabulary, so q is a point mass.',
    params: [],
  },
  {
    kind: 'multi_draft',
    label: 'Multi-draft (k chains)',
    family: 'tree',
    model: 'shared',
    usesGamma: false,
    description: 'k chain drafts that share only the root (SpecTr / SpecInfer / RSD); the verifier picks among them level by level.',
    params: [
      { key: 'num_drafts', label: 'Drafts (k)', kind: 'int', ...range('multi_draft', 'num_drafts'), default: 3, help: 'Number of chains; k × length must be ≤ 64 nodes.' },
      { key: 'draft_length', label: 'Chain length', kind: 'int', ...range('multi_draft', 'draft_length'), default: 4, help: 'Tokens per chain.' },
      { key: 'rule', label: 'Verification rule', kind: 'select', default: 'rrs', options: RULE_OPTIONS, help: 'How drafts are drawn and verified when sampling; greedy decoding always keeps the longest argmax path.', samplingOnly: true },
    ],
  },
  {
    kind: 'tree_fixed',
    label: 'Static tree (Medusa / Sequoia template)',
    family: 'tree',
    model: 'shared',
    usesGamma: false,
    description: 'A fixed template of rank paths (3-2-1-1 branching) filled from the draft model level by level; one target call verifies the whole tree.',
    params: [
      { key: 'rule', label: 'Verification rule', kind: 'select', default: 'rrs', options: RULE_OPTIONS, help: 'How children are drawn and verified when sampling.', samplingOnly: true },
    ],
  },
  {
    kind: 'tree_dyspec',
    label: 'Dynamic tree (DySpec)',
    family: 'tree',
    model: 'shared',
    usesGamma: false,
    description: 'Best-first expansion by path draft probability up to a node budget: the tree grows where the draft is confident.',
    params: [
      { key: 'node_budget', label: 'Node budget', kind: 'int', ...range('tree_dyspec', 'node_budget'), default: 16, help: 'Draft nodes per step (verified in one target call).' },
      { key: 'max_depth', label: 'Max depth', kind: 'int', ...range('tree_dyspec', 'max_depth'), default: 6, help: 'Deepest level of the tree.' },
      { key: 'max_children', label: 'Max children', kind: 'int', ...range('tree_dyspec', 'max_children'), default: 8, help: 'Children per node at most.' },
    ],
  },
  {
    kind: 'token_recycling',
    label: 'Token Recycling',
    family: 'tree',
    model: null,
    usesGamma: false,
    description: 'Training-free: an adjacency matrix of the target’s own top-k candidates from earlier steps, expanded into a 32-node tree. No draft model.',
    params: [{ key: 'recycling_k', label: 'Candidates per token (k)', kind: 'int', ...range('token_recycling', 'recycling_k'), default: 8, help: 'Top-k candidates kept per token in the adjacency matrix.' }],
  },
];

export const DRAFTER_BY_KIND: Record<string, DrafterInfo> = Object.fromEntries(DRAFTERS.map((d) => [d.kind, d]));

export function drafterLabel(kind: string | null | undefined): string {
  if (!kind) return 'Autoregressive';
  return DRAFTER_BY_KIND[kind]?.label ?? kind;
}

export const NODE_LIMIT = LIMITS.node_limit;
export const MAX_GAMMA = LIMITS.fields.run.gamma[1];
export const MAX_NEW_TOKENS = LIMITS.fields.run.max_new_tokens[1];

/** Same vocabulary (what draft_model and the tree methods need): same tokenizer id, else same vocabulary size. */
export function sharesVocabulary(a: LanguageModel | undefined, b: LanguageModel | undefined): boolean {
  if (!a || !b) return false;
  if (a.id === b.id) return true;
  if (a.tokenizer_id && b.tokenizer_id) return a.tokenizer_id === b.tokenizer_id && (a.vocab_size === null || b.vocab_size === null || a.vocab_size === b.vocab_size);
  return a.vocab_size !== null && a.vocab_size === b.vocab_size;
}

/** Models that can draft for `target` with drafter `kind` (all available models for `any`). */
export function draftCandidates(models: LanguageModel[], target: LanguageModel | undefined, kind: DrafterKind): LanguageModel[] {
  const need = DRAFTER_BY_KIND[kind]?.model;
  if (!need) return [];
  const usable = models.filter((m) => m.available);
  return need === 'any' ? usable : usable.filter((m) => sharesVocabulary(m, target));
}

// ---- the form ------------------------------------------------------------------------------------------------

export interface SpecForm {
  target: string;
  method: SpecMethod;
  drafterKind: DrafterKind;
  draftModel: string;
  /** Typed parameter values per drafter kind ('' = the server default). */
  drafterParams: Partial<Record<DrafterKind, Record<string, string>>>;
  prompt: string;
  chatTemplate: boolean;
  gamma: string;
  adaptiveGamma: boolean;
  maxNewTokens: string;
  temperature: string;
  topP: string;
  topK: string;
  seed: string;
  runBaseline: boolean;
}

export function defaultForm(models: LanguageModel[] = []): SpecForm {
  const target = models.find((m) => m.available && m.chat) ?? models.find((m) => m.available);
  return {
    target: target?.id ?? '',
    method: 'speculative',
    drafterKind: 'prompt_lookup',
    draftModel: '',
    drafterParams: {},
    prompt: '',
    chatTemplate: target?.chat ?? true,
    gamma: '5',
    adaptiveGamma: false,
    maxNewTokens: '64',
    temperature: '0',
    topP: '1',
    topK: '0',
    seed: '0',
    runBaseline: true,
  };
}

export type FormErrors = Record<string, string>;

function parseNumber(raw: string): number | null {
  const t = raw.trim();
  if (!t) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : NaN;
}

function intField(
  raw: string,
  label: string,
  min: number,
  max: number,
  errors: FormErrors,
  key: string,
  opts: { optional?: boolean; fallback?: number } = {},
): number | undefined {
  const n = parseNumber(raw);
  if (n === null) {
    if (opts.optional) return undefined;
    if (opts.fallback !== undefined) return opts.fallback;
    errors[key] = `${label} is required.`;
    return undefined;
  }
  if (Number.isNaN(n) || !Number.isInteger(n)) {
    errors[key] = `${label} must be a whole number.`;
    return undefined;
  }
  if (n < min || n > max) {
    errors[key] = max >= Number.MAX_SAFE_INTEGER ? `${label} must be ≥ ${min}.` : `${label} must be between ${min} and ${max}.`;
    return undefined;
  }
  return n;
}

/**
 * Checks the form the way the server will (workers/pipelines/speculative.py parse_inputs, apps/speculative
 * services) and builds the request. Errors are keyed by field: target, prompt, draft_model, gamma, max_new_tokens,
 * temperature, top_p, top_k, seed, `param.<key>`.
 */
export function validateSpecForm(form: SpecForm, models: LanguageModel[] = []): { errors: FormErrors; request: SpeculativeRequest | null } {
  const errors: FormErrors = {};
  const target = models.find((m) => m.id === form.target);
  if (!form.target.trim()) errors.target = 'Choose a target model.';
  else if (target && !target.available) errors.target = `${target.name} is not available on this server.`;
  if (!form.prompt.trim()) errors.prompt = 'Write a prompt (or pick an example).';
  if (form.chatTemplate && target && !target.chat) errors.prompt = `${target.name} has no chat template: turn “Chat template” off.`;

  const speculative = form.method === 'speculative';
  const info = DRAFTER_BY_KIND[form.drafterKind];
  let drafter: DrafterSpec | undefined;
  if (speculative) {
    if (!info) errors.drafter = 'Choose a drafter.';
    else {
      drafter = { kind: info.kind };
      if (info.model) {
        const draft = models.find((m) => m.id === form.draftModel);
        if (!form.draftModel.trim()) errors.draft_model = 'Choose a draft model.';
        else if (info.model === 'shared' && target && draft && !sharesVocabulary(target, draft))
          errors.draft_model = `${draft.name} has a different vocabulary from ${target.name}; ${info.label} needs a shared tokenizer. Use the cross-tokenizer drafter for this pair.`;
        else drafter.model = form.draftModel.trim();
      }
      const values = form.drafterParams[info.kind] ?? {};
      for (const p of info.params) {
        const raw = values[p.key] ?? '';
        if (p.kind === 'select') {
          if (raw && !p.options?.some((o) => o.value === raw)) errors[`param.${p.key}`] = `Unknown ${p.label.toLowerCase()}.`;
          else if (raw) drafter[p.key] = raw;
          continue;
        }
        const v = intField(raw, p.label, p.min ?? 1, p.max ?? Number.MAX_SAFE_INTEGER, errors, `param.${p.key}`, { optional: true });
        if (v !== undefined) drafter[p.key] = v;
      }
      if (info.kind === 'prompt_lookup' && !errors['param.min_ngram_size'] && !errors['param.max_ngram_size']) {
        const hi = (drafter.max_ngram_size as number | undefined) ?? 2;
        const lo = (drafter.min_ngram_size as number | undefined) ?? Math.min(2, hi);
        if (lo > hi) errors['param.min_ngram_size'] = `Min n-gram size (${lo}) must not exceed the max n-gram size (${hi}).`;
      }
      if (info.kind === 'multi_draft' && !errors['param.num_drafts'] && !errors['param.draft_length']) {
        const k = (drafter.num_drafts as number | undefined) ?? 3;
        const len = (drafter.draft_length as number | undefined) ?? 4;
        if (k * len > NODE_LIMIT) errors['param.draft_length'] = `k × length is ${k * len} nodes; the limit is ${NODE_LIMIT}.`;
      }
    }
  }

  const gamma = intField(form.gamma, 'Draft length γ', 1, MAX_GAMMA, errors, 'gamma', { fallback: 5 });
  const maxNew = intField(form.maxNewTokens, 'Max new tokens', 1, MAX_NEW_TOKENS, errors, 'max_new_tokens', { fallback: 128 });
  const temperature = parseNumber(form.temperature) ?? 0;
  if (Number.isNaN(temperature)) errors.temperature = 'Temperature must be a number.';
  else if (temperature < 0) errors.temperature = 'Temperature must be ≥ 0 (0 = greedy).';
  const topP = parseNumber(form.topP) ?? 1;
  if (Number.isNaN(topP) || !(topP > 0 && topP <= 1)) errors.top_p = 'top-p must be greater than 0 and at most 1.';
  const topK = intField(form.topK, 'top-k', 0, 1_000_000, errors, 'top_k', { fallback: 0 });
  const seed = intField(form.seed, 'Seed', 0, Number.MAX_SAFE_INTEGER, errors, 'seed', { fallback: 0 });

  if (Object.keys(errors).length) return { errors, request: null };
  const request: SpeculativeRequest = {
    target: form.target.trim(),
    method: form.method,
    prompt: form.prompt,
    chat_template: form.chatTemplate,
    max_new_tokens: maxNew,
    temperature,
    top_p: topP,
    top_k: topK,
    seed,
    run_baseline: speculative ? form.runBaseline : false,
  };
  if (speculative && drafter) {
    request.drafter = drafter;
    if (info?.usesGamma) {
      request.gamma = gamma;
      request.adaptive_gamma = form.adaptiveGamma;
    }
  }
  return { errors, request };
}

/** The form that reproduces a stored run (from `job.params`). */
export function formFromParams(params: Record<string, unknown>, base: SpecForm): SpecForm {
  const str = (v: unknown, fallback: string) => (typeof v === 'number' || typeof v === 'string' ? String(v) : fallback);
  const drafter = (params.drafter && typeof params.drafter === 'object' ? params.drafter : {}) as Record<string, unknown>;
  const kind = (typeof drafter.kind === 'string' && DRAFTER_BY_KIND[drafter.kind] ? drafter.kind : base.drafterKind) as DrafterKind;
  const values: Record<string, string> = {};
  for (const p of DRAFTER_BY_KIND[kind]?.params ?? []) if (drafter[p.key] !== undefined) values[p.key] = String(drafter[p.key]);
  return {
    ...base,
    target: str(params.target, base.target),
    method: params.method === 'autoregressive' ? 'autoregressive' : 'speculative',
    drafterKind: kind,
    draftModel: typeof drafter.model === 'string' ? drafter.model : base.draftModel,
    drafterParams: { ...base.drafterParams, [kind]: values },
    prompt: str(params.prompt, base.prompt),
    chatTemplate: typeof params.chat_template === 'boolean' ? params.chat_template : base.chatTemplate,
    gamma: str(params.gamma, base.gamma),
    adaptiveGamma: typeof params.adaptive_gamma === 'boolean' ? params.adaptive_gamma : base.adaptiveGamma,
    maxNewTokens: str(params.max_new_tokens, base.maxNewTokens),
    temperature: str(params.temperature, base.temperature),
    topP: str(params.top_p, base.topP),
    topK: str(params.top_k, base.topK),
    seed: str(params.seed, base.seed),
    runBaseline: typeof params.run_baseline === 'boolean' ? params.run_baseline : base.runBaseline,
  };
}

export interface ExamplePrompt {
  label: string;
  hint: string;
  prompt: string;
  /** Suggested drafter for the example. */
  drafter?: DrafterKind;
}

export const EXAMPLE_PROMPTS: ExamplePrompt[] = [
  {
    label: 'Fix typos (drafting pays)',
    hint: 'The answer copies the input: prompt lookup accepts long runs.',
    drafter: 'prompt_lookup',
    prompt:
      'Fix the spelling mistakes in this paragraph and return it otherwise unchanged:\n\n' +
      'Speculative decoding lets a small draft model propose several tokens at once. The large target model then ' +
      'checks all of them in a singel forward pass and keeps the longest prefix it agrees with, so the output is ' +
      'exactly what the target would have writen on its own, only faster.',
  },
  {
    label: 'Edit code (drafting pays)',
    hint: 'Most of the answer repeats the code.',
    drafter: 'prompt_lookup',
    prompt:
      'Rename the variable `total` to `running_sum` in this function and return the whole function:\n\n' +
      'def mean(values):\n    total = 0\n    for v in values:\n        total += v\n    return total / len(values)\n',
  },
  {
    label: 'Open-ended story (drafting cannot help)',
    hint: 'Nothing to copy: prompt lookup rarely finds a match.',
    prompt: 'Write a short, original story about a lighthouse keeper who finds a message in a bottle.',
  },
];

// ---- the token timeline ----------------------------------------------------------------------------------------

/** How a token got into (or near) the output: accepted draft, rejected draft (shown struck through where it was
 * proposed), the target's correction after a rejection, the bonus token after a fully accepted draft, or a plain
 * target token (no draft). */
export type TokenOrigin = 'accepted' | 'rejected' | 'resampled' | 'bonus' | 'target';

export interface TimelineToken {
  text: string;
  origin: TokenOrigin;
  step: number;
  /** Draft node index (draft tokens only). */
  node?: number;
  decision?: DraftDecision;
  tokenId?: number;
}

export const ORIGIN_LABELS: Record<TokenOrigin, string> = {
  accepted: 'accepted draft',
  rejected: 'rejected draft',
  resampled: 'resampled / correction',
  bonus: 'bonus token',
  target: 'target token',
};

export const ORIGIN_HELP: Record<TokenOrigin, string> = {
  accepted: 'Drafted, then accepted by the target’s verification.',
  rejected: 'Drafted but not kept (rejected, or after a rejection). Not part of the output.',
  resampled: 'Emitted by the target after a rejection: resampled from norm(max(0, p − q)) or the greedy argmax.',
  bonus: 'Every draft was accepted: the target’s extra token from the same forward pass.',
  target: 'A plain target token (no draft this step).',
};

export function originOfNext(source: NextSource | string): TokenOrigin {
  if (source === 'residual' || source === 'greedy') return 'resampled';
  if (source === 'bonus') return 'bonus';
  return 'target';
}

export const SOURCE_LABELS: Record<string, string> = {
  residual: 'residual — resampled from norm(max(0, p − q))',
  bonus: 'bonus — all drafts accepted, drawn from p',
  greedy: 'greedy — argmax of p (correction)',
  sample: 'target — no draft, drawn from p',
};

/**
 * Gives each emitted token its share of the step's text. Per-token strings decode tokens alone (SentencePiece pieces
 * lose their leading space, byte-level pieces can be partial characters), while `full` (accepted_text) is exact, so
 * the pieces are laid over `full` and the last one takes the rest.
 */
export function alignPieces(pieces: string[], full: string | null | undefined): string[] {
  if (full === null || full === undefined || pieces.length === 0) return pieces;
  if (pieces.join('') === full) return pieces;
  const out: string[] = [];
  let pos = 0;
  for (let i = 0; i < pieces.length - 1; i++) {
    const p = pieces[i];
    let idx = p ? full.indexOf(p, pos) : -1;
    if (idx >= 0 && idx - pos > 2) idx = -1; // only a little leading text (a space) may be missing
    if (idx >= 0) {
      out.push(full.slice(pos, idx + p.length));
      pos = idx + p.length;
    } else {
      const take = Math.min(Math.max(0, full.length - pos), p.length);
      out.push(full.slice(pos, pos + take));
      pos += take;
    }
  }
  out.push(full.slice(pos));
  return out;
}

/** The accepted path of a tree step (or chain), by depth. */
export function acceptedPath(step: StepRecord): DraftTokenRecord[] {
  return step.draft.filter((r) => r.decision === 'accepted').sort((a, b) => a.depth - b.depth);
}

/** Draft tokens shown struck through at position `depth` (1-based): chains show the rejected token and everything
 * after it; trees show the candidates tested and rejected there under the accepted path. */
function rejectedAt(step: StepRecord, path: DraftTokenRecord[]): Map<number, DraftTokenRecord[]> {
  const byDepth = new Map<number, DraftTokenRecord[]>();
  const add = (depth: number, r: DraftTokenRecord) => {
    const list = byDepth.get(depth) ?? [];
    list.push(r);
    byDepth.set(depth, list);
  };
  if (!step.is_tree) {
    const depth = path.length + 1;
    for (const r of step.draft) if (r.decision !== 'accepted') add(depth, r);
    return byDepth;
  }
  const pathNodes = new Set(path.map((r) => r.node));
  for (const r of step.draft) {
    if (r.decision !== 'rejected') continue;
    if (r.parent === -1 || pathNodes.has(r.parent)) add(r.depth, r);
  }
  return byDepth;
}

/** One step as coloured tokens, in reading order (rejected drafts inline before the token that took their place). */
export function stepTokens(step: StepRecord): TimelineToken[] {
  const path = acceptedPath(step);
  const emittedCount = step.emitted.length;
  const acceptedEmitted = Math.min(step.accepted_count, path.length, emittedCount);
  const hasNext = emittedCount > acceptedEmitted;
  const pieces = [...path.slice(0, acceptedEmitted).map((r) => r.text ?? ''), ...(hasNext ? [step.next_text ?? ''] : [])];
  const texts = alignPieces(pieces, step.accepted_text);
  const rejected = rejectedAt(step, path);
  const out: TimelineToken[] = [];
  const pushRejected = (depth: number) => {
    for (const r of rejected.get(depth) ?? [])
      out.push({ text: r.text ?? `#${r.token}`, origin: 'rejected', step: step.index, node: r.node, decision: r.decision, tokenId: r.token });
  };
  for (let i = 0; i < acceptedEmitted; i++) {
    pushRejected(i + 1);
    const r = path[i];
    out.push({ text: texts[i] ?? '', origin: 'accepted', step: step.index, node: r.node, decision: 'accepted', tokenId: r.token });
  }
  if (hasNext) {
    pushRejected(acceptedEmitted + 1);
    out.push({ text: texts[acceptedEmitted] ?? '', origin: originOfNext(step.next_source), step: step.index, tokenId: step.next_token });
  }
  return out;
}

export function traceTokens(steps: StepRecord[]): TimelineToken[] {
  const out: TimelineToken[] = [];
  for (const s of steps) for (const t of stepTokens(s)) out.push(t);
  return out;
}

export function countOrigins(tokens: TimelineToken[]): Record<TokenOrigin, number> {
  const c: Record<TokenOrigin, number> = { accepted: 0, rejected: 0, resampled: 0, bonus: 0, target: 0 };
  for (const t of tokens) c[t.origin] += 1;
  return c;
}

// ---- statistics ------------------------------------------------------------------------------------------------

/** τ = (1 − α^(γ+1)) / (1 − α): expected tokens per target call; γ + 1 at α = 1. */
export function expectedTokensPerCall(alpha: number, gamma: number): number {
  if (alpha >= 1) return gamma + 1;
  return (1 - alpha ** (gamma + 1)) / (1 - alpha);
}

/** (1 − α^(γ+1)) / ((1 − α)(γc + 1)). */
export function expectedSpeedup(alpha: number, gamma: number, costRatio: number): number {
  return expectedTokensPerCall(alpha, gamma) / (gamma * costRatio + 1);
}

export interface PositionBar {
  /** 1-based draft position (tree depth). */
  position: number;
  /** α_i = accepted / tested at this position (0 when nothing was tested). */
  rate: number;
  tested: number;
  accepted: number;
  /** Mean β = Σ min(p, q) at this position, when known. */
  beta: number | null;
}

/** Acceptance by draft position (chains) or depth (trees), like trace.py's summary: counted from the steps when
 * there are any, else the summary's lists. A tree level counts once per step: reached when any candidate at that
 * depth was tested, passed when any was accepted. */
export function acceptanceByPosition(steps: StepRecord[] | null | undefined, summary?: TraceSummary | null): PositionBar[] {
  if (steps && steps.length) {
    const tested: number[] = [];
    const passed: number[] = [];
    const betaSum: number[] = [];
    const betaN: number[] = [];
    for (const s of steps) {
      const reached = new Set<number>();
      const passedLevel = new Set<number>();
      for (const r of s.draft) {
        const i = Math.max(0, r.depth - 1);
        while (tested.length <= i) {
          tested.push(0);
          passed.push(0);
          betaSum.push(0);
          betaN.push(0);
        }
        if (Number.isFinite(r.beta)) {
          betaSum[i] += r.beta;
          betaN[i] += 1;
        }
        if (r.decision === 'unverified') continue;
        if (s.is_tree) {
          reached.add(i);
          if (r.decision === 'accepted') passedLevel.add(i);
        } else {
          tested[i] += 1;
          if (r.decision === 'accepted') passed[i] += 1;
        }
      }
      for (const i of reached) tested[i] += 1;
      for (const i of passedLevel) passed[i] += 1;
    }
    return tested.map((t, i) => ({
      position: i + 1,
      rate: t ? passed[i] / t : 0,
      tested: t,
      accepted: passed[i],
      beta: betaN[i] ? betaSum[i] / betaN[i] : null,
    }));
  }
  if (!summary) return [];
  return summary.acceptance_by_position.map((rate, i) => ({
    position: i + 1,
    rate,
    tested: 0,
    accepted: 0,
    beta: summary.mean_beta_by_position[i] ?? null,
  }));
}

export interface StepStats {
  drafted: number;
  accepted: number;
  emitted: number;
  origin: TokenOrigin;
  totalMs: number;
}

export function stepStats(step: StepRecord): StepStats {
  return {
    drafted: step.draft.length,
    accepted: step.accepted_count,
    emitted: step.emitted.length,
    origin: step.emitted.length > step.accepted_count ? originOfNext(step.next_source) : 'accepted',
    totalMs: step.draft_ms + step.verify_ms + step.overhead_ms,
  };
}

/** Why the first step's timings look different: its forward was (part of) the prompt's prefill. */
export function prefillNote(step: StepRecord): { label: string; note: string } | null {
  if (step.extra && 'prefill_tokens' in step.extra) {
    const prompt = `the ${String(step.extra.prefill_tokens)} prompt tokens`;
    return step.draft.length > 0
      ? {
          label: 'verified in the prefill',
          note: `This draft was verified in the same forward pass that prefilled ${prompt}, as HF's assisted generation does; that forward's time counts as prefill in the summary.`,
        }
      : {
          label: 'from the prefill',
          note: `There was nothing to draft yet: this token came from the forward pass that prefilled ${prompt}; that forward's time counts as prefill in the summary.`,
        };
  }
  if (step.extra && 'from_prefill' in step.extra) {
    return { label: 'from the prefill', note: "This token was drawn from the prefill's last logits: it cost no forward pass of its own." };
  }
  return null;
}

/** Target calls the run saved against the autoregressive baseline's count when known, else against one call per
 * token after the first (which the prefill's logits give for free). */
export function targetCallsSaved(summary: TraceSummary, baseline?: TraceSummary | null): number {
  const reference = baseline?.target_calls ?? Math.max(summary.new_tokens - 1, 0);
  return reference - summary.target_calls;
}

// ---- tree layout -----------------------------------------------------------------------------------------------

export interface TreeNodeLayout {
  node: number;
  parent: number;
  depth: number;
  /** Row (leaves get consecutive rows; a parent sits at the mean of its children). */
  row: number;
  record: DraftTokenRecord;
  onPath: boolean;
}

export interface TreeLayout {
  nodes: TreeNodeLayout[];
  rows: number;
  maxDepth: number;
  /** Row of the root (the last committed token). */
  rootRow: number;
}

export function layoutTree(draft: DraftTokenRecord[]): TreeLayout {
  const children = new Map<number, DraftTokenRecord[]>();
  for (const r of draft) {
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const pathNodes = new Set(draft.filter((r) => r.decision === 'accepted').map((r) => r.node));
  const rowOf = new Map<number, number>();
  let next = 0;
  const place = (node: number, seen: Set<number>): number => {
    const kids = (children.get(node) ?? []).filter((k) => !seen.has(k.node));
    if (kids.length === 0) {
      const row = next++;
      rowOf.set(node, row);
      return row;
    }
    const rows = kids.map((k) => {
      seen.add(k.node);
      return place(k.node, seen);
    });
    const row = (rows[0] + rows[rows.length - 1]) / 2;
    rowOf.set(node, row);
    return row;
  };
  const rootRow = draft.length ? place(-1, new Set()) : 0;
  const nodes = draft.map((r) => ({
    node: r.node,
    parent: r.parent,
    depth: r.depth,
    row: rowOf.get(r.node) ?? 0,
    record: r,
    onPath: pathNodes.has(r.node),
  }));
  return { nodes, rows: Math.max(1, next), maxDepth: draft.reduce((m, r) => Math.max(m, r.depth), 0), rootRow };
}

// ---- live partial results --------------------------------------------------------------------------------------

export interface LivePhase {
  steps: StepRecord[];
  text: string;
  tokens: number;
  /** Some batches were missed (e.g. the page was opened mid-run or the connection dropped). */
  gaps: boolean;
}

export interface LiveRun {
  phase: SpeculativePartial['phase'] | null;
  main: LivePhase;
  baseline: LivePhase;
}

function isPartial(x: unknown): x is SpeculativePartial {
  return !!x && typeof x === 'object' && Array.isArray((x as SpeculativePartial).steps);
}

/** Folds the websocket's `job.partial` batches (each holds the steps finished since the previous one) into the
 * streamed run so far; steps are de-duplicated by index. */
export function accumulatePartials(partials: unknown[]): LiveRun {
  const empty = (): LivePhase => ({ steps: [], text: '', tokens: 0, gaps: false });
  const run: LiveRun = { phase: null, main: empty(), baseline: empty() };
  const seen = { main: new Set<number>(), baseline: new Set<number>() };
  for (const p of partials) {
    if (!isPartial(p)) continue;
    run.phase = p.phase;
    const which = p.phase === 'baseline' ? 'baseline' : 'main';
    const phase = run[which];
    for (const s of p.steps) {
      if (!s || typeof s.index !== 'number' || seen[which].has(s.index)) continue;
      if (s.index !== (phase.steps[phase.steps.length - 1]?.index ?? -1) + 1) phase.gaps = true;
      seen[which].add(s.index);
      phase.steps.push(s);
      phase.tokens += Array.isArray(s.emitted) ? s.emitted.length : 0;
      phase.text += s.accepted_text ?? '';
    }
  }
  return run;
}

// ---- result helpers --------------------------------------------------------------------------------------------

export function isSpeculativeResult(x: unknown): x is SpeculativeResult {
  return !!x && typeof x === 'object' && !!(x as SpeculativeResult).trace && Array.isArray((x as SpeculativeResult).trace.steps);
}

export function draftModelName(result: SpeculativeResult): string | null {
  const m = result.drafter?.model;
  if (!m) return null;
  return typeof m === 'string' ? m : m.name;
}

/** "Prompt lookup (n-gram)", "Draft model: SmolLM2", "Autoregressive". */
export function methodLabel(result: Pick<SpeculativeResult, 'method' | 'drafter'>): string {
  if (result.method === 'autoregressive' || !result.drafter) return 'Autoregressive';
  const label = drafterLabel(result.drafter.kind);
  const m = result.drafter.model;
  const name = !m ? null : typeof m === 'string' ? m : m.name;
  return name && DRAFTER_BY_KIND[result.drafter.kind]?.model ? `${label} · ${name}` : label;
}

/** A probability for tables: 3 decimals, or scientific for tiny values. */
export function formatProb(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  if (Math.abs(x) < 0.001) return x.toExponential(1);
  return x.toFixed(3);
}

export function formatMs(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x >= 1000) return `${(x / 1000).toFixed(2)} s`;
  if (x >= 10) return `${x.toFixed(0)} ms`;
  return `${x.toFixed(1)} ms`;
}

/** A token string with visible whitespace, for tables and trees. */
export function showToken(s: string | null | undefined): string {
  if (s === null || s === undefined) return '∅';
  if (s === '') return '∅';
  return s.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '→').replace(/\r/g, '␍');
}

// ---- comparing two runs ----------------------------------------------------------------------------------------

export interface CompareRow {
  key: string;
  label: string;
  a: string;
  b: string;
  /** Which run is better on this metric (null: not comparable or a tie). */
  better: 'a' | 'b' | null;
}

function fmt(x: number | null | undefined, digits: number, suffix = ''): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(digits)}${suffix}`;
}

/** Side-by-side metrics of two speculative runs (higher is better unless noted). */
export function compareRows(a: SpeculativeResult, b: SpeculativeResult): CompareRow[] {
  const sa = a.trace.summary;
  const sb = b.trace.summary;
  const pick = (x: number | null | undefined, y: number | null | undefined, higher = true): 'a' | 'b' | null => {
    if (x === null || x === undefined || y === null || y === undefined || !Number.isFinite(x) || !Number.isFinite(y) || x === y) return null;
    return (x > y) === higher ? 'a' : 'b';
  };
  const temp = (r: SpeculativeResult) => (r.trace.sampling.temperature === 0 ? 'greedy' : `T ${r.trace.sampling.temperature}`);
  const rows: CompareRow[] = [
    { key: 'method', label: 'Method', a: methodLabel(a), b: methodLabel(b), better: null },
    { key: 'target', label: 'Target', a: a.target.name, b: b.target.name, better: null },
    { key: 'sampling', label: 'Sampling', a: `${temp(a)} · seed ${a.trace.seed}`, b: `${temp(b)} · seed ${b.trace.seed}`, better: null },
    {
      key: 'gamma',
      label: 'Draft length γ (mean; tree depth for trees)',
      a: a.method === 'speculative' ? `${fmt(sa?.mean_gamma, 1)}${sa?.tree ? ' deep' : ''}` : '—',
      b: b.method === 'speculative' ? `${fmt(sb?.mean_gamma, 1)}${sb?.tree ? ' deep' : ''}` : '—',
      better: null,
    },
    {
      key: 'acceptance',
      label: 'Acceptance rate',
      a: sa?.acceptance_rate === null || sa === null ? '—' : fmt(sa.acceptance_rate * 100, 1, '%'),
      b: sb?.acceptance_rate === null || sb === null ? '—' : fmt(sb.acceptance_rate * 100, 1, '%'),
      better: pick(sa?.acceptance_rate, sb?.acceptance_rate),
    },
    { key: 'tau', label: 'Tokens per target call', a: fmt(sa?.tokens_per_target_call, 2), b: fmt(sb?.tokens_per_target_call, 2), better: pick(sa?.tokens_per_target_call, sb?.tokens_per_target_call) },
    { key: 'calls', label: 'Target calls', a: fmt(sa?.target_calls, 0), b: fmt(sb?.target_calls, 0), better: pick(sa?.target_calls, sb?.target_calls, false) },
    { key: 'tps', label: 'Tokens / s', a: fmt(sa?.tokens_per_s, 1), b: fmt(sb?.tokens_per_s, 1), better: pick(sa?.tokens_per_s, sb?.tokens_per_s) },
    { key: 'speedup', label: 'Measured speedup', a: fmt(sa?.measured_speedup, 2), b: fmt(sb?.measured_speedup, 2), better: pick(sa?.measured_speedup, sb?.measured_speedup) },
    { key: 'theory', label: 'Theoretical speedup', a: fmt(sa?.theoretical_speedup, 2), b: fmt(sb?.theoretical_speedup, 2), better: null },
    { key: 'tokens', label: 'New tokens', a: fmt(sa?.new_tokens, 0), b: fmt(sb?.new_tokens, 0), better: null },
    {
      key: 'identical',
      label: 'Identical to its baseline',
      a: sa?.output_matches_baseline === null || !sa ? '—' : sa.output_matches_baseline ? '✓' : '✗',
      b: sb?.output_matches_baseline === null || !sb ? '—' : sb.output_matches_baseline ? '✓' : '✗',
      better: null,
    },
    { key: 'lossless', label: 'Lossless', a: a.lossless?.lossless === false ? 'lossy' : 'lossless', b: b.lossless?.lossless === false ? 'lossy' : 'lossless', better: null },
  ];
  return rows;
}

/** Whether two runs decoded the same prompt (the fair comparison). */
export function samePrompt(a: SpeculativeResult, b: SpeculativeResult): boolean {
  return a.prompt_text === b.prompt_text;
}

/** "Prompt lookup (n-gram) · target smollm2-135m-instruct" from a job's parameters (History rows, titles). */
export function speculativeJobLabel(params: Record<string, unknown> | null | undefined): string {
  const p = params ?? {};
  const drafter = (p.drafter && typeof p.drafter === 'object' ? p.drafter : {}) as Record<string, unknown>;
  const auto = p.method === 'autoregressive';
  const method = auto ? 'Autoregressive' : drafterLabel(typeof drafter.kind === 'string' ? drafter.kind : null);
  const draft = typeof drafter.model === 'string' && !auto ? ` (draft ${drafter.model})` : '';
  return `${method}${draft} · target ${String(p.target ?? '?')}`;
}
