import { api } from '../api/client';
import type { Job, TokenizeResultPayload } from '../api/types';
import { EmptyState, ErrorBanner, PageHeader, Spinner, StatusBadge } from '../components/common';
import { useApi } from '../hooks/useApi';
import { formatDate, formatInt, formatRelative } from '../lib/format';
import { DRAFTER_BY_KIND, drafterLabel } from '../lib/speculative';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';

export const JOB_KINDS: { value: string; label: string }[] = [
  { value: '', label: 'All kinds' },
  { value: 'tokenize', label: 'Tokenize' },
  { value: 'speculative', label: 'Speculative decoding' },
  { value: 'distill_draft', label: 'Draft distillation' },
  { value: 'detect_text', label: 'Detection (texts)' },
  { value: 'detect_dataset', label: 'Detection (dataset)' },
  { value: 'media_tokenize', label: 'Images & audio' },
  { value: 'media_codebook', label: 'Media codebook' },
];

/** Where a job's result is shown: distillation and media jobs have their own pages. */
export function jobHref(job: Pick<Job, 'id' | 'kind'>): string {
  const id = encodeURIComponent(job.id);
  if (job.kind === 'distill_draft') return `/drafts?job=${id}`;
  if (job.kind === 'media_tokenize') return `/media/jobs/${id}`;
  return `/results/${id}`;
}

function ownerName(owner: Job['owner']): string {
  if (!owner) return '—';
  return typeof owner === 'string' ? owner : owner.username;
}

export function jobTokenizerIds(job: Job): string[] {
  const ids = job.params?.tokenizers;
  // Media jobs name their tokenizers as {id, ref?}.
  if (Array.isArray(ids)) return ids.map((t) => (t && typeof t === 'object' && 'id' in t ? String((t as { id: unknown }).id) : String(t)));
  const r = job.result as TokenizeResultPayload | null;
  return r?.results?.map((x) => x.tokenizer.id) ?? [];
}

const KIND_LABELS: Record<string, string> = Object.fromEntries(JOB_KINDS.filter((k) => k.value).map((k) => [k.value, k.label]));

/** Target, drafter and settings of a speculative job, from its parameters (History rows carry no result). */
function SpeculativeCell({ job }: { job: Job }) {
  const p = job.params ?? {};
  const drafter = (p.drafter && typeof p.drafter === 'object' ? p.drafter : {}) as Record<string, unknown>;
  const auto = p.method === 'autoregressive';
  const kind = typeof drafter.kind === 'string' ? drafter.kind : null;
  const usesGamma = kind ? DRAFTER_BY_KIND[kind]?.usesGamma !== false : true;
  const temperature = typeof p.temperature === 'number' ? p.temperature : 0;
  const bits = [
    !auto && usesGamma ? `γ ${typeof p.gamma === 'number' ? p.gamma : 5}${p.adaptive_gamma ? ' (adaptive)' : ''}` : null,
    temperature === 0 ? 'greedy' : `T ${temperature}`,
    `${typeof p.max_new_tokens === 'number' ? p.max_new_tokens : 128} new tokens`,
  ].filter(Boolean);
  return (
    <div className="spec-cell">
      <div className="mini-chips">
        <span className="mini-chip chip-2" title="Target model">
          {String(p.target ?? '?')}
        </span>
        <span className={`mini-chip ${auto ? 'chip-5' : 'chip-1'}`} title="Method">
          {auto ? 'autoregressive' : drafterLabel(kind)}
        </span>
        {!auto && typeof drafter.model === 'string' && (
          <span className="mini-chip chip-3" title="Draft model">
            draft {drafter.model}
          </span>
        )}
      </div>
      <div className="muted small">{bits.join(' · ')}</div>
    </div>
  );
}

function jobTitle(job: Job): string {
  if (job.title) return job.title;
  const prompt = job.params?.prompt;
  if (typeof prompt === 'string' && prompt) return prompt.length > 60 ? `${prompt.slice(0, 60)}…` : prompt;
  const text = job.params?.text;
  if (typeof text === 'string' && text) return text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return `${job.kind} ${job.id.slice(0, 8)}`;
}

export function HistoryPage() {
  const { team, tokenizers } = useSession();
  const { search } = useLocation();
  const kind = search.get('kind') ?? '';
  const page = Math.max(1, Number(search.get('page') ?? '1') || 1);
  const { data, error, loading, reload } = useApi(
    (signal) => api.jobs({ kind: kind || undefined, page: page > 1 ? page : undefined }, signal),
    [kind, page, team?.slug],
  );
  const names = new Map((tokenizers ?? []).map((t) => [t.id, t.name]));

  const go = (next: { kind?: string; page?: number }) => {
    const q = new URLSearchParams();
    const k = next.kind ?? kind;
    const p = next.page ?? page;
    if (k) q.set('kind', k);
    if (p > 1) q.set('page', String(p));
    const qs = q.toString();
    navigate(`/history${qs ? `?${qs}` : ''}`);
  };

  const pageSize = data && data.results.length && (data.next || page > 1) ? Math.max(data.results.length, 1) : null;
  const firstIndex = data && data.results.length ? (pageSize && page > 1 ? (page - 1) * pageSize + 1 : 1) : 0;
  const lastIndex = data ? firstIndex + data.results.length - 1 : 0;

  return (
    <div>
      <PageHeader
        title="History"
        subtitle={team ? `Saved results of ${team.name}, newest first.` : 'Saved results, newest first.'}
        actions={
          <div className="filters">
            <label className="field-inline">
              <span>Kind</span>
              <select className="select" value={kind} onChange={(e) => go({ kind: e.target.value, page: 1 })} data-testid="history-kind-filter">
                {JOB_KINDS.map((k) => (
                  <option key={k.value} value={k.value}>
                    {k.label}
                  </option>
                ))}
              </select>
            </label>
          </div>
        }
      />
      {error && <ErrorBanner error={error} title="Could not load the history" onRetry={reload} />}
      {loading && !data && <Spinner label="Loading history…" />}
      {data && data.results.length === 0 && !error && (
        <EmptyState title={kind ? `No ${kind} results yet` : 'No saved results yet'}>
          <p>Every tokenization and speculative-decoding run is saved here for your team.</p>
          <p>
            {kind === 'speculative' ? (
              <Link to="/speculative" className="btn btn-primary">
                Run speculative decoding
              </Link>
            ) : (
              <Link to="/" className="btn btn-primary">
                Tokenize something
              </Link>
            )}
          </p>
        </EmptyState>
      )}
      {data && data.results.length > 0 && (
        <div className={`card table-card${loading ? ' is-loading' : ''}`}>
          <div className="table-scroll">
            <table className="data-table" data-testid="history-table">
              <thead>
                <tr>
                  <th>Title</th>
                  <th>{kind === 'speculative' ? 'Models' : kind === 'tokenize' ? 'Tokenizers' : 'Tokenizers / models'}</th>
                  <th>Status</th>
                  <th>Created</th>
                  <th>Owner</th>
                </tr>
              </thead>
              <tbody>
                {data.results.map((job) => (
                  <tr key={job.id} data-testid="history-row" data-job-id={job.id}>
                    <td className="cell-title">
                      <Link to={jobHref(job)} data-testid="history-link">
                        {jobTitle(job)}
                      </Link>
                      <div className="muted small">{KIND_LABELS[job.kind] ?? job.kind}</div>
                    </td>
                    <td>
                      {job.kind === 'speculative' ? (
                        <SpeculativeCell job={job} />
                      ) : (
                        <div className="mini-chips">
                          {jobTokenizerIds(job).map((id, i) => (
                            <span key={id} className={`mini-chip chip-${i % 6}`} title={id}>
                              {names.get(id) ?? id}
                            </span>
                          ))}
                        </div>
                      )}
                    </td>
                    <td>
                      <StatusBadge status={job.status} />
                      {job.status === 'running' && <span className="muted small"> {Math.round(job.progress * 100)}%</span>}
                    </td>
                    <td title={formatDate(job.created_at)}>{formatRelative(job.created_at)}</td>
                    <td>{ownerName(job.owner)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <span className="muted small">
              {formatInt(firstIndex)}–{formatInt(lastIndex)} of {formatInt(data.count)}
            </span>
            <div className="pager-buttons">
              <button type="button" className="btn btn-small" disabled={!data.previous} onClick={() => go({ page: page - 1 })} data-testid="history-prev">
                ← Newer
              </button>
              <span className="small">Page {page}</span>
              <button type="button" className="btn btn-small" disabled={!data.next} onClick={() => go({ page: page + 1 })} data-testid="history-next">
                Older →
              </button>
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
