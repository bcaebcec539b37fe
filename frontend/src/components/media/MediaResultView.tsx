// A media job's result: the input, the tokenizers side by side (a comparison table, a rate-quality chart, the
// reconstructions next to the original), each tokenizer in detail, export links and the run details.
import type { Job } from '../../api/types';
import { formatBitrate, formatBits, formatEntropy, formatSeconds, formatUtilisation, fullReconstruction, rateQualityPoints, SERIES_COLOURS, type MediaResult, type MediaTokenizerResult } from '../../lib/media';
import { artifactUrl, mediaExportUrl } from '../../lib/mediaApi';
import { formatBytes, formatInt, formatNum } from '../../lib/format';
import { CopyButton, Figure, Notice } from '../common';
import { RunDetails } from '../RunDetails';
import { AudioTimeline } from './AudioTimeline';
import { CodebookUsageView } from './CodebookUsageView';
import { ImageTokenizerView } from './ImageTokenizerView';
import { XYChart } from './XYChart';

const dB = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(2)} dB`);
const num = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? '—' : formatNum(v, d));
const secs = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${v < 0.1 ? (v * 1000).toFixed(1) + ' ms' : v.toFixed(2) + ' s'}`);

function InputCard({ result, originalUrl }: { result: MediaResult; originalUrl: string }) {
  const i = result.input;
  return (
    <div className="card media-input" data-testid="media-input">
      <div className="card-head">
        <h2>Input</h2>
        <span className="mono small muted" title={`sha256 ${i.sha256}`}>
          sha256 {i.sha256.slice(0, 12)}…
        </span>
      </div>
      <div className="media-input-body">
        {result.modality === 'image' && <img src={originalUrl} alt="The input as analysed" className="media-img media-thumb" data-testid="media-original" />}
        <dl className="media-facts">
          <div>
            <dt>File</dt>
            <dd>
              {i.filename} <span className="muted">({i.format}, {formatBytes(i.size_bytes)})</span>
            </dd>
          </div>
          {result.modality === 'image' ? (
            <div>
              <dt>Size</dt>
              <dd>
                {i.width} × {i.height} px
              </dd>
            </div>
          ) : (
            <div>
              <dt>Audio</dt>
              <dd>
                {formatSeconds(i.duration_s)} · {i.sample_rate ? `${(i.sample_rate / 1000).toFixed(1)} kHz` : '—'} · {i.channels === 1 ? 'mono' : `${i.channels ?? '?'} channels`}
              </dd>
            </div>
          )}
          <div>
            <dt>Processing</dt>
            <dd data-testid="media-processed">{i.processed || 'none'}</dd>
          </div>
        </dl>
      </div>
    </div>
  );
}

function CompareTable({ result }: { result: MediaResult }) {
  const image = result.modality === 'image';
  return (
    <div className="table-scroll">
      <table className="data-table compact" data-testid="media-compare-table">
        <thead>
          <tr>
            <th>Tokenizer</th>
            <th className="num">Tokens</th>
            {image ? <th className="num">Bits per image</th> : <th className="num">Tokens / s</th>}
            {!image && <th className="num">Bitrate</th>}
            {image ? (
              <>
                <th className="num">PSNR (all tokens)</th>
                <th className="num">SSIM</th>
              </>
            ) : (
              <>
                <th className="num">SNR</th>
                <th className="num" title="Mean absolute difference of log-mel spectrograms (lower is closer)">Mel distance</th>
                <th className="num">PESQ</th>
                <th className="num">STOI</th>
              </>
            )}
            <th>Codebook use</th>
            <th className="num">Encode</th>
            <th className="num">Decode</th>
          </tr>
        </thead>
        <tbody>
          {result.tokenizers.map((t) => {
            if (t.error)
              return (
                <tr key={t.id} data-testid="media-compare-row" data-tokenizer-id={t.id}>
                  <td>
                    <strong>{t.label || t.id}</strong>
                  </td>
                  <td colSpan={image ? 7 : 9} className="field-error">
                    {t.error}
                  </td>
                </tr>
              );
            const full = image ? fullReconstruction(t) : null;
            return (
              <tr key={t.id} data-testid="media-compare-row" data-tokenizer-id={t.id}>
                <td>
                  <strong>{t.label}</strong> <span className="muted small">{t.family}</span>
                </td>
                <td className="num">{formatInt(t.n_tokens)}</td>
                {image ? <td className="num">{formatBits(t.bits)}</td> : <td className="num">{num(t.tokens_per_second, 1)}</td>}
                {!image && (
                  <td className="num" data-testid="media-bitrate">
                    {formatBitrate(t.bitrate_bps)}
                  </td>
                )}
                {image ? (
                  <>
                    <td className="num">{dB(full?.psnr)}</td>
                    <td className="num">{num(full?.ssim, 3)}</td>
                  </>
                ) : (
                  <>
                    <td className="num">{t.has_decoder ? dB(t.reconstruction?.snr_db) : 'no decoder'}</td>
                    <td className="num">{num(t.reconstruction?.mel_distance, 3)}</td>
                    <td className="num">{num(t.reconstruction?.pesq, 2)}</td>
                    <td className="num">{num(t.reconstruction?.stoi, 3)}</td>
                  </>
                )}
                <td className="small">
                  {formatUtilisation(t.usage, t.codebook_sizes[0])}
                  <br />
                  <span className="muted">entropy {formatEntropy(t.usage, t.codebook_sizes[0])}</span>
                </td>
                <td className="num">{secs(t.timing?.encode_s)}</td>
                <td className="num">{secs(t.timing?.decode_s)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function RateQuality({ result, colours }: { result: MediaResult; colours: Map<string, string> }) {
  const points = rateQualityPoints(result);
  const ids = [...new Set(points.map((p) => p.id))];
  const image = result.modality === 'image';
  const series = ids.map((id) => {
    const mine = points.filter((p) => p.id === id);
    return {
      name: mine[0].label,
      colour: colours.get(id) ?? '#868e96',
      line: image,
      points: mine.map((p) => ({ x: p.rate, y: p.quality, title: `${p.label}${p.k ? `, k = ${p.k}` : ''}: ${image ? formatBits(p.rate) : formatBitrate(p.rate)}, ${p.quality.toFixed(2)} dB` })),
    };
  });
  return (
    <XYChart
      series={series}
      legend
      caption={image ? 'Rate against quality: bits spent on the image against PSNR (every k of a 1D tokenizer)' : 'Rate against quality: bitrate against SNR'}
      xLabel={image ? 'bits per image' : 'bitrate (bit/s)'}
      yLabel={image ? 'PSNR (dB)' : 'SNR (dB)'}
      xLog
      width={460}
      height={240}
      testId="media-rate-quality"
      empty="No tokenizer here has both a rate and a reconstruction metric."
    />
  );
}

function SideBySideImages({ result, artifact, originalUrl }: { result: MediaResult; artifact: (n: string) => string; originalUrl: string }) {
  return (
    <div className="media-sbs" data-testid="media-side-by-side">
      <figure>
        <img src={originalUrl} alt="Original" className="media-img" />
        <figcaption>Original</figcaption>
      </figure>
      {result.tokenizers
        .filter((t) => !t.error)
        .map((t) => {
          const full = fullReconstruction(t);
          return (
            <figure key={t.id}>
              {full ? <img src={artifact(full.artifact)} alt={`${t.label}, all tokens`} className="media-img" /> : <div className="media-img-missing muted small">no decoder</div>}
              <figcaption>
                {t.label}
                <span className="muted small">
                  {' '}
                  {formatInt(t.n_tokens)} tokens · {dB(full?.psnr)}
                </span>
              </figcaption>
            </figure>
          );
        })}
    </div>
  );
}

function AudioNumbers({ tok, colour }: { tok: MediaTokenizerResult; colour: string }) {
  const r = tok.reconstruction;
  return (
    <div className="media-tok-body">
      <div className="fig-grid">
        <Figure label="Tokens" value={formatInt(tok.n_tokens)} sub={tok.codebook_sizes.length > 1 ? `frames of ${tok.codebook_sizes.length} codes` : undefined} testId="media-tokens" />
        <Figure label="Tokens per second" value={num(tok.tokens_per_second, 1)} sub={tok.frame_rate ? `${num(tok.frame_rate, 1)} frames/s` : 'variable-rate units'} />
        <Figure label="Bitrate" value={formatBitrate(tok.bitrate_bps)} sub={`${formatBits(tok.bits)} in all`} testId="media-bitrate-fig" />
        <Figure label="SNR" value={tok.has_decoder ? dB(r?.snr_db) : 'no decoder'} sub={r ? `mel distance ${num(r.mel_distance, 3)}` : undefined} />
        <Figure label="PESQ / STOI" value={`${num(r?.pesq, 2)} / ${num(r?.stoi, 3)}`} sub="where the rates allow" />
      </div>
      <CodebookUsageView usage={tok.usage} codebookSizes={tok.codebook_sizes} colour={colour} />
    </div>
  );
}

export function MediaResultView({ job, result }: { job: Job; result: MediaResult }) {
  const artifact = (name: string) => artifactUrl(job.id, name);
  const originalUrl = artifact(result.original.artifact);
  const colours = new Map(result.tokenizers.map((t, i) => [t.id, SERIES_COLOURS[i % SERIES_COLOURS.length]]));
  const ok = result.tokenizers.filter((t) => !t.error);
  const permalink = `${window.location.origin}/media/jobs/${encodeURIComponent(job.id)}`;
  return (
    <div className="media-result" data-testid="media-result" data-modality={result.modality}>
      <div className="media-result-top">
        <InputCard result={result} originalUrl={originalUrl} />
        <div className="card media-exports">
          <div className="card-head">
            <h2>Export</h2>
          </div>
          <div className="media-export-links">
            <a className="btn btn-small" href={mediaExportUrl(job.id, 'json')} download data-testid="media-export-json">
              JSON
            </a>
            <a className="btn btn-small" href={mediaExportUrl(job.id, 'npz')} download data-testid="media-export-npz" title="The codes of each tokenizer as integer arrays, and the manifest">
              NumPy (.npz)
            </a>
            <CopyButton text={permalink} label="Copy permalink" testId="permalink-button" />
          </div>
        </div>
      </div>
      {result.modality === 'audio' && <AudioTimeline result={result} tokenizers={result.tokenizers} artifact={artifact} />}
      <div className="card">
        <div className="card-head">
          <h2>Side by side</h2>
          <span className="muted small">{result.tokenizers.length} tokenizer{result.tokenizers.length === 1 ? '' : 's'} on the same input</span>
        </div>
        {result.modality === 'image' && <SideBySideImages result={result} artifact={artifact} originalUrl={originalUrl} />}
        <CompareTable result={result} />
        {ok.length > 0 && <RateQuality result={result} colours={colours} />}
      </div>
      {result.tokenizers.map((t) => (
        <section key={t.id} className="card media-tok" data-testid="media-tokenizer" data-tokenizer-id={t.id}>
          <div className="card-head">
            <h2>
              <span className="media-swatch" style={{ background: colours.get(t.id) }} aria-hidden="true" />
              {t.label || t.id}
            </h2>
            <span className="mono small muted">{t.id}</span>
            {!t.error && <span className="badge">{t.family}</span>}
            {!t.error && !t.has_decoder && <span className="badge">no decoder</span>}
            {t.seed !== undefined && t.seed !== null && <span className="muted small">seed {t.seed}</span>}
          </div>
          {t.error ? (
            <Notice kind="warn" testId="media-tokenizer-error">
              {t.error}
            </Notice>
          ) : (
            <>
              {t.description && <p className="muted small">{t.description}</p>}
              {t.codes_truncated && (
                <p className="muted small" data-testid="media-codes-truncated">
                  The result keeps the first 100,000 codes for display; the NumPy export has all {formatInt(t.n_tokens)} tokens.
                </p>
              )}
              {result.modality === 'image' ? (
                <ImageTokenizerView tok={t} originalUrl={originalUrl} artifact={artifact} colour={colours.get(t.id) ?? '#1c7ed6'} />
              ) : (
                <AudioNumbers tok={t} colour={colours.get(t.id) ?? '#1c7ed6'} />
              )}
            </>
          )}
        </section>
      ))}
      <RunDetails job={job} />
    </div>
  );
}
