import { useCallback, useDeferredValue, useEffect, useId, useMemo, useRef, useState, type DragEvent } from 'react';
import { ApiError, api, isAbortError } from '../api/client';
import { isFinished, type Job, type SpecialTokensMode, type TokenizeResultPayload } from '../api/types';
import { ErrorBanner, Notice, Spinner } from '../components/common';
import { JobProgress } from '../components/JobProgress';
import { ResultView } from '../components/ResultView';
import { MAX_TOKENIZERS, TokenizerPicker, defaultSelection } from '../components/TokenizerPicker';
import { useSubmitShortcut } from '../hooks/useSubmitShortcut';
import { formatBytes, formatInt, utf8Length } from '../lib/format';
import { SAMPLES } from '../lib/samples';
import { Link, navigate, useLocation } from '../router';
import { loadStored, saveStored } from '../lib/storage';
import { canWrite, useSession } from '../session';

/** Inputs up to this many UTF-8 bytes are tokenized synchronously (docs/api.md). */
export const SYNC_LIMIT_BYTES = 100_000;
/** Largest input accepted by the API. */
export const MAX_INPUT_BYTES = 50 * 1024 * 1024;
/** Files up to this size are loaded into the text box; larger ones are sent as a file. */
const LOAD_INTO_EDITOR_BYTES = 1024 * 1024;
const DRAFT_KEY = 'tokenscope.lab';

interface Draft {
  text?: string;
  tokenizers?: string[];
  baseline?: string;
  specialTokens?: SpecialTokensMode;
}

function loadDraft(): Draft {
  return loadStored<Draft>(DRAFT_KEY);
}

function saveDraft(d: Draft) {
  saveStored(DRAFT_KEY, { ...d, text: d.text && d.text.length <= 200_000 ? d.text : undefined });
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'submitting' }
  | { kind: 'queued'; job: Job }
  | { kind: 'done'; job: Job }
  | { kind: 'error'; error: unknown }
  | { kind: 'cancelled' };

export function LabPage() {
  const { tokenizers, tokenizersError, reloadTokenizers, team } = useSession();
  const { search } = useLocation();
  const draft = useMemo(loadDraft, []);
  const [text, setText] = useState(() => search.get('text') ?? draft.text ?? '');
  const [file, setFile] = useState<File | null>(null);
  const [selected, setSelected] = useState<string[]>(() => {
    const fromUrl = search.get('tokenizers');
    if (fromUrl) return fromUrl.split(',').filter(Boolean).slice(0, MAX_TOKENIZERS);
    return draft.tokenizers ?? [];
  });
  const [baseline, setBaseline] = useState<string>(draft.baseline ?? '');
  const [specialTokens, setSpecialTokens] = useState<SpecialTokensMode>(draft.specialTokens === 'special' ? 'special' : 'plain');
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [dragging, setDragging] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const abortRef = useRef<AbortController | null>(null);
  const resultsRef = useRef<HTMLDivElement>(null);
  const pickerLabel = useId();

  // Defaults once the catalogue is known; drop ids that no longer exist (e.g. after a team switch).
  useEffect(() => {
    if (!tokenizers) return;
    setSelected((sel) => {
      const known = sel.filter((id) => tokenizers.some((t) => t.id === id && t.available));
      return known.length ? known : defaultSelection(tokenizers);
    });
  }, [tokenizers]);

  useEffect(() => {
    if (!selected.includes(baseline)) setBaseline(selected[0] ?? '');
  }, [selected, baseline]);

  useEffect(() => {
    const t = setTimeout(() => saveDraft({ text, tokenizers: selected, baseline, specialTokens }), 400);
    return () => clearTimeout(t);
  }, [text, selected, baseline, specialTokens]);

  const deferredText = useDeferredValue(text);
  const counts = useMemo(() => {
    if (file) return { chars: null, bytes: file.size };
    let chars = 0;
    for (let i = 0; i < deferredText.length; i++) {
      const c = deferredText.charCodeAt(i);
      if (!(c >= 0xdc00 && c <= 0xdfff)) chars++;
    }
    return { chars, bytes: utf8Length(deferredText) };
  }, [deferredText, file]);

  const busy = phase.kind === 'submitting' || phase.kind === 'queued';
  const writable = canWrite(team);

  const submit = useCallback(async () => {
    if (busy) return;
    setFormError(null);
    if (!file && !text.trim()) {
      setFormError('Paste some text or upload a text file first.');
      return;
    }
    if (selected.length === 0) {
      setFormError('Choose at least one tokenizer.');
      return;
    }
    if ((file?.size ?? 0) > MAX_INPUT_BYTES || (!file && utf8Length(text) > MAX_INPUT_BYTES)) {
      setFormError(`The input is larger than ${formatBytes(MAX_INPUT_BYTES)}, the most the server accepts.`);
      return;
    }
    abortRef.current?.abort();
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setPhase({ kind: 'submitting' });
    if (new URLSearchParams(window.location.search).has('job')) navigate('/', { replace: true }); // a new run, not that job
    try {
      const base = selected.includes(baseline) ? baseline : selected[0];
      const { status, data } = file
        ? await api.tokenizeFile(file, selected, base, ctrl.signal, specialTokens)
        : await api.tokenize({ text, tokenizers: selected, baseline: base, special_tokens: specialTokens }, ctrl.signal);
      if (status === 202 || !isFinished(data.status)) {
        setPhase({ kind: 'queued', job: data });
        // The job in the URL: a reload, or the link sent to a teammate, follows the same job.
        navigate(`/?job=${encodeURIComponent(data.id)}`, { replace: true });
      } else if (data.status === 'succeeded') setPhase({ kind: 'done', job: data });
      else setPhase({ kind: 'error', error: new ApiError(status, data.error || `The job ${data.status}.`) });
    } catch (e) {
      if (isAbortError(e)) return;
      setPhase({ kind: 'error', error: e });
    }
  }, [busy, file, text, selected, baseline, specialTokens]);

  useSubmitShortcut(submit);

  useEffect(() => () => abortRef.current?.abort(), []);

  // Opened with ?job=<id> (a job started here before a reload): follow it, or show its result.
  const jobInUrl = search.get('job');
  useEffect(() => {
    if (!jobInUrl) return;
    const ctrl = new AbortController();
    api
      .job(jobInUrl, ctrl.signal)
      .then((job) => {
        if (job.status === 'succeeded') setPhase({ kind: 'done', job });
        else if (!isFinished(job.status)) setPhase({ kind: 'queued', job });
        else setPhase({ kind: 'error', error: new Error(job.error || `The job ${job.status}.`) });
      })
      .catch((e: unknown) => {
        if (!isAbortError(e)) setPhase({ kind: 'error', error: e });
      });
    return () => ctrl.abort();
    // Only on arrival: the URL changes to ?job= after a submit, whose phase is already set.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    if (phase.kind === 'done' || phase.kind === 'queued') resultsRef.current?.scrollIntoView?.({ behavior: 'smooth', block: 'start' });
  }, [phase.kind]);

  const acceptFile = async (f: File) => {
    setFormError(null);
    if (f.size > MAX_INPUT_BYTES) {
      setFormError(`${f.name} is ${formatBytes(f.size)}; the limit is ${formatBytes(MAX_INPUT_BYTES)}.`);
      return;
    }
    if (f.size <= LOAD_INTO_EDITOR_BYTES) {
      try {
        const content = await f.text();
        if (content.includes('\u0000')) {
          // NUL is fine in text, but binaries have it too: the server tells which (and decodes other encodings).
          setFile(f);
          return;
        }
        setFile(null);
        setText(content);
        return;
      } catch {
        /* fall back to sending the file */
      }
    }
    setFile(f);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const f = e.dataTransfer.files?.[0];
    if (f) void acceptFile(f);
  };

  const result = phase.kind === 'done' && phase.job.kind === 'tokenize' ? (phase.job.result as TokenizeResultPayload | null) : null;
  const selectedNames = selected.map((id) => tokenizers?.find((t) => t.id === id)?.name ?? id);

  return (
    <div className="lab">
      <section
        className={`card input-card${dragging ? ' is-dragging' : ''}`}
        onDragOver={(e) => {
          if (e.dataTransfer.types.includes('Files')) {
            e.preventDefault();
            setDragging(true);
          }
        }}
        onDragLeave={(e) => {
          if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
        }}
        onDrop={onDrop}
      >
        <div className="input-grid">
          <div className="input-main">
            <div className="field-row">
              <label htmlFor="lab-text" className="field-label">
                Text
              </label>
              <div className="samples" aria-label="Sample texts">
                <span className="muted small">Try:</span>
                {SAMPLES.map((s) => (
                  <button
                    key={s.label}
                    type="button"
                    className="btn-link small"
                    onClick={() => {
                      setFile(null);
                      setText(s.text);
                    }}
                  >
                    {s.label}
                  </button>
                ))}
              </div>
            </div>
            {file ? (
              <div className="file-attached" data-testid="attached-file">
                <div className="file-icon" aria-hidden="true">
                  ⎙
                </div>
                <div>
                  <strong>{file.name}</strong>
                  <div className="muted small">{formatBytes(file.size)} · sent as a file and tokenized in the background</div>
                </div>
                <button type="button" className="btn btn-small btn-ghost" onClick={() => setFile(null)}>
                  Remove
                </button>
              </div>
            ) : (
              <textarea
                id="lab-text"
                className="text-input"
                data-testid="text-input"
                value={text}
                onChange={(e) => setText(e.target.value)}
                placeholder="Paste text here, or drop a text file…"
                spellCheck={false}
                rows={9}
              />
            )}
            <div className="input-foot">
              <span className="muted small" data-testid="input-size">
                {counts.chars !== null && `${formatInt(counts.chars)} chars · `}
                {formatBytes(counts.bytes)}
                {counts.bytes > SYNC_LIMIT_BYTES && ' · over 100 KB, runs as a background job'}
              </span>
              <span className="input-foot-actions">
                {(text || file) && !busy && (
                  <button
                    type="button"
                    className="btn-link small"
                    onClick={() => {
                      setText('');
                      setFile(null);
                    }}
                  >
                    Clear
                  </button>
                )}
                <button type="button" className="btn btn-small" onClick={() => fileInput.current?.click()} data-testid="upload-button">
                  Upload text file
                </button>
                <input
                  ref={fileInput}
                  type="file"
                  hidden
                  accept=".txt,.md,.csv,.tsv,.json,.jsonl,.xml,.html,.py,.js,.ts,.c,.cpp,.rs,.go,.java,.tex,text/*"
                  data-testid="file-input"
                  onChange={(e) => {
                    const f = e.target.files?.[0];
                    if (f) void acceptFile(f);
                    e.target.value = '';
                  }}
                />
              </span>
            </div>
          </div>

          <div className="input-side">
            <div className="field">
              <span className="field-label" id={pickerLabel}>
                Tokenizers
              </span>
              <TokenizerPicker tokenizers={tokenizers} selected={selected} onChange={setSelected} disabled={busy} labelId={pickerLabel} />
              {tokenizersError && (
                <ErrorBanner error={new Error(tokenizersError)} title="Could not load the catalogue" onRetry={reloadTokenizers} />
              )}
            </div>
            <div className="field">
              <label className="field-label" htmlFor="lab-baseline">
                Baseline
              </label>
              <select
                id="lab-baseline"
                className="select"
                value={baseline}
                onChange={(e) => setBaseline(e.target.value)}
                disabled={busy || selected.length === 0}
                data-testid="baseline-select"
              >
                {selected.map((id, i) => (
                  <option key={id} value={id}>
                    {selectedNames[i]}
                  </option>
                ))}
              </select>
              <p className="field-hint">“Cost vs baseline” compares every tokenizer’s token count with this one.</p>
            </div>
            <div className="field">
              <label className="field-label" htmlFor="lab-special-tokens">
                Special tokens in the text
              </label>
              <select
                id="lab-special-tokens"
                className="select"
                value={specialTokens}
                onChange={(e) => setSpecialTokens(e.target.value === 'special' ? 'special' : 'plain')}
                disabled={busy}
                data-testid="special-tokens-select"
              >
                <option value="plain">Plain text (like tiktoken encode_ordinary)</option>
                <option value="special">Special tokens where defined (like AutoTokenizer)</option>
              </select>
              <p className="field-hint">Whether a typed &lt;|endoftext|&gt; or [CLS] is read as text or as the special token.</p>
            </div>
            <div className="submit-row">
              <button
                type="button"
                className="btn btn-primary btn-large"
                onClick={() => void submit()}
                disabled={busy || !writable}
                data-testid="tokenize-button"
                aria-keyshortcuts="Control+Enter Meta+Enter"
              >
                {phase.kind === 'submitting' ? 'Tokenizing…' : 'Tokenize'}
              </button>
              <kbd className="shortcut">{navigator.platform?.toLowerCase().includes('mac') ? '⌘' : 'Ctrl'} + Enter</kbd>
            </div>
            {!writable && team && <p className="field-hint">You are a viewer in {team.name}: you can browse results but not run new ones.</p>}
          </div>
        </div>
        {dragging && (
          <div className="drop-overlay" aria-hidden="true">
            Drop a text file to tokenize it
          </div>
        )}
      </section>

      {formError && <ErrorBanner error={new Error(formError)} onDismiss={() => setFormError(null)} />}

      <div ref={resultsRef} className="lab-results">
        {phase.kind === 'idle' && (
          <div className="empty-state lab-empty">
            <div className="empty-tokens" aria-hidden="true">
              <span className="tok tc-0">Paste</span>
              <span className="tok tc-1">·text</span>
              <span className="tok tc-2">,</span>
              <span className="tok tc-3">·pick</span>
              <span className="tok tc-4">·tokenizers</span>
              <span className="tok tc-5">.</span>
            </div>
            <p>
              Paste text above and press <strong>Tokenize</strong> to see how each tokenizer splits it, side by side. Saved results
              appear in <Link to="/history">History</Link>.
            </p>
          </div>
        )}
        {phase.kind === 'submitting' && <Spinner label={`Tokenizing with ${selected.length} tokenizer${selected.length === 1 ? '' : 's'}…`} />}
        {phase.kind === 'error' && <ErrorBanner error={phase.error} title="Tokenization failed" onRetry={() => void submit()} />}
        {phase.kind === 'queued' && (
          <JobProgress
            key={phase.job.id}
            job={phase.job}
            onSucceeded={(job) => setPhase({ kind: 'done', job })}
            onEnded={(status, error) =>
              status === 'failed' ? setPhase({ kind: 'error', error: new Error(error || 'The job failed.') }) : setPhase({ kind: 'cancelled' })
            }
          />
        )}
        {phase.kind === 'done' && result && (
          <>
            <div className="result-head">
              <h2>Result</h2>
              <Link to={`/results/${encodeURIComponent(phase.job.id)}`} className="btn-link small">
                Open as a page →
              </Link>
            </div>
            <ResultView job={phase.job} result={result} />
          </>
        )}
        {phase.kind === 'cancelled' && <Notice kind="warn">The job was cancelled. Press Tokenize to run it again.</Notice>}
        {phase.kind === 'done' && !result && <Notice kind="warn">The job finished but returned no result.</Notice>}
      </div>
    </div>
  );
}
