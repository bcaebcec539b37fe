import { memo, type ReactNode } from 'react';
import { ORIGIN_HELP, ORIGIN_LABELS, countOrigins, showToken, type TimelineToken, type TokenOrigin } from '../lib/speculative';

const ORIGINS: TokenOrigin[] = ['accepted', 'rejected', 'resampled', 'bonus', 'target'];

/** Token text for the flowing output: real spaces, a visible ↵ before each line break. */
function renderText(text: string): ReactNode {
  if (text === '') return <span className="st-empty">∅</span>;
  if (!text.includes('\n')) return text;
  const parts = text.split('\n');
  return parts.map((p, i) => (
    <span key={i}>
      {p}
      {i < parts.length - 1 && (
        <>
          <span className="st-nl" aria-hidden="true">
            ↵
          </span>
          {'\n'}
        </>
      )}
    </span>
  ));
}

export function OriginLegend({ tokens, compact }: { tokens?: TimelineToken[]; compact?: boolean }) {
  const counts = tokens ? countOrigins(tokens) : null;
  return (
    <div className={`legend spec-legend${compact ? ' is-compact' : ''}`} aria-label="Token colours">
      {ORIGINS.map((o) => (
        <span key={o} className="legend-item" title={ORIGIN_HELP[o]}>
          <span className={`st st-${o} legend-sample`}>{o === 'rejected' ? 'draft' : 'tok'}</span>
          {ORIGIN_LABELS[o]}
          {counts && <span className="muted"> {counts[o]}</span>}
        </span>
      ))}
    </div>
  );
}

interface Props {
  tokens: TimelineToken[];
  showRejected?: boolean;
  selectedStep?: number | null;
  onSelectStep?: (step: number) => void;
  /** Appended after the tokens (e.g. a blinking caret while streaming). */
  tail?: ReactNode;
  testId?: string;
  label?: string;
}

/** The output as coloured tokens: accepted drafts green, rejected drafts red and struck through (where they were
 * proposed), corrections orange, bonus tokens blue, plain target tokens neutral. Click a token to inspect its step. */
export const SpecTokens = memo(function SpecTokens({ tokens, showRejected = true, selectedStep = null, onSelectStep, tail, testId = 'spec-output', label }: Props) {
  return (
    <div
      className={`spec-output${showRejected ? '' : ' hide-rejected'}${onSelectStep ? ' is-clickable' : ''}`}
      data-testid={testId}
      aria-label={label ?? 'Generated text, coloured by token origin'}
      onClick={(e) => {
        if (!onSelectStep) return;
        const el = (e.target as HTMLElement).closest<HTMLElement>('[data-step]');
        if (el?.dataset.step) onSelectStep(Number(el.dataset.step));
      }}
    >
      {tokens.map((t, i) => (
        <span
          key={i}
          className={`st st-${t.origin}${t.decision === 'unverified' ? ' st-unverified' : ''}${selectedStep === t.step ? ' is-step' : ''}${
            i > 0 && tokens[i - 1].step !== t.step ? ' step-start' : ''
          }`}
          data-testid="spec-token"
          data-origin={t.origin}
          data-step={t.step}
          title={`Step ${t.step} · ${ORIGIN_LABELS[t.origin]}${t.decision === 'unverified' ? ' (after the rejection, never tested)' : ''}${
            t.tokenId !== undefined ? ` · id ${t.tokenId}` : ''
          } · “${showToken(t.text)}”`}
        >
          {renderText(t.text)}
        </span>
      ))}
      {tail}
    </div>
  );
});
