// The Media form: an image or audio file (drop or pick), the tokenizers for its modality (not-installed ones greyed
// with how to install them; checkpoint-by-reference ones with a ref field), image prefixes k, seed, seconds analysed.
import { useState, type DragEvent } from 'react';
import { formatBytes } from '../../lib/format';
import type { MediaModality } from '../../lib/media';
import { MEDIA_LIMITS, guessModality, parseKs, type MediaTokenizeOptions, type MediaTokenizerEntry } from '../../lib/mediaApi';

/** Installed, or named by a checkpoint reference (whether that one is installed depends on the ref). */
export const selectable = (e: MediaTokenizerEntry) => e.status.installed || e.needs_ref;

export interface MediaFormValue {
  file: File | null;
  chosen: Record<string, { ref: string }>;
  ks: string;
  seed: string;
  maxSeconds: string;
}

export function defaultMediaForm(): MediaFormValue {
  return { file: null, chosen: {}, ks: '', seed: '0', maxSeconds: String(MEDIA_LIMITS.analysedSecondsDefault) };
}

/** The request options for a valid form, or the message saying what to fix. */
export function mediaFormOptions(form: MediaFormValue, entries: readonly MediaTokenizerEntry[]): { options: MediaTokenizeOptions } | { error: string } {
  if (!form.file) return { error: 'Choose an image or an audio file.' };
  if (form.file.size > MEDIA_LIMITS.uploadBytes) return { error: `The file is ${formatBytes(form.file.size)}; uploads are limited to ${formatBytes(MEDIA_LIMITS.uploadBytes)}.` };
  const modality = guessModality(form.file);
  const picked = entries.filter((e) => form.chosen[e.id] && selectable(e) && (!modality || e.modality === modality));
  if (!picked.length) return { error: 'Choose at least one installed tokenizer for this file.' };
  if (picked.length > MEDIA_LIMITS.tokenizersPerJob) return { error: `Choose at most ${MEDIA_LIMITS.tokenizersPerJob} tokenizers for one run.` };
  const missingRef = picked.find((e) => e.needs_ref && !form.chosen[e.id].ref.trim());
  if (missingRef) return { error: `${missingRef.label} needs a checkpoint: a hub id or an allowed folder.` };
  const seed = Number(form.seed);
  if (!Number.isInteger(seed) || seed < 0) return { error: 'The seed must be a whole number ≥ 0.' };
  const options: MediaTokenizeOptions = {
    tokenizers: picked.map((e) => (e.needs_ref ? { id: e.id, ref: form.chosen[e.id].ref.trim() } : { id: e.id })),
    seed,
  };
  if (modality !== 'audio' && form.ks.trim()) {
    const ks = parseKs(form.ks);
    if (!ks) return { error: 'Prefixes k: whole numbers ≥ 1, separated by commas (or empty for 1, 2, 4 … all).' };
    if (ks.length > MEDIA_LIMITS.prefixesPerJob) return { error: `Prefixes k: at most ${MEDIA_LIMITS.prefixesPerJob} values.` };
    options.ks = ks;
  }
  if (modality !== 'image') {
    const s = Number(form.maxSeconds);
    if (!(s > 0 && s <= MEDIA_LIMITS.analysedSecondsMax)) return { error: `Seconds analysed: more than 0, at most ${MEDIA_LIMITS.analysedSecondsMax}.` };
    options.maxSeconds = s;
  }
  return { options };
}

function TokenizerOption({ entry, choice, onChange }: { entry: MediaTokenizerEntry; choice: { ref: string } | undefined; onChange: (c: { ref: string } | undefined) => void }) {
  const installed = entry.status.installed;
  const listId = `refs-${entry.id.replace(/[^a-z0-9]/gi, '-')}`;
  return (
    <div className={`media-option${selectable(entry) ? '' : ' is-missing'}${!installed && entry.needs_ref ? ' needs-ref' : ''}`} data-testid="media-tokenizer-option" data-tokenizer-id={entry.id} data-installed={installed}>
      <label className="media-option-head">
        <input type="checkbox" checked={!!choice} disabled={!selectable(entry)} onChange={(e) => onChange(e.target.checked ? { ref: entry.example_refs[0] ?? '' } : undefined)} data-testid="media-tokenizer-check" value={entry.id} />
        <strong>{entry.label}</strong>
        <span className="badge">{entry.family}</span>
        {entry.team_codebook && (
          <span className="badge role-member" data-testid="media-team-codebook">
            your team's
          </span>
        )}
        <span className="muted small">
          {entry.layout}
          {!entry.has_decoder && ' · no decoder'}
        </span>
      </label>
      <div className="muted small media-option-desc">{entry.description}</div>
      {!installed && (
        <div className="small media-install" data-testid="media-install-hint">
          Not installed{entry.status.detail ? `: ${entry.status.detail}` : ''}.
          {entry.status.install && (
            <details>
              <summary>How to install</summary>
              <code>{entry.status.install}</code>
            </details>
          )}
        </div>
      )}
      {entry.needs_ref && choice && (
        <label className="field-inline small media-ref">
          Checkpoint (hub id or allowed folder){' '}
          <input className="input" list={listId} value={choice.ref} onChange={(e) => onChange({ ref: e.target.value })} placeholder={entry.example_refs[0] ?? 'org/model'} data-testid="media-tokenizer-ref" />
          <datalist id={listId}>
            {entry.example_refs.map((r) => (
              <option key={r} value={r} />
            ))}
          </datalist>
          {entry.example_refs.length > 0 && <span className="muted">e.g. {entry.example_refs.join(', ')}</span>}
        </label>
      )}
    </div>
  );
}

interface Props {
  form: MediaFormValue;
  onChange: (f: MediaFormValue) => void;
  entries: MediaTokenizerEntry[];
  busy: boolean;
  writable: boolean;
  error: string | null;
  onSubmit: () => void;
}

export function MediaForm({ form, onChange, entries, busy, writable, error, onSubmit }: Props) {
  const [dragging, setDragging] = useState(false);
  const modality: MediaModality | null = form.file ? guessModality(form.file) : null;
  const shown = entries.filter((e) => !modality || e.modality === modality);
  const set = (patch: Partial<MediaFormValue>) => onChange({ ...form, ...patch });
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const f = e.dataTransfer.files?.[0];
    if (f) set({ file: f });
  };
  return (
    <form
      className="card media-form"
      data-testid="media-form"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      <div className="media-form-grid">
        <div className="media-form-main">
          <label
            className={`media-drop${dragging ? ' is-dragging' : ''}${form.file ? ' has-file' : ''}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={drop}
            data-testid="media-drop"
          >
            <input type="file" accept="image/*,audio/*,.wav,.flac,.ogg,.mp3,.png,.jpg,.jpeg,.webp" className="sr-only" onChange={(e) => set({ file: e.target.files?.[0] ?? null })} data-testid="media-file" />
            {form.file ? (
              <span data-testid="media-file-name">
                <strong>{form.file.name}</strong> <span className="muted">({formatBytes(form.file.size)}{modality ? `, ${modality}` : ', type unknown'})</span>
                <span className="muted small"> · click or drop to replace</span>
              </span>
            ) : (
              <span>
                <strong>Drop an image or an audio clip here</strong>, or click to choose one.
              </span>
            )}
            <span className="muted small" data-testid="media-limits">
              Up to {formatBytes(MEDIA_LIMITS.uploadBytes)}. Images: PNG, JPEG, WebP…, at most {MEDIA_LIMITS.imageMegapixels} megapixels decoded. Audio: WAV, FLAC, OGG…, at most{' '}
              {MEDIA_LIMITS.audioMaxSeconds / 60} minutes; the first “seconds analysed” are tokenized.
            </span>
          </label>
          <fieldset className="det-fieldset" data-testid="media-tokenizers">
            <legend className="field-label">Tokenizers{modality ? ` for ${modality}` : ''} (up to {MEDIA_LIMITS.tokenizersPerJob}, side by side)</legend>
            <div className="media-options">
              {shown.map((e) => (
                <TokenizerOption
                  key={e.id}
                  entry={e}
                  choice={form.chosen[e.id]}
                  onChange={(c) => {
                    const chosen = { ...form.chosen };
                    if (c) chosen[e.id] = c;
                    else delete chosen[e.id];
                    set({ chosen });
                  }}
                />
              ))}
              {!shown.length && <p className="muted small">No tokenizer for this kind of file.</p>}
            </div>
          </fieldset>
        </div>
        <div className="media-form-side">
          {modality !== 'audio' && (
            <label className="field-inline">
              Image prefixes k (1D tokenizers)
              <input className="input" value={form.ks} onChange={(e) => set({ ks: e.target.value })} placeholder="1, 2, 4 … all tokens" data-testid="media-ks" />
              <span className="field-hint">Each k decodes the first k tokens (at most {MEDIA_LIMITS.prefixesPerJob} values; empty: powers of two and all).</span>
            </label>
          )}
          {modality !== 'image' && (
            <label className="field-inline">
              Seconds analysed
              <input className="input" type="number" min={1} max={MEDIA_LIMITS.analysedSecondsMax} value={form.maxSeconds} onChange={(e) => set({ maxSeconds: e.target.value })} data-testid="media-max-seconds" />
              <span className="field-hint">
                Default {MEDIA_LIMITS.analysedSecondsDefault}, at most {MEDIA_LIMITS.analysedSecondsMax}.
              </span>
            </label>
          )}
          <label className="field-inline">
            Seed
            <input className="input" type="number" min={0} step={1} value={form.seed} onChange={(e) => set({ seed: e.target.value })} data-testid="media-seed" />
            <span className="field-hint">For stochastic decoders (FlexTok's flow); recorded in the result.</span>
          </label>
          <button type="submit" className="btn btn-primary" disabled={busy || !writable} data-testid="media-run">
            {busy ? 'Running…' : 'Tokenize'}
          </button>
          {error && (
            <p className="field-error" role="alert" data-testid="media-form-error">
              {error}
            </p>
          )}
          {!writable && <p className="field-hint">You are a viewer in this team: you can open results but not start new ones.</p>}
        </div>
      </div>
    </form>
  );
}
