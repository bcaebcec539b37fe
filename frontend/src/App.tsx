import { useEffect } from 'react';
import { EmptyState, ErrorBanner, Spinner } from './components/common';
import { Layout } from './components/Layout';
import { CataloguePage } from './pages/CataloguePage';
import { DetectionPage } from './pages/DetectionPage';
import { DraftsPage } from './pages/DraftsPage';
import { HistoryPage } from './pages/HistoryPage';
import { LabPage } from './pages/LabPage';
import { LoginPage } from './pages/LoginPage';
import { MediaJobPage, MediaPage } from './pages/MediaPage';
import { ResultPage } from './pages/ResultPage';
import { SpeculativePage } from './pages/SpeculativePage';
import { TeamPage } from './pages/TeamPage';
import { Link, matchRoute, navigate, useLocation } from './router';
import { SessionProvider, useSession } from './session';

const TITLES: Record<string, string> = {
  lab: 'Tokenize',
  speculative: 'Speculative decoding',
  detection: 'Detection',
  media: 'Images and audio',
  mediaJob: 'Media result',
  drafts: 'Distilled drafts',
  history: 'History',
  catalog: 'Catalogue',
  settings: 'Team',
  login: 'Sign in',
  notFound: 'Not found',
};

function Routes() {
  const { pathname, href } = useLocation();
  const { status, error, refresh } = useSession();
  const route = matchRoute(pathname);

  useEffect(() => {
    if (route.name !== 'result') document.title = `${TITLES[route.name]} · Tokenscope`;
  }, [route.name]);

  useEffect(() => {
    if (status === 'anonymous' && route.name !== 'login') navigate(`/login?next=${encodeURIComponent(href)}`, { replace: true });
  }, [status, route.name, href]);

  if (route.name === 'login') return <LoginPage />;
  if (status === 'loading' || status === 'anonymous') {
    return (
      <div className="boot">
        <Spinner label="Starting Tokenscope…" />
      </div>
    );
  }
  if (status === 'error') {
    return (
      <div className="boot">
        <ErrorBanner error={new Error(error ?? 'Unknown error')} title="Tokenscope could not start" onRetry={() => void refresh()} />
      </div>
    );
  }

  let page;
  switch (route.name) {
    case 'lab':
      page = <LabPage />;
      break;
    case 'result':
      page = <ResultPage id={route.id} />;
      break;
    case 'speculative':
      page = <SpeculativePage />;
      break;
    case 'detection':
      page = <DetectionPage />;
      break;
    case 'media':
      page = <MediaPage />;
      break;
    case 'mediaJob':
      page = <MediaJobPage id={route.id} />;
      break;
    case 'drafts':
      page = <DraftsPage />;
      break;
    case 'history':
      page = <HistoryPage />;
      break;
    case 'catalog':
      page = <CataloguePage />;
      break;
    case 'settings':
      page = <TeamPage />;
      break;
    default:
      page = (
        <EmptyState title="Page not found" icon="?">
          <p>
            There is nothing at <code>{pathname}</code>.
          </p>
          <p>
            <Link to="/" className="btn">
              Go to the lab
            </Link>
          </p>
        </EmptyState>
      );
  }
  return <Layout>{page}</Layout>;
}

export function App() {
  return (
    <SessionProvider>
      <Routes />
    </SessionProvider>
  );
}
