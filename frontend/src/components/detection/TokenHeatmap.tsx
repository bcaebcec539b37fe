import { useMemo } from 'react';
import { GLTR_COLOURS, GLTR_LABELS, colourScale, quantitySeries, textColourOn, tokenPieces, type QuantitySpec, type TextScoring } from '../../lib/detection';
import { formatNum } from '../../lib/format';

function fmt(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '—' : formatNum(v, 3);
}

/** One hover line per token: the chosen quantity and the quantities every result has, DC-PDD's f(x) when scored. */
function tokenTitle(s: TextScoring, i: number, label: string, value: number | undefined, clipped: boolean, repeated: boolean): string {
  const lines = [
    `${JSON.stringify(s.tokens[i])} (#${i + 1})`,
    `${label}: ${fmt(value)}`,
    `log p ${fmt(s.per_token.logp?.[i])} · rank ${s.per_token.rank?.[i] ?? '—'} · entropy ${fmt(s.per_token.entropy?.[i])}`,
  ];
  const f = s.per_token.dcpdd_frequency?.[i];
  if (f !== undefined) lines.push(`DC-PDD: f(x) = ${f.toExponential(3)}, contribution ${fmt(s.per_token.dcpdd?.[i])}`);
  if (clipped) lines.push('DC-PDD: clipped at a');
  if (repeated) lines.push('DC-PDD: repeated token (only its first occurrence counts)');
  return lines.join('\n');
}

/** The text with each scored token coloured by a per-token quantity; Min-K% tokens outlined, DC-PDD marks shown. */
export function TokenHeatmap({ text, scoring, quantity }: { text: string; scoring: TextScoring; quantity: QuantitySpec }) {
  const series = quantitySeries(scoring, quantity.key);
  const scale = useMemo(() => (series ? colourScale(quantity, series) : null), [series, quantity]);
  const hasOffsets = Array.isArray(scoring.offsets) && scoring.offsets.length === scoring.tokens.length && scoring.offsets.every(Boolean);
  const { prefix, pieces, tail } = hasOffsets ? tokenPieces(text, scoring.offsets) : { prefix: '', pieces: scoring.tokens, tail: '' };
  const minK = new Set(scoring.marks.min_k ?? scoring.marks.min_k_plus_plus ?? []);
  const clipped = new Set(scoring.marks.dcpdd_clipped ?? []);
  const repeated = new Set(scoring.marks.dcpdd_repeated ?? []);
  return (
    <div className="det-heatmap-wrap">
      {!series && (
        <p className="muted small" data-testid="det-quantity-missing">
          This run has no {quantity.label.toLowerCase()} per token (choose the score that computes it).
        </p>
      )}
      <div className="det-heatmap" data-testid="det-heatmap" data-quantity={quantity.key}>
        {prefix && (
          <span className="det-prefix" title="Not scored: the first token has no context to predict it from">
            {prefix}
          </span>
        )}
        {pieces.map((piece, i) => {
          const value = series?.[i];
          const bg = scale && value !== undefined && Number.isFinite(value) ? scale.colour(value) : undefined;
          const cls = ['det-tok', minK.has(i) ? 'is-mink' : '', clipped.has(i) ? 'is-clipped' : '', repeated.has(i) ? 'is-repeated' : ''].filter(Boolean).join(' ');
          return (
            <span
              key={i}
              className={cls}
              style={bg ? { background: bg, color: textColourOn(bg) } : undefined}
              title={tokenTitle(scoring, i, quantity.label, value, clipped.has(i), repeated.has(i))}
              data-testid="det-token"
              data-value={value}
            >
              {piece}
            </span>
          );
        })}
        {tail && <span className="det-prefix">{tail}</span>}
      </div>
      <HeatmapLegend quantity={quantity} min={scale?.min} max={scale?.max} colour={scale?.colour} marks={{ minK: minK.size > 0, dcpdd: clipped.size + repeated.size > 0 }} />
    </div>
  );
}

function HeatmapLegend({
  quantity,
  min,
  max,
  colour,
  marks,
}: {
  quantity: QuantitySpec;
  min?: number;
  max?: number;
  colour?: (v: number) => string;
  marks: { minK: boolean; dcpdd: boolean };
}) {
  return (
    <div className="det-legend small" data-testid="det-legend">
      {quantity.scale === 'gltr' ? (
        GLTR_LABELS.map((label, i) => (
          <span key={label} className="det-legend-item">
            <span className="det-swatch" style={{ background: GLTR_COLOURS[i] }} /> {label}
          </span>
        ))
      ) : min !== undefined && max !== undefined && colour ? (
        <span className="det-legend-item">
          <span className="mono">{formatNum(min, 2)}</span>
          <span className="det-ramp" style={{ background: `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map((t) => colour(min + t * (max - min))).join(', ')})` }} />
          <span className="mono">{formatNum(max, 2)}</span>
        </span>
      ) : null}
      <span className="muted">{quantity.hint}</span>
      {marks.minK && (
        <span className="det-legend-item">
          <span className="det-tok is-mink det-swatch-tok">x</span> Min-K% token
        </span>
      )}
      {marks.dcpdd && (
        <>
          <span className="det-legend-item">
            <span className="det-tok is-clipped det-swatch-tok">x</span> DC-PDD clipped
          </span>
          <span className="det-legend-item">
            <span className="det-tok is-repeated det-swatch-tok">x</span> repeated (not counted)
          </span>
        </>
      )}
    </div>
  );
}
