// Who is signed in, which team is selected (sent as X-Team), and the team's tokenizer catalogue.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, api, isAbortError, setTeam as setClientTeam } from './api/client';
import type { Me, TeamMembership, Tokenizer } from './api/types';

const TEAM_KEY = 'tokenscope.team';

export type SessionStatus = 'loading' | 'authenticated' | 'anonymous' | 'error';

export interface Session {
  status: SessionStatus;
  me: Me | null;
  error: string | null;
  team: TeamMembership | null;
  selectTeam: (slug: string) => void;
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
  tokenizers: Tokenizer[] | null;
  tokenizersError: string | null;
  reloadTokenizers: () => void;
}

export const SessionContext = createContext<Session | null>(null);

function storedTeam(): string | null {
  try {
    return window.localStorage.getItem(TEAM_KEY);
  } catch {
    return null;
  }
}

function pickTeam(me: Me, preferred: string | null): TeamMembership | null {
  return (
    me.teams.find((t) => t.slug === preferred) ??
    me.teams.find((t) => t.slug === me.current_team) ??
    me.teams[0] ??
    null
  );
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<SessionStatus>('loading');
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [teamSlug, setTeamSlug] = useState<string | null>(storedTeam);
  const [tokenizers, setTokenizers] = useState<Tokenizer[] | null>(null);
  const [tokenizersError, setTokenizersError] = useState<string | null>(null);
  const [tokNonce, setTokNonce] = useState(0);

  const refresh = useCallback(async () => {
    try {
      const data = await api.me();
      const team = pickTeam(data, storedTeam());
      setClientTeam(team?.slug ?? null);
      setTeamSlug(team?.slug ?? null);
      setMe(data);
      setError(null);
      setStatus('authenticated');
    } catch (e) {
      setMe(null);
      if (e instanceof ApiError && e.isAuthError) {
        setStatus('anonymous');
        setError(null);
      } else {
        setStatus('error');
        setError(e instanceof Error ? e.message : String(e));
      }
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const team = useMemo(() => (me ? pickTeam(me, teamSlug) : null), [me, teamSlug]);

  const selectTeam = useCallback((slug: string) => {
    try {
      window.localStorage.setItem(TEAM_KEY, slug);
    } catch {
      /* private mode */
    }
    setClientTeam(slug);
    setTeamSlug(slug);
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.logout();
    } finally {
      setMe(null);
      setStatus('anonymous');
    }
  }, []);

  // The catalogue is team-scoped (custom tokenizers belong to a team).
  useEffect(() => {
    if (status !== 'authenticated' || !team) return;
    const ctrl = new AbortController();
    setTokenizersError(null);
    api
      .tokenizers(ctrl.signal)
      .then((list) => {
        if (!ctrl.signal.aborted) setTokenizers(list);
      })
      .catch((e: unknown) => {
        if (ctrl.signal.aborted || isAbortError(e)) return;
        setTokenizersError(e instanceof Error ? e.message : String(e));
      });
    return () => ctrl.abort();
  }, [status, team, tokNonce]);

  const reloadTokenizers = useCallback(() => setTokNonce((n) => n + 1), []);

  const value = useMemo<Session>(
    () => ({ status, me, error, team, selectTeam, refresh, signOut, tokenizers, tokenizersError, reloadTokenizers }),
    [status, me, error, team, selectTeam, refresh, signOut, tokenizers, tokenizersError, reloadTokenizers],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** Can the current user create things in the selected team? */
export function canWrite(team: TeamMembership | null): boolean {
  return !!team && team.role !== 'viewer';
}
