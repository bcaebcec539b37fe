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
  const tau = s.alpha !== null ? expectedTokensPerCall(s.alpha, gammaShown) : null;
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
                <>
                  {formatInt(s.accepted)}/{formatInt(s.drafted)} drafts · α {formatNum(s.alpha, 3)} · mean β {formatNum(s.mean_beta, 3)}
                </>
              }
              help="Accepted draft tokens / drafted tokens. α = accepted / tested (tokens after a rejection are not tested); β = Σ min(p, q), the expected acceptance."
              testId="fig-acceptance"
            />
          )}
          <Figure
            label="Tokens per target call"
            value={formatNum(s.tokens_per_target_call, 2)}
            sub={
              speculative ? (
                <>
                  theory τ = (1−α<sup>γ+1</sup>)/(1−α) = {formatNum(s.theoretical_tokens_per_call ?? tau, 2)} at γ̄ {formatNum(gammaShown, 1)}
                </>
              ) : (
                'autoregressive: one token per call'
              )
            }
            help="New tokens / target forward calls, against the expected value from the measured α and mean draft length γ̄ (Leviathan et al. 2023)."
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
                  theory {formatSpeedup(s.theoretical_speedup)}
                  {s.cost_ratio !== null && <> from c = {formatProb(s.cost_ratio)}</>}
                  {s.verify_cost_ratio != null && s.theoretical_speedup_at_verify_cost != null && (
                    <span data-testid="fig-speedup-verify">
                      {' '}
                      · {formatSpeedup(s.theoretical_speedup_at_verify_cost)} at the measured verify cost v = {formatNum(s.verify_cost_ratio, 2)}
                    </span>
                  )}
                </>
              }
              tone={s.measured_speedup === null ? undefined : s.measured_speedup >= 1 ? 'good' : 'bad'}
              help="This run's tokens/s ÷ the autoregressive baseline's on the same prompt and settings. Theory: (1−α^(γ+1)) / ((1−α)(γc+1)) with c = draft time per token / target time per call, both measured here. The formula prices a verification forward (γ+1 tokens) like one autoregressive step; v is its measured price against the baseline's step (about 1 on a memory-bound GPU, more on a CPU), and the second figure divides the theory by it."
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
        {speculative && <AcceptanceChart bars={bars} />}
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
