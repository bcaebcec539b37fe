import { useEffect, useState } from 'react';
import { ApiError, api } from '../api/client';
import type { Job, TokenizeResultPayload } from '../api/types';
import { EmptyState, ErrorBanner, Notice, PageHeader, Spinner, StatusBadge } from '../components/common';
import { JobProgress } from '../components/JobProgress';
import { DatasetResultView } from '../components/detection/DatasetResultView';
import { DetectTextResultView } from '../components/detection/DetectTextResultView';
import { CodebookResultView } from '../components/media/CodebookResultView';
import '../components/detection/detection.css';
import { ResultView } from '../components/ResultView';
import { SpecLive } from '../components/SpecLive';
import { SpecResultView } from '../components/SpecResultView';
import { useApi } from '../hooks/useApi';
import { formatDate } from '../lib/format';
import { isDetectDatasetResult, isDetectTextResult } from '../lib/detection';
import { isCodebookResult } from '../lib/mediaCodebooks';
import { isSpeculativeResult, speculativeJobLabel } from '../lib/speculative';
import { Link, navigate, setNavSection, useLocation } from '../router';
import { useSession } from '../session';

function tokenizerNames(job: Job): string {
  if (job.kind === 'speculative') return speculativeJobLabel(job.params);
  const r = job.result as TokenizeResultPayload | null;
  if (r?.results) return r.results.map((x) => x.tokenizer.name).join(' · ');
  const ids = job.params?.tokenizers;
  return Array.isArray(ids) ? ids.join(' · ') : '';
}

export function ResultPage({ id }: { id: string }) {
  const { team, me } = useSession();
  const { pathname, search } = useLocation();
  const compareId = search.get('compare');
  const setCompare = (other: string | null) => navigate(other ? `${pathname}?compare=${encodeURIComponent(other)}` : pathname, { replace: true });
  const { data, error, loading, reload } = useApi((signal) => api.job(id, signal), [id, team?.slug]);
  const [job, setJob] = useState<Job | null>(null);
  useEffect(() => setJob(data ?? null), [data]);

  useEffect(() => {
    document.title = job?.title ? `${job.title} · Tokenscope` : 'Result · Tokenscope';
    return () => {
      document.title = 'Tokenscope';
    };
  }, [job?.title]);

  // Media results have their own page (the permalink /media/jobs/<id>).
  useEffect(() => {
    if (job?.kind === 'media_tokenize') navigate(`/media/jobs/${encodeURIComponent(job.id)}`, { replace: true });
  }, [job?.kind, job?.id]);

  useEffect(() => {
    setNavSection(job?.kind ?? null);
    return () => setNavSection(null);
  }, [job?.kind]);

  if (loading && !job) return <Spinner label="Loading the result…" />;

  if (error) {
    if (error instanceof ApiError && error.status === 404) {
      return (
        <EmptyState title="Result not found" icon="?">
          <p>There is no saved result with id <code>{id}</code> in {team ? <strong>{team.name}</strong> : 'this team'}.</p>
          {me && me.teams.length > 1 && <p>If a colleague shared it, it may belong to another team: switch team in the header.</p>}
          <p>
            <Link to="/history" className="btn">
              Go to History
            </Link>
          </p>
        </EmptyState>
      );
    }
    if (error instanceof ApiError && error.status === 403) {
      return (
        <EmptyState title="You don’t have access to this result" icon="🔒">
          <p>{error.message}</p>
          <p>Results are visible to the members of the team that ran them. Ask for an invitation, or switch team in the header.</p>
        </EmptyState>
      );
    }
    return <ErrorBanner error={error} title="Could not load the result" onRetry={reload} />;
  }
  if (!job) return null;

  const result = job.kind === 'tokenize' ? (job.result as TokenizeResultPayload | null) : null;
  const spec = job.kind === 'speculative' && isSpeculativeResult(job.result) ? job.result : null;
  const detectText = job.kind === 'detect_text' && isDetectTextResult(job.result) ? job.result : null;
  const detectDataset = job.kind === 'detect_dataset' && isDetectDatasetResult(job.result) ? job.result : null;
  const codebook = job.kind === 'media_codebook' && isCodebookResult(job.result) ? job.result : null;
  const known = job.kind === 'tokenize' || job.kind === 'speculative' || detectText !== null || detectDataset !== null || codebook !== null;
  return (
    <div className="result-page">
      <PageHeader
        title={job.title || (job.kind === 'speculative' ? 'Speculative decoding run' : 'Tokenization result')}
        subtitle={
          <>
            <StatusBadge status={job.status} /> <span className="muted">{tokenizerNames(job)}</span>
            <span className="muted"> · {formatDate(job.created_at)}</span>
          </>
        }
        actions={
          job.kind === 'speculative' ? (
            <Link to="/speculative" className="btn">
              New run
            </Link>
          ) : job.kind === 'media_codebook' ? (
            <Link to="/media" className="btn">
              Media page
            </Link>
          ) : (
            <Link to="/" className="btn">
              New tokenization
            </Link>
          )
        }
      />
      {(job.status === 'queued' || job.status === 'running') &&
        (job.kind === 'speculative' ? (
          <JobProgress
            job={job}
            onSucceeded={(j) => setJob(j)}
            onEnded={() => reload()}
            description="This run is still decoding on a worker; steps appear below as they finish."
            runningLabel="Decoding…"
          >
            {(stream) => <SpecLive stream={stream} maxNewTokens={typeof job.params?.max_new_tokens === 'number' ? job.params.max_new_tokens : undefined} />}
          </JobProgress>
        ) : (
          <JobProgress
            job={job}
            onSucceeded={(j) => setJob(j)}
            onEnded={() => reload()}
            {...(job.kind === 'media_codebook' ? { description: 'This codebook is still training on a worker.', runningLabel: 'Training…' } : {})}
          />
        ))}
      {job.status === 'failed' && <ErrorBanner error={new Error(job.error || 'The job failed.')} title="This job failed" />}
      {job.status === 'cancelled' && <Notice kind="warn">This job was cancelled before it finished.</Notice>}
      {job.status === 'succeeded' && result && <ResultView job={job} result={result} />}
      {job.status === 'succeeded' && spec && <SpecResultView job={job} result={spec} compareId={compareId} onCompareChange={setCompare} />}
      {job.status === 'succeeded' && detectText && <DetectTextResultView job={job} result={detectText} />}
      {job.status === 'succeeded' && detectDataset && <DatasetResultView job={job} result={detectDataset} />}
      {job.status === 'succeeded' && codebook && <CodebookResultView job={job} result={codebook} />}
      {job.status === 'succeeded' && job.kind === 'speculative' && !spec && <Notice kind="warn">This run finished without a trace to show. Use the JSON export.</Notice>}
      {job.kind === 'distill_draft' && (
        <Notice>
          This is a draft-distillation job: <Link to={`/drafts?job=${encodeURIComponent(job.id)}`}>open it on the Drafts page</Link> to see its
          progress, curves and result.
        </Notice>
      )}
      {job.status === 'succeeded' && !known && job.kind !== 'distill_draft' && (
        <Notice>
          Results of kind <code>{job.kind}</code> cannot be displayed here yet. Use the JSON export.
        </Notice>
      )}
    </div>
  );
}
