import type { PositionBar } from '../lib/speculative';
import { formatPercent } from '../lib/format';

const H = 150;
const PAD = { top: 12, right: 10, bottom: 30, left: 38 };

/** Acceptance rate α_i by draft position (bars) with the mean β = Σ min(p, q) at that position (dots): plain SVG. */
export function AcceptanceChart({ bars, title = 'Acceptance by draft position' }: { bars: PositionBar[]; title?: string }) {
  if (bars.length === 0) {
    return (
      <div className="acceptance-chart is-empty" data-testid="acceptance-chart">
        <p className="muted small">No draft tokens were verified, so there is no acceptance by position.</p>
      </div>
    );
  }
  const slot = Math.max(18, Math.min(56, 420 / bars.length));
  const barW = Math.max(8, slot * 0.62);
  const innerW = slot * bars.length;
  const W = PAD.left + innerW + PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const y = (v: number) => PAD.top + innerH * (1 - Math.max(0, Math.min(1, v)));
  const labelEvery = bars.length > 24 ? 4 : bars.length > 12 ? 2 : 1;
  const betaPoints = bars.filter((b) => b.beta !== null);
  return (
    <figure className="acceptance-chart" data-testid="acceptance-chart">
      <figcaption className="chart-caption">
        <span>{title}</span>
        <span className="chart-keys">
          <span className="chart-key">
            <span className="key-bar" aria-hidden="true" /> αᵢ accepted / tested
          </span>
          {betaPoints.length > 0 && (
            <span className="chart-key">
              <span className="key-dot" aria-hidden="true" /> mean β = Σ min(p, q)
            </span>
          )}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-label={`${title}: ${bars.map((b) => `position ${b.position} ${formatPercent(b.rate, 0)}`).join(', ')}`}>
        {[0, 0.5, 1].map((v) => (
          <g key={v}>
            <line x1={PAD.left} x2={PAD.left + innerW} y1={y(v)} y2={y(v)} className={v === 0 ? 'chart-axis' : 'chart-grid'} />
            <text x={PAD.left - 6} y={y(v) + 4} textAnchor="end" className="chart-label">
              {v * 100}%
            </text>
          </g>
        ))}
        {bars.map((b, i) => {
          const x = PAD.left + i * slot + (slot - barW) / 2;
          const top = y(b.rate);
          return (
            <g key={b.position} data-testid="acceptance-bar" data-position={b.position} data-rate={b.rate.toFixed(4)}>
              <title>
                {`Position ${b.position}: ${formatPercent(b.rate, 1)} accepted${b.tested ? ` (${b.accepted}/${b.tested} tested)` : ''}${
                  b.beta !== null ? ` · mean β ${b.beta.toFixed(3)}` : ''
                }`}
              </title>
              <rect x={x} y={PAD.top} width={barW} height={innerH} className="chart-track" rx={2} />
              <rect x={x} y={top} width={barW} height={Math.max(0, y(0) - top)} className={`chart-bar${b.tested === 0 && b.rate === 0 ? ' is-untested' : ''}`} rx={2} />
              {(i % labelEvery === 0 || i === bars.length - 1) && (
                <text x={x + barW / 2} y={H - PAD.bottom + 14} textAnchor="middle" className="chart-label">
                  {b.position}
                </text>
              )}
            </g>
          );
        })}
        {betaPoints.length > 1 && (
          <polyline
            className="chart-beta-line"
            points={bars
              .map((b, i) => (b.beta === null ? null : `${PAD.left + i * slot + slot / 2},${y(b.beta)}`))
              .filter(Boolean)
              .join(' ')}
          />
        )}
        {bars.map((b, i) =>
          b.beta === null ? null : <circle key={`beta-${b.position}`} cx={PAD.left + i * slot + slot / 2} cy={y(b.beta)} r={3.2} className="chart-beta" />,
        )}
        <text x={PAD.left + innerW / 2} y={H - 2} textAnchor="middle" className="chart-label">
          draft position (tree depth)
        </text>
      </svg>
    </figure>
  );
}
