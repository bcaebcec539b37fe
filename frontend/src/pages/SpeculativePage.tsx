import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api, isAbortError } from '../api/client';
import { isFinished, type Job, type SpeculativeResult } from '../api/types';
import { ErrorBanner, Notice, PageHeader, Spinner } from '../components/common';
import { JobProgress } from '../components/JobProgress';
import { SpecForm } from '../components/SpecForm';
import { SpecLive } from '../components/SpecLive';
import { SpecResultView } from '../components/SpecResultView';
import { useApi } from '../hooks/useApi';
import { useSubmitShortcut } from '../hooks/useSubmitShortcut';
import { DRAFTER_BY_KIND, defaultForm, draftCandidates, formFromParams, isSpeculativeResult, validateSpecForm, type FormErrors, type SpecForm as Form } from '../lib/speculative';
import { Link, navigate, useLocation } from '../router';
import { loadStored, saveStored } from '../lib/storage';
import { canWrite, useSession } from '../session';

const DRAFT_KEY = 'tokenscope.speculative';

function loadDraft(): Partial<Form> {
  return loadStored<Form>(DRAFT_KEY);
}

function saveDraft(f: Form) {
  saveStored(DRAFT_KEY, { ...f, prompt: f.prompt.length <= 50_000 ? f.prompt : '' });
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'submitting' }
  | { kind: 'queued'; job: Job }
  | { kind: 'done'; job: Job }
  | { kind: 'failed'; error: unknown }
  | { kind: 'cancelled' };

export function SpeculativePage() {
  const { team } = useSession();
  const { search } = useLocation();
  const fromId = search.get('from');
  const models = useApi((signal) => api.models(signal), [team?.slug]);
  const [form, setForm] = useState<Form>(() => ({ ...defaultForm(), ...loadDraft() }));
  const [errors, setErrors] = useState<FormErrors>({});
  const [serverError, setServerError] = useState<unknown>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const abortRef = useRef<AbortController | null>(null);
  const resultsRef = useRef<HTMLDivElement>(null);
  const writable = canWrite(team);
  const busy = phase.kind === 'submitting' || phase.kind === 'queued';

  // Once the catalogue is known: a valid target (keeping the user's choice), and a draft model the drafter can use.
  useEffect(() => {
    const list = models.data;
    if (!list) return;
    setForm((f) => {
      let next = f;
      if (!list.some((m) => m.id === f.target && m.available)) {
        const d = defaultForm(list);
        next = { ...next, target: d.target, chatTemplate: d.chatTemplate };
      }
      return next;
    });
  }, [models.data]);

  // A draft model the drafter can use; when the target changes to the current draft model, prefer another one
  // (a model drafting for itself is only a sanity check).
  const lastTarget = useRef(form.target);
  useEffect(() => {
    const list = models.data;
    const targetChanged = lastTarget.current !== form.target;
    lastTarget.current = form.target;
    if (!list || !DRAFTER_BY_KIND[form.drafterKind]?.model) return;
    const target = list.find((m) => m.id === form.target);
    const candidates = draftCandidates(list, target, form.drafterKind);
    const others = candidates.filter((m) => m.id !== form.target);
    const valid = candidates.some((m) => m.id === form.draftModel);
    if (valid && !(targetChanged && form.draftModel === form.target && others.length)) return;
    const pick = others[0] ?? candidates[0];
    setForm((f) => ({ ...f, draftModel: pick?.id ?? '' }));
  }, [models.data, form.target, form.drafterKind, form.draftModel]);

  // "Edit & re-run": prefill from a stored job.
  useEffect(() => {
    if (!fromId) return;
    const ctrl = new AbortController();
    api
      .job(fromId, ctrl.signal)
      .then((job) => {
        if (job.kind === 'speculative') setForm((f) => formFromParams(job.params ?? {}, f));
      })
      .catch(() => {
        /* a stale link: keep the current form */
      });
    return () => ctrl.abort();
  }, [fromId]);

  useEffect(() => {
    const t = setTimeout(() => saveDraft(form), 400);
    return () => clearTimeout(t);
  }, [form]);

  const onChange = (next: Form) => {
    setForm(next);
    if (Object.keys(errors).length) setErrors(validateSpecForm(next, models.data ?? []).errors);
  };

  const submit = useCallback(async () => {
    if (busy || !writable) return;
    setServerError(null);
    const { errors: errs, request } = validateSpecForm(form, models.data ?? []);
    setErrors(errs);
    if (!request) return;
    abortRef.current?.abort();
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    setPhase({ kind: 'submitting' });
    try {
      const { data } = await api.speculative(request, ctrl.signal);
      if (!isFinished(data.status)) setPhase({ kind: 'queued', job: data });
      else if (data.status === 'succeeded' && data.result) setPhase({ kind: 'done', job: data });
      else if (data.status === 'succeeded') setPhase({ kind: 'queued', job: data });
      else setPhase({ kind: 'failed', error: new Error(data.error || `The job ${data.status}.`) });
    } catch (e) {
      if (isAbortError(e)) return;
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
        setServerError(e);
        setPhase({ kind: 'idle' });
      } else setPhase({ kind: 'failed', error: e });
    }
  }, [busy, writable, form, models.data]);

  useSubmitShortcut(submit);

  useEffect(() => () => abortRef.current?.abort(), []);

  useEffect(() => {
    if (phase.kind === 'queued') resultsRef.current?.scrollIntoView?.({ behavior: 'smooth', block: 'start' });
  }, [phase.kind]);

  const result: SpeculativeResult | null = phase.kind === 'done' && isSpeculativeResult(phase.job.result) ? phase.job.result : null;
  const maxNew = Number(form.maxNewTokens) || 128;

  return (
    <div className="spec-page">
      <PageHeader
        title="Speculative decoding"
        subtitle="A cheap drafter proposes tokens, the target verifies them in one forward pass; every step is traced."
        actions={
          <Link to="/history?kind=speculative" className="btn">
            Saved runs
          </Link>
        }
      />
      {models.error && (
        <ErrorBanner
          error={models.error}
          title="Could not load the model catalogue"
          onRetry={models.reload}
        />
      )}
      <SpecForm
        form={form}
        onChange={onChange}
        models={models.data}
        modelsLoading={models.loading}
        errors={errors}
        busy={busy}
        writable={writable}
        onSubmit={() => void submit()}
        serverError={
          <>
            {serverError ? <ErrorBanner error={serverError} title="The server refused these settings" onDismiss={() => setServerError(null)} /> : null}
            {Object.keys(errors).length > 0 && !serverError && <p className="field-error">Fix the highlighted fields first.</p>}
            {!writable && team && <p className="field-hint">You are a viewer in {team.name}: you can browse runs but not start new ones.</p>}
          </>
        }
      />

      <div ref={resultsRef} className="lab-results">
        {phase.kind === 'idle' && (
          <div className="empty-state lab-empty">
            <div className="empty-tokens" aria-hidden="true">
              <span className="st st-accepted">The</span>
              <span className="st st-accepted"> quick</span>
              <span className="st st-rejected"> red</span>
              <span className="st st-resampled"> brown</span>
              <span className="st st-accepted"> fox</span>
              <span className="st st-bonus"> jumps</span>
            </div>
            <p>
              Pick a target and a drafter, write a prompt and press <strong>Run</strong>. Tokens stream in coloured by origin: accepted drafts,
              rejected drafts (struck through), corrections and bonus tokens. Saved runs are in <Link to="/history?kind=speculative">History</Link>.
            </p>
          </div>
        )}
        {phase.kind === 'submitting' && <Spinner label="Queuing the run…" />}
        {phase.kind === 'failed' && <ErrorBanner error={phase.error} title="The run failed" onRetry={() => void submit()} />}
        {phase.kind === 'queued' && (
          <JobProgress
            key={phase.job.id}
            job={phase.job}
            description="Runs on a worker: the drafter and the target decode step by step, then the baseline runs for the measured speedup."
            runningLabel="Decoding…"
            onSucceeded={(job) => setPhase({ kind: 'done', job })}
            onEnded={(status, error) => (status === 'failed' ? setPhase({ kind: 'failed', error: new Error(error || 'The job failed.') }) : setPhase({ kind: 'cancelled' }))}
          >
            {(stream) => <SpecLive stream={stream} maxNewTokens={maxNew} />}
          </JobProgress>
        )}
        {phase.kind === 'done' && result && (
          <>
            <div className="result-head">
              <h2>Result</h2>
              <Link to={`/results/${encodeURIComponent(phase.job.id)}`} className="btn-link small" data-testid="spec-open-page">
                Open as a page →
              </Link>
            </div>
            <SpecResultView job={phase.job} result={result} />
          </>
        )}
        {phase.kind === 'done' && !result && <Notice kind="warn">The job finished but returned no result.</Notice>}
        {phase.kind === 'cancelled' && (
          <Notice kind="warn">
            The run was cancelled. Press Run to start it again, or{' '}
            <button type="button" className="btn-link" onClick={() => navigate('/history?kind=speculative')}>
              open the saved runs
            </button>
            .
          </Notice>
        )}
      </div>
    </div>
  );
}
