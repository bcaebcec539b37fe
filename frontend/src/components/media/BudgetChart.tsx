// The cross-modal budget (GET /media/budget/): tokens for one second of audio, one image and one page of text in
// each tokenizer, on one log-scaled bar chart.
import { useApi } from '../../hooks/useApi';
import { isBudgetModality, mediaApi, type BudgetModality, type BudgetRow } from '../../lib/mediaApi';
import { useSession } from '../../session';
import { ErrorBanner, Spinner } from '../common';

const MODALITY_COLOUR: Record<BudgetModality, string> = { audio: '#1c7ed6', image: '#e8590c', text: '#2f9e44' };
const MODALITY_LABEL: Record<BudgetModality, string> = { audio: '1 s of audio', image: 'one image', text: 'one page of text' };
const MODALITY_ORDER: Record<BudgetModality, number> = { audio: 0, image: 1, text: 2 };
const UNIT_LABEL: Record<BudgetRow['unit'], string> = { second: 'one second of audio', image: 'one image', page: 'one page of text' };
const ROW_H = 20;
const LABEL_W = 210;
const W = 720;

/** The x position (0..1) of `tokens` on a log axis from 1 to `max`. */
export function logFraction(tokens: number, max: number): number {
  if (!(tokens > 0) || !(max > 1)) return 0;
  return Math.max(0, Math.min(1, Math.log10(Math.max(tokens, 1)) / Math.log10(max)));
}

export function BudgetChart() {
  const { team } = useSession();
  const budget = useApi((signal) => mediaApi.budget(signal), [team?.slug]);
  if (budget.error) return <ErrorBanner error={budget.error} title="Could not load the token budget" onRetry={budget.reload} />;
  if (!budget.data) return <Spinner label="Counting tokens…" />;
  const rows = budget.data.rows
    .filter((r): r is BudgetRow & { tokens: number; modality: BudgetModality } => r.tokens !== null && r.tokens > 0 && isBudgetModality(r.modality))
    .sort((a, b) => MODALITY_ORDER[a.modality] - MODALITY_ORDER[b.modality] || a.tokens - b.tokens);
  const uncounted = budget.data.rows.filter((r) => r.tokens === null || !(r.tokens > 0));
  const max = 10 ** Math.ceil(Math.log10(Math.max(10, ...rows.map((r) => r.tokens))));
  const decades = Array.from({ length: Math.round(Math.log10(max)) + 1 }, (_, i) => 10 ** i);
  const iw = W - LABEL_W - 70;
  const h = rows.length * ROW_H + 28;
  return (
    <figure className="media-chart media-budget" data-testid="media-budget" data-rows={rows.length}>
      <figcaption className="chart-caption">
        What one second of audio, one image and one page of text cost, per tokenizer (tokens, log scale)
        <span className="chart-keys">
          {(Object.keys(MODALITY_LABEL) as BudgetModality[]).map((m) => (
            <span key={m} className="chart-key">
              <span className="key-bar" style={{ background: MODALITY_COLOUR[m] }} />
              {MODALITY_LABEL[m]}
            </span>
          ))}
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${h}`} role="img" aria-label="Tokens per unit of each modality, per tokenizer">
        {decades.map((d) => {
          const x = LABEL_W + logFraction(d, max) * iw;
          return (
            <g key={d}>
              <line className="chart-grid" x1={x} x2={x} y1={0} y2={rows.length * ROW_H} />
              <text className="chart-label" x={x} y={rows.length * ROW_H + 14} textAnchor="middle">
                {d >= 1000 ? `${d / 1000}k` : d}
              </text>
            </g>
          );
        })}
        {rows.map((r, i) => {
          const y = i * ROW_H;
          const w = Math.max(1, logFraction(r.tokens, max) * iw);
          return (
            <g key={`${r.modality}:${r.id}`} data-testid="media-budget-row" data-tokenizer-id={r.id} data-modality={r.modality} data-tokens={r.tokens} opacity={r.installed === false ? 0.5 : 1}>
              <text className="chart-label media-budget-label" x={LABEL_W - 6} y={y + ROW_H / 2 + 4} textAnchor="end">
                {r.label ?? r.id}
                {r.installed === false ? ' (not installed)' : ''}
              </text>
              <rect x={LABEL_W} y={y + 3} width={w} height={ROW_H - 6} rx={2} fill={MODALITY_COLOUR[r.modality]}>
                <title>
                  {r.label ?? r.id}: {r.tokens.toLocaleString('en-US')} tokens for {UNIT_LABEL[r.unit]}
                  {r.note ? ` (${r.note})` : ''}
                </title>
              </rect>
              <text className="chart-label" x={LABEL_W + w + 4} y={y + ROW_H / 2 + 4}>
                {r.tokens.toLocaleString('en-US', { maximumFractionDigits: 1 })}
              </text>
            </g>
          );
        })}
      </svg>
      {typeof budget.data.page.chars === 'number' ? <p className="muted small">The page of text: {budget.data.page.chars.toLocaleString('en-US')} characters of English prose, counted by each bundled text tokenizer.</p> : null}
      {uncounted.length > 0 && (
        <p className="muted small" data-testid="media-budget-uncounted">
          No fixed count: {uncounted.map((r) => `${r.label ?? r.id}${r.note ? ` (${r.note})` : ''}`).join('; ')}.
        </p>
      )}
    </figure>
  );
}
