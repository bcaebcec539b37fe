// A finished `media_codebook` job at /results/<id>: which tokenizer it made, with what method and size, on which data
// (names and sha256s from the codebook file's training record), how long it took, and a link to use it.
import type { Job } from '../../api/types';
import { formatDate } from '../../lib/format';
import { CODEBOOK_METHODS, codebookUseHref, durationSeconds, trainingFacts, type CodebookResult } from '../../lib/mediaCodebooks';
import { Link } from '../../router';
import './codebooks.css';

function methodLabel(method: unknown): string {
  const all = [...CODEBOOK_METHODS.image, ...CODEBOOK_METHODS.audio];
  return all.find((m) => m.value === method)?.label ?? String(method ?? '');
}

export function CodebookResultView({ job, result }: { job: Job; result: CodebookResult }) {
  const params = job.params ?? {};
  const facts = trainingFacts(result.training);
  const seconds = durationSeconds(job.started_at, job.finished_at);
  const size = typeof params.codebook_size === 'number' ? params.codebook_size : result.info.codebook_sizes?.[0];
  return (
    <div className="card codebook-result" data-testid="codebook-result" data-tokenizer-id={result.info.id}>
      <div className="card-head">
        <h2>{result.info.label}</h2>
        <Link to={codebookUseHref(result.info.id)} className="btn btn-primary" data-testid="codebook-use">
          Use it on an {String(params.modality ?? result.info.modality ?? 'input')} →
        </Link>
      </div>
      <dl className="media-facts">
        <div>
          <dt>Tokenizer id</dt>
          <dd>
            <code data-testid="codebook-result-id">{result.info.id}</code>
          </dd>
        </div>
        <div>
          <dt>Method</dt>
          <dd>{methodLabel(params.method)}</dd>
        </div>
        <div>
          <dt>Codebook size</dt>
          <dd data-testid="codebook-result-size">{size ?? '—'}</dd>
        </div>
        <div>
          <dt>Seed</dt>
          <dd>{String(params.seed ?? 0)}</dd>
        </div>
        <div>
          <dt>Trained on</dt>
          <dd data-testid="codebook-result-source">
            {params.source === 'uploads' ? 'the team’s uploads' : 'the shipped samples'}: {facts.items.length} {facts.unit}
            {facts.samples && <span className="muted"> ({facts.samples})</span>}
          </dd>
        </div>
        <div>
          <dt>Training time</dt>
          <dd data-testid="codebook-result-time">{seconds === null ? '—' : `${seconds.toFixed(1)} s`}</dd>
        </div>
        <div>
          <dt>Finished</dt>
          <dd>{formatDate(job.finished_at)}</dd>
        </div>
      </dl>
      {result.info.description && <p className="muted small">{result.info.description}</p>}
      {facts.summary && <p className="small">{facts.summary}</p>}
      <div className="table-scroll">
        <table className="data-table compact" data-testid="codebook-training-data">
          <thead>
            <tr>
              <th>Training {facts.unit === 'clips' ? 'clip' : 'image'}</th>
              <th>sha256</th>
            </tr>
          </thead>
          <tbody>
            {facts.items.map((item, i) => (
              <tr key={`${item.sha256}-${i}`} data-testid="codebook-training-item">
                <td>{item.name}</td>
                <td className="codebook-hash" title={item.sha256}>
                  {item.sha256.slice(0, 16)}…
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
