import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type FocusEvent, type MouseEvent } from 'react';
import { exportUrl, permalinkFor } from '../api/client';
import type { Job, Token, TokenizeResultPayload, TokenizerResult } from '../api/types';
import { formatBytes, formatInt, formatPercent } from '../lib/format';
import { agreementRatio, linkRange, normalizeRanges } from '../lib/ranges';
import { tokenSpread } from '../lib/stats';
import { KIND_HELP, KIND_LABELS, byteLength, codePoints, escapeTokenString, expandResult, formatHexBytes } from '../lib/tokens';
import { Link } from '../router';
import { useSession } from '../session';
import { CopyButton, Notice } from './common';
import { RunDetails } from './RunDetails';
import { StatsTable } from './StatsTable';
import { TokenPanel, type ViewMode } from './TokenPanel';

/** Tokens rendered per panel before "Show all" (keeps the page responsive on big inputs). */
export const INITIAL_TOKEN_LIMIT = 4000;

interface TipState {
  panel: number;
  index: number;
  x: number;
  y: number;
  below: boolean;
}

function TokenTooltip({ tip, result }: { tip: TipState; result: TokenizerResult }) {
  const token: Token | undefined = result.tokens[tip.index];
  if (!token) return null;
  const nChars = Math.max(0, token.end - token.start);
  return (
    <div
      className={`tok-tip${tip.below ? ' below' : ''}`}
      role="tooltip"
      id="token-tooltip"
      data-testid="token-tooltip"
      style={{ left: tip.x, top: tip.y }}
    >
      <div className="tip-head">
        <span>{result.tokenizer.name}</span>
        <span className="tip-index">#{tip.index}</span>
      </div>
      <dl className="tip-grid">
        <dt>ID</dt>
        <dd className="mono">{token.id}</dd>
        <dt>Token</dt>
        <dd className="mono tip-string">{escapeTokenString(token.text)}</dd>
        <dt>Bytes</dt>
        <dd className="mono">
          {formatHexBytes(token.bytes) || '—'} <span className="muted">({byteLength(token.bytes)} B)</span>
        </dd>
        <dt>Chars</dt>
        <dd className="mono">
          [{token.start}, {token.end}) <span className="muted">({nChars} char{nChars === 1 ? '' : 's'})</span>
        </dd>
        <dt>Kind</dt>
        <dd>
          <span className={`kind-pill k-${token.kind}`}>{KIND_LABELS[token.kind] ?? token.kind}</span>
        </dd>
      </dl>
      {token.kind !== 'normal' && <p className="tip-help">{KIND_HELP[token.kind]}</p>}
    </div>
  );
}

export function Legend() {
  return (
    <div className="legend" aria-label="Legend">
      <span className="legend-item">
        <span className="tok tc-0 legend-sample">tok</span>
        <span className="tok tc-1 legend-sample">ens</span> alternate colours
      </span>
      <span className="legend-item" title={KIND_HELP.special}>
        <span className="tok k-special legend-sample">&lt;s&gt;</span> special
      </span>
      <span className="legend-item" title={KIND_HELP.unknown}>
        <span className="tok k-unknown legend-sample">[UNK]</span> unknown
      </span>
      <span className="legend-item" title={KIND_HELP.byte_fallback}>
        <span className="tok tc-2 k-byte_fallback legend-sample">F0 9F</span> byte fallback
      </span>
      <span className="legend-item" title={KIND_HELP.partial}>
        <span className="tok tc-3 k-partial legend-sample">😀</span> partial character
      </span>
      <span className="legend-item" title="Character ranges where the tokenizers put boundaries differently">
        <span className="legend-sample legend-dis">
          <span className="dis">abc</span>
        </span>{' '}
        boundaries differ
      </span>
      <span className="legend-item" title="Whitespace is drawn as glyphs">
        <span className="legend-sample mono">
          <span className="ws">·</span> <span className="ws">→</span> <span className="ws">↵</span>
        </span>{' '}
        space, tab, newline
      </span>
    </div>
  );
}

interface PanelIndex {
  starts: Int32Array;
  ends: Int32Array;
}

export function ResultView({ job, result: payload }: { job: Job | null; result: TokenizeResultPayload }) {
  const { team } = useSession();
  // The API sends columns (ids, offsets); the panels draw one object per token, texts sliced from the input.
  const result = useMemo(() => expandResult(payload), [payload]);
  const [view, setView] = useState<ViewMode>('text');
  const [showDisagree, setShowDisagree] = useState(true);
  const [syncScroll, setSyncScroll] = useState(true);
  const [limits, setLimits] = useState<number[]>(() => result.results.map(() => INITIAL_TOKEN_LIMIT));
  const [tip, setTip] = useState<TipState | null>(null);
  const gridRef = useRef<HTMLDivElement>(null);
  const lit = useRef<HTMLElement[]>([]);
  const statusLit = useRef<HTMLElement[]>([]);
  const elCache = useRef(new Map<number, HTMLElement[]>());

  useEffect(() => {
    setLimits(result.results.map(() => INITIAL_TOKEN_LIMIT));
    setTip(null);
  }, [result]);

  // Rendered spans change with the view and limits: drop the element cache after every commit.
  useLayoutEffect(() => {
    elCache.current.clear();
  });

  const cps = useMemo(() => (result.text === null || result.text === undefined ? null : codePoints(result.text)), [result.text]);
  const disagree = useMemo(() => normalizeRanges(result.boundaries?.disagree ?? []), [result.boundaries]);
  const index: PanelIndex[] = useMemo(
    () =>
      result.results.map((r) => ({
        starts: Int32Array.from(r.tokens, (t) => t.start),
        ends: Int32Array.from(r.tokens, (t) => t.end),
      })),
    [result.results],
  );
  const baseline = result.baseline ?? null;
  const agreement = useMemo(() => {
    const fromServer = result.boundaries?.agreement;
    if (typeof fromServer === 'number') return fromServer;
    return cps ? agreementRatio(cps.length, disagree) : null;
  }, [cps, disagree, result.boundaries]);
  const disagreeCount = result.boundaries?.disagree_count ?? disagree.length;
  const spread = useMemo(() => tokenSpread(result.results), [result.results]);

  const onShowAll = useCallback((panel: number) => {
    setLimits((l) => l.map((v, i) => (i === panel ? Number.MAX_SAFE_INTEGER : v)));
  }, []);

  const panelElements = useCallback((panel: number): HTMLElement[] => {
    let els = elCache.current.get(panel);
    if (!els) {
      const body = gridRef.current?.querySelector(`[data-panel-body="${panel}"]`);
      const arr: HTMLElement[] = [];
      body?.querySelectorAll<HTMLElement>('[data-testid="token"]').forEach((el) => {
        arr[Number(el.dataset.i)] = el;
      });
      els = arr;
      elCache.current.set(panel, els);
    }
    return els;
  }, []);

  const clearLinks = useCallback(() => {
    for (const el of lit.current) el.classList.remove('hovered', 'linked', 'linked-out');
    lit.current = [];
    for (const s of statusLit.current) {
      s.textContent = '';
      s.className = 'link-status';
    }
    statusLit.current = [];
  }, []);

  const activate = useCallback(
    (el: HTMLElement) => {
      const panelEl = el.closest<HTMLElement>('[data-testid="result-panel"]');
      if (!panelEl) return;
      const panel = Number(panelEl.dataset.panel);
      const i = Number(el.dataset.i);
      const token = result.results[panel]?.tokens[i];
      if (!token) return;
      // Measure before touching classes, so the browser does not lay out the whole page again.
      const rect = el.getBoundingClientRect();
      clearLinks();
      el.classList.add('hovered');
      lit.current.push(el);
      if (token.end > token.start && result.results.length > 1) {
        result.results.forEach((_, p) => {
          if (p === panel) return;
          const link = linkRange(index[p].starts, index[p].ends, token.start, token.end);
          const els = panelElements(p);
          for (const l of link.tokens) {
            const other = els[l.index];
            if (!other) continue;
            other.classList.add('linked');
            if (!l.inside) other.classList.add('linked-out');
            lit.current.push(other);
          }
          const status = gridRef.current?.querySelector<HTMLElement>(`[data-panel="${p}"] .link-status`);
          if (status && link.tokens.length) {
            statusLit.current.push(status);
            status.textContent = link.aligned
              ? link.tokens.length === 1
                ? 'same token boundaries'
                : `same span, ${link.tokens.length} tokens`
              : 'boundaries differ here';
            status.className = `link-status ${link.aligned ? 'ok' : 'diff'}`;
          }
        });
      }
      const below = rect.top < 190;
      const x = Math.min(Math.max(rect.left + rect.width / 2, 170), window.innerWidth - 170);
      setTip({ panel, index: i, x, y: below ? rect.bottom + 8 : rect.top - 8, below });
      el.setAttribute('aria-describedby', 'token-tooltip');
    },
    [result.results, index, clearLinks, panelElements],
  );

  const deactivate = useCallback(() => {
    clearLinks();
    setTip(null);
  }, [clearLinks]);

  const tokenFrom = (target: EventTarget | null): HTMLElement | null =>
    target instanceof HTMLElement ? target.closest<HTMLElement>('[data-testid="token"]') : null;

  const onMouseOver = (e: MouseEvent) => {
    const el = tokenFrom(e.target);
    if (el && !el.classList.contains('hovered')) activate(el);
  };
  const onMouseLeave = () => {
    if (!gridRef.current?.contains(document.activeElement) || !tokenFrom(document.activeElement)) deactivate();
  };
  const onFocus = (e: FocusEvent) => {
    const el = tokenFrom(e.target);
    if (el) activate(el);
  };
  const onBlur = (e: FocusEvent) => {
    if (!tokenFrom(e.relatedTarget)) deactivate();
  };

  useEffect(() => {
    if (!tip) return;
    const hide = () => setTip(null);
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && deactivate();
    window.addEventListener('scroll', hide, true);
    window.addEventListener('resize', hide);
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('scroll', hide, true);
      window.removeEventListener('resize', hide);
      window.removeEventListener('keydown', onKey);
    };
  }, [tip, deactivate]);

  // Scroll sync: keep the same character position at the top of every panel.
  useEffect(() => {
    const grid = gridRef.current;
    if (!grid || !syncScroll || result.results.length < 2) return;
    let syncing = false;
    const onScroll = (e: Event) => {
      const body = e.target as HTMLElement;
      if (!(body instanceof HTMLElement) || body.dataset.panelBody === undefined || syncing) return;
      const panel = Number(body.dataset.panelBody);
      const els = panelElements(panel);
      // first token whose bottom is below the top edge
      let lo = 0;
      let hi = els.length - 1;
      let first = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const el = els[mid];
        if (!el) {
          hi = mid - 1;
          continue;
        }
        if (el.offsetTop + el.offsetHeight > body.scrollTop) {
          first = mid;
          hi = mid - 1;
        } else lo = mid + 1;
      }
      if (first < 0) return;
      const anchor = els[first];
      const offset = anchor.offsetTop - body.scrollTop;
      const char = index[panel].starts[first];
      syncing = true;
      result.results.forEach((_, p) => {
        if (p === panel) return;
        const otherBody = grid.querySelector<HTMLElement>(`[data-panel-body="${p}"]`);
        if (!otherBody) return;
        const link = linkRange(index[p].starts, index[p].ends, char, char + 1);
        const target = link.tokens[0] ? panelElements(p)[link.tokens[0].index] : undefined;
        if (target) otherBody.scrollTop = target.offsetTop - offset;
        else if (body.scrollHeight > body.clientHeight)
          otherBody.scrollTop = (body.scrollTop / (body.scrollHeight - body.clientHeight)) * (otherBody.scrollHeight - otherBody.clientHeight);
      });
      requestAnimationFrame(() => {
        syncing = false;
      });
    };
    grid.addEventListener('scroll', onScroll, true);
    return () => grid.removeEventListener('scroll', onScroll, true);
  }, [syncScroll, result.results, index, panelElements]);

  const permalink = job ? permalinkFor(job) : null;
  const tipResult = tip ? result.results[tip.panel] : null;

  return (
    <div className="result-view" data-testid="result-view">
      <div className="result-summary">
        <div className="summary-figures">
          <span>
            <strong>{formatInt(result.input.chars)}</strong> chars
          </span>
          <span>
            <strong>{formatBytes(result.input.bytes)}</strong>
          </span>
          <span title={result.input.word_segmentation ? `Words: ${result.input.word_segmentation}` : 'Words: whitespace-separated runs'}>
            <strong>{formatInt(result.input.words)}</strong> words
          </span>
          <span
            data-testid="special-tokens-mode"
            title="How special-token strings in the text (<|endoftext|>, [CLS]) were read, as chosen for this run"
          >
            special tokens <strong>{result.special_tokens === 'special' ? 'parsed' : 'as text'}</strong>
          </span>
          <span>
            <strong>{formatInt(result.input.lines)}</strong> lines
          </span>
          {spread !== null && (
            <span title="Largest token count relative to the smallest">
              token-count spread <strong>{formatPercent(spread, 0)}</strong>
            </span>
          )}
          {agreement !== null && result.results.length > 1 && (
            <span title="Share of token edges (character positions where a token starts or ends) that every tokenizer shares">
              boundary agreement <strong>{formatPercent(agreement, 0)}</strong>
            </span>
          )}
          <span className="mono muted sha" title={`SHA-256 of the input: ${result.input.sha256}`}>
            sha256 {result.input.sha256?.slice(0, 12)}
          </span>
        </div>
        {job && (
          <div className="summary-actions">
            <a className="btn btn-small" href={exportUrl(job.id, 'json', team?.slug ?? null)} download data-testid="export-json">
              Export JSON
            </a>
            <a className="btn btn-small" href={exportUrl(job.id, 'csv', team?.slug ?? null)} download data-testid="export-csv">
              Export CSV
            </a>
            <Link to={`/detection?from=${encodeURIComponent(job.id)}`} className="btn btn-small" data-testid="score-this-text" title="Score this text on the Detection page">
              Score this text
            </Link>
            {permalink && (
              <CopyButton
                text={permalink}
                label="Copy permalink"
                copiedLabel="Link copied"
                className="btn btn-small btn-primary-soft"
                testId="permalink-button"
                title={permalink}
              />
            )}
          </div>
        )}
      </div>

      {result.text_truncated && (
        <Notice kind="warn">
          The input is longer than the display limit, so only its beginning is shown. Statistics cover the whole input.
        </Notice>
      )}
      {result.special_tokens === 'special' && result.results.some((r) => r.special_tokens === 'plain') && (
        <Notice>
          Read as plain text by{' '}
          {result.results
            .filter((r) => r.special_tokens === 'plain')
            .map((r) => r.tokenizer.name)
            .join(', ')}
          : their libraries never turn text into special tokens.
        </Notice>
      )}
      {result.text === null && (
        <Notice kind="warn">The input is over the display limit; tokens are shown from their own strings.</Notice>
      )}

      <div className="result-toolbar">
        <div className="segmented" role="radiogroup" aria-label="Show tokens as" data-testid="view-toggle">
          {(['text', 'ids'] as const).map((v) => (
            <button
              key={v}
              type="button"
              role="radio"
              aria-checked={view === v}
              className={view === v ? 'is-on' : ''}
              data-view={v}
              onClick={() => setView(v)}
            >
              {v === 'text' ? 'Text' : 'Token ids'}
            </button>
          ))}
        </div>
        {result.results.length > 1 && (
          <>
            <label className="toggle">
              <input type="checkbox" checked={showDisagree} onChange={(e) => setShowDisagree(e.target.checked)} data-testid="disagree-toggle" />
              Underline disagreements <span className="muted">({formatInt(disagreeCount)}{result.boundaries?.truncated ? ', first ones shown' : ''})</span>
            </label>
            <label className="toggle">
              <input type="checkbox" checked={syncScroll} onChange={(e) => setSyncScroll(e.target.checked)} />
              Sync scrolling
            </label>
          </>
        )}
        <span className="toolbar-hint">Hover or focus a token for details; the same characters light up in the other panels.</span>
      </div>

      <Legend />

      <div
        ref={gridRef}
        className={`panels panels-${result.results.length}${showDisagree ? '' : ' hide-dis'}`}
        onMouseOver={onMouseOver}
        onMouseLeave={onMouseLeave}
        onFocus={onFocus}
        onBlur={onBlur}
      >
        {result.results.map((r, i) => (
          <TokenPanel
            key={r.tokenizer.id}
            result={r}
            panelIndex={i}
            cps={cps}
            disagree={disagree}
            view={view}
            isBaseline={r.tokenizer.id === baseline}
            limit={limits[i] ?? INITIAL_TOKEN_LIMIT}
            onShowAll={onShowAll}
          />
        ))}
      </div>
      {tip && tipResult && <TokenTooltip tip={tip} result={tipResult} />}

      <section className="card stats-card" aria-labelledby="stats-heading">
        <div className="card-head">
          <h2 id="stats-heading">Comparison</h2>
          <span className="muted">Best value per row is highlighted. Hover a metric name for its definition.</span>
        </div>
        <StatsTable results={result.results} baseline={baseline} />
      </section>

      {job && <RunDetails job={job} />}
    </div>
  );
}
