import { useId, type ReactNode } from 'react';
import type { DrafterKind, LanguageModel } from '../api/types';
import { formatInt } from '../lib/format';
import { DRAFTERS, DRAFTER_BY_KIND, EXAMPLE_PROMPTS, MAX_GAMMA, MAX_NEW_TOKENS, draftCandidates, type FormErrors, type SpecForm as Form } from '../lib/speculative';

function FieldError({ error, id }: { error?: string; id?: string }) {
  if (!error) return null;
  return (
    <span className="field-error" id={id} role="alert">
      {error}
    </span>
  );
}

function NumberField({
  label,
  value,
  onChange,
  error,
  placeholder,
  hint,
  testId,
  step,
  min,
  max,
  disabled,
  inputMode = 'numeric',
}: {
  label: ReactNode;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  placeholder?: string;
  hint?: ReactNode;
  testId?: string;
  step?: string;
  min?: number;
  max?: number;
  disabled?: boolean;
  inputMode?: 'numeric' | 'decimal';
}) {
  const id = useId();
  return (
    <div className={`field field-compact${error ? ' has-error' : ''}`}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <input
        id={id}
        className="input"
        type="number"
        inputMode={inputMode}
        value={value}
        step={step}
        min={min}
        max={max}
        placeholder={placeholder}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={!!error}
        aria-describedby={error ? `${id}-err` : undefined}
        data-testid={testId}
        disabled={disabled}
      />
      {hint && !error && <span className="field-hint">{hint}</span>}
      <FieldError error={error} id={`${id}-err`} />
    </div>
  );
}

function modelOption(m: LanguageModel) {
  const bits = [m.name, m.params ? `${Math.round(m.params / 1e6)}M params` : null, m.chat ? 'chat' : null].filter(Boolean);
  return `${bits.join(' · ')}${m.available ? '' : ` — ${m.status}`}`;
}

function modelFacts(m: LanguageModel) {
  return [
    m.vocab_size ? `vocabulary ${formatInt(m.vocab_size)}` : null,
    m.context_length ? `context ${formatInt(m.context_length)}` : null,
    m.chat ? 'chat template' : 'no chat template',
    m.licence,
  ]
    .filter(Boolean)
    .join(' · ');
}

interface Props {
  form: Form;
  onChange: (next: Form) => void;
  models: LanguageModel[] | undefined;
  modelsLoading: boolean;
  errors: FormErrors;
  busy: boolean;
  writable: boolean;
  onSubmit: () => void;
  /** The server's refusal (a 400 `{message}`), shown next to the Run button. */
  serverError?: ReactNode;
}

/** Target, method, drafter (with its own parameters), prompt and sampling settings. */
export function SpecForm({ form, onChange, models, modelsLoading, errors, busy, writable, onSubmit, serverError }: Props) {
  const ids = { prompt: useId(), target: useId(), kind: useId(), draft: useId() };
  const set = <K extends keyof Form>(key: K, value: Form[K]) => onChange({ ...form, [key]: value });
  const list = models ?? [];
  const target = list.find((m) => m.id === form.target);
  const info = DRAFTER_BY_KIND[form.drafterKind];
  const speculative = form.method === 'speculative';
  const candidates = draftCandidates(list, target, form.drafterKind);
  const values = form.drafterParams[form.drafterKind] ?? {};
  const greedy = (Number(form.temperature) || 0) === 0;
  const setParam = (key: string, v: string) => onChange({ ...form, drafterParams: { ...form.drafterParams, [form.drafterKind]: { ...values, [key]: v } } });

  const chooseTarget = (id: string) => {
    const m = list.find((x) => x.id === id);
    onChange({ ...form, target: id, chatTemplate: m ? m.chat : form.chatTemplate });
  };

  return (
    <form
      className="card spec-form"
      data-testid="spec-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
      noValidate
    >
      <div className="spec-form-grid">
        <div className="spec-form-main">
          <div className="field-row">
            <label htmlFor={ids.prompt} className="field-label">
              Prompt
            </label>
            <div className="samples" aria-label="Example prompts">
              <span className="muted small">Examples:</span>
              {EXAMPLE_PROMPTS.map((ex) => (
                <button
                  key={ex.label}
                  type="button"
                  className="btn-link small"
                  title={ex.hint}
                  data-testid="spec-example"
                  onClick={() => onChange({ ...form, prompt: ex.prompt, drafterKind: speculative && ex.drafter ? ex.drafter : form.drafterKind })}
                >
                  {ex.label}
                </button>
              ))}
            </div>
          </div>
          <textarea
            id={ids.prompt}
            className="text-input spec-prompt"
            data-testid="spec-prompt"
            value={form.prompt}
            onChange={(e) => set('prompt', e.target.value)}
            placeholder="A prompt for the target model… (Ctrl/⌘ + Enter runs it)"
            spellCheck={false}
            rows={8}
            aria-invalid={!!errors.prompt}
          />
          <FieldError error={errors.prompt} />
          <div className="spec-form-row">
            <label className="toggle" title={target && !target.chat ? `${target.name} has no chat template` : 'Wrap the prompt as one user turn with the model’s chat template'}>
              <input type="checkbox" checked={form.chatTemplate} onChange={(e) => set('chatTemplate', e.target.checked)} disabled={!!target && !target.chat && !form.chatTemplate} data-testid="spec-chat-template" />
              Chat template
            </label>
            <label className="toggle" title="Also decode autoregressively on the same prompt to measure the real speedup and check the output">
              <input type="checkbox" checked={speculative && form.runBaseline} onChange={(e) => set('runBaseline', e.target.checked)} disabled={!speculative} data-testid="spec-baseline" />
              Run the autoregressive baseline (measured speedup)
            </label>
          </div>
          <div className="spec-sampling">
            <NumberField label="Max new tokens" value={form.maxNewTokens} onChange={(v) => set('maxNewTokens', v)} error={errors.max_new_tokens} min={1} max={MAX_NEW_TOKENS} placeholder="128" testId="spec-max-new-tokens" hint={`1–${MAX_NEW_TOKENS}`} />
            <NumberField
              label="Temperature"
              value={form.temperature}
              onChange={(v) => set('temperature', v)}
              error={errors.temperature}
              step="0.1"
              min={0}
              inputMode="decimal"
              placeholder="0"
              testId="spec-temperature"
              hint={greedy ? '0 = greedy' : 'sampling'}
            />
            <NumberField label="Top-p" value={form.topP} onChange={(v) => set('topP', v)} error={errors.top_p} step="0.05" min={0} max={1} inputMode="decimal" placeholder="1" testId="spec-top-p" hint="(0, 1]" />
            <NumberField label="Top-k" value={form.topK} onChange={(v) => set('topK', v)} error={errors.top_k} min={0} placeholder="0" hint="0 = off" />
            <NumberField label="Seed" value={form.seed} onChange={(v) => set('seed', v)} error={errors.seed} min={0} placeholder="0" testId="spec-seed" />
          </div>
        </div>

        <div className="spec-form-side">
          <div className="field">
            <label className="field-label" htmlFor={ids.target}>
              Target model
            </label>
            {models || modelsLoading ? (
              <select id={ids.target} className="select" value={form.target} onChange={(e) => chooseTarget(e.target.value)} data-testid="spec-target" disabled={modelsLoading && !models} aria-invalid={!!errors.target}>
                {modelsLoading && !models && <option value="">Loading models…</option>}
                {!form.target && models && <option value="">Choose a model…</option>}
                {list.map((m) => (
                  <option key={m.id} value={m.id} disabled={!m.available}>
                    {modelOption(m)}
                  </option>
                ))}
                {form.target && models && !target && <option value={form.target}>{form.target}</option>}
              </select>
            ) : (
              <input id={ids.target} className="input" value={form.target} onChange={(e) => set('target', e.target.value)} placeholder="Model id, e.g. smollm2-135m-instruct" data-testid="spec-target" />
            )}
            {target && !errors.target && <span className="field-hint">{modelFacts(target)}</span>}
            <FieldError error={errors.target} />
          </div>

          <div className="field">
            <span className="field-label">Method</span>
            <div className="segmented" role="group" aria-label="Method">
              <button type="button" className={speculative ? 'is-on' : ''} aria-pressed={speculative} onClick={() => set('method', 'speculative')} data-testid="spec-method-speculative">
                Speculative
              </button>
              <button type="button" className={!speculative ? 'is-on' : ''} aria-pressed={!speculative} onClick={() => set('method', 'autoregressive')} data-testid="spec-method-autoregressive">
                Autoregressive
              </button>
            </div>
          </div>

          {speculative && (
            <>
              <div className="field">
                <label className="field-label" htmlFor={ids.kind}>
                  Drafter
                </label>
                <select id={ids.kind} className="select" value={form.drafterKind} onChange={(e) => set('drafterKind', e.target.value as DrafterKind)} data-testid="spec-drafter-kind">
                  <optgroup label="Chain drafters">
                    {DRAFTERS.filter((d) => d.family === 'chain').map((d) => (
                      <option key={d.kind} value={d.kind}>
                        {d.label}
                      </option>
                    ))}
                  </optgroup>
                  <optgroup label="Tree / multi-draft">
                    {DRAFTERS.filter((d) => d.family === 'tree').map((d) => (
                      <option key={d.kind} value={d.kind}>
                        {d.label}
                      </option>
                    ))}
                  </optgroup>
                </select>
                {info && <span className="field-hint">{info.description}</span>}
              </div>

              {info?.model && (
                <div className="field">
                  <label className="field-label" htmlFor={ids.draft}>
                    Draft model {info.model === 'shared' ? <span className="muted small">(same vocabulary as the target)</span> : <span className="muted small">(any tokenizer)</span>}
                  </label>
                  <select id={ids.draft} className="select" value={form.draftModel} onChange={(e) => set('draftModel', e.target.value)} data-testid="spec-draft-model" aria-invalid={!!errors.draft_model}>
                    <option value="">{candidates.length ? 'Choose a draft model…' : 'No compatible model'}</option>
                    {candidates.map((m) => (
                      <option key={m.id} value={m.id}>
                        {modelOption(m)}
                        {m.id === form.target ? ' — the target itself' : ''}
                      </option>
                    ))}
                    {form.draftModel && !candidates.some((m) => m.id === form.draftModel) && <option value={form.draftModel}>{form.draftModel}</option>}
                  </select>
                  {form.draftModel && form.draftModel === form.target && !errors.draft_model && (
                    <span className="field-hint">The target drafting for itself accepts (almost) everything: a sanity check, not a speedup.</span>
                  )}
                  {info.model === 'shared' && candidates.length <= 1 && target && (
                    <span className="field-hint">Only models with {target.name}’s tokenizer can draft here; for another pair use the cross-tokenizer drafter.</span>
                  )}
                  <FieldError error={errors.draft_model} />
                </div>
              )}

              {info && info.params.length > 0 && (
                <div className="param-grid">
                  {info.params.map((p) =>
                    p.kind === 'select' ? (
                      <div key={p.key} className="field field-compact field-wide">
                        <label className="field-label" htmlFor={`${ids.kind}-${p.key}`}>
                          {p.label}
                          {p.samplingOnly && greedy && <span className="muted small"> (sampling only)</span>}
                        </label>
                        <select id={`${ids.kind}-${p.key}`} className="select" value={values[p.key] ?? String(p.default ?? '')} onChange={(e) => setParam(p.key, e.target.value)} data-testid={`spec-param-${p.key}`}>
                          {p.options?.map((o) => (
                            <option key={o.value} value={o.value}>
                              {o.label}
                            </option>
                          ))}
                        </select>
                        <span className="field-hint">{p.help}</span>
                        <FieldError error={errors[`param.${p.key}`]} />
                      </div>
                    ) : (
                      <NumberField
                        key={p.key}
                        label={p.label}
                        value={values[p.key] ?? ''}
                        onChange={(v) => setParam(p.key, v)}
                        error={errors[`param.${p.key}`]}
                        min={p.min}
                        max={p.max}
                        placeholder={p.placeholder ?? (p.default !== undefined ? String(p.default) : '')}
                        hint={p.help}
                        testId={`spec-param-${p.key}`}
                      />
                    ),
                  )}
                </div>
              )}

              {info?.usesGamma ? (
                <div className="gamma-row">
                  <NumberField label="Draft length γ" value={form.gamma} onChange={(v) => set('gamma', v)} error={errors.gamma} min={1} max={MAX_GAMMA} placeholder="5" testId="spec-gamma" hint={`1–${MAX_GAMMA} tokens per step`} />
                  <label className="toggle" title="HF's heuristic: γ += 2 after a fully accepted draft, else γ − 1">
                    <input type="checkbox" checked={form.adaptiveGamma} onChange={(e) => set('adaptiveGamma', e.target.checked)} data-testid="spec-adaptive-gamma" />
                    Adaptive γ
                  </label>
                </div>
              ) : (
                <p className="field-hint">Tree methods size each step’s draft with their own parameters (γ does not apply); at most 64 nodes per step.</p>
              )}
            </>
          )}
          {!speculative && <p className="field-hint">One target call per token: the reference that speculative methods are measured against.</p>}

          <div className="submit-row">
            <button type="submit" className="btn btn-primary btn-large" disabled={busy || !writable} data-testid="spec-run" aria-keyshortcuts="Control+Enter Meta+Enter">
              {busy ? 'Running…' : 'Run'}
            </button>
            <kbd className="shortcut">{navigator.platform?.toLowerCase().includes('mac') ? '⌘' : 'Ctrl'} + Enter</kbd>
          </div>
          {serverError}
        </div>
      </div>
    </form>
  );
}
