// A tiny History API router: Django serves index.html for every non-API path.
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

const NAV_EVENT = 'tokenscope:navigate';

function subscribe(cb: () => void): () => void {
  window.addEventListener('popstate', cb);
  window.addEventListener(NAV_EVENT, cb);
  return () => {
    window.removeEventListener('popstate', cb);
    window.removeEventListener(NAV_EVENT, cb);
  };
}

const getLocationKey = () => window.location.pathname + window.location.search;

/** The current path + query string; re-renders on navigation. */
export function useLocation(): { pathname: string; search: URLSearchParams; href: string } {
  const href = useSyncExternalStore(subscribe, getLocationKey, getLocationKey);
  const q = href.indexOf('?');
  return {
    pathname: q < 0 ? href : href.slice(0, q),
    search: new URLSearchParams(q < 0 ? '' : href.slice(q)),
    href,
  };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === getLocationKey()) return;
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAV_EVENT));
  if (!opts.replace) window.scrollTo?.(0, 0);
}

export type Route =
  | { name: 'lab' }
  | { name: 'result'; id: string }
  | { name: 'speculative' }
  | { name: 'detection' }
  | { name: 'media' }
  | { name: 'mediaJob'; id: string }
  | { name: 'drafts' }
  | { name: 'history' }
  | { name: 'catalog' }
  | { name: 'settings' }
  | { name: 'login' }
  | { name: 'notFound' };

export function matchRoute(pathname: string): Route {
  const p = pathname.replace(/\/+$/, '') || '/';
  if (p === '/') return { name: 'lab' };
  const m = /^\/results\/([^/]+)$/.exec(p);
  if (m) return { name: 'result', id: decodeURIComponent(m[1]) };
  if (p === '/speculative') return { name: 'speculative' };
  if (p === '/detection') return { name: 'detection' };
  if (p === '/media') return { name: 'media' };
  const mj = /^\/media\/jobs\/([^/]+)$/.exec(p);
  if (mj) return { name: 'mediaJob', id: decodeURIComponent(mj[1]) };
  if (p === '/drafts') return { name: 'drafts' };
  if (p === '/history') return { name: 'history' };
  if (p === '/catalog' || p === '/catalogue') return { name: 'catalog' };
  if (p === '/settings') return { name: 'settings' };
  if (p === '/login') return { name: 'login' };
  return { name: 'notFound' };
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string; children?: ReactNode };

/** An <a> that navigates client-side on a plain left click (new-tab clicks still work). */
export function Link({ to, onClick, children, ...rest }: LinkProps) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (rest.target && rest.target !== '_self') return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={handle} {...rest}>
      {children}
    </a>
  );
}

// Which main section a page belongs to when the path alone does not say (a /results/<id> page of a speculative job
// belongs to "Speculative decoding"): set by the page, read by the nav.
let navSection: string | null = null;
const sectionListeners = new Set<() => void>();

export function setNavSection(section: string | null): void {
  if (section === navSection) return;
  navSection = section;
  sectionListeners.forEach((cb) => cb());
}

function subscribeSection(cb: () => void): () => void {
  sectionListeners.add(cb);
  return () => sectionListeners.delete(cb);
}

export function useNavSection(): string | null {
  return useSyncExternalStore(subscribeSection, () => navSection, () => navSection);
}
