import { describe, expect, it } from 'vitest';
import type { DraftTokenRecord, LanguageModel, SpeculativeResult, StepRecord } from '../api/types';
import greedyFixture from '../fixtures/speculative-greedy.json';
import sampledFixture from '../fixtures/speculative-sampled.json';
import treeFixture from '../fixtures/speculative-tree.json';
import {
  acceptanceByPosition,
  accumulatePartials,
  alignPieces,
  compareRows,
  defaultForm,
  expectedSpeedup,
  expectedTokensPerCall,
  formFromParams,
  layoutTree,
  originOfNext,
  stepTokens,
  traceTokens,
  validateSpecForm,
  type SpecForm,
} from './speculative';

const sampled = sampledFixture as unknown as SpeculativeResult;
const greedy = greedyFixture as unknown as SpeculativeResult;
const tree = treeFixture as unknown as SpeculativeResult;

const MODELS: LanguageModel[] = [
  { id: 'smollm2-135m-instruct', name: 'SmolLM2-135M-Instruct', family: 'llama', kind: 'bundled', source: '', licence: 'Apache-2.0', params: 134515008, context_length: 8192, vocab_size: 49152, tokenizer_id: 'tokenizers:smollm2', chat: true, available: true, status: 'installed' },
  { id: 'gemma-3-270m', name: 'Gemma 3 270M (base)', family: 'gemma3', kind: 'bundled', source: '', licence: 'Gemma', params: 268098176, context_length: 32768, vocab_size: 262144, tokenizer_id: 'tokenizers:gemma-3', chat: false, available: true, status: 'installed' },
];

const form = (over: Partial<SpecForm> = {}): SpecForm => ({ ...defaultForm(MODELS), prompt: 'Repeat: a b c', ...over });

describe('trace → timeline colouring', () => {
  it('keeps the output text: non-rejected tokens concatenate to output_text', () => {
    for (const r of [sampled, greedy, tree]) {
      const text = traceTokens(r.trace.steps)
        .filter((t) => t.origin !== 'rejected')
        .map((t) => t.text)
        .join('');
      expect(text).toBe(r.output_text);
    }
  });

  it('colours a step: accepted drafts, the rejected chain inline, then the resampled correction', () => {
    // sampled step 0: "You" accepted, " are" rejected (then 3 unverified), " can" resampled from the residual
    const toks = stepTokens(sampled.trace.steps[0]);
    expect(toks.map((t) => [t.origin, t.text])).toEqual([
      ['accepted', 'You'],
      ['rejected', ' are'],
      ['rejected', ' a'],
      ['rejected', ' helpful'],
      ['rejected', ' AI'],
      ['resampled', ' can'],
    ]);
    expect(toks[1].decision).toBe('rejected');
    expect(toks[2].decision).toBe('unverified');
    expect(toks.every((t) => t.step === 0)).toBe(true);
  });

  it('marks a plain target token when there was no draft, and a bonus after a fully accepted draft', () => {
    expect(stepTokens(sampled.trace.steps[1]).map((t) => t.origin)).toEqual(['target']);
    const full = greedy.trace.steps.find((s) => s.next_source === 'bonus')!;
    const toks = stepTokens(full);
    expect(toks.slice(0, -1).every((t) => t.origin === 'accepted')).toBe(true);
    expect(toks[toks.length - 1].origin).toBe('bonus');
    expect(toks).toHaveLength(full.draft.length + 1);
  });

  it('maps next-token sources to origins', () => {
    expect(originOfNext('residual')).toBe('resampled');
    expect(originOfNext('greedy')).toBe('resampled');
    expect(originOfNext('bonus')).toBe('bonus');
    expect(originOfNext('sample')).toBe('target');
  });

  it('shows only the rejected candidates under the accepted path of a tree, not whole unverified branches', () => {
    const step = tree.trace.steps[2];
    const toks = stepTokens(step);
    const accepted = toks.filter((t) => t.origin === 'accepted').map((t) => t.text);
    expect(accepted).toHaveLength(step.accepted_count);
    expect(step.accepted_text!.startsWith(accepted.join(''))).toBe(true);
    expect(toks.filter((t) => t.origin === 'rejected')).toHaveLength(step.draft.filter((r) => r.decision === 'rejected').length);
    expect(toks[toks.length - 1].origin).toBe('bonus');
  });

  it('stops at an end-of-sequence token inside the draft (no target token)', () => {
    const base = sampled.trace.steps[8];
    const step: StepRecord = { ...base, emitted: base.emitted.slice(0, 2), accepted_count: 3, accepted_text: ' repeat the' };
    expect(stepTokens(step).filter((t) => t.origin !== 'rejected').map((t) => t.origin)).toEqual(['accepted', 'accepted']);
  });

  it('lays per-token strings over the exact step text (SentencePiece pieces lose their leading space)', () => {
    expect(alignPieces(['Paris', ',', 'the'], ' Paris, the')).toEqual([' Paris', ',', ' the']);
    expect(alignPieces(['a', 'b'], 'ab')).toEqual(['a', 'b']);
    expect(alignPieces(['x'], null)).toEqual(['x']);
    expect(alignPieces(['\ufffd', '\ufffd'], 'é')).toEqual(['é', '']);
  });
});

describe('acceptance statistics', () => {
  it('counts acceptance by position from the steps, matching the summary', () => {
    for (const r of [sampled, greedy, tree]) {
      const bars = acceptanceByPosition(r.trace.steps, r.trace.summary);
      expect(bars.map((b) => b.rate)).toEqual(r.trace.summary!.acceptance_by_position.map((x) => expect.closeTo(x, 5)));
      expect(bars.map((b) => b.beta)).toEqual(r.trace.summary!.mean_beta_by_position.map((x) => expect.closeTo(x, 4)));
    }
    const bars = acceptanceByPosition(sampled.trace.steps);
    expect(bars[0]).toMatchObject({ position: 1, tested: 5, accepted: 2, rate: 0.4 });
  });

  it('counts a tree level once: reached when a candidate was tried, passed when any was accepted (like trace.py)', () => {
    const base = tree.trace.steps.find((st) => st.draft.length > 0)!;
    const rec = (node: number, parent: number, depth: number, decision: DraftTokenRecord['decision']): DraftTokenRecord => ({ ...base.draft[0], node, parent, depth, decision });
    const draft = [rec(0, -1, 1, 'rejected'), rec(1, -1, 1, 'accepted'), rec(2, 1, 2, 'rejected'), rec(3, 1, 2, 'rejected'), rec(4, 0, 2, 'unverified')];
    const bars = acceptanceByPosition([{ ...base, is_tree: true, draft }]);
    expect(bars.map((b) => [b.tested, b.accepted, b.rate])).toEqual([
      [1, 1, 1],
      [1, 0, 0],
    ]);
    // the same records as a chain count every tested token
    expect(acceptanceByPosition([{ ...base, is_tree: false, draft }]).map((b) => [b.tested, b.accepted])).toEqual([
      [2, 1],
      [2, 0],
    ]);
  });

  it('falls back to the summary when there are no steps', () => {
    const bars = acceptanceByPosition([], sampled.trace.summary);
    expect(bars).toHaveLength(5);
    expect(bars[2]).toMatchObject({ position: 3, rate: 1, tested: 0 });
    expect(acceptanceByPosition(null, null)).toEqual([]);
  });

  it('computes the theoretical tokens per call and speedup like trace.py (per-step predictions averaged)', () => {
    const s = sampled.trace.summary!;
    const gammas = sampled.trace.steps.filter((step) => step.target_forwards > 0).map((step) => step.draft.length);
    const predicted = gammas.map((g) => expectedTokensPerCall(s.alpha!, g));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(predicted) / predicted.length).toBeCloseTo(s.theoretical_tokens_per_call!, 4);
    expect(sum(predicted) / sum(gammas.map((g) => g * s.cost_ratio! + 1))).toBeCloseTo(s.theoretical_speedup!, 4);
    const constant = expectedTokensPerCall(s.alpha!, 5) / (5 * s.cost_ratio! + 1);
    expect(expectedSpeedup(s.alpha!, 5, s.cost_ratio!)).toBeCloseTo(constant, 10);
    expect(expectedTokensPerCall(1, 5)).toBe(6);
    expect(expectedTokensPerCall(0, 5)).toBe(1);
  });

  it('compares two runs metric by metric', () => {
    const rows = compareRows(sampled, greedy);
    const byKey = Object.fromEntries(rows.map((r) => [r.key, r]));
    const rate = (r: SpeculativeResult) => `${(r.trace.summary!.acceptance_rate! * 100).toFixed(1)}%`;
    expect(byKey.acceptance.a).toBe(rate(sampled));
    expect(byKey.acceptance.b).toBe(rate(greedy));
    expect(byKey.acceptance.better).toBe(sampled.trace.summary!.acceptance_rate! > greedy.trace.summary!.acceptance_rate! ? 'a' : 'b');
    expect(byKey.calls.better).toBe('b'); // fewer target calls is better
    expect(byKey.sampling.a).toContain('T 0.8');
    expect(byKey.sampling.b).toContain('greedy');
  });
});

describe('tree layout', () => {
  it('places leaves on rows and parents between their children, with the accepted path marked', () => {
    const step = tree.trace.steps[2];
    const layout = layoutTree(step.draft);
    expect(layout.nodes).toHaveLength(step.draft.length);
    expect(layout.maxDepth).toBe(Math.max(...step.draft.map((r) => r.depth)));
    const accepted = step.draft.filter((r) => r.decision === 'accepted').map((r) => r.node);
    expect(accepted.length).toBeGreaterThan(1);
    expect(layout.nodes.filter((n) => n.onPath).map((n) => n.node)).toEqual(accepted);
    const rows = layout.nodes.map((n) => n.row);
    expect(Math.max(...rows)).toBeLessThan(layout.rows);
    expect(layoutTree([]).rows).toBe(1);
  });
});

describe('live partials', () => {
  it('folds batches of steps per phase, de-duplicating by index and flagging gaps', () => {
    const steps = sampled.trace.steps;
    const live = accumulatePartials([
      { phase: 'speculative', steps: steps.slice(0, 3), text: 'x' },
      { phase: 'speculative', steps: steps.slice(2, 5), text: 'y' },
      'garbage',
      { phase: 'baseline', steps: [steps[1]], text: 'z' },
    ]);
    expect(live.phase).toBe('baseline');
    expect(live.main.steps.map((s) => s.index)).toEqual([0, 1, 2, 3, 4]);
    expect(live.main.tokens).toBe(steps.slice(0, 5).reduce((n, s) => n + s.emitted.length, 0));
    expect(live.main.gaps).toBe(false);
    expect(live.baseline.steps).toHaveLength(1);
    expect(live.baseline.gaps).toBe(true); // index 1 without index 0
  });
});

describe('form validation', () => {
  it('builds the request with only the parameters the user set', () => {
    const { errors, request } = validateSpecForm(form({ drafterParams: { prompt_lookup: { max_ngram_size: '3', num_pred_tokens: '' } } }), MODELS);
    expect(errors).toEqual({});
    expect(request).toMatchObject({
      target: 'smollm2-135m-instruct',
      method: 'speculative',
      drafter: { kind: 'prompt_lookup', max_ngram_size: 3 },
      chat_template: true,
      gamma: 5,
      adaptive_gamma: false,
      max_new_tokens: 64,
      temperature: 0,
      top_p: 1,
      seed: 0,
      run_baseline: true,
    });
    expect(request!.drafter).not.toHaveProperty('num_pred_tokens');
  });

  it('checks ranges like the server', () => {
    const { errors, request } = validateSpecForm(form({ gamma: '65', maxNewTokens: '0', temperature: '-1', topP: '0', seed: '1.5', prompt: '  ' }), MODELS);
    expect(request).toBeNull();
    expect(errors.gamma).toMatch(/between 1 and 64/);
    expect(errors.max_new_tokens).toMatch(/between 1 and 512/);
    expect(errors.temperature).toMatch(/≥ 0/);
    expect(errors.top_p).toMatch(/greater than 0/);
    expect(errors.seed).toMatch(/whole number/);
    expect(errors.prompt).toBeTruthy();
  });

  it('checks drafter parameters and the draft model', () => {
    let r = validateSpecForm(form({ drafterKind: 'draft_model', draftModel: '' }), MODELS);
    expect(r.errors.draft_model).toMatch(/Choose a draft model/);
    r = validateSpecForm(form({ drafterKind: 'draft_model', draftModel: 'gemma-3-270m' }), MODELS);
    expect(r.errors.draft_model).toMatch(/different vocabulary/);
    r = validateSpecForm(form({ drafterKind: 'cross_tokenizer', draftModel: 'gemma-3-270m', target: 'smollm2-135m-instruct' }), MODELS);
    expect(r.errors).toEqual({});
    expect(r.request!.drafter).toEqual({ kind: 'cross_tokenizer', model: 'gemma-3-270m' });
    r = validateSpecForm(form({ drafterKind: 'prompt_lookup', drafterParams: { prompt_lookup: { max_ngram_size: '9' } } }), MODELS);
    expect(r.errors['param.max_ngram_size']).toMatch(/between 1 and 8/);
    r = validateSpecForm(form({ drafterKind: 'prompt_lookup', drafterParams: { prompt_lookup: { min_ngram_size: '3' } } }), MODELS);
    expect(r.errors['param.min_ngram_size']).toMatch(/must not exceed the max n-gram size \(2\)/);
    r = validateSpecForm(form({ drafterKind: 'prompt_lookup', drafterParams: { prompt_lookup: { min_ngram_size: '2', max_ngram_size: '3' } } }), MODELS);
    expect(r.errors['param.min_ngram_size']).toBeUndefined();
    expect(r.request!.drafter).toMatchObject({ kind: 'prompt_lookup', min_ngram_size: 2, max_ngram_size: 3 });
    r = validateSpecForm(form({ drafterKind: 'multi_draft', draftModel: 'smollm2-135m-instruct', drafterParams: { multi_draft: { num_drafts: '16', draft_length: '8' } } }), MODELS);
    expect(r.errors['param.draft_length']).toMatch(/128 nodes/);
  });

  it('sends no γ for tree methods and no drafter for autoregressive decoding', () => {
    let r = validateSpecForm(form({ drafterKind: 'token_recycling', drafterParams: { token_recycling: { recycling_k: '4' } } }), MODELS);
    expect(r.request).not.toHaveProperty('gamma');
    expect(r.request!.drafter).toEqual({ kind: 'token_recycling', recycling_k: 4 });
    r = validateSpecForm(form({ method: 'autoregressive' }), MODELS);
    expect(r.request).not.toHaveProperty('drafter');
    expect(r.request!.run_baseline).toBe(false);
  });

  it('refuses the chat template on a base model', () => {
    const r = validateSpecForm(form({ target: 'gemma-3-270m', chatTemplate: true }), MODELS);
    expect(r.errors.prompt).toMatch(/no chat template/);
  });

  it('restores a form from stored job parameters', () => {
    const f = formFromParams(
      { target: 'gemma-3-270m', method: 'speculative', drafter: { kind: 'tree_dyspec', model: 'x', node_budget: 8 }, prompt: 'hi', chat_template: false, gamma: 7, temperature: 0.5 },
      form(),
    );
    expect(f).toMatchObject({ target: 'gemma-3-270m', drafterKind: 'tree_dyspec', draftModel: 'x', prompt: 'hi', chatTemplate: false, gamma: '7', temperature: '0.5' });
    expect(f.drafterParams.tree_dyspec).toEqual({ node_budget: '8' });
  });
});
