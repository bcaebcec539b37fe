import { useMemo, useState, type FormEvent } from 'react';
import { ApiError, api } from '../api/client';
import type { Tokenizer } from '../api/types';
import { EmptyState, ErrorBanner, Notice, PageHeader, Spinner } from '../components/common';
import { filterTokenizers } from '../components/TokenizerPicker';
import { formatInt } from '../lib/format';
import { Link } from '../router';
import { canWrite, useSession } from '../session';

function SpecialTokens({ list }: { list: string[] }) {
  if (!list?.length) return <span className="muted">0</span>;
  return (
    <details className="special-list">
      <summary>
        {formatInt(list.length)} <span className="muted small">show</span>
      </summary>
      <ul>
        {list.map((s, i) => (
          <li key={`${s}-${i}`}>
            <code>{s}</code>
          </li>
        ))}
      </ul>
    </details>
  );
}

function AddTokenizerForm({ onAdded }: { onAdded: (t: Tokenizer) => void }) {
  const [mode, setMode] = useState<'file' | 'hf'>('file');
  const [name, setName] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [hfId, setHfId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fileKey, setFileKey] = useState(0);

  const fieldErrors = error instanceof ApiError ? error.fields : {};

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!name.trim()) return setError(new Error('Give the tokenizer a name.'));
    if (mode === 'file' && !file) return setError(new Error('Choose a tokenizer.json, SentencePiece .model or .tiktoken file.'));
    if (mode === 'hf' && !hfId.trim()) return setError(new Error('Enter a Hugging Face id or a local folder.'));
    setBusy(true);
    try {
      const t = mode === 'file' && file ? await api.addTokenizerFile(name.trim(), file) : await api.addTokenizerHf({ name: name.trim(), hf_id: hfId.trim() });
      onAdded(t);
      setName('');
      setFile(null);
      setHfId('');
      setFileKey((k) => k + 1);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card add-form" onSubmit={submit} data-testid="add-tokenizer-form" noValidate>
      <div className="card-head">
        <h2>Add a custom tokenizer</h2>
        <span className="muted small">Custom tokenizers are visible to your team only.</span>
      </div>
      <div className="segmented" role="radiogroup" aria-label="Source">
        <button type="button" role="radio" aria-checked={mode === 'file'} className={mode === 'file' ? 'is-on' : ''} onClick={() => setMode('file')}>
          Upload a file
        </button>
        <button type="button" role="radio" aria-checked={mode === 'hf'} className={mode === 'hf' ? 'is-on' : ''} onClick={() => setMode('hf')}>
          Hugging Face id / local folder
        </button>
      </div>
      <div className="form-grid">
        <label className="field">
          <span className="field-label">Name</span>
          <input className="input" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Our legal BPE 32k" data-testid="add-tokenizer-name" />
          {fieldErrors.name && <span className="field-error">{fieldErrors.name.join(' ')}</span>}
        </label>
        {mode === 'file' ? (
          <label className="field">
            <span className="field-label">File</span>
            <input
              key={fileKey}
              className="input"
              type="file"
              accept=".json,.model,.tiktoken"
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
              data-testid="add-tokenizer-file"
            />
            <span className="field-hint">tokenizer.json (HF tokenizers), SentencePiece .model, or .tiktoken (BPE ranks).</span>
            {fieldErrors.file && <span className="field-error">{fieldErrors.file.join(' ')}</span>}
          </label>
        ) : (
          <label className="field">
            <span className="field-label">Hugging Face id or local folder</span>
            <input className="input mono" value={hfId} onChange={(e) => setHfId(e.target.value)} placeholder="org/model or /models/my-tokenizer" data-testid="add-tokenizer-hf" />
            <span className="field-hint">A hub id (owner/name) the server can reach or has cached, or a folder with tokenizer files under the model folders the administrator allows.</span>
            {fieldErrors.hf_id && <span className="field-error">{fieldErrors.hf_id.join(' ')}</span>}
          </label>
        )}
      </div>
      <ErrorBanner error={error} title="Could not add the tokenizer" onDismiss={() => setError(null)} />
      <div>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="add-tokenizer-submit">
          {busy ? 'Adding…' : 'Add tokenizer'}
        </button>
      </div>
    </form>
  );
}

export function CataloguePage() {
  const { tokenizers, tokenizersError, reloadTokenizers, team } = useSession();
  const [query, setQuery] = useState('');
  const [added, setAdded] = useState<Tokenizer | null>(null);
  const rows = useMemo(() => filterTokenizers(tokenizers ?? [], query), [tokenizers, query]);

  return (
    <div>
      <PageHeader
        title="Catalogue"
        subtitle="Every tokenizer available to your team: built-in ones and the custom ones your team added."
        actions={
          <input
            className="input search"
            type="search"
            placeholder="Filter by name, family, algorithm…"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            aria-label="Filter tokenizers"
            data-testid="catalog-search"
          />
        }
      />
      {tokenizersError && <ErrorBanner error={new Error(tokenizersError)} title="Could not load the catalogue" onRetry={reloadTokenizers} />}
      {added && (
        <Notice kind="success" testId="add-tokenizer-success">
          Added <strong>{added.name}</strong>.{' '}
          <Link to={`/?tokenizers=${encodeURIComponent(added.id)}`}>Try it in the lab →</Link>
        </Notice>
      )}
      {!tokenizers && !tokenizersError && <Spinner label="Loading the catalogue…" />}
      {tokenizers && rows.length === 0 && <EmptyState title={query ? `Nothing matches “${query}”` : 'The catalogue is empty'} />}
      {tokenizers && rows.length > 0 && (
        <div className="card table-card">
          <div className="table-scroll">
            <table className="data-table catalog-table" data-testid="catalog-table">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Family</th>
                  <th>Algorithm</th>
                  <th className="num">Vocab</th>
                  <th>Special tokens</th>
                  <th>Source</th>
                  <th>Licence</th>
                  <th>Availability</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((t) => (
                  <tr key={t.id} data-testid="catalog-row" data-tokenizer-id={t.id} className={t.available ? '' : 'is-unavailable'}>
                    <td className="cell-title">
                      <strong>{t.name}</strong>
                      {!t.builtin && <span className="badge badge-accent badge-tiny">custom</span>}
                      <div className="mono muted small">{t.id}</div>
                      {t.description && <div className="muted small desc">{t.description}</div>}
                    </td>
                    <td>{t.family}</td>
                    <td>
                      {t.algorithm}
                      <div className="muted small">{t.library}</div>
                    </td>
                    <td className="num">{formatInt(t.vocab_size)}</td>
                    <td>
                      <SpecialTokens list={t.special_tokens} />
                    </td>
                    <td className="small">{t.source}</td>
                    <td className="small">{t.licence || '—'}</td>
                    <td>{t.available ? <span className="badge status-succeeded">available</span> : <span className="badge badge-muted">unavailable</span>}</td>
                    <td>
                      {t.available && (
                        <Link to={`/?tokenizers=${encodeURIComponent(t.id)}`} className="btn btn-small">
                          Try
                        </Link>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {canWrite(team) ? (
        <AddTokenizerForm
          onAdded={(t) => {
            setAdded(t);
            reloadTokenizers();
          }}
        />
      ) : (
        team && <p className="muted">Viewers cannot add tokenizers. Ask an owner of {team.name} for the member role.</p>
      )}
    </div>
  );
}
