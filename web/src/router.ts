import { useEffect, useState } from 'react';

/**
 * The page's routes live in the URL's hash (`#/sessions/ses_…?tab=graph`), so the server
 * serves one page and any link can be bookmarked or opened in a new tab.
 */

/** Where the page is. */
export type Route =
  | { readonly page: 'sessions'; readonly query: URLSearchParams }
  | { readonly page: 'session'; readonly sessionId: string; readonly query: URLSearchParams }
  | { readonly page: 'analytics'; readonly query: URLSearchParams };

/** Reads a hash (`#/sessions/x?tab=y`) into a route. */
export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = text.split('?', 2);
  const query = new URLSearchParams(search);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'sessions' && parts[1]) return { page: 'session', sessionId: parts[1], query };
  if (parts[0] === 'analytics') return { page: 'analytics', query };
  return { page: 'sessions', query };
}

/** The hash of a session's page (and tab). */
export function sessionHref(sessionId: string, query: Record<string, string> = {}): string {
  const search = new URLSearchParams(query).toString();
  return `#/sessions/${encodeURIComponent(sessionId)}${search ? `?${search}` : ''}`;
}

/** The hash of the list with its filters. */
export function listHref(query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) params.set(k, v);
  const search = params.toString();
  return `#/sessions${search ? `?${search}` : ''}`;
}

/** The current route, following hash changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** Goes to a hash (a history entry, as a link would). */
export function navigate(hash: string): void {
  window.location.hash = hash;
}

/** Replaces the hash without a history entry (filters, tabs). */
export function replaceHash(hash: string): void {
  window.history.replaceState(null, '', hash);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
