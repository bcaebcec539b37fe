import { useEffect, useMemo, useState } from 'react';
import { api, exportUrl, permalinkFor } from '../api/client';
import type { Job, SpeculativeResult } from '../api/types';
import { useApi } from '../hooks/useApi';
import { formatRelative } from '../lib/format';
import { compareRows, isSpeculativeResult, methodLabel, samePrompt, traceTokens } from '../lib/speculative';
import { Link } from '../router';
import { useSession } from '../session';
import { CopyButton, ErrorBanner, Notice, Spinner } from './common';
import { SpecSummary } from './SpecSummary';
import { OriginLegend, SpecTokens } from './SpecTokens';
import { RunDetails } from './RunDetails';
import { StepInspector } from './StepInspector';

/** The generated text with its colour legend, rejected-draft toggle, the prompt and the baseline's output. */
function OutputCard({ result, selectedStep, onSelectStep }: { result: SpeculativeResult; selectedStep: number; onSelectStep: (i: number) => void }) {
  const tokens = useMemo(() => traceTokens(result.trace.steps), [result]);
  const [showRejected, setShowRejected] = useState(true);
  const match = result.trace.summary?.output_matches_baseline;
  const hasRejected = tokens.some((t) => t.origin === 'rejected');
  return (
    <section className="card spec-output-card" aria-labelledby="spec-output-heading">
      <div className="card-head">
        <h2 id="spec-output-heading">Output</h2>
        {hasRejected && (
          <label className="toggle">
            <input type="checkbox" checked={showRejected} onChange={(e) => setShowRejected(e.target.checked)} data-testid="show-rejected" />
            Show rejected drafts
          </label>
        )}
        <CopyButton text={result.output_text} label="Copy text" className="btn btn-small" />
      </div>
      <OriginLegend tokens={tokens} />
      <SpecTokens tokens={tokens} showRejected={showRejected} selectedStep={selectedStep} onSelectStep={onSelectStep} />
      <div className="spec-extras">
        <details>
          <summary>Prompt as the model saw it ({result.prompt_ids.length} tokens)</summary>
          <pre className="prompt-pre">{result.prompt_text}</pre>
        </details>
        {result.baseline && (
          <details>
            <summary>
              Baseline (autoregressive) output{' '}
              {match === true ? <span className="ok-mark">✓ identical</span> : match === false ? <span className="bad-mark">✗ differs</span> : null}
            </summary>
            <pre className="prompt-pre">{result.baseline.output_text}</pre>
          </details>
        )}
      </div>
    </section>
  );
}

function CompareView({ a, b, onClose }: { a: { job: Job; result: SpeculativeResult }; b: { job: Job; result: SpeculativeResult }; onClose: () => void }) {
  const rows = useMemo(() => compareRows(a.result, b.result), [a.result, b.result]);
  const tokensA = useMemo(() => traceTokens(a.result.trace.steps), [a.result]);
  const tokensB = useMemo(() => traceTokens(b.result.trace.steps), [b.result]);
  const same = samePrompt(a.result, b.result);
  return (
    <section className="card spec-compare" data-testid="spec-compare" aria-labelledby="compare-heading">
      <div className="card-head">
        <h2 id="compare-heading">Comparison</h2>
        <span className="muted small">{same ? 'Same prompt, two runs.' : ''}</span>
        <button type="button" className="btn btn-small btn-ghost" onClick={onClose}>
          Close comparison ✕
        </button>
      </div>
      {!same && <Notice kind="warn">The two runs decoded different prompts, so their numbers are not directly comparable.</Notice>}
      <div className="table-scroll">
        <table className="data-table compact compare-table">
          <thead>
            <tr>
              <th>Metric</th>
              <th>
                A · this run <span className="muted small">{methodLabel(a.result)}</span>
              </th>
              <th>
                B ·{' '}
                <Link to={`/results/${encodeURIComponent(b.job.id)}`} title={b.job.title}>
                  {formatRelative(b.job.created_at)}
                </Link>{' '}
                <span className="muted small">{methodLabel(b.result)}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key} data-metric={r.key}>
                <td className="metric-name">{r.label}</td>
                <td className={r.better === 'a' ? 'is-better' : undefined}>{r.a}</td>
                <td className={r.better === 'b' ? 'is-better' : undefined}>{r.b}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <OriginLegend compact />
      <div className="compare-columns">
        <div>
          <h3 className="sub-h">A · {methodLabel(a.result)}</h3>
          <SpecTokens tokens={tokensA} testId="compare-output" />
        </div>
        <div>
          <h3 className="sub-h">B · {methodLabel(b.result)}</h3>
          <SpecTokens tokens={tokensB} testId="compare-output" />
        </div>
      </div>
    </section>
  );
}

/** "Compare with…": pick another saved speculative run of the team. */
function ComparePicker({ currentId, value, onChange }: { currentId: string; value: string | null; onChange: (id: string | null) => void }) {
  const { team } = useSession();
  const { data, error, loading } = useApi((signal) => api.jobs({ kind: 'speculative' }, signal), [team?.slug]);
  const options = (data?.results ?? []).filter((j) => j.id !== currentId && j.status === 'succeeded');
  return (
    <label className="field-inline compare-picker">
      <span>Compare with</span>
      <select className="select" value={value ?? ''} onChange={(e) => onChange(e.target.value || null)} disabled={loading && !data} data-testid="compare-select">
        <option value="">{loading && !data ? 'Loading runs…' : error ? 'Could not load runs' : options.length ? 'another run…' : 'no other saved runs'}</option>
        {options.map((j) => (
          <option key={j.id} value={j.id}>
            {formatRelative(j.created_at)} · {j.title || j.id.slice(0, 8)}
          </option>
        ))}
      </select>
    </label>
  );
}

function LoadedCompare({ a, compareId, onClose }: { a: { job: Job; result: SpeculativeResult }; compareId: string; onClose: () => void }) {
  const { data, error, loading, reload } = useApi((signal) => api.job(compareId, signal), [compareId]);
  if (loading && !data) return <Spinner label="Loading the other run…" />;
  if (error) return <ErrorBanner error={error} title="Could not load the run to compare with" onRetry={reload} onDismiss={onClose} />;
  if (!data) return null;
  if (!isSpeculativeResult(data.result)) return <Notice kind="warn">That job has no speculative-decoding result to compare with.</Notice>;
  return <CompareView a={a} b={{ job: data, result: data.result }} onClose={onClose} />;
}

interface Props {
  job: Job;
  result: SpeculativeResult;
  /** Id of a run shown side by side (controlled, e.g. from `?compare=` on the permalink page). */
  compareId?: string | null;
  onCompareChange?: (id: string | null) => void;
}

/** A finished speculative-decoding run: summary, coloured output, step inspector, export/permalink and compare. */
export function SpecResultView({ job, result, compareId: controlledCompare, onCompareChange }: Props) {
  const { team } = useSession();
  const [selected, setSelected] = useState(() => {
    const first = result.trace.steps.findIndex((s) => s.first_rejection !== null);
    return first >= 0 ? first : 0;
  });
  const [localCompare, setLocalCompare] = useState<string | null>(null);
  const compareId = controlledCompare !== undefined ? controlledCompare : localCompare;
  const setCompare = (id: string | null) => (onCompareChange ? onCompareChange(id) : setLocalCompare(id));
  useEffect(() => setSelected((s) => Math.min(s, Math.max(0, result.trace.steps.length - 1))), [result]);
  const stepIndexOf = useMemo(() => new Map(result.trace.steps.map((s, i) => [s.index, i])), [result]);
  const permalink = permalinkFor(job);

  const actions = (
    <>
      <a className="btn btn-small" href={exportUrl(job.id, 'json', team?.slug ?? null)} download data-testid="export-json">
        Export JSON
      </a>
      <CopyButton text={permalink} label="Copy permalink" copiedLabel="Link copied" className="btn btn-small" testId="permalink-button" title={permalink} />
      <Link to={`/speculative?from=${encodeURIComponent(job.id)}`} className="btn btn-small" data-testid="spec-rerun">
        Edit &amp; re-run
      </Link>
      <Link to={`/detection?from=${encodeURIComponent(job.id)}`} className="btn btn-small" data-testid="score-this-text" title="Score the prompt and output on the Detection page">
        Score this text
      </Link>
    </>
  );

  return (
    <div className="spec-result" data-testid="spec-result">
      <SpecSummary result={result} actions={actions} />
      <div className="compare-bar">
        <ComparePicker currentId={job.id} value={compareId} onChange={setCompare} />
        <span className="muted small">Pick another saved run (e.g. another drafter on the same prompt) to see both side by side.</span>
      </div>
      {compareId && <LoadedCompare a={{ job, result }} compareId={compareId} onClose={() => setCompare(null)} />}
      <OutputCard result={result} selectedStep={result.trace.steps[selected]?.index ?? -1} onSelectStep={(idx) => setSelected(stepIndexOf.get(idx) ?? 0)} />
      <StepInspector steps={result.trace.steps} selected={selected} onSelect={setSelected} />
      <RunDetails job={job} />
    </div>
  );
}
