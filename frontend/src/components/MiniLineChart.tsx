import type { ReactNode } from 'react';

export interface ChartPoint {
  x: number;
  y: number;
}

interface Props {
  points: ChartPoint[];
  /** Right end of the x axis (e.g. max steps); default: the last point. */
  xMax?: number;
  /** Top of the y axis; default: the largest value (rounded up). */
  yMax?: number;
  formatY: (y: number) => string;
  caption: ReactNode;
  /** Label of the x axis' right end, e.g. "step 300". */
  xLabel?: (x: number) => string;
  tone?: 'accent' | 'good';
  testId?: string;
  empty?: ReactNode;
}

const W = 320;
const H = 120;
const PAD = { left: 38, right: 10, top: 8, bottom: 20 };

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** A small plain-SVG line chart (training loss, agreement) with dots on the measured points. */
export function MiniLineChart({ points, xMax, yMax, formatY, caption, xLabel = (x) => `step ${x}`, tone = 'accent', testId, empty }: Props) {
  const last = points.length ? points[points.length - 1].x : 0;
  const x1 = Math.max(xMax ?? last, last, 1);
  const y1 = yMax ?? niceMax(Math.max(...points.map((p) => p.y), 0));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const sx = (x: number) => PAD.left + (x / x1) * iw;
  const sy = (y: number) => PAD.top + ih - (Math.min(Math.max(y, 0), y1) / y1) * ih;
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
  const showDots = points.length <= 40;
  return (
    <figure className={`mini-chart mini-chart-${tone}`} data-testid={testId} data-points={points.length}>
      <figcaption className="chart-caption">{caption}</figcaption>
      {points.length === 0 ? (
        <div className="mini-chart-empty muted small">{empty ?? 'No points yet.'}</div>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={typeof caption === 'string' ? caption : undefined}>
          {[0, 0.5, 1].map((f) => (
            <g key={f}>
              <line className="chart-grid" x1={PAD.left} x2={W - PAD.right} y1={sy(f * y1)} y2={sy(f * y1)} />
              <text className="chart-label" x={PAD.left - 5} y={sy(f * y1) + 3} textAnchor="end">
                {formatY(f * y1)}
              </text>
            </g>
          ))}
          <line className="chart-axis" x1={PAD.left} x2={W - PAD.right} y1={PAD.top + ih} y2={PAD.top + ih} />
          <text className="chart-label" x={PAD.left} y={H - 5} textAnchor="start">
            {xLabel(0)}
          </text>
          <text className="chart-label" x={W - PAD.right} y={H - 5} textAnchor="end">
            {xLabel(x1)}
          </text>
          <path className="mini-chart-line" d={path} />
          {(showDots || points.length === 1) &&
            points.map((p) => (
              <circle key={p.x} className="mini-chart-dot" cx={sx(p.x)} cy={sy(p.y)} r={points.length === 1 ? 3.5 : 2.5}>
                <title>
                  {xLabel(p.x)}: {formatY(p.y)}
                </title>
              </circle>
            ))}
        </svg>
      )}
    </figure>
  );
}
