import { useMemo, useState } from 'react';
import type { JobStreamState } from '../hooks/jobStream';
import { formatInt, formatPercent } from '../lib/format';
import { accumulatePartials, traceTokens } from '../lib/speculative';
import { OriginLegend, SpecTokens } from './SpecTokens';

/** The run as it streams in: batches of finished steps from `job.partial`, coloured by token origin. */
export function SpecLive({ stream, maxNewTokens }: { stream: JobStreamState; maxNewTokens?: number }) {
  const live = useMemo(() => accumulatePartials(stream.partials), [stream.partials]);
  const tokens = useMemo(() => traceTokens(live.main.steps), [live.main.steps]);
  const [showRejected, setShowRejected] = useState(true);
  const running = stream.status === 'running' || stream.status === 'queued' || stream.status === null;
  const drafted = live.main.steps.reduce((n, s) => n + s.draft.length, 0);
  const accepted = live.main.steps.reduce((n, s) => n + s.accepted_count, 0);
  const inBaseline = live.phase === 'baseline';
  if (!running && live.main.steps.length === 0) return null;
  return (
    <div className="spec-live" data-testid="spec-live" data-phase={live.phase ?? 'waiting'}>
      <div className="spec-live-head">
        <strong>{live.phase === 'autoregressive' ? 'Autoregressive decoding' : 'Speculative decoding'}</strong>
        {live.main.steps.some((s) => s.lossless === false) && (
          <span className="badge badge-bad" title="This verification rule changes the output distribution">
            lossy
          </span>
        )}
        <span className="muted small">
          {formatInt(live.main.tokens)}
          {maxNewTokens ? ` / ${formatInt(maxNewTokens)}` : ''} tokens · {formatInt(live.main.steps.length)} target calls
          {drafted > 0 && ` · acceptance so far ${formatPercent(accepted / drafted, 0)} (${accepted}/${drafted})`}
        </span>
        {tokens.some((t) => t.origin === 'rejected') && (
          <label className="toggle">
            <input type="checkbox" checked={showRejected} onChange={(e) => setShowRejected(e.target.checked)} />
            Show rejected drafts
          </label>
        )}
      </div>
      {live.main.steps.length === 0 ? (
        <div className="spec-output is-waiting" data-testid="spec-output">
          <span className="muted">{stream.status === 'queued' || stream.status === null ? 'Waiting for a worker…' : 'Loading the models and prefilling the prompt…'}</span>
          <span className="caret-blink" aria-hidden="true" />
        </div>
      ) : (
        <SpecTokens tokens={tokens} showRejected={showRejected} tail={running && !inBaseline ? <span className="caret-blink" aria-hidden="true" /> : undefined} />
      )}
      <OriginLegend compact />
      {live.main.gaps && <p className="muted small">Some steps before you opened this page are not shown yet; the full trace appears when the run finishes.</p>}
      {inBaseline && (
        <div className="spec-live-baseline">
          <span className="badge">baseline</span>{' '}
          <span className="muted small">
            Decoding the same prompt autoregressively to measure the real speedup: {formatInt(live.baseline.tokens)} tokens so far.
          </span>
          <div className="baseline-text mono small">{live.baseline.text}</div>
        </div>
      )}
    </div>
  );
}
