import { useState, type FormEvent } from 'react';
import { ApiError, api } from '../api/client';
import type { ApiToken, ApiTokenCreated } from '../api/types';
import { CopyButton, ErrorBanner, Notice, PageHeader, Spinner } from '../components/common';
import { useApi } from '../hooks/useApi';
import { formatDate } from '../lib/format';
import { useSession } from '../session';

const ROLE_HELP: Record<string, string> = {
  owner: 'Manages members; can run and read everything.',
  member: 'Can run tokenizations and add tokenizers.',
  viewer: 'Read only.',
};

function ApiTokens() {
  const { data, error, loading, reload } = useApi(async (signal) => {
    try {
      const res = await api.listApiTokens(signal);
      return { supported: true, tokens: Array.isArray(res) ? res : res.results };
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return { supported: false, tokens: [] as ApiToken[] };
      throw e;
    }
  }, []);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<ApiTokenCreated | null>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [revoking, setRevoking] = useState<ApiToken['id'] | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) {
      setActionError(new Error('Give the token a name, e.g. “laptop scripts”.'));
      return;
    }
    setBusy(true);
    setActionError(null);
    try {
      const t = await api.createApiToken(name.trim());
      setCreated(t);
      setName('');
      reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (t: ApiToken) => {
    if (!window.confirm(`Revoke “${t.name}”? Scripts using it will stop working.`)) return;
    setRevoking(t.id);
    setActionError(null);
    try {
      await api.revokeApiToken(t.id);
      if (created?.id === t.id) setCreated(null);
      reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setRevoking(null);
    }
  };

  return (
    <section className="card" aria-labelledby="tokens-heading">
      <div className="card-head">
        <h2 id="tokens-heading">Personal API tokens</h2>
        <span className="muted small">
          For scripts: <code>Authorization: Token &lt;key&gt;</code>. A token acts as you, in all your teams.
        </span>
      </div>
      <form className="inline-form" onSubmit={create}>
        <input className="input" value={name} onChange={(e) => setName(e.target.value)} placeholder="Token name, e.g. “cluster jobs”" aria-label="Token name" data-testid="api-token-name" />
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="api-token-create">
          {busy ? 'Creating…' : 'Create token'}
        </button>
      </form>
      {created && (
        <div className="key-reveal" data-testid="api-token-created">
          <p>
            <strong>Copy your new token now.</strong> It will not be shown again.
          </p>
          <div className="key-row">
            <code className="key" data-testid="api-token-key">
              {created.key}
            </code>
            <CopyButton text={created.key} label="Copy" className="btn btn-small" testId="api-token-copy" />
          </div>
          <button type="button" className="btn-link small" onClick={() => setCreated(null)}>
            I have saved it — hide
          </button>
        </div>
      )}
      <ErrorBanner error={actionError} onDismiss={() => setActionError(null)} />
      {error && <ErrorBanner error={error} title="Could not load your tokens" onRetry={reload} />}
      {loading && !data && <Spinner label="Loading tokens…" />}
      {data && !data.supported && <p className="muted small">This server does not list existing tokens yet; you can still create new ones.</p>}
      {data && data.supported && data.tokens.length === 0 && <p className="muted">You have no API tokens yet.</p>}
      {data && data.tokens.length > 0 && (
        <table className="data-table compact" data-testid="api-token-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Created</th>
              <th>Last used</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.tokens.map((t) => (
              <tr key={t.id} data-testid="api-token-row">
                <td>{t.name}</td>
                <td className="mono muted">{t.prefix ? `${t.prefix}…` : '••••••••'}</td>
                <td>{formatDate(t.created_at)}</td>
                <td>{t.last_used_at ? formatDate(t.last_used_at) : <span className="muted">never</span>}</td>
                <td className="num">
                  <button type="button" className="btn btn-small btn-danger-soft" onClick={() => void revoke(t)} disabled={revoking === t.id} data-testid="api-token-revoke">
                    {revoking === t.id ? 'Revoking…' : 'Revoke'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function TeamPage() {
  const { me, team, selectTeam } = useSession();
  if (!me) return null;
  return (
    <div>
      <PageHeader title="Team" subtitle="Your teams, your role in each, and your API tokens." />
      {team ? (
        <section className="card team-card" aria-labelledby="team-heading" data-testid="current-team">
          <div className="card-head">
            <h2 id="team-heading">{team.name}</h2>
            <span className={`badge role-${team.role}`}>{team.role}</span>
          </div>
          <p className="muted">
            Slug <code>{team.slug}</code> · {ROLE_HELP[team.role] ?? ''} Results, history and custom tokenizers are shared by everyone in
            the team.
          </p>
        </section>
      ) : (
        <Notice kind="warn">You are not in any team yet. Ask an owner to add you.</Notice>
      )}

      <section className="card" aria-labelledby="teams-heading">
        <div className="card-head">
          <h2 id="teams-heading">Your teams</h2>
          <span className="muted small">Signed in as {me.user.username}</span>
        </div>
        <table className="data-table compact" data-testid="teams-table">
          <thead>
            <tr>
              <th>Team</th>
              <th>Slug</th>
              <th>Your role</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {me.teams.map((t) => (
              <tr key={t.slug} data-testid="team-row">
                <td>
                  <strong>{t.name}</strong>
                </td>
                <td className="mono">{t.slug}</td>
                <td>
                  <span className={`badge role-${t.role}`} title={ROLE_HELP[t.role]}>
                    {t.role}
                  </span>
                </td>
                <td className="num">
                  {team?.slug === t.slug ? (
                    <span className="muted small">current</span>
                  ) : (
                    <button type="button" className="btn btn-small" onClick={() => selectTeam(t.slug)}>
                      Switch
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted small">Member lists and invitations are managed by team owners in the admin for now.</p>
      </section>

      <ApiTokens />
    </div>
  );
}
