import { Fragment, memo, useMemo, type KeyboardEvent, type ReactNode } from 'react';
import type { Token, TokenizerResult } from '../api/types';
import { formatInt, formatNum } from '../lib/format';
import { splitByRanges, type Range } from '../lib/ranges';
import { buildSegments, colourClass, visualizeWhitespace } from '../lib/tokens';
import { CopyButton } from './common';

export type ViewMode = 'text' | 'ids';

/** Renders characters [start, end) with whitespace glyphs, underlining disagreement ranges. */
export function renderChars(cps: readonly string[], start: number, end: number, disagree: readonly Range[]): ReactNode[] {
  const out: ReactNode[] = [];
  for (const piece of splitByRanges(start, end, disagree)) {
    const str = cps.slice(piece.start, piece.end).join('');
    const nodes: ReactNode[] = visualizeWhitespace(str).map((v, k) =>
      v.ws ? (
        <span className="ws" key={k}>
          {v.text}
        </span>
      ) : (
        v.text
      ),
    );
    out.push(
      piece.marked ? (
        <span className="dis" key={piece.start}>
          {nodes}
        </span>
      ) : (
        <Fragment key={piece.start}>{nodes}</Fragment>
      ),
    );
  }
  return out;
}

function tokenClass(token: Token, index: number, extra = ''): string {
  return `tok ${colourClass(index)} k-${token.kind}${extra}`;
}

function tokenAttrs(token: Token, index: number, first: boolean) {
  return {
    'data-testid': 'token',
    'data-i': index,
    'data-token-id': token.id,
    'data-start': token.start,
    'data-end': token.end,
    'data-kind': token.kind,
    tabIndex: first ? 0 : -1,
  };
}

/** The token spans for one tokenizer (pure rendering; hover and tooltips are handled by the parent). */
export function renderTokens(
  tokens: readonly Token[],
  cps: readonly string[] | null,
  disagree: readonly Range[],
  view: ViewMode,
  textLength: number,
): ReactNode[] {
  if (view === 'ids') {
    return tokens.map((t, i) => (
      <span key={i} className={tokenClass(t, i, ' idtok')} {...tokenAttrs(t, i, i === 0)}>
        {t.id}
      </span>
    ));
  }
  if (!cps) {
    // No text (over the display limit): draw each token's own string.
    return tokens.map((t, i) => (
      <span key={i} className={tokenClass(t, i)} {...tokenAttrs(t, i, i === 0)}>
        {visualizeWhitespace(t.text).map((v, k) =>
          v.ws ? (
            <span className="ws" key={k}>
              {v.text}
            </span>
          ) : (
            v.text
          ),
        )}
      </span>
    ));
  }
  const out: ReactNode[] = [];
  for (const seg of buildSegments(textLength, tokens)) {
    if (seg.type === 'gap') {
      out.push(
        <span className="gap" key={`g${seg.drawStart}`} title="Not part of any token">
          {renderChars(cps, seg.drawStart, seg.drawEnd, [])}
        </span>,
      );
      continue;
    }
    const { token, index } = seg;
    const extra = `${seg.label !== null ? ' tok-label' : ''}${seg.continuation ? ' tok-cont' : ''}`;
    out.push(
      <span key={index} className={tokenClass(token, index, extra)} {...tokenAttrs(token, index, index === 0)}>
        {seg.label !== null ? seg.label : renderChars(cps, seg.drawStart, seg.drawEnd, disagree)}
      </span>,
    );
  }
  return out;
}

interface PanelProps {
  result: TokenizerResult;
  panelIndex: number;
  cps: readonly string[] | null;
  disagree: readonly Range[];
  view: ViewMode;
  isBaseline: boolean;
  limit: number;
  onShowAll: (panelIndex: number) => void;
}

function onPanelKeyDown(e: KeyboardEvent<HTMLDivElement>) {
  const keys = ['ArrowRight', 'ArrowLeft', 'ArrowDown', 'ArrowUp', 'Home', 'End'];
  if (!keys.includes(e.key)) return;
  const target = e.target as HTMLElement;
  if (target.dataset.testid !== 'token') return;
  const all = Array.from(e.currentTarget.querySelectorAll<HTMLElement>('[data-testid="token"]'));
  const i = all.indexOf(target);
  if (i < 0) return;
  let next = i;
  if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = Math.min(all.length - 1, i + 1);
  else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = Math.max(0, i - 1);
  else if (e.key === 'Home') next = 0;
  else if (e.key === 'End') next = all.length - 1;
  e.preventDefault();
  all[next]?.focus();
}

export const TokenPanel = memo(function TokenPanel({ result, panelIndex, cps, disagree, view, isBaseline, limit, onShowAll }: PanelProps) {
  const { tokenizer, stats, tokens } = result;
  const shown = Math.min(limit, tokens.length);
  const limited = shown < tokens.length;
  const textLength = useMemo(() => {
    if (!cps) return 0;
    if (limited || result.tokens_truncated) {
      const last = tokens[shown - 1];
      return last ? Math.min(cps.length, last.end) : 0;
    }
    return cps.length;
  }, [cps, limited, result.tokens_truncated, tokens, shown]);

  const body = useMemo(
    () => renderTokens(limited ? tokens.slice(0, shown) : tokens, cps, disagree, view, textLength),
    [tokens, shown, limited, cps, disagree, view, textLength],
  );

  return (
    <section
      className={`panel${isBaseline ? ' is-baseline' : ''}`}
      data-testid="result-panel"
      data-tokenizer-id={tokenizer.id}
      data-panel={panelIndex}
      aria-label={`Tokens of ${tokenizer.name}`}
    >
      <header className="panel-head">
        <div className="panel-title-row">
          <h3 className="panel-title" title={tokenizer.id}>
            <span className={`dot chip-${panelIndex % 6}`} aria-hidden="true" />
            {tokenizer.name}
          </h3>
          {isBaseline && <span className="badge badge-accent">baseline</span>}
          <CopyButton
            text={() => JSON.stringify(tokens.map((t) => t.id))}
            label="Copy ids"
            copiedLabel="Ids copied"
            className="btn btn-ghost btn-tiny panel-copy"
            title={`Copy the ${tokens.length === stats.tokens ? '' : 'listed '}token ids as a JSON array`}
            testId="copy-ids"
          />
        </div>
        <div className="panel-meta">
          {[tokenizer.family, tokenizer.algorithm, tokenizer.vocab_size ? `${formatInt(tokenizer.vocab_size)} vocab` : null]
            .filter(Boolean)
            .join(' · ')}
        </div>
        <div className="panel-figures">
          <span className="figure">
            <span className="figure-value" data-testid="token-count">
              {formatInt(stats.tokens)}
            </span>{' '}
            tokens
          </span>
          <span className="figure">
            <span className="figure-value small">{formatNum(stats.chars_per_token)}</span> chars/token
          </span>
          {!isBaseline && stats.relative_cost !== null && (
            <span className={`figure rel ${stats.relative_cost < 1 ? 'good' : stats.relative_cost > 1 ? 'bad' : ''}`}>
              {stats.relative_cost.toFixed(2)}× baseline
            </span>
          )}
          {stats.unknown > 0 && <span className="badge badge-bad">{formatInt(stats.unknown)} unknown</span>}
          {stats.byte_fallback > 0 && <span className="badge badge-warn">{formatInt(stats.byte_fallback)} byte fallback</span>}
          {stats.roundtrip === false && (
            <span className="badge badge-bad" title="decode(encode(text)) differs from the input">
              lossy
            </span>
          )}
          <span className="link-status" aria-hidden="true" />
        </div>
      </header>
      {result.tokens_truncated && (
        <div className="panel-note">
          Showing the first {formatInt(tokens.length)} of {formatInt(stats.tokens)} tokens; statistics cover the whole input.
        </div>
      )}
      <div
        className={`panel-body ${view === 'ids' ? 'view-ids' : 'view-text'}`}
        data-panel-body={panelIndex}
        dir={view === 'text' ? 'auto' : 'ltr'}
        role="group"
        aria-label={`${tokenizer.name}: ${formatInt(stats.tokens)} tokens. Use arrow keys to move between tokens.`}
        onKeyDown={onPanelKeyDown}
      >
        {tokens.length === 0 ? <span className="muted">No tokens.</span> : body}
      </div>
      {limited && (
        <div className="panel-more">
          <span>
            Showing {formatInt(shown)} of {formatInt(tokens.length)} tokens.
          </span>
          <button type="button" className="btn btn-small" onClick={() => onShowAll(panelIndex)}>
            Show all
          </button>
        </div>
      )}
    </section>
  );
});
