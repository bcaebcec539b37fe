// "Run details" under a stored result: the job, and its manifest (docs/api.md, "Manifests and re-runs"): product
// version and commit, libraries, the tokenizers' and models' files with their sha256, runtime, seed, parameters.
// A member can re-run tokenize, speculative and media results from it: same parameters, new job.
import { useContext, useState } from 'react';
import { api } from '../api/client';
import type { Job, ManifestFile, RunManifest } from '../api/types';
import { formatBytes, formatDate } from '../lib/format';
import { navigate } from '../router';
import { SessionContext, canWrite } from '../session';
import { CopyButton, ErrorBanner } from './common';

const RERUNNABLE = ['tokenize', 'speculative', 'media_tokenize'];

/** The result's manifest, or null (results stored before manifests, or not finished). */
export function manifestOf(result: unknown): RunManifest | null {
  const manifest = result && typeof result === 'object' ? (result as { manifest?: unknown }).manifest : null;
  return manifest && typeof manifest === 'object' && (manifest as RunManifest).manifest_version ? (manifest as RunManifest) : null;
}

function ownerName(owner: Job['owner']): string {
  if (!owner) return '—';
  return typeof owner === 'string' ? owner : owner.username;
}

function productLine(m: RunManifest): string {
  const { version, commit, dirty } = m.product;
  const at = commit ? ` · commit ${commit.slice(0, 12)}${dirty ? ' (with local changes)' : ''}` : ' · commit unknown';
  return `${m.product.name} ${version ?? '(version unknown)'}${at}`;
}

function runtimeLine(m: RunManifest): string {
  const r = m.runtime;
  return [
    r.device ?? 'cpu',
    r.gpu,
    r.dtype,
    r.torch_threads !== undefined ? `${r.torch_threads} torch thread${r.torch_threads === 1 ? '' : 's'}` : null,
    r.deterministic_algorithms ? 'deterministic algorithms' : null,
    r.platform,
  ]
    .filter(Boolean)
    .join(' · ');
}

function MetaRows({ rows }: { rows: [string, string][] }) {
  return (
    <dl className="meta-grid">
      {rows.map(([k, v]) => (
        <div key={k} className="meta-row">
          <dt>{k}</dt>
          <dd className="mono">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function Files({ files }: { files: ManifestFile[] }) {
  if (!files.length) return <span className="muted">no files (built in)</span>;
  return (
    <ul className="run-details-files">
      {files.map((f) => (
        <li key={f.name}>
          <span className="mono">{f.name}</span> <span className="muted">{formatBytes(f.bytes)}</span>{' '}
          <span className="mono" title={`sha256 ${f.sha256}`} data-testid="run-details-sha">
            sha256 {f.sha256.slice(0, 16)}…
          </span>
        </li>
      ))}
    </ul>
  );
}

function Sources({ manifest }: { manifest: RunManifest }) {
  const rows = [
    ...manifest.tokenizers.map((t) => ({ key: `t:${t.id}`, what: 'tokenizer', name: t.name, id: t.id, source: t.source, revision: t.revision, files: t.files })),
    ...manifest.models.map((m) => ({ key: `m:${m.role}`, what: `${m.role} model`, name: m.name, id: m.ref, source: m.source, revision: m.revision, files: m.files })),
  ];
  if (!rows.length) return null;
  return (
    <div className="table-scroll">
      <table className="data-table compact">
        <thead>
          <tr>
            <th>What</th>
            <th>Identity</th>
            <th>Files loaded</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>{r.what}</td>
              <td>
                <strong>{r.name}</strong> <span className="mono muted">{r.id}</span>
                {r.source && <div className="muted">{r.source}</div>}
                {r.revision && <div className="muted">revision: {r.revision}</div>}
              </td>
              <td>
                <Files files={r.files} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RerunButton({ job }: { job: Job }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const rerun = async () => {
    setBusy(true);
    setError(null);
    try {
      const next = await api.rerunJob(job.id);
      navigate(`/results/${encodeURIComponent(next.id)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="btn" onClick={rerun} disabled={busy} data-testid="run-details-rerun" title="Run again with exactly these parameters, as a new result">
        {busy ? 'Re-running…' : 'Re-run from manifest'}
      </button>
      {error !== null && <ErrorBanner error={error} title="Could not re-run" />}
    </>
  );
}

export function RunDetails({ job }: { job: Job }) {
  const session = useContext(SessionContext);
  const manifest = manifestOf(job.result);
  const rerunnable = manifest !== null && RERUNNABLE.includes(job.kind) && canWrite(session?.team ?? null);
  return (
    <details className="card job-meta run-details" data-testid="run-details">
      <summary>
        Run details <span className="muted">· {formatDate(job.created_at)} by {ownerName(job.owner)}</span>
      </summary>
      <MetaRows
        rows={[
          ['Job', job.id],
          ['Title', job.title || '—'],
          ['Created', formatDate(job.created_at)],
          ['Finished', formatDate(job.finished_at)],
          ['Owner', ownerName(job.owner)],
          ...(manifest
            ? ([
                ['Product', productLine(manifest)],
                ['Runtime', runtimeLine(manifest)],
                ['Seed', manifest.seed === null ? '— (not random)' : String(manifest.seed)],
                ...(manifest.input ? [['Input sha256', manifest.input.sha256]] : []),
                ['Libraries', Object.entries(manifest.libraries).map(([name, version]) => `${name} ${version ?? '(not installed)'}`).join(' · ')],
              ] as [string, string][])
            : []),
        ]}
      />
      {manifest ? (
        <>
          <Sources manifest={manifest} />
          <h3 className="run-details-heading">Parameters</h3>
          <pre className="mono run-details-params" data-testid="run-details-params">
            {JSON.stringify(manifest.parameters, null, 2)}
          </pre>
          <div className="run-details-actions">
            <CopyButton text={() => JSON.stringify(manifest, null, 1)} label="Copy manifest" testId="run-details-copy" />
            {rerunnable && <RerunButton job={job} />}
          </div>
        </>
      ) : (
        <p className="muted">No manifest: this result was stored before results recorded what computed them.</p>
      )}
    </details>
  );
}
