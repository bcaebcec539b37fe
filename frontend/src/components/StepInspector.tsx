import { useEffect, useMemo, useRef, useState } from 'react';
import type { DraftTokenRecord, StepRecord, TopK } from '../api/types';
import {
  ORIGIN_LABELS,
  SOURCE_LABELS,
  acceptedPath,
  formatMs,
  formatProb,
  layoutTree,
  originOfNext,
  prefillNote,
  showToken,
  stepStats,
} from '../lib/speculative';

// ---- the step list -----------------------------------------------------------------------------------------------

const UNIT = 8; // px per token in the step strip
const MAX_BAR = 16; // tokens shown per bar before it is capped

function StepStrip({ steps, selected, onSelect }: { steps: StepRecord[]; selected: number; onSelect: (i: number) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current?.querySelector<HTMLElement>(`[data-index="${selected}"]`);
    el?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
  }, [selected]);
  const maxTokens = Math.min(MAX_BAR, steps.reduce((m, s) => Math.max(m, s.accepted_count + Math.max(0, s.draft.length - s.accepted_count) + 1), 1));
  return (
    <div className="step-strip" ref={ref} role="listbox" aria-label="Steps" style={{ height: maxTokens * UNIT + 30 }}>
      {steps.map((s, i) => {
        const st = stepStats(s);
        const rejected = Math.max(0, st.drafted - st.accepted);
        const hasNext = st.emitted > st.accepted;
        const cap = (n: number) => Math.min(n, MAX_BAR);
        return (
          <button
            key={s.index}
            type="button"
            role="option"
            aria-selected={i === selected}
            className={`step-bar${i === selected ? ' is-selected' : ''}`}
            data-testid="spec-step"
            data-index={i}
            onClick={() => onSelect(i)}
            title={`Step ${s.index}: ${st.accepted}/${st.drafted} drafts accepted, ${st.emitted} token${st.emitted === 1 ? '' : 's'} emitted${
              hasNext ? ` (last: ${ORIGIN_LABELS[originOfNext(s.next_source)]})` : ''
            }`}
          >
            <span className="step-stack" aria-hidden="true">
              {rejected > 0 && <span className="seg seg-rejected" style={{ height: cap(rejected) * UNIT }} />}
              {hasNext && <span className={`seg seg-${originOfNext(s.next_source)}`} style={{ height: UNIT }} />}
              {st.accepted > 0 && <span className="seg seg-accepted" style={{ height: cap(st.accepted) * UNIT }} />}
            </span>
            <span className="step-num">{s.index}</span>
          </button>
        );
      })}
    </div>
  );
}

// ---- top-k bars --------------------------------------------------------------------------------------------------

function TopKList({ title, top, highlight, tone }: { title: string; top: TopK | null; highlight?: number; tone: 'p' | 'q' | 'r' }) {
  if (!top || top.ids.length === 0) {
    return (
      <div className="topk">
        <div className="topk-title">{title}</div>
        <p className="muted small">Not recorded.</p>
      </div>
    );
  }
  const max = Math.max(...top.probs, 1e-9);
  return (
    <div className="topk">
      <div className="topk-title">{title}</div>
      <ol className="topk-list">
        {top.ids.map((id, i) => (
          <li key={`${id}-${i}`} className={id === highlight ? 'is-drafted' : undefined} title={`id ${id} · ${top.probs[i]}`}>
            <span className="topk-tok mono">{showToken(top.strings?.[i] ?? `#${id}`)}</span>
            <span className="topk-bar-wrap">
              <span className={`topk-bar tone-${tone}`} style={{ width: `${(top.probs[i] / max) * 100}%` }} />
            </span>
            <span className="topk-val mono">{formatProb(top.probs[i])}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

// ---- tree --------------------------------------------------------------------------------------------------------

const COL = 118;
const ROW = 30;
const NODE_W = 96;
const NODE_H = 22;

function TreeView({ step, selectedNode, onSelectNode }: { step: StepRecord; selectedNode: number | null; onSelectNode: (n: number) => void }) {
  const layout = useMemo(() => layoutTree(step.draft), [step]);
  const path = acceptedPath(step);
  const hasNext = step.emitted.length > Math.min(step.accepted_count, path.length);
  const cols = layout.maxDepth + 1 + (hasNext ? 1 : 0);
  const W = 16 + cols * COL + 8;
  const H = 16 + layout.rows * ROW;
  const x = (depth: number) => 12 + depth * COL;
  const y = (row: number) => 10 + row * ROW;
  const byNode = new Map(layout.nodes.map((n) => [n.node, n]));
  const last = path[path.length - 1];
  const nextRow = last ? byNode.get(last.node)?.row ?? layout.rootRow : layout.rootRow;
  const nextDepth = (last?.depth ?? 0) + 1;
  const label = (s: string | null) => {
    const t = showToken(s);
    return t.length > 11 ? `${t.slice(0, 10)}…` : t;
  };
  return (
    <div className="tree-scroll">
      <svg className="tree-svg" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Draft tree: ${step.draft.length} nodes, accepted path of ${path.length}`}>
        {layout.nodes.map((n) => {
          const parent = n.parent === -1 ? { depth: 0, row: layout.rootRow } : byNode.get(n.parent);
          if (!parent) return null;
          return (
            <path
              key={`e-${n.node}`}
              className={`tree-edge${n.onPath ? ' on-path' : ''}`}
              d={`M${x(parent.depth) + NODE_W} ${y(parent.row) + NODE_H / 2} C ${x(parent.depth) + NODE_W + 14} ${y(parent.row) + NODE_H / 2}, ${x(n.depth) - 14} ${
                y(n.row) + NODE_H / 2
              }, ${x(n.depth)} ${y(n.row) + NODE_H / 2}`}
            />
          );
        })}
        {hasNext && (
          <path
            className={`tree-edge on-path edge-${originOfNext(step.next_source)}`}
            d={`M${x(nextDepth - 1) + NODE_W} ${y(nextRow) + NODE_H / 2} L ${x(nextDepth)} ${y(nextRow) + NODE_H / 2}`}
          />
        )}
        <g className="tree-node tree-root">
          <rect x={x(0)} y={y(layout.rootRow)} width={NODE_W} height={NODE_H} rx={5} />
          <text x={x(0) + NODE_W / 2} y={y(layout.rootRow) + 15} textAnchor="middle">
            context
          </text>
        </g>
        {layout.nodes.map((n) => (
          <g
            key={n.node}
            className={`tree-node d-${n.record.decision}${n.onPath ? ' on-path' : ''}${selectedNode === n.node ? ' is-selected' : ''}`}
            onClick={() => onSelectNode(n.node)}
            data-testid="tree-node"
            data-node={n.node}
            data-decision={n.record.decision}
            role="button"
            tabIndex={0}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                onSelectNode(n.node);
              }
            }}
          >
            <title>{`node ${n.node} · “${showToken(n.record.text)}” · ${n.record.decision} · q ${formatProb(n.record.q)} · p ${formatProb(n.record.p)}`}</title>
            <rect x={x(n.depth)} y={y(n.row)} width={NODE_W} height={NODE_H} rx={5} />
            <text x={x(n.depth) + NODE_W / 2} y={y(n.row) + 15} textAnchor="middle">
              {label(n.record.text)}
            </text>
          </g>
        ))}
        {hasNext && (
          <g className={`tree-node tree-next o-${originOfNext(step.next_source)}`}>
            <title>{`emitted by the target: “${showToken(step.next_text)}” (${step.next_source})`}</title>
            <rect x={x(nextDepth)} y={y(nextRow)} width={NODE_W} height={NODE_H} rx={5} />
            <text x={x(nextDepth) + NODE_W / 2} y={y(nextRow) + 15} textAnchor="middle">
              {label(step.next_text)}
            </text>
          </g>
        )}
      </svg>
    </div>
  );
}

// ---- one step ----------------------------------------------------------------------------------------------------

function DecisionBadge({ decision }: { decision: string }) {
  return <span className={`badge dec-${decision}`}>{decision}</span>;
}

function DraftTable({ step, selectedNode, onSelectNode }: { step: StepRecord; selectedNode: number | null; onSelectNode: (n: number) => void }) {
  const sampling = step.draft.some((r) => r.u !== null);
  return (
    <div className="table-scroll draft-table-wrap">
      <table className="data-table compact draft-table">
        <thead>
          <tr>
            <th>{step.is_tree ? 'Node' : 'Pos'}</th>
            {step.is_tree && <th title="Parent node (−1 = the context)">Parent</th>}
            <th>Token</th>
            <th className="num" title="Draft probability of the token">
              q(x)
            </th>
            <th className="num" title="Target probability of the token">
              p(x)
            </th>
            <th className="num" title={sampling ? 'Acceptance probability min(1, p/q)' : 'Greedy: 1 if the token is the target’s argmax'}>
              min(1, p/q)
            </th>
            <th className="num" title="The uniform draw compared with the acceptance probability">
              u
            </th>
            <th>Decision</th>
            <th className="num" title="β = Σ min(p, q): expected acceptance at this position">
              β
            </th>
          </tr>
        </thead>
        <tbody>
          {step.draft.map((r) => (
            <tr
              key={r.node}
              className={`draft-row d-${r.decision}${selectedNode === r.node ? ' is-selected' : ''}`}
              data-testid="draft-row"
              data-node={r.node}
              data-decision={r.decision}
              onClick={() => onSelectNode(r.node)}
            >
              <td className="mono">{step.is_tree ? r.node : r.depth}</td>
              {step.is_tree && <td className="mono muted">{r.parent}</td>}
              <td className="mono tok-cell">{showToken(r.text)}</td>
              <td className="num mono">{formatProb(r.q)}</td>
              <td className="num mono">{formatProb(r.p)}</td>
              <td className="num mono">{formatProb(r.accept_prob)}</td>
              <td className="num mono">{r.u === null ? <span className="muted">—</span> : formatProb(r.u)}</td>
              <td>
                <DecisionBadge decision={r.decision} />
              </td>
              <td className="num mono">{formatProb(r.beta)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Outcome({ step }: { step: StepRecord }) {
  const rejected: DraftTokenRecord | undefined =
    step.first_rejection === null ? undefined : step.draft.find((r) => r.node === step.first_rejection) ?? step.draft[step.first_rejection];
  const hasNext = step.emitted.length > step.accepted_count;
  const origin = originOfNext(step.next_source);
  return (
    <div className="outcome">
      {step.draft.length === 0 ? (
        <p className="outcome-line">
          <span className="muted">No draft this step</span>
          {step.extra && 'prompt_lookup' in step.extra ? <span className="muted"> (no n-gram match in the context)</span> : null}.
        </p>
      ) : rejected ? (
        <p className="outcome-line">
          <span className="outcome-k">First rejection</span> at {step.is_tree ? `node ${rejected.node} (depth ${rejected.depth})` : `position ${rejected.depth}`}:{' '}
          <span className="st st-rejected mono">{showToken(rejected.text)}</span> — p {formatProb(rejected.p)}, q {formatProb(rejected.q)}, accept{' '}
          {formatProb(rejected.accept_prob)}
          {rejected.u !== null ? (
            <>
              , u = {formatProb(rejected.u)} {rejected.u >= rejected.accept_prob ? '≥' : '<'} {formatProb(rejected.accept_prob)}
            </>
          ) : (
            ' (greedy: not the argmax)'
          )}
        </p>
      ) : step.is_tree ? (
        <p className="outcome-line">
          <span className="outcome-k">
            Accepted a path of {step.accepted_count} token{step.accepted_count === 1 ? '' : 's'}
          </span>{' '}
          out of {step.draft.length} nodes; no candidate on the way was rejected (the walk reached a leaf).
        </p>
      ) : (
        <p className="outcome-line">
          <span className="outcome-k">All {step.accepted_count} draft{step.accepted_count === 1 ? '' : 's'} accepted.</span>
        </p>
      )}
      {hasNext ? (
        <p className="outcome-line">
          <span className="outcome-k">{origin === 'resampled' ? 'Resampled' : origin === 'bonus' ? 'Bonus token' : 'Target token'}</span>:{' '}
          <span className={`st st-${origin} mono`}>{showToken(step.next_text)}</span> <span className="muted">id {step.next_token}</span> — source{' '}
          <strong>{step.next_source}</strong> ({SOURCE_LABELS[step.next_source] ?? step.next_source}), prob {formatProb(step.next_prob)}
          {step.next_u !== null && <>, u = {formatProb(step.next_u)}</>}
        </p>
      ) : (
        <p className="outcome-line muted">The step ended at an end-of-sequence token inside the draft; no target token was added.</p>
      )}
    </div>
  );
}

function Timings({ step }: { step: StepRecord }) {
  const total = step.draft_ms + step.verify_ms + step.overhead_ms || 1;
  const parts = [
    { key: 'draft', label: 'draft', ms: step.draft_ms },
    { key: 'verify', label: 'verify', ms: step.verify_ms },
    { key: 'overhead', label: 'overhead', ms: step.overhead_ms },
  ];
  return (
    <div className="timings">
      <div className="timing-bar" aria-hidden="true">
        {parts.map((p) => (
          <span key={p.key} className={`timing-seg t-${p.key}`} style={{ width: `${(p.ms / total) * 100}%` }} />
        ))}
      </div>
      <dl className="kv-grid">
        {parts.map((p) => (
          <div key={p.key} className="kv">
            <dt>
              <span className={`key-swatch t-${p.key}`} aria-hidden="true" />
              {p.label}
            </dt>
            <dd className="mono">{formatMs(p.ms)}</dd>
          </div>
        ))}
        <div className="kv">
          <dt>target forward calls</dt>
          <dd className="mono">{step.target_forwards}</dd>
        </div>
        <div className="kv">
          <dt>draft forward calls</dt>
          <dd className="mono">{step.draft_forwards}</dd>
        </div>
        <div className="kv">
          <dt title="Target KV-cache entries discarded after verification (rejected draft tokens)">KV rollback (target)</dt>
          <dd className="mono">{step.kv_rollback}</dd>
        </div>
        <div className="kv">
          <dt title="Draft-model KV-cache entries discarded">KV rollback (draft)</dt>
          <dd className="mono">{step.draft_kv_rollback}</dd>
        </div>
        <div className="kv">
          <dt>prefix length</dt>
          <dd className="mono">
            {step.prefix_len_before} → {step.prefix_len_after}
          </dd>
        </div>
      </dl>
    </div>
  );
}

export function StepDetail({ step }: { step: StepRecord }) {
  const defaultNode = () => {
    if (step.first_rejection !== null) return step.draft.find((r) => r.node === step.first_rejection)?.node ?? null;
    return step.draft[0]?.node ?? null;
  };
  // The parent keys this component by step, so the selection starts fresh on every step.
  const [node, setNode] = useState<number | null>(defaultNode);
  const record = step.draft.find((r) => r.node === node) ?? null;
  const st = stepStats(step);
  const hasExtra = step.extra && Object.keys(step.extra).length > 0;
  const prefill = prefillNote(step);
  return (
    <div className="step-detail" data-step-index={step.index}>
      <div className="step-chips">
        <span className="badge badge-accent">step {step.index}</span>
        <span className="badge">source {step.draft_source}</span>
        {step.gamma > 0 && <span className="badge">γ = {step.gamma}</span>}
        <span className="badge">
          accepted {st.accepted}/{st.drafted}
        </span>
        <span className="badge">
          emitted {st.emitted} token{st.emitted === 1 ? '' : 's'}
        </span>
        {st.emitted > st.accepted && <span className={`badge o-${originOfNext(step.next_source)}`}>next: {step.next_source}</span>}
        {!step.lossless && <span className="badge badge-bad">lossy rule</span>}
        {prefill && (
          <span className="badge" data-testid="step-prefill-note" title={prefill.note}>
            {prefill.label}
          </span>
        )}
      </div>

      <Outcome step={step} />

      {step.is_tree && step.draft.length > 0 && (
        <div className="tree-block">
          <h3 className="sub-h">
            Draft tree · {step.draft.length} nodes · accepted path highlighted <span className="muted">(click a node for its probabilities)</span>
          </h3>
          <TreeView step={step} selectedNode={node} onSelectNode={setNode} />
        </div>
      )}
      {step.draft.length > 0 && (
        <div className="step-grid">
          <div className="step-main">
            <h3 className="sub-h">{step.is_tree ? 'Nodes' : 'Draft chain'}</h3>
            <DraftTable step={step} selectedNode={node} onSelectNode={setNode} />
          </div>
          <div className="step-side">
            <h3 className="sub-h">
              {record ? (
                <>
                  Top-k at {step.is_tree ? `node ${record.node}` : `position ${record.depth}`}: <span className="mono">{showToken(record.text)}</span>
                </>
              ) : (
                'Top-k'
              )}
            </h3>
            {record ? (
              <>
                <div className="topk-pair">
                  <TopKList title="target p" top={record.top_p} highlight={record.token} tone="p" />
                  <TopKList title="draft q" top={record.top_q} highlight={record.token} tone="q" />
                </div>
                <p className="muted small">
                  H(p) {record.entropy_p.toFixed(2)} · H(q) {record.entropy_q.toFixed(2)} nats · β {formatProb(record.beta)}
                </p>
              </>
            ) : (
              <p className="muted small">Click a draft token to see the target’s and the draft’s top candidates.</p>
            )}
          </div>
        </div>
      )}
      {step.residual_top && (
        <div className="residual">
          <TopKList title="residual norm(max(0, p − q)) — what the correction was drawn from" top={step.residual_top} highlight={step.next_token} tone="r" />
        </div>
      )}
      <h3 className="sub-h">Cost</h3>
      <Timings step={step} />
      {hasExtra && (
        <details className="step-extra">
          <summary>Drafter / verifier details</summary>
          <pre className="mono">{JSON.stringify(step.extra, null, 2)}</pre>
        </details>
      )}
    </div>
  );
}

// ---- the inspector -----------------------------------------------------------------------------------------------

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

/** Step list + the selected step's draft, verification, top-k and cost. ←/→ move between steps. */
export function StepInspector({
  steps,
  selected,
  onSelect,
  keyboard = true,
}: {
  steps: StepRecord[];
  selected: number;
  onSelect: (i: number) => void;
  /** Listen to ←/→ on the page (off when several inspectors are shown). */
  keyboard?: boolean;
}) {
  const count = steps.length;
  const index = Math.min(Math.max(0, selected), Math.max(0, count - 1));
  const cb = useRef(onSelect);
  cb.current = onSelect;
  // The latest index, also advanced by the handler itself so that quick repeats (a held key) do not skip.
  const current = useRef(index);
  current.current = index;
  useEffect(() => {
    if (!keyboard || count === 0) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey || isTyping(e.target)) return;
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      e.preventDefault();
      const next = e.key === 'ArrowRight' ? Math.min(count - 1, current.current + 1) : Math.max(0, current.current - 1);
      current.current = next;
      cb.current(next);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [keyboard, count]);

  if (count === 0) {
    return (
      <section className="card step-inspector" data-testid="step-inspector">
        <div className="card-head">
          <h2>Steps</h2>
        </div>
        <p className="muted">No steps recorded.</p>
      </section>
    );
  }
  const step = steps[index];
  return (
    <section className="card step-inspector" data-testid="step-inspector" aria-labelledby="inspector-heading">
      <div className="card-head">
        <h2 id="inspector-heading">Step inspector</h2>
        <span className="muted small">
          {count} step{count === 1 ? '' : 's'} · one target call each · click a bar or a token, or use <kbd className="shortcut">←</kbd>{' '}
          <kbd className="shortcut">→</kbd>
        </span>
        <div className="step-nav">
          <button type="button" className="btn btn-small" onClick={() => onSelect(Math.max(0, index - 1))} disabled={index === 0} aria-label="Previous step">
            ←
          </button>
          <span className="mono small">
            {index + 1} / {count}
          </span>
          <button type="button" className="btn btn-small" onClick={() => onSelect(Math.min(count - 1, index + 1))} disabled={index >= count - 1} aria-label="Next step">
            →
          </button>
        </div>
      </div>
      <StepStrip steps={steps} selected={index} onSelect={onSelect} />
      <StepDetail key={step.index} step={step} />
    </section>
  );
}
