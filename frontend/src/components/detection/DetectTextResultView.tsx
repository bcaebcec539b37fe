import { useState } from 'react';
import { exportUrl, permalinkFor } from '../../api/client';
import type { Job } from '../../api/types';
import { QUANTITIES, signLabel, type DetectTextResult, type QuantityKey } from '../../lib/detection';
import { formatInt, formatNum } from '../../lib/format';
import { useSession } from '../../session';
import { CopyButton, Notice } from '../common';
import { RunDetails } from '../RunDetails';
import { TokenHeatmap } from './TokenHeatmap';

export function ExportLinks({ job }: { job: Job }) {
  const { team } = useSession();
  const permalink = permalinkFor(job);
  return (
    <div className="summary-actions">
      <a className="btn btn-small" href={exportUrl(job.id, 'json', team?.slug ?? null)} download data-testid="export-json">
        Export JSON
      </a>
      <a className="btn btn-small" href={exportUrl(job.id, 'csv', team?.slug ?? null)} download data-testid="export-csv">
        Export CSV
      </a>
      <CopyButton text={permalink} label="Copy permalink" copiedLabel="Link copied" className="btn btn-small" testId="permalink-button" title={permalink} />
    </div>
  );
}

/** Every score of one text, one column per model, with its meaning and sign convention. */
function ScoreTable({ result, textIndex }: { result: DetectTextResult; textIndex: number }) {
  return (
    <div className="table-scroll">
      <table className="data-table compact det-score-table" data-testid="det-score-table">
        <thead>
          <tr>
            <th>Score</th>
            {result.runs.map((run) => (
              <th key={run.model.id} className="num">
                {run.model.name}
              </th>
            ))}
            <th>Sign</th>
            <th>Meaning</th>
          </tr>
        </thead>
        <tbody>
          {result.scores.map((c) => (
            <tr key={c.name} data-testid="det-score-row" data-score={c.name}>
              <td title={c.source}>
                <strong>{c.label}</strong>
              </td>
              {result.runs.map((run) => {
                const v = run.results[textIndex]?.scores[c.name];
                return (
                  <td key={run.model.id} className="num mono">
                    {v === null || v === undefined ? <span className="muted" title="Undefined for this text (see the notes)">—</span> : formatNum(v, 4)}
                  </td>
                );
              })}
              <td className="nowrap">
                <span className={`det-sign det-sign-${c.higher_means}`}>{signLabel(c)}</span>
              </td>
              <td className="small det-meaning">
                {c.description} <span className="muted">({c.source})</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A finished detect_text job: per text, a heatmap per model side by side and the table of scores. */
export function DetectTextResultView({ job, result }: { job: Job; result: DetectTextResult }) {
  const [textIndex, setTextIndex] = useState(0);
  const [quantityKey, setQuantityKey] = useState<QuantityKey>('logp');
  const quantity = QUANTITIES.find((q) => q.key === quantityKey) ?? QUANTITIES[0];
  const text = result.texts[textIndex] ?? '';
  const available = QUANTITIES.filter((q) => q.key === 'logp' || result.runs.some((run) => run.results[textIndex] && (q.key === 'binoculars_pair' ? run.results[textIndex].per_token.binoculars_performer_nll : run.results[textIndex].per_token[q.key])));
  const k = result.params.k;
  return (
    <div className="det-result" data-testid="det-text-result">
      <section className="card">
        <div className="card-head det-head">
          <h2>Scores</h2>
          <ExportLinks job={job} />
        </div>
        {result.texts.length > 1 && (
          <label className="field-inline">
            Text{' '}
            <select className="input" value={textIndex} onChange={(e) => setTextIndex(Number(e.target.value))} data-testid="det-text-select">
              {result.texts.map((t, i) => (
                <option key={i} value={i}>
                  {i + 1}: {t.slice(0, 60)}
                </option>
              ))}
            </select>
          </label>
        )}
        <ScoreTable result={result} textIndex={textIndex} />
        <p className="muted small">
          Parameters: k = {k} (Min-K% / Min-K%++), a = {result.params.dcpdd_a} (DC-PDD), at most {formatInt(result.params.max_tokens)} tokens per text.
          {result.reference_model && <> Reference model: {result.reference_model.name}.</>}
          {result.second_model && <> Second model: {result.second_model.name}.</>} {result.length_rule}
        </p>
      </section>
      <section className="card">
        <div className="card-head det-head">
          <h2>Per token</h2>
          <label className="field-inline">
            Colour by{' '}
            <select className="input" value={quantity.key} onChange={(e) => setQuantityKey(e.target.value as QuantityKey)} data-testid="det-quantity">
              {QUANTITIES.map((q) => (
                <option key={q.key} value={q.key} disabled={!available.includes(q)}>
                  {q.label}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className={`det-side-by-side det-cols-${Math.min(result.runs.length, 2)}`}>
          {result.runs.map((run) => {
            const scoring = run.results[textIndex];
            if (!scoring) return null;
            return (
              <div key={run.model.id} className="det-model-col" data-testid="det-model-col" data-model={run.model.id}>
                <h3 className="det-model-name">
                  {run.model.name} <span className="muted small">· {formatInt(scoring.n_tokens)} scored tokens</span>
                </h3>
                {scoring.truncated && <Notice kind="warn">Truncated: only the first {formatInt(scoring.n_tokens + 1)} tokens were scored.</Notice>}
                <TokenHeatmap text={text} scoring={scoring} quantity={quantity} />
                {scoring.notes.length > 0 && <p className="muted small">{scoring.notes.join(' · ')}</p>}
              </div>
            );
          })}
        </div>
      </section>
      <RunDetails job={job} />
    </div>
  );
}
