// A small plain-SVG x/y chart for the Media page: PSNR/SSIM against k, Zipf (log-log), rate against quality.
import type { ReactNode } from 'react';

export interface XYPoint {
  x: number;
  y: number;
  title?: string;
}

export interface XYSeries {
  name: string;
  colour: string;
  points: XYPoint[];
  /** Join the points with a line (false: dots only). */
  line?: boolean;
}

interface Props {
  series: XYSeries[];
  caption: ReactNode;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  yLog?: boolean;
  formatX?: (x: number) => string;
  formatY?: (y: number) => string;
  /** A vertical marker (e.g. the slider's k). */
  markerX?: number | null;
  width?: number;
  height?: number;
  testId?: string;
  legend?: boolean;
  empty?: ReactNode;
}

const PAD = { left: 46, right: 12, top: 10, bottom: 34 };

function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      const v = 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
    return out.length >= 2 ? out : [lo, hi];
  }
  const span = hi - lo || 1;
  const step0 = 10 ** Math.floor(Math.log10(span / 4));
  const step = [1, 2, 5, 10].map((m) => m * step0).find((s) => span / s <= 5) ?? step0 * 10;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function extent(values: number[], log: boolean): [number, number] {
  const vs = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (!vs.length) return log ? [1, 10] : [0, 1];
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  if (log) {
    if (lo === hi) return [lo / 2, hi * 2];
    return [lo, hi];
  }
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1;
    hi += Math.abs(hi) * 0.1 || 1;
  }
  const pad = (hi - lo) * 0.06;
  return [lo - pad, hi + pad];
}

const shortNum = (v: number) => {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a < 1e-2 && v !== 0) return v.toExponential(0);
  return String(+v.toPrecision(3));
};

export function XYChart({ series, caption, xLabel, yLabel, xLog, yLog, formatX = shortNum, formatY = shortNum, markerX, width = 360, height = 200, testId, legend, empty }: Props) {
  const all = series.flatMap((s) => s.points);
  const [x0, x1] = extent(all.map((p) => p.x), !!xLog);
  const [y0, y1] = extent(all.map((p) => p.y), !!yLog);
  const iw = width - PAD.left - PAD.right;
  const ih = height - PAD.top - PAD.bottom;
  const norm = (v: number, lo: number, hi: number, log: boolean) => (log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo) || 1) : (v - lo) / (hi - lo || 1));
  const sx = (x: number) => PAD.left + norm(x, x0, x1, !!xLog) * iw;
  const sy = (y: number) => PAD.top + ih - norm(y, y0, y1, !!yLog) * ih;
  const visible = (p: XYPoint) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!xLog || p.x > 0) && (!yLog || p.y > 0);
  return (
    <figure className="media-chart" data-testid={testId} data-points={all.length}>
      <figcaption className="chart-caption">
        {caption}
        {legend && series.length > 0 && (
          <span className="chart-keys">
            {series.map((s) => (
              <span key={s.name} className="chart-key">
                <span className="key-dot" style={{ background: s.colour }} />
                {s.name}
              </span>
            ))}
          </span>
        )}
      </figcaption>
      {all.length === 0 ? (
        <div className="mini-chart-empty muted small">{empty ?? 'Nothing to plot.'}</div>
      ) : (
        <svg viewBox={`0 0 ${width} ${height}`} style={{ width, maxWidth: '100%' }} role="img" aria-label={typeof caption === 'string' ? caption : `${yLabel} against ${xLabel}`}>
          {ticks(y0, y1, !!yLog).map((v) => (
            <g key={`y${v}`}>
              <line className="chart-grid" x1={PAD.left} x2={width - PAD.right} y1={sy(v)} y2={sy(v)} />
              <text className="chart-label" x={PAD.left - 5} y={sy(v) + 3} textAnchor="end">
                {formatY(v)}
              </text>
            </g>
          ))}
          {ticks(x0, x1, !!xLog).map((v) => (
            <text key={`x${v}`} className="chart-label" x={sx(v)} y={PAD.top + ih + 13} textAnchor="middle">
              {formatX(v)}
            </text>
          ))}
          <line className="chart-axis" x1={PAD.left} x2={width - PAD.right} y1={PAD.top + ih} y2={PAD.top + ih} />
          <line className="chart-axis" x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={PAD.top + ih} />
          <text className="chart-label chart-axis-title" x={PAD.left + iw / 2} y={height - 4} textAnchor="middle">
            {xLabel}
          </text>
          <text className="chart-label chart-axis-title" x={10} y={PAD.top + ih / 2} textAnchor="middle" transform={`rotate(-90 10 ${PAD.top + ih / 2})`}>
            {yLabel}
          </text>
          {markerX !== null && markerX !== undefined && (!xLog || markerX > 0) && (
            <line className="media-chart-marker" x1={sx(markerX)} x2={sx(markerX)} y1={PAD.top} y2={PAD.top + ih} data-testid={testId ? `${testId}-marker` : undefined} />
          )}
          {series.map((s) => {
            const pts = s.points.filter(visible);
            const d = pts.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
            return (
              <g key={s.name} data-series={s.name}>
                {s.line !== false && pts.length > 1 && <path d={d} fill="none" stroke={s.colour} strokeWidth={1.6} />}
                {pts.length <= 300 &&
                  pts.map((p, i) => (
                    <circle key={i} cx={sx(p.x)} cy={sy(p.y)} r={2.8} fill={s.colour} stroke="#fff" strokeWidth={0.8}>
                      <title>{p.title ?? `${s.name}: ${xLabel} ${formatX(p.x)}, ${yLabel} ${formatY(p.y)}`}</title>
                    </circle>
                  ))}
              </g>
            );
          })}
        </svg>
      )}
    </figure>
  );
}
