import { useState, type FormEvent } from 'react';
import { ApiError, api } from '../api/client';
import type { ApiToken, ApiTokenCreated, Role, TeamMember, TeamMembership } from '../api/types';
import { CopyButton, ErrorBanner, Notice, PageHeader, Spinner } from '../components/common';
import { useApi } from '../hooks/useApi';
import { formatDate, formatRelative } from '../lib/format';
import { useSession } from '../session';

const ROLE_HELP: Record<string, string> = {
  owner: 'Manages members; can run and read everything.',
  member: 'Can run tokenizations and decoding runs, and add tokenizers.',
  viewer: 'Read only.',
};

const ROLES: Role[] = ['owner', 'member', 'viewer'];

function TeamMembers({ team, me }: { team: TeamMembership; me: string }) {
  const { data, error, loading, reload } = useApi(async (signal) => {
    const res = await api.teamMembers(team.slug, signal);
    return Array.isArray(res) ? res : res.results;
  }, [team.slug]);
  const isOwner = team.role === 'owner';
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [added, setAdded] = useState<TeamMember | null>(null);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setActionError(null);
    setAdded(null);
    if (!username.trim()) {
      setActionError(new Error('Enter the username of an existing Tokenscope user.'));
      return;
    }
    setBusy(true);
    try {
      const m = await api.addTeamMember(team.slug, { username: username.trim(), role });
      setAdded(m ?? { username: username.trim(), role, joined_at: null });
      setUsername('');
      reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  };

  const members = [...(data ?? [])].sort((a, b) => ROLES.indexOf(a.role) - ROLES.indexOf(b.role) || a.username.localeCompare(b.username));
  return (
    <section className="card" aria-labelledby="members-heading" data-testid="team-members">
      <div className="card-head">
        <h2 id="members-heading">Members of {team.name}</h2>
        {data && (
          <span className="muted small">
            {data.length} member{data.length === 1 ? '' : 's'}
          </span>
        )}
      </div>
      {error && <ErrorBanner error={error} title="Could not load the members" onRetry={reload} />}
      {loading && !data && <Spinner label="Loading members…" />}
      {data && (
        <table className="data-table compact" data-testid="members-table">
          <thead>
            <tr>
              <th>User</th>
              <th>Role</th>
              <th>Joined</th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.username} data-testid="member-row" data-username={m.username} data-role={m.role}>
                <td>
                  <span className="member-name">
                    <span className="avatar avatar-small" aria-hidden="true">
                      {m.username.slice(0, 1).toUpperCase()}
                    </span>
                    <strong>{m.username}</strong>
                    {m.username === me && <span className="muted small"> (you)</span>}
                  </span>
                </td>
                <td>
                  <span className={`badge role-${m.role}`} title={ROLE_HELP[m.role]}>
                    {m.role}
                  </span>
                </td>
                <td title={formatDate(m.joined_at)}>{m.joined_at ? formatRelative(m.joined_at) : <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {isOwner ? (
        <form className="inline-form member-form" onSubmit={add} data-testid="add-member-form">
          <input className="input" value={username} onChange={(e) => setUsername(e.target.value)} placeholder="Username" aria-label="Username" data-testid="add-member-username" autoComplete="off" />
          <select className="select" value={role} onChange={(e) => setRole(e.target.value as Role)} aria-label="Role" data-testid="add-member-role">
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="add-member-submit">
            {busy ? 'Adding…' : 'Add member'}
          </button>
        </form>
      ) : (
        <p className="muted small">Only owners of {team.name} can add members or change roles.</p>
      )}
      {isOwner && <p className="field-hint">The user must already have a Tokenscope account. Adding someone who is already a member changes their role.</p>}
      {added && (
        <Notice kind="success" testId="add-member-success">
          <strong>{added.username}</strong> is now {added.role === 'owner' ? 'an' : 'a'} {added.role} of {team.name}.
        </Notice>
      )}
      <ErrorBanner error={actionError} title="Could not add the member" onDismiss={() => setActionError(null)} />
    </section>
  );
}

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
      <PageHeader title="Team" subtitle="Your teams, who is in them, and your API tokens." />
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
      </section>

      {team && <TeamMembers team={team} me={me.user.username} />}

      <ApiTokens />
    </div>
  );
}
