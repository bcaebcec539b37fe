// The audio input in time: waveform (from peaks), spectrogram, and one token strip per tokenizer on the same time
// axis, a playhead across all of them, and A/B playback of the original against a reconstruction at the same position.
import { useEffect, useMemo, useRef, useState } from 'react';
import { codeColour, formatSeconds, stripCells, timedTokens, tokenAt, type MediaResult, type MediaTokenizerResult, type TimedToken } from '../../lib/media';

const STRIP_W = 1000; // SVG user units across the clip
const MAX_CELLS = 1000;

function Waveform({ peaks }: { peaks: [number, number][] }) {
  const n = peaks.length || 1;
  const d = peaks.map(([lo, hi], i) => `M${((i + 0.5) / n) * STRIP_W},${50 - hi * 48}V${50 - lo * 48 + 0.3}`).join('');
  return (
    <svg className="media-wave" viewBox={`0 0 ${STRIP_W} 100`} preserveAspectRatio="none" data-testid="media-waveform" aria-label="Waveform">
      <line x1={0} x2={STRIP_W} y1={50} y2={50} className="chart-grid" />
      <path d={d} className="media-wave-path" vectorEffect="non-scaling-stroke" />
    </svg>
  );
}

function TokenTrack({ tok, tokens, duration }: { tok: MediaTokenizerResult; tokens: TimedToken[]; duration: number }) {
  const cells = useMemo(() => stripCells(tokens, duration, MAX_CELLS), [tokens, duration]);
  const x = (t: number) => (duration > 0 ? (t / duration) * STRIP_W : 0);
  const labelled = tok.labels != null;
  return (
    <svg className={`media-track${labelled ? ' is-labelled' : ''}`} viewBox={`0 0 ${STRIP_W} 24`} preserveAspectRatio="none" data-testid="media-token-strip" data-tokenizer-id={tok.id} data-tokens={tokens.length} data-cells={cells.length}>
      {cells.map((c) => (
        <rect key={c.first} x={x(c.start)} width={Math.max(0.6, x(c.end) - x(c.start) - (labelled ? 0.6 : 0))} y={0} height={24} fill={codeColour(c.code, 0.85)}>
          <title>
            {c.count > 1
              ? `${c.count} tokens from ${formatSeconds(c.start)} to ${formatSeconds(c.end)} (first: ${c.codes.join('·')})`
              : `token ${c.first + 1}${c.label ? ` “${c.label}”` : ''}: ${c.codes.length > 1 ? 'codes' : 'code'} ${c.codes.join('·')}, ${formatSeconds(c.start)}–${formatSeconds(c.end)}`}
          </title>
        </rect>
      ))}
    </svg>
  );
}

const LABEL_MIN_PX = 18;

/** Phone labels drawn as HTML (an SVG stretched with preserveAspectRatio=none would squash the text); only those with
 * room for their text at the strip's current width. */
function TrackLabels({ tokens, duration }: { tokens: TimedToken[]; duration: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => setWidth(el.clientWidth || 800));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return (
    <div className="media-track-labels" aria-hidden="true" ref={ref}>
      {tokens.map((t) =>
        t.label && duration > 0 && ((t.end - t.start) / duration) * width >= Math.max(LABEL_MIN_PX, t.label.length * 7) ? (
          <span key={t.index} style={{ left: `${(t.start / duration) * 100}%`, width: `${((t.end - t.start) / duration) * 100}%` }}>
            {t.label}
          </span>
        ) : null,
      )}
    </div>
  );
}

interface Props {
  result: MediaResult;
  tokenizers: MediaTokenizerResult[];
  artifact: (name: string) => string;
}

export function AudioTimeline({ result, tokenizers, artifact }: Props) {
  const duration = result.waveform?.duration_s ?? result.input.duration_s ?? 0;
  const decoded = tokenizers.filter((t) => !t.error && t.reconstruction?.artifact);
  const [bId, setBId] = useState(decoded[0]?.id ?? '');
  const [side, setSide] = useState<'A' | 'B'>('A');
  const [playing, setPlaying] = useState(false);
  const [time, setTime] = useState(0);
  const aRef = useRef<HTMLAudioElement>(null);
  const bRef = useRef<HTMLAudioElement>(null);
  const headRef = useRef<HTMLDivElement>(null);
  const laneRef = useRef<HTMLDivElement>(null);
  const tracks = useMemo(() => tokenizers.filter((t) => !t.error).map((t) => ({ tok: t, tokens: timedTokens(t) })), [tokenizers]);
  const bTok = decoded.find((t) => t.id === bId) ?? decoded[0];
  const aUrl = artifact(result.original.artifact);
  const bUrl = bTok?.reconstruction ? artifact(bTok.reconstruction.artifact) : null;
  const active = () => (side === 'A' ? aRef.current : bRef.current);

  // The playhead follows the playing element every frame (a style write, not a React render); the token readout
  // below follows `timeupdate`.
  useEffect(() => {
    if (!playing) return;
    let raf = 0;
    const tick = () => {
      const el = side === 'A' ? aRef.current : bRef.current;
      if (el && headRef.current && duration > 0) headRef.current.style.left = `${Math.min(100, (el.currentTime / duration) * 100)}%`;
      raf = requestAnimationFrame(tick);
    };
    raf = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(raf);
  }, [playing, side, duration]);

  useEffect(() => {
    if (headRef.current && duration > 0) headRef.current.style.left = `${Math.min(100, (time / duration) * 100)}%`;
  }, [time, duration]);

  const toggle = async () => {
    const el = active();
    if (!el) return;
    if (el.paused) {
      try {
        await el.play();
      } catch {
        /* the browser refused (no user gesture, unsupported format): stay paused */
      }
    } else el.pause();
  };

  /** A/B: the other element takes over at the same position, playing if this one was. */
  const switchTo = (next: 'A' | 'B') => {
    if (next === side) return;
    const from = active();
    const to = next === 'A' ? aRef.current : bRef.current;
    const wasPlaying = !!from && !from.paused;
    const at = from?.currentTime ?? time;
    from?.pause();
    setSide(next);
    if (to) {
      to.currentTime = Math.min(at, Number.isFinite(to.duration) ? to.duration : at);
      if (wasPlaying) void to.play().catch(() => undefined);
    }
  };

  const seek = (fraction: number) => {
    const t = Math.max(0, Math.min(1, fraction)) * duration;
    for (const el of [aRef.current, bRef.current]) if (el) el.currentTime = t;
    setTime(t);
  };

  const events = (which: 'A' | 'B') => ({
    onPlay: () => which === side && setPlaying(true),
    onPause: () => which === side && setPlaying(false),
    onEnded: () => which === side && setPlaying(false),
    onTimeUpdate: (e: React.SyntheticEvent<HTMLAudioElement>) => which === side && setTime(e.currentTarget.currentTime),
  });

  return (
    <div className="card media-timeline" data-testid="media-timeline">
      <div className="card-head">
        <h2>Signal and tokens in time</h2>
        <span className="muted small">{formatSeconds(duration)} analysed · click anywhere to seek</span>
      </div>
      <div className="media-player" data-testid="media-player">
        <button type="button" className="btn btn-primary btn-small" onClick={() => void toggle()} data-testid="media-play" aria-pressed={playing}>
          {playing ? '❚❚ Pause' : '▶ Play'}
        </button>
        <div className="media-ab" role="group" aria-label="A/B: which signal plays">
          <button type="button" className={`media-ab-btn${side === 'A' ? ' is-active' : ''}`} onClick={() => switchTo('A')} data-testid="media-ab-a" aria-pressed={side === 'A'}>
            A · original
          </button>
          <button type="button" className={`media-ab-btn${side === 'B' ? ' is-active' : ''}`} onClick={() => switchTo('B')} disabled={!bTok} data-testid="media-ab-b" aria-pressed={side === 'B'}>
            B · reconstruction
          </button>
        </div>
        {decoded.length > 0 ? (
          <label className="field-inline small">
            B ={' '}
            <select
              className="input"
              value={bTok?.id ?? ''}
              onChange={(e) => {
                if (side === 'B') switchTo('A');
                setBId(e.target.value);
              }}
              data-testid="media-b-select"
            >
              {decoded.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.label}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <span className="muted small">No tokenizer here has a decoder: only the original plays.</span>
        )}
        <span className="mono small" data-testid="media-time">
          {formatSeconds(time)} / {formatSeconds(duration)}
        </span>
        <audio ref={aRef} src={aUrl} preload="auto" data-testid="media-audio-a" {...events('A')} />
        {bUrl && <audio key={bUrl} ref={bRef} src={bUrl} preload="auto" data-testid="media-audio-b" {...events('B')} />}
      </div>
      <div
        className="media-stack"
        onClick={(e) => {
          const lane = laneRef.current?.getBoundingClientRect();
          if (lane && lane.width > 0) seek((e.clientX - lane.left) / lane.width);
        }}
      >
        <div className="media-row">
          <span className="media-row-label">Waveform</span>
          <div className="media-row-body">{result.waveform ? <Waveform peaks={result.waveform.peaks} /> : <span className="muted small">no waveform</span>}</div>
        </div>
        {result.spectrogram && (
          <div className="media-row">
            <span className="media-row-label">
              Spectrogram
              <span className="muted small media-row-now">0–{(result.spectrogram.max_hz / 1000).toFixed(1)} kHz</span>
            </span>
            <div className="media-row-body">
              <img src={artifact(result.spectrogram.artifact)} alt="Spectrogram" className="media-spectrogram" data-testid="media-spectrogram" />
            </div>
          </div>
        )}
        {tracks.map(({ tok, tokens }) => {
          const now = tokenAt(tokens, time);
          return (
            <div className="media-row" key={tok.id}>
              <span className="media-row-label" title={tok.codes_truncated ? `${tok.description} The result keeps the first ${tokens.length.toLocaleString('en-US')} tokens (to ${formatSeconds(tokens[tokens.length - 1]?.end)}); the npz export has all.` : tok.description}>
                {tok.label}
                {tok.codes_truncated && <span className="muted small"> (first {formatSeconds(tokens[tokens.length - 1]?.end)})</span>}
                <span className="muted small mono media-row-now" data-testid="media-now-token">
                  {now ? ` ${now.label ?? (now.codes.length > 4 ? `${now.codes.slice(0, 4).join('·')}…` : now.codes.join('·'))}` : ' –'}
                </span>
              </span>
              <div className="media-row-body">
                <TokenTrack tok={tok} tokens={tokens} duration={duration} />
                {tok.labels && <TrackLabels tokens={tokens} duration={duration} />}
              </div>
            </div>
          );
        })}
        <div className="media-playhead-lane" aria-hidden="true" ref={laneRef}>
          <div className="media-playhead" ref={headRef} />
        </div>
      </div>
    </div>
  );
}
