import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { ErrorBanner } from '../components/common';
import { Logo } from '../components/Layout';
import { navigate, useLocation } from '../router';
import { useSession } from '../session';

/** Only same-site paths are allowed as `?next=`. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/login')) return '/';
  return next;
}

export function LoginPage() {
  const { status, refresh } = useSession();
  const { search } = useLocation();
  const next = safeNext(search.get('next'));
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (status === 'authenticated') navigate(next, { replace: true });
  }, [status, next]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!username || !password) {
      setError(new Error('Enter your username and password.'));
      return;
    }
    setBusy(true);
    try {
      await api.login({ username, password });
      await refresh();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      <form className="card login-card" onSubmit={submit} data-testid="login-form" noValidate>
        <div className="login-brand">
          <Logo />
          <span>Tokenscope</span>
        </div>
        <h1>Sign in</h1>
        <p className="muted">See text the way a model sees it.</p>
        <label className="field">
          <span className="field-label">Username</span>
          <input className="input" autoComplete="username" autoFocus value={username} onChange={(e) => setUsername(e.target.value)} data-testid="login-username" />
        </label>
        <label className="field">
          <span className="field-label">Password</span>
          <input className="input" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} data-testid="login-password" />
        </label>
        <ErrorBanner error={error} />
        <button type="submit" className="btn btn-primary btn-large btn-block" disabled={busy} data-testid="login-submit">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
