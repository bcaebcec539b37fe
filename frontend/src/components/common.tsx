import { useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api/client';

/** The backend's `{message}` (and field errors) for a failed request. */
export function ErrorBanner({
  error,
  title,
  onRetry,
  onDismiss,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
  onDismiss?: () => void;
}) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const fields = error instanceof ApiError ? error.fields : {};
  const fieldEntries = Object.entries(fields);
  return (
    <div className="banner banner-error" role="alert" data-testid="error-banner">
      <div className="banner-icon" aria-hidden="true">
        !
      </div>
      <div className="banner-body">
        {title && <strong className="banner-title">{title}</strong>}
        <p className="banner-message" data-testid="error-message">
          {message}
        </p>
        {fieldEntries.length > 0 && (
          <ul className="banner-fields">
            {fieldEntries.map(([field, msgs]) => (
              <li key={field}>
                <code>{field}</code>: {Array.isArray(msgs) ? msgs.join(' ') : String(msgs)}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="banner-actions">
        {onRetry && (
          <button type="button" className="btn btn-small" onClick={onRetry}>
            Try again
          </button>
        )}
        {onDismiss && (
          <button type="button" className="btn btn-ghost btn-small" onClick={onDismiss} aria-label="Dismiss">
            ✕
          </button>
        )}
      </div>
    </div>
  );
}

export function Notice({ kind = 'info', children, testId }: { kind?: 'info' | 'warn' | 'success'; children: ReactNode; testId?: string }) {
  return (
    <div className={`banner banner-${kind}`} role={kind === 'warn' ? 'status' : undefined} data-testid={testId}>
      <div className="banner-body">{children}</div>
    </div>
  );
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function EmptyState({ title, children, icon = '◌' }: { title: string; children?: ReactNode; icon?: string }) {
  return (
    <div className="empty-state">
      <div className="empty-icon" aria-hidden="true">
        {icon}
      </div>
      <h3>{title}</h3>
      {children && <div className="empty-body">{children}</div>}
    </div>
  );
}

export function ProgressBar({ value, label, indeterminate }: { value: number; label?: string; indeterminate?: boolean }) {
  const pct = Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <div className="progress-wrap">
      <div
        className={`progress${indeterminate ? ' progress-indeterminate' : ''}`}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={indeterminate ? undefined : pct}
        aria-label={label ?? 'Progress'}
        data-testid="progress-bar"
        data-progress={pct}
      >
        <div className="progress-fill" style={{ width: indeterminate ? undefined : `${pct}%` }} />
      </div>
      <span className="progress-pct">{indeterminate ? '' : `${pct}%`}</span>
    </div>
  );
}

export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall through to the legacy path (e.g. http:// origins) */
  }
  try {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    document.body.removeChild(ta);
    return ok;
  } catch {
    return false;
  }
}

export function CopyButton({
  text,
  label,
  copiedLabel = 'Copied',
  className = 'btn',
  testId,
  title,
}: {
  text: string | (() => string);
  label: ReactNode;
  copiedLabel?: string;
  className?: string;
  testId?: string;
  title?: string;
}) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const onClick = async () => {
    const ok = await copyText(typeof text === 'function' ? text() : text);
    setState(ok ? 'copied' : 'failed');
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState('idle'), 1800);
  };
  return (
    <button type="button" className={className} onClick={onClick} data-testid={testId} title={title} data-state={state}>
      <span aria-live="polite">{state === 'copied' ? `✓ ${copiedLabel}` : state === 'failed' ? 'Copy failed' : label}</span>
    </button>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle && <p className="page-subtitle">{subtitle}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </div>
  );
}

/** One headline number of a result card: label, value, an optional line under it, tone and hover help. */
export function Figure({ label, value, sub, tone, help, testId }: { label: string; value: ReactNode; sub?: ReactNode; tone?: 'good' | 'bad' | 'warn'; help?: string; testId?: string }) {
  return (
    <div className={`fig${tone ? ` fig-${tone}` : ''}`} title={help} data-testid={testId}>
      <div className="fig-label">{label}</div>
      <div className="fig-value">{value}</div>
      {sub && <div className="fig-sub">{sub}</div>}
    </div>
  );
}
