import type { ReactNode } from 'react';
import type { SpeculativeResult } from '../api/types';
import { formatInt, formatNum, formatPercent } from '../lib/format';
import { DRAFTER_BY_KIND, acceptanceByPosition, expectedTokensPerCall, formatMs, formatProb, methodLabel, targetCallsSaved } from '../lib/speculative';
import { AcceptanceChart } from './AcceptanceChart';
import { Figure } from './common';

export function LosslessBadge({ lossless }: { lossless: boolean }) {
  return lossless ? (
    <span className="badge status-succeeded" title="The output distribution equals the target’s">
      lossless
    </span>
  ) : (
    <span className="badge badge-bad" title="This verification rule changes the output distribution">
      lossy
    </span>
  );
}

/** `×1.42` (or — when unknown). */
export function formatSpeedup(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `×${x.toFixed(2)}`;
}

/** The run's headline numbers, acceptance by position, and the lossless note. */
export function SpecSummary({ result, actions }: { result: SpeculativeResult; actions?: ReactNode }) {
  const s = result.trace.summary;
  const base = result.baseline?.summary ?? null;
  const greedy = (result.trace.sampling?.temperature ?? 0) === 0;
  const speculative = result.method === 'speculative';
  const bars = acceptanceByPosition(result.trace.steps, s);
  if (!s) {
    return (
      <section className="card spec-summary" data-testid="spec-summary">
        <p className="muted">This run has no summary.</p>
      </section>
    );
  }
  const gammaShown = s.mean_gamma;
  const tree = s.tree === true;
  // Traces saved before the per-step mean existed: the old formula at the mean γ (chains only).
  const tau = s.theoretical_tokens_per_call ?? (s.alpha !== null && !tree ? expectedTokensPerCall(s.alpha, gammaShown) : null);
  const saved = targetCallsSaved(s, base);
  const match = s.output_matches_baseline;
  const lossless = result.lossless?.lossless ?? result.trace.lossless;
  return (
    <section className="card spec-summary" data-testid="spec-summary" aria-labelledby="spec-summary-heading">
      <div className="card-head">
        <h2 id="spec-summary-heading">{methodLabel(result)}</h2>
        <LosslessBadge lossless={lossless} />
        <span className="muted small">
          on <strong>{result.target.name}</strong> · {greedy ? 'greedy' : `T = ${result.trace.sampling.temperature}, top-p ${result.trace.sampling.top_p}${result.trace.sampling.top_k ? `, top-k ${result.trace.sampling.top_k}` : ''}`} · seed{' '}
          {result.trace.seed}
          {speculative && result.trace.gamma > 0 && result.drafter && DRAFTER_BY_KIND[result.drafter.kind]?.usesGamma !== false
            ? ` · γ ${result.trace.gamma}${result.trace.adaptive_gamma ? ' (adaptive)' : ''}`
            : ''}
        </span>
        {actions && <div className="summary-actions">{actions}</div>}
      </div>
      <div className="spec-summary-body">
        <div className="fig-grid">
          {speculative && (
            <Figure
              label="Acceptance rate"
              value={formatPercent(s.acceptance_rate)}
              sub={
                tree ? (
                  <>
                    {formatInt(s.accepted)}/{formatInt(s.drafted)} nodes · levels passed {formatNum(s.alpha, 3)} · mean β {formatNum(s.mean_beta, 3)}
                  </>
                ) : (
                  <>
                    {formatInt(s.accepted)}/{formatInt(s.drafted)} drafts · α {formatNum(s.alpha, 3)} · mean β {formatNum(s.mean_beta, 3)}
                  </>
                )
              }
              help={
                tree
                  ? 'Accepted nodes / drafted nodes. Levels passed = tree levels where some candidate was accepted / levels the walk reached (each level counts once, however many siblings were tried); β = Σ min(p, q) per node.'
                  : 'Accepted draft tokens / drafted tokens. α = accepted / tested (tokens after a rejection are not tested); β = Σ min(p, q), the expected acceptance.'
              }
              testId="fig-acceptance"
            />
          )}
          <Figure
            label="Tokens per target call"
            value={formatNum(s.tokens_per_target_call, 2)}
            sub={
              !speculative ? (
                'autoregressive: one token per call'
              ) : tree ? (
                <span data-testid="fig-tau-tree">
                  trees {formatNum(gammaShown, 1)} deep, {formatNum(s.mean_nodes, 1)} nodes on average · no chain formula
                </span>
              ) : (
                <>
                  theory τ = mean of (1−α<sup>γ+1</sup>)/(1−α) per step = {formatNum(tau, 2)} (γ̄ {formatNum(gammaShown, 1)})
                </>
              )
            }
            help={
              tree
                ? 'New tokens / target forward calls. The chain formula (1−α^(γ+1))/(1−α) assumes one candidate per position, so it is not applied to trees; the acceptance by depth below shows where the trees stopped.'
                : 'New tokens / target forward calls, against the expected value from the measured α: (1−α^(γ+1))/(1−α) for each step’s draft length γ, averaged over the steps (Leviathan et al. 2023).'
            }
            testId="fig-tau"
          />
          <Figure
            label="Throughput"
            value={`${formatNum(s.tokens_per_s, 1)} tok/s`}
            sub={base ? <>baseline {formatNum(base.tokens_per_s, 1)} tok/s</> : `${formatInt(s.new_tokens)} tokens in ${formatMs(s.total_ms)}`}
            help="New tokens per second of wall time, prefill included."
          />
          <Figure
            label="Target calls"
            value={formatInt(s.target_calls)}
            sub={speculative ? <>{saved >= 0 ? `${formatInt(saved)} saved` : `${formatInt(-saved)} more`} vs {base ? 'the baseline' : 'one per token'}</> : `${formatInt(s.steps)} steps`}
            tone={speculative && saved > 0 ? 'good' : undefined}
            help="Target forward calls while decoding. The prefill is excluded, except when it also verified the first draft."
          />
          {speculative && (
            <Figure
              label="Measured speedup"
              value={formatSpeedup(s.measured_speedup)}
              sub={
                <>
                  {tree ? 'no chain formula for trees' : <>theory {formatSpeedup(s.theoretical_speedup)}</>}
                  {!tree && s.cost_ratio !== null && <> from c = {formatProb(s.cost_ratio)}</>}
                  {s.verify_cost_ratio != null && s.theoretical_speedup_at_verify_cost != null && (
                    <span data-testid="fig-speedup-verify">
                      {' '}
                      · {formatSpeedup(s.theoretical_speedup_at_verify_cost)} at the measured verify cost v = {formatNum(s.verify_cost_ratio, 2)}
                    </span>
                  )}
                </>
              }
              tone={s.measured_speedup === null ? undefined : s.measured_speedup >= 1 ? 'good' : 'bad'}
              help="This run's tokens/s ÷ the autoregressive baseline's on the same prompt and settings. Theory (chains only): Σ (1−α^(γ+1))/(1−α) over the steps ÷ Σ (γc+1), with each step’s γ and c = draft time per token / target time per call, both measured here. The formula prices a verification forward (γ+1 tokens) like one autoregressive step; v is its measured price against the baseline's step (about 1 on a memory-bound GPU, more on a CPU), and the second figure divides the theory by it."
              testId="fig-speedup"
            />
          )}
          {speculative && (
            <Figure
              label="Output identical to baseline"
              value={match === null || match === undefined ? <span className="muted">—</span> : match ? <span className="ok-mark">✓ identical</span> : <span className="bad-mark">✗ differs</span>}
              sub={
                match === null || match === undefined
                  ? 'no baseline run'
                  : match
                    ? 'token for token'
                    : greedy
                      ? 'greedy outputs should match: check numerics'
                      : 'expected when sampling (different random draws)'
              }
              tone={match === false && greedy ? 'warn' : undefined}
              testId="fig-identical"
            />
          )}
        </div>
        {speculative && <AcceptanceChart bars={bars} title={tree ? 'Acceptance by tree depth' : undefined} />}
      </div>
      <div className="spec-summary-foot">
        <p className={`lossless-note${lossless ? '' : ' is-lossy'}`}>
          <strong>{lossless ? 'Lossless.' : 'Lossy.'}</strong> {result.lossless?.note}
        </p>
        <p className="muted small">
          {formatInt(s.new_tokens)} new tokens · {formatInt(s.steps)} steps · stopped by {s.stop_reason === 'eos' ? 'end of sequence' : s.stop_reason} · prefill {formatMs(s.prefill_ms)} · decode {formatMs(s.decode_ms)}{' '}
          (draft {formatMs(s.draft_ms)}, verify {formatMs(s.verify_ms)}, overhead {formatMs(s.overhead_ms)}) · {result.trace.device}
          {result.trace.notes?.length ? ` · ${result.trace.notes.join(' ')}` : ''}
        </p>
      </div>
    </section>
  );
}
