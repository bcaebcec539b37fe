// One image tokenizer's result: the token layout (a 2D grid over the image, or a 1D strip with each token's
// contribution), the reconstruction with a k slider, PSNR/SSIM against k, codebook usage and the bits it costs.
import { useState } from 'react';
import { Figure } from '../common';
import { bitsPerToken, codeColour, formatBits, positionForK, sliderStops, stopAt, type MediaTokenizerResult } from '../../lib/media';
import { formatInt, formatNum } from '../../lib/format';
import { CodebookUsageView } from './CodebookUsageView';
import { XYChart } from './XYChart';

interface Props {
  tok: MediaTokenizerResult;
  originalUrl: string;
  artifact: (name: string) => string;
  colour: string;
}

/** The grid tokenizer's codes over the image: one cell per patch, tinted by its code, the id when it fits. */
function GridOverlay({ tok, originalUrl }: { tok: MediaTokenizerResult; originalUrl: string }) {
  const [showIds, setShowIds] = useState(true);
  const rows = tok.codes as number[][];
  const [h, w] = tok.grid ?? [rows.length, rows[0]?.length ?? 0];
  const labelled = showIds && w <= 24;
  return (
    <div className="media-layout">
      <div className="media-grid-wrap" data-testid="media-grid" data-rows={h} data-cols={w}>
        <img src={originalUrl} alt="The input image under its token grid" className="media-img" />
        <div className="media-grid" style={{ gridTemplateColumns: `repeat(${w}, 1fr)`, gridTemplateRows: `repeat(${h}, 1fr)` }}>
          {rows.flatMap((row, r) =>
            row.map((code, c) => (
              <span key={`${r}-${c}`} className="media-grid-cell" style={{ background: codeColour(code, 0.28) }} title={`row ${r}, column ${c}: code ${code}`} data-code={code}>
                {labelled ? code : ''}
              </span>
            )),
          )}
        </div>
      </div>
      <label className="toggle small">
        <input type="checkbox" checked={showIds} onChange={(e) => setShowIds(e.target.checked)} /> Show code ids {w > 24 && '(hidden: cells too small)'}
      </label>
    </div>
  );
}

/** The ordered 1D tokens: colour = code, bar height = the PSNR gain the token adds (square-root scale: the first
 * token's gain dwarfs the rest); the first k are highlighted. */
function TokenStrip({ tok, k }: { tok: MediaTokenizerResult; k: number }) {
  const codes = tok.codes as number[];
  const gains = tok.contributions ?? null;
  const maxGain = gains ? Math.max(...gains.map((g) => (Number.isFinite(g) ? Math.abs(g) : 0)), 1e-9) : 1;
  return (
    <div className="media-strip" data-testid="media-strip" data-tokens={codes.length}>
      {codes.map((code, i) => {
        const gain = gains?.[i];
        const title = `token ${i + 1}: code ${code}${gain !== undefined && gain !== null ? `, +${gain.toFixed(2)} dB PSNR` : ''}`;
        return (
          <span key={i} className={`media-strip-token${i < k ? ' is-used' : ''}`} title={title} data-code={code}>
            <span className="media-strip-code" style={{ background: codeColour(code) }} />
            {gains && <span className="media-strip-gain" style={{ height: `${Math.max(4, Math.sqrt(Math.max(0, gain ?? 0) / maxGain) * 100)}%` }} />}
          </span>
        );
      })}
    </div>
  );
}

export function ImageTokenizerView({ tok, originalUrl, artifact, colour }: Props) {
  const stops = sliderStops(tok.reconstructions);
  const [position, setPosition] = useState(() => positionForK(stops, Number.POSITIVE_INFINITY));
  const current = stopAt(stops, position);
  const psnr = stops.filter((s) => s.psnr !== null).map((s) => ({ x: s.k, y: s.psnr as number }));
  const ssim = stops.filter((s) => s.ssim !== null).map((s) => ({ x: s.k, y: s.ssim as number }));
  const perToken = bitsPerToken(tok.codebook_sizes);
  return (
    <div className="media-tok-body">
      <div className="fig-grid">
        <Figure label="Tokens" value={formatInt(tok.n_tokens)} sub={tok.grid ? `${tok.grid[0]} × ${tok.grid[1]} grid` : 'ordered 1D strip'} testId="media-tokens" />
        <Figure label="Bits per image" value={formatBits(tok.bits)} sub={`${formatNum(perToken, 1)} bits per token`} testId="media-bits" />
        {current && <Figure label={`PSNR at k = ${current.k}`} value={current.psnr === null ? '—' : `${current.psnr.toFixed(2)} dB`} sub={current.ssim === null ? undefined : `SSIM ${current.ssim.toFixed(3)}`} />}
      </div>
      <div className="media-image-row">
        <div className="media-image-col">
          <h4 className="media-sub">Tokens</h4>
          {tok.layout === 'grid' ? <GridOverlay tok={tok} originalUrl={originalUrl} /> : <TokenStrip tok={tok} k={current?.k ?? 0} />}
          {tok.layout !== 'grid' && <p className="muted small">Colour: the code. Bar: the PSNR the token adds to the prefix before it. The first k tokens (in use at the slider's k) are outlined.</p>}
        </div>
        <div className="media-image-col">
          <h4 className="media-sub">Reconstruction</h4>
          {current ? (
            <>
              <img src={artifact(current.artifact)} alt={`Reconstruction from ${current.k} tokens`} className="media-img" data-testid="media-reconstruction" data-k={current.k} />
              {stops.length > 1 ? (
                <label className="media-slider">
                  <span>
                    k = <strong data-testid="media-k-value">{current.k}</strong> token{current.k === 1 ? '' : 's'} of {tok.n_tokens}
                  </span>
                  <input
                    type="range"
                    min={0}
                    max={stops.length - 1}
                    step={1}
                    value={position}
                    onChange={(e) => setPosition(Number(e.target.value))}
                    aria-valuetext={`${current.k} tokens`}
                    data-testid="media-k-slider"
                  />
                  <span className="muted small">{stops.map((s) => s.k).join(' · ')}</span>
                </label>
              ) : (
                <p className="muted small">All {tok.n_tokens} tokens (a grid has no meaningful prefix).</p>
              )}
            </>
          ) : (
            <p className="muted small">{tok.has_decoder ? 'No reconstruction was stored.' : 'This tokenizer has no decoder.'}</p>
          )}
        </div>
      </div>
      <div className="media-chart-row">
        {stops.length > 1 && (
          <>
            <XYChart series={[{ name: 'PSNR', colour, points: psnr }]} caption="PSNR against k" xLabel="k (tokens)" yLabel="PSNR (dB)" xLog markerX={current?.k} testId="media-psnr-chart" width={300} height={170} />
            <XYChart series={[{ name: 'SSIM', colour, points: ssim }]} caption="SSIM against k" xLabel="k (tokens)" yLabel="SSIM" xLog markerX={current?.k} testId="media-ssim-chart" width={300} height={170} />
          </>
        )}
        <CodebookUsageView usage={tok.usage} codebookSizes={tok.codebook_sizes} colour={colour} />
      </div>
    </div>
  );
}
