import { useId } from 'react';
import type { TokenizerResult } from '../api/types';
import { METRICS, bestIndices } from '../lib/stats';

function MetricHeader({ label, help }: { label: string; help: string }) {
  const id = useId();
  return (
    <th scope="row" className="metric-name">
      <span className="has-help" tabIndex={0} aria-describedby={id}>
        {label}
        <span className="help-icon" aria-hidden="true">
          ?
        </span>
        <span className="help-pop" role="tooltip" id={id}>
          {help}
        </span>
      </span>
    </th>
  );
}

export function StatsTable({ results, baseline }: { results: readonly TokenizerResult[]; baseline: string | null }) {
  return (
    <div className="table-scroll">
      <table className="stats-table" data-testid="stats-table">
        <caption className="sr-only">Statistics per tokenizer; the best value in each row is highlighted.</caption>
        <thead>
          <tr>
            <th scope="col" className="metric-col">
              Metric
            </th>
            {results.map((r, i) => (
              <th scope="col" key={r.tokenizer.id} data-tokenizer-id={r.tokenizer.id}>
                <span className={`dot chip-${i % 6}`} aria-hidden="true" />
                {r.tokenizer.name}
                {r.tokenizer.id === baseline && <span className="badge badge-accent badge-tiny">baseline</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {METRICS.map((m) => {
            const best = bestIndices(
              results.map((r) => m.value(r)),
              m.better,
            );
            return (
              <tr key={m.key} data-metric={m.key}>
                <MetricHeader label={m.label} help={m.help} />
                {results.map((r, i) => {
                  const isBest = best.has(i);
                  const bad =
                    (m.key === 'roundtrip' && r.stats.roundtrip === false) ||
                    ((m.key === 'unknown' || m.key === 'byte_fallback') && (m.value(r) as number) > 0);
                  return (
                    <td
                      key={r.tokenizer.id}
                      className={`${isBest ? 'best' : ''}${bad ? ' warn' : ''}${m.key === 'number_chunks' ? ' wrap' : ''}`}
                      data-testid="stat-cell"
                      data-metric={m.key}
                      data-tokenizer-id={r.tokenizer.id}
                      data-best={isBest ? 'true' : undefined}
                    >
                      {m.format(r, baseline)}
                      {isBest && <span className="sr-only"> (best)</span>}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
