import { act, useState } from 'react';
import { describe, expect, it } from 'vitest';
import type { SpeculativeResult } from '../api/types';
import sampledFixture from '../fixtures/speculative-sampled.json';
import treeFixture from '../fixtures/speculative-tree.json';
import { render } from '../test/render';
import { AcceptanceChart } from './AcceptanceChart';
import { SpecSummary, formatSpeedup } from './SpecSummary';
import { SpecTokens } from './SpecTokens';
import { StepInspector } from './StepInspector';
import { formatNum, formatPercent } from '../lib/format';
import { acceptanceByPosition, prefillNote, traceTokens } from '../lib/speculative';

const sampled = sampledFixture as unknown as SpeculativeResult;
const tree = treeFixture as unknown as SpeculativeResult;

function Harness({ result, initial = 0 }: { result: SpeculativeResult; initial?: number }) {
  const [sel, setSel] = useState(initial);
  return <StepInspector steps={result.trace.steps} selected={sel} onSelect={setSel} />;
}

const q = (root: ParentNode, sel: string) => Array.from(root.querySelectorAll<HTMLElement>(sel));

describe('StepInspector', () => {
  it('lists every step and shows the selected step’s draft chain, rejection and correction', () => {
    const r = render(<Harness result={sampled} />);
    const inspector = r.container.querySelector('[data-testid="step-inspector"]')!;
    expect(q(inspector, '[data-testid="spec-step"]').map((e) => e.dataset.index)).toEqual(sampled.trace.steps.map((_, i) => String(i)));
    const rows = q(inspector, '[data-testid="draft-row"]');
    expect(rows.map((e) => e.dataset.decision)).toEqual(['accepted', 'rejected', 'unverified', 'unverified', 'unverified']);
    // q(x), p(x), min(1, p/q), u for the rejected token " are"
    const cells = q(rows[1], 'td').map((td) => td.textContent);
    expect(cells[1]).toBe('·are');
    expect(cells.slice(2, 6)).toEqual(['1.000', '0.083', '0.083', '0.106']);
    const outcome = inspector.querySelector('.outcome')!.textContent!;
    expect(outcome).toMatch(/First rejection at position 2/);
    expect(outcome).toMatch(/Resampled/);
    expect(outcome).toMatch(/residual/);
    // the top-k bars of p and q for the (default) rejected position, the drafted token highlighted
    expect(q(inspector, '.topk-pair .topk')).toHaveLength(2);
    expect(inspector.querySelector('.topk-list li.is-drafted')?.textContent).toContain('·are');
    // timings, forward calls and KV rollback
    expect(inspector.textContent).toMatch(/KV rollback \(target\)4/);
    expect(inspector.textContent).toMatch(/target forward calls1/);
    r.unmount();
  });

  it('moves between steps with the step bars and the ← / → keys', () => {
    const r = render(<Harness result={sampled} />);
    const selected = () => r.container.querySelector<HTMLElement>('[data-testid="spec-step"][aria-selected="true"]')!.dataset.index;
    act(() => q(r.container, '[data-testid="spec-step"]')[3].click());
    expect(selected()).toBe('3');
    act(() => {
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight' }));
    });
    expect(selected()).toBe('4');
    expect(r.container.querySelector('.outcome')!.textContent).toMatch(/No draft this step/);
    act(() => {
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft' }));
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowLeft' }));
    });
    expect(selected()).toBe('2');
    r.unmount();
  });

  it('selects a draft token to show its top-k', () => {
    const r = render(<Harness result={sampled} />);
    act(() => q(r.container, '[data-testid="draft-row"]')[0].click());
    expect(r.container.querySelector('.step-side .sub-h')!.textContent).toMatch(/position 1/);
    expect(r.container.querySelector('.topk-list li.is-drafted')?.textContent).toContain('You');
    r.unmount();
  });

  it('draws a tree step with the accepted path highlighted', () => {
    const r = render(<Harness result={tree} initial={2} />);
    const nodes = q(r.container, '[data-testid="tree-node"]');
    expect(nodes).toHaveLength(tree.trace.steps[2].draft.length);
    const accepted = tree.trace.steps[2].draft.filter((d) => d.decision === 'accepted').map((d) => String(d.node));
    expect(nodes.filter((n) => n.classList.contains('on-path')).map((n) => n.dataset.node)).toEqual(accepted);
    expect(r.container.querySelectorAll('.tree-edge.on-path').length).toBeGreaterThanOrEqual(accepted.length);
    expect(r.container.querySelector('.tree-next.o-bonus')).not.toBeNull();
    r.unmount();
  });
});

describe('SpecTokens', () => {
  it('renders every token with its origin and can hide rejected drafts', () => {
    const tokens = traceTokens(sampled.trace.steps);
    const r = render(<SpecTokens tokens={tokens} showRejected={false} />);
    const spans = q(r.container, '[data-testid="spec-token"]');
    expect(spans).toHaveLength(tokens.length);
    expect(new Set(spans.map((s) => s.dataset.origin))).toEqual(new Set(['accepted', 'rejected', 'resampled', 'target']));
    expect(r.container.querySelector('[data-testid="spec-output"]')!.classList.contains('hide-rejected')).toBe(true);
    r.unmount();
  });
});

describe('AcceptanceChart and SpecSummary', () => {
  it('draws one bar per draft position at the measured rate', () => {
    const summary = sampled.trace.summary!;
    const bars = acceptanceByPosition(sampled.trace.steps, summary);
    const r = render(<AcceptanceChart bars={bars} />);
    const g = q(r.container, '[data-testid="acceptance-bar"]');
    expect(g.map((e) => e.dataset.position)).toEqual(summary.acceptance_by_position.map((_, i) => String(i + 1)));
    expect(g.map((e) => Number(e.dataset.rate))).toEqual(summary.acceptance_by_position.map((x) => expect.closeTo(x, 5)));
    expect(r.container.querySelectorAll('.chart-beta')).toHaveLength(summary.mean_beta_by_position.length);
    r.unmount();
  });

  it('summarises acceptance, calls, speedup, the baseline check and the lossless note', () => {
    const summary = sampled.trace.summary!;
    const r = render(<SpecSummary result={sampled} />);
    const s = r.container.querySelector('[data-testid="spec-summary"]')!;
    expect(s.querySelector('[data-testid="fig-acceptance"]')!.textContent).toContain(formatPercent(summary.acceptance_rate));
    const tau = s.querySelector('[data-testid="fig-tau"]')!.textContent!;
    expect(tau).toContain(formatNum(summary.tokens_per_target_call, 2));
    expect(tau).toContain(`mean of (1−α`);
    expect(tau).toContain(`= ${formatNum(summary.theoretical_tokens_per_call, 2)}`);
    const speedup = s.querySelector('[data-testid="fig-speedup"]')!.textContent!;
    expect(speedup).toContain(formatSpeedup(summary.measured_speedup));
    expect(speedup).toContain(`theory ${formatSpeedup(summary.theoretical_speedup)}`);
    expect(s.querySelector('[data-testid="fig-identical"]')!.textContent).toMatch(summary.output_matches_baseline ? /✓ identical/ : /✗ differs.*sampling/);
    expect(s.textContent).toMatch(/Lossless\./);
    expect(s.querySelector('[data-testid="acceptance-chart"]')).not.toBeNull();
    r.unmount();
  });

  it('summarises a tree run by depth, without the chain formulas', () => {
    const summary = tree.trace.summary!;
    expect(summary.tree).toBe(true);
    const r = render(<SpecSummary result={tree} />);
    const s = r.container.querySelector('[data-testid="spec-summary"]')!;
    expect(s.querySelector('[data-testid="fig-tau-tree"]')!.textContent).toContain(`${formatNum(summary.mean_gamma, 1)} deep`);
    expect(s.querySelector('[data-testid="fig-tau"]')!.textContent).not.toMatch(/theory τ/);
    expect(s.querySelector('[data-testid="fig-speedup"]')!.textContent).toMatch(/no chain formula for trees/);
    expect(s.querySelector('[data-testid="fig-acceptance"]')!.textContent).toMatch(/levels passed/);
    expect(s.textContent).toMatch(/Acceptance by tree depth/);
    r.unmount();
  });

  it('prices the theory at the measured verification cost when the baseline gives it', () => {
    const summary = { ...sampled.trace.summary!, verify_cost_ratio: 1.48, theoretical_speedup_at_verify_cost: 1.14 };
    const withCost = { ...sampled, trace: { ...sampled.trace, summary } };
    const r = render(<SpecSummary result={withCost} />);
    expect(r.container.querySelector('[data-testid="fig-speedup-verify"]')!.textContent).toMatch(/×1\.14.*v = 1\.48/);
    r.unmount();
    const before = { ...sampled.trace.summary!, verify_cost_ratio: undefined, theoretical_speedup_at_verify_cost: undefined };
    const old = render(<SpecSummary result={{ ...sampled, trace: { ...sampled.trace, summary: before } }} />);
    expect(old.container.querySelector('[data-testid="fig-speedup-verify"]')).toBeNull();
    old.unmount();
  });

  it('labels a lossy run as lossy', () => {
    const lossy = { ...sampled, lossless: { lossless: false, note: 'This verification rule changes the output distribution.' } };
    const r = render(<SpecSummary result={lossy} />);
    expect(r.container.querySelector('.badge-bad')!.textContent).toBe('lossy');
    expect(r.container.textContent).toMatch(/Lossy\./);
    r.unmount();
  });
});

describe('prefillNote', () => {
  const base = sampledFixture.trace.steps[0] as unknown as SpeculativeResult['trace']['steps'][number];
  it('explains a first draft verified inside the prefill forward', () => {
    const note = prefillNote({ ...base, extra: { prefill_tokens: 41 } });
    expect(note!.label).toBe('verified in the prefill');
    expect(note!.note).toContain('prefilled the 41 prompt tokens');
  });
  it('says the token came from the prefill when there was nothing to draft yet', () => {
    const note = prefillNote({ ...base, draft: [], extra: { prefill_tokens: 41 } });
    expect(note!.label).toBe('from the prefill');
    expect(note!.note).toContain('nothing to draft yet');
  });
  it('explains a first token drawn from the prefill logits', () => {
    expect(prefillNote({ ...base, draft: [], extra: { from_prefill: true } })!.note).toContain('no forward pass of its own');
  });
  it('says nothing for an ordinary step', () => {
    expect(prefillNote({ ...base, extra: {} })).toBeNull();
  });
  it('shows the badge in the step inspector', () => {
    const steps = sampledFixture.trace.steps.map((s, i) => (i === 0 ? { ...s, extra: { prefill_tokens: 41 } } : s));
    const result = { ...sampled, trace: { ...sampled.trace, steps } } as unknown as SpeculativeResult;
    const r = render(<Harness result={result} />);
    expect(r.container.querySelector('[data-testid="step-prefill-note"]')!.textContent).toBe('verified in the prefill');
    r.unmount();
  });
});
