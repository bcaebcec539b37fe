import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link, navigate, useLocation, useNavSection } from '../router';
import { useSession } from '../session';

export function Logo() {
  return (
    <svg className="logo" viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="var(--accent)" />
      <rect x="5" y="11" width="7" height="10" rx="2" fill="#ffd8a8" />
      <rect x="13" y="11" width="5" height="10" rx="2" fill="#b2f2bb" />
      <rect x="19" y="11" width="8" height="10" rx="2" fill="#a5d8ff" />
    </svg>
  );
}

const NAV = [
  { to: '/', label: 'Tokenize', testId: 'nav-tokenize', match: (p: string, section: string | null) => p === '/' || (p.startsWith('/results/') && section !== 'speculative' && !section?.startsWith('detect_') && !section?.startsWith('media_')) },
  {
    to: '/speculative',
    label: 'Speculative decoding',
    testId: 'nav-speculative',
    match: (p: string, section: string | null) => p.startsWith('/speculative') || (p.startsWith('/results/') && section === 'speculative'),
  },
  {
    to: '/detection',
    label: 'Detection',
    testId: 'nav-detection',
    match: (p: string, section: string | null) => p.startsWith('/detection') || (p.startsWith('/results/') && section?.startsWith('detect_') === true),
  },
  {
    to: '/media',
    label: 'Images & audio',
    testId: 'nav-media',
    match: (p: string, section: string | null) => p.startsWith('/media') || (p.startsWith('/results/') && section?.startsWith('media_') === true),
  },
  { to: '/drafts', label: 'Drafts', testId: 'nav-drafts', match: (p: string) => p.startsWith('/drafts') },
  { to: '/history', label: 'History', testId: 'nav-history', match: (p: string) => p.startsWith('/history') },
  { to: '/catalog', label: 'Catalogue', testId: 'nav-catalogue', match: (p: string) => p.startsWith('/catalog') },
  { to: '/settings', label: 'Team', testId: 'nav-team', match: (p: string) => p.startsWith('/settings') },
];

function TeamSwitcher() {
  const { me, team, selectTeam } = useSession();
  if (!me || me.teams.length === 0) return null;
  if (me.teams.length === 1) {
    return (
      <span className="team-pill" data-testid="team-switcher" data-team={team?.slug} title={`Team: ${team?.name} (${team?.role})`}>
        <span className="team-dot" aria-hidden="true" />
        {team?.name}
      </span>
    );
  }
  return (
    <label className="team-select">
      <span className="sr-only">Team</span>
      <span className="team-dot" aria-hidden="true" />
      <select value={team?.slug ?? ''} onChange={(e) => selectTeam(e.target.value)} data-testid="team-switcher" data-team={team?.slug}>
        {me.teams.map((t) => (
          <option key={t.slug} value={t.slug}>
            {t.name}
            {t.role !== 'member' ? ` (${t.role})` : ''}
          </option>
        ))}
      </select>
    </label>
  );
}

function UserMenu() {
  const { me, signOut } = useSession();
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDoc = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', onDoc);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDoc);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  if (!me) return null;
  return (
    <div className="user-menu" ref={ref}>
      <button type="button" className="user-button" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen((o) => !o)} data-testid="user-menu">
        <span className="avatar" aria-hidden="true">
          {me.user.username.slice(0, 1).toUpperCase()}
        </span>
        <span className="user-name">{me.user.username}</span>
        <span aria-hidden="true" className="caret">
          ▾
        </span>
      </button>
      {open && (
        <div className="menu" role="menu">
          <div className="menu-head">
            Signed in as <strong>{me.user.username}</strong>
          </div>
          <Link to="/settings" role="menuitem" className="menu-item" onClick={() => setOpen(false)}>
            Team &amp; API tokens
          </Link>
          <a href="/api/docs/" role="menuitem" className="menu-item" target="_blank" rel="noreferrer">
            API documentation ↗
          </a>
          <button
            type="button"
            role="menuitem"
            className="menu-item"
            data-testid="sign-out"
            onClick={async () => {
              setOpen(false);
              await signOut();
              navigate('/login');
            }}
          >
            Sign out
          </button>
        </div>
      )}
    </div>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { pathname } = useLocation();
  const section = useNavSection();
  return (
    <div className="app">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="app-header">
        <div className="header-inner">
          <Link to="/" className="brand" aria-label="Tokenscope home">
            <Logo />
            <span>Tokenscope</span>
          </Link>
          <nav className="nav" aria-label="Main">
            {NAV.map((n) => (
              <Link key={n.to} to={n.to} className={`nav-link${n.match(pathname, section) ? ' is-active' : ''}`} aria-current={n.match(pathname, section) ? 'page' : undefined} data-testid={n.testId}>
                {n.label}
              </Link>
            ))}
          </nav>
          <div className="header-right">
            <TeamSwitcher />
            <UserMenu />
          </div>
        </div>
      </header>
      <main id="main" className="main">
        {children}
      </main>
      <footer className="app-footer">
        <span>Tokenscope</span>
        <span aria-hidden="true">·</span>
        <a href="/api/docs/">REST API</a>
      </footer>
    </div>
  );
}
