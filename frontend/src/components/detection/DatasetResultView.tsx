import { useMemo, useState } from 'react';
import type { Job } from '../../api/types';
import { confusionAt, positiveName, rowValues, signLabel, thresholdCandidates, type DetectDatasetResult, type Interval, type ScoreConvention, type ScoreMetrics } from '../../lib/detection';
import { formatInt, formatNum, formatPercent } from '../../lib/format';
import { Figure } from '../common';
import { RunDetails } from '../RunDetails';
import { ExportLinks } from './DetectTextResultView';

const LINE_COLOURS = ['#3b5bdb', '#e8590c', '#2f9e44', '#c2255c', '#7048e8', '#0c8599', '#e67700', '#495057', '#d6336c', '#1098ad', '#5c940d', '#862e9c', '#364fc7', '#a61e4d', '#087f5b', '#f08c00'];

function ci(interval: Interval | undefined): string {
  return interval ? `[${formatNum(interval.low, 3)}, ${formatNum(interval.high, 3)}]` : '';
}

/** ROC curves of all scores on one plot, with the chance diagonal and the picked operating point. */
function RocPlot({ scores, metrics, point }: { scores: ScoreConvention[]; metrics: Record<string, ScoreMetrics>; point: { fpr: number; tpr: number; colour: string } | null }) {
  const size = 300;
  const pad = 34;
  const x = (v: number) => pad + v * (size - pad - 8);
  const y = (v: number) => size - pad - v * (size - pad - 8);
  return (
    <figure className="det-roc" data-testid="det-roc">
      <svg viewBox={`0 0 ${size} ${size}`} role="img" aria-label="ROC curves">
        <rect x={x(0)} y={y(1)} width={x(1) - x(0)} height={y(0) - y(1)} fill="#fff" stroke="#c4cad3" />
        {[0.25, 0.5, 0.75].map((t) => (
          <g key={t} stroke="#eef0f3">
            <line x1={x(t)} x2={x(t)} y1={y(0)} y2={y(1)} />
            <line x1={x(0)} x2={x(1)} y1={y(t)} y2={y(t)} />
          </g>
        ))}
        <line x1={x(0)} y1={y(0)} x2={x(1)} y2={y(1)} stroke="#adb5bd" strokeDasharray="4 4" />
        {scores.map((c, i) => {
          const roc = metrics[c.name]?.roc;
          if (!roc) return null;
          const d = roc.fpr.map((f, j) => `${j ? 'L' : 'M'}${x(f).toFixed(1)},${y(roc.tpr[j]).toFixed(1)}`).join(' ');
          // Earlier curves are drawn wider, so a curve that runs along a later one still shows at its edges.
          const width = Math.max(1.5, 5 - (3.5 * i) / Math.max(1, scores.length - 1));
          return <path key={c.name} d={d} fill="none" stroke={LINE_COLOURS[i % LINE_COLOURS.length]} strokeWidth={width} strokeOpacity={0.85} strokeLinejoin="round" data-testid="det-roc-curve" data-score={c.name} />;
        })}
        {point && <circle cx={x(point.fpr)} cy={y(point.tpr)} r={5} fill={point.colour} stroke="#fff" strokeWidth={2} data-testid="det-roc-point" />}
        <text x={x(0.5)} y={size - 6} textAnchor="middle" className="det-axis">
          false-positive rate
        </text>
        <text x={10} y={y(0.5)} textAnchor="middle" className="det-axis" transform={`rotate(-90 10 ${y(0.5)})`}>
          true-positive rate
        </text>
        {[0, 1].map((t) => (
          <g key={t} className="det-tick">
            <text x={x(t)} y={y(0) + 12} textAnchor="middle">
              {t}
            </text>
            <text x={x(0) - 4} y={y(t) + 4} textAnchor="end">
              {t}
            </text>
          </g>
        ))}
      </svg>
      <figcaption className="det-roc-legend">
        {scores.map((c, i) => (
          <span key={c.name} className="det-legend-item small">
            <span className="det-swatch" style={{ background: LINE_COLOURS[i % LINE_COLOURS.length] }} />
            {c.label} {metrics[c.name]?.available ? <span className="mono">{formatNum(metrics[c.name].auroc, 3)}</span> : <span className="muted">n/a</span>}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** Score histograms of the two classes on shared bins, with the threshold drawn in. */
function Histogram({ histogram, threshold, positive }: { histogram: NonNullable<ScoreMetrics['histogram']>; threshold: number | null; positive: string }) {
  const w = 360;
  const h = 140;
  const { edges } = histogram;
  const max = Math.max(1, ...histogram.positive, ...histogram.negative);
  const lo = edges[0];
  const hi = edges[edges.length - 1];
  const x = (v: number) => 4 + ((v - lo) / (hi - lo || 1)) * (w - 8);
  // The two classes side by side in each bin (label 0 left, label 1 right), so neither hides the other.
  const bar = (counts: number[], cls: string, half: 0 | 1) =>
    counts.map((c, i) => {
      const width = Math.max(0.5, (x(edges[i + 1]) - x(edges[i])) / 2 - 0.5);
      return <rect key={`${cls}${i}`} className={cls} x={x(edges[i]) + half * (width + 0.5)} width={width} y={h - 16 - (c / max) * (h - 24)} height={(c / max) * (h - 24)} />;
    });
  return (
    <figure className="det-hist" data-testid="det-histogram">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label="Score histogram per class">
        {bar(histogram.negative, 'det-hist-neg', 0)}
        {bar(histogram.positive, 'det-hist-pos', 1)}
        <line x1={4} x2={w - 4} y1={h - 16} y2={h - 16} stroke="#adb5bd" />
        {threshold !== null && threshold >= lo && threshold <= hi && <line x1={x(threshold)} x2={x(threshold)} y1={4} y2={h - 16} stroke="#212529" strokeDasharray="3 3" data-testid="det-hist-threshold" />}
        <text x={4} y={h - 3} className="det-tick">
          {formatNum(lo, 2)}
        </text>
        <text x={w - 4} y={h - 3} textAnchor="end" className="det-tick">
          {formatNum(hi, 2)}
        </text>
      </svg>
      <figcaption className="small">
        <span className="det-legend-item">
          <span className="det-swatch det-hist-pos" /> label 1 ({positive})
        </span>{' '}
        <span className="det-legend-item">
          <span className="det-swatch det-hist-neg" /> label 0
        </span>
      </figcaption>
    </figure>
  );
}

function MetricsTable({ scores, metrics, selected, onSelect }: { scores: ScoreConvention[]; metrics: Record<string, ScoreMetrics>; selected: string; onSelect: (name: string) => void }) {
  return (
    <div className="table-scroll">
      <table className="data-table compact det-metrics" data-testid="det-metrics">
        <thead>
          <tr>
            <th>Score</th>
            <th>Sign</th>
            <th className="num">AUROC [95% CI]</th>
            <th className="num">TPR @ 1% FPR</th>
            <th className="num">TPR @ 5% FPR</th>
            <th className="num">PR-AUC</th>
            <th className="num">Rows</th>
          </tr>
        </thead>
        <tbody>
          {scores.map((c) => {
            const m = metrics[c.name];
            return (
              <tr key={c.name} className={c.name === selected ? 'is-selected' : undefined} onClick={() => onSelect(c.name)} data-testid="det-metrics-row" data-score={c.name}>
                <td title={c.description}>
                  <strong>{c.label}</strong>
                </td>
                <td className="nowrap small">{signLabel(c)}</td>
                {m?.available ? (
                  <>
                    <td className="num mono">
                      {formatNum(m.auroc, 3)} <span className="muted">{ci(m.ci?.auroc)}</span>
                    </td>
                    <td className="num mono">
                      {formatNum(m.tpr_at_1_fpr, 3)} <span className="muted">{ci(m.ci?.tpr_at_1_fpr)}</span>
                    </td>
                    <td className="num mono">
                      {formatNum(m.tpr_at_5_fpr, 3)} <span className="muted">{ci(m.ci?.tpr_at_5_fpr)}</span>
                    </td>
                    <td className="num mono">{formatNum(m.pr_auc, 3)}</td>
                  </>
                ) : (
                  <td colSpan={4} className="muted small">
                    not available: {m?.reason ?? 'no values'}
                  </td>
                )}
                <td className="num mono" title={m?.rows_undefined ? `${m.rows_undefined} rows without a value` : undefined}>
                  {formatInt(m?.rows_scored)}
                  {m?.rows_undefined ? <span className="muted"> (−{m.rows_undefined})</span> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** A finished detect_dataset job: ROC of every score, metrics with intervals, threshold picker, histograms, lengths. */
export function DatasetResultView({ job, result }: { job: Job; result: DetectDatasetResult }) {
  const [model, setModel] = useState(result.models[0]?.id ?? '');
  const metrics = result.metrics[model] ?? {};
  const availableScores = result.scores.filter((c) => metrics[c.name]?.available);
  const [scoreName, setScoreName] = useState(availableScores[0]?.name ?? result.scores[0]?.name ?? '');
  const convention = result.scores.find((c) => c.name === scoreName) ?? result.scores[0];
  const m = metrics[scoreName];
  const labels = useMemo(() => result.rows.map((r) => r.label), [result.rows]);
  const values = useMemo(() => rowValues(result.rows, model, scoreName), [result.rows, model, scoreName]);
  const candidates = useMemo(() => thresholdCandidates(values), [values]);
  const rule = m?.roc?.rule ?? (convention?.positive_is_higher ? '>=' : '<=');
  const bestIndex = useMemo(() => {
    const best = m?.best_accuracy?.threshold;
    if (best === undefined || !candidates.length) return Math.floor(candidates.length / 2);
    let at = 0;
    candidates.forEach((c, i) => {
      if (Math.abs(c - best) < Math.abs(candidates[at] - best)) at = i;
    });
    return at;
  }, [m, candidates]);
  const [picked, setPicked] = useState<{ key: string; index: number } | null>(null);
  const key = `${model}/${scoreName}`;
  const index = picked && picked.key === key ? picked.index : bestIndex;
  const threshold = candidates.length ? candidates[Math.min(index, candidates.length - 1)] : null;
  const confusion = threshold === null ? null : confusionAt(values, labels, threshold, rule);
  const positive = positiveName(convention?.task ?? 'membership');
  const colourIndex = result.scores.findIndex((c) => c.name === scoreName);
  const positives = labels.filter((l) => l === 1).length;

  return (
    <div className="det-result" data-testid="det-dataset-result">
      <section className="card">
        <div className="card-head det-head">
          <h2>Dataset · {formatInt(result.rows.length)} rows</h2>
          <ExportLinks job={job} />
        </div>
        <p className="muted small">
          {formatInt(positives)} with label 1 ({positive}) · {formatInt(result.rows.length - positives)} with label 0 · bootstrap {formatInt(result.bootstrap.n)} resamples
          (stratified, seed {result.bootstrap.seed}, {formatPercent(result.bootstrap.level, 0)} intervals). Each score is oriented by its sign, so AUROC is always
          “label 1 = {positive}”. {result.length_rule}
        </p>
        {result.models.length > 1 && (
          <label className="field-inline">
            Model{' '}
            <select className="input" value={model} onChange={(e) => setModel(e.target.value)} data-testid="det-model-select">
              {result.models.map((entry) => (
                <option key={entry.id} value={entry.id}>
                  {entry.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <div className="det-dataset-top">
          <RocPlot scores={result.scores} metrics={metrics} point={confusion ? { fpr: confusion.fpr, tpr: confusion.tpr, colour: LINE_COLOURS[colourIndex % LINE_COLOURS.length] } : null} />
          <MetricsTable scores={result.scores} metrics={metrics} selected={scoreName} onSelect={setScoreName} />
        </div>
      </section>

      <section className="card" data-testid="det-threshold">
        <div className="card-head det-head">
          <h2>Threshold</h2>
          <label className="field-inline">
            Score{' '}
            <select className="input" value={scoreName} onChange={(e) => setScoreName(e.target.value)} data-testid="det-threshold-score">
              {result.scores.map((c) => (
                <option key={c.name} value={c.name}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        {threshold === null || !confusion ? (
          <p className="muted">This score has no values on these rows.</p>
        ) : (
          <>
            <div className="det-slider-row">
              <input
                type="range"
                min={0}
                max={candidates.length - 1}
                step={1}
                value={Math.min(index, candidates.length - 1)}
                onChange={(e) => setPicked({ key, index: Number(e.target.value) })}
                aria-label="Threshold"
                data-testid="det-threshold-slider"
              />
              <span className="mono" data-testid="det-threshold-value">
                {convention?.label} {rule} {formatNum(threshold, 4)} → {positive}
              </span>
            </div>
            <div className="det-threshold-body">
              <div className="fig-grid det-figs">
                <Figure label="False-positive rate" value={formatPercent(confusion.fpr, 1)} sub={`${confusion.fp} of ${confusion.fp + confusion.tn} label-0 rows`} testId="det-fpr" />
                <Figure label="True-positive rate" value={formatPercent(confusion.tpr, 1)} sub={`${confusion.tp} of ${confusion.tp + confusion.fn} label-1 rows`} testId="det-tpr" />
                <Figure label="Accuracy" value={formatPercent(confusion.accuracy, 1)} sub={confusion.precision === null ? 'no positive predictions' : `precision ${formatPercent(confusion.precision, 1)}`} />
              </div>
              <table className="data-table compact det-confusion" data-testid="det-confusion">
                <thead>
                  <tr>
                    <th />
                    <th className="num">predicted {positive}</th>
                    <th className="num">predicted not</th>
                  </tr>
                </thead>
                <tbody>
                  <tr>
                    <th>label 1</th>
                    <td className="num mono" data-testid="det-tp">{confusion.tp}</td>
                    <td className="num mono" data-testid="det-fn">{confusion.fn}</td>
                  </tr>
                  <tr>
                    <th>label 0</th>
                    <td className="num mono" data-testid="det-fp">{confusion.fp}</td>
                    <td className="num mono" data-testid="det-tn">{confusion.tn}</td>
                  </tr>
                </tbody>
              </table>
            </div>
            {m?.histogram && <Histogram histogram={m.histogram} threshold={threshold} positive={positive} />}
          </>
        )}
      </section>

      {m?.by_length && (
        <section className="card">
          <div className="card-head">
            <h2>By text length · {convention?.label}</h2>
          </div>
          <p className="muted small">AUROC within each length bucket (words); empty buckets are left out.</p>
          <div className="table-scroll">
            <table className="data-table compact" data-testid="det-by-length">
              <thead>
                <tr>
                  <th>Words</th>
                  <th className="num">Rows</th>
                  <th className="num">label 1 / 0</th>
                  <th className="num">AUROC</th>
                </tr>
              </thead>
              <tbody>
                {m.by_length.filter((b) => b.n > 0).map((b) => (
                  <tr key={b.min}>
                    <td className="mono">{b.max === null ? `${b.min}+` : `${b.min}–${b.max - 1}`}</td>
                    <td className="num mono">{formatInt(b.n)}</td>
                    <td className="num mono">
                      {b.positive} / {b.negative}
                    </td>
                    <td className="num mono">{b.auroc === null ? <span className="muted">one class</span> : formatNum(b.auroc, 3)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      <RunDetails job={job} />
    </div>
  );
}
